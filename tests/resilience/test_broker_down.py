"""The broker is down when work is queued after a commit. The change that was committed stands,
the caller is not told it failed, and once the broker is back the sweepers re-drive what the
lost messages would have done: nothing is lost, nothing is done twice."""

import pytest

from inventory.models import StockMovement
from refunds import services as refund_services
from refunds.choices import RefundStatus
from refunds.gateways.sandbox import SandboxGateway
from refunds.models import Refund, SandboxRefund
from returns import services
from returns.choices import InboundEventStatus, LabelStatus, ReturnStatus
from returns.models import InboundEvent, ReturnRequest
from tests import factories
from tests.api.conftest import partner_client
from tests.resilience.faults import broker_down, run_sweepers
from tests.resilience.invariants import assert_money_safe, assert_nothing_lost

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the block as a committed request: what it queues on commit is sent to the broker."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_inspection_with_the_broker_down_is_kept_and_paid_once_the_sweepers_run(order, customer, warehouse,
                                                                                committed):
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse)

    with broker_down(), committed():
        factories.inspect_all(rr, by=warehouse)  # the warehouse is not told it failed: it did not

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUND_PENDING
    assert rr.refund.status == RefundStatus.PENDING
    assert not SandboxRefund.objects.exists() and not StockMovement.objects.exists()
    assert_money_safe()

    assert run_sweepers() >= 1 + rr.lines.count()
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED and rr.refund.status == RefundStatus.COMPLETED
    assert SandboxRefund.objects.count() == 1
    assert StockMovement.objects.count() == rr.lines.count()
    assert run_sweepers() == 0  # nothing left to re-drive, and nothing is done twice
    assert_nothing_lost()


def test_warehouse_and_carrier_events_accepted_with_the_broker_down_are_processed_later(order, customer, committed):
    with committed():
        rr = services.return_request_create(by=customer, order_id=order.pk,
                                            lines=[factories.line_request(ol, ol.quantity_shipped)
                                                   for ol in order.lines.all()])
    rr.refresh_from_db()
    carrier = partner_client("parcel-co", "web", ["carrier:write"])
    warehouse_api = partner_client("dc-east", "web", ["warehouse:write", "returns:read"])
    inspection = {"event_id": "i-1", "lines": {str(line.pk): {"condition": "new"} for line in rr.lines.all()}}

    with broker_down(), committed():
        answers = [
            carrier.post("/api/v1/carrier/events", {"event_id": "s-1", "tracking_number": rr.tracking_number},
                         format="json"),
            warehouse_api.post("/api/v1/warehouse/receipts", {"event_id": "r-1", "rma_number": rr.rma_number},
                               format="json"),
            warehouse_api.post(f"/api/v1/returns/{rr.rma_number}/inspection", inspection, format="json"),
        ]

    assert [a.status_code for a in answers] == [202, 202, 202], [a.content for a in answers]
    assert set(InboundEvent.objects.values_list("status", flat=True)) == {InboundEventStatus.PENDING}
    assert ReturnRequest.objects.get(pk=rr.pk).status == ReturnStatus.AUTHORIZED

    run_sweepers()
    assert set(InboundEvent.objects.values_list("status", flat=True)) == {InboundEventStatus.PROCESSED}
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED
    assert SandboxRefund.objects.count() == 1
    assert StockMovement.objects.count() == rr.lines.count()
    assert_nothing_lost()


def test_finance_retry_with_the_broker_down_is_picked_up_by_the_sweeper(order, customer, warehouse, finance,
                                                                        committed):
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse)
    SandboxGateway.script("decline")
    with committed():
        factories.inspect_all(rr, by=warehouse)
    refund = Refund.objects.get(return_request=rr)
    assert refund.status == RefundStatus.FAILED and refund.needs_attention

    with broker_down(), committed():
        refund_services.refund_retry(refund=refund, by=finance)

    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED and not refund.needs_attention  # the retry is on record
    run_sweepers()
    refund.refresh_from_db()
    assert refund.status == RefundStatus.COMPLETED and refund.attempts == 2
    assert_nothing_lost()


def test_approval_with_the_broker_down_still_gets_its_label(order, customer, reviewer, committed):
    factories.policy(None, review_mode="manual")
    with committed():
        rr = services.return_request_create(by=customer, order_id=order.pk,
                                            lines=[factories.line_request(order.lines.first(), 1)])
    assert rr.status == ReturnStatus.REQUESTED

    with broker_down(), committed():
        services.return_approve(return_request=rr, by=reviewer, reason="Fine.")

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.AUTHORIZED and rr.label_status == LabelStatus.PENDING
    run_sweepers()
    rr.refresh_from_db()
    assert rr.label_status == LabelStatus.ISSUED and rr.tracking_number


def test_fallback_with_the_broker_down_stands(order, customer, warehouse, finance, committed):
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse)
    SandboxGateway.script("decline")
    with committed():
        factories.inspect_all(rr, by=warehouse)
    refund = Refund.objects.get(return_request=rr)

    with broker_down(), committed():
        refund_services.refund_fall_back(refund=refund, by=finance, method="store_credit")

    refund.refresh_from_db()
    assert refund.status == RefundStatus.FALLBACK
    assert ReturnRequest.objects.get(pk=rr.pk).status == ReturnStatus.REFUNDED
    assert_nothing_lost()
