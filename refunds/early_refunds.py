"""Early refunds: paid when the return is authorised, at the carrier's first scan or at receipt,
before anyone has checked the goods, and recovered when the goods do not earn them.

The refund is the same exactly-once refund as any other (one per return, its idempotency key,
its ledger entry, its task on commit), issued earlier. The return keeps following its parcel;
inspecting it closes it (or, when the payment is still under way, waits for it as usual).

A refund paid early whose parcel is not scanned or not received by the deadline, or whose goods
fail inspection (short, or damaged or unsellable without a damage claim), is recovered: the
unearned amount becomes a receivable in the ledger, the return gets a fraud signal, and the
customer loses early refunds. One recovery per refund, however often or concurrently it is tried.
"""

import logging
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import PermissionDenied, ValidationFailed
from core.transitions import apply_transition, save_with_history
from refunds import ledger
from refunds.calculations import calculate_refund
from refunds.choices import RecoveryCause, RecoveryStatus
from refunds.metrics import EARLY_REFUND_RECOVERIES
from refunds.models import EarlyRefundRecovery, EarlyRefundRevocation, Refund
from refunds.selectors import Exchange, refund_inputs_for_lines, refund_inputs_for_return
from returns.choices import EARLY_REFUND_TIMINGS, Condition, RefundMethod, RefundTiming
from rules.engine import timing_label

logger = logging.getLogger(__name__)

T = RefundTiming

FAILED_CONDITIONS = (Condition.DAMAGED, Condition.UNSELLABLE)


# --- when a return's refund is paid ---

def early_refunds_revoked(customer) -> EarlyRefundRevocation | None:
    """The customer's standing revocation, if they have lost early refunds."""
    return EarlyRefundRevocation.objects.filter(customer=customer, restored_at__isnull=True).first()


def early_refund_timing(*, customer, wanted: str, exchanges: bool = False, returnless: bool = False,
                        gift: bool = False) -> tuple[str, str]:
    """When a new return of `customer` is refunded, given the timing the rules chose (`wanted`),
    and why, in words the customer sees. A customer who lost early refunds, an exchange (settled
    once the items are checked), a return kept whole (refunded when authorised anyway) and a gift
    return (a gift card to someone with no account to recover it from) are refunded after
    inspection whatever the rules say."""
    if wanted not in T.values:
        raise ValidationFailed(f"Refund timing must be one of {', '.join(T.values)}.", code="invalid_refund_timing")
    if wanted == T.AFTER_INSPECTION:
        return wanted, timing_label(wanted)
    revoked = early_refunds_revoked(customer)
    if revoked is not None:
        return T.AFTER_INSPECTION, (f"Refunded once the items are inspected: early refunds were withdrawn on "
                                    f"{revoked.revoked_at:%Y-%m-%d} ({revoked.reason}).")[:300]
    if gift:
        return T.AFTER_INSPECTION, "The gift card is sent once the items are inspected."
    if exchanges:
        return T.AFTER_INSPECTION, "Refunded once the items are inspected: exchanges are settled then."
    if returnless:
        return T.AFTER_INSPECTION, "Nothing comes back: refunded as soon as the return is authorised."
    return wanted, timing_label(wanted)


def refund_issue_early(*, return_request, reached: str) -> Refund | None:
    """The return (locked by the caller) has reached `reached` (authorised: at_request; the first
    scan; receipt): issue its refund now if its timing says so and it has none yet.

    The amount is the quote for what is on its way: no restocking fee (no condition is known) and,
    once received, only what arrived. A return that owes nothing, or collects the difference of
    an exchange, waits for inspection as usual.
    """
    from refunds.services import refund_create

    timing = return_request.refund_timing
    if timing not in EARLY_REFUND_TIMINGS or EARLY_REFUND_TIMINGS.index(timing) > EARLY_REFUND_TIMINGS.index(reached):
        return None
    if Refund.objects.filter(return_request=return_request).exists():
        return None
    quote = calculate_refund(**refund_inputs_for_return(return_request))
    if quote.net <= 0 or quote.charge > 0:
        return None
    return refund_create(return_request=return_request, quote=quote, timing=timing,
                         reason=f"refund issued early ({T(timing).label.lower()})")


# --- inspection of a return refunded early ---

def early_refund_inspected(*, return_request, refund: Refund) -> Refund:
    """The return (locked, just inspected) was refunded early (its refund locked too). Goods that
    failed inspection are recovered; then the return closes if the refund is paid, or waits for
    the payment under way. Nothing is paid again; a restocking fee is not charged afterwards."""
    from returns.services import return_close, return_mark_refund_pending

    shortfall = _inspection_shortfall(return_request, refund)
    if shortfall is not None and not EarlyRefundRecovery.objects.filter(refund=refund).exists():
        amount, evidence = shortfall
        _recover(return_request, refund, cause=RecoveryCause.INSPECTION_FAILED, amount=amount, evidence=evidence)
    if refund.completed_at is not None:
        return_close(return_request=return_request, reason="Inspected: the refund was paid early.")
    else:
        return_mark_refund_pending(return_request=return_request)
    return refund


