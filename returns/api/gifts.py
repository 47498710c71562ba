"""Gift receipts for the OMS: issue one for an order (or a line), read its code, print it.

The code is never in a POST's response (those are stored for idempotent replays); it is read
with a GET, which derives it again, and only by a caller who may issue receipts."""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api import schema
from core.api.serializers import StrictSerializer
from core.api.views import ApiView
from core.errors import NotFound, PermissionDenied
from returns import gifts
from returns.gift_receipt_pdf import render_gift_receipts_pdf
from returns.models import GiftReceipt

SCOPE = "gift_receipts:write"


class GiftReceiptInput(StrictSerializer):
    order_line_id = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1,
                                             help_text="Only this line of the order; every item when absent.")


class GiftReceiptSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order_id = serializers.IntegerField()
    order_line_id = serializers.IntegerField(allow_null=True)
    code_hint = serializers.CharField(help_text="The code's last four characters.")
    created_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)


class GiftReceiptWithCodeSerializer(GiftReceiptSerializer):
    code = serializers.CharField(help_text="What the recipient types at /gift/: print it on the gift receipt.")


def _visible_receipt(request, receipt_id: int) -> GiftReceipt:
    if not request.user.has_perm("returns.issue_giftreceipt"):
        raise PermissionDenied("You may not read gift receipts.")
    receipts = GiftReceipt.objects.select_related("order", "order_line__product")
    channel = getattr(request.user, "channel_id", None)
    if channel is not None:
        receipts = receipts.filter(order__channel_id=channel)
    found = receipts.filter(pk=receipt_id, revoked_at__isnull=True).first()
    if found is None:
        raise NotFound("No such gift receipt.", code="gift_receipt_not_found")
    return found


class GiftReceiptIssue(ApiView):
    required_scopes = {"POST": SCOPE}
    allowed_callers = ("partner", "staff")

    @extend_schema(
        operation_id="gift_receipts_issue", summary="Issue a gift receipt for an order or one of its lines",
        description="A new receipt replaces the order's (or line's) live one: its code stops working. Read the "
                    "code with `GET /api/v1/gift-receipts/{id}` or print it with `.../pdf`.",
        request=GiftReceiptInput, parameters=[schema.IDEMPOTENCY_KEY],
        responses=schema.writes({201: GiftReceiptSerializer, 404: schema.NOT_FOUND,
                                 422: ("The line is not part of the order.", "line_not_in_order")}),
    )
    def post(self, request, order_id: int):
        serializer = GiftReceiptInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        receipt, _ = gifts.gift_receipt_issue(by=request.user, order_id=order_id,
                                              order_line_id=serializer.validated_data["order_line_id"])
        return Response(GiftReceiptSerializer(receipt).data, status=status.HTTP_201_CREATED)


class GiftReceiptDetail(ApiView):
    required_scopes = {"GET": SCOPE}
    allowed_callers = ("partner", "staff")

    @extend_schema(operation_id="gift_receipts_retrieve", summary="A live gift receipt with its code",
                   responses={200: GiftReceiptWithCodeSerializer, 404: schema.NOT_FOUND, **schema.COMMON})
    def get(self, request, receipt_id: int):
        receipt = _visible_receipt(request, receipt_id)
        receipt.code = gifts.gift_receipt_code(receipt)
        return Response(GiftReceiptWithCodeSerializer(receipt).data)


class GiftReceiptPdf(ApiView):
    required_scopes = {"GET": SCOPE}
    allowed_callers = ("partner", "staff")

    @extend_schema(operation_id="gift_receipts_pdf", summary="The printable gift receipt (PDF) with its code",
                   responses={(200, "application/pdf"): bytes, 404: schema.NOT_FOUND, **schema.COMMON})
    def get(self, request, receipt_id: int):
        receipt = _visible_receipt(request, receipt_id)
        response = HttpResponse(render_gift_receipts_pdf([(receipt, gifts.gift_receipt_code(receipt))]),
                                content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="gift-receipt-{receipt.pk}.pdf"'
        return response
