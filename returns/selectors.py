"""Every read the returns app serves, from eligibility to the review queue."""

from dataclasses import dataclass

from django.db.models import F, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from core.storable import unstorable_text
from returns.choices import Resolution, ReturnStatus
from returns.models import GiftReceipt, ReturnLine, ReturnPolicy, ReturnReason, ReturnRequest

# Returns that no longer hold units: those units may be asked for again.
VOID_STATUSES = (ReturnStatus.REJECTED, ReturnStatus.CANCELLED, ReturnStatus.EXPIRED)


@dataclass(frozen=True)
class ClaimedUnits:
    units: int  # returned or requested in live returns
    for_money: int  # of those, the units not exchanged (refunds.selectors.units_returned_elsewhere)


def claimed_units(order_line_ids) -> dict[int, ClaimedUnits]:
    """Units per order line already returned or requested in a live return, in one aggregate:
    all of them (what may still be asked for) and those not exchanged (whether everything shipped
    has come back for money, which refunds the shipping).

    Once a parcel is received, what actually arrived counts (a short shipment frees the rest).
    """
    units = Coalesce(F("received_quantity"), F("quantity"))
    rows = (
        ReturnLine.objects.filter(order_line_id__in=list(order_line_ids))
        .exclude(return_request__status__in=VOID_STATUSES)
        .values("order_line_id")
        .annotate(claimed=Sum(units), for_money=Sum(units, filter=~Q(resolution=Resolution.EXCHANGE)))
    )
    return {row["order_line_id"]: ClaimedUnits(units=row["claimed"], for_money=row["for_money"] or 0)
            for row in rows}


def claimed_quantities(order_line_ids) -> dict[int, int]:
    """Units per order line already returned or requested in a live return (`claimed_units`)."""
    return {pk: claimed.units for pk, claimed in claimed_units(order_line_ids).items()}


def lines_on_record(order_line_ids) -> set[int]:
    """The order lines that a return (live or over, asked for or sent as a replacement) or a gift
    receipt names: their records keep them, so the OMS may not remove them from the order."""
    ids = list(order_line_ids)
    if not ids:
        return set()
    return {
        *ReturnLine.objects.filter(order_line_id__in=ids).values_list("order_line_id", flat=True),
        *ReturnLine.objects.filter(replacement_order_line_id__in=ids).values_list("replacement_order_line_id",
                                                                                  flat=True),
        *GiftReceipt.objects.filter(order_line_id__in=ids).values_list("order_line_id", flat=True),
    }


def returnable_quantities(order, *, claimed: dict[int, ClaimedUnits] | None = None) -> dict[int, int]:
    """Units per line of the order that may still be returned; `claimed` when the caller has it."""
    lines = list(order.lines.all())
    if claimed is None:
        claimed = claimed_units(line.pk for line in lines)
    return {line.pk: max(0, line.quantity_shipped - (claimed[line.pk].units if line.pk in claimed else 0))
            for line in lines}


def policies_by_category(categories, *, country=None) -> dict[str, ReturnPolicy]:
    """The policy for each category serving orders shipped to `country`, falling back to the
    market's default, then to the policies outside any market (`returns.markets`)."""
    from returns.markets import policies_for

    return policies_for(categories, country=country)


def active_reasons() -> QuerySet[ReturnReason]:
    return ReturnReason.objects.filter(active=True)


def review_queue() -> QuerySet[ReturnRequest]:
    return (ReturnRequest.objects.filter(status=ReturnStatus.REQUESTED)
            .select_related("order", "customer").order_by("requested_at"))


def returns_for_customer(customer) -> QuerySet[ReturnRequest]:
    """A customer's own returns; a gift recipient's return of their gift is the recipient's, not theirs."""
    return (ReturnRequest.objects.filter(customer=customer, gift_receipt__isnull=True).select_related("order")
            .prefetch_related("lines"))


# --- warehouse ---

def return_for_parcel(*, rma_number: str = "", tracking_number: str = "") -> int | None:
    """The return a parcel belongs to: by the RMA number on it, else by the carrier's tracking number."""
    if rma_number:
        found = ReturnRequest.objects.filter(rma_number__iexact=rma_number).values_list("pk", flat=True).first()
        if found is not None:
            return found
    if tracking_number:
        return (ReturnRequest.objects.filter(tracking_number=tracking_number).order_by("-requested_at")
                .values_list("pk", flat=True).first())
    return None


def latest_inspections(lines) -> dict:
    """The latest inspection revision of each of `lines`, by line id."""
    from returns.models import ReturnLineInspection

    rows = (ReturnLineInspection.objects.filter(return_line__in=[line.pk for line in lines])
            .order_by("return_line_id", "-revision").distinct("return_line_id"))
    return {row.return_line_id: row for row in rows}


def short_shipped_lines() -> QuerySet[ReturnLine]:
    """Lines of which fewer units arrived than the customer sent back, with `missing` units."""
    return (ReturnLine.objects.filter(received_quantity__lt=F("quantity"))
            .annotate(missing=F("quantity") - F("received_quantity"))
            .select_related("return_request", "order_line__product").order_by("-return_request__received_at"))


