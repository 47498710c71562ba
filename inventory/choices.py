from django.db import models


class MovementKind(models.TextChoices):
    RESTOCK = "restock", "Restocked (sellable)"
    QUARANTINE = "quarantine", "Quarantined (vendor claim)"
    DISPOSE = "dispose", "Disposed"
    REVERSAL = "reversal", "Reversal of an earlier disposition (inspection corrected)"
