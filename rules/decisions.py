"""A whole decision from facts: the merchant's rules, then the built-in rules that read only facts
(the window, the allowed resolutions, the review triggers), and the money it comes to.

The request path stores what `decide` returns for a new return; a backtest calls the same
function on stored facts with another version, so what it predicts is what publishing does.
Built-in checks that need the database (ownership, fulfilment, quantities, stock) ran when the
return was requested and are not run again: a stored return passed them.
"""

from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

from refunds.calculations import LineInput, RefundQuote, calculate_refund
from returns import policies
from returns.choices import Resolution
from rules import engine


class EffectivePolicy:
    """A category's policy as the rules adjust it for one line: the window and what the
    customer may ask for. The built-in rules read it as they read the policy."""

    def __init__(self, policy, *, window_days=None, resolutions=None):
        self._policy = policy
        self.window_days = policy.window_days if window_days is None else window_days
        allowed = policy.allowed_resolutions
        self.allowed_resolutions = list(allowed) if resolutions is None else [r for r in resolutions]

    def __getattr__(self, name):
        return getattr(self._policy, name)


def adjusted_policy(policy, rule_line: dict | None):
    if not rule_line or (rule_line["window_days"] is None and rule_line["resolutions"] is None):
        return policy
    return EffectivePolicy(policy, window_days=rule_line["window_days"], resolutions=rule_line["resolutions"])


def decide(version: engine.CompiledVersion, facts: dict, *, previous: dict | None = None) -> dict:
    """The decision for a scored request: merchant outcomes, built-in denials and review reasons,
    the quote's money, and one trace of everything that fired.

    `previous` (a backtest's stored decision on the same facts) lends its money when everything
    the money depends on (lines denied, fees, bonus credit) is the same: the same computation
    on the same inputs, not computed twice."""
    decision = engine.evaluate(version, facts, scored=True)
    request = facts["request"]
    ctx = SimpleNamespace(
        now=datetime.fromisoformat(request["now"]), acting_for_customer=request["acting_for_customer"],
        order=SimpleNamespace(delivered_at=datetime.fromisoformat(request["delivered_at"])
                              if request.get("delivered_at") else None,
                              shipping_country=request.get("order_country") or ""),
        order_has_payment=True)
    builtin = []
    for fact, line in zip(facts["lines"], decision["lines"], strict=True):
        if line["denied"]:
            continue
        policy = adjusted_policy(_policy(fact["policy"]), line)
        subject = SimpleNamespace(
            index=fact["index"], policy=policy, resolution=fact["resolution"], replacement_sku=fact["replacement_sku"],
            order_line=SimpleNamespace(product=SimpleNamespace(name=fact["product_name"])))
        for rule in (policies.within_window, policies.resolution_allowed):
            verdict = rule(ctx, subject)
            if verdict.outcome == policies.Outcome.DENY:
                line["denied"] = {"rule": None, "code": verdict.code, "message": verdict.message}
                builtin.append({"code": verdict.code, "line": fact["index"], "detail": verdict.message,
                                "text": f"built-in {verdict.code} on line {fact['index']}: {verdict.message}"})
                break
    if previous and previous.get("money") and _money_inputs(previous) == _money_inputs(decision):
        decision["money"] = previous["money"]
    else:
        quote = quote_from_facts(facts, decision)
        decision["money"] = {"currency": quote.currency, "net": str(quote.net),
                             "bonus": str(quote.store_credit_bonus), "fees": str(quote.return_fees),
                             "kept": str(_kept_value(facts, decision))}
    review_ctx = SimpleNamespace(
        amount=Decimal(decision["money"]["net"]), fraud_score=request.get("fraud_score") or 0,
        customer_flagged=bool(request.get("customer_flagged")), review_threshold=request["review_threshold"],
        policies=list({fact["policy"]["policy_id"]: _policy(fact["policy"]) for fact in facts["lines"]}.values()))
    review = []
    for rule in policies.REVIEW_RULES:
        verdict = rule(review_ctx)
        if verdict.outcome != policies.Outcome.REVIEW:
            continue
        if decision["bypass_review"] and verdict.code not in FRAUD_HOLD_CODES:
            builtin.append({"code": verdict.code, "detail": verdict.message,
                            "text": f"built-in {verdict.code} lifted by an allow rule: {verdict.message}"})
            continue
        review.append({"code": verdict.code, "detail": verdict.message})
        builtin.append({"code": verdict.code, "detail": verdict.message,
                        "text": f"built-in {verdict.code}: {verdict.message}"})
    decision["review"] = review + decision["review"]
    decision["builtin"] = builtin
    return decision


