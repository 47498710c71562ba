"""Every stock change. A movement and the level it changes are written in one transaction,
under a lock on the level, so a level always equals the sum of its movements."""

from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce

from core import tracing
from inventory.choices import MovementKind
from inventory.models import Location, StockLevel, StockMovement
from returns.choices import Disposition

# What a disposition puts into stock, per unit: (movement kind, on hand, quarantined).
EFFECT_BY_DISPOSITION = {
    Disposition.RESTOCK: (MovementKind.RESTOCK, 1, 0),
    Disposition.QUARANTINE: (MovementKind.QUARANTINE, 0, 1),
    Disposition.DISPOSE: (MovementKind.DISPOSE, 0, 0),
}


def default_location() -> Location:
    location, _ = Location.objects.get_or_create(code=Location.DEFAULT_CODE, defaults={"name": "Main warehouse"})
    return location


def _lock_level(*, product_id: int, location: Location) -> StockLevel:
    StockLevel.objects.bulk_create([StockLevel(product_id=product_id, location=location)], ignore_conflicts=True)
    return StockLevel.objects.select_for_update().get(product_id=product_id, location=location)


@tracing.traced("refund.restock_item", lambda *, return_line_id, revision: {
    "return_line.id": return_line_id, "restock.revision": revision},
    result=lambda movements: {"restock.movements": len(movements)})
@transaction.atomic
def stock_apply_inspection(*, return_line_id: int, revision: int) -> list[StockMovement]:
    """Bring a return line's stock in line with inspection revision `revision`.

    Safe to run any number of times and in any order: a revision already applied, or one a
    later correction has superseded, changes nothing. A correction first reverses whatever the
    line's earlier movements put into stock (only what was really applied), then applies the new
    disposition. The line's row lock serialises this with corrections and with repeats.
    """
    from returns.models import ReturnLine

    line = (ReturnLine.objects.select_for_update(of=("self",)).select_related("order_line")
            .filter(pk=return_line_id).first())
    if line is None:
        return []
    latest = line.inspections.order_by("-revision").first()
    if latest is None or latest.revision != revision or latest.quantity == 0:
        return []
    if line.stock_movements.filter(revision=revision).exists():
        return []

    location = default_location()
    level = _lock_level(product_id=line.order_line.product_id, location=location)
    applied = line.stock_movements.aggregate(on_hand=Coalesce(Sum("on_hand_delta"), 0),
                                             quarantined=Coalesce(Sum("quarantined_delta"), 0))
    movements = []
    if applied["on_hand"] or applied["quarantined"]:
        movements.append(StockMovement(
            kind=MovementKind.REVERSAL, quantity=applied["on_hand"] + applied["quarantined"],
            on_hand_delta=-applied["on_hand"], quarantined_delta=-applied["quarantined"],
            note=f"Inspection revision {revision} replaces the earlier disposition."))
    kind, on_hand, quarantined = EFFECT_BY_DISPOSITION[latest.disposition]
    tracing.annotate({"product.id": line.order_line.product_id, "restock.quantity": latest.quantity,
                      "restock.condition": latest.condition, "restock.disposition": latest.disposition,
                      "restock.restocked": kind == MovementKind.RESTOCK})
    movements.append(StockMovement(kind=kind, quantity=latest.quantity, on_hand_delta=on_hand * latest.quantity,
                                   quarantined_delta=quarantined * latest.quantity,
                                   note=f"Inspected as {latest.get_condition_display().lower()}."))
    for movement in movements:
        movement.product_id = line.order_line.product_id
        movement.location = location
        movement.return_line = line
        movement.revision = revision
        level.on_hand += movement.on_hand_delta
        level.quarantined += movement.quarantined_delta
    StockMovement.objects.bulk_create(movements)
    level.save(update_fields=["on_hand", "quarantined", "updated_at"])
    return movements
