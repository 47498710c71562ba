"""What a returned line earns besides money back: an exchange, or keeping the item (returnless).

`returns.services` calls these at each step of the return, inside its transaction and with the
return locked: stock for a replacement is reserved when the return is authorised and released
when it ends without the exchange; the replacement order is placed when the parcel arrives (at
once for a trusted customer where the policy ships before receipt, or when the customer keeps
everything); a return whose every line is returnless skips shipping and inspection. Staff change
a line's resolution here until the return is inspected. The money of every resolution is
decided in one place, `refunds.calculations.calculate_refund`.
"""

import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from core.money import round_money
from core.transitions import apply_transition, save_with_history
from returns.choices import Resolution, ReturnStatus
from returns.models import ReturnLine, ReturnRequest

logger = logging.getLogger(__name__)

# A line's resolution may change until the warehouse has inspected what came back.
CHANGEABLE_STATUSES = (ReturnStatus.REQUESTED, ReturnStatus.AUTHORIZED, ReturnStatus.IN_TRANSIT,
                       ReturnStatus.RECEIVED)
# Stock is held for a replacement from authorisation until the replacement is ordered.
RESERVING_STATUSES = (ReturnStatus.AUTHORIZED, ReturnStatus.IN_TRANSIT, ReturnStatus.RECEIVED)


# --- terms ---

def replacement_terms(order_line, product, *, currency: str) -> tuple[Decimal, Decimal] | None:
    """Price and tax per unit a replacement is sent at, or None when it cannot be offered.

    The same product goes at the price paid for it (an even swap). Another product goes at its
    price today, taxed at the rate the customer paid on the original (same address, same rules).
    """
    if product.pk == order_line.product_id:
        return order_line.unit_price, order_line.unit_tax
    if product.price is None or product.currency != currency:
        return None
    rate = order_line.unit_tax / order_line.unit_price if order_line.unit_price else Decimal(0)
    return product.price, round_money(product.price * rate, currency)


def line_value(order_line, quantity: int) -> Decimal:
    return (order_line.unit_price + order_line.unit_tax) * quantity


def is_returnless(order_line, quantity: int, policy) -> bool:
    """The policy lets lines worth less than its limit stay with the customer. `policy` is a
    ReturnPolicy or its snapshot."""
    limit = policy.get("returnless_below") if isinstance(policy, dict) else policy.returnless_below
    return limit is not None and line_value(order_line, quantity) < Decimal(limit)


# --- reservations ---

def _exchange_lines(return_request: ReturnRequest):
    # Locked in the order of the stock they reserve, so two returns never wait on each other.
    return list(return_request.lines.filter(resolution=Resolution.EXCHANGE)
                .select_for_update(of=("self",)).select_related("replacement_product", "order_line__product")
                .order_by("replacement_product_id", "pk"))


def exchange_reserve(return_request: ReturnRequest, *, by) -> None:
    """Hold the replacements' stock; a replacement out of stock stops the authorisation."""
    from inventory.services import stock_reserve

    for line in _exchange_lines(return_request):
        if line.replacement_order_line_id is None:
            try:
                stock_reserve(return_line=line, product=line.replacement_product, quantity=line.quantity, by=by)
            except ValidationFailed as error:
                raise ValidationFailed(
                    f"{error.message} Change line {line.pk} to a refund or store credit to go on.",
                    code=error.code) from None


def exchange_release(return_request: ReturnRequest, *, by, reason: str) -> None:
    """The return ended without its parcel: held stock goes back on sale, and a replacement a
    trusted customer was already sent is theirs to pay for (a collection through the gateway)."""
    from inventory.services import stock_release
    from refunds.collections import collection_start_for_kept_replacements

    kept = []
    for line in _exchange_lines(return_request):
        stock_release(return_line=line, by=by, reason=reason)
        if line.replacement_order_line_id is not None:
            kept.append(line)
    if kept:
        collection_start_for_kept_replacements(return_request=return_request, lines=kept, by=by, reason=reason)


