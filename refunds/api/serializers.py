from rest_framework import serializers

from core.api.fields import MoneyAmount
from refunds.models import JournalEntry, JournalLine, Refund, RefundAttempt


class RefundAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = RefundAttempt
        fields = ["number", "operation", "started_at", "outcome", "error_code", "latency_ms"]


class RefundSerializer(serializers.ModelSerializer):
    rma_number = serializers.CharField(source="return_request.rma_number", allow_null=True, default=None,
                                       help_text="Empty for a goodwill refund, which has no return.")
    paid_method = serializers.CharField()
    gross = MoneyAmount()
    restocking_fee = MoneyAmount()
    method_fee = MoneyAmount()
    shipping_refund = MoneyAmount()
    net = MoneyAmount()
    store_credit_bonus = MoneyAmount()
    store_credit_amount = MoneyAmount(help_text="The part of net paid as store credit.")
    payment_amount = MoneyAmount(help_text="The part of net paid by `method` (through the gateway).")
    replacement_total = MoneyAmount(help_text="What the replacements sent for exchanges are worth.")
    charge_amount = MoneyAmount(help_text="Collected from the customer: replacements cost more.")
    attempts = RefundAttemptSerializer(source="gateway_attempts", many=True)

    class Meta:
        model = Refund
        fields = ["id", "rma_number", "goodwill_id", "status", "method", "paid_method", "currency", "gross",
                  "restocking_fee", "method_fee", "shipping_refund", "net", "store_credit_bonus", "store_credit_amount",
                  "payment_amount", "replacement_total", "charge_amount", "gateway_reference", "completed_at",
                  "needs_attention", "failure_code", "kept_replacement", "collection_settlement",
                  "settlement_reference", "attempts", "created_at"]


class JournalLineSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.code")
    amount = MoneyAmount()

    class Meta:
        model = JournalLine
        fields = ["account", "amount", "currency"]


class JournalEntrySerializer(serializers.ModelSerializer):
    lines = JournalLineSerializer(many=True)
    rma_number = serializers.CharField(source="return_request.rma_number", allow_null=True, default=None)

    class Meta:
        model = JournalEntry
        fields = ["id", "kind", "reference", "refund_id", "rma_number", "memo", "created_at", "lines"]
