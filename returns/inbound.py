"""Services for carrier and warehouse events: stored once, processed once, in any order.

`event_accept` is what the webhook endpoints call: it stores the event under its source and
external id and queues it. `event_process` runs it through the same services people use. An
event that arrives before the step it depends on (an inspection before its receipt) waits and is
re-driven when the return is received; a periodic sweep re-drives what a lost message left behind.
"""

import json
import logging

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from core.errors import (
    Conflict,
    DomainError,
    ErrorList,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from core.storable import unstorable_text
from core.transitions import save_with_history
from returns import selectors, services
from returns.choices import (
    EVENT_KINDS_BY_SOURCE,
    SHIPPED_STATUSES,
    InboundEventKind,
    InboundEventStatus,
    ReturnStatus,
)
from returns.methods import verify_drop_off_token
from returns.models import InboundEvent, ReturnRequest

logger = logging.getLogger(__name__)

SCAN_CHANGES_NOTHING = (*SHIPPED_STATUSES, ReturnStatus.EXPIRED)


class NotReady(DomainError):
    """The event depends on a step that has not happened yet; it waits for it."""

    code = "waiting"
    http_status = 409


@transaction.atomic
def event_accept(*, source: str, external_id: str, kind: str, payload: dict) -> tuple[InboundEvent, bool]:
    """Store an event once per (source, external id) and queue it. Returns (event, created);
    the same id with another body is a conflict."""
    external_id = str(external_id or "").strip()
    errors = ErrorList()
    if source not in EVENT_KINDS_BY_SOURCE:
        errors.add("invalid_source", f"Source must be one of {', '.join(EVENT_KINDS_BY_SOURCE)}.", field="source")
    elif kind not in EVENT_KINDS_BY_SOURCE[source]:
        errors.add("invalid_kind", f"A {source} may send {', '.join(EVENT_KINDS_BY_SOURCE[source])}.", field="kind")
    if not external_id or len(external_id) > 200:
        errors.add("invalid_event_id", "Give the event's id (at most 200 characters).", field="external_id")
    try:
        payload = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    except (TypeError, ValueError):
        payload = None
    if not isinstance(payload, dict) or not payload:  # an empty one names no return, and the row refuses it
        errors.add("invalid_payload", "The payload must be a non-empty JSON object.", field="payload")
    elif unstorable_text(payload):
        errors.add("invalid_payload", unstorable_text(payload), field="payload")
    if unstorable_text(external_id):
        errors.add("invalid_event_id", unstorable_text(external_id), field="external_id")
    errors.raise_if_any()
    if kind == InboundEventKind.DROP_OFF_SCAN:
        # The counter hears at once whether the code is good: a forged or expired one is refused here.
        verify_drop_off_token(payload.get("code"))
    event, created = InboundEvent.objects.get_or_create(source=source, external_id=external_id,
                                                        defaults={"kind": kind, "payload": payload})
    if not created and (event.kind != kind or event.payload != payload):
        raise Conflict("This event id was already used for a different event.", code="event_id_reused")
    if event.status == InboundEventStatus.PENDING:
        _queue(event.pk)
    return event, created


def _queue(event_id: int) -> None:
    from returns.tasks import process_inbound_event

    transaction.on_commit(lambda: process_inbound_event.delay(event_id), robust=True)


@transaction.atomic
def event_process(*, event_id: int) -> InboundEvent | None:
    """Process one event, once: under a lock on the event, a processed event is left alone.

    A domain error fails the event (staff see why and may retry it); one that waits for an
    earlier step leaves it waiting. Anything else rolls back and is retried by the task.
    """
    event = InboundEvent.objects.select_for_update().filter(pk=event_id).first()
    if event is None or event.status == InboundEventStatus.PROCESSED:
        return event
    event.attempts += 1
    try:
        with transaction.atomic():
            HANDLERS[event.kind](event)
    except NotReady as exc:
        event.status, event.error_code, event.error = InboundEventStatus.WAITING, exc.code, exc.message
    except DomainError as exc:
        event.status, event.error_code, event.error = InboundEventStatus.FAILED, exc.code, exc.message
        logger.warning("inbound event failed", extra={"event_id": event.pk, "code": exc.code})
    else:
        event.status, event.error_code, event.error = InboundEventStatus.PROCESSED, "", ""
        event.processed_at = timezone.now()
    save_with_history(event, by=None, reason=event.status)
    return event


@transaction.atomic
def event_retry(*, event, by) -> InboundEvent:
    """Staff send a failed event through again (after fixing what made it fail)."""
    if by is None or not by.is_authenticated or not by.has_perm("returns.receive_returnrequest"):
        raise PermissionDenied("You may not retry warehouse and carrier events.")
    pk = event.pk if isinstance(event, InboundEvent) else event
    event = InboundEvent.objects.select_for_update().filter(pk=pk).first()
    if event is None:
        raise NotFound("No such event.", code="event_not_found")
    if event.status != InboundEventStatus.FAILED:
        raise ValidationFailed(f"Only a failed event can be retried; this one is {event.status}.",
                               code="event_not_failed")
    event.status = InboundEventStatus.PENDING
    save_with_history(event, by=by, reason="retry requested")
    _queue(event.pk)
    return event


# --- one handler per kind; each resolves the return, then calls the service people use ---

def _text(payload: dict, key: str, limit: int = 200) -> str:
    value = payload.get(key)
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise ValidationFailed(f"{key} must be a string.", code="invalid_payload")
    return str(value).strip()[:limit]


def _find_return(event: InboundEvent) -> ReturnRequest:
    rma_number, tracking_number = _text(event.payload, "rma_number"), _text(event.payload, "tracking_number")
    if not rma_number and not tracking_number:
        raise ValidationFailed("Name the return by its RMA or tracking number.", code="return_reference_required")
    pk = selectors.return_for_parcel(rma_number=rma_number, tracking_number=tracking_number)
    if pk is None:
        raise NotFound("No return has this RMA or tracking number.", code="return_not_found")
    event.return_request_id = pk
    return ReturnRequest.objects.get(pk=pk)


def _handle_carrier_scan(event: InboundEvent) -> None:
    return_request = _find_return(event)
    try:
        services.return_mark_in_transit(return_request=return_request, by=None,
                                        tracking_number=_text(event.payload, "tracking_number", 64))
    except InvalidTransition:
        # A scan for a parcel already on its way or in the warehouse changes nothing; nor does
        # one after the RMA expired (the receipt flags the late parcel).
        if ReturnRequest.objects.filter(pk=return_request.pk, status__in=SCAN_CHANGES_NOTHING).exists():
            return
        raise


def _handle_drop_off_scan(event: InboundEvent) -> None:
    """The counter scanned the customer's QR code: the carrier has the item, so this is the first
    carrier scan. The code's deadline was checked when the scan was accepted."""
    rma_number = verify_drop_off_token(event.payload.get("code"), check_expiry=False)
    pk = selectors.return_for_parcel(rma_number=rma_number)
    event.return_request_id = pk
    return_request = ReturnRequest.objects.get(pk=pk)
    try:
        services.return_mark_in_transit(return_request=return_request, by=None)
    except InvalidTransition:
        if ReturnRequest.objects.filter(pk=return_request.pk, status__in=SCAN_CHANGES_NOTHING).exists():
            return
        raise


def _handle_parcel_received(event: InboundEvent) -> None:
    quantities = event.payload.get("received_quantities")
    if quantities is not None and not isinstance(quantities, dict):
        raise ValidationFailed("received_quantities maps line ids to units.", code="invalid_received_quantity")
    receipt = services.parcel_receive(
        by=None, rma_number=_text(event.payload, "rma_number"),
        tracking_number=_text(event.payload, "tracking_number", 64), received_quantities=quantities,
        contents_note=_text(event.payload, "contents_note", 2000))
    event.return_request = receipt.return_request


def _handle_inspection(event: InboundEvent) -> None:
    inspections = event.payload.get("inspections")
    if not isinstance(inspections, dict) or not inspections:
        raise ValidationFailed("inspections maps line ids to their condition.", code="no_lines")
    return_request = _find_return(event)
    if return_request.received_at is None and return_request.status in services.RECEIVABLE_STATUSES:
        raise NotReady("Waiting for the parcel to be received.", code="awaiting_receipt")
    try:
        services.return_inspect(return_request=return_request, by=None, inspections=inspections)
    except InvalidTransition:
        # Checked after return_inspect waited for the return's lock: a concurrent delivery of
        # the same inspection may just have recorded it.
        if _repeats_recorded_inspection(return_request, inspections):
            return
        raise


def _repeats_recorded_inspection(return_request: ReturnRequest, inspections: dict) -> bool:
    lines = list(return_request.lines.all())
    latest = selectors.latest_inspections(lines)
    recorded = {str(pk): inspection.condition for pk, inspection in latest.items()}
    return all(isinstance(i, dict) and recorded.get(str(key)) == i.get("condition") for key, i in inspections.items())


HANDLERS = {
    InboundEventKind.CARRIER_SCAN: _handle_carrier_scan,
    InboundEventKind.DROP_OFF_SCAN: _handle_drop_off_scan,
    InboundEventKind.PARCEL_RECEIVED: _handle_parcel_received,
    InboundEventKind.INSPECTION: _handle_inspection,
}
