"""What a return's change of state means besides the change itself: its metrics and, for a
decision, an audit line. Connected in ReturnsConfig.ready() to django-fsm's post_transition (and
post_save for the creation), the one place returns change state; both act only once committed."""

from django.db import transaction
from django.utils import timezone

from core.audit import audit_event
from returns.choices import ReturnStatus
from returns.metrics import RMA_PROCESSING_DURATION, RMA_REQUESTS

# Transitions that are someone's decision about the return, and the audit event each writes.
DECISIONS = {"authorize": "return.approved", "reject": "return.rejected", "cancel": "return.cancelled"}


def return_created(sender, instance, created, raw=False, **kwargs) -> None:
    if created and not raw:
        status = instance.status
        transaction.on_commit(lambda: RMA_REQUESTS.labels(status).inc())


def return_transitioned(sender, instance, name, source, target, **kwargs) -> None:
    if "exception" in kwargs or source == target:
        return
    # Resolved: refunded, or closed without a refund (a refunded return that closes is not counted twice).
    resolved = target == ReturnStatus.REFUNDED or (target == ReturnStatus.CLOSED and source != ReturnStatus.REFUNDED)
    waited = (timezone.now() - instance.requested_at).total_seconds() if resolved and instance.requested_at else None

    def count() -> None:
        RMA_REQUESTS.labels(target).inc()
        if waited is not None:
            RMA_PROCESSING_DURATION.observe(waited)

    transaction.on_commit(count)
    if name in DECISIONS:
        audit_event(DECISIONS[name], by=getattr(instance, "_transition_by", None), rma=instance.rma_number,
                    return_id=instance.pk, from_status=source, to_status=target,
                    reason=getattr(instance, "_transition_reason", "") or instance.decision_reason,
                    fraud_score=instance.fraud_score)


def inspection_recorded(sender, instance, created, raw=False, **kwargs) -> None:
    """A revision after the first is a supervisor's correction of the inspection."""
    if not created or raw or instance.revision <= 1:
        return
    from returns.models import ReturnLineInspection, ReturnRequest

    line = instance.return_line
    previous = (ReturnLineInspection.objects.filter(return_line_id=line.pk, revision=instance.revision - 1)
                .values_list("condition", flat=True).first())
    rma = ReturnRequest.objects.filter(pk=line.return_request_id).values_list("rma_number", flat=True).first()
    audit_event("inspection.corrected", by=instance.inspected_by, rma=rma, return_id=line.return_request_id,
                return_line_id=line.pk, revision=instance.revision, from_condition=previous,
                to_condition=instance.condition, disposition=instance.disposition)
