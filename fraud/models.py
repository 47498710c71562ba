from django.conf import settings
from django.db import models

from fraud.choices import Stage


class FraudSignal(models.Model):
    """One reason a return looks risky, with the evidence a reviewer needs to judge it."""

    return_request = models.ForeignKey("returns.ReturnRequest", on_delete=models.CASCADE, related_name="fraud_signals")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="fraud_signals")
    stage = models.CharField(max_length=20, choices=Stage.choices)
    kind = models.SlugField(max_length=50)
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
    customer = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="risk_profile")
    flagged = models.BooleanField(default=False, help_text="Every return of this customer is reviewed.")
    flagged_reason = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Risk profile of {self.customer}"