def _inspection_shortfall(return_request, refund: Refund) -> tuple[Decimal, dict] | None:
    """What the goods earned by the policy, from what arrived and its condition: a line damaged or
    unsellable that the customer did not say arrived damaged earns nothing. None when every line
    arrived whole and sound (a fee the condition would carry is then waived)."""
    failed = []
    items = []
    for line in return_request.lines.select_related("order_line__product", "reason", "replacement_order_line"):
        if line.returnless:
            received, bad = line.quantity, False
        else:
            received = line.refundable_quantity
            bad = line.condition in FAILED_CONDITIONS and not line.reason.claims_damage
        if received < line.quantity:
            failed.append({"line": line.pk, "sku": line.order_line.product.sku, "requested": line.quantity,
                           "received": received})
        if bad:
            failed.append({"line": line.pk, "sku": line.order_line.product.sku, "condition": line.condition})
        items.append((line.pk, line.order_line, 0 if bad else received, line.condition,
                       return_request.policy_for(line.order_line.product.category), Exchange.of(line)))
    if not failed:
        return None
    earned = calculate_refund(**refund_inputs_for_lines(
        order=return_request.order, items=items, exclude_return=return_request,
        store_credit=return_request.refund_method == RefundMethod.STORE_CREDIT))
    unearned = refund.net - earned.net
    if unearned <= 0:
        return None
    return unearned, {"failed_lines": failed, "paid": str(refund.net), "earned": str(earned.net)}


# --- deadlines ---

def missed_deadline(return_request, refund: Refund, *, now) -> tuple[str, dict] | None:
    """Why a refund paid early is overdue now, or None. `selectors.early_refunds_overdue` is the same
    test for every refund at once."""
    if refund.completed_at is None:
        return None
    return parcel_overdue(return_request, timing=refund.timing, now=now)


def parcel_overdue(return_request, *, timing: str, now) -> tuple[str, dict] | None:
    """Why the parcel of a return refunded early (at `timing`) has missed its deadline, or None:
    refunded at request and the parcel not scanned within EARLY_REFUND_SCAN_DAYS of the authorisation,
    or refunded by the first scan and the parcel not received within EARLY_REFUND_RECEIPT_DAYS of that
    scan. `selectors.parcel_overdue_q` is the same test in SQL."""
    config = settings.RETURNS
    if return_request.received_at is not None:
        return None
    if timing == T.AT_REQUEST and return_request.shipped_at is None:
        deadline = return_request.authorized_at + timedelta(days=config["EARLY_REFUND_SCAN_DAYS"])
        if deadline < now:
            return RecoveryCause.NOT_SCANNED, {"authorized_at": return_request.authorized_at.isoformat(),
                                               "deadline": deadline.isoformat()}
    if timing in (T.AT_REQUEST, T.FIRST_SCAN) and return_request.shipped_at is not None:
        deadline = return_request.shipped_at + timedelta(days=config["EARLY_REFUND_RECEIPT_DAYS"])
        if deadline < now:
            return RecoveryCause.NOT_RECEIVED, {"shipped_at": return_request.shipped_at.isoformat(),
                                                "deadline": deadline.isoformat(),
                                                "tracking_number": return_request.tracking_number}
    return None


def early_refund_held(refund: Refund, *, now) -> bool:
    """Whether an early refund not paid yet (pending, or failed and waiting for a retry or for finance)
    waits for its parcel: the parcel missed its deadline, so paying now would pay for goods that may
    never come. It is paid once the parcel is scanned or received (the sweeper picks it up again).
    A refund in processing is not held: its gateway call may already have paid, and only re-driving
    it with the same key finds out. `selectors.early_refunds_held` is the same test in SQL."""
    from refunds.choices import RefundStatus

    return (refund.status in (RefundStatus.PENDING, RefundStatus.FAILED) and refund.return_request_id is not None
            and refund.timing in EARLY_REFUND_TIMINGS
            and parcel_overdue(refund.return_request, timing=refund.timing, now=now) is not None)


@transaction.atomic
def early_refund_recover_overdue(*, return_request) -> EarlyRefundRecovery | None:
    """Recover the return's early refund if its parcel missed its deadline. Safe to run any number
    of times and at once with a late scan: both lock the return, and whichever comes second sees
    what the first did (a scan in time, or the recovery already made)."""
    from returns.models import ReturnRequest

    pk = getattr(return_request, "pk", return_request)
    locked = ReturnRequest.objects.select_for_update().filter(pk=pk).first()
    if locked is None:
        return None
    refund = Refund.objects.select_for_update().filter(return_request=locked).first()
    if refund is None or refund.timing == T.AFTER_INSPECTION or EarlyRefundRecovery.objects.filter(
            refund=refund).exists():
        return None
    missed = missed_deadline(locked, refund, now=timezone.now())
    if missed is None:
        return None
    cause, evidence = missed
    return _recover(locked, refund, cause=cause, amount=refund.net, evidence={**evidence, "paid": str(refund.net)})


