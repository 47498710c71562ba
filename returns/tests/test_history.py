"""The audit trail support staff read: every change says who did it and why."""

import pytest

from returns import services
from returns.choices import Condition, ReturnStatus
from returns.tests.journeys import APPROVAL_REASON, CLOSE_REASON, REJECTION_REASON, status_changes
from tests.factories import line_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def shirt_line(order):
    return order.lines.get(product__sku="shirt-blue-m")


def test_automatic_authorisation_is_recorded_as_the_systems_decision(order, shirt_line, customer):
    rr = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(shirt_line)])

    (requested, requested_by, _), (authorized, authorized_by, why) = status_changes(rr)
    assert (requested, requested_by) == (ReturnStatus.REQUESTED, customer)
    assert (authorized, authorized_by) == (ReturnStatus.AUTHORIZED, None)
    assert why.startswith("Authorised automatically")


def test_a_request_waiting_for_review_has_no_decision_yet(order, shirt_line, customer, manual_review):
    rr = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(shirt_line)])

    assert status_changes(rr) == [(ReturnStatus.REQUESTED, customer, "requested")]
    assert {row.history_user for row in rr.history.all()} == {customer}


def test_approval_names_the_reviewer_and_their_reason(return_in, reviewer):
    rr = return_in("requested")

    services.return_approve(return_request=rr, by=reviewer, reason="  Receipt checked.  ")

    assert status_changes(rr)[-1] == (ReturnStatus.AUTHORIZED, reviewer, "Receipt checked.")
    rr.refresh_from_db()
    assert rr.decision_reason == "Receipt checked."


def test_approval_without_a_reason_still_says_a_reviewer_approved(return_in, reviewer):
    rr = return_in("requested")

    services.return_approve(return_request=rr, by=reviewer)

    assert status_changes(rr)[-1] == (ReturnStatus.AUTHORIZED, reviewer, "Approved by a reviewer.")


def test_rejection_names_the_reviewer_and_the_reason(return_in, reviewer):
    rr = return_in("requested")

    services.return_reject(return_request=rr, by=reviewer, reason=REJECTION_REASON)

    assert status_changes(rr)[-1] == (ReturnStatus.REJECTED, reviewer, REJECTION_REASON)


@pytest.mark.parametrize(("given", "recorded"), [("Found a better size in store.", "Found a better size in store."),
                                                 ("", "Cancelled by the customer.")])
def test_cancellation_names_the_customer_and_the_reason(return_in, customer, given, recorded):
    rr = return_in("authorized")

    services.return_cancel(return_request=rr, by=customer, reason=given)

    assert status_changes(rr)[-1] == (ReturnStatus.CANCELLED, customer, recorded)
    rr.refresh_from_db()
    assert rr.decision_reason == recorded


def test_every_step_of_a_return_adds_a_row_with_the_new_status_who_and_why(
    return_in, customer, reviewer, warehouse, django_capture_on_commit_callbacks,
):
    rr = return_in("requested")
    services.return_approve(return_request=rr, by=reviewer, reason=APPROVAL_REASON)
    services.return_mark_in_transit(return_request=rr, tracking_number="1ZHIST")
    services.return_receive(return_request=rr, by=warehouse)
    with django_capture_on_commit_callbacks(execute=True):
        services.return_inspect(return_request=rr, by=warehouse,
                                inspections={line.pk: {"condition": Condition.NEW} for line in rr.lines.all()})
    services.return_close(return_request=rr, by=reviewer, reason=CLOSE_REASON)

    assert status_changes(rr) == [
        (ReturnStatus.REQUESTED, customer, "requested"),
        (ReturnStatus.AUTHORIZED, reviewer, APPROVAL_REASON),
        (ReturnStatus.IN_TRANSIT, None, "carrier first scan"),
        (ReturnStatus.RECEIVED, warehouse, "parcel received"),
        (ReturnStatus.INSPECTED, warehouse, "every line inspected"),
        (ReturnStatus.REFUND_PENDING, None, "refund issued"),
        (ReturnStatus.REFUNDED, None, "refund completed"),
        (ReturnStatus.CLOSED, reviewer, CLOSE_REASON),
    ]
    rr.refresh_from_db()
    assert rr.history.latest("history_id").status == rr.status == ReturnStatus.CLOSED


def test_expiry_is_recorded_as_the_systems_doing(return_in):
    rr = return_in("authorized")

    services.return_expire(return_request=rr)

    assert status_changes(rr)[-1] == (ReturnStatus.EXPIRED, None, "No carrier scan within the allowed days.")


def test_line_history_records_what_the_warehouse_found(return_in, warehouse):
    rr = return_in("received")
    line = rr.lines.get()

    services.return_inspect(return_request=rr, by=warehouse,
                            inspections={line.pk: {"condition": Condition.DAMAGED, "notes": "Torn seam"}})

    latest = line.history.latest("history_id")
    assert latest.history_user == warehouse
    assert latest.history_change_reason == "inspected: damaged"
    assert latest.condition == Condition.DAMAGED
    assert latest.inspection_notes == "Torn seam"
    received = line.history.filter(history_change_reason="received").get()
    assert (received.history_user, received.received_quantity) == (warehouse, 1)


def test_an_agent_acting_for_the_customer_is_named_in_the_history(order, shirt_line, reviewer, customer):
    rr = services.return_request_create(by=reviewer, order_id=order.pk, lines=[line_request(shirt_line)])

    first = rr.history.earliest("history_id")
    assert (first.status, first.history_user) == (ReturnStatus.REQUESTED, reviewer)
    assert rr.customer == customer

