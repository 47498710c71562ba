"""Thin tasks: they take ids and call services. All are safe to run twice."""

import time

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from core.money import round_money


@shared_task(bind=True, acks_late=True, max_retries=None)
def process_refund(self, refund_id: int) -> str:
    from refunds.models import Refund
    from refunds.ratelimit import take_token
    from refunds.services import refund_process

    gateway = Refund.objects.filter(pk=refund_id).values_list("gateway", flat=True).first() or "default"
    wait = take_token(gateway)
    while wait and self.request.is_eager:
        time.sleep(wait)
        wait = take_token(gateway)
    if wait:  # over the gateway's rate: wait in the queue, not in a worker
        raise self.retry(countdown=wait)
    result = refund_process(refund_id=refund_id)
    if result.retry_in is not None:
        process_refund.apply_async((refund_id,), countdown=result.retry_in or None)
    return result.status


@shared_task
def sweep_stuck_refunds() -> int:
    """Re-drive refunds that a lost message or a dead worker left behind."""
    from refunds.selectors import refunds_due_for_sweep

    ids = list(refunds_due_for_sweep(pending_stale_seconds=settings.REFUNDS["PENDING_STALE_SECONDS"])
               .values_list("pk", flat=True))
    for refund_id in ids:
        process_refund.delay(refund_id)
    return len(ids)


@shared_task(acks_late=True)
def send_refund_method_changed(refund_id: int) -> None:
    from refunds.models import Refund

    refund = Refund.objects.select_related("customer", "return_request").get(pk=refund_id)
    if not refund.customer.email:
        return
    method = refund.get_fallback_method_display().lower()
    net = round_money(refund.net, refund.currency)
    bonus = round_money(refund.store_credit_bonus, refund.currency)
    send_mail(
        subject=f"Your refund for {refund.return_request.rma_number} is coming as {method}",
        message=(f"We could not send {net} {refund.currency} back to your original payment method, "
                 f"so we are paying it as {method} instead."
                 + (f" Your store credit now includes a bonus of {bonus}."
                    if refund.store_credit_bonus else "")),
        from_email=None,
        recipient_list=[refund.customer.email],
    )
