from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.response import Response

from core.api import schema
from core.api.views import ApiView
from core.errors import NotFound
from orders import selectors
from orders.api.serializers import OrderInput, OrderSerializer, ReturnableSerializer
from orders.services import order_upsert
from returns.selectors import returnable_lines

ORDER_EXAMPLE = OpenApiExample("A delivered order", request_only=True, value={
    "customer": {"email": "alice@example.com", "first_name": "Alice"}, "currency": "USD", "status": "fulfilled",
    "placed_at": "2026-11-01T10:00:00Z", "delivered_at": "2026-11-04T15:30:00Z", "shipping_cost": "4.95",
    "lines": [{"line_id": "1", "sku": "shirt-blue-m", "product_name": "Oxford shirt", "category": "apparel",
               "quantity_ordered": 2, "quantity_shipped": 2, "unit_price": "25.00", "unit_tax": "2.00"}],
    "payments": [{"gateway": "sandbox", "charge_reference": "ch_123", "amount": "58.95",
                  "captured_at": "2026-11-01T10:00:05Z"}],
})


class OrderUpsert(ApiView):
    required_scopes = {"PUT": "orders:write"}
    allowed_callers = ("partner",)

    @extend_schema(
        operation_id="orders_upsert", summary="Create or update an order from the OMS",
        description="Idempotent: the same body twice leaves the same order. Lines are matched by `line_id`. "
                    "The order lives in the API key's sales channel.",
        request=OrderInput, examples=[ORDER_EXAMPLE], parameters=[schema.IDEMPOTENCY_KEY],
        responses=schema.writes({200: OrderSerializer, 201: OrderSerializer,
                   422: ("The update would break returns or gift receipts already made, or take a charge "
                         "from another order.", "currency_immutable", "customer_immutable", "line_has_returns",
                         "line_on_record", "shipped_below_returned", "amount_precision", "duplicate_line",
                         "duplicate_payment", "payment_on_another_order")}),
    )
    def put(self, request, external_id: str):
        if not external_id.isprintable() or len(external_id) > 100:
            raise ValidationError({"external_id": [ErrorDetail("Up to 100 printable characters.", code="invalid")]})
        serializer = OrderInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        order, created = order_upsert(channel_id=request.user.channel_id, external_id=external_id,
                                      data=serializer.validated_data, by=request.user)
        order = selectors.order_with_lines(order.pk)
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class OrderReturnable(ApiView):
    required_scopes = {"GET": "returns:read"}

    @extend_schema(operation_id="orders_returnable", summary="What is left to return on an order, and until when",
                   responses={200: ReturnableSerializer, 404: schema.NOT_FOUND, **schema.COMMON})
    def get(self, request, order_id: int):
        order = selectors.orders_visible_to(request.user).filter(pk=order_id).first()
        if order is None:
            raise NotFound("We could not find that order.", code="order_not_found")
        return Response(ReturnableSerializer({"order_id": order.pk, "external_id": order.external_id,
                                              "currency": order.currency, "lines": returnable_lines(order)}).data)
