from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.response import Response

from core.api import schema
from core.api.pagination import Cursor
from core.api.serializers import validated
from core.api.views import ApiView
from core.errors import Conflict, NotFound
from core.storable import unstorable_text
from returns import selectors, services
from returns.api.serializers import (
    QuoteSerializer,
    ReasonInput,
    RejectInput,
    ReturnRequestInput,
    ReturnSerializer,
    ShipmentInput,
)
from returns.choices import ReturnMethod, ReturnStatus
from returns.labels import render_label_pdf
from returns.methods import render_drop_off_pdf

REQUEST_EXAMPLE = OpenApiExample(
    "Two shirts, wrong size",
    value={"order_id": 42, "refund_method": "original_payment",
           "lines": [{"order_line_id": 101, "quantity": 2, "reason": "wrong_size"}]},
    request_only=True,
)
EXCHANGE_EXAMPLE = OpenApiExample(
    "A shirt for the next size up",
    value={"order_id": 42, "refund_method": "original_payment",
           "lines": [{"order_line_id": 101, "quantity": 1, "reason": "wrong_size", "resolution": "exchange",
                      "replacement_sku": "shirt-blue-l"}]},
    request_only=True,
)
ELIGIBILITY = (
    "The return is not allowed; `errors` lists each line's reason.",
    "return_window_closed", "quantity_exceeds_returnable", "product_not_returnable", "order_not_fulfilled",
    "unknown_reason", "invalid_quantity", "no_lines", "duplicate_line", "line_not_in_order", "invalid_refund_method",
    "resolution_not_allowed", "replacement_not_found", "replacement_not_offered", "replacement_out_of_stock",
    "replacement_needs_exchange", "exchange_needs_payment", "invalid_return_method", "return_method_not_offered",
)
TRANSITION = ("Not allowed in the return's current state.", "returnrequest_cannot_cancel",
                            "returnrequest_cannot_authorize", "returnrequest_cannot_reject")


def visible_return(request, rma: str):
    # An RMA number PostgreSQL could not even store (a NUL in the path) names no return.
    found = None if unstorable_text(rma) else \
        selectors.returns_visible_to(request.user).filter(rma_number=rma.upper()).first()
    if found is None:
        raise NotFound("No such return.", code="return_not_found")
    return found


