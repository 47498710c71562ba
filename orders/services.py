from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from orders.models import LoyaltyReversal, Order


@transaction.atomic
def loyalty_reverse_for_return(*, order: Order, return_request, returned_value: Decimal,
                               previously_returned_value: Decimal) -> LoyaltyReversal | None:
    """Take back points in proportion to the value returned.

    Works on cumulative value so rounding never takes back more than was earned: after this
    return, floor(earned × all returned value / order value) points are reversed in total.
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    # Points were earned on everything ordered, so each returned unit takes back its share of that.
    order_value = sum(((line.unit_price + line.unit_tax) * line.quantity_ordered for line in order.lines.all()),
                      Decimal(0))
    if not order.loyalty_points_earned or order_value <= 0:
        return None
    already = order.loyalty_reversals.aggregate(total=Sum("points"))["total"] or 0
    cumulative = min(previously_returned_value + returned_value, order_value)
    target = int(order.loyalty_points_earned * cumulative / order_value)
    points = max(0, target - already)
    if points == 0:
        return None
    reversal, _ = LoyaltyReversal.objects.get_or_create(
        return_request=return_request, defaults={"order": order, "points": points})
    return reversal
