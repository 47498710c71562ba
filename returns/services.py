"""Every write to a return. Each service is atomic, locks what it changes and checks the actor.

`by` is the acting user, or None for the system itself (tasks and automatic decisions).
"""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import ErrorList, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from core.transitions import apply_transition, save_with_history
from fraud.services import customer_is_flagged, fraud_score_request
from orders.models import Order
from refunds.calculations import calculate_refund
from returns import selectors
from returns.choices import DISPOSITION_BY_CONDITION, Condition, LabelStatus, RefundMethod, ReturnStatus
from returns.models import ReturnLine, ReturnRequest
from returns.policies import (
    LINE_RULES,
    REQUEST_RULES,
    REVIEW_RULES,
    EligibilityContext,
    Outcome,
    RequestedLine,
)
from returns.rma import new_rma_number

logger = logging.getLogger(__name__)

CUSTOMER_REFUND_METHODS = (RefundMethod.ORIGINAL_PAYMENT, RefundMethod.STORE_CREDIT)


def _require_user(by) -> None:
    if by is None or not by.is_authenticated:
        raise PermissionDenied("Log in first.", code="not_authenticated")


def _lock(return_request) -> ReturnRequest:
    pk = return_request.pk if isinstance(return_request, ReturnRequest) else return_request
    locked = ReturnRequest.objects.select_for_update().filter(pk=pk).first()
    if locked is None:
        raise NotFound("No such return.", code="return_not_found")
    return locked


# --- request ---

@transaction.atomic
def return_request_create(
    *, by, order_id, lines: list[dict], refund_method: str = RefundMethod.ORIGINAL_PAYMENT, note: str = "",
) -> ReturnRequest:
    """Check eligibility under a lock on the order, create the return, score it, and authorise
    it at once unless a review rule sends it to a person.

    `lines` are dicts with `order_line_id`, `quantity`, `reason` (a reason code), optional `note`.
    """
    _require_user(by)
    now = timezone.now()
    acting_for_customer = not by.has_perm("returns.manage_returnrequest")
    order = Order.objects.select_for_update().filter(pk=order_id).first() if str(order_id).isdigit() else None
    if order is None or (acting_for_customer and order.customer_id != by.pk):
        raise NotFound("We could not find that order on your account.", code="order_not_found")

    requested = [
        RequestedLine(index=i, order_line_id=line.get("order_line_id"), quantity=line.get("quantity"),
                      reason_code=line.get("reason"), note=str(line.get("note") or "")[:500])
        for i, line in enumerate(lines or [])
    ]
    ctx = EligibilityContext(actor=by, order=order, lines=requested, now=now, acting_for_customer=acting_for_customer)
    for rule in REQUEST_RULES:
        verdict = rule(ctx)
        if verdict.outcome == Outcome.DENY:
            raise ValidationFailed(verdict.message, code=verdict.code)
    if refund_method not in CUSTOMER_REFUND_METHODS:
        raise ValidationFailed("Choose a refund to the original payment or store credit.",
                               code="invalid_refund_method")

    _resolve_lines(order, requested)
    errors = ErrorList()
    for line in requested:
        for rule in LINE_RULES:
            verdict = rule(ctx, line)
            if verdict.outcome == Outcome.DENY:
                errors.add(verdict.code, verdict.message, field=f"lines[{line.index}]")
                break
    errors.raise_if_any()

    return_request = _create_with_unique_rma(
        order=order, customer=order.customer, note=note[:2000], refund_method=refund_method,
        policy_snapshot=_policy_snapshot(requested), by=by,
    )
    ReturnLine.objects.bulk_create([
        ReturnLine(return_request=return_request, order_line=line.order_line, quantity=line.quantity,
                   reason=line.reason, customer_note=line.note)
        for line in requested
    ])

    ctx.amount = return_quote(return_request=return_request).net
    ctx.policies = list({line.policy.pk: line.policy for line in requested}.values())
    ctx.fraud_score = fraud_score_request(return_request=return_request, amount=ctx.amount)
    ctx.customer_flagged = customer_is_flagged(order.customer)
    ctx.review_threshold = settings.RETURNS["REVIEW_SCORE_THRESHOLD"]
    review = [v for v in (rule(ctx) for rule in REVIEW_RULES) if v.outcome == Outcome.REVIEW]
    return_request.fraud_score = ctx.fraud_score
    return_request.review_reasons = [{"code": v.code, "detail": v.message} for v in review]
    save_with_history(return_request, by=by, reason="scored")
    if not review:
        _authorize(return_request, by=None, reason="Authorised automatically: policy and risk allow it.")
    logger.info("return requested", extra={"rma": return_request.rma_number, "needs_review": bool(review)})
    return return_request


