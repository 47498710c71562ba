"""Fraud scoring and the per-customer risk profile.

A return is scored when it is requested (before it can be authorised) and again when it is
inspected. Each signal that fires is stored as a `FraudSignal` with its points and evidence;
the score is their sum, capped at 100. Scoring at request time reads one `CustomerRiskProfile`
row, whatever the customer's history: the profile is materialised by `risk_profiles_refresh`
(one set-based statement for every customer) and adjusted by the return events in between.
"""

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from core import tracing
from fraud.choices import SignalKind, Stage
from fraud.metrics import FRAUD_SCORE
from fraud.models import CustomerRiskProfile, FraudRule, FraudSignal
from fraud.selectors import customer_is_flagged
from fraud.signals import (
    INSPECTION_CHECKS,
    REQUEST_CHECKS,
    InspectedLine,
    InspectionFacts,
    RequestFacts,
    Signal,
    evaluate,
    score,
)
from inventory.models import Product
from orders.models import Order, OrderLine
from refunds.models import Refund
from returns.choices import OPEN_STATUSES, LabelStatus, ReturnStatus
from returns.models import ReturnLine, ReturnRequest

logger = logging.getLogger(__name__)

WINDOW_DAYS = 90
# A return counts as refunded once its refund has been paid (the return may be closed since).
REFUNDED_STATUSES = (ReturnStatus.REFUNDED, ReturnStatus.CLOSED)


# Every request is scored, so the rules are kept in memory for this long. Saving or deleting a
# rule forgets them at once in the process that did it; other processes catch up within it.
RULES_MEMO_SECONDS = 60
_rules_memo: tuple[float, dict[str, FraudRule]] | None = None


def fraud_rules() -> dict[str, FraudRule]:
    """Every rule by kind; a kind nobody has configured yet is created with its defaults."""
    global _rules_memo
    if _rules_memo is not None and time.monotonic() - _rules_memo[0] < RULES_MEMO_SECONDS:
        return _rules_memo[1]
    rules = {rule.kind: rule for rule in FraudRule.objects.all()}
    missing = [kind for kind in SignalKind.values if kind not in rules]
    if missing:
        FraudRule.objects.bulk_create([FraudRule.with_defaults(kind) for kind in missing], ignore_conflicts=True)
        rules = {rule.kind: rule for rule in FraudRule.objects.all()}
    _rules_memo = (time.monotonic(), rules)
    return rules


def fraud_rules_forget(**kwargs) -> None:
    """Drop the remembered rules (connected to FraudRule's save and delete)."""
    global _rules_memo
    _rules_memo = None


# --- scoring ---

@dataclass(frozen=True)
class ProfileChange:
    """What one return event does to its customer's counts."""

    returns: int = 0
    open_returns: int = 0
    refunds: int = 0


@dataclass(frozen=True)
class RequestScore:
    score: int
    customer_flagged: bool  # after this return's signals, which may have flagged the customer


def _scored(stage: str):
    """Trace the scoring and count its score (once the return's transaction commits)."""

    def record(scored: "int | RequestScore") -> dict:
        score = scored.score if isinstance(scored, RequestScore) else scored
        transaction.on_commit(lambda: FRAUD_SCORE.labels(stage).observe(score))
        return {"fraud.score": score}

    return tracing.traced(f"fraud.score_{stage}", lambda *, return_request, **_: {
        "fraud.stage": stage, "return.rma_id": return_request.rma_number}, result=record)


@_scored("request")
@transaction.atomic(savepoint=False)  # called inside the return's transaction: no savepoint to pay for
def fraud_score_request(*, return_request: ReturnRequest, amount) -> RequestScore:
    """Score a return that has just been created with its lines, and count it in the profile;
    with the score, whether the customer is flagged now (every return of theirs is reviewed).

    Three statements whatever the customer's history: the rules, the profile row (with the
    return's categories), and one write of the signals and the profile's new counts, which
    answers the flag.
    """
    rules = fraud_rules()
    profile, categories = _request_facts(return_request)
    if profile is None:  # never computed: compute it now, which counts this return already
        profile = risk_profile_refresh(customer_id=return_request.customer_id) or CustomerRiskProfile()
        change, returns_90d, other_open = ProfileChange(), profile.returns_90d, max(0, profile.open_returns - 1)
    else:
        change, returns_90d, other_open = ProfileChange(returns=1, open_returns=1), profile.returns_90d + 1, \
            profile.open_returns
    facts = RequestFacts(orders_90d=profile.orders_90d, returns_90d=returns_90d, other_open_returns=other_open,
                         amount=amount, categories=categories)
    fired = evaluate(REQUEST_CHECKS, rules, facts)
    flagged = _apply(return_request, change, stage=Stage.REQUEST, signals=fired)
    if flagged is None:  # the profile was computed instead of changed
        flagged = customer_is_flagged(return_request.customer)
    return RequestScore(score=score(fired), customer_flagged=flagged)


