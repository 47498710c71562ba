from django.db import models


class NotificationEvent(models.TextChoices):
    RETURN_REQUESTED = "return_requested", "Return requested"
    RETURN_AUTHORIZED = "return_authorized", "Return authorised, with its label"
    RETURN_RECEIVED = "return_received", "Return received"
    RETURN_REFUNDED = "return_refunded", "Return refunded"
    RETURN_REJECTED = "return_rejected", "Return rejected"
    REFUND_FALLBACK = "refund_fallback", "Refund paid another way"
    GIFT_CARD_ISSUED = "gift_card_issued", "Gift card issued to a gift recipient"
    GIFT_RETURNED = "gift_returned", "The purchaser told a gift was returned"
    REPLACEMENT_CHARGED = "replacement_charged", "Replacement kept without the return: charged"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped"
