"""What every resilience test asserts after a fault: no refund lost, none paid twice, the books
balanced, every state consistent and on record."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count

from inventory.selectors import stock_discrepancies
from orders.models import Payment
from refunds.choices import RefundStatus as R
from refunds.models import Refund, SandboxRefund
from refunds.reconciliation import reconcile
from returns.choices import RefundMethod
from returns.choices import ReturnStatus as S
from returns.models import ReturnRequest

# Every status change the state machines allow: a history that steps outside them skipped a row.
RETURN_STEPS = {
    (S.REQUESTED, S.AUTHORIZED), (S.REQUESTED, S.REJECTED), (S.REQUESTED, S.CANCELLED),
    (S.AUTHORIZED, S.CANCELLED), (S.AUTHORIZED, S.IN_TRANSIT), (S.AUTHORIZED, S.EXPIRED), (S.AUTHORIZED, S.RECEIVED),
    (S.IN_TRANSIT, S.RECEIVED), (S.EXPIRED, S.RECEIVED), (S.RECEIVED, S.INSPECTED),
    (S.AUTHORIZED, S.INSPECTED),  # a returnless return: nothing to ship or inspect
    (S.INSPECTED, S.REFUND_PENDING), (S.INSPECTED, S.CLOSED), (S.REFUND_PENDING, S.REFUNDED), (S.REFUNDED, S.CLOSED),
}
REFUND_STEPS = {
    (R.PENDING, R.PROCESSING), (R.PROCESSING, R.COMPLETED), (R.PROCESSING, R.FAILED),
    (R.FAILED, R.PROCESSING), (R.FAILED, R.FALLBACK),
}
FIRST_STATUS = {ReturnRequest: S.REQUESTED, Refund: R.PENDING}


def _paid_by_gateway(refunds) -> dict[str, int]:
    keys = [str(refund.idempotency_key) for refund in refunds]
    rows = SandboxRefund.objects.filter(idempotency_key__in=keys).values("idempotency_key").annotate(n=Count("id"))
    return {row["idempotency_key"]: row["n"] for row in rows}


def payments_made(refund: Refund, by_gateway: dict[str, int] | None = None) -> int:
    """How many times the customer has been paid for `refund`, counting every way money goes out."""
    if by_gateway is None:
        by_gateway = _paid_by_gateway([refund])
    by_store_credit = (refund.status in (R.COMPLETED, R.FALLBACK)
                       and refund.paid_method == RefundMethod.STORE_CREDIT)
    by_cheque = refund.paid_method == RefundMethod.CHEQUE and bool(refund.cheque_number)
    return by_gateway.get(str(refund.idempotency_key), 0) + int(by_store_credit) + int(by_cheque)


def assert_money_safe() -> None:
    """No refund paid twice or more than was captured, the books balanced and reconciled, stock
    equal to its movements, every state consistent and every change of state on record."""
    problems = []
    refunds = list(Refund.objects.select_related("return_request", "goodwill"))
    gateway_refunds = list(SandboxRefund.objects.all())
    by_key = {row.idempotency_key: row for row in gateway_refunds}
    by_gateway = dict.fromkeys(by_key, 1)  # the gateway's books hold a key once
    for refund in refunds:
        paid = payments_made(refund, by_gateway)
        if paid > 1:
            problems.append(f"refund {refund.pk} paid {paid} times")
        settled = refund.status == R.COMPLETED or (refund.status == R.FALLBACK and refund.completed_at is not None)
        if settled and paid != 1:
            problems.append(f"refund {refund.pk} is {refund.status} but was paid {paid} times")
        owes_the_card = refund.paid_method == RefundMethod.ORIGINAL_PAYMENT and refund.payment_amount > 0
        if refund.status == R.COMPLETED and owes_the_card:
            gateway = by_key.get(str(refund.idempotency_key))
            if (gateway is None or gateway.reference != refund.gateway_reference
                    or gateway.amount != refund.payment_amount):
                problems.append(f"refund {refund.pk} completed without its gateway refund of {refund.payment_amount}")
    keys = {str(refund.idempotency_key) for refund in refunds}
    strays = [row.reference for key, row in by_key.items() if key not in keys]
    if strays:
        problems.append(f"gateway refunds no refund asked for: {strays}")

    payments = list(Payment.objects.values_list("order_id", "charge_reference", "amount"))
    captured: dict[str, Decimal] = defaultdict(Decimal)
    paid_in: dict[int, Decimal] = defaultdict(Decimal)
    for order_id, charge, amount in payments:
        captured[charge] += amount
        paid_in[order_id] += amount
    refunded: dict[str, Decimal] = defaultdict(Decimal)
    for row in gateway_refunds:
        refunded[row.charge_reference] += row.amount
    for charge, total in refunded.items():
        if total > captured[charge]:
            problems.append(f"charge {charge} refunded {total}, more than the {captured[charge]} captured")
    owed: dict[int, Decimal] = defaultdict(Decimal)
    for refund in refunds:
        owed[(refund.return_request or refund.goodwill).order_id] += refund.net
    for order_id, total in owed.items():
        if total > paid_in[order_id]:
            problems.append(f"order {order_id}: refunds of {total} exceed the {paid_in[order_id]} it was paid")

    problems.extend(reconcile().problems)  # also: the ledger sums to zero in every currency
    if stock_discrepancies().exists():
        problems.append("a stock level differs from the sum of its movements")
    problems.extend(_state_problems())
    assert not problems, "\n".join(problems)


def _state_problems() -> list[str]:
    problems = []
    returns = {pk: (status, refund_id) for pk, status, refund_id in
               ReturnRequest.objects.values_list("pk", "status", "refund__id")}
    for pk, (status, refund_id) in returns.items():
        if status == S.INSPECTED:
            problems.append(f"return {pk} was inspected but neither closed nor started its refund")
        if status == S.REFUND_PENDING and refund_id is None:
            problems.append(f"return {pk} waits for a refund that does not exist")
    refunds = dict(Refund.objects.values_list("pk", "status"))
    for model, current, steps in ((ReturnRequest, {pk: v[0] for pk, v in returns.items()}, RETURN_STEPS),
                                  (Refund, refunds, REFUND_STEPS)):
        paths: dict[int, list[str]] = defaultdict(list)
        rows = model.history.model.objects.order_by("id", "history_id").values_list("id", "status", "history_type")
        for pk, status, kind in rows:
            path = paths[pk]
            if kind == "+" and status != FIRST_STATUS[model]:
                problems.append(f"{model.__name__} {pk} was created {status}")
            if path and path[-1] != status and (path[-1], status) not in steps:
                problems.append(f"{model.__name__} {pk} went {path[-1]} → {status} with no history row between")
            if not path or path[-1] != status:
                path.append(status)
        for pk, status in current.items():
            recorded = paths[pk][-1] if paths.get(pk) else None
            if recorded != status:
                problems.append(f"{model.__name__} {pk} is {status} but its history says {recorded}")
    return problems


def assert_nothing_lost() -> None:
    """Once the sweepers have run, every refund is paid or waits, flagged, for finance."""
    assert_money_safe()
    stuck = Refund.objects.exclude(status__in=(R.COMPLETED, R.FALLBACK)).exclude(status=R.FAILED,
                                                                                needs_attention=True)
    assert not stuck.exists(), f"refunds left behind: {list(stuck.values_list('pk', 'status'))}"
    cheques_owed = Refund.objects.filter(status=R.FALLBACK, completed_at__isnull=True)
    assert all(r.fallback_method == RefundMethod.CHEQUE for r in cheques_owed)