REQUEST_FACTS_SQL = """
SELECT p.orders_90d, p.returns_90d, p.open_returns,
       ARRAY(SELECT DISTINCT pr.category
               FROM {returnline} l
               JOIN {orderline} ol ON ol.id = l.order_line_id
               JOIN {product} pr ON pr.id = ol.product_id
              WHERE l.return_request_id = %(return_request)s) AS categories
  FROM (VALUES (1)) AS one (x)
  LEFT JOIN {profile} p ON p.customer_id = %(customer)s AND p.refreshed_at IS NOT NULL
"""


def _request_facts(return_request: ReturnRequest) -> tuple[CustomerRiskProfile | None, list[str]]:
    """The customer's profile row (None if never computed) and the return's product categories,
    read together: scoring time is mostly round trips."""
    sql = REQUEST_FACTS_SQL.format(**_tables())
    with connection.cursor() as cursor:
        cursor.execute(sql, {"return_request": return_request.pk, "customer": return_request.customer_id})
        orders_90d, returns_90d, open_returns, categories = cursor.fetchone()
    if orders_90d is None:
        return None, sorted(categories)
    profile = CustomerRiskProfile(customer_id=return_request.customer_id, orders_90d=orders_90d,
                                  returns_90d=returns_90d, open_returns=open_returns)
    return profile, sorted(categories)


@_scored("inspection")
@transaction.atomic(savepoint=False)
def fraud_score_inspection(*, return_request: ReturnRequest) -> int:
    """Score the return again once every line has a condition: the signals only the warehouse
    can see, on top of those found earlier. Returns the score of all its signals, capped at 100."""
    rules = fraud_rules()
    lines = [
        InspectedLine(
            line_id=line.pk, sku=line.order_line.product.sku, category=line.order_line.product.category,
            unit_price=line.order_line.unit_price, claims_damage=line.reason.claims_damage, reason=line.reason.code,
            condition=line.condition, window_days=_window_days(return_request, line.order_line.product.category),
        )
        for line in return_request.lines.select_related("order_line__product", "reason")
        if line.condition
    ]
    facts = InspectionFacts(
        requested_at=return_request.requested_at,
        delivered_at=Order.objects.values_list("delivered_at", flat=True).get(pk=return_request.order_id),
        lines=lines,
        skus_returned_before=_skus_returned_before(return_request, {line.sku for line in lines}),
    )
    _apply(return_request, ProfileChange(), stage=Stage.INSPECTION, signals=evaluate(INSPECTION_CHECKS, rules, facts))
    total = FraudSignal.objects.filter(return_request=return_request).aggregate(total=Sum("score_delta"))["total"]
    return min(100, max(0, total or 0))


def _window_days(return_request: ReturnRequest, category: str) -> int:
    policies = (return_request.policy_snapshot or {}).get("categories", {})
    policy = policies.get(category) or policies.get("") or {}
    return int(policy.get("window_days", 0))


def _skus_returned_before(return_request: ReturnRequest, skus: set[str]) -> set[str]:
    """SKUs among `skus` that the customer sent back (and the warehouse received) in an earlier return."""
    if not skus:
        return set()
    earlier = (ReturnLine.objects
               .filter(return_request__customer_id=return_request.customer_id,
                       return_request__requested_at__lt=return_request.requested_at,
                       return_request__received_at__isnull=False,
                       received_quantity__gt=0, order_line__product__sku__in=skus)
               .exclude(return_request=return_request))
    return set(earlier.values_list("order_line__product__sku", flat=True).distinct())


# --- return events ---

@transaction.atomic(savepoint=False)
def fraud_return_expired(*, return_request: ReturnRequest) -> None:
    """The RMA expired without a carrier scan: it is no longer open, and if the customer had a
    label and never used it, that is a signal."""
    rule = fraud_rules()[SignalKind.LABEL_NOT_SCANNED]
    signals = []
    if rule.active and return_request.label_status == LabelStatus.ISSUED:
        signals.append(Signal(kind=SignalKind.LABEL_NOT_SCANNED, points=rule.weight, evidence={
            "authorized_at": return_request.authorized_at.isoformat() if return_request.authorized_at else None,
            "expired_at": timezone.now().isoformat(),
            "scan_days": settings.RETURNS["LABEL_SCAN_DAYS"],
            "tracking_number": return_request.tracking_number,
        }))
    _apply(return_request, ProfileChange(open_returns=-1), stage=Stage.SHIPPING, signals=signals)


