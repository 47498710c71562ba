"""Refunds: created with their ledger entry, paid exactly once, retried, fallen back.

The gateway is called outside any database transaction. Before the call the refund is
claimed (processing, with a lease) and its idempotency key already stored; after it, the
outcome is settled under a row lock. A worker that dies in between leaves a lapsed lease that
the sweeper re-drives with the same key, so the gateway pays once.
"""

import logging
import random
import time
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from core import tracing
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.transitions import apply_transition, save_with_history
from orders.models import Payment
from orders.services import loyalty_reverse_for_return
from refunds import ledger
from refunds.calculations import calculate_refund
from refunds.choices import AttemptOutcome, GatewayOperation, RefundStatus
from refunds.gateways import GatewayError, GatewayTimeout, get_gateway
from refunds.gateways.base import CHARGE_TOO_OLD
from refunds.metrics import (
    EARLY_REFUNDS,
    GATEWAY_FAILURES,
    GATEWAY_LATENCY,
    REFUND_AMOUNT,
    REFUNDS_NEEDING_ATTENTION,
    REFUNDS_TOTAL,
)
from refunds.models import Refund, RefundAttempt
from refunds.ratelimit import gateway_slot
from refunds.selectors import refund_inputs_for_return, units_returned_elsewhere
from refunds.tracing import TracedGateway, process_span
from returns.choices import RefundMethod, RefundTiming

logger = logging.getLogger(__name__)


def _config(key: str):
    return settings.REFUNDS[key]


def _lock(refund) -> Refund:
    pk = refund.pk if isinstance(refund, Refund) else refund
    locked = Refund.objects.select_for_update().filter(pk=pk).first()
    if locked is None:
        raise NotFound("No such refund.", code="refund_not_found")
    return locked


def _lock_for_processing(refund_id: int, *, payment_method: bool = False) -> Refund | None:
    """The refund locked, with its return and order read in the same statement (not locked): what
    the transition's receivers, the ledger and the span need, without a query each."""
    refunds = Refund.objects.select_for_update(of=("self",)).select_related("return_request__order")
    if payment_method:
        refunds = refunds.annotate(payment_method=Subquery(
            Payment.objects.filter(gateway=OuterRef("gateway"), charge_reference=OuterRef("charge_reference"))
            .values("method")[:1]))
    return refunds.filter(pk=refund_id).first()


# --- creation ---

def refund_start_for_return(*, return_request) -> Refund | None:
    """Called inside the inspection's transaction, with the return locked and inspected.

    Nothing owed either way closes the return (an even exchange still posts its sale);
    otherwise the refund row, its idempotency key and its ledger entry are written together,
    and payment (or, for a dearer exchange, collection) is queued once they are committed.
    A refund already issued early is not issued again: see `early_refunds.early_refund_inspected`.
    """
    from refunds.early_refunds import early_refund_inspected
    from returns.services import return_close, return_mark_refund_pending

    if Refund.objects.filter(return_request=return_request, kept_replacement=True).exists():
        # A late parcel on a return that ended without it, whose early replacement is already being
        # charged: the return cannot hold a second settlement, so finance settles it by hand.
        return_close(return_request=return_request, reason="Late parcel: the kept replacement is charged; "
                                                           "finance settles what came back.")
        logger.warning("late parcel after a kept replacement was charged", extra={"rma": return_request.rma_number})
        return None
    early = Refund.objects.select_for_update().filter(return_request=return_request).first() \
        if return_request.refund_is_early else None
    if early is not None:
        return early_refund_inspected(return_request=return_request, refund=early)
    quote = calculate_refund(**refund_inputs_for_return(return_request))
    if quote.net <= 0 and quote.charge <= 0:
        ledger.post_exchange_settled(return_request=return_request, quote=quote)
        return_close(return_request=return_request, reason="Inspected: nothing is owed.")
        return None
    refund = refund_create(return_request=return_request, quote=quote, timing=RefundTiming.AFTER_INSPECTION,
                           reason="refund created on inspection")
    return_mark_refund_pending(return_request=return_request)
    return refund