def unmatched_parcels() -> QuerySet:
    """The queue staff work through: parcels not linked to a return yet, oldest first."""
    from returns.models import UnmatchedParcel

    return UnmatchedParcel.objects.filter(return_request__isnull=True).prefetch_related("photos")


def returns_visible_to(user) -> QuerySet[ReturnRequest]:
    """Object-level authorisation: a customer sees their own, a partner its channel's, staff what
    their role lets them view. Anything else does not exist for the caller."""
    from core.actors import PartnerActor

    returns = ReturnRequest.objects.select_related("order", "customer", "refund").prefetch_related(
        Prefetch("lines", ReturnLine.objects.select_related("order_line__product", "reason", "replacement_product")))
    if isinstance(user, PartnerActor):
        return returns.filter(order__channel_id=user.channel_id)
    if user.is_staff:
        return returns if user.has_perm("returns.view_returnrequest") else returns.none()
    return returns.filter(customer=user, gift_receipt__isnull=True)


def returnable_lines(order, *, now=None) -> list[dict]:
    """Per order line: how many units can still be returned, until when, or why not."""
    from django.utils import timezone

    from orders.choices import RETURNABLE_ORDER_STATUSES
    from returns.markets import effective_window_days
    from returns.policies import return_by as last_moment_to_return

    now = now or timezone.now()
    lines = list(order.lines.select_related("product"))
    left = returnable_quantities(order)
    policies = policies_by_category({line.product.category for line in lines}, country=order.shipping_country)
    result = []
    for line in lines:
        window = effective_window_days(policies[line.product.category], order.shipping_country)
        return_by = last_moment_to_return(order.delivered_at, window) if order.delivered_at else None
        if order.status not in RETURNABLE_ORDER_STATUSES:
            why = "order_not_fulfilled"
        elif not line.product.returnable:
            why = "product_not_returnable"
        elif return_by is None:
            why = "order_not_delivered"
        elif now > return_by:
            why = "return_window_closed"
        elif left[line.pk] == 0:
            why = "nothing_left_to_return"
        else:
            why = ""
        result.append({
            "order_line": line, "quantity_shipped": line.quantity_shipped,
            "returnable_quantity": 0 if why else left[line.pk], "return_by": return_by, "window_days": window,
            "not_returnable_reason": why,
        })
    return result


def customer_return(*, customer, rma_number: str) -> ReturnRequest | None:
    """One of the customer's own returns by RMA number, with what its page shows; None for anyone else's."""
    if unstorable_text(str(rma_number)):  # a NUL in the URL: no RMA number has one
        return None
    return (ReturnRequest.objects.filter(customer=customer, rma_number=str(rma_number).upper(),
                                        gift_receipt__isnull=True)
            .select_related("order", "customer", "refund")
            .prefetch_related("lines__order_line__product", "lines__reason").first())


def return_timeline(return_request) -> list[dict]:
    """The states a return went through, oldest first, from its history rows: each change of
    status with when it happened, and when its label became ready. Who acted is left out."""
    from returns.choices import LabelStatus

    rows = return_request.history.order_by("history_date", "history_id").values_list(
        "history_date", "status", "label_status")
    events, last_status, label_ready = [], None, False
    for at, status, label_status in rows:
        if status != last_status:
            events.append({"kind": "status", "status": status, "at": at})
            last_status = status
        if label_status == LabelStatus.ISSUED and not label_ready:
            events.append({"kind": "label_issued", "status": status, "at": at})
            label_ready = True
    return events


def replacement_options(order, order_lines) -> dict[int, list[dict]]:
    """What each order line may be exchanged for, by order line id: the same item first, then the
    other products of its category (the shop's variants of it: sizes, colours, models) that have a
    price in the order's currency and stock to reserve. Each option says its price per unit, taxed
    as the customer was, and the difference with what they paid: positive, they pay; negative,
    they get it back. The same item is listed even when out of stock (`in_stock` says so): the
    customer is then offered money back or store credit instead."""
    from inventory.models import Product
    from inventory.selectors import available_to_reserve
    from returns.resolutions import replacement_terms

    order_lines = list(order_lines)
    categories = {line.product.category for line in order_lines}
    others = list(Product.objects.filter(category__in=categories, currency=order.currency, price__isnull=False)
                  .order_by("name", "sku"))
    left = available_to_reserve([*others, *(line.product for line in order_lines)])
    options = {}
    for line in order_lines:
        paid = line.unit_price + line.unit_tax
        choices = []
        for product in [line.product, *(p for p in others if p.category == line.product.category
                                         and p.pk != line.product_id and left[p.pk] > 0)]:
            terms = replacement_terms(line, product, currency=order.currency)
            if terms is None:
                continue
            unit_total = terms[0] + terms[1]
            choices.append({"product": product, "same": product.pk == line.product_id, "unit_total": unit_total,
                            "difference": unit_total - paid, "in_stock": left[product.pk] > 0})
        options[line.pk] = choices
    return options
