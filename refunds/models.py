import uuid

import pgtrigger
from django.conf import settings
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords

from core.models import CurrencyField, MoneyField, TimeStampedModel
from refunds.choices import (
    AccountKind,
    AttemptOutcome,
    CollectionSettlement,
    EntryKind,
    GatewayOperation,
    RecoveryCause,
    RecoveryStatus,
    RefundStatus,
)
from returns.choices import RefundMethod, RefundTiming

S = RefundStatus


def _is_finance(instance, user) -> bool:
    return user.has_perm("refunds.manage_refund")


def _system_only(instance, user) -> bool:
    return False


def _may_settle_collection(instance, user) -> bool:
    return user.has_perm("refunds.settle_collection")


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
    return_fees = MoneyField(default=0, help_text="Fees the return rules charged (handling, return shipping).")
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
    kept_replacement = models.BooleanField(
        default=False, help_text="Collects for replacements sent before the parcel, kept by the customer when the "
                                 "return ended without it (expired or cancelled).")
    collection_settlement = models.CharField(
        max_length=20, choices=CollectionSettlement.choices, blank=True,
        help_text="How finance settled a collection the gateway could not make.")
    settlement_reference = models.CharField(max_length=100, blank=True,
                                            help_text="The payment's reference, when paid by other means.")
    write_off_reason = models.TextField(blank=True)
    timing = models.CharField(max_length=20, choices=RefundTiming.choices, default=RefundTiming.AFTER_INSPECTION,
                              help_text="When it was issued: before inspection is an early refund.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        permissions = [("manage_refund", "Can retry refunds, switch their method and mark cheques issued"),
                       ("settle_collection", "Can settle a declined collection another way or write it off")]
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
            # A gift card is the whole refund: nothing through the gateway, nobody's store credit.
            models.CheckConstraint(
                condition=~models.Q(method=RefundMethod.GIFT_CARD)
                | models.Q(charge_amount=0, store_credit_amount=0, store_credit_bonus=0, fallback_method=""),
                name="refund_gift_card_is_whole"),
            models.CheckConstraint(condition=models.Q(collection_settlement="") | models.Q(charge_amount__gt=0),
                                   name="refund_settlement_only_for_a_collection"),
            models.CheckConstraint(
                condition=~models.Q(collection_settlement=CollectionSettlement.WRITTEN_OFF) | ~models.Q(
                    write_off_reason=""), name="refund_write_off_has_a_reason"),
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

    # A collection the card keeps declining: finance collects it another way, or writes it off.
    @transition(field=status, source=S.FAILED, target=S.FALLBACK, permission=_may_settle_collection)
    def settle_collection(self, *, how: str, reference: str, at) -> None:
        self.collection_settlement = how
        self.settlement_reference = reference
        self.needs_attention = False
        self.next_attempt_at = None
        self.completed_at = at

    @transition(field=status, source=S.FAILED, target=S.WRITTEN_OFF, permission=_may_settle_collection)
    def write_off(self, *, note: str, at) -> None:
        self.collection_settlement = CollectionSettlement.WRITTEN_OFF
        self.write_off_reason = note
        self.needs_attention = False
        self.next_attempt_at = None
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


class GiftCard(TimeStampedModel):
    """Store credit for someone who is not a customer of record: a gift recipient's return.

    The code the recipient spends is derived from `nonce` (core/codes.py) and e-mailed to them;
    the shop's storefront finds the card by `code_digest`. `balance` is what is left to spend;
    the ledger's gift-card liability holds the same money (reconciliation proves it)."""

    refund = models.OneToOneField(Refund, on_delete=models.PROTECT, related_name="gift_card")
    nonce = models.CharField(max_length=64, unique=True, editable=False)
    code_digest = models.CharField(max_length=64, unique=True, editable=False)
    code_hint = models.CharField(max_length=4, editable=False, help_text="The code's last four characters.")
    currency = CurrencyField()
    initial_amount = MoneyField()
    balance = MoneyField()
    recipient_name = models.CharField(max_length=200)
    recipient_email = models.EmailField()
    history = HistoricalRecords(excluded_fields=["nonce"])

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(initial_amount__gt=0), name="gift_card_amount_positive"),
            models.CheckConstraint(condition=models.Q(balance__gte=0, balance__lte=models.F("initial_amount")),
                                   name="gift_card_balance_within_amount"),
        ]

    def __str__(self) -> str:
        return f"Gift card ····{self.code_hint} ({self.balance} {self.currency})"


