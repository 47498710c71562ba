"""Carrier and warehouse events: stored once, processed once, in whatever order they arrive."""

import pytest

from core.errors import Conflict, PermissionDenied, ValidationFailed
from inventory.models import StockMovement
from returns import inbound, services
from returns.choices import Condition, InboundEventStatus, ReturnStatus, ReviewMode
from returns.models import InboundEvent, UnmatchedParcel
from returns.tasks import sweep_inbound_events
from returns.tests.warehouse import authorized_return, every_line, line_of, stock
from tests import factories
from tests.factories import line_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Accept an event the way the webhook endpoint does, and let the broker run what it queues."""

    def send(source, external_id, kind, payload):
        with django_capture_on_commit_callbacks(execute=True):
            event, created = inbound.event_accept(source=source, external_id=external_id, kind=kind,
                                                  payload=payload)
        event.refresh_from_db()
        return event, created

    return send


def scan(deliver, rr, event_id="scan-1"):
    return deliver("carrier", event_id, "carrier_scan", {"tracking_number": rr.tracking_number})[0]


def receipt(deliver, rr, event_id="receipt-1", **payload):
    return deliver("warehouse", event_id, "parcel_received", {"rma_number": rr.rma_number, **payload})[0]


def inspection(deliver, rr, condition, event_id="inspection-1"):
    inspections = {str(pk): value for pk, value in every_line(rr, condition).items()}
    return deliver("warehouse", event_id, "inspection", {"rma_number": rr.rma_number, "inspections": inspections})[0]


def test_a_carrier_scan_puts_the_return_in_transit(order, customer, deliver):
    rr = authorized_return(order, customer)

    event = scan(deliver, rr)

    assert (event.status, event.return_request_id, event.attempts) == (InboundEventStatus.PROCESSED, rr.pk, 1)
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.IN_TRANSIT


def test_the_same_event_id_twice_is_stored_once_and_processed_once(order, customer, deliver):
    rr = authorized_return(order, customer)
    shirt_line = line_of(rr, "shirt-blue-m")

    first, created = deliver("warehouse", "receipt-1", "parcel_received",
                             {"rma_number": rr.rma_number, "received_quantities": {str(shirt_line.pk): 1}})
    again, created_again = deliver("warehouse", "receipt-1", "parcel_received",
                                   {"rma_number": rr.rma_number, "received_quantities": {str(shirt_line.pk): 1}})

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert InboundEvent.objects.count() == 1
    assert (again.status, again.attempts) == (InboundEventStatus.PROCESSED, 1)
    assert [row.status for row in rr.history.order_by("history_id")].count(ReturnStatus.RECEIVED) == 1
    shirt_line.refresh_from_db()
    assert shirt_line.received_quantity == 1


def test_the_same_event_id_with_another_body_is_a_conflict(order, customer, deliver):
    rr = authorized_return(order, customer)
    receipt(deliver, rr)

    with pytest.raises(Conflict) as refused:
        inbound.event_accept(source="warehouse", external_id="receipt-1", kind="parcel_received",
                             payload={"rma_number": "RMA-OTHER"})

    assert refused.value.code == "event_id_reused"


@pytest.mark.parametrize(("source", "external_id", "kind", "payload", "code"), [
    ("post_office", "e1", "carrier_scan", {}, "invalid_source"),
    ("carrier", "e1", "inspection", {}, "invalid_kind"),
    ("warehouse", "  ", "inspection", {}, "invalid_event_id"),
    ("warehouse", "e1", "inspection", ["not", "an", "object"], "invalid_payload"),
    ("warehouse", "e1", "inspection", {"when": object()}, "invalid_payload"),
])
def test_an_event_that_makes_no_sense_is_refused_before_it_is_stored(source, external_id, kind, payload, code):
    with pytest.raises(ValidationFailed) as refused:
        inbound.event_accept(source=source, external_id=external_id, kind=kind, payload=payload)

    assert refused.value.code == code
    assert not InboundEvent.objects.exists()


def test_a_receipt_before_the_first_scan_is_normal_and_the_late_scan_changes_nothing(order, customer, deliver):
    rr = authorized_return(order, customer)
    assert receipt(deliver, rr).status == InboundEventStatus.PROCESSED
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.RECEIVED
    history_rows = rr.history.count()

    late_scan = scan(deliver, rr)

    assert late_scan.status == InboundEventStatus.PROCESSED
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.RECEIVED
    assert rr.history.count() == history_rows


def test_a_scan_after_the_rma_expired_changes_nothing(order, customer, deliver):
    rr = authorized_return(order, customer)
    services.return_expire(return_request=rr)

    assert scan(deliver, rr).status == InboundEventStatus.PROCESSED
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.EXPIRED


def test_an_inspection_that_arrives_before_its_receipt_waits_for_it(shop, order, customer, deliver):
    rr = authorized_return(order, customer)

    early = inspection(deliver, rr, Condition.NEW)

    assert (early.status, early.error_code) == (InboundEventStatus.WAITING, "awaiting_receipt")
    assert stock(shop.shirt) == (0, 0)

    receipt(deliver, rr)

    early.refresh_from_db()
    assert early.status == InboundEventStatus.PROCESSED
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED
    assert stock(shop.shirt) == (2, 0) and stock(shop.jacket) == (1, 0)


def test_an_inspection_waiting_for_an_unmatched_parcel_goes_ahead_once_staff_link_it(
        shop, order, customer, warehouse, deliver, django_capture_on_commit_callbacks):
    rr = authorized_return(order, customer)
    assert inspection(deliver, rr, Condition.NEW).status == InboundEventStatus.WAITING
    deliver("warehouse", "receipt-1", "parcel_received", {"tracking_number": "1ZSMUDGED"})
    parcel = UnmatchedParcel.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        services.parcel_link(parcel=parcel, return_request=rr, by=warehouse)

    assert InboundEvent.objects.get(kind="inspection").status == InboundEventStatus.PROCESSED
    assert stock(shop.shirt) == (2, 0)


def test_the_same_inspection_under_another_event_id_restocks_once(shop, order, customer, deliver):
    rr = authorized_return(order, customer)
    receipt(deliver, rr)
    inspection(deliver, rr, Condition.NEW, event_id="inspection-1")

    repeat = inspection(deliver, rr, Condition.NEW, event_id="inspection-1-resent")

    assert repeat.status == InboundEventStatus.PROCESSED
    assert stock(shop.shirt) == (2, 0)
    assert StockMovement.objects.count() == 2


def test_a_contradicting_inspection_fails_visibly_and_changes_nothing(shop, order, customer, deliver):
    rr = authorized_return(order, customer)
    receipt(deliver, rr)
    inspection(deliver, rr, Condition.NEW, event_id="inspection-1")

    contradiction = inspection(deliver, rr, Condition.DAMAGED, event_id="inspection-2")

    assert (contradiction.status, contradiction.error_code) == (
        InboundEventStatus.FAILED, "returnrequest_cannot_inspect")
    assert stock(shop.shirt) == (2, 0)


def test_a_malformed_payload_fails_the_event_instead_of_crashing(order, customer, deliver):
    rr = authorized_return(order, customer)
    receipt(deliver, rr)

    event, _ = deliver("warehouse", "inspection-1", "inspection", {"rma_number": rr.rma_number,
                                                                    "inspections": "all fine"})

    assert (event.status, event.error_code) == (InboundEventStatus.FAILED, "no_lines")
    event, _ = deliver("carrier", "scan-1", "carrier_scan", {"tracking_number": ["1Z"]})
    assert (event.status, event.error_code) == (InboundEventStatus.FAILED, "invalid_payload")


def test_staff_retry_a_failed_event_once_its_cause_is_fixed(order, customer, reviewer, warehouse, deliver,
                                                            django_capture_on_commit_callbacks):
    factories.policy(None, review_mode=ReviewMode.MANUAL)
    rr = services.return_request_create(by=customer, order_id=order.pk,
                                        lines=[line_request(order.lines.get(product__sku="shirt-blue-m"), 1)])
    # the customer shipped on their own label before a reviewer approved the return
    failed = deliver("carrier", "scan-1", "carrier_scan", {"rma_number": rr.rma_number,
                                                           "tracking_number": "1ZOWNLABEL"})[0]
    assert (failed.status, failed.error_code) == (InboundEventStatus.FAILED, "returnrequest_cannot_ship")

    with pytest.raises(PermissionDenied):
        inbound.event_retry(event=failed, by=customer)
    services.return_approve(return_request=rr, by=reviewer, reason="Fine.")
    with django_capture_on_commit_callbacks(execute=True):
        inbound.event_retry(event=failed, by=warehouse)

    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.error_code) == (InboundEventStatus.PROCESSED, 2, "")
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.IN_TRANSIT


def test_the_sweep_processes_an_event_whose_message_was_lost(order, customer):
    rr = authorized_return(order, customer)
    event, _ = inbound.event_accept(source="carrier", external_id="scan-1", kind="carrier_scan",
                                    payload={"tracking_number": rr.tracking_number})  # queued, never delivered

    assert sweep_inbound_events.delay(older_than_seconds=0).get() == 1

    event.refresh_from_db()
    assert event.status == InboundEventStatus.PROCESSED
    assert sweep_inbound_events.delay(older_than_seconds=0).get() == 0
