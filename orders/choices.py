from django.db import models


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    PARTIALLY_FULFILLED = "partially_fulfilled", "Partially fulfilled"
    FULFILLED = "fulfilled", "Fulfilled"
    CANCELLED = "cancelled", "Cancelled"


RETURNABLE_ORDER_STATUSES = (OrderStatus.PARTIALLY_FULFILLED, OrderStatus.FULFILLED)


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    PAYPAL = "paypal", "PayPal"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    GIFT_CARD = "gift_card", "Gift card"
