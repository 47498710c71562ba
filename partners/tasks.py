"""Thin tasks: they take ids and call services. Both are safe to run twice."""

from celery import shared_task
from django.conf import settings


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> str:
    from partners.services import webhook_delivery_attempt

    result = webhook_delivery_attempt(delivery_id=delivery_id)
    if result.retry_in is not None:
        deliver_webhook.apply_async((delivery_id,), countdown=result.retry_in or None)
    return result.status


@shared_task
def sweep_webhook_deliveries() -> int:
    """Re-drive deliveries whose message a broker or a dead worker lost."""
    from partners.selectors import webhook_deliveries_due

    ids = list(webhook_deliveries_due(overdue_seconds=settings.WEBHOOKS["SWEEP_OVERDUE_SECONDS"])
               .values_list("pk", flat=True)[:1000])
    for delivery_id in ids:
        deliver_webhook.delay(delivery_id)
    return len(ids)
