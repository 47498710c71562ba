"""The score decides whether a return waits for a reviewer; staff tune it in the admin."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fraud import selectors
from fraud.choices import SignalKind
from fraud.models import FraudRule
from fraud.services import fraud_rules, fraud_score_request, risk_profiles_refresh
from fraud.tests.conftest import fired, one_line_order, only, request, tune
from returns.choices import ReturnStatus
from returns.models import ReturnLine, ReturnRequest
from tests import factories

pytestmark = pytest.mark.django_db
K = SignalKind


def review_codes(rr) -> list[str]:
    return [reason["code"] for reason in rr.review_reasons]


@pytest.mark.parametrize(("weight", "status", "reasons"), [
    (79, ReturnStatus.AUTHORIZED, []),
    (80, ReturnStatus.REQUESTED, ["high_fraud_score"]),
    (100, ReturnStatus.REQUESTED, ["high_fraud_score"]),
])
def test_a_score_below_the_threshold_is_authorised_at_once_and_at_it_waits(shop, customer, weight, status, reasons):
    only(K.RISKY_CATEGORY, weight=weight)
    order = one_line_order(customer, shop.laptop, "300.00")  # under the auto-approve limit

    rr = request(order, customer)

    assert rr.fraud_score == weight
    assert rr.status == status
    assert review_codes(rr) == reasons


def test_signals_add_up_and_the_score_stops_at_100(shop, customer):
    tune(K.RISKY_CATEGORY, weight=60)
    tune(K.HIGH_VALUE, weight=60, min_amount="250")
    order = one_line_order(customer, shop.laptop, "300.00")

    rr = request(order, customer)

    assert rr.fraud_score == 100
    assert {s.kind for s in rr.fraud_signals.all()} == {K.RISKY_CATEGORY, K.HIGH_VALUE}
    assert [s["points"] for s in selectors.score_breakdown(rr)["request"]] == [60, 60]


@pytest.mark.parametrize(("flag_at", "flagged"), [(30, True), (31, False)])
def test_a_customer_whose_lifetime_score_reaches_the_flag_threshold_is_always_reviewed(
        shop, customer, settings, flag_at, flagged):
    settings.RETURNS = {**settings.RETURNS, "FLAG_LIFETIME_SCORE": flag_at}
    only(K.RISKY_CATEGORY, weight=15)
    laptops = one_line_order(customer, shop.laptop, "300.00", quantity=2)
    shirts = one_line_order(customer, shop.shirt, "25.00")

    first = request(laptops, customer)
    second = request(laptops, customer)  # lifetime score 30
    third = request(shirts, customer)  # no signal of its own

    assert first.status == ReturnStatus.AUTHORIZED
    assert customer.risk_profile.lifetime_score == 30
    assert customer.risk_profile.flagged is flagged
    for rr in (second, third):
        assert (rr.status == ReturnStatus.REQUESTED) is flagged
        assert ("customer_flagged" in review_codes(rr)) is flagged
    if flagged:
        assert customer.risk_profile.flagged_reason == "Lifetime fraud score 30 reached 30"


def test_the_refresh_flags_customers_past_the_threshold_and_never_unflags(shop, customer, other_customer, settings):
    settings.RETURNS = {**settings.RETURNS, "FLAG_LIFETIME_SCORE": 15}
    only(K.RISKY_CATEGORY, weight=15)
    request(one_line_order(customer, shop.laptop, "300.00"), customer)
    one_line_order(other_customer, shop.shirt, "25.00")
    factories.UserFactory(username="carol")
    settings.RETURNS = {**settings.RETURNS, "FLAG_LIFETIME_SCORE": 1000}
    risk_profiles_refresh()

    assert customer.risk_profile.flagged  # flagged when it passed 15; a higher bar later does not clear it
    assert not other_customer.risk_profile.flagged


def test_a_customer_flagged_by_staff_stays_flagged_through_refresh_and_scoring(shop, customer):
    from fraud.models import CustomerRiskProfile

    CustomerRiskProfile.objects.create(customer=customer, flagged=True, flagged_reason="chargebacks")
    order = one_line_order(customer, shop.shirt, "25.00", quantity=2)

    rr = request(order, customer)
    risk_profiles_refresh()

    assert rr.status == ReturnStatus.REQUESTED and review_codes(rr) == ["customer_flagged"]
    profile = customer.risk_profile
    profile.refresh_from_db()
    assert (profile.flagged, profile.flagged_reason, profile.lifetime_returns) == (True, "chargebacks", 1)


def test_a_supervisor_changing_a_weight_in_the_admin_changes_the_score(shop, customer, supervisor, client):
    only(K.RISKY_CATEGORY, weight=15)
    rule = FraudRule.objects.get(kind=K.RISKY_CATEGORY)
    url = reverse("admin:fraud_fraudrule_change", args=[rule.pk])
    client.force_login(supervisor)

    response = client.post(url, {"weight": "55", "active": "on", "params": '{"categories": ["electronics"]}'})

    assert response.status_code == 302, response.context["adminform"].form.errors
    rr = request(one_line_order(customer, shop.laptop, "300.00"), customer)
    assert rr.fraud_score == 55
    assert fired(rr, K.RISKY_CATEGORY).score_delta == 55
    assert (rule.history.first().weight, rule.history.first().history_user) == (55, supervisor)


def test_an_agent_cannot_change_a_fraud_rule(shop, reviewer, client):
    rule = fraud_rules()[K.RISKY_CATEGORY]
    before = (rule.weight, rule.active)
    assert before[0] > 0 and before[1]
    client.force_login(reviewer)

    response = client.post(reverse("admin:fraud_fraudrule_change", args=[rule.pk]),
                           {"weight": "0", "active": "", "params": "{}"})

    assert response.status_code == 403
    rule.refresh_from_db()
    assert (rule.weight, rule.active) == before


@pytest.mark.parametrize("params", ['{"categories": "electronics"}', '{"min_amount": "100"}'])
def test_the_admin_refuses_thresholds_a_rule_cannot_use(shop, admin_client, params):
    rule = fraud_rules()[K.RISKY_CATEGORY]

    response = admin_client.post(reverse("admin:fraud_fraudrule_change", args=[rule.pk]),
                                 {"weight": "15", "active": "on", "params": params})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["params"]


def test_the_admin_pages_show_rules_signals_and_profiles(shop, customer, admin_client):
    request(one_line_order(customer, shop.laptop, "300.00"), customer)
    risk_profiles_refresh()

    for name in ("fraudrule", "fraudsignal", "customerriskprofile"):
        assert admin_client.get(reverse(f"admin:fraud_{name}_changelist")).status_code == 200


def test_rules_missing_from_the_database_are_created_with_their_defaults(db):
    FraudRule.objects.all().delete()

    rules = fraud_rules()

    assert set(rules) == set(SignalKind.values)
    assert rules[K.HIGH_RETURN_RATE].weight == 30
    assert rules[K.HIGH_RETURN_RATE].param("min_orders") == 3


# --- scoring reads one row ---

def _unscored_return(order, customer) -> ReturnRequest:
    """A return with its lines, not yet scored, to time scoring on its own."""
    rr = ReturnRequest.objects.create(rma_number=f"RMA-T{order.pk}", order=order, customer=customer)
    line = order.lines.first()
    reason = factories.reasons()["wrong_size"]
    ReturnLine.objects.create(return_request=rr, order_line=line, quantity=1, reason=reason)
    return rr


def _scoring_queries(order, customer) -> list[str]:
    rr = _unscored_return(order, customer)
    amount = order.lines.first().unit_price
    with CaptureQueriesContext(connection) as captured:
        fraud_score_request(return_request=rr, amount=amount)
    return [query["sql"] for query in captured.captured_queries]


def test_scoring_reads_one_profile_row_whatever_the_customers_history(shop, customer, other_customer):
    fraud_rules()
    for _ in range(12):
        order = one_line_order(customer, shop.laptop, "300.00")
        request(order, customer)
    big = one_line_order(customer, shop.laptop, "300.00")
    small = one_line_order(other_customer, shop.laptop, "300.00")
    risk_profiles_refresh()

    heavy = _scoring_queries(big, customer)
    light = _scoring_queries(small, other_customer)

    # the profile row with the return's categories, then one write of the signals and the counts
    # (the rules are remembered in memory)
    assert len(heavy) == len(light) == 2
    for sql in heavy:
        assert '"orders_order"' not in sql and "count(" not in sql.lower(), sql
    reads = [sql for sql in heavy if 'JOIN "fraud_customerriskprofile" p ON p.customer_id' in sql]
    writes = [sql for sql in heavy if sql.lstrip().startswith("WITH inserted")]
    assert len(reads) == len(writes) == 1