FRAUD_HOLD_CODES = ("high_fraud_score", "customer_flagged")


def _money_inputs(decision: dict) -> tuple:
    return ([(line["index"], bool(line["denied"]), line["bonus_percent"], line["returnless"])
             for line in decision["lines"]], decision["fees"])


def _policy(snapshot: dict) -> SimpleNamespace:
    """A policy snapshot as the built-in rules read a policy."""
    return SimpleNamespace(**{**snapshot, "auto_approve_limit": Decimal(snapshot["auto_approve_limit"])})


def quote_from_facts(facts: dict, decision: dict) -> RefundQuote:
    """What the return pays at request time (nothing inspected yet), lines denied left out."""
    request = facts["request"]
    denied = {line["index"] for line in decision["lines"] if line["denied"]}
    by_index = {line["index"]: line for line in decision["lines"]}
    lines = [
        LineInput(
            key=fact["index"], quantity=fact["return_quantity"] or 0, unit_price=Decimal(fact["unit_price"]),
            unit_tax=Decimal(fact["unit_tax"]),
            store_credit_bonus_percent=Decimal(fact["policy"]["store_credit_bonus_percent"]),
            bonus_credit_percent=Decimal(by_index[fact["index"]]["bonus_percent"] or 0),
            resolution=fact["resolution"],
            replacement_quantity=fact.get("replacement_quantity", 0),
            replacement_unit_price=Decimal(fact.get("replacement_unit_price") or 0),
            replacement_unit_tax=Decimal(fact.get("replacement_unit_tax") or 0),
        )
        for fact in facts["lines"] if fact["index"] not in denied
    ]
    return calculate_refund(
        currency=request["currency"], lines=lines, shipping_cost=Decimal(request["shipping_cost"]),
        refund_shipping=bool(request.get("refund_shipping")) and not denied,
        store_credit=bool(request.get("store_credit")), fees=fees_of(decision))


def fees_of(decision: dict | None) -> dict[str, Decimal]:
    return {kind: Decimal(amount) for kind, amount in ((decision or {}).get("fees") or {}).items()}


def _kept_value(facts: dict, decision: dict) -> Decimal:
    """What the customer keeps without sending it back (returnless lines), at the price paid."""
    kept = Decimal(0)
    for fact, line in zip(facts["lines"], decision["lines"], strict=True):
        if line["returnless"] and not line["denied"] and fact["resolution"] != Resolution.EXCHANGE:
            kept += (Decimal(fact["unit_price"]) + Decimal(fact["unit_tax"])) * (fact["return_quantity"] or 0)
    return kept


def summary(decision: dict) -> dict:
    """What a backtest compares: every outcome a customer or reviewer would notice."""
    return {
        "denied": sorted(line["index"] for line in decision["lines"] if line["denied"]),
        "review": sorted({reason["code"] if reason["code"] != "rule_review" else f"rule:{reason['rule']}"
                          for reason in decision["review"]}),
        "photos": decision["requires_photos"],
        "fees": decision["fees"],
        "waived": decision["waived_fees"],
        "bonus": {line["index"]: line["bonus_percent"] for line in decision["lines"] if line["bonus_percent"]},
        "only": {line["index"]: line["resolutions"] for line in decision["lines"] if line["resolutions"]},
        "returnless": sorted(line["index"] for line in decision["lines"] if line["returnless"]),
        "timing": decision["refund_timing"],
    }
