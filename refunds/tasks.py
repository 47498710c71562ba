"""Thin tasks: they take ids and call services. All are safe to run twice."""

import logging
import time

from celery import shared_task
from django.conf import settings

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=None, ignore_result=True)
def process_refund(self, refund_id: int, gateway: str | None = None) -> str:
    """`gateway` is the refund's, so the token is taken before touching the database; a message
    queued without it (before it was sent) reads it from the refund."""
    from refunds.models import Refund
    from refunds.ratelimit import take_token
    from refunds.services import refund_process

    if gateway is None:
        gateway = Refund.objects.filter(pk=refund_id).values_list("gateway", flat=True).first()
    bucket = gateway or "default"
    wait = take_token(bucket)
    while wait and self.request.is_eager:
        time.sleep(wait)
        wait = take_token(bucket)
    if wait:  # over the gateway's rate: wait in the queue, not in a worker
        raise self.retry(countdown=wait)
    result = refund_process(refund_id=refund_id)
    if result.retry_in is not None:
        process_refund.apply_async((refund_id,), {"gateway": gateway}, countdown=result.retry_in or None)
    return result.status


@shared_task
def sweep_stuck_refunds() -> int:
    """Re-drive refunds that a lost message or a dead worker left behind, longest waiting first.

    At most REFUNDS["SWEEP_BATCH"] a run. While the refunds queue holds more than REFUNDS["SWEEP_BACKLOG"]
    messages (a spike), a pending refund is most likely still queued, not lost, and a second message
    would only wait behind the first (and every refund lost meanwhile behind all of those): pending
    refunds are then re-driven only once they have waited PENDING_STALE_IN_BACKLOG_SECONDS; lapsed
    leases and due retries are re-driven as ever. (An extra message is harmless — the claim lets one
    worker in — but it is work, and it takes a token from the bucket.)
    """
    from refunds.selectors import refunds_due_for_sweep

    config = settings.REFUNDS
    backlog = refunds_queue_backlog()
    stale = config["PENDING_STALE_SECONDS"]
    if backlog is not None and backlog > config["SWEEP_BACKLOG"]:
        stale = max(stale, config["PENDING_STALE_IN_BACKLOG_SECONDS"])
        logger.info("refunds queue backlog: pending refunds left to their messages",
                                         extra={"backlog": backlog})
    due = list(refunds_due_for_sweep(pending_stale_seconds=stale)
               .order_by("updated_at").values_list("pk", "gateway")[:config["SWEEP_BATCH"]])
    for refund_id, gateway in due:
        process_refund.delay(refund_id, gateway=gateway)
    return len(due)


def refunds_queue_backlog() -> int | None:
    """Messages waiting on the refunds queue, or None when the broker cannot say (tasks run eagerly,
    or the broker is unreachable: then the sweeper re-drives as if there were no backlog)."""
    from celery import current_app
    from kombu.exceptions import OperationalError

    if current_app.conf.task_always_eager:
        return None
    queue = settings.CELERY_TASK_ROUTES["refunds.tasks.*"]["queue"]
    with current_app.connection_for_read() as connection:
        try:
            connection.ensure_connection(max_retries=1)  # a broker that is down is not waited for
            return connection.default_channel.queue_declare(queue=queue, passive=True).message_count
        except (OperationalError, *connection.connection_errors, *connection.channel_errors):
            return None


@shared_task
def recover_overdue_early_refunds() -> int:
    """Recover refunds paid early whose parcel missed its deadline. Safe to run twice, or twice at once."""
    from refunds.early_refunds import early_refunds_recover_overdue

    return early_refunds_recover_overdue()


@shared_task(acks_late=True)
def send_refund_method_changed(refund_id: int) -> None:
    """Kept only for messages queued before customer e-mails moved to the notifications outbox:
    it sends the fallback's notification (once, like any other). Remove after a release."""
    from notifications.choices import NotificationEvent
    from notifications.services import notification_record
    from refunds.models import Refund

    return_request_id = Refund.objects.filter(pk=refund_id).values_list("return_request_id", flat=True).first()
    if return_request_id is not None:
        notification_record(return_request_id=return_request_id, event=NotificationEvent.REFUND_FALLBACK)
