"""Helpers for back-office tests: returns waiting in the review queue, of a given age and risk."""

from datetime import timedelta

from django.utils import timezone

from returns import services
from returns.choices import ReturnStatus, ReviewMode
from returns.models import ReturnRequest
from tests import factories


def every_return_reviewed():
    return factories.policy(None, review_mode=ReviewMode.MANUAL)


def waiting_return(*, customer, product, units: int = 1, price: str = "25.00", tax: str = "2.00",
                   reason: str = "wrong_size", hours_old: float | None = None, fraud_score: int | None = None,
                   held_for: str | None = None, currency: str = "USD") -> ReturnRequest:
    """A return requested through the service and left waiting for a reviewer.

    Its age, score and hold are then set directly: test set-up standing in for time passing and
    for the fraud engine's verdict, which are not what these tests are about."""
    order = factories.make_order(customer=customer, currency=currency, shipping="0",
                                 lines=[(product, units, price, tax)])
    rr = services.return_request_create(by=customer, order_id=order.pk,
                                        lines=[factories.line_request(order.lines.get(), units, reason=reason)])
    assert rr.status == ReturnStatus.REQUESTED, "set the default policy to manual review first"
    changes = {}
    if hours_old is not None:
        changes["requested_at"] = timezone.now() - timedelta(hours=hours_old)
    if fraud_score is not None:
        changes["fraud_score"] = fraud_score
    if held_for:
        changes["review_reasons"] = [*rr.review_reasons, {"code": held_for, "detail": "test hold"}]
    if changes:
        ReturnRequest.objects.filter(pk=rr.pk).update(**changes)
    return ReturnRequest.objects.get(pk=rr.pk)