def _resolve_lines(order, requested: list[RequestedLine]) -> None:
    order_lines = {str(line.pk): line for line in order.lines.select_related("product")}
    reasons = {reason.code: reason for reason in selectors.active_reasons()}
    policies = selectors.policies_by_category({line.product.category for line in order_lines.values()})
    returnable = selectors.returnable_quantities(order)
    for line in requested:
        line.order_line = order_lines.get(str(line.order_line_id))
        line.reason = reasons.get(line.reason_code) if isinstance(line.reason_code, str) else None
        if line.order_line is not None:
            line.policy = policies[line.order_line.product.category]
            line.returnable_quantity = returnable[line.order_line.pk]


def _policy_snapshot(requested: list[RequestedLine]) -> dict:
    categories = {line.order_line.product.category: line.policy.snapshot() for line in requested}
    return {"categories": categories, "review_threshold": settings.RETURNS["REVIEW_SCORE_THRESHOLD"]}


def _create_with_unique_rma(*, by, **fields) -> ReturnRequest:
    for _ in range(5):
        return_request = ReturnRequest(rma_number=new_rma_number(), **fields)
        try:
            with transaction.atomic():
                save_with_history(return_request, by=by, reason="requested")
            return return_request
        except IntegrityError:
            if ReturnRequest.objects.filter(rma_number=return_request.rma_number).exists():
                continue
            raise
    raise RuntimeError("Could not allocate a unique RMA number")


def return_quote(*, return_request: ReturnRequest, store_credit: bool | None = None):
    """What this return pays out, by the same computation the refund commits."""
    from refunds.selectors import refund_inputs_for_return

    inputs = refund_inputs_for_return(return_request, store_credit=store_credit)
    return calculate_refund(**inputs)


# --- review ---

def _authorize(return_request: ReturnRequest, *, by, reason: str) -> None:
    apply_transition(return_request, "authorize", by=by, reason=reason, at=timezone.now())
    return_request.label_status = LabelStatus.PENDING
    save_with_history(return_request, by=by, reason="label requested")
    from returns.tasks import request_label

    pk = return_request.pk
    transaction.on_commit(lambda: request_label.delay(pk))


@transaction.atomic
def return_approve(*, return_request, by, reason: str = "") -> ReturnRequest:
    _require_user(by)
    return_request = _lock(return_request)
    _authorize(return_request, by=by, reason=reason.strip() or "Approved by a reviewer.")
    return_request.decision_reason = reason.strip()
    save_with_history(return_request, by=by, reason="decision recorded")
    return return_request


