from decimal import Decimal

import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords

from core.models import CurrencyField, MoneyField, TimeStampedModel
from returns.choices import (
    Condition,
    Disposition,
    InboundEventKind,
    InboundEventSource,
    InboundEventStatus,
    LabelStatus,
    RefundMethod,
    RefundTiming,
    Resolution,
    ReturnMethod,
    ReturnStatus,
    ReviewMode,
    default_allowed_resolutions,
    default_return_methods,
)

S = ReturnStatus


def default_fee_conditions() -> list[str]:
    return [Condition.LIKE_NEW, Condition.DAMAGED]


class Market(TimeStampedModel):
    """Countries sold to on the same terms, in one currency; return policies may be scoped to one."""

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    countries = ArrayField(models.CharField(max_length=2), help_text="ISO 3166 codes, e.g. DE, FR.")
    currency = CurrencyField(help_text="The currency of its policies' fees and limits.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.countries = sorted({str(country).strip().upper() for country in self.countries or []})
        self.currency = (self.currency or "").upper()
        errors = {}
        if not self.countries or any(len(c) != 2 or not c.isalpha() for c in self.countries):
            errors["countries"] = "Two-letter country codes, at least one."
        elif clash := Market.objects.exclude(pk=self.pk).filter(countries__overlap=self.countries).first():
            errors["countries"] = f"{', '.join(sorted(set(clash.countries) & set(self.countries)))} already in {clash}."
        if len(self.currency) != 3 or not self.currency.isalpha():
            errors["currency"] = "A three-letter ISO 4217 code."
        if errors:
            raise ValidationError(errors)


class ReturnPolicy(TimeStampedModel):
    """How returns work for one product category in one market; the row with no category is the
    market's default, and rows with no market serve every country outside the markets."""

    category = models.SlugField(max_length=50, null=True, blank=True,
                                help_text="Product category this policy covers; empty for the default policy.")
    market = models.ForeignKey(Market, on_delete=models.PROTECT, null=True, blank=True, related_name="policies",
                               help_text="Countries (and currency) this policy is for; empty for every other country.")
    window_days = models.PositiveIntegerField(default=30)
    restocking_fee_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(0), MaxValueValidator(100)])
    restocking_fee_conditions = models.JSONField(
        default=default_fee_conditions, blank=True,
        help_text="Inspected conditions that incur the restocking fee.")
    review_mode = models.CharField(max_length=20, choices=ReviewMode.choices, default=ReviewMode.RISK_BASED)
    auto_approve_limit = MoneyField(default=Decimal("500"),
                                    help_text="Returns worth more than this wait for a reviewer.")
    store_credit_bonus_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("5"),
        validators=[MinValueValidator(0), MaxValueValidator(100)])
    allowed_resolutions = models.JSONField(
        default=default_allowed_resolutions, blank=True,
        help_text="What a customer may ask for: refund, exchange, store_credit. Staff may choose any.")
    returnless_below = MoneyField(
        null=True, blank=True,
        help_text="Lines worth less than this (price + tax × units) are refunded without the item coming back. "
                  "Empty: every item comes back.")
    exchange_ship_before_receipt = models.BooleanField(
        default=False, help_text="Trusted customers get their replacement as soon as the return is authorised, "
                                 "not when their parcel arrives.")
    gift_returns_notify_purchaser = models.BooleanField(
        default=False, help_text="Tell the purchaser when a gift recipient returns an item (never how much).")
    return_methods = models.JSONField(
        default=default_return_methods, blank=True,
        help_text="How the customer may send items back, each with its fee in the policy's currency, e.g. "
                  '{"label": "0", "qr_drop_off": "1.50", "own_shipping": "0"}.')
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "return policies"
        ordering = ["market__code", "category"]
        constraints = [
            models.UniqueConstraint(fields=["category", "market"], nulls_distinct=False,
                                    name="return_policy_once_per_category_and_market"),
        ]

    def __str__(self) -> str:
        where = f" in {self.market}" if self.market_id else ""
        return f"Policy for {self.category or 'all other categories'}{where}"

    @property
    def currency(self) -> str:
        """Fees and limits are in the market's currency; policies without a market in the default one."""
        return self.market.currency if self.market_id else settings.RETURNS["DEFAULT_CURRENCY"]

    def method_fees(self) -> dict[str, Decimal]:
        return {method: Decimal(str(fee)) for method, fee in (self.return_methods or {}).items()}

    def snapshot(self) -> dict:
        return {
            "policy_id": self.pk,
            "category": self.category,
            "window_days": self.window_days,
            "restocking_fee_percent": str(self.restocking_fee_percent),
            "restocking_fee_conditions": list(self.restocking_fee_conditions),
            "review_mode": self.review_mode,
            "auto_approve_limit": str(self.auto_approve_limit),
            "store_credit_bonus_percent": str(self.store_credit_bonus_percent),
            "refund_timing": RefundTiming.AFTER_INSPECTION,
            "allowed_resolutions": list(self.allowed_resolutions),
            "returnless_below": None if self.returnless_below is None else str(self.returnless_below),
            "exchange_ship_before_receipt": self.exchange_ship_before_receipt,
            "gift_returns_notify_purchaser": self.gift_returns_notify_purchaser,
            "market": self.market.code if self.market_id else None,
            "currency": self.currency,
            "return_methods": {method: str(fee) for method, fee in self.method_fees().items()},
        }

    def clean(self) -> None:
        errors = {}
        unknown = set(self.allowed_resolutions or []) - set(Resolution.values)
        if not isinstance(self.allowed_resolutions, list) or unknown:
            errors["allowed_resolutions"] = f"A list of {', '.join(Resolution.values)}."
        if not _valid_method_fees(self.return_methods):
            errors["return_methods"] = (f"At least one of {', '.join(ReturnMethod.values)}, each with a fee of 0 "
                                        "or more.")
        if errors:
            raise ValidationError(errors)


