"""Who may return what, how much, and whether a person has to look at it first."""

import re
from decimal import Decimal

import pytest

from core.errors import DomainError, NotFound, ValidationFailed
from fraud.models import CustomerRiskProfile, FraudSignal
from orders.choices import OrderStatus
from returns import selectors, services
from returns.choices import LabelStatus, ReturnStatus, ReviewMode
from returns.models import ReturnLine, ReturnReason, ReturnRequest
from returns.rma import new_rma_number
from returns.tests.journeys import drive
from tests import factories
from tests.factories import line_request

pytestmark = pytest.mark.django_db


def written() -> dict[str, int]:
    return {
        "returns": ReturnRequest.objects.count(),
        "lines": ReturnLine.objects.count(),
        "return history": ReturnRequest.history.count(),
        "line history": ReturnLine.history.count(),
        "fraud signals": FraudSignal.objects.count(),
    }


def assert_refused(code: str, *, error=ValidationFailed, by, order_id, lines, **kwargs) -> DomainError:
    """The request is refused with `code` and leaves no trace."""
    before = written()
    with pytest.raises(error) as refused:
        services.return_request_create(by=by, order_id=order_id, lines=lines, **kwargs)
    assert refused.value.code == code
    assert written() == before
    return refused.value


def lines_of(order):
    shirt_line, jacket_line = order.lines.all()
    return shirt_line, jacket_line


# --- whose order, and has it shipped ---

def test_another_customers_order_is_not_found(order, other_customer):
    shirt_line, _ = lines_of(order)
    assert_refused("order_not_found", error=NotFound, by=other_customer, order_id=order.pk,
                   lines=[line_request(shirt_line)])


@pytest.mark.parametrize("order_id", [987654321, "abc", None, "1; DROP TABLE orders_order"])
def test_an_order_that_does_not_exist_is_not_found(shop, customer, order_id):
    assert_refused("order_not_found", error=NotFound, by=customer, order_id=order_id, lines=[])


def test_staff_without_the_manage_permission_cannot_request_for_a_customer(order, warehouse):
    shirt_line, _ = lines_of(order)
    assert_refused("order_not_found", error=NotFound, by=warehouse, order_id=order.pk,
                   lines=[line_request(shirt_line)])


@pytest.mark.parametrize("status", [OrderStatus.PLACED, OrderStatus.CANCELLED])
def test_an_order_that_has_not_shipped_cannot_be_returned(shop, customer, status):
    unshipped = factories.make_order(customer=customer, status=status, delivered_days_ago=None, shipped=[0],
                                     lines=[(shop.shirt, 1, "25.00", "2.00")])
    assert_refused("order_not_fulfilled", by=customer, order_id=unshipped.pk,
                   lines=[line_request(unshipped.lines.get())])


def test_a_partially_fulfilled_order_returns_only_what_shipped(shop, customer):
    partial = factories.make_order(customer=customer, status=OrderStatus.PARTIALLY_FULFILLED, shipped=[1],
                                   lines=[(shop.shirt, 2, "25.00", "2.00")])
    line = partial.lines.get()
    assert_refused("quantity_exceeds_returnable", by=customer, order_id=partial.pk, lines=[line_request(line, 2)])

    rr = services.return_request_create(by=customer, order_id=partial.pk, lines=[line_request(line, 1)])

    assert rr.lines.get().quantity == 1


def test_a_fulfilled_order_not_yet_delivered_cannot_be_returned(shop, customer):
    undelivered = factories.make_order(customer=customer, delivered_days_ago=None, placed_days_ago=2,
                                       lines=[(shop.shirt, 1, "25.00", "2.00")])
    assert_refused("order_not_delivered", by=customer, order_id=undelivered.pk,
                   lines=[line_request(undelivered.lines.get())])


# --- the return window, per category ---

@pytest.fixture
def laptop_and_shirt(shop, customer):
    def make(delivered_days_ago):
        return factories.make_order(customer=customer, delivered_days_ago=delivered_days_ago, lines=[
            (shop.laptop, 1, "300.00", "30.00"), (shop.shirt, 1, "25.00", "2.00"),
        ])
    return make