@transaction.atomic(savepoint=False)
def fraud_early_refund_unearned(*, return_request: ReturnRequest, stage: str, evidence: dict) -> None:
    """A refund paid early was not earned (the parcel never came, or failed inspection): a signal
    on the return, its points on the customer's lifetime score. Once per return and stage."""
    rule = fraud_rules()[SignalKind.EARLY_REFUND_UNEARNED]
    signals = [Signal(kind=SignalKind.EARLY_REFUND_UNEARNED, points=rule.weight, evidence=evidence)] \
        if rule.active else []
    _apply(return_request, ProfileChange(), stage=stage, signals=signals)


def fraud_return_ended(*, return_request: ReturnRequest) -> None:
    """Rejected, cancelled, or closed with nothing owed: one open return fewer."""
    _apply(return_request, ProfileChange(open_returns=-1))


def fraud_return_refunded(*, return_request: ReturnRequest) -> None:
    _apply(return_request, ProfileChange(open_returns=-1, refunds=1))


# --- the profile ---

def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "order": quote(Order._meta.db_table),
        "returnrequest": quote(ReturnRequest._meta.db_table),
        "refund": quote(Refund._meta.db_table),
        "signal": quote(FraudSignal._meta.db_table),
        "returnline": quote(ReturnLine._meta.db_table),
        "orderline": quote(OrderLine._meta.db_table),
        "product": quote(Product._meta.db_table),
        "profile": quote(CustomerRiskProfile._meta.db_table),
    }


PROFILE_COLUMNS = ("customer_id", "orders_90d", "returns_90d", "open_returns", "lifetime_orders", "lifetime_returns",
                   "lifetime_refunds", "lifetime_score", "flagged", "flagged_reason", "refreshed_at", "updated_at")
_COLUMNS = ", ".join(PROFILE_COLUMNS)
_FLAG_REASON = "'Lifetime fraud score ' || {score} || ' reached ' || %(flag_at)s::text"

REFRESH_SQL = """
WITH order_counts AS (
    SELECT customer_id,
           count(*) AS lifetime_orders,
           count(*) FILTER (WHERE placed_at >= %(since)s) AS orders_90d
      FROM {order} {only_customer}
  GROUP BY customer_id
), return_counts AS (
    SELECT r.customer_id,
           count(*) AS lifetime_returns,
           count(*) FILTER (WHERE r.requested_at >= %(since)s) AS returns_90d,
           count(*) FILTER (WHERE r.status = ANY(%(open)s)) AS open_returns,
           count(f.id) FILTER (WHERE r.status = ANY(%(refunded)s)) AS lifetime_refunds
      FROM {returnrequest} r
 LEFT JOIN {refund} f ON f.return_request_id = r.id
      {only_customer_r}
  GROUP BY r.customer_id
), scores AS (
    SELECT customer_id, sum(score_delta) AS lifetime_score
      FROM {signal} {only_customer}
  GROUP BY customer_id
), fresh AS (
    SELECT o.customer_id, o.orders_90d, coalesce(r.returns_90d, 0) AS returns_90d,
           coalesce(r.open_returns, 0) AS open_returns, o.lifetime_orders,
           coalesce(r.lifetime_returns, 0) AS lifetime_returns, coalesce(r.lifetime_refunds, 0) AS lifetime_refunds,
           coalesce(s.lifetime_score, 0) AS lifetime_score
      FROM order_counts o
 LEFT JOIN return_counts r USING (customer_id)
 LEFT JOIN scores s USING (customer_id)
)
INSERT INTO {profile} AS p ({columns})
SELECT customer_id, orders_90d, returns_90d, open_returns, lifetime_orders, lifetime_returns, lifetime_refunds,
       lifetime_score, lifetime_score >= %(flag_at)s,
       CASE WHEN lifetime_score >= %(flag_at)s THEN {flag_reason} ELSE '' END,
       %(now)s, %(now)s
  FROM fresh
ON CONFLICT (customer_id) DO UPDATE SET
    orders_90d = EXCLUDED.orders_90d,
    returns_90d = EXCLUDED.returns_90d,
    open_returns = EXCLUDED.open_returns,
    lifetime_orders = EXCLUDED.lifetime_orders,
    lifetime_returns = EXCLUDED.lifetime_returns,
    lifetime_refunds = EXCLUDED.lifetime_refunds,
    lifetime_score = EXCLUDED.lifetime_score,
    flagged = p.flagged OR EXCLUDED.flagged,
    flagged_reason = CASE WHEN p.flagged THEN p.flagged_reason ELSE EXCLUDED.flagged_reason END,
    refreshed_at = EXCLUDED.refreshed_at,
    updated_at = EXCLUDED.updated_at
{returning}
"""

