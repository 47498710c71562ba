from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from fraud.choices import SignalKind, Stage
from fraud.rules import DEFAULT_RULES, parse_param


class FraudRule(models.Model):
    """How much one kind of signal counts and when it fires; staff tune it in the admin."""

    kind = models.CharField(max_length=50, choices=SignalKind.choices, unique=True)
    weight = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)],
                                              help_text="Points the signal adds to the 0–100 score.")
    params = models.JSONField(default=dict, blank=True,
                              help_text="Thresholds; a missing one takes its default (see the description).")
    active = models.BooleanField(default=True, help_text="An inactive rule records no signal.")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (+{self.weight})"

    @classmethod
    def with_defaults(cls, kind: str) -> "FraudRule":
        default = DEFAULT_RULES[kind]
        return cls(kind=kind, weight=default.weight, params=dict(default.params))

    @property
    def description(self) -> str:
        default = DEFAULT_RULES.get(self.kind)
        return default.description if default else ""

    def param(self, name: str):
        """A threshold, parsed; the default when the row does not set it."""
        value = (self.params or {}).get(name, DEFAULT_RULES[self.kind].params[name])
        return parse_param(name, value)

    def effective_params(self) -> dict:
        return {**DEFAULT_RULES[self.kind].params, **(self.params or {})} if self.kind in DEFAULT_RULES else {}

    def clean(self) -> None:
        if self.kind not in DEFAULT_RULES:
            return
        if not isinstance(self.params, dict):
            raise ValidationError({"params": "Give the thresholds as a JSON object."})
        known = DEFAULT_RULES[self.kind].params
        errors = [f"Unknown threshold {name!r}; this rule takes {', '.join(known) or 'none'}."
                  for name in self.params if name not in known]
        for name, value in self.params.items():
            if name in known:
                try:
                    parse_param(name, value)
                except ValueError as exc:
                    errors.append(str(exc))
        if errors:
            raise ValidationError({"params": errors})


class FraudSignal(models.Model):
    """One reason a return looks risky, with the evidence a reviewer needs to judge it."""

    return_request = models.ForeignKey("returns.ReturnRequest", on_delete=models.CASCADE, related_name="fraud_signals")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="fraud_signals")
    stage = models.CharField(max_length=20, choices=Stage.choices)
    kind = models.SlugField(max_length=50, choices=SignalKind.choices)
    score_delta = models.SmallIntegerField()
    evidence = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["return_request", "stage", "kind"], name="fraud_signal_once_per_stage"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} (+{self.score_delta})"


class CustomerRiskProfile(models.Model):
    """Per-customer aggregates, materialised so that scoring a return reads this one row.

    A periodic task recomputes every row with one set-based statement; return events adjust the
    customer's row in between. `flagged` is never cleared by either: staff clear it.
    """

    customer = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="risk_profile")
    orders_90d = models.PositiveIntegerField(default=0, help_text="Orders placed in the last 90 days.")
    returns_90d = models.PositiveIntegerField(default=0, help_text="Returns requested in the last 90 days.")
    open_returns = models.PositiveIntegerField(default=0, help_text="Returns not yet refunded, closed or ended.")
    lifetime_orders = models.PositiveIntegerField(default=0)
    lifetime_returns = models.PositiveIntegerField(default=0)
    lifetime_refunds = models.PositiveIntegerField(default=0, help_text="Returns refunded.")
    lifetime_score = models.IntegerField(default=0, help_text="Points of every fraud signal on the customer's returns.")
    flagged = models.BooleanField(default=False, help_text="Every return of this customer is reviewed.")
    flagged_reason = models.CharField(max_length=200, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True,
                                        help_text="When the aggregates were last computed from scratch.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Risk profile of {self.customer}"