# --- the replacement order ---

def exchange_dispatch(return_request: ReturnRequest, *, by, reason: str, lines=None):
    """Place the replacement order for exchanged lines not yet replaced (all, or `lines`), consume
    their reservations and tell the OMS. After receipt a line is replaced for the units that came
    back; before it (a trusted customer) for the units asked for. Returns the order, or None."""
    from django.db.models import Q

    from inventory.services import stock_consume, stock_release
    from orders.models import Order
    from orders.services import ReplacementLine, replacement_external_id, replacement_order_create

    wanted = {line.pk for line in lines} if lines is not None else None
    due = []
    for line in _exchange_lines(return_request):
        if line.replacement_order_line_id is not None or (wanted is not None and line.pk not in wanted):
            continue
        units = line.quantity if line.received_quantity is None or line.returnless else line.received_quantity
        if units == 0:
            stock_release(return_line=line, by=by, reason="nothing of the line arrived")
            continue
        due.append((line, units))
    if not due:
        return None
    original = return_request.order
    first = replacement_external_id(return_request.rma_number)
    earlier = Order.objects.filter(Q(external_id=first) | Q(external_id__startswith=first + "-"),
                                   channel_id=original.channel_id).count()
    external_id = replacement_external_id(return_request.rma_number, earlier + 1)
    order, rows = replacement_order_create(original=original, external_id=external_id, by=by, lines=[
        ReplacementLine(product=line.replacement_product, quantity=units, unit_price=line.replacement_unit_price,
                        unit_tax=line.replacement_unit_tax, line_id=str(line.pk))
        for line, units in due])
    rows_by_line = {row.external_id: row for row in rows}
    for line, units in due:
        stock_consume(return_line=line, quantity=units, by=by, note=f"Replacement {external_id}")
        line.replacement_order_line = rows_by_line[str(line.pk)]
        save_with_history(line, by=by, reason=f"replacement ordered: {external_id} ({reason})")
    _announce(order, return_request)
    logger.info("replacement ordered", extra={"rma": return_request.rma_number, "order": external_id})
    return order


def _announce(order, return_request: ReturnRequest) -> None:
    """The OMS learns of the order through the partners' signed webhooks (`exchange.order_created`),
    recorded in this transaction and sent after it commits."""
    from partners.events import replacement_order_data
    from partners.services import webhook_event_emit

    webhook_event_emit(event_type="exchange.order_created", channel_id=order.channel_id,
                       data=replacement_order_data(order, return_request))


def ships_before_receipt(return_request: ReturnRequest, line: ReturnLine) -> bool:
    policy = return_request.policy_for(line.order_line.product.category)
    return bool(policy.get("exchange_ship_before_receipt"))


def exchange_dispatch_early(return_request: ReturnRequest, *, by) -> None:
    """A trusted customer gets replacements at authorisation where the line's policy says so."""
    from fraud.selectors import customer_is_trusted

    early = [line for line in _exchange_lines(return_request) if ships_before_receipt(return_request, line)]
    if early and customer_is_trusted(return_request.customer):
        exchange_dispatch(return_request, by=by, lines=early,
                          reason="trusted customer: shipped before the parcel arrives")


# --- returnless ---

def return_keep(return_request: ReturnRequest, *, by=None) -> None:
    """Every line stays with the customer: no label, no parcel, no inspection, no stock moves.
    The return goes straight on to its money, as an inspected one does."""
    from refunds.services import refund_start_for_return

    apply_transition(return_request, "keep", by=by, reason="returnless: the customer keeps the items",
                     at=timezone.now())
    exchange_dispatch(return_request, by=by, reason="returnless")
    refund_start_for_return(return_request=return_request)
    return_request.refresh_from_db()


# --- staff change a line's resolution ---

