from django.db import models


class MovementKind(models.TextChoices):
    RESTOCK = "restock", "Restocked (sellable)"
    QUARANTINE = "quarantine", "Quarantined (vendor claim)"
    DISPOSE = "dispose", "Disposed"
    REVERSAL = "reversal", "Reversal of an earlier disposition (inspection corrected)"
    REPLACEMENT = "replacement", "Sent as an exchange replacement"
    ADJUSTMENT = "adjustment", "Stock count adjustment"


class ReservationStatus(models.TextChoices):
    RESERVED = "reserved", "Reserved"
    RELEASED = "released", "Released"
    CONSUMED = "consumed", "Consumed (replacement ordered)"
