"""Proof that the ledger and the refunds agree, and that the books balance."""

from collections import namedtuple
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace

from django.db import connection, models, transaction
from django.db.models import Count, Sum

from refunds import ledger
from refunds.choices import CollectionSettlement, EntryKind, RefundStatus
from refunds.models import JournalLine, Refund
from returns.choices import RefundMethod, RefundTiming, ReturnStatus

PAID_KIND = {
    RefundMethod.ORIGINAL_PAYMENT: EntryKind.GATEWAY_REFUND,
    RefundMethod.STORE_CREDIT: EntryKind.STORE_CREDIT_ISSUED,
    RefundMethod.CHEQUE: EntryKind.CHEQUE_ISSUED,
    RefundMethod.GIFT_CARD: EntryKind.GIFT_CARD_ISSUED,
}


@dataclass
class Report:
    refunds_checked: int = 0
    trial_balance: dict[str, Decimal] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


SETTLED_KIND = {
    CollectionSettlement.STORE_CREDIT: EntryKind.COLLECTION_SETTLED,
    CollectionSettlement.OTHER_MEANS: EntryKind.COLLECTION_SETTLED,
    CollectionSettlement.WRITTEN_OFF: EntryKind.COLLECTION_WRITTEN_OFF,
}


def _is_paid(refund: Refund) -> bool:
    if refund.status in (RefundStatus.COMPLETED, RefundStatus.WRITTEN_OFF):
        return True
    return refund.status == RefundStatus.FALLBACK and (
        refund.fallback_method == RefundMethod.STORE_CREDIT or bool(refund.cheque_number)
        or bool(refund.collection_settlement))


def reconcile() -> Report:
    report = Report()
    with _one_snapshot():
        totals = JournalLine.objects.values("currency").annotate(total=Sum("amount")).order_by("currency")
        report.trial_balance = {row["currency"]: row["total"] for row in totals}
        for currency, total in report.trial_balance.items():
            if total != 0:
                report.problems.append(f"trial balance in {currency} is {total}, not zero")

        report.refunds_checked += _mark_plainly_paid()

        # Every line of every other refund's entries, in one query, summed here (cheaper than in a GROUP BY).
        postings: dict[int, dict[tuple[str, str], Decimal]] = {}
        rows = (JournalLine.objects.filter(entry__refund__isnull=False)
                .extra(where=[_NOT_PLAINLY_PAID % '"refunds_journalentry"."refund_id"']).order_by()
                .values_list("entry__refund_id", "entry__kind", "account__code", "amount"))
        for refund_id, kind, code, amount in rows.iterator(chunk_size=20_000):
            posted = postings.setdefault(refund_id, {})
            posted[kind, code] = posted.get((kind, code), 0) + amount

        for refund in _refund_facts():
            report.refunds_checked += 1
            report.problems.extend(_check_refund(refund, postings.get(refund.pk, {})))
        report.problems.extend(_check_goodwill())
        report.problems.extend(_check_gift_cards())
        report.problems.extend(_check_early_refund_recoveries())
    return report


