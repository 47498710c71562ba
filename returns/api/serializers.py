from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.fields import MoneyAmount
from core.api.permissions import is_customer
from core.api.serializers import StrictSerializer
from returns.choices import RefundMethod, Resolution, ReturnMethod
from returns.models import ReturnLine, ReturnRequest


class ReturnLineInput(StrictSerializer):
    order_line_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(help_text="Units to return, at least 1.")
    reason = serializers.SlugField(help_text="A reason code from the managed list, e.g. `wrong_size`.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)
    resolution = serializers.ChoiceField(
        choices=Resolution.choices, default=Resolution.REFUND,
        help_text="What the customer wants for the line, as the policy allows: money back the return's way, store "
                  "credit (with the bonus), or an exchange.")
    replacement_sku = serializers.CharField(
        required=False, allow_blank=True, max_length=64, default="",
        help_text="Exchanges: the product to send instead (another size or colour); the same product when empty.")


class ReturnRequestInput(StrictSerializer):
    order_id = serializers.IntegerField(min_value=1)
    lines = ReturnLineInput(many=True, allow_empty=True)
    refund_method = serializers.ChoiceField(
        choices=[RefundMethod.ORIGINAL_PAYMENT, RefundMethod.STORE_CREDIT], default=RefundMethod.ORIGINAL_PAYMENT)
    return_method = serializers.ChoiceField(
        choices=ReturnMethod.choices, default=ReturnMethod.LABEL,
        help_text="How the parcel comes back, as the policy offers it: a printed label, a QR code shown at a "
                  "drop-off point (no printer, no box), or the customer's own shipping. Each has its fee, "
                  "deducted from the refund (`method_fee` in the quote).")
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    # Listed so that a body setting them is refused, not silently ignored.
    status = serializers.CharField(read_only=True)
    customer = serializers.CharField(read_only=True)
    rma_number = serializers.CharField(read_only=True)
    fraud_score = serializers.IntegerField(read_only=True)


class ShipmentInput(StrictSerializer):
    carrier = serializers.CharField(max_length=50, help_text="Who carries the parcel, e.g. `DHL`.")
    tracking_number = serializers.CharField(max_length=64)


class ReasonInput(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class RejectInput(StrictSerializer):
    reason = serializers.CharField(max_length=2000, help_text="Shown to the customer.")


class QuoteLineSerializer(serializers.Serializer):
    key = serializers.IntegerField(help_text="Index of the requested line (or return line id).")
    quantity = serializers.IntegerField()
    gross = serializers.CharField()
    restocking_fee = serializers.CharField()
    net = serializers.CharField()
    resolution = serializers.ChoiceField(choices=Resolution.choices,
                                         help_text="The resolution these figures are for (a refund when the "
                                                   "replacement asked for is out of stock).")
    replacement = serializers.CharField(help_text="Exchanges: what the replacement is worth.")


class QuoteNoticeSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="`replacement_out_of_stock` (a refund is offered instead) or "
                                           "`returnless` (the customer keeps the item).")
    line = serializers.IntegerField(help_text="Index of the requested line.")
    detail = serializers.CharField()
    offered_resolution = serializers.CharField(required=False)


class QuoteSerializer(serializers.Serializer):
    currency = serializers.CharField()
    gross = serializers.CharField()
    restocking_fee = serializers.CharField()
    shipping_refund = serializers.CharField()
    net = serializers.CharField(help_text="Paid to the customer: `payment_amount` the return's way and "
                                          "`store_credit_amount` as store credit.")
    store_credit_bonus = serializers.CharField()
    payment_amount = serializers.CharField()
    store_credit_amount = serializers.CharField()
    replacement_total = serializers.CharField(help_text="What the replacements sent for exchanges are worth.")
    charge = serializers.CharField(help_text="Collected from the customer when replacements cost more.")
    return_method = serializers.ChoiceField(choices=ReturnMethod.choices)
    method_fee = serializers.CharField(help_text="The return method's fee, already deducted from `net`.")
    lines = QuoteLineSerializer(many=True)
    notices = QuoteNoticeSerializer(many=True)


class ReturnLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="order_line.product.sku")
    product_name = serializers.CharField(source="order_line.product.name")
    reason = serializers.SlugRelatedField(slug_field="code", read_only=True)
    replacement_sku = serializers.SlugRelatedField(source="replacement_product", slug_field="sku", read_only=True,
                                                   allow_null=True)

    class Meta:
        model = ReturnLine
        fields = ["id", "order_line_id", "sku", "product_name", "quantity", "reason", "customer_note",
                  "resolution", "replacement_sku", "returnless", "received_quantity", "condition", "disposition"]
        read_only_fields = fields


class RefundSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    method = serializers.CharField(source="paid_method")
    net = MoneyAmount()
    currency = serializers.CharField()


class ReturnSerializer(serializers.ModelSerializer):
    order_id = serializers.IntegerField()
    order_external_id = serializers.CharField(source="order.external_id")
    customer_email = serializers.EmailField(source="customer.email")
    lines = ReturnLineSerializer(many=True)
    refund = serializers.SerializerMethodField()
    label_url = serializers.SerializerMethodField()

    class Meta:
        model = ReturnRequest
        fields = ["rma_number", "status", "order_id", "order_external_id", "customer_email", "refund_method",
                  "return_method", "note", "decision_reason", "label_status", "carrier", "tracking_number", "label_url",
                  "requested_at", "authorized_at", "shipped_at", "received_at", "inspected_at", "closed_at",
                  "lines", "refund", "fraud_score", "review_reasons"]
        read_only_fields = fields

    STAFF_ONLY = ("fraud_score", "review_reasons")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None and is_customer(request.user):  # property-level authorisation
            for name in self.STAFF_ONLY:
                data.pop(name, None)
        return data

    @extend_schema_field(RefundSummarySerializer(allow_null=True))
    def get_refund(self, instance):
        refund = getattr(instance, "refund", None) if instance.has_refund() else None
        return RefundSummarySerializer(refund).data if refund else None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_label_url(self, instance):
        request = self.context.get("request")
        if instance.label_status != "issued" or request is None:
            return None
        return request.build_absolute_uri(f"/api/v1/returns/{instance.rma_number}/label")