def refund_create(*, return_request, quote, timing: str, reason: str) -> Refund:
    """Write the refund with its idempotency key and its ledger entry, reverse the loyalty points,
    and queue its payment for after the commit. The caller holds the return's lock."""
    order = return_request.order
    payment = order.payments.order_by("captured_at").first()
    method = return_request.refund_method
    store_credit_amount = quote.store_credit_amount
    if return_request.gift_receipt_id is not None:
        return _start_gift_card_refund(return_request, quote)
    if method == RefundMethod.ORIGINAL_PAYMENT and payment is None:
        # Nothing to refund to: credit, never nothing.
        method, store_credit_amount = RefundMethod.STORE_CREDIT, quote.net
    if store_credit_amount == quote.net and quote.charge == 0:
        method = RefundMethod.STORE_CREDIT  # every cent is store credit: the gateway has no part
    refund = Refund(
        return_request=return_request, customer=return_request.customer, method=method, currency=quote.currency,
        gross=quote.gross, restocking_fee=quote.restocking_fee, method_fee=quote.method_fee,
        shipping_refund=quote.shipping_refund,
        net=quote.net, store_credit_amount=store_credit_amount,
        store_credit_bonus=quote.store_credit_bonus if store_credit_amount else 0,
        replacement_total=quote.replacement_total, charge_amount=quote.charge, return_fees=quote.return_fees,
        breakdown=quote.as_dict(), timing=timing,
        gateway=payment.gateway if payment else "", charge_reference=payment.charge_reference if payment else "",
    )
    save_with_history(refund, by=None, reason=reason)
    ledger.post_refund_approved(refund)
    _reverse_loyalty(return_request, quote)
    transaction.on_commit(lambda: _enqueue(refund), robust=True)  # a lost message is re-driven by the sweeper
    return refund


def _start_gift_card_refund(return_request, quote) -> Refund:
    """A gift return: every cent goes to the recipient's gift card. Nothing reaches the
    purchaser's payment or store credit, whatever the return or its lines say. Always after
    inspection (see `early_refunds.early_refund_timing`); the caller moves the return on."""
    if return_request.refund_method != RefundMethod.GIFT_CARD or quote.charge or quote.store_credit_amount:
        raise ValidationFailed("A gift return is credited to a gift card only.", code="gift_return_gift_card_only")
    refund = Refund(
        return_request=return_request, customer=return_request.customer, method=RefundMethod.GIFT_CARD,
        currency=quote.currency, gross=quote.gross, restocking_fee=quote.restocking_fee,
        shipping_refund=quote.shipping_refund, net=quote.net, breakdown=quote.as_dict(),
    )
    save_with_history(refund, by=None, reason="gift card refund created on inspection")
    ledger.post_refund_approved(refund)
    _reverse_loyalty(return_request, quote)
    transaction.on_commit(lambda: _enqueue(refund), robust=True)
    return refund


def _reverse_loyalty(return_request, quote) -> None:
    order = return_request.order
    lines = {line.pk: line.order_line for line in return_request.lines.select_related("order_line")}
    # Exchanged units leave the customer with an order, and its points.
    returned_value = sum((a.gross for a in quote.lines if a.resolution != "exchange"), Decimal(0))
    previously = Decimal(0)
    order_lines = {line.pk: line for line in order.lines.all()}
    for order_line_id, units in units_returned_elsewhere(order=order, exclude_return=return_request).items():
        line = order_lines[order_line_id]
        previously += (line.unit_price + line.unit_tax) * units
    if lines:
        loyalty_reverse_for_return(order=order, return_request=return_request, returned_value=returned_value,
                                   previously_returned_value=previously)


def _enqueue(refund: Refund) -> None:
    from refunds.tasks import process_refund

    process_refund.apply_async((refund.pk,), {"gateway": refund.gateway})


# --- processing ---

@dataclass(frozen=True)
class Claim:
    refund_id: int
    attempt: int
    gateway: str
    charge_reference: str
    amount: Decimal
    currency: str
    idempotency_key: str
    operation: str = GatewayOperation.REFUND
    payment_method: str | None = None  # the original payment's, for the gateway span


@dataclass(frozen=True)
class ProcessResult:
    status: str
    retry_in: float | None = None


@tracing.traced("refund.process", lambda *, refund_id: {"refund.id": refund_id},
                result=lambda result: {"refund.status": result.status})
