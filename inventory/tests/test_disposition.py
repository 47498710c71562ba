"""What an inspection does to stock: DESIGN.md's decision table, applied line by line, once."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from inventory.choices import MovementKind
from inventory.models import StockLevel, StockMovement
from inventory.selectors import lines_awaiting_stock, stock_discrepancies
from inventory.services import stock_apply_inspection
from inventory.tasks import apply_disposition, sweep_stock_dispositions
from refunds.choices import EntryKind
from refunds.models import JournalEntry
from returns import services
from returns.choices import Condition, Disposition, ReturnStatus
from returns.tests.warehouse import every_line, line_of, received_return, stock, three_line_order

pytestmark = pytest.mark.django_db

# condition → (disposition, movement kind, (on hand, quarantined) for 2 received shirts, vendor claim)
DECISION_TABLE = [
    (Condition.NEW, Disposition.RESTOCK, MovementKind.RESTOCK, (2, 0), False),
    (Condition.LIKE_NEW, Disposition.RESTOCK, MovementKind.RESTOCK, (2, 0), False),
    (Condition.DAMAGED, Disposition.QUARANTINE, MovementKind.QUARANTINE, (0, 2), True),
    (Condition.UNSELLABLE, Disposition.DISPOSE, MovementKind.DISPOSE, (0, 0), False),
]


@pytest.mark.parametrize(("condition", "disposition", "kind", "expected_stock", "vendor_claim"), DECISION_TABLE,
                         ids=[row[0] for row in DECISION_TABLE])
def test_each_condition_moves_stock_as_the_decision_table_says(
        shop, customer, warehouse, order, django_capture_on_commit_callbacks,
        condition, disposition, kind, expected_stock, vendor_claim):
    rr = received_return(order, customer, warehouse)
    shirt_line = line_of(rr, "shirt-blue-m")

    with django_capture_on_commit_callbacks(execute=True):
        services.return_inspect(return_request=rr, by=warehouse, inspections=every_line(rr, condition))

    shirt_line.refresh_from_db()
    assert shirt_line.disposition == disposition
    assert stock(shop.shirt) == expected_stock
    (movement,) = StockMovement.objects.filter(return_line=shirt_line)
    assert (movement.kind, movement.quantity, movement.revision) == (kind, 2, 1)
    claims = JournalEntry.objects.filter(kind=EntryKind.WRITE_OFF, reference=f"return_line:{shirt_line.pk}:r1")
    if vendor_claim:
        (claim,) = claims
        assert {(line.account.code, line.amount) for line in claim.lines.all()} == {
            ("vendor_claims_receivable", Decimal("16.000")), ("returned_inventory", Decimal("-16.000"))}
    else:
        assert not claims.exists()
    assert not stock_discrepancies().exists()


def test_restock_puts_back_what_arrived_not_what_was_announced(shop, customer, warehouse, order,
                                                               django_capture_on_commit_callbacks):
    rr = received_return(order, customer, warehouse, short={"shirt-blue-m": 1})

    with django_capture_on_commit_callbacks(execute=True):
        services.return_inspect(return_request=rr, by=warehouse, inspections=every_line(rr, Condition.NEW))

    assert stock(shop.shirt) == (1, 0)
    assert stock(shop.jacket) == (1, 0)


def test_nothing_arrived_of_a_line_moves_no_stock(shop, customer, warehouse, order,
                                                  django_capture_on_commit_callbacks):
    rr = received_return(order, customer, warehouse, short={"jacket-rain-l": 0})
    shirt_line = line_of(rr, "shirt-blue-m")

    with django_capture_on_commit_callbacks(execute=True):
        services.return_inspect(return_request=rr, by=warehouse,
                                inspections={shirt_line.pk: {"condition": Condition.NEW}})

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED
    assert stock(shop.jacket) == (0, 0)
    assert not StockMovement.objects.filter(return_line=line_of(rr, "jacket-rain-l")).exists()


def test_the_same_stock_task_delivered_twice_moves_stock_once(shop, customer, warehouse, order,
                                                              django_capture_on_commit_callbacks):
    rr = received_return(order, customer, warehouse)
    with django_capture_on_commit_callbacks(execute=True):
        services.return_inspect(return_request=rr, by=warehouse, inspections=every_line(rr, Condition.NEW))
    shirt_line = line_of(rr, "shirt-blue-m")

    assert apply_disposition.delay(shirt_line.pk, 1).get() == 0
    assert stock_apply_inspection(return_line_id=shirt_line.pk, revision=1) == []

    assert stock(shop.shirt) == (2, 0)
    assert StockMovement.objects.filter(return_line=shirt_line).count() == 1


def test_one_failing_line_holds_up_no_other_and_a_retry_restocks_it(
        shop, customer, warehouse, caplog, django_capture_on_commit_callbacks):
    order = three_line_order(shop, customer)
    rr = received_return(order, customer, warehouse)
    jacket_line = line_of(rr, "jacket-rain-l")
    socks = line_of(rr, "socks-wool").order_line.product
    # The jacket's stock level refuses any write, as a broken row or a failing disk would.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE inventory_stocklevel ADD CONSTRAINT test_jacket_level_refused "
                       f"CHECK (product_id <> {shop.jacket.pk}) NOT VALID")

    with django_capture_on_commit_callbacks(execute=True):
        services.return_inspect(return_request=rr, by=warehouse, inspections=every_line(rr, Condition.NEW))

    assert stock(shop.shirt) == (2, 0)
    assert stock(socks) == (3, 0)
    assert stock(shop.jacket) == (0, 0)
    assert list(lines_awaiting_stock()) == [jacket_line]
    assert "test_jacket_level_refused" in caplog.text
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED  # the customer's refund does not wait for the shelf

    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # settle deferred FK checks so the table can be altered
        cursor.execute("ALTER TABLE inventory_stocklevel DROP CONSTRAINT test_jacket_level_refused")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    assert sweep_stock_dispositions.delay(older_than_seconds=0).get() == 1

    assert stock(shop.jacket) == (1, 0)
    assert not lines_awaiting_stock().exists()
    assert sweep_stock_dispositions.delay(older_than_seconds=0).get() == 0
    assert stock(shop.shirt) == (2, 0) and stock(shop.jacket) == (1, 0)
    assert not stock_discrepancies().exists()


def test_movements_cannot_be_edited_or_deleted_in_the_database(shop, customer, warehouse, order,
                                                               django_capture_on_commit_callbacks):
    rr = received_return(order, customer, warehouse)
    with django_capture_on_commit_callbacks(execute=True):
        services.return_inspect(return_request=rr, by=warehouse, inspections=every_line(rr, Condition.NEW))
    movement = StockMovement.objects.first()

    with pytest.raises(Exception, match="Cannot update or delete"), transaction.atomic():
        StockMovement.objects.filter(pk=movement.pk).update(quantity=99)
    with pytest.raises(Exception, match="Cannot update or delete"), transaction.atomic():
        StockMovement.objects.filter(pk=movement.pk).delete()


def test_the_same_movement_kind_and_revision_cannot_be_written_twice_for_a_line(
        shop, customer, warehouse, order, django_capture_on_commit_callbacks):
    rr = received_return(order, customer, warehouse)
    with django_capture_on_commit_callbacks(execute=True):
        services.return_inspect(return_request=rr, by=warehouse, inspections=every_line(rr, Condition.NEW))
    first = StockMovement.objects.get(return_line=line_of(rr, "shirt-blue-m"))

    with pytest.raises(IntegrityError), transaction.atomic():
        StockMovement.objects.create(product=first.product, location=first.location, return_line=first.return_line,
                                     revision=1, kind=MovementKind.RESTOCK, quantity=2, on_hand_delta=2)


def test_stock_cannot_go_below_zero(shop):
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.create(product=shop.shirt, location_id=_main().pk, on_hand=-1)


def test_a_movement_must_move_what_its_kind_says(shop):
    with pytest.raises(IntegrityError), transaction.atomic():
        StockMovement.objects.create(product=shop.shirt, location=_main(), kind=MovementKind.DISPOSE, quantity=1,
                                     on_hand_delta=1)


def _main():
    from inventory.services import default_location

    return default_location()