def _valid_method_fees(methods) -> bool:
    from decimal import InvalidOperation

    if not isinstance(methods, dict) or not methods or set(methods) - set(ReturnMethod.values):
        return False
    try:
        fees = [Decimal(str(fee)) for fee in methods.values()]
    except InvalidOperation:
        return False
    return all(fee.is_finite() and fee >= 0 for fee in fees)


class ReturnReason(models.Model):
    code = models.SlugField(max_length=50, unique=True)
    label = models.CharField(max_length=200, help_text="In English; the fallback for a language with no label.")
    # {"de": "Falsche Größe", "fr": "Mauvaise taille"}: one label per other language the portal speaks.
    translated_labels = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    claims_damage = models.BooleanField(default=False, help_text="The customer says the item arrived damaged.")
    position = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.label

    def label_in(self, language: str | None = None) -> str:
        """The label in `language` (the active one by default), else the English label."""
        from django.utils.translation import get_language

        code = (language or get_language() or "").split("-")[0]
        return (self.translated_labels or {}).get(code) or self.label

    @property
    def localized_label(self) -> str:
        return self.label_in()

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        labels = self.translated_labels
        languages = {code for code, _ in settings.LANGUAGES} - {settings.LANGUAGE_CODE}
        if not isinstance(labels, dict) or set(labels) - languages or not all(
                isinstance(value, str) for value in labels.values()):
            raise ValidationError({"translated_labels": "Labels by language code, one of "
                                                        f"{', '.join(sorted(languages))}."})


def _is_reviewer(instance, user) -> bool:
    return user.has_perm("returns.review_returnrequest")


def _is_owner_or_agent(instance, user) -> bool:
    return instance.customer_id == user.pk or user.has_perm("returns.manage_returnrequest")


def _is_agent(instance, user) -> bool:
    return user.has_perm("returns.manage_returnrequest")


def _is_receiver(instance, user) -> bool:
    return user.has_perm("returns.receive_returnrequest")


