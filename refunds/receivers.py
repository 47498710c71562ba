"""Audit lines for a refund's outcomes, from django-fsm's post_transition (see RefundsConfig.ready)."""

from core.audit import audit_event
from core.money import round_money
from refunds.choices import RefundStatus

OUTCOMES = {RefundStatus.COMPLETED: "refund.completed", RefundStatus.FAILED: "refund.failed",
            RefundStatus.FALLBACK: "refund.fallback"}


def refund_transitioned(sender, instance, name, source, target, **kwargs) -> None:
    if "exception" in kwargs or source == target or target not in OUTCOMES:
        return
    from returns.models import ReturnRequest

    if type(instance).return_request.is_cached(instance):
        rma = getattr(instance.return_request, "rma_number", None)  # a goodwill refund has no return
    else:
        rma = ReturnRequest.objects.filter(pk=instance.return_request_id).values_list("rma_number", flat=True).first()
    fields = {"rma": rma, "return_id": instance.return_request_id, "refund_id": instance.pk, "from_status": source,
              "to_status": target, "amount": str(round_money(instance.net, instance.currency)),
              "currency": instance.currency, "method": instance.paid_method, "attempts": instance.attempts,
              "reason": getattr(instance, "_transition_reason", "")}
    if target == RefundStatus.COMPLETED:
        fields["gateway_reference"] = instance.gateway_reference or None
    elif target == RefundStatus.FAILED:
        fields.update(failure_code=instance.failure_code, will_retry=instance.next_attempt_at is not None
                      and not instance.needs_attention, needs_attention=instance.needs_attention)
    audit_event(OUTCOMES[target], by=getattr(instance, "_transition_by", None), **fields)
