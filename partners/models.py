import secrets

import pgtrigger
from django.conf import settings
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager
from simple_history.models import HistoricalRecords

from core.models import TimeStampedModel

SCOPES = {
    "orders:write": "Push orders from the OMS",
    "returns:read": "Read returns of the channel",
    "returns:write": "Create and cancel returns for customers of the channel",
    "returns:review": "Approve and reject returns",
    "warehouse:write": "Record parcel receipts and inspections",
    "carrier:write": "Post carrier tracking events",
    "finance:read": "Read refunds and the ledger",
    "webhooks:manage": "Manage webhook subscriptions",
    "gift_receipts:write": "Issue gift receipts (their return codes) for orders of the channel",
    "credit:spend": "Look up and spend gift cards and customers' store credit at checkout, and reverse a spending",
}


class PartnerKind(models.TextChoices):
    STOREFRONT = "storefront", "Storefront / OMS"
    WAREHOUSE = "warehouse", "Warehouse"
    CARRIER = "carrier", "Carrier"
    MERCHANT_TOOL = "merchant_tool", "Merchant tool"


class Partner(TimeStampedModel):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(max_length=20, choices=PartnerKind.choices)
    active = models.BooleanField(default=True)
    service_user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="partner",
                                        help_text="Who the audit trail names when this partner acts.")

    def __str__(self) -> str:
        return self.name


class PartnerAPIKeyManager(APIKeyManager):
    def get_usable_keys(self):
        return super().get_usable_keys().select_related("partner__service_user")


class PartnerAPIKey(AbstractAPIKey):
    """A hashed key (only its prefix is stored in clear) bound to a partner, a channel and scopes."""

    objects = PartnerAPIKeyManager()

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")
    channel = models.ForeignKey("orders.SalesChannel", on_delete=models.PROTECT, related_name="api_keys")
    scopes = models.JSONField(default=list)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "partner API key"
        verbose_name_plural = "partner API keys"


# --- outbound webhooks ---

def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookSubscription(TimeStampedModel):
    """A partner's endpoint for return and refund events of one sales channel.

    The secret signs every delivery, so it is kept (never shown again after creation). A removed
    subscription is only marked deleted: its deliveries and their attempts stay on record.
    """

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="webhook_subscriptions")
    channel = models.ForeignKey("orders.SalesChannel", on_delete=models.PROTECT, related_name="webhook_subscriptions",
                                help_text="Events of returns on this channel's orders are delivered.")
    url = models.URLField(max_length=2000)
    event_types = models.JSONField(default=list)
    secret = models.CharField(max_length=100, default=new_webhook_secret, editable=False)
    active = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["secret"])

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["channel", "active"], name="webhook_subscription_channel")]

    def __str__(self) -> str:
        return f"{self.partner} → {self.url}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event for one subscription, sent until the endpoint answers 2xx or attempts run out."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.PROTECT, related_name="deliveries")
    event_id = models.UUIDField(db_index=True, help_text="The same for every subscription that receives the event.")
    event_type = models.CharField(max_length=50)
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response_excerpt = models.CharField(max_length=1024, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True,
                                            help_text="A worker is sending it until then.")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_id"], name="webhook_delivery_once_per_event"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.subscription_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One POST to the endpoint, kept for ever exactly as it happened."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.PROTECT, related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    succeeded = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=1024, blank=True, help_text="The first kilobyte of the answer.")
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_once_per_number"),
        ]
        triggers = [pgtrigger.Protect(name="webhook_attempt_append_only",
                                      operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"Attempt {self.number} of delivery {self.delivery_id}"
