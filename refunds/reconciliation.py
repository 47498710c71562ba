"""Proof that the ledger and the refunds agree, and that the books balance."""

from collections import namedtuple
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace

from django.db import connection, models, transaction
from django.db.models import Sum

from refunds import ledger
from refunds.choices import EntryKind, RefundStatus
from refunds.models import JournalLine, Refund
from returns.choices import RefundMethod, ReturnStatus

PAID_KIND = {
    RefundMethod.ORIGINAL_PAYMENT: EntryKind.GATEWAY_REFUND,
    RefundMethod.STORE_CREDIT: EntryKind.STORE_CREDIT_ISSUED,
    RefundMethod.CHEQUE: EntryKind.CHEQUE_ISSUED,
}


@dataclass
class Report:
    refunds_checked: int = 0
    trial_balance: dict[str, Decimal] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _is_paid(refund: Refund) -> bool:
    if refund.status == RefundStatus.COMPLETED:
        return True
    return refund.status == RefundStatus.FALLBACK and (
        refund.fallback_method == RefundMethod.STORE_CREDIT or bool(refund.cheque_number))


def reconcile() -> Report:
    report = Report()
    with _one_snapshot():
        totals = JournalLine.objects.values("currency").annotate(total=Sum("amount")).order_by("currency")
        report.trial_balance = {row["currency"]: row["total"] for row in totals}
        for currency, total in report.trial_balance.items():
            if total != 0:
                report.problems.append(f"trial balance in {currency} is {total}, not zero")

        # Every line of every refund's entries, in one query, summed here (cheaper than in a GROUP BY).
        postings: dict[int, dict[tuple[str, str], Decimal]] = {}
        rows = (JournalLine.objects.filter(entry__refund__isnull=False).order_by()
                .values_list("entry__refund_id", "entry__kind", "account__code", "amount"))
        for refund_id, kind, code, amount in rows.iterator(chunk_size=20_000):
            posted = postings.setdefault(refund_id, {})
            posted[kind, code] = posted.get((kind, code), 0) + amount

        for refund in _refund_facts():
            report.refunds_checked += 1
            report.problems.extend(_check_refund(refund, postings.get(refund.pk, {})))
        report.problems.extend(_check_goodwill())
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


def _refund_facts():
    rows = (Refund.objects.order_by("pk")
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
                    EntryKind.STORE_CREDIT_ISSUED: refund.store_credit_amount}
        expected[way] += refund.payment_amount
        for kind, amount in expected.items():
            if at(kind, ledger.REFUNDS_PAYABLE) != amount:
                problems.append(f"{name}: paid by {refund.paid_method} but no matching {kind} entry of {amount}")

    receivable = sum((amount for (kind, code), amount in posted.items() if code == ledger.EXCHANGE_RECEIVABLE),
                     Decimal(0))
    expected_receivable = Decimal(0) if paid else refund.charge_amount
    if receivable != expected_receivable:
        problems.append(f"{name}: {receivable} left to collect, expected {expected_receivable}")

    if refund.return_request_id is None:
        return problems
    if paid:
        if refund.return_request.status not in (ReturnStatus.REFUNDED, ReturnStatus.CLOSED):
            problems.append(f"{name}: paid but its return is {refund.return_request.status}")
    elif refund.return_request.status != ReturnStatus.REFUND_PENDING:
        problems.append(f"{name}: unpaid but its return is {refund.return_request.status}")
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
