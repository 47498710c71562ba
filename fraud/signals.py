"""The signals themselves: each a small pure function of a rule and the facts, no database.

A check returns the evidence a reviewer needs when the signal fires, or None. The services
gather the facts (one profile row at request time), run the checks and store what fired.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from fraud.choices import SignalKind
from returns.policies import return_by

K = SignalKind


@dataclass(frozen=True)
class Signal:
    kind: str
    points: int
    evidence: dict


@dataclass(frozen=True)
class RequestFacts:
    """What is known when the customer asks: the profile (counting this return) and the return."""

    orders_90d: int
    returns_90d: int
    other_open_returns: int
    amount: Decimal
    categories: list[str]


@dataclass(frozen=True)
class InspectedLine:
    line_id: int
    sku: str
    category: str
    unit_price: Decimal
    claims_damage: bool
    reason: str
    condition: str
    window_days: int


@dataclass(frozen=True)
class InspectionFacts:
    requested_at: datetime
    delivered_at: datetime | None
    lines: list[InspectedLine]
    skus_returned_before: set[str] = field(default_factory=set)


# --- at request ---

def high_return_rate(rule, facts: RequestFacts) -> dict | None:
    min_orders, min_rate = rule.param("min_orders"), rule.param("min_rate")
    if facts.orders_90d == 0 or facts.orders_90d < min_orders:
        return None
    rate = Decimal(facts.returns_90d) / Decimal(facts.orders_90d)
    if rate < min_rate:
        return None
    return {"returns_90d": facts.returns_90d, "orders_90d": facts.orders_90d,
            "rate": str(rate.quantize(Decimal("0.01"))), "min_rate": str(min_rate), "min_orders": min_orders}


def many_open_returns(rule, facts: RequestFacts) -> dict | None:
    limit = rule.param("min_open_returns")
    if facts.other_open_returns < limit:
        return None
    return {"open_returns": facts.other_open_returns, "min_open_returns": limit}


def risky_category(rule, facts: RequestFacts) -> dict | None:
    risky = sorted(set(facts.categories) & set(rule.param("categories")))
    if not risky:
        return None
    return {"categories": risky}


def high_value(rule, facts: RequestFacts) -> dict | None:
    threshold = rule.param("min_amount")
    if facts.amount < threshold:
        return None
    return {"amount": str(facts.amount), "min_amount": str(threshold)}


REQUEST_CHECKS: dict[str, Callable[..., dict | None]] = {
    K.HIGH_RETURN_RATE: high_return_rate,
    K.MANY_OPEN_RETURNS: many_open_returns,
    K.RISKY_CATEGORY: risky_category,
    K.HIGH_VALUE: high_value,
}


# --- at inspection ---

def damage_claimed_found_new(rule, facts: InspectionFacts) -> dict | None:
    lines = [{"line": line.line_id, "sku": line.sku, "reason": line.reason}
             for line in facts.lines if line.claims_damage and line.condition == "new"]
    return {"lines": lines} if lines else None


def wardrobing(rule, facts: InspectionFacts) -> dict | None:
    """Worn and sent back at the last moment. Price, timing and the customer's history are known
    when the return is asked for; only the like-new condition waits for the warehouse, so the
    signal fires here, with the timing measured at the request, not at inspection."""
    if facts.delivered_at is None:
        return None
    min_price, days = rule.param("min_unit_price"), rule.param("days_before_window_end")
    lines = []
    for line in facts.lines:
        closes_at = return_by(facts.delivered_at, line.window_days)
        time_left = closes_at - facts.requested_at
        if (line.condition == "like_new" and line.unit_price >= min_price and time_left <= timedelta(days=days)
                and line.sku in facts.skus_returned_before):
            lines.append({"line": line.line_id, "sku": line.sku, "unit_price": str(line.unit_price),
                          "days_left_at_request": round(time_left.total_seconds() / 86400, 1),
                          "window_closes_at": closes_at.isoformat()})
    if not lines:
        return None
    return {"lines": lines, "min_unit_price": str(min_price), "days_before_window_end": days}


INSPECTION_CHECKS: dict[str, Callable[..., dict | None]] = {
    K.DAMAGE_CLAIMED_FOUND_NEW: damage_claimed_found_new,
    K.WARDROBING: wardrobing,
}


def evaluate(checks: dict, rules: dict, facts) -> list[Signal]:
    signals = []
    for kind, check in checks.items():
        rule = rules[kind]
        if not rule.active:
            continue
        evidence = check(rule, facts)
        if evidence is not None:
            signals.append(Signal(kind=kind, points=rule.weight, evidence=evidence))
    return signals


def score(signals) -> int:
    return min(100, sum(signal.points for signal in signals))