@transaction.atomic
def return_line_change_resolution(*, line, by, resolution: str, replacement_sku: str | None = None,
                                  reason: str = "") -> ReturnLine:
    """Staff turn a line into a refund, store credit or an exchange (for `replacement_sku`, or the
    same product) until the return is inspected. Stock follows: a replacement is reserved at once
    when the return is authorised, and ordered at once when the parcel is already in."""
    from inventory.models import Product
    from inventory.services import stock_release, stock_reserve
    from returns.services import _lock, _require_user

    _require_user(by)
    if not by.has_perm("returns.manage_returnrequest"):
        raise PermissionDenied("You may not change how a return is resolved.")
    line_pk = line.pk if isinstance(line, ReturnLine) else line
    return_request_id = (ReturnLine.objects.filter(pk=line_pk).values_list("return_request_id", flat=True).first()
                         if str(line_pk).isdigit() else None)
    if return_request_id is None:
        raise NotFound("No such return line.", code="return_line_not_found")
    return_request = _lock(return_request_id, by)
    line = (ReturnLine.objects.select_for_update(of=("self",)).select_related("order_line__product")
            .get(pk=line_pk))
    if return_request.status not in CHANGEABLE_STATUSES:
        raise InvalidTransition(f"The return is {return_request.get_status_display().lower()}: its lines' "
                                "resolutions can no longer change.", code="resolution_locked")
    if resolution not in Resolution.values:
        raise ValidationFailed(f"Resolution must be one of {', '.join(Resolution.values)}.",
                               code="invalid_resolution")
    if return_request.is_gift and resolution != Resolution.REFUND:
        # An exchange's difference or store credit would fall to the purchaser, not the recipient.
        raise ValidationFailed("A gift return is credited to the recipient's gift card; it cannot be exchanged "
                               "or turned into store credit.", code="gift_return_gift_card_only")
    if line.replacement_order_line_id is not None:
        raise Conflict("The replacement for this line is already ordered.", code="replacement_already_ordered")
    if return_request.refund_is_early and return_request.has_refund():
        raise Conflict("This return was refunded early: its lines' resolutions can no longer change.",
                       code="refunded_early")

    product = None
    if resolution == Resolution.EXCHANGE:
        product = (Product.objects.filter(sku=replacement_sku).first() if replacement_sku
                   else line.order_line.product)
        if product is None:
            raise ValidationFailed(f"We have no product {replacement_sku}.", code="replacement_not_found")
        terms = replacement_terms(line.order_line, product, currency=return_request.order.currency)
        if terms is None:
            raise ValidationFailed(f"{product.name} cannot be sent as a replacement for this order.",
                                   code="replacement_not_offered")
        if (terms[0] + terms[1]) * line.quantity > line_value(line.order_line, line.quantity) \
                and not return_request.order.payments.exists():
            raise ValidationFailed("The order has no payment to collect the difference from.",
                                   code="exchange_needs_payment")
    elif replacement_sku:
        raise ValidationFailed("A replacement is only for an exchange.", code="replacement_needs_exchange")
    if line.resolution == resolution and line.replacement_product_id == getattr(product, "pk", None):
        return line

    before = line.resolution
    if before == Resolution.EXCHANGE:
        stock_release(return_line=line, by=by, reason=f"resolution changed to {resolution}")
    line.resolution = resolution
    line.replacement_product = product
    line.replacement_unit_price, line.replacement_unit_tax = terms if product is not None else (None, None)
    target = f"exchange for {product.sku}" if product is not None else resolution
    change = f"resolution changed: {before} → {target}" + (f": {reason}" if reason else "")
    save_with_history(line, by=by, reason=change[:100])  # the history's reason column holds 100 characters
    if product is not None and return_request.status in RESERVING_STATUSES:
        stock_reserve(return_line=line, product=product, quantity=line.quantity, by=by)
        if return_request.status == ReturnStatus.RECEIVED:
            exchange_dispatch(return_request, by=by, lines=[line], reason="changed to an exchange after receipt")
        elif ships_before_receipt(return_request, line):
            exchange_dispatch_early(return_request, by=by)
    return line
