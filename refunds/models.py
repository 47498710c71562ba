import uuid

import pgtrigger
from django.conf import settings
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords

from core.models import CurrencyField, MoneyField, TimeStampedModel
from refunds.choices import AccountKind, AttemptOutcome, EntryKind, GatewayOperation, RefundStatus
from returns.choices import RefundMethod

S = RefundStatus


def _is_finance(instance, user) -> bool:
    return user.has_perm("refunds.manage_refund")


def _system_only(instance, user) -> bool:
    return False


class Refund(ConcurrentTransitionMixin, TimeStampedModel):
    """The money a return pays out: exactly one per return, paid at most once.

    `net` is split by the way it is paid: `store_credit_amount` as store credit, the rest
    (`payment_amount`) by `method`. An exchange whose replacements cost more than what came back
    makes it collect `charge_amount` through the gateway instead; it then pays nothing that way.
    A goodwill refund to the card is a refund of a goodwill grant instead of a return.
    """

    return_request = models.OneToOneField("returns.ReturnRequest", on_delete=models.PROTECT, related_name="refund",
                                          null=True, blank=True)
    goodwill = models.OneToOneField("refunds.GoodwillCredit", on_delete=models.PROTECT, related_name="refund",
                                    null=True, blank=True)
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="refunds")
    method = models.CharField(max_length=20, choices=RefundMethod.choices)
    currency = CurrencyField()
    gross = MoneyField()
    restocking_fee = MoneyField(default=0)
    method_fee = MoneyField(default=0, help_text="The return method's fee (e.g. a QR drop-off), kept from the refund.")
    shipping_refund = MoneyField(default=0)
    net = MoneyField(help_text="What the customer is owed: gross − fees + shipping − replacements (+ charge).")
    store_credit_bonus = MoneyField(default=0)
    store_credit_amount = MoneyField(default=0, help_text="The part of net paid as store credit (before the bonus).")
    replacement_total = MoneyField(default=0, help_text="Value of the replacements sent for exchanged lines.")
    charge_amount = MoneyField(default=0, help_text="Collected through the gateway: replacements cost more.")
    breakdown = models.JSONField(default=dict)
    status = FSMField(max_length=20, choices=RefundStatus.choices, default=S.PENDING, protected=True, db_index=True)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    gateway = models.CharField(max_length=50, blank=True)
    charge_reference = models.CharField(max_length=100, blank=True)
    gateway_reference = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.TextField(blank=True)
    needs_attention = models.BooleanField(default=False, db_index=True,
                                          help_text="Retries are exhausted or the gateway refused: finance must act.")
    fallback_method = models.CharField(max_length=20, choices=RefundMethod.choices, blank=True)
    cheque_number = models.CharField(max_length=50, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        permissions = [("manage_refund", "Can retry refunds, switch their method and mark cheques issued")]
        constraints = [
            models.CheckConstraint(condition=models.Q(net__gt=0) | models.Q(net=0, charge_amount__gt=0),
                                   name="refund_pays_or_collects"),
            models.CheckConstraint(condition=models.Q(gross__gte=0, restocking_fee__gte=0, shipping_refund__gte=0,
                                                      store_credit_bonus__gte=0, store_credit_amount__gte=0,
                                                      replacement_total__gte=0, charge_amount__gte=0,
                                                      method_fee__gte=0),
                                   name="refund_amounts_not_negative"),
            models.CheckConstraint(condition=models.Q(store_credit_amount__lte=models.F("net")),
                                   name="refund_store_credit_within_net"),
            # Netting leaves one way through the gateway: pay back, or collect.
            models.CheckConstraint(condition=models.Q(charge_amount=0) | models.Q(net=models.F("store_credit_amount")),
                                   name="refund_pays_or_collects_not_both"),
            models.CheckConstraint(
                condition=models.Q(return_request__isnull=False, goodwill__isnull=True)
                | models.Q(return_request__isnull=True, goodwill__isnull=False),
                name="refund_for_a_return_or_a_goodwill_grant"),
        ]

    def __str__(self) -> str:
        subject = self.return_request if self.return_request_id else f"goodwill {self.goodwill_id}"
        return f"Refund {self.net} {self.currency} for {subject}"

    @property
    def paid_method(self) -> str:
        return self.fallback_method or self.method

    @property
    def payment_amount(self):
        """The part of net paid by `method` (or its fallback): what goes through the gateway."""
        return self.net - self.store_credit_amount

    @property
    def gateway_operation(self) -> str:
        return GatewayOperation.CHARGE if self.charge_amount > 0 else GatewayOperation.REFUND

    @property
    def gateway_amount(self):
        return self.charge_amount if self.charge_amount > 0 else self.payment_amount

    @transition(field=status, source=[S.PENDING, S.FAILED, S.PROCESSING], target=S.PROCESSING,
                permission=_system_only)
    def start(self, *, lease_until) -> None:
        self.attempts += 1
        self.lease_expires_at = lease_until
        self.next_attempt_at = None

    @transition(field=status, source=S.PROCESSING, target=S.COMPLETED, permission=_is_finance)
    def complete(self, *, at, gateway_reference: str = "") -> None:
        self.completed_at = at
        self.gateway_reference = gateway_reference or self.gateway_reference
        self.lease_expires_at = None
        self.failure_code = ""
        self.failure_message = ""

    @transition(field=status, source=S.PROCESSING, target=S.FAILED, permission=_system_only)
    def fail(self, *, code: str, message: str, retry_at=None, needs_attention: bool = False) -> None:
        self.failure_code = code
        self.failure_message = message
        self.next_attempt_at = retry_at
        self.needs_attention = needs_attention
        self.lease_expires_at = None

    @transition(field=status, source=S.FAILED, target=S.FALLBACK, permission=_is_finance)
    def fall_back(self, *, to_method: str, at) -> None:
        self.fallback_method = to_method
        self.needs_attention = False
        self.next_attempt_at = None
        if to_method == RefundMethod.STORE_CREDIT:
            self.completed_at = at


class RefundAttempt(models.Model):
    """One call to the payment gateway, kept for ever exactly as it happened."""

    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="gateway_attempts")
    number = models.PositiveIntegerField()
    operation = models.CharField(max_length=10, choices=GatewayOperation.choices, default=GatewayOperation.REFUND)
    gateway = models.CharField(max_length=50)
    idempotency_key = models.UUIDField()
    request = models.JSONField()
    response = models.JSONField(default=dict)
    outcome = models.CharField(max_length=20, choices=AttemptOutcome.choices)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    latency_ms = models.PositiveIntegerField()
    started_at = models.DateTimeField()

    class Meta:
        ordering = ["refund", "started_at", "id"]
        triggers = [pgtrigger.Protect(name="refund_attempt_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"Attempt {self.number} of {self.refund_id}: {self.outcome}"


class SandboxRefund(models.Model):
    """The sandbox gateway's own books: the refunds it has made, by idempotency key."""

    idempotency_key = models.CharField(max_length=100, unique=True)
    reference = models.CharField(max_length=40, unique=True)
    charge_reference = models.CharField(max_length=100, db_index=True)
    amount = MoneyField()
    currency = CurrencyField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.reference


class SandboxCharge(models.Model):
    """The sandbox gateway's charges (an exchange's difference), by idempotency key."""

    idempotency_key = models.CharField(max_length=100, unique=True)
    reference = models.CharField(max_length=40, unique=True)
    payment_reference = models.CharField(max_length=100, db_index=True,
                                         help_text="The original charge whose payment method is charged again.")
    amount = MoneyField()
    currency = CurrencyField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.reference


class GoodwillCredit(models.Model):
    """Money given as a gesture (an item arrived damaged, a parcel was late), not for a return.

    Kept for ever as granted: a store credit is posted at once; a refund to the card is a
    `Refund` of this grant, paid through the same exactly-once gateway machinery."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="goodwill_credits")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="goodwill_credits")
    amount = MoneyField()
    currency = CurrencyField()
    method = models.CharField(max_length=20, choices=[(RefundMethod.STORE_CREDIT.value, "Store credit"),
                                                      (RefundMethod.ORIGINAL_PAYMENT.value, "Original payment")])
    reason = models.TextField()
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        permissions = [("grant_goodwill", "Can grant goodwill credits and refunds, up to the role's limit")]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="goodwill_amount_positive"),
                       models.CheckConstraint(condition=~models.Q(reason=""), name="goodwill_reason_required")]
        triggers = [pgtrigger.Protect(name="goodwill_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"Goodwill {self.amount} {self.currency} on {self.order}"


# --- the ledger ---

class Account(models.Model):
    code = models.CharField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=AccountKind.choices)
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="ledger_accounts", help_text="Set for a customer's store-credit account.")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class JournalEntry(models.Model):
    kind = models.CharField(max_length=30, choices=EntryKind.choices)
    reference = models.CharField(max_length=80, help_text="What the entry is about, e.g. refund:12. "
                                                          "One entry per kind and reference.")
    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="journal_entries")
    return_request = models.ForeignKey("returns.ReturnRequest", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="journal_entries")
    memo = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "journal entries"
        constraints = [models.UniqueConstraint(fields=["kind", "reference"], name="journal_entry_once_per_event")]
        triggers = [
            pgtrigger.Protect(name="journal_entry_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            pgtrigger.Trigger(
                name="journal_entry_has_lines",
                when=pgtrigger.After,
                operation=pgtrigger.Insert,
                timing=pgtrigger.Deferred,
                func="""
                    IF (SELECT count(*) FROM refunds_journalline WHERE entry_id = NEW.id) < 2 THEN
                        RAISE EXCEPTION 'journal entry % needs at least two lines', NEW.id
                            USING ERRCODE = 'check_violation';
                    END IF;
                    RETURN NULL;
                """,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reference}"


class JournalLine(models.Model):
    """Debits are positive, credits negative; an entry's lines sum to zero per currency."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    amount = MoneyField()
    currency = CurrencyField()

    class Meta:
        ordering = ["entry", "id"]
        constraints = [models.CheckConstraint(condition=~models.Q(amount=0), name="journal_line_not_zero")]
        triggers = [
            pgtrigger.Protect(name="journal_line_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            pgtrigger.Trigger(
                name="journal_entry_balanced",
                when=pgtrigger.After,
                operation=pgtrigger.Insert,
                timing=pgtrigger.Deferred,
                declare=[("unbalanced", "record")],
                func="""
                    SELECT currency, sum(amount) AS total INTO unbalanced
                      FROM refunds_journalline WHERE entry_id = NEW.entry_id
                     GROUP BY currency HAVING sum(amount) <> 0 LIMIT 1;
                    IF FOUND THEN
                        RAISE EXCEPTION 'journal entry % does not balance in %: off by %',
                            NEW.entry_id, unbalanced.currency, unbalanced.total
                            USING ERRCODE = 'check_violation';
                    END IF;
                    RETURN NULL;
                """,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account.code} {self.amount} {self.currency}"
