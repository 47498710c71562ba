"""Proof that the ledger and the refunds agree, and that the books balance."""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

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
    totals = JournalLine.objects.values("currency").annotate(total=Sum("amount")).order_by("currency")
    report.trial_balance = {row["currency"]: row["total"] for row in totals}
    for currency, total in report.trial_balance.items():
        if total != 0:
            report.problems.append(f"trial balance in {currency} is {total}, not zero")

    # Every line of every refund's entries, in one query.
    postings: dict[int, dict[tuple[str, str], Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    rows = (JournalLine.objects.filter(entry__refund__isnull=False)
            .values("entry__refund_id", "entry__kind", "account__code").annotate(total=Sum("amount")))
    for row in rows:
        postings[row["entry__refund_id"]][(row["entry__kind"], row["account__code"])] += row["total"]

    for refund in Refund.objects.select_related("return_request").order_by("pk").iterator():
        report.refunds_checked += 1
        report.problems.extend(_check_refund(refund, postings.get(refund.pk, {})))
    return report


def _check_refund(refund: Refund, posted: dict[tuple[str, str], Decimal]) -> list[str]:
    name = f"refund {refund.pk} ({refund.return_request.rma_number}, {refund.status})"
    problems = []
    approved_payable = posted.get((EntryKind.REFUND_APPROVED, ledger.REFUNDS_PAYABLE), Decimal(0))
    if approved_payable != -refund.net:
        problems.append(f"{name}: approved {-approved_payable} to pay but the refund says {refund.net}")
    expected_sales = refund.gross + refund.shipping_refund
    if posted.get((EntryKind.REFUND_APPROVED, ledger.SALES_RETURNS), Decimal(0)) != expected_sales:
        problems.append(f"{name}: sales returns posting differs from gross + shipping {expected_sales}")
    payable = sum((amount for (kind, code), amount in posted.items() if code == ledger.REFUNDS_PAYABLE), Decimal(0))
    paid = _is_paid(refund)
    expected_payable = Decimal(0) if paid else -refund.net
    if payable != expected_payable:
        problems.append(f"{name}: refunds payable is {payable}, expected {expected_payable}")
    if paid:
        kind = PAID_KIND[refund.paid_method]
        if posted.get((kind, ledger.REFUNDS_PAYABLE), Decimal(0)) != refund.net:
            problems.append(f"{name}: paid by {refund.paid_method} but no matching {kind} entry of {refund.net}")
        if refund.return_request.status not in (ReturnStatus.REFUNDED, ReturnStatus.CLOSED):
            problems.append(f"{name}: paid but its return is {refund.return_request.status}")
    elif refund.return_request.status != ReturnStatus.REFUND_PENDING:
        problems.append(f"{name}: unpaid but its return is {refund.return_request.status}")
    return problems
