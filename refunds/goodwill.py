"""Goodwill: money given as a gesture, with no return behind it (an item arrived damaged and the
customer keeps it, a parcel came a week late). Granted by staff with the permission, up to their
role's limit, with a reason on record. Store credit is credited at once; a refund to the card is
a `Refund` of the grant, paid by the same exactly-once gateway machinery as any refund."""

import logging
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.money import round_money
from core.transitions import save_with_history
from orders.models import Order
from refunds import ledger
from refunds.models import GoodwillCredit, Refund
from returns.choices import RefundMethod

logger = logging.getLogger(__name__)

GOODWILL_METHODS = (RefundMethod.STORE_CREDIT, RefundMethod.ORIGINAL_PAYMENT)


def goodwill_limit(user, currency: str) -> Decimal:
    """The most `user` may grant at once: the highest limit among their roles (settings), in the
    order's currency. A superuser has the highest limit of any role."""
    config = settings.REFUNDS
    limits = config["GOODWILL_LIMITS_BY_CURRENCY"].get(currency, config["GOODWILL_LIMITS"])
    if getattr(user, "is_superuser", False):
        return max(limits.values(), default=Decimal(0))
    roles = set(user.groups.values_list("name", flat=True)) if hasattr(user, "groups") else set()
    return max((limit for role, limit in limits.items() if role in roles), default=Decimal(0))


def goodwill_headroom(order: Order) -> Decimal:
    """What is left to give on the order: everything it cost (items, tax and shipping) less what
    its returns have been paid and the goodwill already granted on it. Never more than a full
    refund, however many times staff are asked."""
    paid = sum(((line.unit_price + line.unit_tax) * line.quantity_ordered for line in order.lines.all()),
               order.shipping_cost)
    # Every refund of its returns counts, paid or still owed (one waiting for finance is owed too).
    refunded = Refund.objects.filter(return_request__order=order).aggregate(total=Sum("net"))["total"] or Decimal(0)
    granted = order.goodwill_credits.aggregate(total=Sum("amount"))["total"] or Decimal(0)
    return round_money(max(Decimal(0), paid - refunded - granted), order.currency)


@transaction.atomic
def goodwill_grant(*, order, by, amount, method: str, reason: str) -> GoodwillCredit:
    """Grant goodwill on `order`: store credit now, or a refund to the original payment."""
    from refunds.metrics import RMA_RESOLUTIONS
    from refunds.services import _enqueue

    if by is None or not by.is_authenticated or not by.has_perm("refunds.grant_goodwill"):
        raise PermissionDenied("You may not grant goodwill.")
    order_pk = order.pk if isinstance(order, Order) else order
    order = Order.objects.select_for_update(of=("self",)).filter(pk=order_pk).first() if str(order_pk).isdigit() \
        else None
    if order is None:
        raise NotFound("No such order.", code="order_not_found")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the goodwill is granted; it is kept on record.", code="reason_required")
    if method not in GOODWILL_METHODS:
        raise ValidationFailed("Grant store credit or a refund to the original payment.", code="invalid_method")
    try:
        amount = Decimal(str(amount))
    except ArithmeticError:
        amount = Decimal(0)
    if not amount.is_finite() or amount <= 0 or amount != round_money(amount, order.currency):
        raise ValidationFailed(f"Give a positive amount in {order.currency}.", code="invalid_amount")
    limit = goodwill_limit(by, order.currency)
    if amount > limit:
        raise PermissionDenied(f"{amount} {order.currency} is above your goodwill limit of {limit}; ask a "
                               "supervisor.", code="goodwill_limit_exceeded")
    headroom = goodwill_headroom(order)
    if amount > headroom:
        raise ValidationFailed(f"Only {headroom} {order.currency} of this order is left to give back.",
                               code="goodwill_exceeds_order")
    payment = order.payments.order_by("captured_at").first()
    if method == RefundMethod.ORIGINAL_PAYMENT and payment is None:
        raise ValidationFailed("The order has no payment to refund to; grant store credit.",
                               code="no_payment_to_refund")

    grant = GoodwillCredit(order=order, customer=order.customer, amount=amount, currency=order.currency,
                           method=method, reason=reason[:2000], granted_by=getattr(by, "history_user", by))
    save_with_history(grant, by=by, reason=f"goodwill granted: {reason}"[:100])
    if method == RefundMethod.STORE_CREDIT:
        ledger.post_goodwill(grant)
    else:
        refund = Refund(goodwill=grant, customer=order.customer, method=RefundMethod.ORIGINAL_PAYMENT,
                        currency=order.currency, gross=0, net=amount, breakdown={"goodwill": str(amount)},
                        gateway=payment.gateway, charge_reference=payment.charge_reference)
        save_with_history(refund, by=by, reason="goodwill refund to the original payment")
        ledger.post_goodwill(grant, refund=refund)
        transaction.on_commit(lambda: _enqueue(refund), robust=True)  # a lost message is re-driven by the sweeper
    transaction.on_commit(lambda: RMA_RESOLUTIONS.labels("goodwill").inc())
    logger.info("goodwill granted", extra={"order_id": order.pk, "goodwill_id": grant.pk, "method": method})
    return grant
