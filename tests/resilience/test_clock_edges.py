"""The clock at the edges of the return window and the label's scan deadline. The window is
whole days since delivery, in UTC: a return may be asked for until the last second of day N
and not from the first second of day N+1, and the "return by" moment the customer is shown is
exactly the last moment a request is accepted."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings

from core.errors import ValidationFailed
from refunds.models import SandboxRefund
from returns import services
from returns.choices import ReturnStatus
from returns.selectors import returnable_lines
from returns.tasks import expire_unshipped_returns
from tests import factories
from tests.api.conftest import client_for
from tests.resilience.faults import run_sweepers
from tests.resilience.invariants import assert_nothing_lost

pytestmark = pytest.mark.django_db

ONE_SECOND = timedelta(seconds=1)
DELIVERIES = [
    datetime(2026, 3, 10, 15, 30, tzinfo=UTC),
    datetime(2027, 12, 31, 23, 59, 59, tzinfo=UTC),  # the window runs over a new year
    datetime(2028, 2, 15, 0, 0, tzinfo=UTC),  # and over a leap day
]


def delivered_at(moment: datetime, customer, product):
    with time_machine.travel(moment, tick=False):
        return factories.make_order(customer=customer, delivered_days_ago=0,
                                    lines=[(product, 2, "300.00", "30.00")])


def ask(customer, order, at: datetime):
    with time_machine.travel(at, tick=False):
        return services.return_request_create(by=customer, order_id=order.pk,
                                              lines=[factories.line_request(order.lines.get(), 1)])


@pytest.mark.parametrize("delivered", DELIVERIES, ids=lambda d: d.isoformat())
@pytest.mark.parametrize(("sku", "window"), [("shirt-blue-m", 30), ("laptop-14", 14)])
def test_the_last_second_of_day_n_is_in_the_first_of_day_n_plus_one_is_out(shop, customer, delivered, sku,
                                                                            window):
    product = shop.shirt if sku == "shirt-blue-m" else shop.laptop
    order = delivered_at(delivered, customer, product)
    first_second_of_day_after = delivered + timedelta(days=window + 1)

    accepted = ask(customer, order, first_second_of_day_after - ONE_SECOND)
    assert accepted.status in (ReturnStatus.REQUESTED, ReturnStatus.AUTHORIZED)
    with pytest.raises(ValidationFailed) as refused:
        ask(customer, order, first_second_of_day_after)
    assert refused.value.violations[0].code == "return_window_closed"


@pytest.mark.parametrize("delivered", DELIVERIES, ids=lambda d: d.isoformat())
def test_the_return_by_moment_shown_is_the_last_moment_accepted(shop, customer, delivered):
    order = delivered_at(delivered, customer, shop.shirt)
    with time_machine.travel(delivered + timedelta(days=3), tick=False):
        return_by = returnable_lines(order)[0]["return_by"]
        answer = client_for(customer).get(f"/api/v1/orders/{order.pk}/returnable")
    assert answer.status_code == 200, answer.content
    shown = answer.json()["lines"][0]["return_by"]
    assert datetime.fromisoformat(shown.replace("Z", "+00:00")) == return_by  # in UTC, to the microsecond

    with time_machine.travel(return_by + timedelta(microseconds=1), tick=False):
        assert returnable_lines(order)[0]["not_returnable_reason"] == "return_window_closed"
    with pytest.raises(ValidationFailed):
        ask(customer, order, return_by + timedelta(microseconds=1))
    with time_machine.travel(return_by, tick=False):
        assert returnable_lines(order)[0]["not_returnable_reason"] == ""
    assert ask(customer, order, return_by).lines.get().quantity == 1


def test_a_return_asked_for_in_the_last_second_is_refunded_weeks_later(shop, customer, warehouse,
                                                                        django_capture_on_commit_callbacks):
    delivered = DELIVERIES[0]
    order = delivered_at(delivered, customer, shop.shirt)
    with django_capture_on_commit_callbacks(execute=True):
        rr = ask(customer, order, delivered + timedelta(days=31) - ONE_SECOND)

    with time_machine.travel(delivered + timedelta(days=75), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        services.return_mark_in_transit(return_request=rr)
        services.return_receive(return_request=rr, by=warehouse)
        factories.inspect_all(rr, by=warehouse)  # the window was checked once, when it was asked for
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED and SandboxRefund.objects.count() == 1
    run_sweepers()
    assert_nothing_lost()


def test_the_label_expires_only_after_its_last_second_and_a_late_parcel_is_still_refunded(
        shop, customer, warehouse, django_capture_on_commit_callbacks):
    delivered = DELIVERIES[0]
    order = delivered_at(delivered, customer, shop.shirt)
    authorized_at = delivered + timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        rr = ask(customer, order, authorized_at)
    assert rr.status == ReturnStatus.AUTHORIZED
    deadline = authorized_at + timedelta(days=settings.RETURNS["LABEL_SCAN_DAYS"])

    with time_machine.travel(deadline, tick=False):
        assert expire_unshipped_returns() == 0
    with time_machine.travel(deadline + ONE_SECOND, tick=False):
        assert expire_unshipped_returns() == 1
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.EXPIRED

    with time_machine.travel(deadline + timedelta(days=5), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        services.parcel_receive(by=warehouse, rma_number=rr.rma_number)
        factories.inspect_all(rr, by=warehouse)
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED and rr.arrived_late
    assert SandboxRefund.objects.count() == 1
    assert_nothing_lost()
