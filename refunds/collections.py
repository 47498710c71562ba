"""Collections: money the customer owes us, taken through the gateway like a refund the other way.

A dearer exchange collects its difference (refunds.services). A trusted customer sent a
replacement before their parcel, whose return then ends without it (expired or cancelled), is
charged for the replacement they kept. Either is a `Refund` that charges: the same exactly-once
gateway machinery, retries and finance queue. A collection the card keeps declining (or with no
card on file) is settled by finance: from the customer's store credit, as paid by other means
with a reference, or written off with a reason. Each has its own ledger entry and history row.
"""

import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.money import round_money
from core.transitions import apply_transition, save_with_history
from refunds import ledger
from refunds.choices import AttemptOutcome, CollectionSettlement, RefundStatus
from refunds.models import Account, Refund
from returns.choices import RefundMethod

logger = logging.getLogger(__name__)

SETTLE_METHODS = (CollectionSettlement.STORE_CREDIT, CollectionSettlement.OTHER_MEANS)


# --- a replacement kept without the return ---

def collection_start_for_kept_replacements(*, return_request, lines, by, reason: str) -> Refund | None:
    """Called inside the transaction that ends `return_request` (locked) without its parcel:
    charge the customer for the replacements already sent for `lines`. Written with its ledger
    entry; the charge is queued after the commit and the customer is told."""
    from notifications.choices import NotificationEvent
    from notifications.services import notification_record
    from refunds.services import _enqueue

    existing = Refund.objects.filter(return_request=return_request).first()
    if existing is not None:
        return existing
    currency = return_request.order.currency
    kept = [(line, line.replacement_order_line.quantity_ordered) for line in lines]
    total = round_money(sum(((line.replacement_unit_price + line.replacement_unit_tax) * units
                             for line, units in kept), Decimal(0)), currency)
    if total <= 0:
        return None
    payment = return_request.order.payments.order_by("captured_at").first()
    refund = Refund(
        return_request=return_request, customer=return_request.customer, method=RefundMethod.ORIGINAL_PAYMENT,
        currency=currency, gross=0, net=0, replacement_total=total, charge_amount=total, kept_replacement=True,
        breakdown={"currency": currency, "kept_replacement": str(total), "charge": str(total), "lines": [
            {"key": line.pk, "replacement_sku": line.replacement_product.sku, "quantity": units,
             "replacement": str(round_money((line.replacement_unit_price + line.replacement_unit_tax) * units,
                                            currency))}
            for line, units in kept]},
        gateway=payment.gateway if payment else "", charge_reference=payment.charge_reference if payment else "",
    )
    save_with_history(refund, by=by, reason=f"replacement kept: {reason}"[:100])
    ledger.post_refund_approved(refund)
    notification_record(return_request_id=return_request.pk, event=NotificationEvent.REPLACEMENT_CHARGED)
    transaction.on_commit(lambda: _enqueue(refund), robust=True)  # a lost message is re-driven by the sweeper
    logger.warning("replacement kept without a return: charging", extra={
        "rma": return_request.rma_number, "refund_id": refund.pk, "amount": str(total)})
    return refund


# --- finance settles a collection the gateway could not make ---

def _require_settler(by) -> None:
    if by is None or not by.is_authenticated or not by.has_perm("refunds.settle_collection"):
        raise PermissionDenied("Only finance or a supervisor may settle a collection.")


def _open_collection(refund) -> Refund:
    pk = refund.pk if isinstance(refund, Refund) else refund
    locked = Refund.objects.select_for_update().filter(pk=pk).first() if str(pk).isdigit() else None
    if locked is None:
        raise NotFound("No such refund.", code="refund_not_found")
    if locked.charge_amount <= 0:
        raise ValidationFailed("This refund pays the customer; there is nothing to collect.",
                               code="not_a_collection")
    if locked.status in (RefundStatus.COMPLETED, RefundStatus.FALLBACK, RefundStatus.WRITTEN_OFF):
        raise Conflict(f"This collection is already settled ({locked.get_status_display().lower()}).",
                       code="collection_already_settled")
    if locked.status != RefundStatus.FAILED:
        raise ValidationFailed(f"Only a collection the gateway failed to make can be settled; this one is "
                               f"{locked.status}.", code="collection_not_failed")
    last = locked.gateway_attempts.order_by("-id").first()
    if last is not None and last.outcome != AttemptOutcome.DECLINED:
        # A timeout or a 5xx does not say whether the card was charged; settling now could take it twice.
        raise ValidationFailed("The gateway's last answer was a timeout or an error, so it may have charged the "
                               "card. Retry it (the same key cannot charge twice) until the gateway answers.",
                               code="gateway_outcome_unknown")
    return locked


def _finish(refund: Refund) -> None:
    from refunds.services import _finish as finish_refund

    finish_refund(refund)


@transaction.atomic
def collection_settle(*, refund, by, method: str, reference: str = "") -> Refund:
    """Collect a declined collection another way: from the customer's store credit (when it covers
    the whole amount), or as paid by other means, with the payment's reference."""
    _require_settler(by)
    if method not in SETTLE_METHODS:
        raise ValidationFailed("Deduct it from store credit or record a payment by other means.",
                               code="invalid_settlement_method")
    reference = (reference or "").strip()
    if method == CollectionSettlement.OTHER_MEANS and not reference:
        raise ValidationFailed("Enter the payment's reference (a bank transfer's, say).",
                               code="reference_required")
    refund = _open_collection(refund)
    if method == CollectionSettlement.STORE_CREDIT:
        # The balance is read under the account's lock, so two deductions cannot both spend it.
        Account.objects.select_for_update().filter(code=f"store_credit:{refund.customer_id}").first()
        balance = ledger.store_credit_balance(refund.customer, refund.currency)
        if balance < refund.charge_amount:
            raise ValidationFailed(f"The customer has {balance} {refund.currency} of store credit, less than the "
                                   f"{refund.charge_amount} owed.", code="store_credit_insufficient")
    how = CollectionSettlement(method)
    apply_transition(refund, "settle_collection", by=by, reason=f"collection settled: {how.label.lower()}"[:100],
                     how=method, reference=reference[:100], at=timezone.now())
    ledger.post_collection_settled(refund)
    _finish(refund)
    logger.info("collection settled", extra={"refund_id": refund.pk, "method": method})
    return refund


@transaction.atomic
def collection_write_off(*, refund, by, reason: str) -> Refund:
    """Give up a collection: what the customer owed becomes an expense, with the reason on record."""
    _require_settler(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the collection is written off; it is kept on record.",
                               code="reason_required")
    refund = _open_collection(refund)
    apply_transition(refund, "write_off", by=by, reason=f"written off: {reason}"[:100], note=reason[:2000],
                     at=timezone.now())
    ledger.post_collection_written_off(refund)
    _finish(refund)
    logger.info("collection written off", extra={"refund_id": refund.pk})
    return refund
