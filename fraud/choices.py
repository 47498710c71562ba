from django.db import models


class Stage(models.TextChoices):
    REQUEST = "request", "At request"
    SHIPPING = "shipping", "Waiting for the parcel"
    INSPECTION = "inspection", "At inspection"


class SignalKind(models.TextChoices):
    HIGH_RETURN_RATE = "high_return_rate", "High return rate over 90 days"
    MANY_OPEN_RETURNS = "many_open_returns", "Many open returns"
    RISKY_CATEGORY = "risky_category", "Risky product category"
    HIGH_VALUE = "high_value", "High value"
    LABEL_NOT_SCANNED = "label_not_scanned", "Label not scanned in time"
    DAMAGE_CLAIMED_FOUND_NEW = "damage_claimed_found_new", "Damage claimed but found new"
    WARDROBING = "wardrobing", "Wardrobing"
    EARLY_REFUND_UNEARNED = "early_refund_unearned", "Refunded early, goods never came or failed inspection"
