"""The engine on plain facts: every field and operator, every outcome, priorities and conflicts,
validation. No database."""

import pytest

from rules import engine
from rules.engine import RuleDefinitionError, compile_rules, evaluate, validate_rule


def facts(**overrides) -> dict:
    request = {"order_value": "250.00", "order_channel": "web", "order_country": "DE", "order_age_days": 12,
               "order_tags": ["VIP", "sale"], "customer_lifetime_returns": 3, "customer_risk_score": 20,
               "days_since_delivery": 9, "fraud_score": 35}
    line = {"index": 0, "order_line_id": 7, "product_category": "apparel", "product_sku": "SHIRT-1",
            "product_price": "27.00", "product_tags": ["summer"], "return_reason": "wrong_size",
            "return_quantity": 2, "on_block_list": False, "on_allow_list": True}
    for key, value in overrides.items():
        (line if key in line else request)[key] = value
    return {"request": request, "lines": [line]}


def rule(rule_id, condition, outcome, priority=100):
    validate_rule(condition, outcome)
    return (rule_id, priority, f"rule {rule_id}", condition, outcome)


def decide(*rules, scored=True, **overrides) -> dict:
    return evaluate(compile_rules(1, list(rules)), facts(**overrides), scored=scored)


def matches(field, op, value, **overrides) -> bool:
    decision = decide(rule(1, {"field": field, "op": op, "value": value}, {"type": "require_photos"}), **overrides)
    return decision["requires_photos"]


@pytest.mark.parametrize(("field", "op", "value", "expected"), [
    ("order_value", "gt", 200, True), ("order_value", "lte", "249.99", False), ("order_value", "eq", "250", True),
    ("order_channel", "eq", "WEB", True), ("order_channel", "in", ["app", "store"], False),
    ("order_country", "not_in", ["FR"], True), ("order_country", "ne", "DE", False),
    ("order_age_days", "gte", 12, True), ("order_age_days", "lt", 12, False),
    ("order_tags", "contains", "vip", True), ("order_tags", "not_contains", "sale", False),
    ("order_tags", "any_of", ["gift", "Sale"], True),
    ("customer_lifetime_returns", "gt", 2, True), ("customer_risk_score", "lt", 30, True),
    ("on_block_list", "is", True, False), ("on_allow_list", "is", True, True),
    ("days_since_delivery", "gt", 10, False), ("fraud_score", "gte", 35, True),
    ("product_category", "eq", "apparel", True), ("product_sku", "in", ["shirt-1", "x"], True),
    ("product_price", "lt", "27.01", True), ("product_price", "ne", 27, False),
    ("product_tags", "contains", "winter", False),
    ("return_reason", "eq", "wrong_size", True), ("return_quantity", "gte", 3, False),
])
def test_each_field_and_operator(field, op, value, expected):
    assert matches(field, op, value) is expected


def test_a_missing_fact_matches_no_comparison():
    assert not matches("days_since_delivery", "lt", 100, days_since_delivery=None)
    assert not matches("days_since_delivery", "gte", 0, days_since_delivery=None)


def test_and_or_groups_nest():
    condition = {"any": [{"all": [{"field": "return_reason", "op": "eq", "value": "wrong_size"},
                                  {"field": "customer_risk_score", "op": "lt", "value": 30}]},
                         {"field": "order_country", "op": "eq", "value": "US"}]}
    assert decide(rule(1, condition, {"type": "require_photos"}))["requires_photos"]
    assert not decide(rule(1, condition, {"type": "require_photos"}), customer_risk_score=50)["requires_photos"]
    assert decide(rule(1, condition, {"type": "require_photos"}), customer_risk_score=50,
                  order_country="US")["requires_photos"]
    assert decide(rule(1, {"all": []}, {"type": "require_photos"}))["requires_photos"]
    assert not decide(rule(1, {"any": []}, {"type": "require_photos"}))["requires_photos"]


def test_the_trace_reads_as_the_rule():
    condition = {"all": [{"field": "return_reason", "op": "eq", "value": "wrong_size"},
                         {"field": "customer_risk_score", "op": "lt", "value": 30}]}
    decision = decide(rule(12, condition, {"type": "bonus_credit", "percent": "10"}))
    (entry,) = decision["trace"]
    assert entry["text"] == "rule 12 matched: reason = wrong_size and customer risk < 30 → bonus credit 10%"
    assert entry["lines"] == [0]


# --- outcomes ---

