"""Reads for the back-office: the review queue's rows, its filters and search, and a return's
page with the timeline of every change made to it.

Every read here is a fixed number of queries whatever the number of returns, lines or history
rows: the queue annotates its columns in SQL, a return's page loads each kind of row once.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.postgres.aggregates import StringAgg
from django.db.models import DecimalField, Exists, F, IntegerField, Max, OuterRef, Prefetch, Q, QuerySet, Sum

from returns.choices import ReturnStatus
from returns.models import ReturnLine, ReturnLineInspection, ReturnReason, ReturnRequest, UnmatchedParcel

# Why a return waits for a person, in words; the codes come from returns.policies.REVIEW_RULES.
REVIEW_REASON_LABELS = {
    "policy_manual_review": "Policy: always reviewed",
    "above_auto_approve_limit": "Above auto-approve limit",
    "high_fraud_score": "High fraud score",
    "customer_flagged": "Customer flagged",
    "rule_review": "Return rule",
}
MANUAL_REVIEW_CODE = "policy_manual_review"
# Scores from here up to the review threshold are worth a second look (amber); above it, red.
FRAUD_AMBER_FROM = 40


def review_sla() -> timedelta:
    return timedelta(hours=settings.RETURNS["REVIEW_SLA_HOURS"])


def fraud_bands() -> dict[str, tuple[str, int, int]]:
    """Band name → (label, lowest score, first score above the band)."""
    red_from = settings.RETURNS["REVIEW_SCORE_THRESHOLD"]
    return {
        "low": (f"Low (under {FRAUD_AMBER_FROM})", 0, FRAUD_AMBER_FROM),
        "medium": (f"Medium ({FRAUD_AMBER_FROM}–{red_from - 1})", FRAUD_AMBER_FROM, red_from),
        "high": (f"High ({red_from} and over)", red_from, 101),
    }


def fraud_band(score: int | None) -> str:
    if score is None:
        return "unscored"
    for band, (_, low, high) in fraud_bands().items():
        if low <= score < high:
            return band
    return "high"


# --- the review queue ---

class CheckedPerRow(Exists):
    """EXISTS that PostgreSQL checks row by row instead of turning it into a semi-join.

    As a semi-join, "has a line with reason X" reads every line with that reason across the
    whole table (a million returns' worth) before the first page can be sorted. Checked per
    row, the queue's ordered index scan stops as soon as it has a page. OFFSET 0 is the
    documented way to keep the planner from flattening a sub-select.
    """

    template = "EXISTS(%(subquery)s OFFSET 0)"


def queue_columns(returns: list[ReturnRequest]) -> list[ReturnRequest]:
    """Fill in the queue's computed columns for one page of returns, in one query:
    `item_count` (units), `amount` (what the items cost the customer, tax included) and
    `reason_labels` (the customer's reasons).

    Computed after paging, so a deep page does not compute them for every row it skips."""
    money = DecimalField(max_digits=14, decimal_places=3)
    rows = (ReturnLine.objects.filter(return_request__in=[rr.pk for rr in returns]).order_by()
            .values("return_request")
            .annotate(item_count=Sum("quantity", output_field=IntegerField()),
                      amount=Sum(F("quantity") * (F("order_line__unit_price") + F("order_line__unit_tax")),
                                 output_field=money),
                      reason_labels=StringAgg("reason__label", delimiter=", ", distinct=True,
                                              ordering="reason__label")))
    by_return = {row["return_request"]: row for row in rows} if returns else {}
    for rr in returns:
        row = by_return.get(rr.pk, {})
        rr.item_count = row.get("item_count") or 0
        rr.amount = row.get("amount")
        rr.reason_labels = row.get("reason_labels") or ""
    return returns


def search_returns(queryset: QuerySet[ReturnRequest], term: str) -> QuerySet[ReturnRequest]:
    """Exact matches on what staff paste from an e-mail or a parcel: an RMA number, an order's
    id, a carrier's tracking number or a customer's e-mail. Each is an index lookup; a
    substring search would read every return."""
    from orders.models import Order, SalesChannel

    term = (term or "").strip()
    if not term:
        return queryset
    match = Q(rma_number=term.upper()) | Q(tracking_number=term)
    # The unique (channel, external_id) index answers this when it is given every channel.
    channels = list(SalesChannel.objects.values_list("pk", flat=True))
    orders = list(Order.objects.filter(channel_id__in=channels, external_id=term).values_list("pk", flat=True)[:100])
    if orders:
        match |= Q(order_id__in=orders)
    if "@" in term:
        customers = list(get_user_model().objects.filter(email__iexact=term).values_list("pk", flat=True)[:100])
        if customers:
            match |= Q(customer_id__in=customers)
    return queryset.filter(match)


def with_reason(queryset: QuerySet[ReturnRequest], reason_code: str) -> QuerySet[ReturnRequest]:
    reason_id = ReturnReason.objects.filter(code=reason_code).values_list("pk", flat=True).first()
    return queryset.filter(CheckedPerRow(ReturnLine.objects.filter(return_request=OuterRef("pk"), reason_id=reason_id)))


def in_category(queryset: QuerySet[ReturnRequest], category: str) -> QuerySet[ReturnRequest]:
    return queryset.filter(CheckedPerRow(ReturnLine.objects.filter(
        return_request=OuterRef("pk"), order_line__product__category=category)))


def with_fraud_band(queryset: QuerySet[ReturnRequest], band: str) -> QuerySet[ReturnRequest]:
    if band == "unscored":
        return queryset.filter(fraud_score__isnull=True)
    _, low, high = fraud_bands()[band]
    return queryset.filter(fraud_score__gte=low, fraud_score__lt=high)


def waiting_because(queryset: QuerySet[ReturnRequest], code: str) -> QuerySet[ReturnRequest]:
    return queryset.filter(review_reasons__contains=[{"code": code}])


def with_review_mode(queryset: QuerySet[ReturnRequest], mode: str) -> QuerySet[ReturnRequest]:
    """`manual`: the policy had every return reviewed; `risk_based`: only risky or large ones were."""
    manual = Q(review_reasons__contains=[{"code": MANUAL_REVIEW_CODE}])
    return queryset.filter(manual if mode == "manual" else ~manual)


def product_categories() -> list[str]:
    from inventory.models import Product

    return list(Product.objects.order_by("category").values_list("category", flat=True).distinct())


def reasons() -> list[tuple[str, str]]:
    return list(ReturnReason.objects.values_list("code", "label"))


# --- a return's page ---

@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    who: str
    subject: str
    kind: str  # return, line, refund, parcel
    action: str  # created, changed, deleted
    why: str
    changes: tuple[Change, ...] = ()


@dataclass
class ReturnPage:
    return_request: ReturnRequest
    lines: list
    refund: object | None
    attempts: list
    signals: list
    journal_entries: list
    parcels: list
    inspection_revisions: dict[int, int]
    timeline: list[TimelineEntry] = field(default_factory=list)


# Columns whose changes say nothing to a reviewer (timestamps kept elsewhere, internal state).
_QUIET_FIELDS = {"id", "created_at", "updated_at", "trace_context", "policy_snapshot", "breakdown", "idempotency_key",
                 "lease_expires_at", "next_attempt_at", "review_reasons", "return_request", "order", "customer",
                 "order_line", "rma_number"}
_ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


def return_page(return_request: ReturnRequest) -> ReturnPage:
    """Everything the return's admin page shows below its fields, in a fixed number of queries."""
    from fraud.models import FraudSignal
    from refunds.models import JournalEntry, JournalLine, Refund
    lines = list(return_request.lines.select_related("order_line__product", "reason"))
    refund = Refund.objects.filter(return_request=return_request).first()
    revisions = dict(ReturnLineInspection.objects.filter(return_line__return_request=return_request)
                     .values("return_line_id").annotate(latest=Max("revision")).values_list("return_line_id", "latest"))
    page = ReturnPage(
        return_request=return_request,
        lines=lines,
        refund=refund,
        attempts=list(refund.gateway_attempts.order_by("started_at", "id")) if refund else [],
        signals=list(FraudSignal.objects.filter(return_request=return_request).order_by("created_at", "id")),
        journal_entries=list(JournalEntry.objects.filter(return_request=return_request)
                             .prefetch_related(Prefetch("lines", JournalLine.objects.select_related("account")))
                             .order_by("created_at", "id")),
        parcels=list(UnmatchedParcel.objects.filter(return_request=return_request)),
        inspection_revisions=revisions,
    )
    page.timeline = return_timeline(return_request, lines=lines)
    return page


def return_timeline(return_request: ReturnRequest, *, lines=None) -> list[TimelineEntry]:
    """Every recorded change to the return, its lines, its refund and the parcels linked to
    it, oldest first: who (or the system), when, what changed and why."""
    from refunds.models import Refund

    if lines is None:
        lines = list(return_request.lines.select_related("order_line__product"))
    line_names = {line.pk: line.order_line.product.sku for line in lines}
    reason_labels = dict(ReturnReason.objects.values_list("pk", "label"))
    sources = [
        ("return", ReturnRequest.history.filter(id=return_request.pk), lambda row: "Return"),
        ("line", ReturnLine.history.filter(return_request_id=return_request.pk),
         lambda row: f"Line {line_names.get(row.id, row.id)}"),
        ("refund", Refund.history.filter(return_request_id=return_request.pk), lambda row: "Refund"),
        ("parcel", UnmatchedParcel.history.filter(
            id__in=UnmatchedParcel.objects.filter(return_request=return_request).values("pk")),
         lambda row: f"Parcel {row.tracking_number or row.id}"),
    ]
    entries = []
    for kind, history, subject in sources:
        previous = {}
        for row in history.select_related("history_user").order_by("history_date", "history_id"):
            model = row.instance_type
            before = previous.get(row.id)
            changes = _changes(model, before, row, reason_labels) if before is not None else ()
            previous[row.id] = row
            if row.history_type == "~" and not changes and not row.history_change_reason:
                continue  # a save that changed nothing anyone needs to see
            entries.append(TimelineEntry(
                at=row.history_date, who=_who(row.history_user), subject=subject(row), kind=kind,
                action=_ACTIONS.get(row.history_type, row.history_type), why=row.history_change_reason or "",
                changes=changes))
    entries.sort(key=lambda entry: entry.at)
    return entries


def _who(user) -> str:
    if user is None:
        return "system"
    name = user.get_full_name()
    return f"{name} ({user.get_username()})" if name else user.get_username()


def _changes(model, before, after, reason_labels: dict) -> tuple[Change, ...]:
    changes = []
    for model_field in model._meta.concrete_fields:
        if model_field.name in _QUIET_FIELDS:
            continue
        old, new = getattr(before, model_field.attname), getattr(after, model_field.attname)
        if old != new:
            changes.append(Change(str(model_field.verbose_name), _shown(model_field, old, reason_labels),
                                  _shown(model_field, new, reason_labels)))
    return tuple(changes)


def _shown(model_field, value, reason_labels: dict) -> str:
    if value is None or value == "":
        return "—"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if model_field.name == "reason":
        return reason_labels.get(value, str(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    text = str(value)
    return text if len(text) <= 120 else f"{text[:117]}…"


def queue_age(return_request: ReturnRequest, *, now: datetime) -> timedelta:
    """How long the return waited (or has waited so far) for a decision."""
    decided = return_request.authorized_at if return_request.authorized_at else None
    if decided is None and return_request.status in (ReturnStatus.REJECTED, ReturnStatus.CANCELLED):
        decided = return_request.closed_at
    return (decided or now) - return_request.requested_at