APPLY_SQL = """
WITH inserted AS (
    INSERT INTO {signal} (return_request_id, customer_id, stage, kind, score_delta, evidence, created_at)
    SELECT %(return_request)s, %(customer)s, %(stage)s, s.kind, s.points, s.evidence::jsonb, %(now)s
      FROM unnest(%(kinds)s::text[], %(points)s::int[], %(evidence)s::text[]) AS s (kind, points, evidence)
        ON CONFLICT (return_request_id, stage, kind) DO NOTHING
    RETURNING score_delta
), added AS (
    SELECT coalesce(sum(score_delta), 0)::int AS points FROM inserted
)
UPDATE {profile} SET
    returns_90d = returns_90d + %(returns)s,
    lifetime_returns = lifetime_returns + %(returns)s,
    open_returns = greatest(open_returns + %(open_returns)s, 0),
    lifetime_refunds = lifetime_refunds + %(refunds)s,
    lifetime_score = lifetime_score + added.points,
    flagged = flagged OR lifetime_score + added.points >= %(flag_at)s,
    flagged_reason = CASE WHEN NOT flagged AND lifetime_score + added.points >= %(flag_at)s
                          THEN {flag_reason} ELSE flagged_reason END,
    updated_at = %(now)s
  FROM added
 WHERE customer_id = %(customer)s AND refreshed_at IS NOT NULL
RETURNING flagged
"""


def _refresh_params(now) -> dict:
    return {
        "since": now - timedelta(days=WINDOW_DAYS),
        "now": now,
        "open": [str(status) for status in OPEN_STATUSES],
        "refunded": [str(status) for status in REFUNDED_STATUSES],
        "flag_at": settings.RETURNS["FLAG_LIFETIME_SCORE"],
    }


def _refresh_sql(*, one_customer: bool) -> str:
    return REFRESH_SQL.format(
        **_tables(), columns=_COLUMNS,
        only_customer="WHERE customer_id = %(customer)s" if one_customer else "",
        only_customer_r="WHERE r.customer_id = %(customer)s" if one_customer else "",
        flag_reason=_FLAG_REASON.format(score="lifetime_score"),
        returning=f"RETURNING {_COLUMNS}" if one_customer else "",
    )


@transaction.atomic
def risk_profiles_refresh() -> int:
    """Recompute every customer's profile from their orders, returns, refunds and signals, in one
    statement. Returns how many profiles were written."""
    with connection.cursor() as cursor:
        cursor.execute(_refresh_sql(one_customer=False), _refresh_params(timezone.now()))
        written = cursor.rowcount
    logger.info("risk profiles refreshed", extra={"profiles": written})
    return written


@transaction.atomic
def risk_profile_refresh(*, customer_id: int) -> CustomerRiskProfile | None:
    """Recompute one customer's profile by the same statement; None if they have no orders."""
    with connection.cursor() as cursor:
        cursor.execute(_refresh_sql(one_customer=True), {**_refresh_params(timezone.now()), "customer": customer_id})
        row = cursor.fetchone()
    return CustomerRiskProfile(**dict(zip(PROFILE_COLUMNS, row, strict=True))) if row else None


def _apply(return_request: ReturnRequest, change: ProfileChange, *, stage: str = "",
           signals: Sequence[Signal] = ()) -> bool | None:
    """Store the signals (each once per return, stage and kind) and apply the event and their
    points to the customer's profile, in one statement under the row's lock. Returns whether
    the profile is flagged now.

    A customer with no computed profile yet (new, or flagged by hand before any refresh) gets
    theirs computed instead, which counts everything written so far in this transaction; then
    the flag is not known here (None).
    """
    params = {
        "return_request": return_request.pk, "customer": return_request.customer_id, "stage": str(stage),
        "kinds": [str(signal.kind) for signal in signals], "points": [signal.points for signal in signals],
        "evidence": [json.dumps(signal.evidence, cls=DjangoJSONEncoder) for signal in signals],
        "returns": change.returns, "open_returns": change.open_returns, "refunds": change.refunds,
        "flag_at": settings.RETURNS["FLAG_LIFETIME_SCORE"], "now": timezone.now(),
    }
    sql = APPLY_SQL.format(**_tables(), flag_reason=_FLAG_REASON.format(score="(lifetime_score + added.points)"))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        applied = cursor.fetchone()
    if applied is None:
        risk_profile_refresh(customer_id=return_request.customer_id)
    if signals:
        tracing.annotate({"fraud.signals": [str(signal.kind) for signal in signals]})
        logger.info("fraud signals", extra={"rma": return_request.rma_number, "stage": stage,
                                            "signals": [signal.kind for signal in signals]})
    return applied[0] if applied is not None else None