def test_electronics_window_of_14_days_closes_while_apparel_stays_open(laptop_and_shirt, customer):
    order = laptop_and_shirt(15)
    laptop_line, shirt_line = order.lines.all()

    refused = assert_refused("return_window_closed", by=customer, order_id=order.pk,
                             lines=[line_request(laptop_line), line_request(shirt_line)])
    assert [v.field for v in refused.violations] == ["lines[0]"]
    assert "14-day" in refused.message

    rr = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(shirt_line)])
    assert rr.lines.get().order_line == shirt_line


@pytest.mark.parametrize("days", [0, 13, 14])
def test_electronics_can_be_returned_within_14_days_of_delivery(laptop_and_shirt, customer, days):
    order = laptop_and_shirt(days)
    laptop_line, _ = order.lines.all()

    rr = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(laptop_line)])

    assert rr.lines.get().order_line == laptop_line


def test_default_window_of_30_days_closes_on_day_31(shop, customer):
    old = factories.make_order(customer=customer, delivered_days_ago=31, lines=[(shop.shirt, 1, "25.00", "2.00")])
    assert_refused("return_window_closed", by=customer, order_id=old.pk, lines=[line_request(old.lines.get())])


def test_a_policy_change_does_not_alter_an_open_returns_snapshot(order, customer):
    shirt_line, _ = lines_of(order)
    rr = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(shirt_line)])

    factories.policy(None, window_days=7, restocking_fee_percent=Decimal("50"))

    rr.refresh_from_db()
    assert rr.policy_for("apparel")["window_days"] == 30
    assert rr.policy_for("apparel")["restocking_fee_percent"] == "10.00"


# --- what and how much ---

def test_a_non_returnable_product_is_refused(shop, customer):
    gift = factories.make_order(customer=customer, lines=[(shop.gift_card, 1, "50.00", "0.00")])
    assert_refused("product_not_returnable", by=customer, order_id=gift.pk, lines=[line_request(gift.lines.get())])


def test_units_in_open_returns_count_against_what_is_left(order, customer):
    shirt_line, _ = lines_of(order)
    services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(shirt_line, 1)])

    refused = assert_refused("quantity_exceeds_returnable", by=customer, order_id=order.pk,
                             lines=[line_request(shirt_line, 2)])
    assert "Only 1" in refused.message

    services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(shirt_line, 1)])
    assert_refused("quantity_exceeds_returnable", by=customer, order_id=order.pk, lines=[line_request(shirt_line, 1)])


def test_more_than_was_shipped_is_refused(order, customer):
    shirt_line, _ = lines_of(order)
    assert_refused("quantity_exceeds_returnable", by=customer, order_id=order.pk, lines=[line_request(shirt_line, 3)])


@pytest.mark.parametrize("quantity", [0, -1, 1.5, "1", None, True], ids=repr)
def test_quantity_must_be_a_whole_number_of_at_least_one(order, customer, quantity):
    shirt_line, _ = lines_of(order)
    assert_refused("invalid_quantity", by=customer, order_id=order.pk, lines=[line_request(shirt_line, quantity)])


@pytest.mark.parametrize("reason", ["not-a-reason", "", None, 7], ids=repr)
def test_an_unknown_reason_is_refused(order, customer, reason):
    shirt_line, _ = lines_of(order)
    assert_refused("unknown_reason", by=customer, order_id=order.pk,
                   lines=[line_request(shirt_line, reason=reason)])


def test_a_retired_reason_is_refused(order, customer):
    retired = ReturnReason.objects.get(code="changed_mind")
    retired.active = False
    retired.save()
    shirt_line, _ = lines_of(order)
    assert_refused("unknown_reason", by=customer, order_id=order.pk,
                   lines=[line_request(shirt_line, reason="changed_mind")])


@pytest.mark.parametrize("lines", [[], None])
def test_a_request_without_lines_is_refused(order, customer, lines):
    assert_refused("no_lines", by=customer, order_id=order.pk, lines=lines)


