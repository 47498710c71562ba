"""The rules engine: validate rule definitions, compile a version once, evaluate it on facts.

Everything here is pure: facts are plain JSON (what `rules.facts` gathers at request time and
what a return stores), so a backtest re-evaluates a stored return without a query.

Facts are `{"request": {...}, "lines": [{...}, ...]}`; a rule is evaluated on each line with the
request's facts beside the line's. Smaller priority numbers go first; ties by rule id.

Conflicts resolve the same way every time:
- deny wins: a line any matching rule denies is denied, with the first such rule's message;
- single-valued outcomes (window, allowed resolutions, bonus credit, refund timing) take the
  first matching rule, in priority order;
- fees: per fee kind the first matching rule sets the amount (fees of one kind never add up,
  different kinds do); a matching waiver of a kind wins over any fee of that kind;
- review and photos: any match asks for them; `bypass_review` (e.g. allow-listed customers)
  lifts the policy's review triggers but never a fraud hold or a merchant rule's review.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.utils.translation import gettext

from core.errors import ValidationFailed, Violation
from returns.choices import RefundTiming, Resolution

NUMBER, MONEY, STRING, TAGS, BOOLEAN = "number", "money", "string", "tags", "boolean"


@dataclass(frozen=True)
class FactField:
    label: str
    type: str
    line: bool = False  # read from the line's facts, else from the request's


FIELDS: dict[str, FactField] = {
    "order_value": FactField("order value", MONEY),
    "order_channel": FactField("channel", STRING),
    "order_country": FactField("country", STRING),
    "order_age_days": FactField("order age (days)", NUMBER),
    "order_tags": FactField("order tags", TAGS),
    "customer_lifetime_returns": FactField("customer lifetime returns", NUMBER),
    "customer_risk_score": FactField("customer risk", NUMBER),
    "on_block_list": FactField("on block list", BOOLEAN, line=True),
    "on_allow_list": FactField("on allow list", BOOLEAN, line=True),
    "days_since_delivery": FactField("days since delivery", NUMBER),
    "fraud_score": FactField("fraud score", NUMBER),
    "product_category": FactField("category", STRING, line=True),
    "product_sku": FactField("SKU", STRING, line=True),
    "product_price": FactField("price", MONEY, line=True),
    "product_tags": FactField("product tags", TAGS, line=True),
    "return_reason": FactField("reason", STRING, line=True),
    "return_quantity": FactField("quantity", NUMBER, line=True),
}

# The fraud score exists only once the return is scored, after eligibility: rules that read it
# may only decide what happens after that.
LATE_FIELDS = {"fraud_score"}

OPS: dict[str, dict[str, str]] = {
    NUMBER: {"eq": "=", "ne": "≠", "lt": "<", "lte": "≤", "gt": ">", "gte": "≥"},
    STRING: {"eq": "=", "ne": "≠", "in": "in", "not_in": "not in"},
    TAGS: {"contains": "has", "not_contains": "has not", "any_of": "has any of"},
    BOOLEAN: {"is": "is"},
}
OPS[MONEY] = OPS[NUMBER]

FEE_KINDS = ("handling", "return_shipping")
WAIVABLE_FEES = (*FEE_KINDS, "restocking")

# Outcome type → (keys it takes, evaluated after scoring)
OUTCOMES: dict[str, tuple[tuple[str, ...], bool]] = {
    "deny": (("message",), False),
    "review": (("message",), True),
    "bypass_review": ((), True),
    "require_photos": ((), True),
    "only_resolutions": (("resolutions",), False),
    "fee": (("fee", "amount"), False),
    "waive_fee": (("fee",), False),
    "window": (("days",), False),
    "bonus_credit": (("percent",), False),
    "returnless": ((), False),
    "refund_timing": (("timing",), True),
}


class RuleDefinitionError(ValidationFailed):
    code = "invalid_rule"


# --- validation ---

def validate_rule(condition, outcome) -> None:
    """Raise RuleDefinitionError (every problem, each with a stable code) unless the rule is sound."""
    problems: list[Violation] = []
    fields_used: set[str] = set()
    _check_condition(condition, "condition", problems, fields_used, depth=0)
    _check_outcome(outcome, problems)
    if not problems and fields_used & LATE_FIELDS and not OUTCOMES[outcome["type"]][1]:
        problems.append(Violation(
            "field_not_known_yet",
            f"The fraud score is known only after eligibility; a rule reading it may require review or photos, "
            f"bypass review or set the refund timing, not {outcome['type']}.", "condition"))
    if problems:
        raise RuleDefinitionError.from_violations(problems)


def _check_condition(node, path, problems, fields_used, depth) -> None:
    if depth > 8:
        problems.append(Violation("condition_too_deep", "Conditions nest at most 8 levels.", path))
        return
    if not isinstance(node, dict):
        problems.append(Violation("invalid_condition", "A condition is an object.", path))
        return
    groups = [key for key in ("all", "any") if key in node]
    if groups:
        if len(node) != 1 or not isinstance(node[groups[0]], list):
            problems.append(Violation("invalid_condition", 'A group is {"all": [...]} or {"any": [...]} alone.', path))
            return
        for i, child in enumerate(node[groups[0]]):
            _check_condition(child, f"{path}.{groups[0]}[{i}]", problems, fields_used, depth + 1)
        return
    unknown_keys = set(node) - {"field", "op", "value"}
    if unknown_keys or "field" not in node or "op" not in node or "value" not in node:
        problems.append(Violation("invalid_condition",
                                  'A comparison is {"field": ..., "op": ..., "value": ...}.', path))
        return
    spec = FIELDS.get(node["field"]) if isinstance(node["field"], str) else None
    if spec is None:
        problems.append(Violation("unknown_field", f"Unknown field {node['field']!r}; known: {', '.join(FIELDS)}.",
                                  path))
        return
    fields_used.add(node["field"])
    if node["op"] not in OPS[spec.type]:
        problems.append(Violation("unknown_operator", f"{node['field']} takes {', '.join(OPS[spec.type])}, "
                                                      f"not {node['op']!r}.", path))
        return
    if not _value_fits(spec.type, node["op"], node["value"]):
        problems.append(Violation(
            "invalid_value", f"{node['field']} {node['op']} needs {_expected(spec.type, node['op'])}.", path))


def _is_number(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, str):
        try:
            return Decimal(value).is_finite()
        except InvalidOperation:
            return False
    return False


def _value_fits(kind: str, op: str, value) -> bool:
    if kind in (NUMBER, MONEY):
        return _is_number(value) and abs(Decimal(str(value))) <= 10**12
    if kind == BOOLEAN:
        return isinstance(value, bool)
    if op in ("in", "not_in", "any_of"):
        return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
    return isinstance(value, str)


def _expected(kind: str, op: str) -> str:
    if kind in (NUMBER, MONEY):
        return "a number"
    if kind == BOOLEAN:
        return "true or false"
    return "a list of strings" if op in ("in", "not_in", "any_of") else "a string"


def _check_outcome(outcome, problems) -> None:
    if not isinstance(outcome, dict) or outcome.get("type") not in OUTCOMES:
        problems.append(Violation("unknown_outcome", f"An outcome is {{\"type\": one of {', '.join(OUTCOMES)}, ...}}.",
                                  "outcome"))
        return
    keys, _late = OUTCOMES[outcome["type"]]
    extra = set(outcome) - {"type", *keys}
    if extra:
        problems.append(Violation("invalid_outcome", f"{outcome['type']} takes no {', '.join(sorted(extra))}.",
                                  "outcome"))
    kind = outcome["type"]
    bad = None
    if kind == "deny" and not (isinstance(outcome.get("message"), str) and outcome["message"].strip()):
        bad = "A denial needs the message the customer sees."
    elif kind == "review" and not isinstance(outcome.get("message", ""), str):
        bad = "A review's message is text."
    elif kind == "only_resolutions":
        chosen = outcome.get("resolutions")
        if not (isinstance(chosen, list) and chosen and set(chosen) <= {Resolution.EXCHANGE, Resolution.STORE_CREDIT}):
            bad = "Offer exchange, store_credit or both."
    elif kind == "fee":
        if outcome.get("fee") not in FEE_KINDS:
            bad = f"A fee is one of {', '.join(FEE_KINDS)}."
        elif not _is_number(outcome.get("amount")) or Decimal(str(outcome["amount"])) <= 0 \
                or Decimal(str(outcome["amount"])) > 10000:
            bad = "A fee's amount is a positive number (in the order's currency)."
    elif kind == "waive_fee" and outcome.get("fee") not in WAIVABLE_FEES:
        bad = f"A waived fee is one of {', '.join(WAIVABLE_FEES)}."
    elif kind == "window" and not (isinstance(outcome.get("days"), int) and not isinstance(outcome["days"], bool)
                                   and 0 <= outcome["days"] <= 3650):
        bad = "A window is a whole number of days (0–3650)."
    elif kind == "bonus_credit" and not (_is_number(outcome.get("percent"))
                                         and 0 < Decimal(str(outcome["percent"])) <= 100):
        bad = "A bonus is a percentage above 0 and at most 100."
    elif kind == "refund_timing" and outcome.get("timing") not in RefundTiming.values:
        bad = f"A refund timing is one of {', '.join(RefundTiming.values)}."
    if bad:
        problems.append(Violation("invalid_outcome", bad, "outcome"))


# --- compiling ---

@dataclass(frozen=True)
class CompiledRule:
    id: int
    priority: int
    name: str
    text: str
    outcome: dict
    late: bool  # reads the fraud score


@dataclass(frozen=True)
class CompiledVersion:
    """A version's rules in evaluation order, and one generated function that tests them all on
    one line's normalised facts and answers the positions of those that match."""

    id: int | None
    rules: tuple[CompiledRule, ...] = ()
    matcher: Callable[[dict], list[int]] = staticmethod(lambda facts: [])  # noqa: RUF009 - a constant
    fields: tuple[str, ...] = ()  # the facts its rules read