def refund_process(*, refund_id: int) -> ProcessResult:
    """Drive one refund one step: claim it, call the gateway, settle. Safe to call any number
    of times, from any number of workers at once."""
    refund, claim = _claim(refund_id)
    if claim is None:
        return ProcessResult(status=refund.status if refund else "missing")
    gateway = TracedGateway(get_gateway(), claim=claim)
    request = {"charge_ref": claim.charge_reference, "amount": str(claim.amount), "currency": claim.currency,
               "idempotency_key": claim.idempotency_key, "operation": claim.operation}
    with gateway_slot(claim.gateway or gateway.name) as granted:
        if not granted:
            # Every slot stayed taken (a gateway hanging, or a dead worker's slots not yet expired): this
            # claim's lease lapses and the sweeper re-drives it with the same key.
            logger.warning("no gateway slot in time", extra={"refund_id": refund_id, "gateway": claim.gateway})
            return ProcessResult(status=RefundStatus.PROCESSING)
        started_at = timezone.now()
        clock = time.monotonic()
        try:
            call = gateway.charge if claim.operation == GatewayOperation.CHARGE else gateway.refund
            result = call(charge_ref=claim.charge_reference, amount=claim.amount, currency=claim.currency,
                          idempotency_key=claim.idempotency_key)
            error = None
        except GatewayError as exc:
            result, error = None, exc
        latency = time.monotonic() - clock
    GATEWAY_LATENCY.labels(claim.gateway or gateway.name).observe(latency)
    RefundAttempt.objects.create(
        refund_id=claim.refund_id, number=claim.attempt, gateway=claim.gateway or gateway.name,
        operation=claim.operation, idempotency_key=claim.idempotency_key, request=request,
        response=result.raw if result else error.raw,
        outcome=_outcome(error), error_code=error.code if error else "", error_message=str(error or ""),
        latency_ms=int(latency * 1000), started_at=started_at,
    )
    return _settle(claim, result=result, error=error)


def _outcome(error: GatewayError | None) -> str:
    if error is None:
        return AttemptOutcome.SUCCEEDED
    if isinstance(error, GatewayTimeout):
        return AttemptOutcome.TIMEOUT
    return AttemptOutcome.TRANSIENT_ERROR if error.transient else AttemptOutcome.DECLINED


@transaction.atomic
def _claim(refund_id: int) -> tuple[Refund | None, Claim | None]:
    """The refund locked and, when it is the gateway's turn, what to send it. A refund paid some other
    way (store credit, gift card) is paid here; one that is not due is left as it is."""
    refund = _lock_for_processing(refund_id, payment_method=True)
    if refund is not None:
        attributes, links = process_span(refund)
        tracing.annotate(attributes, links=links)
    if refund is None or not _claimable(refund):
        return refund, None
    return refund, _start(refund)


def _start(refund: Refund) -> Claim | None:
    now = timezone.now()
    lease = None if refund.method == RefundMethod.CHEQUE else now + timezone.timedelta(
        seconds=_config("PROCESSING_LEASE_SECONDS"))
    reclaimed = refund.status == RefundStatus.PROCESSING
    apply_transition(refund, "start", by=None, reason="re-driven after a lapsed lease" if reclaimed else "processing",
                     lease_until=lease)
    if refund.method == RefundMethod.GIFT_CARD:
        _pay_by_gift_card(refund, now=now)
        return None
    ledger.post_store_credit(refund)  # the part the customer chose as store credit is theirs at once
    if refund.method == RefundMethod.STORE_CREDIT or refund.gateway_amount <= 0:
        _pay_by_store_credit(refund, now=now)
        return None
    if refund.method == RefundMethod.CHEQUE:
        return None  # finance writes the cheque and marks it issued
    if not refund.charge_reference:
        apply_transition(refund, "fail", by=None, reason="handed to finance: no payment on file",
                         code="no_payment_on_file", message="The order has no payment to charge or refund.",
                         needs_attention=True)
        return None
    return Claim(refund_id=refund.pk, attempt=refund.attempts, gateway=refund.gateway,
                 charge_reference=refund.charge_reference, amount=refund.gateway_amount, currency=refund.currency,
                 idempotency_key=str(refund.idempotency_key), operation=refund.gateway_operation,
                 payment_method=refund.payment_method)


def _claimable(refund: Refund) -> bool:
    from refunds.early_refunds import early_refund_held

    now = timezone.now()
    if early_refund_held(refund, now=now):
        logger.info("early refund held for its overdue parcel",
                    extra={"refund_id": refund.pk, "rma": refund.return_request.rma_number})
        return False
    if refund.status == RefundStatus.PENDING:
        return True
    if refund.status == RefundStatus.PROCESSING:
        return refund.lease_expires_at is not None and refund.lease_expires_at < now
    if refund.status == RefundStatus.FAILED:
        return not refund.needs_attention and refund.next_attempt_at is not None and refund.next_attempt_at <= now
    return False


