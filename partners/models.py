from django.conf import settings
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey

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


class PartnerAPIKey(AbstractAPIKey):
    """A hashed key (only its prefix is stored in clear) bound to a partner, a channel and scopes."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")
    channel = models.ForeignKey("orders.SalesChannel", on_delete=models.PROTECT, related_name="api_keys")
    scopes = models.JSONField(default=list)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "partner API key"
        verbose_name_plural = "partner API keys"
