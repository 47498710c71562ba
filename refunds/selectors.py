"""Reads for refunds: the facts the calculation needs, queues for finance, reconciliation."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from refunds.calculations import LineInput
from refunds.choices import RefundStatus
from refunds.models import Refund
from returns.choices import RefundMethod, ReturnStatus


def units_returned_elsewhere(*, order, exclude_return=None) -> dict[int, int]:
    """Units per order line that other live returns of the order have brought back (or hold) for
    money. Exchanged units are left out: the customer kept an order, so they neither bring the
    shipping back nor take loyalty points away."""
    from returns.choices import Resolution
    from returns.models import ReturnLine

    lines = ReturnLine.objects.filter(return_request__order_id=order.pk).exclude(resolution=Resolution.EXCHANGE)
    if exclude_return is not None:
        lines = lines.exclude(return_request=exclude_return)
    rows = (
        lines.exclude(return_request__status__in=(ReturnStatus.REJECTED, ReturnStatus.CANCELLED, ReturnStatus.EXPIRED))
        .values("order_line_id")
        .annotate(units=Sum(Coalesce(F("received_quantity"), F("quantity"))))
    )
    return {row["order_line_id"]: row["units"] for row in rows}


def refund_inputs_for_return(return_request, *, store_credit: bool | None = None,
                             elsewhere: dict[int, int] | None = None) -> dict:
    """Everything `calculate_refund` needs for this saved return, with its policy snapshot.
    `elsewhere`: `units_returned_elsewhere` when the caller has it already."""
    if store_credit is None:
        store_credit = return_request.refund_method == RefundMethod.STORE_CREDIT
    lines = return_request.lines.select_related("order_line__product", "replacement_order_line")
    chosen = return_request.policy_snapshot.get("return_method") or {}
    inputs = refund_inputs_for_lines(
        order=return_request.order, store_credit=store_credit, exclude_return=return_request, elsewhere=elsewhere,
        decision=return_request.rule_decision,
        return_method=return_request.return_method, method_fee=Decimal(chosen.get("fee") or 0),
        items=[(line.pk, line.order_line, line.refundable_quantity, line.condition,
                return_request.policy_for(line.order_line.product.category), Exchange.of(line)) for line in lines])
    if return_request.gift_receipt_id is not None:
        inputs["refund_shipping"] = False  # the purchaser paid the shipping; a gift card credits the items
    return inputs


@dataclass(frozen=True)
class Exchange:
    """How a line is resolved, and for an exchange what replaces it: units and price per unit."""

    resolution: str = "refund"
    quantity: int = 0
    unit_price: Decimal = Decimal(0)
    unit_tax: Decimal = Decimal(0)

    @classmethod
    def of(cls, line) -> "Exchange":
        """A saved return line: once its replacement is ordered, the units ordered count."""
        from returns.choices import Resolution

        if line.resolution != Resolution.EXCHANGE:
            return cls(resolution=line.resolution)
        ordered = line.replacement_order_line
        return cls(resolution=line.resolution,
                   quantity=ordered.quantity_ordered if ordered is not None else line.refundable_quantity,
                   unit_price=line.replacement_unit_price or Decimal(0),
                   unit_tax=line.replacement_unit_tax or Decimal(0))


def refund_inputs_for_lines(*, order, items, store_credit: bool, exclude_return=None, decision=None,
                            return_method: str = "", method_fee: Decimal = Decimal(0),
                            elsewhere: dict[int, int] | None = None) -> dict:
    """`items` are (key, order line, units, inspected condition or "", policy snapshot dict) and
    optionally an `Exchange` saying how the line is resolved (a refund when absent). `decision`
    is what the return rules decided (fees, waivers, bonus credit per order line); `method_fee`
    is the chosen return method's fee in the order's currency (`returns.methods`)."""
    from returns.choices import Resolution
    from rules.decisions import fees_of

    decision = decision or {}
    bonus = {line.get("order_line_id"): Decimal(line["bonus_percent"])
             for line in decision.get("lines") or () if line.get("bonus_percent")}
    restocking_waived = "restocking" in (decision.get("waived_fees") or ())

    items = [(*item, Exchange()) if len(item) == 5 else item for item in items]
    if elsewhere is None:
        elsewhere = units_returned_elsewhere(order=order, exclude_return=exclude_return)
    mine: dict[int, int] = {}
    for _, order_line, units, _, _, exchange in items:
        if exchange.resolution != Resolution.EXCHANGE:
            mine[order_line.pk] = mine.get(order_line.pk, 0) + units
    all_back = all(
        elsewhere.get(ol.pk, 0) + mine.get(ol.pk, 0) >= ol.quantity_shipped for ol in order.lines.all()
    )
    inputs = [
        LineInput(
            key=key,
            quantity=units,
            unit_price=order_line.unit_price,
            unit_tax=order_line.unit_tax,
            restocking_fee_percent=Decimal(policy["restocking_fee_percent"]),
            store_credit_bonus_percent=Decimal(policy["store_credit_bonus_percent"]),
            bonus_credit_percent=bonus.get(order_line.pk, Decimal(0)),
            fee_applies=bool(condition) and condition in policy["restocking_fee_conditions"] and not restocking_waived,
            resolution=exchange.resolution,
            replacement_quantity=exchange.quantity,
            replacement_unit_price=exchange.unit_price,
            replacement_unit_tax=exchange.unit_tax,
        )
        for key, order_line, units, condition, policy, exchange in items
    ]
    return {
        "currency": order.currency,
        "lines": inputs,
        "shipping_cost": order.shipping_cost,
        "refund_shipping": all_back,
        "store_credit": store_credit,
        "fees": fees_of(decision),
        "method_fee": method_fee,
        "return_method": return_method,
    }


def refunds_due_for_sweep(*, pending_stale_seconds: int) -> QuerySet[Refund]:
    """Refunds a lost message or a dead worker has left behind (not those held for their parcel)."""
    now = timezone.now()
    return Refund.objects.filter(
        Q(status=RefundStatus.PENDING, updated_at__lt=now - timezone.timedelta(seconds=pending_stale_seconds))
        | Q(status=RefundStatus.PROCESSING, lease_expires_at__lt=now)
        | Q(status=RefundStatus.FAILED, needs_attention=False, next_attempt_at__lte=now)
    ).exclude(method=RefundMethod.CHEQUE, status=RefundStatus.PROCESSING).exclude(early_refund_held_q(now=now))


def parcel_overdue_q(*, now) -> Q:
    """Refunds of returns refunded early whose parcel missed its deadline: not scanned within
    EARLY_REFUND_SCAN_DAYS of the authorisation (refunded at request), or not received within
    EARLY_REFUND_RECEIPT_DAYS of the first scan (refunded at request or at the scan).
    `early_refunds.parcel_overdue` is the same test for one return."""
    from datetime import timedelta

    from django.conf import settings

    from returns.choices import RefundTiming

    config = settings.RETURNS
    scan_by = now - timedelta(days=config["EARLY_REFUND_SCAN_DAYS"])
    receive_by = now - timedelta(days=config["EARLY_REFUND_RECEIPT_DAYS"])
    return (Q(timing=RefundTiming.AT_REQUEST, return_request__shipped_at__isnull=True,
              return_request__authorized_at__lt=scan_by)
            | Q(timing__in=(RefundTiming.AT_REQUEST, RefundTiming.FIRST_SCAN),
                return_request__shipped_at__lt=receive_by)) & Q(return_request__received_at__isnull=True)


def early_refunds_overdue(*, now) -> QuerySet[Refund]:
    """Refunds paid early, not yet recovered, whose parcel missed its deadline. One query;
    `early_refunds.missed_deadline` is the same test for one refund, under its lock."""
    return Refund.objects.filter(parcel_overdue_q(now=now), completed_at__isnull=False,
                                 early_recovery__isnull=True)


def early_refunds_held(*, now) -> QuerySet[Refund]:
    """Early refunds not paid yet that wait for their overdue parcel (`early_refunds.early_refund_held`)."""
    return Refund.objects.filter(early_refund_held_q(now=now))


def early_refund_held_q(*, now) -> Q:
    return parcel_overdue_q(now=now) & Q(status__in=(RefundStatus.PENDING, RefundStatus.FAILED))


def refunds_needing_attention() -> QuerySet[Refund]:
    return Refund.objects.filter(needs_attention=True).select_related("return_request", "customer")


def refunds_visible_to(user) -> QuerySet[Refund]:
    from core.actors import PartnerActor

    refunds = Refund.objects.select_related("return_request").prefetch_related("gateway_attempts")
    if isinstance(user, PartnerActor):
        return refunds.filter(return_request__order__channel_id=user.channel_id)
    if user.is_staff:
        return refunds if user.has_perm("refunds.view_refund") else refunds.none()
    return refunds.filter(customer=user)


def journal_entries_visible_to(user):
    from core.actors import PartnerActor
    from refunds.models import JournalEntry

    entries = JournalEntry.objects.select_related("return_request").prefetch_related("lines__account")
    if isinstance(user, PartnerActor):
        return entries.filter(return_request__order__channel_id=user.channel_id)
    if user.is_staff and user.has_perm("refunds.view_journalentry"):
        return entries
    return entries.none()
