"""The return's state machine as people and systems meet it: through the services.

The allowed moves come from the state table in DESIGN.md; every other move from a resting
state must be refused with a stable code and leave the return exactly as it was.
"""

import pytest
from django.contrib.auth.models import AnonymousUser

from core.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from returns import services
from returns.choices import Condition, LabelStatus, ReturnStatus
from returns.tests.journeys import (
    RESTING_STATES,
    TRANSITION,
    USUAL_ACTOR,
    act,
    actor,
    audit_rows,
    status_changes,
)
from tests import factories

pytestmark = pytest.mark.django_db

# From DESIGN.md, "The return, state by state" (inspected is never a resting state: the
# inspection moves straight on to refund_pending, or to closed when nothing is owed).
ALLOWED_FROM = {
    "approve": {"requested"},
    "reject": {"requested"},
    "cancel": {"requested", "authorized"},
    "ship": {"authorized"},
    "expire": {"authorized"},
    "receive": {"authorized", "in_transit", "expired"},
    "inspect": {"received"},
    "close": {"refunded"},
}
# A carrier scan for a parcel already on its way (or further) is a repeat, not an error.
SCAN_IS_A_REPEAT = {"in_transit", "received", "refund_pending", "refunded", "closed"}

ALLOWED = [
    ("requested", "approve", "authorized"),
    ("requested", "reject", "rejected"),
    ("requested", "cancel", "cancelled"),
    ("authorized", "cancel", "cancelled"),
    ("authorized", "ship", "in_transit"),
    ("authorized", "expire", "expired"),
    ("authorized", "receive", "received"),
    ("in_transit", "receive", "received"),
    ("expired", "receive", "received"),
    ("received", "inspect", "refund_pending"),  # inspect, then the system's issue_refund
    ("refunded", "close", "closed"),
]
FORBIDDEN = [
    (state, action)
    for action in TRANSITION
    for state in RESTING_STATES
    if state not in ALLOWED_FROM[action] and not (action == "ship" and state in SCAN_IS_A_REPEAT)
]


@pytest.mark.parametrize(("state", "action", "target"), ALLOWED, ids=[f"{s}-{a}" for s, a, _ in ALLOWED])
def test_allowed_transition_moves_the_return_and_records_it(return_in, people, state, action, target):
    rr = return_in(state)
    changes_before = len(status_changes(rr))

    act(action, rr, actor(people, action))

    rr.refresh_from_db()
    assert rr.status == target
    new_statuses = [status for status, _, _ in status_changes(rr)[changes_before:]]
    if action == "inspect":
        assert new_statuses == ["inspected", "refund_pending"]
    else:
        assert new_statuses == [target]


@pytest.mark.parametrize(("state", "action"), FORBIDDEN, ids=[f"{a}-when-{s}" for s, a in FORBIDDEN])
def test_forbidden_transition_is_refused_and_changes_nothing(return_in, people, state, action):
    rr = return_in(state)
    rows_before = audit_rows(rr)

    with pytest.raises(InvalidTransition) as refused:
        act(action, rr, actor(people, action))

    assert refused.value.code == f"returnrequest_cannot_{TRANSITION[action]}"
    rr.refresh_from_db()
    assert rr.status == state
    assert audit_rows(rr) == rows_before


@pytest.mark.parametrize("state", sorted(SCAN_IS_A_REPEAT))
def test_a_repeated_carrier_scan_changes_nothing(return_in, state):
    rr = return_in(state)
    rows_before = audit_rows(rr)

    services.return_mark_in_transit(return_request=rr, tracking_number="1ZOTHER")

    rr.refresh_from_db()
    assert rr.status == state
    assert rr.tracking_number != "1ZOTHER"
    assert audit_rows(rr) == rows_before


def test_a_scan_that_arrives_after_the_warehouse_received_the_parcel_changes_nothing(return_in, people):
    # Carrier events arrive late and out of order; the parcel here was received unscanned.
    rr = return_in("authorized")
    act("receive", rr, people.warehouse)
    rr.refresh_from_db()
    rows_before = audit_rows(rr)

    services.return_mark_in_transit(return_request=rr, tracking_number="1ZLATE")

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.RECEIVED
    assert rr.shipped_at is None
    assert audit_rows(rr) == rows_before


def test_first_scan_records_the_tracking_number(return_in):
    rr = return_in("authorized")

    services.return_mark_in_transit(return_request=rr, tracking_number="1ZFIRSTSCAN")

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.IN_TRANSIT
    assert rr.tracking_number == "1ZFIRSTSCAN"
    assert rr.shipped_at is not None


def test_a_late_parcel_on_an_expired_rma_is_received_and_flagged(return_in, people):
    rr = return_in("expired")

    act("receive", rr, people.warehouse)

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.RECEIVED
    assert rr.arrived_late is True
    assert rr.closed_at is None


def test_on_time_parcel_is_not_flagged_late(return_in, people):
    rr = return_in("in_transit")

    act("receive", rr, people.warehouse)

    rr.refresh_from_db()
    assert rr.arrived_late is False