@transaction.atomic
def return_reject(*, return_request, by, reason: str) -> ReturnRequest:
    _require_user(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the return is rejected; the customer will see it.", code="reason_required")
    return_request = _lock(return_request)
    apply_transition(return_request, "reject", by=by, reason=reason, at=timezone.now(), decision=reason)
    return return_request


@transaction.atomic
def return_cancel(*, return_request, by, reason: str = "") -> ReturnRequest:
    """The customer (until the parcel is scanned) or an agent calls the return off."""
    _require_user(by)
    return_request = _lock(return_request)
    if not by.has_perm("returns.manage_returnrequest") and return_request.customer_id != by.pk:
        raise NotFound("No such return.", code="return_not_found")
    reason = (reason or "").strip() or "Cancelled by the customer."
    apply_transition(return_request, "cancel", by=by, reason=reason, at=timezone.now(), decision=reason)
    return return_request


# --- logistics ---

@transaction.atomic
def return_mark_in_transit(*, return_request, by=None, tracking_number: str = "") -> ReturnRequest:
    """The carrier's first scan. A scan for a return already past this point changes nothing."""
    return_request = _lock(return_request)
    if return_request.status != ReturnStatus.AUTHORIZED and return_request.shipped_at is not None:
        return return_request
    apply_transition(return_request, "ship", by=by, reason="carrier first scan", at=timezone.now())
    if tracking_number and not return_request.tracking_number:
        return_request.tracking_number = tracking_number[:64]
        save_with_history(return_request, by=by, reason="tracking number recorded")
    return return_request


@transaction.atomic
def return_expire(*, return_request, by=None) -> ReturnRequest:
    return_request = _lock(return_request)
    apply_transition(return_request, "expire", by=by, reason="No carrier scan within the allowed days.",
                     at=timezone.now())
    return return_request


@transaction.atomic
def return_receive(*, return_request, by, received_quantities: dict | None = None) -> ReturnRequest:
    """The warehouse has the parcel. `received_quantities` maps line ids to units that arrived
    (a short shipment); lines not named arrived complete."""
    return_request = _lock(return_request)
    lines = {str(line.pk): line for line in return_request.lines.select_for_update()}
    received = {str(k): v for k, v in (received_quantities or {}).items()}
    errors = ErrorList()
    for key, quantity in received.items():
        line = lines.get(key)
        if line is None:
            errors.add("line_not_in_return", "That line is not part of this return.", field=f"lines[{key}]")
        elif isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= line.quantity:
            errors.add("invalid_received_quantity",
                       f"Received quantity must be between 0 and {line.quantity}.", field=f"lines[{key}]")
    errors.raise_if_any()
    apply_transition(return_request, "receive", by=by, reason="parcel received", at=timezone.now())
    for key, line in lines.items():
        line.received_quantity = received.get(key, line.quantity)
        save_with_history(line, by=by, reason="received")
    if return_request.arrived_late:
        logger.warning("late parcel on an expired RMA", extra={"rma": return_request.rma_number})
    return return_request


@transaction.atomic
def return_inspect(*, return_request, by, inspections: dict) -> ReturnRequest:
    """Record the condition of each received line; when every line has one, the return is
    inspected and the refund starts.

    `inspections` maps line ids to `{"condition": ..., "notes": ...}`.
    """
    return_request = _lock(return_request)
    if return_request.status != ReturnStatus.RECEIVED:
        raise InvalidTransition(f"Cannot inspect a return that is {return_request.status}.",
                                code="returnrequest_cannot_inspect")
    if by is not None and not by.has_perm("returns.inspect_returnrequest"):
        raise PermissionDenied("You may not inspect returns.")
    lines = {str(line.pk): line for line in return_request.lines.select_for_update()}
    errors = ErrorList()
    for key, inspection in (inspections or {}).items():
        line = lines.get(str(key))
        condition = (inspection or {}).get("condition") if isinstance(inspection, dict) else None
        if line is None:
            errors.add("line_not_in_return", "That line is not part of this return.", field=f"lines[{key}]")
        elif condition not in Condition.values:
            errors.add("invalid_condition", f"Condition must be one of {', '.join(Condition.values)}.",
                       field=f"lines[{key}]")
        elif line.received_quantity == 0:
            errors.add("nothing_received", "Nothing of this line arrived, so there is nothing to inspect.",
                       field=f"lines[{key}]")
    if not inspections:
        errors.add("no_lines", "Give the condition of at least one line.")
    errors.raise_if_any()
    now = timezone.now()
    for key, inspection in inspections.items():
        line = lines[str(key)]
        line.condition = inspection["condition"]
        line.disposition = DISPOSITION_BY_CONDITION[line.condition]
        line.inspection_notes = str(inspection.get("notes") or "")[:2000]
        line.inspected_at = now
        save_with_history(line, by=by, reason=f"inspected: {line.condition}")
    if return_request.all_lines_inspected():
        apply_transition(return_request, "inspect", by=by, reason="every line inspected", at=now)
        from refunds.services import refund_start_for_return

        refund_start_for_return(return_request=return_request)
    return return_request


# --- money follows ---

def return_mark_refund_pending(*, return_request: ReturnRequest) -> None:
    """Called by the refunds app, inside its transaction, once the refund row exists."""
    apply_transition(return_request, "issue_refund", by=None, reason="refund issued")


def return_mark_refunded(*, return_request_id) -> ReturnRequest:
    """Called by the refunds app, inside its transaction, when the refund has been paid."""
    return_request = _lock(return_request_id)
    apply_transition(return_request, "complete_refund", by=None, reason="refund completed")
    return return_request


@transaction.atomic
def return_close(*, return_request, by=None, reason: str = "") -> ReturnRequest:
    return_request = _lock(return_request)
    apply_transition(return_request, "close", by=by, reason=reason or "closed", at=timezone.now())
    return return_request


# --- label ---

def return_issue_label(*, return_request_id) -> None:
    """Ask the carrier for a label outside any transaction, then store it. Safe to run twice."""
    from returns.carriers import get_carrier

    return_request = ReturnRequest.objects.filter(pk=return_request_id).first()
    if return_request is None or return_request.label_status != LabelStatus.PENDING:
        return
    label = get_carrier().create_label(rma_number=return_request.rma_number)
    with transaction.atomic():
        return_request = _lock(return_request_id)
        if return_request.label_status != LabelStatus.PENDING:
            return
        return_request.carrier = label.carrier
        return_request.tracking_number = label.tracking_number
        return_request.label_status = LabelStatus.ISSUED
        save_with_history(return_request, by=None, reason="label issued")

