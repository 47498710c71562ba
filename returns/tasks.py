from celery import shared_task
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from returns.carriers import CarrierUnavailable


@shared_task(bind=True, max_retries=10, acks_late=True)
def request_label(self, return_request_id: int, retry: bool = True) -> None:
    from returns.services import return_issue_label

    try:
        return_issue_label(return_request_id=return_request_id)
    except CarrierUnavailable as exc:
        if not retry:
            return  # re-driven by the sweeper, which tries again on its next run
        raise self.retry(exc=exc, countdown=min(3600, 30 * 2 ** self.request.retries)) from exc


@shared_task
def sweep_pending_labels(older_than_seconds: int = 1800) -> int:
    """Ask again for labels still pending: the message was lost (the broker was down at approval)
    or the carrier outlasted the retries. One try each, so runs never pile up retry chains."""
    from returns.choices import LabelStatus, ReturnStatus
    from returns.models import ReturnRequest

    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    ids = list(ReturnRequest.objects.filter(status=ReturnStatus.AUTHORIZED, label_status=LabelStatus.PENDING,
                                            authorized_at__lt=cutoff).values_list("pk", flat=True))
    for return_request_id in ids:
        request_label.delay(return_request_id, retry=False)
    return len(ids)


@shared_task
def expire_unshipped_returns() -> int:
    """Authorised returns with no carrier scan within the allowed days expire; expiring one
    records the label-not-scanned fraud signal against its customer."""
    from core.errors import InvalidTransition
    from returns.choices import ReturnStatus
    from returns.models import ReturnRequest
    from returns.services import return_expire

    cutoff = timezone.now() - timezone.timedelta(days=settings.RETURNS["LABEL_SCAN_DAYS"])
    stale = ReturnRequest.objects.filter(status=ReturnStatus.AUTHORIZED, authorized_at__lt=cutoff)
    count = 0
    for pk in stale.values_list("pk", flat=True):
        try:
            return_expire(return_request=pk)
        except InvalidTransition:
            continue  # scanned or cancelled since the query: nothing to expire, the others still are
        count += 1
    return count


@shared_task(bind=True, acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=5, retry_backoff_max=600,
             retry_jitter=True, max_retries=8)
def process_inbound_event(self, event_id: int) -> str:
    from returns.inbound import event_process

    event = event_process(event_id=event_id)
    return event.status if event else "missing"


@shared_task
def redrive_waiting_events(return_request_id: int) -> int:
    """The return was received: events that waited for that can go ahead."""
    from returns.choices import InboundEventStatus
    from returns.models import InboundEvent

    ids = list(InboundEvent.objects.filter(return_request_id=return_request_id, status=InboundEventStatus.WAITING)
               .values_list("pk", flat=True))
    for event_id in ids:
        process_inbound_event.delay(event_id)
    return len(ids)


@shared_task
def sweep_inbound_events(older_than_seconds: int = 120, waiting_days: int = 30) -> int:
    """Re-drive events a lost message left pending, and waiting ones whose trigger was lost."""
    from django.db.models import Q

    from returns.choices import InboundEventStatus
    from returns.models import InboundEvent

    now = timezone.now()
    stale = InboundEvent.objects.filter(
        Q(status=InboundEventStatus.PENDING)
        | Q(status=InboundEventStatus.WAITING, received_at__gte=now - timezone.timedelta(days=waiting_days)),
        received_at__lt=now - timezone.timedelta(seconds=older_than_seconds),
    )
    ids = list(stale.values_list("pk", flat=True))
    for event_id in ids:
        process_inbound_event.delay(event_id)
    return len(ids)