@contextmanager
def _one_snapshot():
    """Every read in one snapshot, so that a refund paid while reconciliation runs is seen wholly
    before or wholly after, never with its state from one moment and its entries from another."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cursor:
            if outermost:  # inside a caller's transaction, its snapshot rules
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            # Room to hash a million postings in memory rather than sort them on disk.
            cursor.execute("SET LOCAL work_mem = '64MB'")
        yield


# A refund's amounts, states and keys as a named tuple with the model's properties (paid_method,
# payment_amount, ...): at a quarter of a million refunds, model instances and parsing dates, keys and
# JSON the checks never read are most of reconciliation's time. A check that needs another column
# finds it missing here.
_REFUND_COLUMNS = [f.attname for f in Refund._meta.concrete_fields
                   if not isinstance(f, models.JSONField | models.DateTimeField | models.TextField | models.UUIDField)]


def _return_of(row) -> SimpleNamespace | None:
    if row.return_request_id is None:
        return None
    return SimpleNamespace(pk=row.return_request_id, rma_number=row.rma_number, status=row.return_status)


_RefundFacts = type("_RefundFacts", (namedtuple("_RefundRow", [*_REFUND_COLUMNS, "rma_number", "return_status"]),), {
    "__slots__": (),
    **{name: value for name, value in vars(Refund).items() if isinstance(value, property)},
    "pk": property(lambda row: row.id),
    "return_request": property(_return_of),
})


# Refunds of the commonest shape are checked wholesale in PostgreSQL: paid in full to the card, with
# no store credit, charge, replacement or goodwill; posted on approval (sales returns, restocking and return fees,
# refunds payable) and once when paid (refunds payable, gateway clearing) and nothing else; their
# return refunded or closed. For such a refund every check of `_check_refund` reduces to the
# comparisons below. A refund with anything else — another posting kind or account, a fallback, a
# partial payment — is not marked and goes through `_check_refund` one by one. A change to
# `_check_refund` that could flag a refund of this shape must be mirrored here; the test
# `test_reconcile_catches_a_tampered_refund` corrupts such refunds every way the checks look at.
_PLAINLY_PAID_SQL = """
CREATE TEMPORARY TABLE reconcile_plainly_paid ON COMMIT DROP AS
SELECT refund.id
FROM refunds_refund refund
JOIN returns_returnrequest rr ON rr.id = refund.return_request_id
JOIN (
    SELECT entry.refund_id,
           SUM(line.amount) FILTER (WHERE entry.kind = %(approved)s AND account.code = %(payable)s) AS approved_payable,
           SUM(line.amount) FILTER (WHERE entry.kind = %(approved)s AND account.code = %(sales)s) AS approved_sales,
           SUM(line.amount) FILTER (WHERE entry.kind = %(approved)s AND account.code = %(fee)s) AS approved_fee,
           SUM(line.amount) FILTER (WHERE entry.kind = %(approved)s AND account.code = %(return_fee)s)
               AS approved_return_fee,
           SUM(line.amount) FILTER (WHERE entry.kind = %(approved)s AND account.code = %(method_fee)s)
               AS approved_method_fee,
           SUM(line.amount) FILTER (WHERE entry.kind = %(paid)s AND account.code = %(payable)s) AS paid_payable,
           COUNT(*) FILTER (WHERE NOT (entry.kind = %(approved)s
                                       AND account.code IN (%(payable)s, %(sales)s, %(fee)s, %(return_fee)s,
                                                            %(method_fee)s))
                              AND NOT (entry.kind = %(paid)s AND account.code IN (%(payable)s, %(clearing)s))
                           ) AS other_lines
    FROM refunds_journalline line
    JOIN refunds_journalentry entry ON entry.id = line.entry_id
    JOIN refunds_account account ON account.id = line.account_id
    WHERE entry.refund_id IS NOT NULL
    GROUP BY entry.refund_id
) posted ON posted.refund_id = refund.id
WHERE refund.status = %(completed)s AND refund.goodwill_id IS NULL
  AND refund.method = %(card)s AND refund.fallback_method = ''
  AND refund.store_credit_amount = 0 AND refund.charge_amount = 0 AND refund.replacement_total = 0
  AND posted.other_lines = 0
  AND posted.approved_payable = -refund.net
  AND posted.approved_sales = refund.gross + refund.shipping_refund
  AND COALESCE(posted.approved_fee, 0) = -refund.restocking_fee
  AND COALESCE(posted.approved_return_fee, 0) = -refund.return_fees
  AND COALESCE(posted.approved_method_fee, 0) = -refund.method_fee
  AND posted.paid_payable = refund.net
  AND rr.status IN (%(refunded)s, %(closed)s)
"""
_NOT_PLAINLY_PAID = "NOT EXISTS (SELECT 1 FROM reconcile_plainly_paid plain WHERE plain.id = %s)"


def _mark_plainly_paid() -> int:
    """Check the refunds of the commonest shape in one statement; returns how many passed. The
    rest of reconciliation skips them (through the temporary table, dropped at commit)."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS reconcile_plainly_paid")
        cursor.execute(_PLAINLY_PAID_SQL, {
            "approved": EntryKind.REFUND_APPROVED, "paid": EntryKind.GATEWAY_REFUND,
            "payable": ledger.REFUNDS_PAYABLE, "sales": ledger.SALES_RETURNS, "fee": ledger.RESTOCKING_FEE_INCOME,
            "return_fee": ledger.RETURN_FEE_INCOME, "method_fee": ledger.RETURN_METHOD_FEE_INCOME,
            "clearing": ledger.GATEWAY_CLEARING, "completed": RefundStatus.COMPLETED,
            "card": RefundMethod.ORIGINAL_PAYMENT, "refunded": ReturnStatus.REFUNDED, "closed": ReturnStatus.CLOSED,
        })
        cursor.execute("ALTER TABLE reconcile_plainly_paid ADD PRIMARY KEY (id)")
        cursor.execute("ANALYZE reconcile_plainly_paid")
        cursor.execute("SELECT count(*) FROM reconcile_plainly_paid")
        return cursor.fetchone()[0]