def _is_inspector(instance, user) -> bool:
    return user.has_perm("returns.inspect_returnrequest")


def _system_only(instance, user) -> bool:
    return False


class ReturnRequest(ConcurrentTransitionMixin, TimeStampedModel):
    rma_number = models.CharField(max_length=20, unique=True, editable=False)
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="returns")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="returns")
    status = FSMField(max_length=20, choices=ReturnStatus.choices, default=S.REQUESTED, protected=True, db_index=True)
    note = models.TextField(blank=True)
    refund_method = models.CharField(max_length=20, choices=RefundMethod.choices,
                                     default=RefundMethod.ORIGINAL_PAYMENT)
    refund_timing = models.CharField(
        max_length=20, choices=RefundTiming.choices, default=RefundTiming.AFTER_INSPECTION,
        help_text="When the refund is paid, decided at request time. Before inspection is an early refund.")
    refund_timing_reason = models.CharField(max_length=300, blank=True,
                                            help_text="Why the refund is paid then, as the customer is told.")
    return_method = models.CharField(max_length=20, choices=ReturnMethod.choices, default=ReturnMethod.LABEL,
                                     help_text="How the parcel comes back; its fee is in the policy snapshot.")
    policy_snapshot = models.JSONField(default=dict,
                                       help_text="The policies that applied, per category, when requested.")
    review_reasons = models.JSONField(default=list, blank=True, help_text="Why the return waits for a reviewer.")
    rule_version = models.ForeignKey(
        "rules.RuleSetVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="returns",
        help_text="The rule set version that decided this return; it keeps it while it is open.")
    rule_decision = models.JSONField(
        default=dict, blank=True, help_text="What the rules decided: outcomes per line, fees, review, timing, trace.")
    rule_facts = models.JSONField(
        default=dict, blank=True, help_text="The facts the rules read, so the decision can be replayed (backtests).")
    fraud_score = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(100)])
    inspection_fraud_score = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)],
        help_text="The score again once inspected: every signal so far, with what the warehouse saw.")
    decision_reason = models.TextField(blank=True, help_text="Why it was approved, rejected or cancelled.")
    arrived_late = models.BooleanField(default=False, help_text="Received after the RMA had expired.")
    requested_at = models.DateTimeField(auto_now_add=True)
    authorized_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    inspected_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    carrier = models.CharField(max_length=50, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True, db_index=True)
    label_status = models.CharField(max_length=10, choices=LabelStatus.choices, default=LabelStatus.NONE)
    trace_context = models.JSONField(default=dict, blank=True)
    # A gift return: the purchaser stays the customer of record; the recipient is who we write to.
    gift_receipt = models.ForeignKey("returns.GiftReceipt", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="returns")
    recipient_name = models.CharField(max_length=200, blank=True)
    recipient_email = models.EmailField(blank=True)
    recipient_language = models.CharField(max_length=10, blank=True,
                                          help_text="The language the gift recipient used the portal in: their "
                                                    "e-mails are written in it.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at"]
        permissions = [
            ("review_returnrequest", "Can approve or reject returns"),
            ("manage_returnrequest", "Can act on returns for customers (cancel, expire, close)"),
            ("receive_returnrequest", "Can record the receipt of returned parcels"),
            ("inspect_returnrequest", "Can record the inspection of returned items"),
            ("approve_any_amount", "Can approve returns above the support agents' amount limit"),
            ("release_fraud_hold", "Can approve returns held for a high fraud score or a flagged customer"),
        ]
        indexes = [
            models.Index(fields=["status", "requested_at"]),
            models.Index(fields=["customer", "status"]),
            # The review queue, oldest first: small (only returns waiting) and read on every page view.
            models.Index(fields=["requested_at", "id"], condition=models.Q(status=S.REQUESTED),
                         name="return_review_queue_idx"),
            # The unfiltered back-office list and the dashboard's per-day reads.
            models.Index(fields=["requested_at", "id"], name="return_requested_at_id_idx"),
            # Decisions in a window, for the processing-time SLO.
            models.Index(fields=["authorized_at"], condition=models.Q(authorized_at__isnull=False),
                         name="return_authorized_at_idx"),
            models.Index(fields=["closed_at"], condition=models.Q(status=S.REJECTED),
                         name="return_rejected_at_idx"),
        ]
        constraints = [
            # A gift return is credited to the recipient's gift card, never to the purchaser's payment.
            models.CheckConstraint(
                condition=(models.Q(gift_receipt__isnull=True) & ~models.Q(refund_method=RefundMethod.GIFT_CARD))
                | (models.Q(gift_receipt__isnull=False, refund_method=RefundMethod.GIFT_CARD)
                   & ~models.Q(recipient_email="")),
                name="return_gift_credited_to_gift_card"),
        ]

    def __str__(self) -> str:
        return self.rma_number

    # --- transitions: state only; services do the locking, checks and side effects ---

    @transition(field=status, source=S.REQUESTED, target=S.AUTHORIZED, permission=_is_reviewer)
    def authorize(self, *, at) -> None:
        self.authorized_at = at

    @transition(field=status, source=S.REQUESTED, target=S.REJECTED, permission=_is_reviewer)
    def reject(self, *, at, decision: str) -> None:
        self.decision_reason = decision
        self.closed_at = at

    @transition(field=status, source=[S.REQUESTED, S.AUTHORIZED], target=S.CANCELLED, permission=_is_owner_or_agent)
    def cancel(self, *, at, decision: str) -> None:
        self.decision_reason = decision
        self.closed_at = at

    @transition(field=status, source=S.AUTHORIZED, target=S.IN_TRANSIT, permission=_is_agent)
    def ship(self, *, at) -> None:
        self.shipped_at = at

    @transition(field=status, source=S.AUTHORIZED, target=S.EXPIRED, permission=_is_agent)
    def expire(self, *, at) -> None:
        self.closed_at = at

    @transition(field=status, source=[S.AUTHORIZED, S.IN_TRANSIT, S.EXPIRED], target=S.RECEIVED,
                permission=_is_receiver)
    def receive(self, *, at) -> None:
        self.arrived_late = self.status == S.EXPIRED
        self.received_at = at
        self.closed_at = None

    @transition(field=status, source=S.RECEIVED, target=S.INSPECTED, permission=_is_inspector,
                conditions=[lambda r: r.all_lines_inspected()])
    def inspect(self, *, at) -> None:
        self.inspected_at = at

    @transition(field=status, source=S.AUTHORIZED, target=S.INSPECTED, permission=_is_agent,
                conditions=[lambda r: r.is_returnless])
    def keep(self, *, at) -> None:
        """Returnless: the customer keeps every item, so the return skips shipping and inspection
        and goes straight on to its money, as an inspected return does."""

    @transition(field=status, source=S.INSPECTED, target=S.REFUND_PENDING, permission=_system_only)
    def issue_refund(self) -> None:
        pass

    @transition(field=status, source=S.REFUND_PENDING, target=S.REFUNDED, permission=_system_only)
    def complete_refund(self) -> None:
        pass

    @transition(field=status, source=[S.REFUNDED, S.INSPECTED], target=S.CLOSED, permission=_is_agent,
                conditions=[lambda r: r.status == S.REFUNDED or not r.has_refund() or r.refund.kept_replacement
                            or r.refund_paid_early()])
    def close(self, *, at) -> None:
        self.closed_at = at

    # --- reads ---

    def all_lines_inspected(self) -> bool:
        """Every line that came back has a condition; a line of which nothing arrived needs none,
        nor does one the customer keeps (returnless)."""
        return not self.lines.filter(condition="", returnless=False).exclude(received_quantity=0).exists()

    @property
    def is_returnless(self) -> bool:
        """Every line is kept by the customer: nothing is shipped back."""
        flags = [line.returnless for line in self.lines.all()]
        return bool(flags) and all(flags)

    def has_refund(self) -> bool:
        try:
            return self.refund is not None
        except ObjectDoesNotExist:
            return False

    def refund_paid_early(self) -> bool:
        """The refund went out before inspection (and has been paid): inspecting closes the return."""
        return self.refund_is_early and self.has_refund() and self.refund.timing != RefundTiming.AFTER_INSPECTION \
            and self.refund.completed_at is not None

    @property
    def refund_is_early(self) -> bool:
        return self.refund_timing != RefundTiming.AFTER_INSPECTION

    def policy_for(self, category: str) -> dict:
        policies = self.policy_snapshot.get("categories", {})
        return policies.get(category) or policies[""]

    @property
    def needs_review(self) -> bool:
        return self.status == S.REQUESTED

    @property
    def is_gift(self) -> bool:
        return self.gift_receipt_id is not None


