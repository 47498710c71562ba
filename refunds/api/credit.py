"""Credit at the storefront's checkout: a gift card (by its code) or a customer's store credit (by
their e-mail) looked up, spent from, and a spending given back when its checkout is cancelled. A gift
card's code travels only in a POST body (never in a URL, where logs and proxies keep it) and never
comes back in a response. A customer reads their own store credit."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api import schema
from core.api.fields import MoneyAmount
from core.api.serializers import StrictSerializer, validated
from core.api.views import ApiView
from refunds import credit
from refunds.models import CreditSpending, GiftCard

SCOPE = "credit:spend"
CODE_HELP = "The code the recipient typed (dashes, spaces and case do not matter)."
CARD_NOT_FOUND = schema.problem("No gift card of the caller's channel has this code.", "gift_card_not_found")
CUSTOMER_NOT_FOUND = schema.problem("No customer of the caller's channel has this e-mail.", "customer_not_found")


class GiftCardCodeInput(StrictSerializer):
    code = serializers.CharField(max_length=64, help_text=CODE_HELP)


class GiftCardRedeemInput(GiftCardCodeInput):
    amount = serializers.DecimalField(max_digits=14, decimal_places=3, min_value=0,
                                      help_text="What to spend, in the card's currency and its minor unit.")
    currency = serializers.CharField(max_length=3, min_length=3, help_text="The card's currency (ISO 4217).")
    reference = serializers.CharField(max_length=100, help_text="The checkout's or order's reference.")


class StoreCreditCustomerInput(StrictSerializer):
    email = serializers.EmailField(help_text="The customer's e-mail address, as the OMS sent it with their orders.")


class StoreCreditSpendInput(StoreCreditCustomerInput):
    amount = serializers.DecimalField(max_digits=14, decimal_places=3, min_value=0,
                                      help_text="What to spend, in `currency` and its minor unit.")
    currency = serializers.CharField(max_length=3, min_length=3, help_text="ISO 4217: the credit of this currency.")
    reference = serializers.CharField(max_length=100, help_text="The checkout's or order's reference.")


class ReverseInput(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class GiftCardSerializer(serializers.ModelSerializer):
    initial_amount = MoneyAmount()
    balance = MoneyAmount(help_text="What is left to spend.")

    class Meta:
        model = GiftCard
        fields = ["code_hint", "currency", "initial_amount", "balance", "created_at"]


class BalanceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    amount = MoneyAmount(help_text="What is left to spend in this currency.")


class StoreCreditSerializer(serializers.Serializer):
    balances = BalanceSerializer(many=True, help_text="One per currency the customer has credit in.")


class CreditSpendingSerializer(serializers.ModelSerializer):
    amount = MoneyAmount()
    source = serializers.SerializerMethodField(help_text="`gift_card` or `store_credit`.")
    gift_card = GiftCardSerializer(allow_null=True, help_text="The card as it is now (a gift card's spending).")

    class Meta:
        model = CreditSpending
        fields = ["id", "source", "amount", "currency", "reference", "created_at", "reversed_at", "reversal_reason",
                  "gift_card"]

    def get_source(self, spending) -> str:
        return "gift_card" if spending.gift_card_id else "store_credit"




class GiftCardLookup(ApiView):
    required_scopes = {"POST": SCOPE}
    allowed_callers = ("partner", "staff")

    @extend_schema(operation_id="gift_cards_lookup", summary="A gift card's balance, found by its code",
                   request=GiftCardCodeInput,
                   responses={200: GiftCardSerializer, 404: CARD_NOT_FOUND, **schema.COMMON})
    def post(self, request):
        card = credit.gift_card_find(code=validated(GiftCardCodeInput, request)["code"], by=request.user)
        return Response(GiftCardSerializer(card).data)


class GiftCardRedeem(ApiView):
    required_scopes = {"POST": SCOPE}
    allowed_callers = ("partner", "staff")

    @extend_schema(
        operation_id="gift_cards_redeem", summary="Spend from a gift card at checkout",
        description="Send an `Idempotency-Key`: a retried request then spends once. Two checkouts spending the "
                    "last of a card at once: one is served, the other refused `gift_card_insufficient_balance`.",
        request=GiftCardRedeemInput, parameters=[schema.IDEMPOTENCY_KEY],
        responses=schema.writes({
            201: CreditSpendingSerializer, 404: CARD_NOT_FOUND,
            422: ("The amount, currency or reference does not fit the card.", "gift_card_insufficient_balance",
                  "currency_mismatch", "amount_precision", "invalid_amount", "reference_required")}))
    def post(self, request):
        data = validated(GiftCardRedeemInput, request)
        spending = credit.gift_card_redeem(code=data["code"], amount=data["amount"], currency=data["currency"],
                                           reference=data["reference"], by=request.user)
        return Response(CreditSpendingSerializer(spending).data, status=status.HTTP_201_CREATED)


class StoreCreditLookup(ApiView):
    required_scopes = {"POST": SCOPE}
    allowed_callers = ("partner", "staff")

    @extend_schema(operation_id="store_credit_lookup", summary="A customer's store credit, found by their e-mail",
                   request=StoreCreditCustomerInput,
                   responses={200: StoreCreditSerializer, 404: CUSTOMER_NOT_FOUND, **schema.COMMON})
    def post(self, request):
        customer = credit.store_credit_customer(email=validated(StoreCreditCustomerInput, request)["email"],
                                                by=request.user)
        return Response(StoreCreditSerializer({"balances": credit.store_credit_balances(customer)}).data)


class StoreCreditSpend(ApiView):
    required_scopes = {"POST": SCOPE}
    allowed_callers = ("partner", "staff")

    @extend_schema(
        operation_id="store_credit_spend", summary="Spend from a customer's store credit at checkout",
        description="Send an `Idempotency-Key`: a retried request then spends once. Two checkouts spending the "
                    "last of it at once: one is served, the other refused `store_credit_insufficient`.",
        request=StoreCreditSpendInput, parameters=[schema.IDEMPOTENCY_KEY],
        responses=schema.writes({
            201: CreditSpendingSerializer, 404: CUSTOMER_NOT_FOUND,
            422: ("The amount, currency or reference does not fit.", "store_credit_insufficient", "amount_precision",
                  "invalid_amount", "invalid_currency", "reference_required")}))
    def post(self, request):
        data = validated(StoreCreditSpendInput, request)
        spending = credit.store_credit_spend(email=data["email"], amount=data["amount"], currency=data["currency"],
                                             reference=data["reference"], by=request.user)
        return Response(CreditSpendingSerializer(spending).data, status=status.HTTP_201_CREATED)


class MyStoreCredit(ApiView):
    allowed_callers = ("customer",)

    @extend_schema(operation_id="store_credit_mine", summary="The calling customer's store credit",
                   responses={200: StoreCreditSerializer, **schema.COMMON})
    def get(self, request):
        return Response(StoreCreditSerializer({"balances": credit.store_credit_balances(request.user)}).data)


SPENDING_NOT_FOUND = schema.problem("No such spending visible to the caller.", "credit_spending_not_found")


class CreditSpendingDetail(ApiView):
    required_scopes = {"GET": SCOPE}
    allowed_callers = ("partner", "staff")

    @extend_schema(operation_id="credit_spendings_retrieve", summary="A spending of a gift card or store credit",
                   responses={200: CreditSpendingSerializer, 404: SPENDING_NOT_FOUND, **schema.COMMON})
    def get(self, request, spending_id: int):
        spending = credit.credit_spending_get(spending_id=spending_id, by=request.user)
        return Response(CreditSpendingSerializer(spending).data)


class CreditSpendingReverse(ApiView):
    required_scopes = {"POST": SCOPE}
    allowed_callers = ("partner", "staff")

    @extend_schema(operation_id="credit_spendings_reverse",
                   summary="Give a spending back (the checkout was cancelled)",
                   description="Reversing one already reversed changes nothing and answers the same.",
                   request=ReverseInput, parameters=[schema.IDEMPOTENCY_KEY],
                   responses=schema.writes({200: CreditSpendingSerializer, 404: SPENDING_NOT_FOUND}))
    def post(self, request, spending_id: int):
        data = validated(ReverseInput, request)
        spending = credit.credit_spending_reverse(spending_id=spending_id, by=request.user,
                                                             reason=data["reason"])
        return Response(CreditSpendingSerializer(spending).data)
