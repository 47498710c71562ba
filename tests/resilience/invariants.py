"""What every resilience test asserts after a fault: no refund lost, none paid twice, the books
balanced, every state consistent and on record."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum

from inventory.selectors import stock_discrepancies
from orders.models import Payment
from refunds.choices import RefundStatus
from refunds.models import JournalLine, Refund, SandboxRefund
from refunds.reconciliation import reconcile
from returns.choices import RefundMethod, ReturnStatus
from returns.models import ReturnRequest


def payments_made(refund: Refund) -> int:
    """How many times the customer has been paid for `refund`, counting every way money goes out."""
    by_gateway = SandboxRefund.objects.filter(idempotency_key=str(refund.idempotency_key)).count()
    by_store_credit = (refund.status in (RefundStatus.COMPLETED, RefundStatus.FALLBACK)
                       and refund.paid_method == RefundMethod.STORE_CREDIT)
    by_cheque = refund.paid_method == RefundMethod.CHEQUE and bool(refund.cheque_number)
    return by_gateway + int(by_store_credit) + int(by_cheque)


def assert_money_safe() -> None:
    problems = []
    refunds = list(Refund.objects.select_related("return_request"))
    for refund in refunds:
        paid = payments_made(refund)
        if paid > 1:
            problems.append(f"refund {refund.pk} paid {paid} times")
        settled = refund.status == RefundStatus.COMPLETED or (
            refund.status == RefundStatus.FALLBACK and refund.completed_at is not None)
        if settled and paid != 1:
            problems.append(f"refund {refund.pk} is {refund.status} but was paid {paid} times")
        if refund.status == RefundStatus.COMPLETED and refund.paid_method == RefundMethod.ORIGINAL_PAYMENT:
            gateway = SandboxRefund.objects.filter(idempotency_key=str(refund.idempotency_key)).first()
            if gateway is None or gateway.reference != refund.gateway_reference or gateway.amount != refund.net:
                problems.append(f"refund {refund.pk} completed without its gateway refund of {refund.net}")
    keys = {str(refund.idempotency_key) for refund in refunds}
    strays = SandboxRefund.objects.exclude(idempotency_key__in=keys)
    if strays.exists():
        problems.append(f"gateway refunds no refund asked for: {list(strays.values_list('reference', flat=True))}")

    captured = {p.charge_reference: p.amount for p in Payment.objects.all()}
    for row in SandboxRefund.objects.values("charge_reference").annotate(total=Sum("amount")):
        if row["total"] > captured.get(row["charge_reference"], Decimal(0)):
            problems.append(f"charge {row['charge_reference']} refunded {row['total']}, more than captured")
    owed: dict[int, Decimal] = defaultdict(Decimal)
    for refund in refunds:
        owed[refund.return_request.order_id] += refund.net
    for order_id, total in owed.items():
        paid_in = Payment.objects.filter(order_id=order_id).aggregate(t=Sum("amount"))["t"] or Decimal(0)
        if total > paid_in:
            problems.append(f"order {order_id}: refunds of {total} exceed the {paid_in} it was paid")

    for row in JournalLine.objects.values("currency").annotate(total=Sum("amount")):
        if row["total"] != 0:
            problems.append(f"ledger in {row['currency']} sums to {row['total']}")
    report = reconcile()
    problems.extend(report.problems)
    if stock_discrepancies().exists():
        problems.append("a stock level differs from the sum of its movements")
    problems.extend(_state_problems())
    assert not problems, "\n".join(problems)


def _state_problems() -> list[str]:
    problems = []
    if ReturnRequest.objects.filter(status=ReturnStatus.INSPECTED).exists():
        problems.append("an inspected return neither closed nor started its refund")
    if ReturnRequest.objects.filter(status=ReturnStatus.REFUND_PENDING, refund__isnull=True).exists():
        problems.append("a return waits for a refund that does not exist")
    for model in (ReturnRequest, Refund):
        latest = (model.history.model.objects.order_by("id", "-history_id")
                  .distinct("id").values_list("id", "status"))
        recorded = dict(latest)
        for pk, status in model.objects.values_list("pk", "status"):
            if recorded.get(pk) != status:
                problems.append(f"{model.__name__} {pk} is {status} but its history says {recorded.get(pk)}")
    return problems


def assert_nothing_lost() -> None:
    """Once the sweepers have run, every refund is paid or waits, flagged, for finance."""
    assert_money_safe()
    stuck = Refund.objects.exclude(status__in=(RefundStatus.COMPLETED, RefundStatus.FALLBACK)).exclude(
        status=RefundStatus.FAILED, needs_attention=True)
    assert not stuck.exists(), f"refunds left behind: {list(stuck.values_list('pk', 'status'))}"
    cheques_owed = Refund.objects.filter(status=RefundStatus.FALLBACK, completed_at__isnull=True)
    assert all(r.fallback_method == RefundMethod.CHEQUE for r in cheques_owed)
