"""Each signal fires at its threshold and not just below it, driven through the return services."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings

from fraud.choices import SignalKind, Stage
from fraud.services import risk_profiles_refresh
from fraud.tests.conftest import bring_back, fired, one_line_order, request, tune
from inventory.models import Product
from returns.choices import LabelStatus, ReturnStatus
from returns.tasks import expire_unshipped_returns
from tests import factories

pytestmark = pytest.mark.django_db
K = SignalKind


# --- at request ---

@pytest.mark.parametrize(("earlier_returns", "fires"), [(4, True), (3, False)])
def test_high_return_rate_fires_at_its_rate(shop, customer, earlier_returns, fires):
    tune(K.HIGH_RETURN_RATE, min_rate="0.5", min_orders=10)
    orders = [one_line_order(customer, shop.shirt, "25.00") for _ in range(10)]
    for order in orders[:earlier_returns]:
        request(order, customer)
    risk_profiles_refresh()

    rr = request(orders[-1], customer)  # with this one: 5 or 4 returns over 10 orders

    signal = fired(rr, K.HIGH_RETURN_RATE, Stage.REQUEST)
    assert bool(signal) is fires
    if fires:
        assert signal.evidence == {"returns_90d": 5, "orders_90d": 10, "rate": "0.50", "min_rate": "0.5",
                                   "min_orders": 10}


@pytest.mark.parametrize(("orders", "fires"), [(4, True), (3, False)])
def test_high_return_rate_needs_its_minimum_of_orders(shop, customer, orders, fires):
    tune(K.HIGH_RETURN_RATE, min_rate="0.25", min_orders=4)
    placed = [one_line_order(customer, shop.shirt, "25.00") for _ in range(orders)]
    risk_profiles_refresh()

    rr = request(placed[0], customer)  # one return: a rate of 1/4 or 1/3, both at least 0.25

    assert bool(fired(rr, K.HIGH_RETURN_RATE)) is fires


def test_orders_older_than_90_days_do_not_count(shop, customer):
    tune(K.HIGH_RETURN_RATE, min_rate="0.5", min_orders=2)
    one_line_order(customer, shop.shirt, "25.00", delivered_days_ago=120)
    recent = one_line_order(customer, shop.shirt, "25.00")
    risk_profiles_refresh()

    rr = request(recent, customer)  # 1 return over 1 recent order: below the 2 orders needed

    assert fired(rr, K.HIGH_RETURN_RATE) is None


@pytest.mark.parametrize(("earlier_open", "fires"), [(3, True), (2, False)])
def test_many_open_returns_fires_at_its_count(shop, customer, earlier_open, fires):
    tune(K.MANY_OPEN_RETURNS, min_open_returns=3)
    order = one_line_order(customer, shop.shirt, "25.00", quantity=5)
    line = order.lines.get()
    for _ in range(earlier_open):
        request(order, customer, (line, 1))

    rr = request(order, customer, (line, 1))

    signal = fired(rr, K.MANY_OPEN_RETURNS)
    assert bool(signal) is fires
    if fires:
        assert signal.evidence == {"open_returns": 3, "min_open_returns": 3}


def test_returns_that_ended_are_not_open(shop, customer, reviewer):
    tune(K.MANY_OPEN_RETURNS, min_open_returns=2)
    order = one_line_order(customer, shop.shirt, "25.00", quantity=4)
    line = order.lines.get()
    first = request(order, customer, (line, 1))
    request(order, customer, (line, 1))
    from returns import services

    services.return_cancel(return_request=first, by=customer)

    rr = request(order, customer, (line, 1))  # one other open return left

    assert fired(rr, K.MANY_OPEN_RETURNS) is None


@pytest.mark.parametrize(("category", "fires"), [("electronics", True), ("apparel", False)])
def test_risky_category_fires_for_a_listed_category(shop, customer, category, fires):
    tune(K.RISKY_CATEGORY, categories=["electronics", "jewellery"])
    product = factories.product(f"thing-{category}", category=category)
    order = one_line_order(customer, product, "50.00")

    rr = request(order, customer)

    signal = fired(rr, K.RISKY_CATEGORY)
    assert bool(signal) is fires
    if fires:
        assert signal.evidence == {"categories": ["electronics"]}


@pytest.mark.parametrize(("price", "fires"), [("1000.00", True), ("999.99", False)])
def test_high_value_fires_at_its_amount(shop, customer, price, fires):
    tune(K.HIGH_VALUE, min_amount="1000")
    tv = factories.product("tv-55", category="home")
    # Two lines, one returned: no shipping is refunded, so the amount owed is the price.
    order = factories.make_order(customer=customer, lines=[(tv, 1, price, "0.00"), (shop.shirt, 1, "25.00", "0")])

    rr = request(order, customer, order.lines.get(product=tv))

    signal = fired(rr, K.HIGH_VALUE)
    assert bool(signal) is fires
    if fires:
        assert signal.evidence == {"amount": "1000.00", "min_amount": "1000"}


# --- at inspection ---

def _wardrobing_case(shop, customer, warehouse, *, delivered_days_ago=28, price="120.00", condition="like_new",
                     returned_before=True):
    """A jacket asked back `delivered_days_ago` days into its 30-day window and inspected."""
    tune(K.WARDROBING, min_unit_price="100", days_before_window_end=3)
    if returned_before:
        earlier = one_line_order(customer, shop.jacket, price, delivered_days_ago=5)
        factories.inspect_all(bring_back(earlier, customer, warehouse), by=warehouse, condition="new")
    order = factories.make_order(customer=customer, delivered_days_ago=delivered_days_ago,
                                 lines=[(shop.jacket, 1, price, "0.00"), (shop.shirt, 1, "25.00", "0.00")])
    rr = bring_back(order, customer, warehouse, order.lines.get(product=shop.jacket))
    factories.inspect_all(rr, by=warehouse, condition=condition)
    rr.refresh_from_db()
    return rr


@pytest.mark.parametrize(("delivered_days_ago", "fires"), [(28, True), (27, False)])
def test_wardrobing_fires_within_its_days_of_the_window_closing(shop, customer, warehouse, delivered_days_ago,
                                                                fires):
    # A 30-day window takes requests until the end of day 30 (returns.policies.return_by): delivered
    # 28 days ago, it closes within 3 days of the request; 27 days ago, in just under 4.
    rr = _wardrobing_case(shop, customer, warehouse, delivered_days_ago=delivered_days_ago)

    signal = fired(rr, K.WARDROBING, Stage.INSPECTION)
    assert bool(signal) is fires
    if fires:
        [line] = signal.evidence["lines"]
        assert line["sku"] == shop.jacket.sku and line["days_left_at_request"] == 3.0


@pytest.mark.parametrize(("price", "fires"), [("100.00", True), ("99.99", False)])
def test_wardrobing_needs_a_high_value_item(shop, customer, warehouse, price, fires):
    rr = _wardrobing_case(shop, customer, warehouse, price=price)

    assert bool(fired(rr, K.WARDROBING)) is fires


@pytest.mark.parametrize(("condition", "fires"), [("like_new", True), ("new", False), ("damaged", False)])
def test_wardrobing_needs_a_like_new_item(shop, customer, warehouse, condition, fires):
    rr = _wardrobing_case(shop, customer, warehouse, condition=condition)

    assert bool(fired(rr, K.WARDROBING)) is fires


@pytest.mark.parametrize(("returned_before", "fires"), [(True, True), (False, False)])
def test_wardrobing_needs_the_same_sku_returned_before(shop, customer, warehouse, returned_before, fires):
    rr = _wardrobing_case(shop, customer, warehouse, returned_before=returned_before)

    assert bool(fired(rr, K.WARDROBING)) is fires


@pytest.mark.parametrize(("reason", "condition", "fires"), [
    ("arrived_damaged", "new", True),
    ("arrived_damaged", "like_new", False),
    ("wrong_size", "new", False),
])
def test_damage_claimed_but_found_new(shop, customer, warehouse, reason, condition, fires):
    order = one_line_order(customer, shop.shirt, "25.00")
    rr = bring_back(order, customer, warehouse, (order.lines.get(), 1, reason))

    factories.inspect_all(rr, by=warehouse, condition=condition)

    signal = fired(rr, K.DAMAGE_CLAIMED_FOUND_NEW, Stage.INSPECTION)
    assert bool(signal) is fires
    if fires:
        assert signal.evidence["lines"][0]["reason"] == "arrived_damaged"


def test_the_inspection_score_adds_what_the_warehouse_saw_to_the_request_score(shop, customer, warehouse):
    tune(K.RISKY_CATEGORY, weight=15, categories=["apparel"])
    tune(K.DAMAGE_CLAIMED_FOUND_NEW, weight=40)
    order = one_line_order(customer, shop.shirt, "25.00")
    rr = bring_back(order, customer, warehouse, (order.lines.get(), 1, "arrived_damaged"))

    factories.inspect_all(rr, by=warehouse, condition="new")

    rr.refresh_from_db()
    assert (rr.fraud_score, rr.inspection_fraud_score) == (15, 55)


# --- label not scanned: the expiry task ---

@pytest.fixture
def authorised_with_label(shop, customer, django_capture_on_commit_callbacks):
    order = one_line_order(customer, shop.shirt, "25.00")
    with django_capture_on_commit_callbacks(execute=True):  # the label is issued after the commit
        rr = request(order, customer)
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.AUTHORIZED and rr.label_status == LabelStatus.ISSUED
    return rr


@pytest.mark.parametrize(("after", "fires"), [(timedelta(minutes=1), True), (timedelta(minutes=-1), False)])
def test_label_not_scanned_within_its_days_expires_the_return_and_fires(authorised_with_label, after, fires):
    rr = authorised_with_label
    deadline = rr.authorized_at + timedelta(days=settings.RETURNS["LABEL_SCAN_DAYS"])

    with time_machine.travel(deadline + after, tick=False):
        expired = expire_unshipped_returns()

    rr.refresh_from_db()
    assert expired == int(fires)
    assert (rr.status == ReturnStatus.EXPIRED) is fires
    signal = fired(rr, K.LABEL_NOT_SCANNED, Stage.SHIPPING)
    assert bool(signal) is fires
    if fires:
        assert signal.evidence["scan_days"] == settings.RETURNS["LABEL_SCAN_DAYS"]
        assert rr.customer.risk_profile.open_returns == 0


def test_an_expired_return_whose_label_never_came_is_not_held_against_the_customer(shop, customer):
    order = one_line_order(customer, shop.shirt, "25.00")
    rr = request(order, customer)  # authorised; the label task never ran
    assert rr.label_status == LabelStatus.PENDING

    with time_machine.travel(rr.authorized_at + timedelta(days=settings.RETURNS["LABEL_SCAN_DAYS"], minutes=1)):
        expire_unshipped_returns()

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.EXPIRED
    assert fired(rr, K.LABEL_NOT_SCANNED) is None


def test_an_inactive_rule_records_nothing(shop, customer):
    tune(K.RISKY_CATEGORY, active=False)
    laptop = Product.objects.get(sku="laptop-14")
    order = one_line_order(customer, laptop, "300.00")

    rr = request(order, customer)

    assert fired(rr, K.RISKY_CATEGORY) is None
