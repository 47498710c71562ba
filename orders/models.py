"""A read model of the upstream commerce platform: what was bought, shipped and paid."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from core.models import CurrencyField, MoneyField, TimeStampedModel
from orders.choices import OrderStatus, PaymentMethod


class SalesChannel(TimeStampedModel):
    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.name


class Order(TimeStampedModel):
    channel = models.ForeignKey(SalesChannel, on_delete=models.PROTECT, related_name="orders")
    external_id = models.CharField(max_length=100)
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    currency = CurrencyField()
    shipping_cost = MoneyField(default=0)
    shipping_country = models.CharField(max_length=2, default="US")
    tags = models.JSONField(default=list, blank=True,
                            help_text="Tags from the commerce platform (return rules read them).")
    placed_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    loyalty_points_earned = models.PositiveIntegerField(default=0)
    trace_context = models.JSONField(default=dict, blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="order_external_id_unique_per_channel"),
            models.CheckConstraint(condition=models.Q(shipping_cost__gte=0), name="order_shipping_cost_not_negative"),
        ]
        indexes = [models.Index(fields=["customer", "-placed_at"])]

    def __str__(self) -> str:
        return f"{self.channel.code}:{self.external_id}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    external_id = models.CharField(max_length=100, blank=True, help_text="The OMS's id for this line.")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="order_lines")
    quantity_ordered = models.PositiveIntegerField()
    quantity_shipped = models.PositiveIntegerField(default=0)
    unit_price = MoneyField(help_text="Price actually paid per unit, after discounts, before tax.")
    unit_tax = MoneyField(default=0, help_text="Tax paid per unit.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "external_id"], condition=~models.Q(external_id=""),
                                    name="order_line_external_id_unique_per_order"),
            models.CheckConstraint(
                condition=models.Q(quantity_shipped__lte=models.F("quantity_ordered")),
                name="order_line_shipped_not_above_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0, unit_tax__gte=0), name="order_line_amounts_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity_ordered} × {self.product}"


class Payment(TimeStampedModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    gateway = models.CharField(max_length=50)
    charge_reference = models.CharField(max_length=100)
    method = models.CharField(max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.CARD)
    amount = MoneyField()
    currency = CurrencyField()
    captured_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["gateway", "charge_reference"], name="payment_charge_unique_per_gateway"),
        ]
        # Gateways and their webhooks name a charge by its reference alone.
        indexes = [models.Index(fields=["charge_reference"], name="payment_charge_reference")]

    def __str__(self) -> str:
        return f"{self.gateway}:{self.charge_reference}"


class LoyaltyReversal(models.Model):
    """Points taken back because units they were earned on came back; one row per return."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="loyalty_reversals")
    return_request = models.OneToOneField("returns.ReturnRequest", on_delete=models.PROTECT,
                                          related_name="loyalty_reversal")
    points = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"−{self.points} points on {self.order}"
