from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.fields import MoneyAmount
from core.api.permissions import is_customer
from core.api.serializers import StrictSerializer
from returns.choices import Condition, Disposition, RefundMethod, RefundTiming, Resolution, ReturnMethod
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
    code = serializers.CharField(help_text="`replacement_out_of_stock` (a refund is offered instead), "
                                           "`returnless` (the customer keeps the item), "
                                           "`refund_after_inspection` (the rules' early refund does not apply; the "
                                           "detail says why), or what the return rules decided: `fee_handling`, "
                                           "`fee_return_shipping`, `fee_*_waived`, `bonus_credit`, "
                                           "`only_resolutions`, `refund_timing`.")
    line = serializers.IntegerField(required=False, help_text="Index of the requested line, when about one line.")
    detail = serializers.CharField()
    offered_resolution = serializers.CharField(required=False)
    amount = serializers.CharField(required=False, help_text="Fees: the amount deducted.")
    percent = serializers.CharField(required=False, help_text="Bonus credit: the percentage.")
    resolutions = serializers.ListField(child=serializers.CharField(), required=False,
                                        help_text="only_resolutions: what the line may be returned for.")
    timing = serializers.CharField(required=False, help_text="refund_timing: when the refund is paid.")


class FeeSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="handling or return_shipping")
    amount = serializers.CharField()


class CustomerDecisionSerializer(serializers.Serializer):
    refund_timing = serializers.CharField(help_text="at_request, first_scan, at_receipt or after_inspection.")
    refund_timing_label = serializers.CharField()
    notes = QuoteNoticeSerializer(many=True, help_text="What the return rules decided that the customer sees.")


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
    return_fees = serializers.CharField(help_text="Fees the return rules deduct (already taken off `net`).")
    fees = FeeSerializer(many=True)
    return_method = serializers.ChoiceField(choices=ReturnMethod.choices)
    method_fee = serializers.CharField(help_text="The return method's fee, already deducted from `net`.")
    lines = QuoteLineSerializer(many=True)
    notices = QuoteNoticeSerializer(many=True)
    refund_timing = serializers.ChoiceField(choices=RefundTiming.choices,
                                            help_text="When the refund would be paid: at request (once authorised), "
                                                      "at the carrier's first scan, at receipt, or after inspection.")
    refund_timing_reason = serializers.CharField(help_text="Why then, in words for the customer.")


class ReturnLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="order_line.product.sku")
    product_name = serializers.CharField(source="order_line.product.name")
    reason = serializers.SlugRelatedField(slug_field="code", read_only=True)
    replacement_sku = serializers.SlugRelatedField(source="replacement_product", slug_field="sku", read_only=True,
                                                   allow_null=True)
    # Blank until the line is inspected: declared so that the schema says so.
    condition = serializers.ChoiceField(choices=Condition.choices, allow_blank=True, read_only=True)
    disposition = serializers.ChoiceField(choices=Disposition.choices, allow_blank=True, read_only=True)

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
    decision = serializers.SerializerMethodField()
    rules_trace = serializers.SerializerMethodField()

    class Meta:
        model = ReturnRequest
        fields = ["rma_number", "status", "order_id", "order_external_id", "customer_email", "refund_method",
                  "refund_timing", "refund_timing_reason", "return_method", "note", "decision_reason", "label_status",
                  "carrier",
                  "tracking_number", "label_url",
                  "requested_at", "authorized_at", "shipped_at", "received_at", "inspected_at", "closed_at",
                  "lines", "refund", "decision", "fraud_score", "review_reasons", "rule_version", "rules_trace"]
        read_only_fields = fields

    STAFF_ONLY = ("fraud_score", "review_reasons", "rule_version", "rules_trace")

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

    @extend_schema_field(CustomerDecisionSerializer(allow_null=True))
    def get_decision(self, instance):
        from rules.engine import customer_view

        return customer_view(instance.rule_decision, instance) or None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_rules_trace(self, instance):
        """Every rule that fired, merchant and built-in, as the reviewer reads it (staff only)."""
        decision = instance.rule_decision or {}
        return [entry["text"] for entry in (decision.get("trace") or []) + (decision.get("builtin") or [])]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_label_url(self, instance):
        request = self.context.get("request")
        if instance.label_status != "issued" or request is None:
            return None
        return request.build_absolute_uri(f"/api/v1/returns/{instance.rma_number}/label")


def staff_only_fields_are_optional(result, generator, request, public):
    """drf-spectacular postprocessing hook: a customer's return comes without the staff-only fields
    (`ReturnSerializer.STAFF_ONLY`), so the schema must not call them required."""
    component = result["components"]["schemas"].get("Return", {})
    if "required" in component:
        component["required"] = [name for name in component["required"] if name not in ReturnSerializer.STAFF_ONLY]
    return result