def _leaf_source(node) -> str:
    """A comparison as a Python expression over `f`, the normalised facts. Field names come from
    FIELDS and values passed validation (numbers, strings, lists of strings), and values are
    written with repr(), so the generated code holds nothing a rule's author could inject."""
    name, op, value = node["field"], node["op"], node["value"]
    kind = FIELDS[name].type
    fact = f"f[{name!r}]"
    if kind in (NUMBER, MONEY):
        symbol = {"eq": "==", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}[op]
        return f"({fact} is not None and {fact} {symbol} {float(Decimal(str(value)))!r})"
    if kind == BOOLEAN:
        return f"({fact} is {value!r})"
    wanted = frozenset(v.lower() for v in (value if isinstance(value, list) else [value]))
    if kind == TAGS:
        return f"{fact}.isdisjoint({set(wanted)!r})" if op == "not_contains" \
            else f"(not {fact}.isdisjoint({set(wanted)!r}))"
    return f"({fact} {'not in' if op in ('ne', 'not_in') else 'in'} {set(wanted)!r})"


def _source(node) -> str:
    for group, join, empty in (("all", " and ", "True"), ("any", " or ", "False")):
        if group in node:
            parts = [_source(child) for child in node[group]]
            return f"({join.join(parts)})" if parts else empty
    return _leaf_source(node)