@transaction.atomic
def _settle(claim: Claim, *, result, error: GatewayError | None) -> ProcessResult:
    refund = _lock_for_processing(claim.refund_id)
    if refund.status != RefundStatus.PROCESSING or refund.attempts != claim.attempt:
        # Another worker re-drove it after our lease lapsed; it settles with the same key.
        return ProcessResult(status=refund.status)
    now = timezone.now()
    if error is None:
        apply_transition(refund, "complete", by=None, reason="gateway confirmed", at=now,
                         gateway_reference=result.reference)
        if claim.operation == GatewayOperation.CHARGE:
            ledger.post_gateway_charge(refund)
        else:
            ledger.post_gateway_refund(refund)
        _finish(refund)
        return ProcessResult(status=refund.status)

    GATEWAY_FAILURES.labels(refund.gateway, error.code).inc()
    if error.code == CHARGE_TOO_OLD and claim.operation == GatewayOperation.REFUND:
        apply_transition(refund, "fail", by=None, reason=str(error), code=error.code, message=str(error))
        _fall_back(refund, method=RefundMethod.STORE_CREDIT, by=None,
                   reason="The gateway refuses partial refunds on old charges: paid as store credit.")
        return ProcessResult(status=refund.status)
    exhausted = refund.attempts >= _config("MAX_ATTEMPTS")
    if error.transient and not exhausted:
        delay = backoff_seconds(refund.attempts)
        apply_transition(refund, "fail", by=None, reason=f"attempt {refund.attempts} failed: {error.code}",
                         code=error.code, message=str(error), retry_at=now + timezone.timedelta(seconds=delay))
        return ProcessResult(status=refund.status, retry_in=delay)
    apply_transition(refund, "fail", by=None, reason=f"handed to finance: {error.code}", code=error.code,
                     message=str(error), needs_attention=True)
    REFUNDS_NEEDING_ATTENTION.labels(error.code).inc()
    rma = refund.return_request.rma_number if refund.return_request_id else None  # a goodwill refund has none
    logger.critical("refund needs finance", extra={"refund_id": refund.pk, "rma": rma,
                                                    "code": error.code, "attempts": refund.attempts})
    return ProcessResult(status=refund.status)


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter around the exponential value."""
    base = _config("BACKOFF_BASE_SECONDS") * 2 ** max(0, attempt - 1)
    return min(_config("BACKOFF_MAX_SECONDS"), base * random.uniform(0.5, 1.5))


def _pay_by_store_credit(refund: Refund, *, now) -> None:
    apply_transition(refund, "complete", by=None, reason="store credit issued", at=now)
    ledger.post_store_credit(refund)
    _finish(refund)


def _pay_by_gift_card(refund: Refund, *, now) -> None:
    """Issue the gift recipient's card for the whole refund; its code goes out by e-mail."""
    from core import codes
    from refunds.models import GiftCard

    return_request = refund.return_request
    nonce = codes.new_nonce()
    code = codes.code_from_nonce(nonce, purpose=GIFT_CARD_PURPOSE)
    gift_card = GiftCard(refund=refund, nonce=nonce, code_digest=codes.digest(code, purpose=GIFT_CARD_PURPOSE),
                         code_hint=code[-4:], currency=refund.currency, initial_amount=refund.net,
                         balance=refund.net, recipient_name=return_request.recipient_name,
                         recipient_email=return_request.recipient_email)
    save_with_history(gift_card, by=None, reason=f"issued for {return_request.rma_number}")
    ledger.post_gift_card(gift_card)
    apply_transition(refund, "complete", by=None, reason="gift card issued", at=now)
    _finish(refund)


GIFT_CARD_PURPOSE = "gift-card"


def gift_card_code(gift_card) -> str:
    """The code the recipient spends (derived again from the card's nonce; never stored)."""
    from core import codes

    return codes.code_from_nonce(gift_card.nonce, purpose=GIFT_CARD_PURPOSE)


def _finish(refund: Refund) -> None:
    from returns.services import return_mark_refunded

    # A goodwill refund has no return to move on; a kept replacement's return ended without its parcel.
    if refund.return_request_id is not None and not refund.kept_replacement:
        return_mark_refunded(return_request_id=refund.return_request_id,
                             early=refund.timing != RefundTiming.AFTER_INSPECTION)
    REFUNDS_TOTAL.labels(refund.paid_method).inc()
    if refund.timing != RefundTiming.AFTER_INSPECTION:
        EARLY_REFUNDS.labels(refund.timing).inc()
    REFUND_AMOUNT.labels(refund.currency).observe(float(refund.net))


