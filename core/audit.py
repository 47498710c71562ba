"""The audit log: one JSON line on the `audit` logger for every decision (approve, reject, cancel,
refund outcome, inspection correction), written once the decision is committed.

The database keeps the full history (django-simple-history); this is the stream a SIEM or a
log search reads. Each line names the event, the actor, the RMA and the request and trace it
happened in.
"""

import logging

from django.db import transaction
from opentelemetry import trace

from core import logcontext
from core.actors import PartnerActor

audit_logger = logging.getLogger("audit")


def actor_fields(by) -> dict:
    if by is None:
        return {"actor_type": "system", "actor": "system"}
    if isinstance(by, PartnerActor):
        return {"actor_type": "partner", "actor": f"partner:{by.partner}", "actor_id": by.pk}
    return {"actor_type": "staff" if getattr(by, "is_staff", False) else "customer",
            "actor": by.get_username(), "actor_id": by.pk}


def audit_event(event: str, *, by=None, **fields) -> None:
    """Write the audit line for `event` when the current transaction commits (at once outside one).
    The request, task and trace it happened in are captured now, while they are current."""
    context = trace.get_current_span().get_span_context()
    extra = {key: value for key, value in logcontext.current().items() if key != "request"}
    request = logcontext.current().get("request")
    if context.is_valid:
        extra.update(trace_id=format(context.trace_id, "032x"), span_id=format(context.span_id, "016x"))
    extra.update(actor_fields(by))
    extra.update({key: value for key, value in fields.items() if value is not None})
    extra["event"] = event
    user = logcontext.request_user(request) if request is not None else None
    if user is not None:
        extra["user_id"] = user.pk  # whose request it was, also when the system decided
    transaction.on_commit(lambda: audit_logger.info(event, extra=extra))
