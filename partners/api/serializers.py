from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import StrictSerializer
from partners.events import EVENT_TYPES
from partners.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


@extend_schema_field({"type": "string", "enum": EVENT_TYPES})
class EventTypeField(serializers.CharField):
    """Checked against the catalogue by the service, which answers `unknown_event_type`."""


class WebhookSubscriptionInput(StrictSerializer):
    url = serializers.CharField(max_length=2000, help_text="Where events are POSTed; https in production.")
    event_types = serializers.ListField(child=EventTypeField(max_length=50), max_length=len(EVENT_TYPES),
                                        help_text="The events to receive, e.g. `return.authorized`.")
    active = serializers.BooleanField(default=True, help_text="An inactive subscription receives nothing.")
    # Listed so that a body setting them is refused, not silently ignored.
    id = serializers.IntegerField(read_only=True)
    secret = serializers.CharField(read_only=True)
    channel = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True,
                                           help_text="Events of returns on this sales channel are delivered.")
    event_types = serializers.ListField(child=EventTypeField())

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "event_types", "active", "channel", "created_at", "updated_at"]
        read_only_fields = fields


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(help_text="Signs every delivery. Shown only in this response: store it now.")

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "started_at", "duration_ms", "succeeded", "status_code", "response_excerpt", "error"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    payload = serializers.DictField(help_text="The event exactly as sent: id, type, created_at, data.")
    attempts = WebhookAttemptSerializer(many=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event_id", "event_type", "status", "attempt_count", "last_status_code",
                  "last_response_excerpt", "last_error", "next_attempt_at", "delivered_at", "created_at", "payload",
                  "attempts"]
        read_only_fields = fields
