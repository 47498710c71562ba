"""The events partners can subscribe to, and what each one carries.

A payload holds what a partner needs to act and no more: identifiers, states, the refund's
amount and method. Customer details stay behind the API, where access is checked per call.
"""

from core.money import round_money
from refunds.choices import RefundStatus
from refunds.models import Refund
from returns.choices import ReturnStatus

RETURN_EVENTS = [f"return.{status}" for status in ReturnStatus.values]
# A refund is created pending, which `return.refund_pending` already announces.
REFUND_EVENTS = [f"refund.{status}" for status in RefundStatus.values if status != RefundStatus.PENDING]
# An exchange's replacement order was placed: the OMS picks it up and ships it.
EXCHANGE_EVENTS = ["exchange.order_created"]
EVENT_TYPES = RETURN_EVENTS + REFUND_EVENTS + EXCHANGE_EVENTS


def refund_data(refund) -> dict:
    return {
        "id": refund.pk,
        "status": refund.status,
        "method": refund.paid_method,
        "net": str(round_money(refund.net, refund.currency)),
        "currency": refund.currency,
        "failure_code": refund.failure_code or None,
        "will_retry": refund.status == RefundStatus.FAILED and refund.next_attempt_at is not None
        and not refund.needs_attention,
    }


def return_data(return_request, *, refund=None) -> dict:
    """`refund` is the one being changed, when the event is about it (its row is not saved yet).

    The refund is looked up, not read through `return_request.refund`, which would leave a cached
    "no refund" on the caller's instance."""
    if refund is None:
        refund = Refund.objects.filter(return_request_id=return_request.pk).first()
    return {
        "rma_number": return_request.rma_number,
        "status": return_request.status,
        "order_id": return_request.order_id,
        "order_external_id": return_request.order.external_id,
        "refund_method": return_request.refund_method,
        "return_method": return_request.return_method,
        "decision_reason": return_request.decision_reason or None,
        "carrier": return_request.carrier or None,
        "tracking_number": return_request.tracking_number or None,
        "refund": refund_data(refund) if refund else None,
    }


def replacement_order_data(order, return_request) -> dict:
    """The replacement order to ship: its OMS ids, and per line what to send at what price."""
    return {
        "order_id": order.pk,
        "order_external_id": order.external_id,
        "status": order.status,
        "currency": order.currency,
        "rma_number": return_request.rma_number,
        "original_order_external_id": return_request.order.external_id,
        "lines": [
            {"line_id": line.external_id, "sku": line.product.sku, "quantity": line.quantity_ordered,
             "unit_price": str(round_money(line.unit_price, order.currency)),
             "unit_tax": str(round_money(line.unit_tax, order.currency))}
            for line in order.lines.select_related("product")
        ],
    }