def test_the_same_order_line_twice_is_refused(order, customer):
    shirt_line, _ = lines_of(order)
    same_line_as_text = {**line_request(shirt_line, 1), "order_line_id": str(shirt_line.pk)}
    assert_refused("duplicate_line", by=customer, order_id=order.pk,
                   lines=[line_request(shirt_line, 1), same_line_as_text])


def test_a_line_of_another_order_is_refused(order, shop, customer):
    other_order = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
    assert_refused("line_not_in_order", by=customer, order_id=order.pk, lines=[line_request(other_order.lines.get())])


def test_a_line_that_does_not_exist_is_refused(order, customer):
    assert_refused("line_not_in_order", by=customer, order_id=order.pk,
                   lines=[{"order_line_id": 987654321, "quantity": 1, "reason": "wrong_size"}])


@pytest.mark.parametrize("method", ["cheque", "bitcoin", ""])
def test_a_refund_method_the_customer_may_not_choose_is_refused(order, customer, method):
    shirt_line, _ = lines_of(order)
    assert_refused("invalid_refund_method", by=customer, order_id=order.pk, lines=[line_request(shirt_line)],
                   refund_method=method)


def test_every_bad_line_is_reported_at_once(order, customer):
    shirt_line, jacket_line = lines_of(order)

    refused = assert_refused("invalid_quantity", by=customer, order_id=order.pk, lines=[
        line_request(shirt_line, 0), line_request(jacket_line, 1, reason="nope"),
    ])

    assert [(v.code, v.field) for v in refused.violations] == [
        ("invalid_quantity", "lines[0]"), ("unknown_reason", "lines[1]"),
    ]


# --- units come free again ---

@pytest.mark.parametrize("state", ["rejected", "cancelled", "expired"])
def test_a_void_return_frees_its_units(order, people, manual_review, django_capture_on_commit_callbacks, state):
    shirt_line, _ = lines_of(order)
    first = services.return_request_create(by=people.customer, order_id=order.pk, lines=[line_request(shirt_line, 2)])
    assert_refused("quantity_exceeds_returnable", by=people.customer, order_id=order.pk,
                   lines=[line_request(shirt_line, 1)])

    drive(first, state, people=people, capture_on_commit=django_capture_on_commit_callbacks)
    again = services.return_request_create(by=people.customer, order_id=order.pk, lines=[line_request(shirt_line, 2)])

    assert again.lines.get().quantity == 2


def test_a_short_shipment_frees_the_units_that_never_came_back(order, customer, warehouse):
    shirt_line, _ = lines_of(order)
    rr = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(shirt_line, 2)])
    services.return_mark_in_transit(return_request=rr)
    services.return_receive(return_request=rr, by=warehouse, received_quantities={rr.lines.get().pk: 1})

    assert_refused("quantity_exceeds_returnable", by=customer, order_id=order.pk, lines=[line_request(shirt_line, 2)])
    again = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(shirt_line, 1)])

    assert again.lines.get().quantity == 1


def test_refunded_units_cannot_be_returned_twice(order, people, manual_review, django_capture_on_commit_callbacks):
    shirt_line, _ = lines_of(order)
    rr = services.return_request_create(by=people.customer, order_id=order.pk, lines=[line_request(shirt_line, 2)])
    drive(rr, "refunded", people=people, capture_on_commit=django_capture_on_commit_callbacks)

    assert_refused("quantity_exceeds_returnable", by=people.customer, order_id=order.pk,
                   lines=[line_request(shirt_line, 1)])


# --- on the customer's behalf ---

def test_an_agent_can_request_a_return_for_the_customer(order, customer, reviewer):
    shirt_line, _ = lines_of(order)

    rr = services.return_request_create(by=reviewer, order_id=order.pk, lines=[line_request(shirt_line, 1)])

    assert rr.customer == customer
    assert rr in selectors.returns_for_customer(customer)


# --- review or authorise at once ---

def review_codes(rr) -> list[str]:
    return [reason["code"] for reason in rr.review_reasons]


def assert_waits_for_review(rr, *codes):
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REQUESTED
    assert review_codes(rr) == list(codes)
    assert rr.authorized_at is None
    assert rr.label_status == LabelStatus.NONE
    assert rr in selectors.review_queue()


