"""Every read the returns app serves, from eligibility to the review queue."""

from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from returns.choices import ReturnStatus
from returns.models import ReturnLine, ReturnPolicy, ReturnReason, ReturnRequest

# Returns that no longer hold units: those units may be asked for again.
VOID_STATUSES = (ReturnStatus.REJECTED, ReturnStatus.CANCELLED, ReturnStatus.EXPIRED)


def claimed_quantities(order_line_ids) -> dict[int, int]:
    """Units per order line already returned or requested in a live return.

    Once a parcel is received, what actually arrived counts (a short shipment frees the rest).
    """
    rows = (
        ReturnLine.objects.filter(order_line_id__in=list(order_line_ids))
        .exclude(return_request__status__in=VOID_STATUSES)
        .values("order_line_id")
        .annotate(claimed=Sum(Coalesce(F("received_quantity"), F("quantity"))))
    )
    return {row["order_line_id"]: row["claimed"] for row in rows}


def returnable_quantities(order) -> dict[int, int]:
    lines = list(order.lines.all())
    claimed = claimed_quantities(line.pk for line in lines)
    return {line.pk: max(0, line.quantity_shipped - claimed.get(line.pk, 0)) for line in lines}


def policies_by_category(categories) -> dict[str, ReturnPolicy]:
    """The policy for each category, falling back to the default (category-less) policy."""
    matching = ReturnPolicy.objects.filter(Q(category__in=list(categories)) | Q(category=None))
    rows = {policy.category or "": policy for policy in matching}
    default = rows.get("")
    return {category: rows.get(category, default) for category in categories} | {"": default}


def active_reasons() -> QuerySet[ReturnReason]:
    return ReturnReason.objects.filter(active=True)


def review_queue() -> QuerySet[ReturnRequest]:
    return (ReturnRequest.objects.filter(status=ReturnStatus.REQUESTED)
            .select_related("order", "customer").order_by("requested_at"))


def returns_for_customer(customer) -> QuerySet[ReturnRequest]:
    return ReturnRequest.objects.filter(customer=customer).select_related("order").prefetch_related("lines")
