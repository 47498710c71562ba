from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.response import Response

from core.api import schema
from core.api.pagination import Cursor
from core.api.serializers import validated
from core.api.views import ApiView
from core.errors import NotFound
from partners import selectors, services
from partners.api.serializers import (
    WebhookDeliverySerializer,
    WebhookSubscriptionCreatedSerializer,
    WebhookSubscriptionInput,
    WebhookSubscriptionSerializer,
)
from partners.models import DeliveryStatus

SUBSCRIPTION_EXAMPLE = OpenApiExample(
    "Refund updates",
    value={"url": "https://hooks.example.com/returns", "event_types": ["return.authorized", "refund.completed"]},
    request_only=True,
)
REFUSED = schema.problem(
    "The subscription is not valid.", "unknown_event_type", "webhook_url_not_allowed", "webhook_url_insecure",
    "no_event_types", "invalid_url",
)
SUBSCRIPTION_NOT_FOUND = schema.problem("No such webhook subscription of yours.", "webhook_not_found")


class Webhooks(ApiView):
    required_scopes = {"*": "webhooks:manage"}
    allowed_callers = ("partner",)


def visible_subscription(request, subscription_id: int):
    found = selectors.webhook_subscriptions_visible_to(request.user).filter(pk=subscription_id).first()
    if found is None:
        raise NotFound("No such webhook subscription.", code="webhook_not_found")
    return found


class WebhookListCreate(Webhooks):
    pagination_class = Cursor

    @extend_schema(operation_id="webhooks_list", summary="Your webhook subscriptions on your key's channel",
                   description="Subscriptions of the calling partner on its API key's sales channel, newest "
                               "first. The signing secret is never listed.",
                   responses={200: WebhookSubscriptionSerializer(many=True), 400: schema.BAD_REQUEST,
                              **schema.COMMON})
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.webhook_subscriptions_visible_to(request.user), request, self)
        return paginator.get_paginated_response(WebhookSubscriptionSerializer(page, many=True).data)

    @extend_schema(
        operation_id="webhooks_create", summary="Subscribe an endpoint to return and refund events",
        description="Events of returns on the API key's sales channel are POSTed to `url` as JSON, signed in "
                    "`X-Returns-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>`, and "
                    "retried with exponential backoff until the endpoint answers 2xx. The `secret` is in this "
                    "response only.",
        request=WebhookSubscriptionInput, examples=[SUBSCRIPTION_EXAMPLE], parameters=[schema.IDEMPOTENCY_KEY],
        responses={201: WebhookSubscriptionCreatedSerializer, 400: schema.BAD_REQUEST, 422: REFUSED,
                   409: schema.problem("Idempotency conflict.", "request_in_progress"), **schema.COMMON},
    )
    def post(self, request):
        data = validated(WebhookSubscriptionInput, request)
        created = services.webhook_subscription_create(by=request.user, url=data["url"],
                                                       event_types=data["event_types"], active=data["active"])
        return Response(WebhookSubscriptionCreatedSerializer(created).data, status=status.HTTP_201_CREATED)


class WebhookDetail(Webhooks):
    @extend_schema(operation_id="webhooks_retrieve", summary="One of your webhook subscriptions",
                   description="Another partner's subscription, or one on another channel, is a 404.",
                   responses={200: WebhookSubscriptionSerializer, 404: SUBSCRIPTION_NOT_FOUND, **schema.COMMON})
    def get(self, request, subscription_id: int):
        return Response(WebhookSubscriptionSerializer(visible_subscription(request, subscription_id)).data)

    @extend_schema(operation_id="webhooks_update", summary="Change the URL, the event types or pause it",
                   description="Send only the fields to change. A paused (`active: false`) subscription receives "
                               "no new events and its pending retries are given up.",
                   request=WebhookSubscriptionInput,
                   responses={200: WebhookSubscriptionSerializer, 400: schema.BAD_REQUEST, 422: REFUSED,
                              404: SUBSCRIPTION_NOT_FOUND, **schema.COMMON})
    def patch(self, request, subscription_id: int):
        data = validated(WebhookSubscriptionInput, request, partial=True)
        updated = services.webhook_subscription_update(
            subscription=visible_subscription(request, subscription_id), by=request.user, url=data.get("url"),
            event_types=data.get("event_types"), active=data.get("active"))
        return Response(WebhookSubscriptionSerializer(updated).data)

    @extend_schema(operation_id="webhooks_destroy", summary="Stop sending to this endpoint",
                   description="Pending retries are given up; past deliveries stay on record.",
                   responses={204: None, 404: SUBSCRIPTION_NOT_FOUND, **schema.COMMON})
    def delete(self, request, subscription_id: int):
        services.webhook_subscription_delete(subscription=visible_subscription(request, subscription_id),
                                             by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveries(Webhooks):
    pagination_class = Cursor

    @extend_schema(
        operation_id="webhooks_deliveries", summary="Recent deliveries to this endpoint, with every attempt",
        description="Newest first. Each delivery is one event for this endpoint; `attempts` lists every POST made, "
                    "with the status code and the first kilobyte of the answer.",
        parameters=[OpenApiParameter("status", str, enum=DeliveryStatus.values, description="Only these.")],
        responses={200: WebhookDeliverySerializer(many=True), 400: schema.BAD_REQUEST,
                   404: SUBSCRIPTION_NOT_FOUND, **schema.COMMON},
    )
    def get(self, request, subscription_id: int):
        subscription = visible_subscription(request, subscription_id)
        state = request.query_params.get("status")
        if state and state not in DeliveryStatus.values:
            raise ValidationError({"status": [ErrorDetail(f"Unknown status {state!r}.", code="invalid_choice")]})
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.webhook_deliveries_of(subscription, status=state), request, self)
        return paginator.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


