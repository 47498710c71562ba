"""Walk a return through the services to any resting state, the way people and systems do.

Every step goes through a service (never a model transition), so a test that starts from,
say, `expired` starts from a return that really got there.
"""

from types import SimpleNamespace

from returns import services
from returns.choices import Condition
from returns.models import ReturnRequest

APPROVAL_REASON = "Photos match the order; approved."
REJECTION_REASON = "Worn and washed; not in a resaleable condition."
CANCEL_REASON = "Decided to keep it."
CLOSE_REASON = "Refund paid; nothing left to do."

# The service a person or system calls -> the ReturnRequest transition behind it.
TRANSITION = {
    "approve": "authorize", "reject": "reject", "cancel": "cancel", "ship": "ship", "expire": "expire",
    "receive": "receive", "inspect": "inspect", "close": "close",
}

# Who normally does it: a `people` attribute, or None for the system (tasks, carrier webhooks).
USUAL_ACTOR = {
    "approve": "reviewer", "reject": "reviewer", "cancel": "customer", "ship": None, "expire": None,
    "receive": "warehouse", "inspect": "warehouse", "close": "reviewer",
}

# From `requested` to each resting state; "pay" is an inspection whose refund is then paid.
PATH = {
    "requested": (),
    "authorized": ("approve",),
    "rejected": ("reject",),
    "cancelled": ("cancel",),
    "in_transit": ("approve", "ship"),
    "expired": ("approve", "expire"),
    "received": ("approve", "ship", "receive"),
    "refund_pending": ("approve", "ship", "receive", "inspect"),
    "refunded": ("approve", "ship", "receive", "pay"),
    "closed": ("approve", "ship", "receive", "pay", "close"),
}
RESTING_STATES = tuple(PATH)


def act(action: str, return_request: ReturnRequest, by) -> ReturnRequest:
    """Call the service behind `action` as `by` (None: the system)."""
    rr = return_request
    if action == "approve":
        return services.return_approve(return_request=rr, by=by, reason=APPROVAL_REASON)
    if action == "reject":
        return services.return_reject(return_request=rr, by=by, reason=REJECTION_REASON)
    if action == "cancel":
        return services.return_cancel(return_request=rr, by=by, reason=CANCEL_REASON)
    if action == "ship":
        return services.return_mark_in_transit(return_request=rr, by=by, tracking_number="1ZSCAN0001")
    if action == "expire":
        return services.return_expire(return_request=rr, by=by)
    if action == "receive":
        return services.return_receive(return_request=rr, by=by)
    if action == "inspect":
        inspections = {line.pk: {"condition": Condition.NEW} for line in rr.lines.all()}
        return services.return_inspect(return_request=rr, by=by, inspections=inspections)
    if action == "close":
        return services.return_close(return_request=rr, by=by, reason=CLOSE_REASON)
    raise ValueError(action)


def actor(people: SimpleNamespace, action: str):
    name = USUAL_ACTOR[action]
    return None if name is None else getattr(people, name)


def drive(return_request: ReturnRequest, state: str, *, people, capture_on_commit) -> ReturnRequest:
    """Take a `requested` return to `state` through the services."""
    for step in PATH[state]:
        if step == "pay":
            # The refund is paid by a task queued on commit; run it as the broker would.
            with capture_on_commit(execute=True):
                act("inspect", return_request, actor(people, "inspect"))
        else:
            act(step, return_request, actor(people, step))
    return_request.refresh_from_db()
    assert return_request.status == state, f"could not reach {state}"
    return return_request


def status_changes(return_request: ReturnRequest) -> list[tuple[str, object, str]]:
    """(status, history_user, history_change_reason) of each history row that changed the status."""
    changes, previous = [], None
    for row in return_request.history.order_by("history_id"):
        if row.status != previous:
            changes.append((row.status, row.history_user, row.history_change_reason))
            previous = row.status
    return changes


def audit_rows(return_request: ReturnRequest) -> int:
    """History rows of the return and of its lines."""
    return return_request.history.count() + sum(line.history.count() for line in return_request.lines.all())
