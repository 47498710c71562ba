"""Thin tasks: they take ids and call services. Safe to run twice."""

from celery import shared_task

from notifications.services import SEND_ERRORS


@shared_task(bind=True, acks_late=True, autoretry_for=SEND_ERRORS, retry_backoff=30, retry_backoff_max=3600,
             retry_jitter=True, max_retries=8)
def send_notification(self, return_request_id: int, event: str) -> str:
    from notifications.services import notification_send

    return notification_send(return_request_id=return_request_id, event=event)


@shared_task
def sweep_notifications(older_than_seconds: int = 600) -> int:
    """Queue again the e-mails a lost message (or retries run out) left pending."""
    from notifications.services import notifications_due

    due = list(notifications_due(older_than_seconds=older_than_seconds)[:1000])
    for return_request_id, event in due:
        send_notification.delay(return_request_id, event)
    return len(due)