def test_each_line_outcome():
    always = {"all": []}
    decision = decide(
        rule(1, always, {"type": "deny", "message": "Final sale items cannot be returned."}),
        rule(2, always, {"type": "window", "days": 60}),
        rule(3, always, {"type": "only_resolutions", "resolutions": ["exchange", "store_credit"]}),
        rule(4, always, {"type": "bonus_credit", "percent": "7.5"}),
        rule(5, always, {"type": "returnless"}),
    )
    (line,) = decision["lines"]
    assert line["denied"] == {"rule": 1, "message": "Final sale items cannot be returned."}
    assert line["window_days"] == 60
    assert line["resolutions"] == ["exchange", "store_credit"]
    assert line["bonus_percent"] == "7.5"
    assert line["returnless"] is True


def test_each_return_outcome():
    always = {"all": []}
    decision = decide(
        rule(1, always, {"type": "review", "message": "High-value customer: check by hand"}),
        rule(2, always, {"type": "require_photos"}),
        rule(3, always, {"type": "fee", "fee": "handling", "amount": "2.50"}),
        rule(4, always, {"type": "fee", "fee": "return_shipping", "amount": "5.95"}),
        rule(5, always, {"type": "waive_fee", "fee": "restocking"}),
        rule(6, always, {"type": "refund_timing", "timing": "first_scan"}),
        rule(7, always, {"type": "bypass_review"}),
    )
    assert decision["review"] == [{"code": "rule_review", "rule": 1, "detail": "High-value customer: check by hand"}]
    assert decision["requires_photos"] is True
    assert decision["fees"] == {"handling": "2.50", "return_shipping": "5.95"}
    assert decision["waived_fees"] == ["restocking"]
    assert decision["refund_timing"] == "first_scan" and decision["timing_rule"] == 6
    assert decision["bypass_review"] is True


def test_nothing_matches_nothing_changes():
    decision = decide()
    assert decision["trace"] == [] and decision["fees"] == {} and decision["refund_timing"] == "after_inspection"


# --- priority and conflicts ---

def test_single_valued_outcomes_take_the_highest_priority_match_whatever_the_order_given():
    always = {"all": []}
    rules = [rule(1, always, {"type": "window", "days": 60}, priority=20),
             rule(2, always, {"type": "window", "days": 14}, priority=10),
             rule(3, always, {"type": "refund_timing", "timing": "at_receipt"}, priority=30),
             rule(4, always, {"type": "refund_timing", "timing": "at_request"}, priority=40),
             rule(5, always, {"type": "bonus_credit", "percent": "5"}, priority=50),
             rule(6, always, {"type": "bonus_credit", "percent": "15"}, priority=5)]
    for ordering in (rules, list(reversed(rules))):
        decision = decide(*ordering)
        assert decision["lines"][0]["window_days"] == 14
        assert decision["refund_timing"] == "at_receipt"
        assert decision["lines"][0]["bonus_percent"] == "15"
        assert [entry["rule"] for entry in decision["trace"]] == [6, 2, 1, 3, 4, 5]


def test_equal_priorities_go_by_rule_id():
    always = {"all": []}
    decision = decide(rule(9, always, {"type": "window", "days": 9}, priority=1),
                      rule(3, always, {"type": "window", "days": 3}, priority=1))
    assert decision["lines"][0]["window_days"] == 3


def test_deny_wins_over_everything_on_its_line():
    always = {"all": []}
    decision = decide(rule(1, always, {"type": "returnless"}, priority=1),
                      rule(2, always, {"type": "deny", "message": "No."}, priority=99))
    assert decision["lines"][0]["denied"]["rule"] == 2


def test_fees_of_one_kind_do_not_add_up_and_a_waiver_wins():
    always = {"all": []}
    decision = decide(rule(1, always, {"type": "fee", "fee": "handling", "amount": "2"}, priority=1),
                      rule(2, always, {"type": "fee", "fee": "handling", "amount": "9"}, priority=2))
    assert decision["fees"] == {"handling": "2"}
    decision = decide(rule(1, always, {"type": "fee", "fee": "return_shipping", "amount": "5"}, priority=1),
                      rule(2, always, {"type": "waive_fee", "fee": "return_shipping"}, priority=2))
    assert decision["fees"] == {} and decision["waived_fees"] == ["return_shipping"]


def test_rules_are_per_line():
    version = compile_rules(1, [rule(1, {"field": "product_sku", "op": "eq", "value": "B"},
                                     {"type": "deny", "message": "Not B."})])
    two = {"request": {}, "lines": [{"index": 0, "product_sku": "A"}, {"index": 1, "product_sku": "B"}]}
    decision = evaluate(version, two, scored=True)
    assert [line["denied"] is not None for line in decision["lines"]] == [False, True]


def test_fraud_score_rules_wait_for_the_score():
    version = compile_rules(1, [rule(1, {"field": "fraud_score", "op": "gte", "value": 0},
                                     {"type": "refund_timing", "timing": "at_request"})])
    assert evaluate(version, facts(), scored=False)["refund_timing"] == "after_inspection"
    assert evaluate(version, facts(), scored=True)["refund_timing"] == "at_request"


