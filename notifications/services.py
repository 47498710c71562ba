"""Customer e-mails, sent once per event: the one way this product writes to customers.

`notification_record` is called by the receivers (notifications/receivers.py) inside the
transaction that changes a return or refund; it writes the outbox row and queues the send for
after the commit. `notification_send` (the Celery task's body) locks the row, sends while it is
pending and marks it sent, so a task that runs twice sends once; the sweeper re-drives rows that a
lost message left pending. An SMTP failure leaves the row pending and the task retries.
"""

import logging
from smtplib import SMTPException

from django.db import transaction
from django.utils import timezone

from core import tracing
from notifications.choices import NotificationEvent, NotificationStatus
from notifications.emails import build_message, to_gift_recipient
from notifications.models import Notification
from returns.choices import LabelStatus

logger = logging.getLogger(__name__)

SEND_ERRORS = (SMTPException, OSError)


def notification_record(*, return_request_id: int, event: str) -> None:
    """Write the outbox row (once: a repeat of the event is ignored) and send it after commit."""
    Notification.objects.bulk_create(
        [Notification(return_request_id=return_request_id, event=event, trace_context=tracing.context_dict())],
        ignore_conflicts=True)
    transaction.on_commit(tracing.in_current_context(lambda: _enqueue(return_request_id, event)), robust=True)


def notification_supersede(*, return_request_id: int, event: str, reason: str) -> None:
    """A pending e-mail that later news makes pointless (the request, once it has been decided)."""
    Notification.objects.filter(return_request_id=return_request_id, event=event,
                                status=NotificationStatus.PENDING).update(status=NotificationStatus.SKIPPED,
                                                                          skipped_reason=reason[:200])


def notifications_dispatch(*, return_request_id: int) -> None:
    """Queue the return's pending e-mails again, after commit (its label has been issued, say)."""
    events = list(Notification.objects.filter(return_request_id=return_request_id, status=NotificationStatus.PENDING)
                  .values_list("event", flat=True))
    for event in events:
        transaction.on_commit(lambda event=event: _enqueue(return_request_id, event), robust=True)


def _enqueue(return_request_id: int, event: str) -> None:
    from notifications.tasks import send_notification

    send_notification.delay(return_request_id, event)


@tracing.traced("notification.send", lambda *, return_request_id, event: {
    "return.id": return_request_id, "notification.event": event},
    result=lambda status: {"notification.status": status})
def notification_send(*, return_request_id: int, event: str) -> str:
    """Send the e-mail if it is still pending. Returns what became of it: sent, skipped, waiting
    (an authorisation waits for its label), or the state it was already in."""
    error = None
    with transaction.atomic():
        notification = (Notification.objects.select_for_update(of=("self",))
                        .select_related("return_request__customer", "return_request__order")
                        .filter(return_request_id=return_request_id, event=event).first())
        if notification is None:
            return "missing"
        return_request = notification.return_request
        tracing.annotate({"return.rma_id": return_request.rma_number},
                         links=tracing.link_to(notification.trace_context, "notification_event"))
        if notification.status != NotificationStatus.PENDING:
            return notification.status
        if event == NotificationEvent.RETURN_AUTHORIZED and return_request.label_status == LabelStatus.PENDING:
            return "waiting"  # the label is on its way; issuing it queues this again
        recipient = recipient_of(return_request, event)
        if not recipient:
            notification.status = NotificationStatus.SKIPPED
            notification.skipped_reason = "The customer has no e-mail address."
            notification.save(update_fields=["status", "skipped_reason"])
            return notification.status
        message = build_message(notification, recipient=recipient)
        notification.attempts += 1
        notification.recipient, notification.subject = recipient, message.subject[:200]
        try:
            message.send()
        except SEND_ERRORS as exc:
            error = exc
            notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        else:
            notification.status = NotificationStatus.SENT
            notification.sent_at = timezone.now()
            notification.last_error = ""
        notification.save(update_fields=["attempts", "recipient", "subject", "status", "sent_at", "last_error"])
    if error is not None:
        logger.warning("customer e-mail not sent", extra={"rma": return_request.rma_number, "event": event,
                                                          "attempt": notification.attempts})
        raise error
    logger.info("customer e-mail sent", extra={"rma": return_request.rma_number, "event": event})
    return notification.status


def recipient_of(return_request, event: str) -> str:
    """Who hears about a return: its gift recipient, if it is a gift return (the purchaser only
    hears the one e-mail a policy may ask for), else the customer."""
    return return_request.recipient_email if to_gift_recipient(return_request, event) else return_request.customer.email


def notifications_due(*, older_than_seconds: int):
    """Pending e-mails whose send should have happened by now (keys: return id, event)."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    return (Notification.objects.filter(status=NotificationStatus.PENDING, created_at__lt=cutoff)
            .order_by("created_at").values_list("return_request_id", "event"))
