import uuid

import pgtrigger
from django.conf import settings
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords

from core.models import CurrencyField, MoneyField, TimeStampedModel
from refunds.choices import AccountKind, AttemptOutcome, EntryKind, RefundStatus
from returns.choices import RefundMethod

S = RefundStatus


def _is_finance(instance, user) -> bool:
    return user.has_perm("refunds.manage_refund")


def _system_only(instance, user) -> bool:
    return False


class Refund(ConcurrentTransitionMixin, TimeStampedModel):
    """The money a return pays out: exactly one per return, paid at most once."""

    return_request = models.OneToOneField("returns.ReturnRequest", on_delete=models.PROTECT, related_name="refund")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="refunds")
    method = models.CharField(max_length=20, choices=RefundMethod.choices)
    currency = CurrencyField()
    gross = MoneyField()
    restocking_fee = MoneyField(default=0)
    shipping_refund = MoneyField(default=0)
    net = MoneyField(help_text="What the customer is owed: gross − fee + shipping.")
    store_credit_bonus = MoneyField(default=0)
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
            models.CheckConstraint(condition=models.Q(net__gt=0), name="refund_net_positive"),
            models.CheckConstraint(condition=models.Q(gross__gte=0, restocking_fee__gte=0, shipping_refund__gte=0,
                                                      store_credit_bonus__gte=0),
                                   name="refund_amounts_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.net} {self.currency} for {self.return_request}"

    @property
    def paid_method(self) -> str:
        return self.fallback_method or self.method

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