def test_a_small_return_from_a_trusted_customer_is_authorised_at_once(order, customer,
                                                                      django_capture_on_commit_callbacks):
    shirt_line, _ = lines_of(order)

    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(shirt_line, 1)])

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.AUTHORIZED
    assert rr.review_reasons == []
    assert rr.authorized_at is not None
    assert rr.label_status == LabelStatus.ISSUED
    assert rr not in selectors.review_queue()


def test_manual_review_policy_keeps_every_return_for_a_reviewer(order, customer, shop):
    factories.policy(None, review_mode=ReviewMode.MANUAL)
    shirt_line, _ = lines_of(order)

    rr = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(shirt_line, 1)])

    assert_waits_for_review(rr, "policy_manual_review")


@pytest.mark.parametrize(("limit", "expected"), [("26.99", ReturnStatus.REQUESTED), ("27.00", ReturnStatus.AUTHORIZED)])
def test_a_return_worth_more_than_the_auto_approve_limit_waits(order, customer, shop, limit, expected):
    factories.policy(None, auto_approve_limit=Decimal(limit))
    shirt_line, _ = lines_of(order)  # one shirt: 25.00 + 2.00 tax

    rr = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(shirt_line, 1)])

    rr.refresh_from_db()
    assert rr.status == expected
    if expected == ReturnStatus.REQUESTED:
        assert_waits_for_review(rr, "above_auto_approve_limit")


def test_a_flagged_customer_always_waits(order, customer):
    CustomerRiskProfile.objects.create(customer=customer, flagged=True, flagged_reason="chargebacks")
    shirt_line, _ = lines_of(order)

    rr = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(shirt_line, 1)])

    assert_waits_for_review(rr, "customer_flagged")


def test_a_fraud_score_at_the_threshold_waits(shop, customer, settings):
    settings.RETURNS = {**settings.RETURNS, "REVIEW_SCORE_THRESHOLD": 25}
    order = factories.make_order(customer=customer, lines=[(shop.shirt, 4, "25.00", "2.00")])
    line = order.lines.get()
    for _ in range(3):
        services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(line, 1)])

    fourth = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(line, 1)])

    assert_waits_for_review(fourth, "high_fraud_score")
    assert fourth.fraud_score == 25
    assert fourth.fraud_signals.get().kind == "many_open_returns"


def test_several_review_reasons_are_all_explained(order, customer, shop):
    factories.policy(None, review_mode=ReviewMode.MANUAL, auto_approve_limit=Decimal("10"))
    CustomerRiskProfile.objects.create(customer=customer, flagged=True)
    shirt_line, _ = lines_of(order)

    rr = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(shirt_line, 1)])

    assert_waits_for_review(rr, "policy_manual_review", "above_auto_approve_limit", "customer_flagged")


# --- RMA numbers ---

RMA_PATTERN = re.compile(r"^RMA-[0-9A-Z]{4}-[0-9A-Z]{4}$")
MISREAD = set("ILOU")


def test_rma_numbers_are_readable_and_unique_across_many_returns(shop, customer):
    order = factories.make_order(customer=customer, lines=[(shop.shirt, 30, "25.00", "2.00")])
    line = order.lines.get()

    numbers = [
        services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(line, 1)]).rma_number
        for _ in range(30)
    ]
    numbers += [new_rma_number() for _ in range(3000)]

    assert all(RMA_PATTERN.match(number) for number in numbers)
    assert not MISREAD & set("".join(numbers))
    assert len(set(numbers)) == len(numbers)
    assert set(ReturnRequest.objects.values_list("rma_number", flat=True)) == set(numbers[:30])


def test_an_rma_collision_is_retried_with_a_fresh_number(order, customer, monkeypatch):
    shirt_line, jacket_line = lines_of(order)
    first = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(shirt_line)])
    # Randomness is outside the process: make it repeat itself once.
    numbers = iter([first.rma_number, "RMA-7K2M-9QXD"])
    monkeypatch.setattr(services, "new_rma_number", lambda: next(numbers))

    second = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(jacket_line)])

    assert second.rma_number == "RMA-7K2M-9QXD"
    assert ReturnRequest.objects.count() == 2