def _text(node, top: bool = True) -> str:
    for group, join in (("all", " and "), ("any", " or ")):
        if group in node:
            parts = [_text(child, top=False) for child in node[group]]
            if not parts:
                return "always" if group == "all" else "never"
            joined = join.join(parts)
            return joined if top or len(parts) == 1 else f"({joined})"
    spec = FIELDS[node["field"]]
    return f"{spec.label} {OPS[spec.type][node['op']]} {_show(node['value'])}"


def _show(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def describe_outcome(outcome: dict) -> str:
    kind = outcome["type"]
    return {
        "deny": lambda: f"deny: {outcome['message']}",
        "review": lambda: "require review",
        "bypass_review": lambda: "skip the policy's review triggers",
        "require_photos": lambda: "require photos",
        "only_resolutions": lambda: "offer only " + " or ".join(r.replace("_", " ") for r in outcome["resolutions"]),
        "fee": lambda: f"{outcome['fee'].replace('_', ' ')} fee {outcome['amount']}",
        "waive_fee": lambda: f"waive the {outcome['fee'].replace('_', ' ')} fee",
        "window": lambda: f"window {outcome['days']} days",
        "bonus_credit": lambda: f"bonus credit {outcome['percent']}%",
        "returnless": lambda: "returnless: the customer keeps the item",
        "refund_timing": lambda: f"refund {outcome['timing'].replace('_', ' ')}",
    }[kind]()


def describe(rule_id, condition: dict, outcome: dict) -> str:
    return f"rule {rule_id} matched: {_text(condition)} → {describe_outcome(outcome)}"


def compile_rules(version_id, rules) -> CompiledVersion:
    """`rules` are (id, priority, name, condition, outcome) of enabled, validated rules."""
    ordered = sorted(rules, key=lambda r: (r[1], r[0]))
    compiled = tuple(CompiledRule(rule_id, priority, name, describe(rule_id, condition, outcome), outcome,
                                  _reads(condition, LATE_FIELDS))
                     for rule_id, priority, name, condition, outcome in ordered)
    body = "".join(f"    if {_source(condition)}: m.append({position})\n"
                   for position, (_, _, _, condition, _) in enumerate(ordered))
    code = f"def matcher(f):\n    m = []\n{body}    return m\n"
    namespace: dict = {}
    exec(compile(code, f"<rules v{version_id}>", "exec"), {"__builtins__": {}}, namespace)
    used = set()
    for _, _, _, condition, _ in ordered:
        _collect(condition, used)
    return CompiledVersion(version_id, compiled, namespace["matcher"], tuple(sorted(used)))


def _collect(node, used: set) -> None:
    if "field" in node:
        used.add(node["field"])
    for child in node.get("all", node.get("any", [])) if "field" not in node else ():
        _collect(child, used)


def _reads(node, names) -> bool:
    if "field" in node:
        return node["field"] in names
    return any(_reads(child, names) for child in node.get("all", node.get("any", [])))


@lru_cache(maxsize=32)
def compiled_version(version_id: int, stamp: str) -> CompiledVersion:
    """A version's enabled rules, compiled once per process for each `stamp` (the version's
    updated_at, which every edit of a draft moves on)."""
    from rules.models import Rule

    rows = Rule.objects.filter(version_id=version_id, enabled=True).values_list(
        "id", "priority", "name", "condition", "outcome")
    return compile_rules(version_id, list(rows))


# --- evaluation ---

def _normalised(request: dict, line: dict, names) -> dict:
    """One line's facts with the request's (those the rules read), as the generated matcher
    reads them: numbers as floats, text lower-cased, tags as sets."""
    facts = {}
    for name in names:
        spec = FIELDS[name]
        value = (line if spec.line else request).get(name)
        if spec.type in (NUMBER, MONEY):
            value = None if value is None else float(value)
        elif spec.type == STRING:
            value = None if value is None else str(value).lower()
        elif spec.type == TAGS:
            value = {str(tag).lower() for tag in value or ()}
        else:
            value = bool(value)
        facts[name] = value
    return facts


def evaluate(version: CompiledVersion, facts: dict, *, scored: bool) -> dict:
    """Merchant rules on every line of `facts`. `scored` says whether the fraud score is known;
    before it is, rules reading it are skipped (they can only decide later outcomes)."""
    request = facts["request"]
    lines = [{"index": line["index"], "order_line_id": line.get("order_line_id"), "denied": None,
              "window_days": None, "resolutions": None, "returnless": False, "bonus_percent": None}
             for line in facts["lines"]]
    decision = {"version": version.id, "fees": {}, "waived_fees": [], "review": [], "bypass_review": False,
                "requires_photos": False, "refund_timing": RefundTiming.AFTER_INSPECTION, "timing_rule": None,
                "lines": lines, "trace": []}
    if not version.rules:
        return decision
    matches: dict[int, list[int]] = {}
    for i, line in enumerate(facts["lines"]):
        for position in version.matcher(_normalised(request, line, version.fields)):
            matches.setdefault(position, []).append(i)
    fees: dict[str, tuple[int, str]] = {}
    waived: dict[str, int] = {}
    timing_set = False
    for position in sorted(matches):
        rule = version.rules[position]
        if rule.late and not scored:
            continue
        matched = matches[position]
        outcome, kind = rule.outcome, rule.outcome["type"]
        decision["trace"].append({"rule": rule.id, "name": rule.name, "lines": [lines[i]["index"] for i in matched],
                                  "outcome": outcome, "text": rule.text})
        for i in matched:
            line = lines[i]
            if kind == "deny" and line["denied"] is None:
                line["denied"] = {"rule": rule.id, "message": outcome["message"]}
            elif kind == "window" and line["window_days"] is None:
                line["window_days"] = outcome["days"]
            elif kind == "only_resolutions" and line["resolutions"] is None:
                line["resolutions"] = list(outcome["resolutions"])
            elif kind == "bonus_credit" and line["bonus_percent"] is None:
                line["bonus_percent"] = str(outcome["percent"])
            elif kind == "returnless":
                line["returnless"] = True
        if kind == "fee":
            fees.setdefault(outcome["fee"], (rule.id, str(outcome["amount"])))
        elif kind == "waive_fee":
            waived.setdefault(outcome["fee"], rule.id)
        elif kind == "review":
            decision["review"].append({"code": "rule_review", "rule": rule.id,
                                       "detail": outcome.get("message") or f"Rule {rule.id}: {rule.name}"})
        elif kind == "bypass_review":
            decision["bypass_review"] = True
        elif kind == "require_photos":
            decision["requires_photos"] = True
        elif kind == "refund_timing" and not timing_set:
            decision["refund_timing"], decision["timing_rule"], timing_set = outcome["timing"], rule.id, True
    decision["fees"] = {kind: amount for kind, (_rule, amount) in fees.items() if kind not in waived}
    decision["waived_fees"] = sorted(waived)
    return decision


def customer_view(decision: dict, return_request=None) -> dict:
    """The part of a decision the customer sees: denials' messages, fees, bonus, what each line
    may be resolved as, whether they keep it, and when the refund is paid — for a stored
    `return_request`, when it is really paid (early refunds may not apply, and it says why)."""
    if not decision:
        return {}
    notes = []
    for kind, amount in sorted((decision.get("fees") or {}).items()):
        notes.append({"code": f"fee_{kind}", "amount": amount,
                      "detail": gettext("A %(fee)s fee of %(amount)s is deducted from the refund.")
                      % {"fee": _fee_label(kind), "amount": amount}})
    for kind in decision.get("waived_fees") or ():
        notes.append({"code": f"fee_{kind}_waived", "detail": gettext("The %(fee)s fee is waived.")
                      % {"fee": _fee_label(kind)}})
    for line in decision.get("lines") or ():
        if line.get("denied"):
            notes.append({"code": "rule_denied", "line": line["index"], "detail": line["denied"]["message"]})
        if line.get("bonus_percent"):
            notes.append({"code": "bonus_credit", "line": line["index"], "percent": line["bonus_percent"],
                          "detail": gettext("%(percent)s%% bonus on store credit for this item.")
                          % {"percent": line["bonus_percent"]}})
        if line.get("resolutions"):
            notes.append({"code": "only_resolutions", "line": line["index"], "resolutions": line["resolutions"],
                          "detail": gettext("This item can be returned for %(options)s only.")
                          % {"options": gettext(" or ").join(_resolution_label(r) for r in line["resolutions"])}})
        if line.get("returnless"):
            notes.append({"code": "returnless", "line": line["index"],
                          "detail": gettext("Keep this item: no need to send it back.")})
    timing = decision.get("refund_timing") or RefundTiming.AFTER_INSPECTION
    label = timing_label(timing)
    if return_request is not None and return_request.refund_timing != timing:
        timing, label = return_request.refund_timing, return_request.refund_timing_reason
    return {"refund_timing": timing, "refund_timing_label": label, "notes": notes}


def _fee_label(kind: str) -> str:
    return {"handling": gettext("handling"), "return_shipping": gettext("return shipping"),
            "restocking": gettext("restocking")}.get(kind, kind)


def _resolution_label(value: str) -> str:
    labels = {"exchange": gettext("exchange"), "store_credit": gettext("store credit"), "refund": gettext("refund")}
    return labels.get(value, value)


def timing_label(value: str) -> str:
    """What the customer is told about when their refund is paid (one wording everywhere)."""
    return {"at_request": gettext("Your refund is paid as soon as the return is approved."),
            "first_scan": gettext("Your refund is paid when the carrier first scans your parcel."),
            "at_receipt": gettext("Your refund is paid when your parcel reaches us."),
            "after_inspection": gettext("Your refund is paid once your items are inspected.")}[value]
