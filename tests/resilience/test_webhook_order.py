"""Carrier and warehouse webhooks arrive late, twice, and in any order: receipt before scan,
inspection before receipt, the same inspection twice under two ids, a contradicting one. Each
is stored once and processed once; the return ends refunded, paid once, stock moved once."""

from itertools import permutations

import pytest

from inventory.models import StockMovement
from refunds.models import Refund, SandboxRefund
from returns import inbound, services
from returns.choices import InboundEventStatus, ReturnStatus
from returns.models import InboundEvent, ReturnRequest
from returns.tests.warehouse import authorized_return
from tests.resilience.faults import run_sweepers
from tests.resilience.invariants import assert_nothing_lost

pytestmark = pytest.mark.django_db

# Scan, receipt, an inspection and the same inspection resent under a new id, in every order.
ORDERS = sorted(set(permutations("SRII")))


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Accept an event as the webhook endpoint does; the broker runs what it queues."""

    def send(external_id: str, kind: str, payload: dict) -> InboundEvent:
        source = "carrier" if kind == "carrier_scan" else "warehouse"
        with django_capture_on_commit_callbacks(execute=True):
            event, _ = inbound.event_accept(source=source, external_id=external_id, kind=kind, payload=payload)
        event.refresh_from_db()
        return event

    return send


def events_for(rr: ReturnRequest, condition: str = "new") -> dict:
    inspections = {str(line.pk): {"condition": condition} for line in rr.lines.all()}
    return {
        "S": ("carrier_scan", {"tracking_number": rr.tracking_number}),
        "R": ("parcel_received", {"rma_number": rr.rma_number}),
        "I": ("inspection", {"rma_number": rr.rma_number, "inspections": inspections}),
    }


def assert_refunded_once(rr: ReturnRequest) -> None:
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED
    statuses = list(rr.history.order_by("history_id").values_list("status", flat=True))
    for state in (ReturnStatus.RECEIVED, ReturnStatus.INSPECTED, ReturnStatus.REFUNDED):
        assert statuses.count(state) == 1, statuses  # each step happened once, and is on record
    assert Refund.objects.filter(return_request=rr).count() == 1
    assert SandboxRefund.objects.count() == 1
    assert StockMovement.objects.filter(return_line__return_request=rr).count() == rr.lines.count()
    assert_nothing_lost()


@pytest.mark.parametrize("arrival", ORDERS, ids="".join)
def test_events_in_any_order_and_repeated_refund_once(order, customer, deliver, arrival):
    rr = authorized_return(order, customer)
    events = events_for(rr)

    for index, letter in enumerate(arrival):
        deliver(f"{letter}-{index}", *events[letter])

    assert {e.status for e in InboundEvent.objects.all()} == {InboundEventStatus.PROCESSED}
    assert_refunded_once(rr)


def test_every_event_again_after_the_refund_changes_nothing(order, customer, deliver):
    rr = authorized_return(order, customer)
    events = events_for(rr)
    first = {letter: deliver(f"{letter}-1", *events[letter]) for letter in "SRI"}
    assert_refunded_once(rr)

    for letter in "SRI":
        assert deliver(f"{letter}-1", *events[letter]).pk == first[letter].pk  # the same id: stored once
        assert deliver(f"late-{letter}", *events[letter]).status == InboundEventStatus.PROCESSED
    assert InboundEvent.objects.count() == 6
    assert_refunded_once(rr)


def test_an_inspection_before_its_receipt_waits_and_the_sweeper_runs_it_if_the_trigger_is_lost(
        order, customer, deliver):
    rr = authorized_return(order, customer)
    events = events_for(rr)

    waiting = deliver("I-1", *events["I"])
    assert waiting.status == InboundEventStatus.WAITING and waiting.error_code == "awaiting_receipt"

    services.parcel_receive(by=None, rma_number=rr.rma_number)  # received, but its re-drive message is lost
    assert InboundEvent.objects.get(pk=waiting.pk).status == InboundEventStatus.WAITING

    run_sweepers()
    assert InboundEvent.objects.get(pk=waiting.pk).status == InboundEventStatus.PROCESSED
    assert_refunded_once(rr)


def test_a_contradicting_inspection_and_a_second_receipt_change_nothing_paid(order, customer, deliver):
    rr = authorized_return(order, customer)
    first_line = rr.lines.first()
    events = events_for(rr)

    deliver("R-1", *events["R"])
    deliver("I-1", *events["I"])
    short_receipt = {"rma_number": rr.rma_number, "received_quantities": {str(first_line.pk): 0}}
    assert deliver("R-2", "parcel_received", short_receipt).status == InboundEventStatus.PROCESSED
    contradiction = deliver("I-2", *events_for(rr, condition="damaged")["I"])

    assert contradiction.status == InboundEventStatus.FAILED  # staff see it; a supervisor may correct
    assert contradiction.error_code == "returnrequest_cannot_inspect"
    first_line.refresh_from_db()
    assert (first_line.received_quantity, first_line.condition) == (first_line.quantity, "new")
    assert_refunded_once(rr)
