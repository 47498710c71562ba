"""Gift cards at the storefront's checkout: look one up by its code, spend from it, and give a
spending back when its checkout is cancelled. The code travels only in a POST body (never in a
URL, where logs and proxies keep it) and never comes back in a response."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api import schema
from core.api.fields import MoneyAmount
from core.api.serializers import StrictSerializer
from core.api.views import ApiView
from refunds import gift_cards
from refunds.models import GiftCard, GiftCardRedemption

SCOPE = "gift_cards:redeem"
CODE_HELP = "The code the recipient typed (dashes, spaces and case do not matter)."
CARD_NOT_FOUND = schema.problem("No gift card of the caller's channel has this code.", "gift_card_not_found")


class GiftCardCodeInput(StrictSerializer):
    code = serializers.CharField(max_length=64, help_text=CODE_HELP)


class GiftCardRedeemInput(GiftCardCodeInput):
    amount = serializers.DecimalField(max_digits=14, decimal_places=3, min_value=0,
                                      help_text="What to spend, in the card's currency and its minor unit.")
    currency = serializers.CharField(max_length=3, min_length=3, help_text="The card's currency (ISO 4217).")
    reference = serializers.CharField(max_length=100, help_text="The checkout's or order's reference.")


class ReverseInput(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class GiftCardSerializer(serializers.ModelSerializer):
    initial_amount = MoneyAmount()
    balance = MoneyAmount(help_text="What is left to spend.")

    class Meta:
        model = GiftCard
        fields = ["code_hint", "currency", "initial_amount", "balance", "created_at"]


class GiftCardRedemptionSerializer(serializers.ModelSerializer):
    amount = MoneyAmount()
    gift_card = GiftCardSerializer(help_text="The card as it is now.")

    class Meta:
        model = GiftCardRedemption
        fields = ["id", "amount", "currency", "reference", "created_at", "reversed_at", "reversal_reason",
                  "gift_card"]


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class GiftCardLookup(ApiView):
    required_scopes = {"POST": SCOPE}
    allowed_callers = ("partner", "staff")

    @extend_schema(operation_id="gift_cards_lookup", summary="A gift card's balance, found by its code",
                   request=GiftCardCodeInput,
                   responses={200: GiftCardSerializer, 404: CARD_NOT_FOUND, **schema.COMMON})
    def post(self, request):
        card = gift_cards.gift_card_find(code=_valid(GiftCardCodeInput, request)["code"], by=request.user)
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
            201: GiftCardRedemptionSerializer, 404: CARD_NOT_FOUND,
            422: ("The amount, currency or reference does not fit the card.", "gift_card_insufficient_balance",
                  "currency_mismatch", "amount_precision", "invalid_amount", "reference_required")}))
    def post(self, request):
        data = _valid(GiftCardRedeemInput, request)
        redemption = gift_cards.gift_card_redeem(code=data["code"], amount=data["amount"], currency=data["currency"],
                                                 reference=data["reference"], by=request.user)
        return Response(GiftCardRedemptionSerializer(redemption).data, status=status.HTTP_201_CREATED)


REDEMPTION_NOT_FOUND = schema.problem("No such spending visible to the caller.", "gift_card_redemption_not_found")


class GiftCardRedemptionDetail(ApiView):
    required_scopes = {"GET": SCOPE}
    allowed_callers = ("partner", "staff")

    @extend_schema(operation_id="gift_card_redemptions_retrieve", summary="A gift-card spending",
                   responses={200: GiftCardRedemptionSerializer, 404: REDEMPTION_NOT_FOUND, **schema.COMMON})
    def get(self, request, redemption_id: int):
        redemption = gift_cards.gift_card_redemption_get(redemption_id=redemption_id, by=request.user)
        return Response(GiftCardRedemptionSerializer(redemption).data)


class GiftCardRedemptionReverse(ApiView):
    required_scopes = {"POST": SCOPE}
    allowed_callers = ("partner", "staff")

    @extend_schema(operation_id="gift_card_redemptions_reverse",
                   summary="Put a spending back on its gift card (the checkout was cancelled)",
                   description="Reversing one already reversed changes nothing and answers the same.",
                   request=ReverseInput, parameters=[schema.IDEMPOTENCY_KEY],
                   responses=schema.writes({200: GiftCardRedemptionSerializer, 404: REDEMPTION_NOT_FOUND}))
    def post(self, request, redemption_id: int):
        data = _valid(ReverseInput, request)
        redemption = gift_cards.gift_card_redemption_reverse(redemption_id=redemption_id, by=request.user,
                                                             reason=data["reason"])
        return Response(GiftCardRedemptionSerializer(redemption).data)