def _refund_facts():
    rows = (Refund.objects.extra(where=[_NOT_PLAINLY_PAID % '"refunds_refund"."id"']).order_by("pk")
            .values_list(*_REFUND_COLUMNS, "return_request__rma_number", "return_request__status")
            .iterator(chunk_size=10_000))
    return map(_RefundFacts._make, rows)


def _check_refund(refund: Refund, posted: dict[tuple[str, str], Decimal]) -> list[str]:
    rma = refund.return_request.rma_number if refund.return_request_id else f"goodwill {refund.goodwill_id}"
    name = f"refund {refund.pk} ({rma}, {refund.status})"
    problems = []

    def at(kind: str, code: str) -> Decimal:
        return posted.get((kind, code), Decimal(0))

    approval = EntryKind.GOODWILL_GRANTED if refund.goodwill_id else EntryKind.REFUND_APPROVED
    if at(approval, ledger.REFUNDS_PAYABLE) != -refund.net:
        problems.append(f"{name}: approved {-at(approval, ledger.REFUNDS_PAYABLE)} to pay but the refund says "
                        f"{refund.net}")
    expected_sales = refund.gross + refund.shipping_refund
    if at(EntryKind.REFUND_APPROVED, ledger.SALES_RETURNS) != expected_sales:
        problems.append(f"{name}: sales returns posting differs from gross + shipping {expected_sales}")
    if at(EntryKind.REFUND_APPROVED, ledger.RESTOCKING_FEE_INCOME) != -refund.restocking_fee:
        problems.append(f"{name}: restocking fee posted differs from {refund.restocking_fee}")
    if at(EntryKind.REFUND_APPROVED, ledger.RETURN_FEE_INCOME) != -refund.return_fees:
        problems.append(f"{name}: return fees posted differ from {refund.return_fees}")
    if at(EntryKind.REFUND_APPROVED, ledger.RETURN_METHOD_FEE_INCOME) != -refund.method_fee:
        problems.append(f"{name}: return method fee posted differs from {refund.method_fee}")
    if at(EntryKind.REFUND_APPROVED, ledger.EXCHANGE_SALES) != -refund.replacement_total:
        problems.append(f"{name}: replacements posted differ from {refund.replacement_total}")
    paid = _is_paid(refund)

    # The store-credit part is issued when processing starts; the rest when the refund is paid.
    credit = at(EntryKind.STORE_CREDIT_ISSUED, ledger.REFUNDS_PAYABLE)
    payable = sum((amount for (kind, code), amount in posted.items() if code == ledger.REFUNDS_PAYABLE), Decimal(0))
    expected_payable = Decimal(0) if paid else -refund.net + credit
    if payable != expected_payable:
        problems.append(f"{name}: refunds payable is {payable}, expected {expected_payable}")
    if not paid and credit not in (0, refund.store_credit_amount):
        problems.append(f"{name}: {credit} issued as store credit, expected {refund.store_credit_amount}")
    if paid:
        way = PAID_KIND[refund.paid_method]
        expected = {EntryKind.GATEWAY_REFUND: Decimal(0), EntryKind.CHEQUE_ISSUED: Decimal(0),
                    EntryKind.GIFT_CARD_ISSUED: Decimal(0), EntryKind.STORE_CREDIT_ISSUED: refund.store_credit_amount}
        expected[way] += refund.payment_amount
        for kind, amount in expected.items():
            if at(kind, ledger.REFUNDS_PAYABLE) != amount:
                problems.append(f"{name}: paid by {refund.paid_method} but no matching {kind} entry of {amount}")

    receivable = sum((amount for (kind, code), amount in posted.items() if code == ledger.EXCHANGE_RECEIVABLE),
                     Decimal(0))
    expected_receivable = Decimal(0) if paid else refund.charge_amount
    if receivable != expected_receivable:
        problems.append(f"{name}: {receivable} left to collect, expected {expected_receivable}")
    if refund.collection_settlement:
        settled = at(SETTLED_KIND[refund.collection_settlement], ledger.EXCHANGE_RECEIVABLE)
        if settled != -refund.charge_amount:
            problems.append(f"{name}: settled as {refund.collection_settlement} but {-settled} posted so, expected "
                            f"{refund.charge_amount}")

    # A kept replacement's return ended without its parcel: it does not follow its collection.
    if refund.return_request_id is None or refund.kept_replacement:
        return problems
    early = refund.timing != RefundTiming.AFTER_INSPECTION
    allowed = (PAID_EARLY_RETURN_STATUSES if early else PAID_RETURN_STATUSES) if paid else \
        (UNPAID_EARLY_RETURN_STATUSES if early else UNPAID_RETURN_STATUSES)
    if refund.return_request.status not in allowed:
        problems.append(f"{name}: {'paid' if paid else 'unpaid'} but its return is {refund.return_request.status}")
    return problems


