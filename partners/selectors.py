"""Every read of partners' webhook subscriptions and deliveries."""

from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from core.actors import PartnerActor
from partners.models import DeliveryStatus, WebhookDelivery, WebhookSubscription


def webhook_subscriptions_visible_to(actor) -> QuerySet[WebhookSubscription]:
    """A partner's own subscriptions on its key's channel; nothing for anyone else."""
    if not isinstance(actor, PartnerActor):
        return WebhookSubscription.objects.none()
    return WebhookSubscription.objects.filter(partner_id=actor.partner.pk, channel_id=actor.channel_id,
                                              deleted_at__isnull=True).select_related("channel")


def subscriptions_listening(*, channel_id: int, event_type: str) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(channel_id=channel_id, active=True, deleted_at__isnull=True,
                                              partner__active=True, event_types__contains=[event_type])


def webhook_deliveries_of(subscription: WebhookSubscription, *, status: str | None = None
                          ) -> QuerySet[WebhookDelivery]:
    deliveries = subscription.deliveries.prefetch_related("attempts")
    return deliveries.filter(status=status) if status else deliveries


def webhook_deliveries_due(*, overdue_seconds: float) -> QuerySet[WebhookDelivery]:
    """Pending deliveries whose retry is overdue and that no worker holds: their message was lost."""
    now = timezone.now()
    return WebhookDelivery.objects.filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now),
        status=DeliveryStatus.PENDING, next_attempt_at__lte=now - timedelta(seconds=overdue_seconds),
    ).order_by("next_attempt_at")
