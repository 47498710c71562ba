from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("Placed")
    PARTIALLY_FULFILLED = "partially_fulfilled", _("Partially fulfilled")
    FULFILLED = "fulfilled", _("Fulfilled")
    CANCELLED = "cancelled", _("Cancelled")


RETURNABLE_ORDER_STATUSES = (OrderStatus.PARTIALLY_FULFILLED, OrderStatus.FULFILLED)


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    PAYPAL = "paypal", "PayPal"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    GIFT_CARD = "gift_card", "Gift card"
