"""Reads of stock: levels, what a return line has put into stock, and what is still owed."""

from django.db.models import Exists, F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from inventory.models import Location, StockLevel, StockMovement


def stock_level(*, product, location_code: str = Location.DEFAULT_CODE) -> StockLevel | None:
    return StockLevel.objects.filter(product=product, location__code=location_code).first()


def line_stock_effect(return_line) -> tuple[int, int]:
    """(on hand, quarantined) units this return line's movements have put into stock so far."""
    totals = StockMovement.objects.filter(return_line=return_line).aggregate(
        on_hand=Coalesce(Sum("on_hand_delta"), 0), quarantined=Coalesce(Sum("quarantined_delta"), 0))
    return totals["on_hand"], totals["quarantined"]


def _movement_total(field: str) -> Coalesce:
    totals = (StockMovement.objects.filter(product_id=OuterRef("product_id"), location_id=OuterRef("location_id"))
              .order_by().values("product_id").annotate(total=Sum(field)).values("total"))
    return Coalesce(Subquery(totals), 0)


def stock_discrepancies() -> QuerySet[StockLevel]:
    """Levels that differ from the sum of their movements. Always empty, unless someone wrote
    to a level behind the services' back."""
    return (StockLevel.objects.annotate(moved_on_hand=_movement_total("on_hand_delta"),
                                        moved_quarantined=_movement_total("quarantined_delta"))
            .exclude(on_hand=F("moved_on_hand"), quarantined=F("moved_quarantined")))


def lines_awaiting_stock(*, inspected_before=None) -> QuerySet:
    """Return lines whose latest inspection revision has not moved stock yet (its task is queued,
    failing, or was lost), annotated with `latest_revision`."""
    from returns.models import ReturnLine, ReturnLineInspection

    latest = ReturnLineInspection.objects.filter(return_line=OuterRef("pk")).order_by("-revision")
    lines = (ReturnLine.objects
             .annotate(latest_revision=Subquery(latest.values("revision")[:1]),
                       latest_inspected_at=Subquery(latest.values("inspected_at")[:1]))
             .filter(latest_revision__isnull=False)
             .exclude(Exists(StockMovement.objects.filter(return_line=OuterRef("pk"),
                                                          revision=OuterRef("latest_revision")))))
    if inspected_before is not None:
        lines = lines.filter(latest_inspected_at__lt=inspected_before)
    return lines.order_by("pk")


def available_to_reserve(products) -> dict[int, int]:
    """Units of each product (by id) that an exchange can still reserve: on hand less reserved."""
    from inventory.choices import ReservationStatus
    from inventory.models import StockReservation

    ids = [product.pk for product in products]
    on_hand = dict(StockLevel.objects.filter(product_id__in=ids, location__code=Location.DEFAULT_CODE)
                   .values_list("product_id", "on_hand"))
    reserved = dict(StockReservation.objects.filter(product_id__in=ids, location__code=Location.DEFAULT_CODE,
                                                    status=ReservationStatus.RESERVED)
                    .values("product_id").annotate(total=Sum("quantity")).values_list("product_id", "total"))
    return {pk: max(0, on_hand.get(pk, 0) - reserved.get(pk, 0)) for pk in ids}


def reservations_for(return_request) -> QuerySet:
    from inventory.models import StockReservation

    return StockReservation.objects.filter(return_line__return_request=return_request).select_related("product")
