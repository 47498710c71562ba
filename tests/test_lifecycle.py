"""A return's whole life through the services, from request to refund on the sandbox gateway."""

from decimal import Decimal

import pytest

from refunds.choices import RefundStatus
from refunds.models import SandboxRefund
from returns import services
from returns.choices import Condition, LabelStatus, ReturnStatus
from tests.factories import line_request


@pytest.mark.django_db
def test_happy_path_from_request_to_refunded(order, customer, reviewer, warehouse, django_capture_on_commit_callbacks):
    shirt_line = order.lines.first()
    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(shirt_line, 2)])
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.AUTHORIZED
    assert rr.rma_number.startswith("RMA-")
    assert rr.label_status == LabelStatus.ISSUED and rr.tracking_number

    services.return_mark_in_transit(return_request=rr)
    services.return_receive(return_request=rr, by=warehouse)
    line = rr.lines.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.return_inspect(return_request=rr, by=warehouse,
                                inspections={line.pk: {"condition": Condition.NEW}})
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED
    refund = rr.refund
    assert refund.status == RefundStatus.COMPLETED
    assert refund.net == Decimal("54.00")
    assert SandboxRefund.objects.get().amount == Decimal("54.00")