class CreditSpending(TimeStampedModel):
    """Credit spent at the storefront's checkout for the checkout or order `reference`: part of a gift
    card, or of a customer's store credit. Reversed (the amount is its holder's again) when that
    checkout is cancelled. Each is posted to the ledger once, and its reversal once."""

    gift_card = models.ForeignKey(GiftCard, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="spendings")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="store_credit_spendings", help_text="Whose store credit was spent.")
    amount = MoneyField()
    currency = CurrencyField()
    reference = models.CharField(max_length=100, help_text="The storefront's checkout or order reference.")
    spent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    reversal_reason = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="credit_spending_amount_positive"),
            models.CheckConstraint(condition=models.Q(gift_card__isnull=True) ^ models.Q(customer__isnull=True),
                                   name="credit_spending_one_source"),
            models.CheckConstraint(condition=models.Q(reversed_at__isnull=True) | models.Q(reversed_by__isnull=False),
                                   name="credit_spending_reversal_has_actor"),
        ]
        triggers = [pgtrigger.Protect(name="credit_spending_no_delete", operation=pgtrigger.Delete)]
        permissions = [("spend_credit", "Can spend gift cards and store credit, and reverse a spending")]

    def __str__(self) -> str:
        source = self.gift_card if self.gift_card_id else "store credit"
        return f"{self.amount} {self.currency} of {source} for {self.reference}"


# --- early refunds that were not earned ---

def _may_settle(instance, user) -> bool:
    return user.has_perm("refunds.settle_earlyrefundrecovery")


class EarlyRefundRecovery(ConcurrentTransitionMixin, models.Model):
    """A refund paid before the goods arrived that they did not earn: the parcel was not scanned or
    received by the deadline, or failed inspection. The unearned amount is a receivable in the
    ledger until finance records it paid back or writes it off. One per refund, ever."""

    refund = models.OneToOneField(Refund, on_delete=models.PROTECT, related_name="early_recovery")
    return_request = models.ForeignKey("returns.ReturnRequest", on_delete=models.PROTECT,
                                       related_name="early_refund_recoveries")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="early_refund_recoveries")
    cause = models.CharField(max_length=20, choices=RecoveryCause.choices)
    amount = MoneyField(help_text="Paid early and not earned: what the customer owes.")
    currency = CurrencyField()
    evidence = models.JSONField(default=dict, help_text="What was found: deadline, dates, lines short or failed.")
    status = FSMField(max_length=20, choices=RecoveryStatus.choices, default=RecoveryStatus.OPEN, protected=True,
                      db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    settled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    settlement_note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "early refund recoveries"
        permissions = [("settle_earlyrefundrecovery", "Can record an early refund paid back or write it off")]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="early_recovery_amount_positive")]

    def __str__(self) -> str:
        return f"Early refund recovery {self.amount} {self.currency} ({self.get_cause_display().lower()})"

    @transition(field=status, source=RecoveryStatus.OPEN, target=RecoveryStatus.REPAID, permission=_may_settle)
    def repaid(self, *, at, settled_by, note: str) -> None:
        self.settled_at, self.settled_by, self.settlement_note = at, settled_by, note

    @transition(field=status, source=RecoveryStatus.OPEN, target=RecoveryStatus.WRITTEN_OFF, permission=_may_settle)
    def write_off(self, *, at, settled_by, note: str) -> None:
        self.settled_at, self.settled_by, self.settlement_note = at, settled_by, note


class EarlyRefundRevocation(models.Model):
    """A customer who lost early refunds: their later returns are refunded after inspection, whatever
    the rules say. Staff may restore them; every change is in the history."""

    customer = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="early_refund_revocation")
    recovery = models.ForeignKey(EarlyRefundRecovery, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", help_text="The unearned early refund that cost them.")
    reason = models.CharField(max_length=300)
    revoked_at = models.DateTimeField()
    restored_at = models.DateTimeField(null=True, blank=True,
                                       help_text="Set when staff give early refunds back; empty while revoked.")
    restored_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-revoked_at"]
        permissions = [("restore_early_refunds", "Can give a customer early refunds back")]

    def __str__(self) -> str:
        return f"Early refunds of {self.customer} {'restored' if self.restored_at else 'revoked'}"

    @property
    def active(self) -> bool:
        return self.restored_at is None


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