def _fall_back(refund: Refund, *, method: str, by, reason: str) -> None:
    apply_transition(refund, "fall_back", by=by, reason=reason, to_method=method, at=timezone.now())
    if method == RefundMethod.STORE_CREDIT:
        ledger.post_fallback_store_credit(refund)
        _finish(refund)
    # The customer is told by the fallback's e-mail (notifications/receivers.py).


# --- finance ---

def _require_finance(by) -> None:
    if by is None or not by.is_authenticated or not by.has_perm("refunds.manage_refund"):
        raise PermissionDenied("Only finance may do this.")


def _refuse_if_held(refund: Refund) -> None:
    from refunds.early_refunds import early_refund_held

    if early_refund_held(refund, now=timezone.now()):
        raise ValidationFailed("This refund was to be paid before the goods came back, and the parcel has missed "
                               "its deadline: it is paid once the parcel is scanned or received.",
                               code="early_refund_held")


@transaction.atomic
def refund_retry(*, refund, by) -> Refund:
    """Finance sends a failed refund back to the gateway (same idempotency key)."""
    _require_finance(by)
    refund = _lock(refund)
    if refund.status != RefundStatus.FAILED:
        raise ValidationFailed(f"Only a failed refund can be retried; this one is {refund.status}.",
                               code="refund_not_failed")
    _refuse_if_held(refund)
    refund.needs_attention = False
    refund.next_attempt_at = timezone.now()
    save_with_history(refund, by=by, reason="retry requested by finance")
    transaction.on_commit(lambda: _enqueue(refund), robust=True)  # a lost message is re-driven by the sweeper
    return refund


@transaction.atomic
def refund_fall_back(*, refund, by, method: str, reason: str = "") -> Refund:
    """Finance pays a failed refund as store credit or by cheque instead."""
    _require_finance(by)
    if method not in (RefundMethod.STORE_CREDIT, RefundMethod.CHEQUE):
        raise ValidationFailed("Fall back to store credit or a cheque.", code="invalid_fallback_method")
    refund = _lock(refund)
    if refund.method == RefundMethod.GIFT_CARD:
        raise ValidationFailed("A gift return is paid only as the recipient's gift card.",
                               code="gift_return_gift_card_only")
    if refund.status != RefundStatus.FAILED:
        raise ValidationFailed(f"Only a failed refund can be paid another way; this one is {refund.status}.",
                               code="refund_not_failed")
    _refuse_if_held(refund)
    if refund.gateway_operation == GatewayOperation.CHARGE:
        raise ValidationFailed("This settlement collects from the customer: retry it, or settle the collection "
                               "(from store credit, paid by other means, or written off).",
                               code="collection_cannot_fall_back")
    last = refund.gateway_attempts.order_by("-id").first()
    if last is not None and last.outcome != AttemptOutcome.DECLINED:
        # A timeout or a 5xx does not say whether the money went out; paying another way could pay twice.
        raise ValidationFailed("The gateway's last answer was a timeout or an error, so it may have paid this "
                               "refund. Retry it (the same key cannot pay twice) until the gateway answers.",
                               code="gateway_outcome_unknown")
    _fall_back(refund, method=method, by=by, reason=reason or f"switched to {method} by finance")
    return refund


@transaction.atomic
def refund_mark_cheque_issued(*, refund, by, cheque_number: str) -> Refund:
    _require_finance(by)
    cheque_number = (cheque_number or "").strip()
    if not cheque_number:
        raise ValidationFailed("Enter the cheque number.", code="cheque_number_required")
    refund = _lock(refund)
    is_cheque = refund.method == RefundMethod.CHEQUE and refund.status == RefundStatus.PROCESSING
    is_fallback_cheque = refund.status == RefundStatus.FALLBACK and refund.fallback_method == RefundMethod.CHEQUE \
        and not refund.cheque_number
    if not (is_cheque or is_fallback_cheque):
        raise ValidationFailed("This refund is not waiting for a cheque.", code="refund_not_awaiting_cheque")
    refund.cheque_number = cheque_number[:50]
    if is_cheque:
        apply_transition(refund, "complete", by=by, reason=f"cheque {cheque_number} issued", at=timezone.now())
    else:
        refund.completed_at = timezone.now()
        save_with_history(refund, by=by, reason=f"cheque {cheque_number} issued")
    ledger.post_cheque(refund)
    _finish(refund)
    return refund
