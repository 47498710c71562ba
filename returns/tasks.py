from celery import shared_task
from django.conf import settings
from django.utils import timezone

from returns.carriers import CarrierUnavailable


@shared_task(bind=True, max_retries=10, acks_late=True)
def request_label(self, return_request_id: int) -> None:
    from returns.services import return_issue_label

    try:
        return_issue_label(return_request_id=return_request_id)
    except CarrierUnavailable as exc:
        raise self.retry(exc=exc, countdown=min(3600, 30 * 2 ** self.request.retries)) from exc


@shared_task
def expire_unshipped_returns() -> int:
    """Authorised returns with no carrier scan within the allowed days expire."""
    from returns.choices import ReturnStatus
    from returns.models import ReturnRequest
    from returns.services import return_expire

    cutoff = timezone.now() - timezone.timedelta(days=settings.RETURNS["LABEL_SCAN_DAYS"])
    stale = ReturnRequest.objects.filter(status=ReturnStatus.AUTHORIZED, authorized_at__lt=cutoff)
    count = 0
    for pk in stale.values_list("pk", flat=True):
        return_expire(return_request=pk)
        count += 1
    return count
