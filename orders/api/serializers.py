from rest_framework import serializers

from core.api.fields import MoneyAmount
from core.api.serializers import StrictSerializer
from orders.choices import OrderStatus, PaymentMethod

MONEY = {"max_digits": 14, "decimal_places": 3, "min_value": 0}


class CustomerInput(StrictSerializer):
    email = serializers.EmailField()
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150, default="")
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150, default="")


class OrderLineInput(StrictSerializer):
    line_id = serializers.CharField(max_length=100, help_text="The OMS's id of the line; lines are matched by it.")
    sku = serializers.CharField(max_length=64)
    product_name = serializers.CharField(max_length=200, required=False, default="")
    category = serializers.SlugField(max_length=50, required=False, default="")
    quantity_ordered = serializers.IntegerField(min_value=1, max_value=100_000)
    quantity_shipped = serializers.IntegerField(min_value=0, max_value=100_000)
    unit_price = serializers.DecimalField(**MONEY, help_text="Paid per unit after discounts, before tax.")
    unit_tax = serializers.DecimalField(**MONEY, default=0)


class PaymentInput(StrictSerializer):
    gateway = serializers.CharField(max_length=50)
    charge_reference = serializers.CharField(max_length=100)
    method = serializers.ChoiceField(choices=PaymentMethod.choices, default=PaymentMethod.CARD)
    amount = serializers.DecimalField(**MONEY)
    captured_at = serializers.DateTimeField()


class OrderInput(StrictSerializer):
    customer = CustomerInput()
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", help_text="ISO 4217 code.")
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    placed_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True, required=False, default=None)
    shipping_cost = serializers.DecimalField(**MONEY, default=0)
    shipping_country = serializers.RegexField(r"^[A-Z]{2}$", default="US")
    tags = serializers.ListField(child=serializers.CharField(max_length=50), max_length=50, default=list,
                                 help_text="The platform's tags on the order (return rules can read them).")
    loyalty_points_earned = serializers.IntegerField(min_value=0, max_value=10**9, default=0)
    lines = OrderLineInput(many=True, allow_empty=False, max_length=500)
    payments = PaymentInput(many=True, required=False, default=list, max_length=20)
    id = serializers.IntegerField(read_only=True)
    external_id = serializers.CharField(read_only=True)


class OrderLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    line_id = serializers.CharField(source="external_id")
    sku = serializers.CharField(source="product.sku")
    quantity_ordered = serializers.IntegerField()
    quantity_shipped = serializers.IntegerField()
    unit_price = MoneyAmount(currency_field="order.currency")
    unit_tax = MoneyAmount(currency_field="order.currency")


class OrderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    channel = serializers.CharField(source="channel.code")
    customer_email = serializers.EmailField(source="customer.email")
    status = serializers.CharField()
    currency = serializers.CharField()
    placed_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    shipping_cost = MoneyAmount()
    lines = OrderLineSerializer(many=True)


class ReturnableLineSerializer(serializers.Serializer):
    order_line_id = serializers.IntegerField(source="order_line.id")
    sku = serializers.CharField(source="order_line.product.sku")
    product_name = serializers.CharField(source="order_line.product.name")
    quantity_shipped = serializers.IntegerField()
    returnable_quantity = serializers.IntegerField()
    return_by = serializers.DateTimeField(allow_null=True, help_text="Last moment of the return window.")
    window_days = serializers.IntegerField(help_text="The window in days after delivery: the policy's for the "
                                                     "shipping country, at least 14 for an EU address.")
    not_returnable_reason = serializers.CharField(
        allow_blank=True, help_text="Empty when returnable; else order_not_fulfilled, product_not_returnable, "
                                    "order_not_delivered, return_window_closed or nothing_left_to_return.")


class ReturnableSerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    external_id = serializers.CharField()
    currency = serializers.CharField()
    lines = ReturnableLineSerializer(many=True)
