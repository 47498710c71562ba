"""Two people acting on the same thing at the same moment: the database decides, exactly once.

Real threads (tests.concurrency.run_at_once: a barrier, one connection each, closed at the end)
and real commits, so the row locks are what is tested.
"""

import pytest

from core.errors import InvalidTransition, ValidationFailed
from returns import services
from returns.choices import ReturnStatus, ReviewMode
from returns.models import ReturnLine, ReturnRequest
from tests import factories
from tests.concurrency import run_at_once
from tests.factories import line_request

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_requests_for_the_last_unit_only_one_gets_it(order, customer):
    jacket_line = order.lines.get(product__sku="jacket-rain-l")  # one shipped

    results = run_at_once(2, lambda _: services.return_request_create(
        by=customer, order_id=order.pk, lines=[line_request(jacket_line, 1)]))

    (created,) = [r for r in results if isinstance(r, ReturnRequest)]
    (error,) = [r for r in results if not isinstance(r, ReturnRequest)]
    assert isinstance(error, ValidationFailed), error
    assert error.code == "quantity_exceeds_returnable"
    assert list(ReturnRequest.objects.values_list("pk", flat=True)) == [created.pk]
    assert sum(ReturnLine.objects.filter(order_line=jacket_line).values_list("quantity", flat=True)) == 1


def test_two_reviewers_approving_at_once_approve_once(order, customer, reviewer, supervisor):
    factories.policy(None, review_mode=ReviewMode.MANUAL)
    shirt_line = order.lines.get(product__sku="shirt-blue-m")
    rr = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(shirt_line, 1)])
    assert rr.status == ReturnStatus.REQUESTED

    reviewers = (reviewer, supervisor)
    results = run_at_once(2, lambda i: services.return_approve(return_request=rr.pk, by=reviewers[i],
                                                               reason=f"approved by {reviewers[i]}"))

    approved = [isinstance(r, ReturnRequest) for r in results]
    assert sorted(approved) == [False, True], results
    (error,) = [r for r in results if not isinstance(r, ReturnRequest)]
    assert isinstance(error, InvalidTransition), error
    assert error.code == "returnrequest_cannot_authorize"
    winner = reviewers[approved.index(True)]

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.AUTHORIZED
    authorize_rows = [row for row in rr.history.order_by("history_id")
                      if row.status == ReturnStatus.AUTHORIZED and row.prev_record.status != ReturnStatus.AUTHORIZED]
    assert len(authorize_rows) == 1
    assert authorize_rows[0].history_user == winner