class GiftReceipt(TimeStampedModel):
    """A gift receipt's return code, for an order or one of its lines.

    The code is derived from `nonce` and the server's secret (core/codes.py) and found by its
    keyed `code_digest`; neither reveals it. Issuing a new receipt for the same order (or line)
    revokes the one before, so a lost receipt can be replaced."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="gift_receipts")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="gift_receipts", help_text="Empty: every item of the order.")
    nonce = models.CharField(max_length=64, unique=True, editable=False)
    code_digest = models.CharField(max_length=64, unique=True, editable=False)
    code_hint = models.CharField(max_length=4, editable=False, help_text="The code's last four characters.")
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", help_text="Empty when the OMS or the system issued it.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["nonce"])

    class Meta:
        ordering = ["-created_at"]
        permissions = [("issue_giftreceipt", "Can issue and print gift receipts")]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=models.Q(revoked_at__isnull=True,
                                                                         order_line__isnull=True),
                                    name="gift_receipt_one_live_per_order"),
            models.UniqueConstraint(fields=["order_line"], condition=models.Q(revoked_at__isnull=True,
                                                                              order_line__isnull=False),
                                    name="gift_receipt_one_live_per_line"),
        ]

    def __str__(self) -> str:
        return f"Gift receipt ····{self.code_hint} for {self.order}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None


class ReturnLine(models.Model):
    return_request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    reason = models.ForeignKey(ReturnReason, on_delete=models.PROTECT, related_name="+")
    customer_note = models.CharField(max_length=500, blank=True)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, default=Resolution.REFUND)
    replacement_product = models.ForeignKey(
        "inventory.Product", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="Exchanges: what is sent in place of the returned item.")
    replacement_unit_price = MoneyField(null=True, blank=True, help_text="Exchanges: the price quoted per unit.")
    replacement_unit_tax = MoneyField(null=True, blank=True, help_text="Exchanges: the tax quoted per unit.")
    replacement_order_line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="Exchanges: the replacement order's line, once it is placed.")
    returnless = models.BooleanField(default=False,
                                     help_text="Worth less than the policy's returnless limit: the customer keeps it.")
    condition = models.CharField(max_length=20, choices=Condition.choices, blank=True)
    received_quantity = models.PositiveIntegerField(null=True, blank=True)
    disposition = models.CharField(max_length=20, choices=Disposition.choices, blank=True)
    inspection_notes = models.TextField(blank=True)
    inspected_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["return_request", "order_line"], name="return_line_unique_per_order_line"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="return_line_quantity_positive"),
            models.CheckConstraint(
                condition=models.Q(received_quantity__isnull=True)
                | models.Q(received_quantity__lte=models.F("quantity")),
                name="return_line_received_not_above_requested",
            ),
            models.CheckConstraint(
                condition=(models.Q(resolution=Resolution.EXCHANGE, replacement_product__isnull=False,
                                    replacement_unit_price__isnull=False, replacement_unit_tax__isnull=False)
                           | (~models.Q(resolution=Resolution.EXCHANGE)
                              & models.Q(replacement_product__isnull=True, replacement_order_line__isnull=True))),
                name="return_line_exchange_has_replacement",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line.product.sku}"

    @property
    def refundable_quantity(self) -> int:
        """Units the customer is refunded for: what arrived once received, else what was asked."""
        return self.quantity if self.received_quantity is None else self.received_quantity


# --- warehouse: inspections, unmatched parcels, partner events ---

class ReturnLineInspection(models.Model):
    """One recorded inspection of a line. Kept for ever: a supervisor's correction is the next
    revision, and the stock follows the latest revision through new movements."""

    return_line = models.ForeignKey(ReturnLine, on_delete=models.PROTECT, related_name="inspections")
    revision = models.PositiveIntegerField()
    condition = models.CharField(max_length=20, choices=Condition.choices)
    disposition = models.CharField(max_length=20, choices=Disposition.choices)
    quantity = models.PositiveIntegerField(help_text="Units inspected: what arrived of the line.")
    notes = models.TextField(blank=True)
    inspected_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", help_text="Empty when a warehouse system reported it.")
    inspected_at = models.DateTimeField()
    claim_entry = models.ForeignKey("refunds.JournalEntry", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", help_text="The vendor claim or write-off this revision posted.")

    class Meta:
        ordering = ["return_line", "revision"]
        permissions = [("correct_inspection", "Can correct a recorded inspection")]
        constraints = [
            models.UniqueConstraint(fields=["return_line", "revision"], name="inspection_once_per_line_revision"),
            models.CheckConstraint(condition=models.Q(revision__gte=1), name="inspection_revision_from_one"),
        ]
        triggers = [pgtrigger.Protect(name="inspection_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"Line {self.return_line_id} revision {self.revision}: {self.condition}"

    @property
    def is_correction(self) -> bool:
        return self.revision > 1


class InspectionPhoto(models.Model):
    inspection = models.ForeignKey(ReturnLineInspection, on_delete=models.PROTECT, related_name="photos")
    image = models.ImageField(upload_to="returns/inspections/%Y/%m/")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.image.name


class UnmatchedParcel(models.Model):
    """A parcel the warehouse could not match to a receivable return; staff link it later."""

    tracking_number = models.CharField(max_length=64, blank=True, db_index=True)
    claimed_rma = models.CharField(max_length=40, blank=True, help_text="The RMA number on the parcel, if any.")
    contents_note = models.TextField(blank=True)
    problem = models.CharField(max_length=300, blank=True, help_text="Why it could not be matched.")
    received_at = models.DateTimeField()
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    return_request = models.ForeignKey(ReturnRequest, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="parcels", help_text="The return staff linked it to.")
    linked_at = models.DateTimeField(null=True, blank=True)
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tracking_number"], condition=~models.Q(tracking_number=""),
                                    name="unmatched_parcel_tracking_number_unique"),
            models.CheckConstraint(
                condition=models.Q(return_request__isnull=True, linked_at__isnull=True)
                | models.Q(return_request__isnull=False, linked_at__isnull=False),
                name="unmatched_parcel_linked_with_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Parcel {self.tracking_number or self.pk}"

    @property
    def is_linked(self) -> bool:
        return self.return_request_id is not None


class ParcelPhoto(models.Model):
    parcel = models.ForeignKey(UnmatchedParcel, on_delete=models.PROTECT, related_name="photos")
    image = models.ImageField(upload_to="returns/parcels/%Y/%m/")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.image.name


class InboundEvent(models.Model):
    """A carrier or warehouse event, stored once per (source, external id) before it is processed."""

    source = models.CharField(max_length=20, choices=InboundEventSource.choices)
    external_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=InboundEventKind.choices)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=InboundEventStatus.choices, default=InboundEventStatus.PENDING,
                              db_index=True)
    return_request = models.ForeignKey(ReturnRequest, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="inbound_events")
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    history = HistoricalRecords(excluded_fields=["payload"])

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="inbound_event_once_per_source_id"),
        ]
        indexes = [models.Index(fields=["status", "received_at"])]

    def __str__(self) -> str:
        return f"{self.source} {self.kind} {self.external_id}"
