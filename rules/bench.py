"""Synthetic rules and returns for `manage.py rules_bench`: nothing touches the database.

Rules cover every field and outcome; returns are facts as a request stores them (JSON text,
decoded as the backtest reads them), decided first by a small published-like version.
"""

import json
import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rules import backtest, decisions, engine

REASONS = ["wrong_size", "damaged", "not_as_described", "changed_mind", "late"]
CATEGORIES = ["apparel", "shoes", "electronics", "home"]
TAGS = ["sale", "vip", "gift", "final", "bundle", "new"]
CHANNELS = ["web", "app", "store"]
COUNTRIES = ["US", "DE", "FR", "GB"]
DISTINCT = 5000


def _leaf(rng: random.Random) -> dict:
    field = rng.choice(list(engine.FIELDS))
    kind = engine.FIELDS[field].type
    if kind in (engine.NUMBER, engine.MONEY):
        return {"field": field, "op": rng.choice(list(engine.OPS[kind])), "value": rng.randint(0, 300)}
    if kind == engine.BOOLEAN:
        return {"field": field, "op": "is", "value": rng.random() < 0.2}
    if kind == engine.TAGS:
        return {"field": field, "op": "any_of", "value": rng.sample(TAGS, 2)}
    pool = {"order_channel": CHANNELS, "order_country": COUNTRIES, "product_category": CATEGORIES,
            "return_reason": REASONS}.get(field, ["SKU-1", "SKU-2", "SKU-3"])
    return {"field": field, "op": "in", "value": rng.sample(pool, min(2, len(pool)))}


OUTCOMES = [
    {"type": "review", "message": "Look at it"}, {"type": "require_photos"},
    {"type": "only_resolutions", "resolutions": ["exchange", "store_credit"]},
    {"type": "fee", "fee": "handling", "amount": "3.00"}, {"type": "fee", "fee": "return_shipping", "amount": "5.95"},
    {"type": "waive_fee", "fee": "return_shipping"}, {"type": "window", "days": 60},
    {"type": "bonus_credit", "percent": "10"}, {"type": "returnless"},
    {"type": "refund_timing", "timing": "at_receipt"},
    {"type": "deny", "message": "Not returnable under this promotion."},
]


def synthetic_rules(count: int, *, seed: int = 12) -> list[tuple]:
    rng = random.Random(seed)
    rules = []
    for rule_id in range(1, count + 1):
        # Like a merchant's: each rule aims at a slice (a SKU, or a reason in a category), then narrows it.
        aim = ({"field": "product_sku", "op": "eq", "value": f"SKU-{rng.randint(1, 50)}"} if rng.random() < 0.5
               else {"all": [{"field": "return_reason", "op": "eq", "value": rng.choice(REASONS)},
                             {"field": "product_category", "op": "eq", "value": rng.choice(CATEGORIES)}]})
        condition = {"all": [aim, *(_leaf(rng) for _ in range(rng.randint(0, 2)))]}
        outcome = rng.choice(OUTCOMES)
        if engine._reads(condition, engine.LATE_FIELDS) and not engine.OUTCOMES[outcome["type"]][1]:
            outcome = {"type": "review", "message": "Risky"}
        engine.validate_rule(condition, outcome)
        rules.append((rule_id, rng.randint(1, 1000), f"rule {rule_id}", condition, outcome))
    return rules