class ReturnListCreate(ApiView):
    required_scopes = {"GET": "returns:read", "POST": "returns:write"}

    @extend_schema(
        operation_id="returns_list", summary="List returns the caller may see",
        parameters=[
            OpenApiParameter("status", str, enum=ReturnStatus.values, description="Only returns in this state."),
            OpenApiParameter("order_id", int, description="Only returns of this order."),
            OpenApiParameter("page_size", int, description="Up to 100; 25 by default."),
            OpenApiParameter("cursor", str, description="The `next` or `previous` cursor of a page."),
        ],
        responses={200: schema.page_of(ReturnSerializer), **schema.COMMON},
    )
    def get(self, request):
        returns = selectors.returns_visible_to(request.user)
        state = request.query_params.get("status")
        if state:
            if state not in ReturnStatus.values:
                raise ValidationError({"status": [ErrorDetail(f"Unknown status {state!r}.", code="invalid_choice")]})
            returns = returns.filter(status=state)
        order_id = request.query_params.get("order_id")
        if order_id:
            returns = returns.filter(order_id=int(order_id)) if order_id.isdigit() else returns.none()
        paginator = Cursor()
        page = paginator.paginate_queryset(returns, request, view=self)
        return paginator.get_paginated_response(ReturnSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(
        operation_id="returns_create", summary="Request a return",
        description="Checks eligibility under a lock on the order, scores the return for fraud and authorises it at "
                    "once unless it needs a reviewer (then its status is `requested`). Each line may ask for a "
                    "refund, store credit or an exchange; an exchange whose replacement is out of stock is refused "
                    "with `replacement_out_of_stock` (ask again with a refund). When every line is worth less than "
                    "its policy's returnless limit the customer keeps the items: the return goes straight on to its "
                    "refund.",
        request=ReturnRequestInput, examples=[REQUEST_EXAMPLE, EXCHANGE_EXAMPLE], parameters=[schema.IDEMPOTENCY_KEY],
        responses=schema.writes({201: ReturnSerializer, 404: schema.NOT_FOUND, 422: ELIGIBILITY}),
    )
    def post(self, request):
        data = validated(ReturnRequestInput, request)
        created = services.return_request_create(
            by=request.user, order_id=data["order_id"], lines=data["lines"],
            refund_method=data["refund_method"], note=data["note"], return_method=data["return_method"])
        created = selectors.returns_visible_to(request.user).get(pk=created.pk)
        return Response(ReturnSerializer(created, context={"request": request}).data, status=status.HTTP_201_CREATED)


class ReturnQuote(ApiView):
    required_scopes = {"POST": "returns:read"}

    @extend_schema(
        operation_id="returns_quote", summary="Quote a return before requesting it",
        description="Runs the same eligibility rules and refund computation as a real request and writes nothing. "
                    "No restocking fee is assumed: it depends on the condition found at inspection. An exchange "
                    "whose replacement is out of stock is quoted as the refund offered instead, with a "
                    "`replacement_out_of_stock` notice; lines the customer may keep carry a `returnless` notice.",
        request=ReturnRequestInput, examples=[REQUEST_EXAMPLE, EXCHANGE_EXAMPLE], parameters=[schema.IDEMPOTENCY_KEY],
        responses=schema.writes({200: QuoteSerializer, 404: schema.NOT_FOUND, 422: ELIGIBILITY}),
    )
    def post(self, request):
        data = validated(ReturnRequestInput, request)
        quote = services.return_quote_request(by=request.user, order_id=data["order_id"], lines=data["lines"],
                                              refund_method=data["refund_method"],
                                              return_method=data["return_method"])
        return Response(quote.as_dict())


class ReturnDetail(ApiView):
    required_scopes = {"GET": "returns:read"}

    @extend_schema(operation_id="returns_retrieve", summary="One return by RMA number",
                   responses={200: ReturnSerializer, 404: schema.NOT_FOUND, **schema.COMMON})
    def get(self, request, rma: str):
        return Response(ReturnSerializer(visible_return(request, rma), context={"request": request}).data)


class ReturnCancel(ApiView):
    required_scopes = {"POST": "returns:write"}

    @extend_schema(operation_id="returns_cancel", summary="Cancel a return before the parcel is scanned",
                   request=ReasonInput, parameters=[schema.IDEMPOTENCY_KEY],
                   responses=schema.writes({200: ReturnSerializer, 404: schema.NOT_FOUND, 409: TRANSITION}))
    def post(self, request, rma: str):
        data = validated(ReasonInput, request)
        found = services.return_cancel(return_request=visible_return(request, rma), by=request.user,
                                       reason=data["reason"])
        return _detail(request, found)


class ReturnApprove(ApiView):
    required_scopes = {"POST": "returns:review"}
    allowed_callers = ("partner", "staff")

    @extend_schema(operation_id="returns_approve", summary="Approve a return waiting for review",
                   request=ReasonInput, parameters=[schema.IDEMPOTENCY_KEY],
                   responses=schema.writes({200: ReturnSerializer, 404: schema.NOT_FOUND, 409: TRANSITION}))
    def post(self, request, rma: str):
        data = validated(ReasonInput, request)
        found = services.return_approve(return_request=visible_return(request, rma), by=request.user,
                                        reason=data["reason"])
        return _detail(request, found)


class ReturnReject(ApiView):
    required_scopes = {"POST": "returns:review"}
    allowed_callers = ("partner", "staff")

    @extend_schema(operation_id="returns_reject", summary="Reject a return, with a reason the customer sees",
                   request=RejectInput, parameters=[schema.IDEMPOTENCY_KEY],
                   responses=schema.writes({200: ReturnSerializer, 404: schema.NOT_FOUND, 409: TRANSITION,
                                            422: ("A reason is required.", "reason_required")}))
    def post(self, request, rma: str):
        data = validated(RejectInput, request)
        found = services.return_reject(return_request=visible_return(request, rma), by=request.user,
                                       reason=data["reason"])
        return _detail(request, found)


class ReturnLabel(ApiView):
    required_scopes = {"GET": "returns:read"}

    @extend_schema(operation_id="returns_label", summary="The printable return label, or the drop-off QR code (PDF)",
                   description="A label return gets the carrier label; a drop-off return the QR code the customer "
                               "shows at the counter; a return shipped the customer's own way has neither.",
                   responses={(200, "application/pdf"): bytes, 404: schema.NOT_FOUND,
                              409: schema.problem("The carrier has not issued the label yet, or the return ships "
                                                  "the customer's own way.", "label_pending", "no_label"),
                              **schema.COMMON})
    def get(self, request, rma: str):
        found = visible_return(request, rma)
        if found.return_method == ReturnMethod.OWN_SHIPPING:
            raise Conflict("This return ships the customer's own way: there is no label.", code="no_label")
        if found.label_status != "issued":
            raise Conflict("The label is not ready yet; try again in a minute.", code="label_pending")
        render = render_drop_off_pdf if found.return_method == ReturnMethod.QR_DROP_OFF else render_label_pdf
        response = HttpResponse(render(found), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{found.rma_number}.pdf"'
        return response


class ReturnShipment(ApiView):
    required_scopes = {"POST": "returns:write"}

    @extend_schema(operation_id="returns_shipment", summary="Give the carrier and tracking number of an own shipment",
                   description="For a return the customer ships their own way: the carrier's first scan of this "
                               "tracking number then puts it in transit.",
                   request=ShipmentInput, parameters=[schema.IDEMPOTENCY_KEY],
                   responses=schema.writes({
                       200: ReturnSerializer, 404: schema.NOT_FOUND,
                       409: ("Not while the return is in this state, or the tracking number is another return's.",
                             "returnrequest_cannot_record_shipment", "tracking_number_in_use"),
                       422: ("Not an own-shipping return, or no carrier or tracking number.", "not_own_shipping",
                             "invalid_carrier", "invalid_tracking_number")}))
    def post(self, request, rma: str):
        data = validated(ShipmentInput, request)
        found = services.return_record_own_shipment(return_request=visible_return(request, rma), by=request.user,
                                                    carrier=data["carrier"], tracking_number=data["tracking_number"])
        return _detail(request, found)




def _detail(request, found) -> Response:
    found = get_object_or_404(selectors.returns_visible_to(request.user), pk=found.pk)
    return Response(ReturnSerializer(found, context={"request": request}).data)