R = ReturnStatus
PAID_RETURN_STATUSES = (R.REFUNDED, R.CLOSED)
UNPAID_RETURN_STATUSES = (R.REFUND_PENDING,)
# A refund paid early lets its return follow the parcel; inspection closes it, or, while the payment
# is still under way, makes it wait for it as usual.
_BEFORE_INSPECTION = (R.AUTHORIZED, R.IN_TRANSIT, R.EXPIRED, R.RECEIVED)
PAID_EARLY_RETURN_STATUSES = (*_BEFORE_INSPECTION, R.REFUNDED, R.CLOSED)
UNPAID_EARLY_RETURN_STATUSES = (*_BEFORE_INSPECTION, R.REFUND_PENDING)


def _check_early_refund_recoveries() -> list[str]:
    """Every unearned early refund is a receivable posted once for its amount, and cleared once,
    in full, when it is settled; the receivable account holds exactly the open ones."""
    from refunds.choices import RecoveryStatus
    from refunds.models import EarlyRefundRecovery

    problems = []
    posted: dict[tuple[str, str], Decimal] = {}
    rows = (JournalLine.objects.filter(account__code=ledger.EARLY_REFUND_RECEIVABLE).order_by()
            .values_list("entry__kind", "entry__reference", "amount"))
    for kind, reference, amount in rows:
        posted[kind, reference] = posted.get((kind, reference), Decimal(0)) + amount
    settlement = {RecoveryStatus.REPAID: EntryKind.EARLY_REFUND_REPAID,
                  RecoveryStatus.WRITTEN_OFF: EntryKind.EARLY_REFUND_WRITTEN_OFF}
    expected: dict[tuple[str, str], Decimal] = {}
    for recovery in EarlyRefundRecovery.objects.order_by("pk").iterator():
        reference = f"early_recovery:{recovery.pk}"
        expected[EntryKind.EARLY_REFUND_UNEARNED, reference] = recovery.amount
        if recovery.status in settlement:
            expected[settlement[recovery.status], reference] = -recovery.amount
    for key in sorted(set(posted) | set(expected)):
        if posted.get(key, Decimal(0)) != expected.get(key, Decimal(0)):
            kind, reference = key
            problems.append(f"{reference}: {kind} posted {posted.get(key, Decimal(0))} to the early refund "
                            f"receivable, expected {expected.get(key, Decimal(0))}")
    return problems


def _check_goodwill() -> list[str]:
    """Every goodwill grant is posted once as an expense: to the customer's store credit, or owed
    to their card by the refund that pays it."""
    from refunds.models import GoodwillCredit, JournalEntry

    problems = []
    entries = {entry.reference: entry for entry in JournalEntry.objects.filter(kind=EntryKind.GOODWILL_GRANTED)
               .prefetch_related("lines__account")}
    for grant in GoodwillCredit.objects.select_related("refund").order_by("pk").iterator():
        entry = entries.get(f"goodwill:{grant.pk}")
        expense = sum((line.amount for line in entry.lines.all() if line.account.code == ledger.GOODWILL_EXPENSE),
                      Decimal(0)) if entry else Decimal(0)
        if expense != grant.amount:
            problems.append(f"goodwill {grant.pk}: {expense} posted as goodwill expense, granted {grant.amount}")
        has_refund = hasattr(grant, "refund")
        if (grant.method == RefundMethod.ORIGINAL_PAYMENT) != has_refund:
            problems.append(f"goodwill {grant.pk}: paid by {grant.method} but "
                            f"{'has' if has_refund else 'has no'} refund")
        elif has_refund and grant.refund.net != grant.amount:
            problems.append(f"goodwill {grant.pk}: its refund pays {grant.refund.net}, granted {grant.amount}")
    return problems