def test_inspection_and_a_paid_refund_take_the_return_to_refunded(return_in, people,
                                                                   django_capture_on_commit_callbacks):
    rr = return_in("received")

    with django_capture_on_commit_callbacks(execute=True):
        act("inspect", rr, people.warehouse)

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED
    assert [status for status, _, _ in status_changes(rr)][-3:] == ["inspected", "refund_pending", "refunded"]
    assert rr.refund.net > 0


def test_inspected_return_with_nothing_owed_closes_by_itself(shop, customer, warehouse,
                                                             django_capture_on_commit_callbacks):
    order = factories.make_order(customer=customer, shipping="0.00", lines=[(shop.shirt, 1, "0.00", "0.00")])
    rr = services.return_request_create(by=customer, order_id=order.pk,
                                        lines=[factories.line_request(order.lines.get(), 1)])
    services.return_mark_in_transit(return_request=rr)
    services.return_receive(return_request=rr, by=warehouse)

    with django_capture_on_commit_callbacks(execute=True):
        services.return_inspect(return_request=rr, by=warehouse,
                                inspections={rr.lines.get().pk: {"condition": Condition.NEW}})

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.CLOSED
    assert not rr.has_refund()
    assert [status for status, _, _ in status_changes(rr)][-2:] == ["inspected", "closed"]


def test_approval_issues_the_label_after_commit(return_in, people, django_capture_on_commit_callbacks):
    rr = return_in("requested")

    with django_capture_on_commit_callbacks(execute=True):
        services.return_approve(return_request=rr, by=people.reviewer, reason="ok")

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.AUTHORIZED
    assert rr.authorized_at is not None
    assert rr.label_status == LabelStatus.ISSUED and rr.tracking_number


# --- who may do what ---

PERMISSION_DENIED = [
    ("requested", "approve", "customer"),
    ("requested", "approve", "warehouse"),
    ("requested", "reject", "customer"),
    ("requested", "reject", "warehouse"),
    ("authorized", "ship", "customer"),
    ("authorized", "expire", "customer"),
    ("in_transit", "receive", "reviewer"),
    ("in_transit", "receive", "customer"),
    ("received", "inspect", "reviewer"),
    ("received", "inspect", "customer"),
    ("refunded", "close", "customer"),
    ("refunded", "close", "warehouse"),
]


@pytest.mark.parametrize(("state", "action", "who"), PERMISSION_DENIED,
                         ids=[f"{w}-cannot-{a}" for _, a, w in PERMISSION_DENIED])
def test_actor_without_the_permission_is_refused_and_nothing_changes(return_in, people, state, action, who):
    assert USUAL_ACTOR[action] != who
    rr = return_in(state)
    rows_before = audit_rows(rr)

    with pytest.raises(PermissionDenied):
        act(action, rr, getattr(people, who))

    rr.refresh_from_db()
    assert rr.status == state
    assert audit_rows(rr) == rows_before


@pytest.mark.parametrize("action", ["approve", "reject", "cancel"])
def test_anonymous_visitor_is_refused(return_in, action):
    rr = return_in("requested")

    with pytest.raises(PermissionDenied) as refused:
        act(action, rr, AnonymousUser())

    assert refused.value.code == "not_authenticated"
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REQUESTED


@pytest.mark.parametrize("state", ["requested", "authorized"])
def test_another_customer_cannot_cancel_someone_elses_return(return_in, people, state):
    rr = return_in(state)
    rows_before = audit_rows(rr)

    with pytest.raises(NotFound) as refused:
        services.return_cancel(return_request=rr, by=people.other_customer, reason="mine now")

    assert refused.value.code == "return_not_found"
    rr.refresh_from_db()
    assert rr.status == state
    assert audit_rows(rr) == rows_before


def test_an_agent_can_cancel_for_the_customer(return_in, people):
    rr = return_in("authorized")

    services.return_cancel(return_request=rr, by=people.reviewer, reason="Customer phoned to cancel.")

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.CANCELLED
    assert rr.decision_reason == "Customer phoned to cancel."


def test_cancelling_a_return_that_does_not_exist_is_not_found(people):
    with pytest.raises(NotFound) as refused:
        services.return_cancel(return_request=987654321, by=people.customer)

    assert refused.value.code == "return_not_found"


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_reject_without_a_reason_is_refused_and_changes_nothing(return_in, people, reason):
    rr = return_in("requested")
    rows_before = audit_rows(rr)

    with pytest.raises(ValidationFailed) as refused:
        services.return_reject(return_request=rr, by=people.reviewer, reason=reason)

    assert refused.value.code == "reason_required"
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REQUESTED
    assert rr.decision_reason == ""
    assert audit_rows(rr) == rows_before


def test_rejection_tells_the_customer_why(return_in, people):
    rr = return_in("requested")

    services.return_reject(return_request=rr, by=people.reviewer, reason="  Outside the 30-day window.  ")

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REJECTED
    assert rr.decision_reason == "Outside the 30-day window."
    assert rr.closed_at is not None
