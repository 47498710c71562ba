import pgtrigger
from django.db import models
from simple_history.models import HistoricalRecords

from core.models import CurrencyField, MoneyField, TimeStampedModel
from inventory.choices import MovementKind, ReservationStatus


class Product(TimeStampedModel):
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    category = models.SlugField(max_length=50, db_index=True)
    returnable = models.BooleanField(default=True)
    tags = models.JSONField(default=list, blank=True, help_text="Merchandising tags (return rules read them).")
    unit_cost = MoneyField(default=0)
    currency = CurrencyField(default="USD")
    price = MoneyField(null=True, blank=True,
                       help_text="Today's selling price per unit before tax, in the product's currency. Empty: "
                                 "not offered as a replacement for another product.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Location(models.Model):
    """A place stock is kept. Returns are put away at the default warehouse."""

    DEFAULT_CODE = "main"

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class StockLevel(models.Model):
    """Units of a product at a location: a running total of its movements, nothing more.

    It changes only in `inventory.services`, in the transaction that appends the movement, so
    it always equals the sum of its movements; the movements are its history.
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_levels")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0, help_text="Sellable units.")
    quarantined = models.IntegerField(default=0, help_text="Damaged units held for a vendor claim.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product", "location"]
        constraints = [
            models.UniqueConstraint(fields=["product", "location"], name="stock_level_once_per_product_location"),
            models.CheckConstraint(condition=models.Q(on_hand__gte=0), name="stock_level_on_hand_not_negative"),
            models.CheckConstraint(condition=models.Q(quarantined__gte=0),
                                   name="stock_level_quarantined_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku} at {self.location.code}: {self.on_hand} on hand, {self.quarantined} quarantined"


class StockMovement(models.Model):
    """One change of stock, kept for ever exactly as it happened (PostgreSQL refuses edits).

    A return line moves stock once per kind and inspection revision: a repeated event finds its
    movement already there, and a supervisor's correction is a new revision with new movements.
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_movements")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_movements")
    return_line = models.ForeignKey("returns.ReturnLine", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="stock_movements")
    revision = models.PositiveIntegerField(default=1, help_text="The inspection revision this movement applies.")
    kind = models.CharField(max_length=20, choices=MovementKind.choices)
    quantity = models.PositiveIntegerField(help_text="Units this movement is about.")
    on_hand_delta = models.IntegerField(default=0)
    quarantined_delta = models.IntegerField(default=0)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["return_line", "kind", "revision"],
                                    name="stock_movement_once_per_line_kind_revision"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="stock_movement_quantity_positive"),
            # The signs follow from the kind, so a movement cannot say one thing and do another.
            models.CheckConstraint(
                condition=(
                    models.Q(kind=MovementKind.RESTOCK, on_hand_delta=models.F("quantity"), quarantined_delta=0)
                    | models.Q(kind=MovementKind.QUARANTINE, on_hand_delta=0,
                               quarantined_delta=models.F("quantity"))
                    | models.Q(kind=MovementKind.DISPOSE, on_hand_delta=0, quarantined_delta=0)
                    | (models.Q(kind=MovementKind.REVERSAL, on_hand_delta__lte=0, quarantined_delta__lte=0)
                       & models.Q(quantity=-models.F("on_hand_delta") - models.F("quarantined_delta")))
                    | models.Q(kind=MovementKind.REPLACEMENT, on_hand_delta=-models.F("quantity"),
                               quarantined_delta=0)
                    | (models.Q(kind=MovementKind.ADJUSTMENT, quarantined_delta=0)
                       & (models.Q(on_hand_delta=models.F("quantity"))
                          | models.Q(on_hand_delta=-models.F("quantity"))))
                ),
                name="stock_movement_deltas_match_kind",
            ),
        ]
        indexes = [models.Index(fields=["product", "location"])]
        triggers = [pgtrigger.Protect(name="stock_movement_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity} × {self.product_id} (line {self.return_line_id})"


class StockReservation(TimeStampedModel):
    """Units held for an exchange's replacement from the moment the return is authorised: what
    can still be reserved is what is on hand less what is reserved. Released when the return
    ends without the exchange; consumed when the replacement order is placed, which moves the
    units out of stock."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="reservations")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="reservations")
    return_line = models.ForeignKey("returns.ReturnLine", on_delete=models.PROTECT, related_name="reservations")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=ReservationStatus.choices, default=ReservationStatus.RESERVED,
                              db_index=True)
    released_at = models.DateTimeField(null=True, blank=True)
    consumed_at = models.DateTimeField(null=True, blank=True)
    movement = models.OneToOneField(StockMovement, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="reservation", help_text="The units sent out, once consumed.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["return_line"], condition=models.Q(status=ReservationStatus.RESERVED),
                                    name="stock_reservation_one_live_per_line"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="stock_reservation_quantity_positive"),
        ]
        indexes = [models.Index(fields=["product", "location"], condition=models.Q(status=ReservationStatus.RESERVED),
                                name="stock_reservation_live_idx")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id} for line {self.return_line_id} ({self.status})"