def _check_gift_cards() -> list[str]:
    """Each gift card was issued by one entry of its amount, and what is left on the cards is
    what the gift-card liability holds, per currency."""
    from refunds.models import GiftCard, JournalEntry

    problems = []
    issued = dict(JournalLine.objects.filter(entry__kind=EntryKind.GIFT_CARD_ISSUED,
                                             account__code=ledger.GIFT_CARD_LIABILITY)
                  .values("entry__refund_id").annotate(total=Sum("amount")).values_list("entry__refund_id", "total"))
    balances: dict[str, Decimal] = {}
    for card in GiftCard.objects.order_by("pk").only("pk", "refund_id", "initial_amount", "balance", "currency"):
        if -issued.get(card.refund_id, Decimal(0)) != card.initial_amount:
            problems.append(f"gift card {card.pk}: {-issued.get(card.refund_id, Decimal(0))} posted to the gift-card "
                            f"liability, issued {card.initial_amount}")
        balances[card.currency] = balances.get(card.currency, Decimal(0)) + card.balance
    liability = (JournalLine.objects.filter(account__code=ledger.GIFT_CARD_LIABILITY).values("currency")
                 .annotate(total=Sum("amount")).values_list("currency", "total"))
    held = {currency: -total for currency, total in liability}
    for currency in sorted(set(held) | set(balances)):
        if held.get(currency, Decimal(0)) != balances.get(currency, Decimal(0)):
            problems.append(f"gift cards in {currency}: {balances.get(currency, Decimal(0))} left on the cards but "
                            f"the gift-card liability holds {held.get(currency, Decimal(0))}")
    stray = JournalEntry.objects.filter(kind=EntryKind.GIFT_CARD_ISSUED, refund__gift_card__isnull=True).count()
    if stray:
        problems.append(f"{stray} gift-card entries have no gift card")
    return problems + _check_credit_spending()


def _check_credit_spending() -> list[str]:
    """Each gift card's balance is what was issued less what is spent and not reversed; each spending
    (of a gift card or of store credit) is posted once for its amount, to the account it drew on, and
    reversed in the ledger exactly when it is reversed; and no customer has spent more store credit
    than they had."""
    from refunds.models import CreditSpending, GiftCard

    problems = []
    spent = dict(CreditSpending.objects.filter(reversed_at__isnull=True, gift_card__isnull=False)
                 .values("gift_card_id").annotate(total=Sum("amount")).values_list("gift_card_id", "total"))
    for pk, initial, balance in GiftCard.objects.order_by("pk").values_list("pk", "initial_amount", "balance"):
        if initial - spent.get(pk, Decimal(0)) != balance:
            problems.append(f"gift card {pk}: balance {balance}, but {initial} issued less "
                            f"{spent.get(pk, Decimal(0))} spent")
    # What each entry took from (or gave back to) the gift-card liability or a store-credit account.
    posted = {}
    for kind in (EntryKind.CREDIT_SPENT, EntryKind.CREDIT_SPENDING_REVERSED):
        sign = 1 if kind == EntryKind.CREDIT_SPENT else -1
        rows = (JournalLine.objects.filter(entry__kind=kind).exclude(account__code=ledger.CREDIT_SPENT_CLEARING)
                .values("entry__reference", "account__code")
                .annotate(total=Sum("amount"), entries=Count("entry", distinct=True))
                .values_list("entry__reference", "account__code", "total", "entries"))
        posted[kind] = {reference: (code, sign * total, entries) for reference, code, total, entries in rows}
    spendings = CreditSpending.objects.order_by("pk").values_list("pk", "gift_card_id", "customer_id", "amount",
                                                                  "reversed_at")
    for pk, gift_card_id, customer_id, amount, reversed_at in spendings:
        source = ledger.GIFT_CARD_LIABILITY if gift_card_id else ledger.StoreCredit(customer_id).code
        expected = {EntryKind.CREDIT_SPENT: (source, amount, 1),
                    EntryKind.CREDIT_SPENDING_REVERSED: (source, amount, 1) if reversed_at else None}
        for kind, want in expected.items():
            got = posted[kind].pop(f"credit_spending:{pk}", None)
            if got != want:
                problems.append(f"credit spending {pk}: {kind} posted {got or 'nothing'}, expected {want or 'nothing'}")
    for kind, left in posted.items():
        if left:
            problems.append(f"{len(left)} {kind} entries name no credit spending")
    overdrawn = (JournalLine.objects.filter(account__code__startswith="store_credit:")
                 .values("account__code", "currency").annotate(total=Sum("amount")).filter(total__gt=0)
                 .values_list("account__code", "currency", "total"))
    for code, currency, total in overdrawn:
        problems.append(f"{code}: overdrawn by {total} {currency}")
    return problems
