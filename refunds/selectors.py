"""Reads for refunds: the facts the calculation needs, queues for finance, reconciliation."""

from decimal import Decimal

from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from refunds.calculations import LineInput
from refunds.choices import RefundStatus
from refunds.models import Refund
from returns.choices import RefundMethod, ReturnStatus


def units_returned_elsewhere(return_request) -> dict[int, int]:
    """Units per order line that other returns of the same order have brought back (or hold)."""
    from returns.models import ReturnLine

    rows = (
        ReturnLine.objects.filter(return_request__order_id=return_request.order_id)
        .exclude(return_request=return_request)
        .exclude(return_request__status__in=(ReturnStatus.REJECTED, ReturnStatus.CANCELLED, ReturnStatus.EXPIRED))
        .values("order_line_id")
        .annotate(units=Sum(Coalesce(F("received_quantity"), F("quantity"))))
    )
    return {row["order_line_id"]: row["units"] for row in rows}


def refund_inputs_for_return(return_request, *, store_credit: bool | None = None) -> dict:
    """Everything `calculate_refund` needs for this return, read once."""
    order = return_request.order
    lines = list(return_request.lines.select_related("order_line__product"))
    elsewhere = units_returned_elsewhere(return_request)
    mine = {line.order_line_id: line.refundable_quantity for line in lines}
    all_back = all(
        elsewhere.get(ol.pk, 0) + mine.get(ol.pk, 0) >= ol.quantity_shipped for ol in order.lines.all()
    )
    inputs = []
    for line in lines:
        policy = return_request.policy_for(line.order_line.product.category)
        inputs.append(LineInput(
            key=line.pk,
            quantity=line.refundable_quantity,
            unit_price=line.order_line.unit_price,
            unit_tax=line.order_line.unit_tax,
            restocking_fee_percent=Decimal(policy["restocking_fee_percent"]),
            store_credit_bonus_percent=Decimal(policy["store_credit_bonus_percent"]),
            fee_applies=bool(line.condition) and line.condition in policy["restocking_fee_conditions"],
        ))
    if store_credit is None:
        store_credit = return_request.refund_method == RefundMethod.STORE_CREDIT
    return {
        "currency": order.currency,
        "lines": inputs,
        "shipping_cost": order.shipping_cost,
        "refund_shipping": all_back,
        "store_credit": store_credit,
    }


def refunds_due_for_sweep(*, pending_stale_seconds: int) -> QuerySet[Refund]:
    """Refunds a lost message or a dead worker has left behind."""
    now = timezone.now()
    return Refund.objects.filter(
        Q(status=RefundStatus.PENDING, updated_at__lt=now - timezone.timedelta(seconds=pending_stale_seconds))
        | Q(status=RefundStatus.PROCESSING, lease_expires_at__lt=now)
        | Q(status=RefundStatus.FAILED, needs_attention=False, next_attempt_at__lte=now)
    ).exclude(method=RefundMethod.CHEQUE, status=RefundStatus.PROCESSING)


def refunds_needing_attention() -> QuerySet[Refund]:
    return Refund.objects.filter(needs_attention=True).select_related("return_request", "customer")