# --- validation ---

@pytest.mark.parametrize(("condition", "outcome", "code"), [
    ({"field": "colour", "op": "eq", "value": "red"}, {"type": "require_photos"}, "unknown_field"),
    ({"field": "order_value", "op": "contains", "value": 3}, {"type": "require_photos"}, "unknown_operator"),
    ({"field": "order_value", "op": "gt", "value": "lots"}, {"type": "require_photos"}, "invalid_value"),
    ({"field": "order_value", "op": "gt", "value": True}, {"type": "require_photos"}, "invalid_value"),
    ({"field": "order_value", "op": "gt", "value": "1e400"}, {"type": "require_photos"}, "invalid_value"),
    ({"field": "order_channel", "op": "in", "value": "web"}, {"type": "require_photos"}, "invalid_value"),
    ({"field": "on_block_list", "op": "is", "value": "yes"}, {"type": "require_photos"}, "invalid_value"),
    ({"field": "order_value", "op": "gt"}, {"type": "require_photos"}, "invalid_condition"),
    ({"all": {"field": "order_value"}}, {"type": "require_photos"}, "invalid_condition"),
    ([], {"type": "require_photos"}, "invalid_condition"),
    ({"all": []}, {"type": "refund_everything"}, "unknown_outcome"),
    ({"all": []}, {"type": "deny"}, "invalid_outcome"),
    ({"all": []}, {"type": "deny", "message": " "}, "invalid_outcome"),
    ({"all": []}, {"type": "fee", "fee": "handling", "amount": "-1"}, "invalid_outcome"),
    ({"all": []}, {"type": "fee", "fee": "gift_wrap", "amount": "1"}, "invalid_outcome"),
    ({"all": []}, {"type": "waive_fee", "fee": "tax"}, "invalid_outcome"),
    ({"all": []}, {"type": "window", "days": "30"}, "invalid_outcome"),
    ({"all": []}, {"type": "bonus_credit", "percent": "150"}, "invalid_outcome"),
    ({"all": []}, {"type": "only_resolutions", "resolutions": ["refund"]}, "invalid_outcome"),
    ({"all": []}, {"type": "refund_timing", "timing": "tomorrow"}, "invalid_outcome"),
    ({"all": []}, {"type": "returnless", "days": 3}, "invalid_outcome"),
    ({"field": "fraud_score", "op": "gt", "value": 50}, {"type": "deny", "message": "No."}, "field_not_known_yet"),
])
def test_a_bad_definition_is_refused_with_a_stable_code(condition, outcome, code):
    with pytest.raises(RuleDefinitionError) as refused:
        validate_rule(condition, outcome)
    assert refused.value.code == code
    assert refused.value.http_status == 422


def test_every_problem_is_reported():
    condition = {"all": [{"field": "colour", "op": "eq", "value": "red"},
                         {"field": "order_value", "op": "between", "value": 1}]}
    with pytest.raises(RuleDefinitionError) as refused:
        validate_rule(condition, {"type": "nope"})
    assert [v.code for v in refused.value.violations] == ["unknown_field", "unknown_operator", "unknown_outcome"]
    assert refused.value.violations[1].field == "condition.all[1]"


def test_values_are_data_in_the_generated_matcher_never_code():
    sneaky = "x'} or __import__('os').system('true') or {'"
    version = compile_rules(1, [rule(1, {"field": "product_sku", "op": "eq", "value": sneaky},
                                     {"type": "require_photos"})])
    assert not evaluate(version, facts(), scored=True)["requires_photos"]
    assert evaluate(version, facts(product_sku=sneaky), scored=True)["requires_photos"]


def test_customer_view_shows_what_the_customer_may_see_and_hides_the_rest():
    always = {"all": []}
    decision = decide(rule(1, always, {"type": "fee", "fee": "return_shipping", "amount": "5.95"}),
                      rule(2, always, {"type": "review", "message": "internal note"}),
                      rule(3, always, {"type": "refund_timing", "timing": "at_receipt"}),
                      rule(4, always, {"type": "only_resolutions", "resolutions": ["store_credit"]}))
    shown = engine.customer_view(decision)
    assert shown["refund_timing"] == "at_receipt"
    assert shown["refund_timing_label"] == "Your refund is paid when your parcel reaches us."
    assert [note["code"] for note in shown["notes"]] == ["fee_return_shipping", "only_resolutions"]
    assert shown["notes"][0]["detail"] == "A return shipping fee of 5.95 is deducted from the refund."
    assert "internal note" not in str(shown)
