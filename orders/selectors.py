from django.db.models import QuerySet

from orders.models import Order


def orders_visible_to(user) -> QuerySet[Order]:
    """A customer sees their orders, a partner its channel's, staff with the view permission all."""
    from core.actors import PartnerActor

    orders = Order.objects.select_related("channel", "customer")
    if isinstance(user, PartnerActor):
        return orders.filter(channel_id=user.channel_id)
    if user.is_staff:
        return orders if user.has_perm("orders.view_order") else orders.none()
    return orders.filter(customer=user)


def order_with_lines(order_id: int) -> Order:
    return Order.objects.select_related("channel", "customer").prefetch_related("lines__product").get(pk=order_id)


def orders_for_customer(customer) -> QuerySet[Order]:
    """The customer's own orders, newest first: what the portal lists and lets them return from."""
    return Order.objects.filter(customer=customer).select_related("channel").order_by("-placed_at", "-pk")
