"""Every stock change. A movement and the level it changes are written in one transaction,
under a lock on the level, so a level always equals the sum of its movements."""

from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce

from core import tracing
from inventory.choices import MovementKind, ReservationStatus
from inventory.models import Location, StockLevel, StockMovement, StockReservation
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


# --- reservations for exchanges, and stock counts ---

def _live_reserved(*, product_id: int, location: Location) -> int:
    return (StockReservation.objects.filter(product_id=product_id, location=location,
                                            status=ReservationStatus.RESERVED)
            .aggregate(total=Coalesce(Sum("quantity"), 0))["total"])


@transaction.atomic
def stock_reserve(*, return_line, product, quantity: int, by=None) -> StockReservation:
    """Hold `quantity` units of `product` for the line's replacement, under a lock on the stock
    level, so two exchanges never hold the same unit: only what is on hand and not yet reserved
    can be. A line holds one live reservation; asking again returns it."""
    from core.errors import ValidationFailed
    from core.transitions import save_with_history

    location = default_location()
    level = _lock_level(product_id=product.pk, location=location)
    live = StockReservation.objects.filter(return_line=return_line, status=ReservationStatus.RESERVED).first()
    if live is not None and live.product_id == product.pk and live.quantity == quantity:
        return live
    if live is not None:
        _release(live, by=by, reason="replaced by a new reservation")
    available = level.on_hand - _live_reserved(product_id=product.pk, location=location)
    if available < quantity:
        raise ValidationFailed(
            f"{product.name} is out of stock ({max(available, 0)} available), so it cannot be sent as a "
            "replacement; choose a refund instead.", code="replacement_out_of_stock")
    reservation = StockReservation(product=product, location=location, return_line=return_line, quantity=quantity)
    save_with_history(reservation, by=by, reason=f"reserved for the exchange of return line {return_line.pk}")
    return reservation


@transaction.atomic
def stock_release(*, return_line, by=None, reason: str) -> StockReservation | None:
    """Give back the units held for the line, if any are still held."""
    live = (StockReservation.objects.select_for_update()
            .filter(return_line=return_line, status=ReservationStatus.RESERVED).first())
    if live is not None:
        _release(live, by=by, reason=reason)
    return live


def _release(reservation: StockReservation, *, by, reason: str) -> None:
    from django.utils import timezone

    from core.transitions import save_with_history

    reservation.status = ReservationStatus.RELEASED
    reservation.released_at = timezone.now()
    save_with_history(reservation, by=by, reason=f"released: {reason}"[:100])


@transaction.atomic
def stock_consume(*, return_line, quantity: int, by=None, note: str = "") -> StockReservation:
    """The replacement is ordered: its units leave stock (an append-only movement), and the
    reservation is consumed; units reserved beyond `quantity` are freed with it."""
    from django.utils import timezone

    from core.errors import ValidationFailed
    from core.transitions import save_with_history

    live = StockReservation.objects.filter(return_line=return_line, status=ReservationStatus.RESERVED).first()
    if live is None:
        raise ValidationFailed("No stock is reserved for this replacement.", code="replacement_not_reserved")
    level = _lock_level(product_id=live.product_id, location=live.location)
    live = StockReservation.objects.select_for_update().get(pk=live.pk)
    if live.status != ReservationStatus.RESERVED or not 0 < quantity <= live.quantity or level.on_hand < quantity:
        raise ValidationFailed("The reserved stock for this replacement is no longer there.",
                               code="replacement_out_of_stock")
    movement = StockMovement.objects.create(
        product_id=live.product_id, location=live.location, kind=MovementKind.REPLACEMENT, quantity=quantity,
        on_hand_delta=-quantity, note=(note or f"Replacement for return line {return_line.pk}")[:200])
    level.on_hand -= quantity
    level.save(update_fields=["on_hand", "updated_at"])
    freed = live.quantity - quantity
    live.quantity = quantity
    live.status = ReservationStatus.CONSUMED
    live.consumed_at = timezone.now()
    live.movement = movement
    save_with_history(live, by=by, reason="consumed: replacement ordered" + (f"; {freed} freed" if freed else ""))
    return live


@transaction.atomic
def stock_adjust(*, product, on_hand_delta: int, by, note: str) -> StockMovement:
    """A stock count or a delivery from a supplier: sellable units change by `on_hand_delta`."""
    from core.errors import PermissionDenied, ValidationFailed

    if by is None or not by.has_perm("inventory.change_stocklevel"):
        raise PermissionDenied("You may not adjust stock.")
    if isinstance(on_hand_delta, bool) or not isinstance(on_hand_delta, int) or on_hand_delta == 0:
        raise ValidationFailed("Give a whole number of units, not zero.", code="invalid_quantity")
    location = default_location()
    level = _lock_level(product_id=product.pk, location=location)
    if level.on_hand + on_hand_delta < 0:
        raise ValidationFailed(f"Only {level.on_hand} units are on hand.", code="stock_below_zero")
    movement = StockMovement.objects.create(product=product, location=location, kind=MovementKind.ADJUSTMENT,
                                            quantity=abs(on_hand_delta), on_hand_delta=on_hand_delta,
                                            note=(note or "Stock count")[:200])
    level.on_hand += on_hand_delta
    level.save(update_fields=["on_hand", "updated_at"])
    return movement
