"""Thin tasks: they take ids and call services. All are safe to run twice."""

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone


@shared_task(bind=True, acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=10, retry_backoff_max=900,
             retry_jitter=True, max_retries=8)
def apply_disposition(self, return_line_id: int, revision: int) -> int:
    """Move one return line's stock in its own transaction, so one failing line blocks no other;
    database errors (lock timeouts, a refused level) are retried with backoff."""
    from inventory.services import stock_apply_inspection

    return len(stock_apply_inspection(return_line_id=return_line_id, revision=revision))


@shared_task
def sweep_stock_dispositions(older_than_seconds: int = 300) -> int:
    """Re-drive lines whose stock never moved: retries ran out, or the message was lost."""
    from inventory.selectors import lines_awaiting_stock

    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    pending = list(lines_awaiting_stock(inspected_before=cutoff).values_list("pk", "latest_revision"))
    for return_line_id, revision in pending:
        apply_disposition.delay(return_line_id, revision)
    return len(pending)
