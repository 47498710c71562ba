"""A shop with replacement products in stock, and steps to walk a return with exchanges through."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from fraud.models import CustomerRiskProfile
from inventory.services import stock_adjust
from refunds import ledger
from refunds.reconciliation import reconcile
from returns import services
from tests import factories

D = Decimal


def stock_keeper():
    user, _ = get_user_model().objects.get_or_create(username="stock-keeper", defaults={"is_staff": True,
                                                                                         "is_superuser": True})
    return user


def stock(product, units: int) -> None:
    stock_adjust(product=product, on_hand_delta=units, by=stock_keeper(), note="delivery from the supplier")


def variants():
    """Other shirts the customer may swap a blue M (25.00 + 8 % tax = 27.00) for."""
    same_price = factories.product("shirt-blue-l", cost="8.00")
    dearer = factories.product("shirt-silk-m", cost="15.00")
    cheaper = factories.product("shirt-basic-m", cost="5.00")
    for product, price in ((same_price, "25.00"), (dearer, "40.00"), (cheaper, "15.00")):
        product.price = D(price)
        product.save()
    return same_price, dearer, cheaper


def exchange_line(order_line, quantity=1, sku=None, **extra) -> dict:
    line = factories.line_request(order_line, quantity, resolution="exchange", **extra)
    if sku:
        line["replacement_sku"] = sku
    return line


def trust(customer) -> None:
    """A long-standing customer with a clean record: the fraud profile says so."""
    CustomerRiskProfile.objects.update_or_create(customer=customer, defaults={
        "orders_90d": 12, "lifetime_orders": 40, "lifetime_returns": 1, "refreshed_at": timezone.now()})


def receive_and_inspect(return_request, *, warehouse, capture, condition="new"):
    """The parcel arrives and every line is inspected; queued work (payment) runs."""
    with capture(execute=True):
        services.return_mark_in_transit(return_request=return_request)
        services.return_receive(return_request=return_request, by=warehouse)
        factories.inspect_all(return_request, by=warehouse, condition=condition)
    return_request.refresh_from_db()
    return return_request


def assert_books_clean() -> None:
    report = reconcile()
    assert report.ok, report.problems
    assert all(total == 0 for total in report.trial_balance.values())
    assert ledger.balance(ledger.account(ledger.REFUNDS_PAYABLE), "USD") == 0