def early_refunds_recover_overdue() -> int:
    """Every refund paid early whose parcel missed its deadline, found by one query and each
    recovered in its own transaction. Returns how many were recovered."""
    from refunds.selectors import early_refunds_overdue

    ids = list(early_refunds_overdue(now=timezone.now()).order_by("pk").values_list("return_request_id", flat=True))
    return sum(1 for pk in ids if early_refund_recover_overdue(return_request=pk) is not None)


# --- the recovery ---

def _recover(return_request, refund: Refund, *, cause: str, amount: Decimal, evidence: dict) -> EarlyRefundRecovery:
    """Book the receivable, record the fraud signal and withdraw early refunds from the customer.
    The caller holds the return's and the refund's locks and has checked there is no recovery."""
    from fraud.choices import Stage
    from fraud.services import fraud_early_refund_unearned

    now = timezone.now()
    recovery = EarlyRefundRecovery(refund=refund, return_request=return_request, customer_id=refund.customer_id,
                                   cause=cause, amount=amount, currency=refund.currency, evidence=evidence)
    save_with_history(recovery, by=None, reason=f"early refund not earned: {cause}")
    ledger.post_early_refund_unearned(recovery)
    stage = Stage.INSPECTION if cause == RecoveryCause.INSPECTION_FAILED else Stage.SHIPPING
    fraud_early_refund_unearned(return_request=return_request, stage=stage,
                                evidence={"cause": cause, "amount": str(amount), "currency": refund.currency,
                                          **evidence})
    _revoke(refund.customer_id, recovery=recovery, at=now,
            reason=f"{recovery.get_cause_display()} on {return_request.rma_number}")
    transaction.on_commit(lambda: EARLY_REFUND_RECOVERIES.labels(cause).inc())
    logger.warning("early refund not earned", extra={"rma": return_request.rma_number, "cause": cause,
                                                     "amount": str(amount), "currency": refund.currency})
    return recovery


def _revoke(customer_id: int, *, recovery: EarlyRefundRecovery, at, reason: str) -> EarlyRefundRevocation:
    revocation = EarlyRefundRevocation.objects.select_for_update().filter(customer_id=customer_id).first()
    if revocation is None:
        revocation = EarlyRefundRevocation(customer_id=customer_id, recovery=recovery, reason=reason[:300],
                                           revoked_at=at)
        try:
            with transaction.atomic():
                save_with_history(revocation, by=None, reason=f"early refunds withdrawn: {reason}"[:100])
            return revocation
        except IntegrityError:  # another return of the customer withdrew them a moment ago
            revocation = EarlyRefundRevocation.objects.select_for_update().get(customer_id=customer_id)
    if revocation.active:
        return revocation
    revocation.recovery, revocation.reason, revocation.revoked_at = recovery, reason[:300], at
    revocation.restored_at = revocation.restored_by = None
    save_with_history(revocation, by=None, reason=f"early refunds withdrawn again: {reason}"[:100])
    return revocation


# --- staff ---

SETTLEMENTS = {RecoveryStatus.REPAID: "repaid", RecoveryStatus.WRITTEN_OFF: "write_off"}


def _require_user(by) -> None:
    if by is None or not by.is_authenticated:
        raise PermissionDenied("Log in first.", code="not_authenticated")


@transaction.atomic
def early_refund_settle(*, recovery, by, outcome: str, note: str) -> EarlyRefundRecovery:
    """Finance clears the receivable: the customer paid it back (`repaid`), or it is written off
    (`written_off`). The whole amount, once, with a note for the record."""
    _require_user(by)
    if outcome not in SETTLEMENTS:
        raise ValidationFailed("Record it as repaid or written off.", code="invalid_settlement")
    note = (note or "").strip()
    if not note:
        raise ValidationFailed("Say how it was paid back or why it is written off.", code="note_required")
    pk = getattr(recovery, "pk", recovery)
    locked = EarlyRefundRecovery.objects.select_for_update().filter(pk=pk).first() if str(pk).isdigit() else None
    if locked is None:
        from core.errors import NotFound

        raise NotFound("No such early refund recovery.", code="early_recovery_not_found")
    apply_transition(locked, SETTLEMENTS[outcome], by=by, reason=f"{outcome}: {note}"[:100], at=timezone.now(),
                     settled_by=by, note=note[:2000])
    ledger.post_early_refund_settled(locked)
    return locked


@transaction.atomic
def early_refunds_restore(*, customer, by, reason: str) -> EarlyRefundRevocation:
    """A supervisor gives a customer early refunds back (their receivable stays as it is)."""
    _require_user(by)
    if not by.has_perm("refunds.restore_early_refunds"):
        raise PermissionDenied("You may not give early refunds back.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the customer gets early refunds back.", code="reason_required")
    revocation = EarlyRefundRevocation.objects.select_for_update().filter(
        customer=customer, restored_at__isnull=True).first()
    if revocation is None:
        raise ValidationFailed("This customer has not lost early refunds.", code="early_refunds_not_revoked")
    revocation.restored_at, revocation.restored_by = timezone.now(), by
    save_with_history(revocation, by=by, reason=f"early refunds restored: {reason}"[:100])
    return revocation