def synthetic_facts(rng: random.Random, *, day: datetime) -> dict:
    delivered = day - timedelta(days=rng.randint(1, 40))
    lines = []
    for index in range(rng.randint(1, 3)):
        price = rng.randint(5, 300)
        lines.append({
            "index": index, "order_line_id": index + 1, "product_name": f"Product {index}",
            "product_category": rng.choice(CATEGORIES), "product_sku": f"SKU-{rng.randint(1, 50)}",
            "product_price": f"{price}.00", "product_tags": rng.sample(TAGS, rng.randint(0, 2)),
            "return_reason": rng.choice(REASONS), "return_quantity": rng.randint(1, 2),
            "on_block_list": rng.random() < 0.02, "on_allow_list": rng.random() < 0.05,
            "resolution": rng.choice(["refund", "refund", "store_credit", "exchange"]), "replacement_sku": None,
            "unit_price": f"{price}.00", "unit_tax": "0.00",
            "replacement_quantity": 1, "replacement_unit_price": f"{price}.00", "replacement_unit_tax": "0.00",
            "policy": {"policy_id": 1, "category": None, "window_days": 30, "restocking_fee_percent": "0",
                       "restocking_fee_conditions": [], "review_mode": "risk_based", "auto_approve_limit": "500",
                       "store_credit_bonus_percent": "5", "refund_timing": "after_inspection",
                       "allowed_resolutions": ["refund", "exchange", "store_credit"], "returnless_below": None,
                       "exchange_ship_before_receipt": False},
        })
    return {
        "request": {"currency": "USD", "shipping_cost": "4.95", "now": day.isoformat(),
                    "delivered_at": delivered.isoformat(), "acting_for_customer": True, "review_threshold": 80,
                    "order_value": "250.00", "order_channel": rng.choice(CHANNELS),
                    "order_country": rng.choice(COUNTRIES), "order_age_days": rng.randint(1, 60),
                    "order_tags": rng.sample(TAGS, rng.randint(0, 2)), "customer_lifetime_returns": rng.randint(0, 30),
                    "customer_risk_score": rng.randint(0, 100), "days_since_delivery": (day - delivered).days,
                    "refund_shipping": False, "store_credit": False, "fraud_score": rng.randint(0, 100),
                    "customer_flagged": rng.random() < 0.01},
        "lines": lines,
    }


@dataclass
class Results:
    rules: int
    evaluate_ms: list[float]
    decide_ms: list[float]
    returns: int
    backtest_seconds: float
    backtest_cpu_seconds: float
    changed: int

    @staticmethod
    def median_p95(samples: list[float]) -> tuple[float, float]:
        ordered = sorted(samples)
        return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def run(*, rules: int, samples: int, returns: int, progress=None) -> Results:
    rng = random.Random(7)
    # The draft is the published version with a tenth of its rules changed, as a merchant edits.
    published_rules = synthetic_rules(rules)
    changed = {rule[0]: rule for rule in synthetic_rules(max(1, rules // 10), seed=1)}
    draft_rules = [(rule_id, *changed[rule_id][1:]) if rule_id in changed else (rule_id, *rest)
                   for rule_id, *rest in published_rules]
    published = engine.compile_rules(1, published_rules)
    draft = engine.compile_rules(2, draft_rules)
    now = datetime.now(UTC)
    evaluate_ms, decide_ms = [], []
    for _ in range(samples):
        facts = synthetic_facts(rng, day=now)
        # CPU time: on a shared machine, wall time also counts the time other processes ran.
        started = time.process_time()
        engine.evaluate(draft, facts, scored=True)
        evaluate_ms.append((time.process_time() - started) * 1000)
        started = time.process_time()
        decisions.decide(draft, facts)
        decide_ms.append((time.process_time() - started) * 1000)

    # Past returns as stored: facts and the decision of the version that decided them, as JSON text.
    # DISTINCT different requests, repeated to the size asked: each row is decoded and decided
    # afresh (nothing is cached between rows), so the work is that of as many distinct returns.
    stored = []
    for n in range(min(returns, DISTINCT)):
        facts = synthetic_facts(rng, day=now - timedelta(days=n % 30))
        stored.append((json.dumps(facts), json.dumps(decisions.decide(published, facts), default=str)))
    rows = ((n, f"RMA-{n}", 1, json.loads(facts), json.loads(decision))
            for n, (facts, decision) in ((n, stored[n % len(stored)]) for n in range(returns)))
    cpu = time.process_time()
    report = backtest.compare(draft, rows, days=30, total=returns,
                              progress=(lambda done, total: done % 10_000 == 0 and progress(
                                  f"  backtest {done:,}/{total:,}")) if progress else None)
    return Results(rules=rules, evaluate_ms=evaluate_ms, decide_ms=decide_ms, returns=returns,
                   backtest_seconds=report.seconds, backtest_cpu_seconds=time.process_time() - cpu,
                   changed=report.changed)
