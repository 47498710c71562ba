"""The same warehouse event twice at the same moment, from two threads with their own
connections and real commits: the row locks and unique constraints decide, and stock moves once."""

import pytest
from django.db import connection

from core.errors import InvalidTransition
from inventory.models import StockMovement
from inventory.selectors import stock_discrepancies
from inventory.tasks import apply_disposition
from returns import inbound, services
from returns.choices import Condition, InboundEventStatus, ReturnStatus
from returns.models import InboundEvent, ReturnLineInspection
from returns.tests.warehouse import authorized_return, every_line, line_of, received_return, run_at_once, stock

pytestmark = pytest.mark.django_db(transaction=True)


def received_statuses(return_request) -> int:
    return [row.status for row in return_request.history.order_by("history_id")].count(ReturnStatus.RECEIVED)


def test_the_same_receipt_event_from_two_threads_is_stored_once_and_received_once(order, customer):
    rr = authorized_return(order, customer)
    shirt_line = line_of(rr, "shirt-blue-m")
    payload = {"rma_number": rr.rma_number, "received_quantities": {str(shirt_line.pk): 1}}

    def accept():
        return inbound.event_accept(source="warehouse", external_id="wh-receipt-77", kind="parcel_received",
                                    payload=payload)[1]

    results = run_at_once(accept, accept)

    assert sorted(created for _, created in results) == [False, True]
    event = InboundEvent.objects.get()
    assert (event.status, event.attempts) == (InboundEventStatus.PROCESSED, 1)
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.RECEIVED
    assert received_statuses(rr) == 1
    shirt_line.refresh_from_db()
    assert shirt_line.received_quantity == 1


def test_the_same_parcel_received_by_two_scanners_at_once_is_received_once(order, customer, warehouse):
    rr = authorized_return(order, customer)

    def receive():
        return services.parcel_receive(by=warehouse, rma_number=rr.rma_number).already_received

    results = run_at_once(receive, receive)

    assert sorted(already for _, already in results) == [False, True]
    assert received_statuses(rr) == 1


def test_the_same_inspection_from_two_threads_restocks_once(shop, order, customer, warehouse):
    rr = received_return(order, customer, warehouse)
    inspections = every_line(rr, Condition.NEW)

    def inspect():
        return services.return_inspect(return_request=rr.pk, by=warehouse, inspections=inspections)

    results = run_at_once(inspect, inspect)

    outcomes = sorted(kind for kind, _ in results)
    assert outcomes == ["error", "ok"]
    (loser,) = [value for kind, value in results if kind == "error"]
    assert isinstance(loser, InvalidTransition)
    assert ReturnLineInspection.objects.count() == 2
    assert stock(shop.shirt) == (2, 0) and stock(shop.jacket) == (1, 0)
    assert StockMovement.objects.count() == 2
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED


def test_the_same_inspection_under_two_event_ids_at_once_restocks_once(shop, order, customer, warehouse):
    rr = received_return(order, customer, warehouse)
    payload = {"rma_number": rr.rma_number,
               "inspections": {str(pk): value for pk, value in every_line(rr, Condition.LIKE_NEW).items()}}

    def accept(event_id):
        return lambda: inbound.event_accept(source="warehouse", external_id=event_id, kind="inspection",
                                            payload=payload)

    run_at_once(accept("wh-inspect-1"), accept("wh-inspect-1-resent"))

    assert list(InboundEvent.objects.values_list("status", flat=True)) == [InboundEventStatus.PROCESSED] * 2
    assert stock(shop.shirt) == (2, 0) and stock(shop.jacket) == (1, 0)
    assert StockMovement.objects.count() == 2


def test_a_stock_task_run_by_two_workers_at_once_moves_stock_once(shop, order, customer, warehouse):
    rr = received_return(order, customer, warehouse)
    shirt_line = line_of(rr, "shirt-blue-m")
    # Keep the shirt's stock from moving during the inspection, so its task is left for the workers.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE inventory_stocklevel ADD CONSTRAINT test_shirt_level_refused "
                       f"CHECK (product_id <> {shop.shirt.pk}) NOT VALID")
    try:
        services.return_inspect(return_request=rr, by=warehouse, inspections=every_line(rr, Condition.NEW))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE inventory_stocklevel DROP CONSTRAINT test_shirt_level_refused")
    assert stock(shop.shirt) == (0, 0)

    def work():
        return apply_disposition.apply(args=(shirt_line.pk, 1)).result  # as a worker runs it

    results = run_at_once(work, work)

    assert sorted(moved for _, moved in results) == [0, 1]
    assert stock(shop.shirt) == (2, 0)
    assert StockMovement.objects.filter(return_line=shirt_line).count() == 1
    assert not stock_discrepancies().exists()
