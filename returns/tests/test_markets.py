"""Markets: the policy chosen per shipping country, its currency, and the EU's 14-day minimum window."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from core.errors import ValidationFailed
from refunds.reconciliation import reconcile
from returns import markets, selectors, services
from returns.models import Market, ReturnRequest
from tests import factories
from tests.factories import line_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def seven_day_electronics(shop):
    return factories.policy("electronics", window_days=7)


@pytest.fixture
def eu(shop):
    market = Market(code="eu-core", name="Germany and France", countries=["de", "FR"], currency="eur")
    market.full_clean()
    market.save()
    return market


def laptop_order(shop, customer, *, country: str, days_ago: int, currency="USD"):
    return factories.make_order(customer=customer, shipping_country=country, currency=currency,
                                delivered_days_ago=days_ago, lines=[(shop.laptop, 1, "900.00", "90.00")])


def ask(customer, order):
    return services.return_request_create(by=customer, order_id=order.pk,
                                          lines=[line_request(order.lines.get(), 1)])


@pytest.mark.parametrize(("country", "days_ago", "allowed"), [
    ("DE", 14, True), ("DE", 15, False), ("FR", 10, True),
    ("US", 7, True), ("US", 8, False), ("CH", 8, False),  # Switzerland is not in the EU
])
def test_an_eu_address_gets_at_least_fourteen_days_whatever_the_category_says(
        country, days_ago, allowed, shop, customer, seven_day_electronics):
    order = laptop_order(shop, customer, country=country, days_ago=days_ago)

    if allowed:
        assert ask(customer, order).pk
        return
    with pytest.raises(ValidationFailed) as refused:
        ask(customer, order)
    assert refused.value.violations[0].code == "return_window_closed"
    window = 14 if country == "DE" else 7
    assert f"{window}-day return window" in refused.value.violations[0].message
    assert not ReturnRequest.objects.exists()


def test_the_effective_window_is_what_the_customer_sees_and_what_the_return_keeps(shop, customer,
                                                                                 seven_day_electronics):
    german = laptop_order(shop, customer, country="de", days_ago=3)
    american = laptop_order(shop, customer, country="US", days_ago=3)

    (de_line,) = selectors.returnable_lines(german)
    (us_line,) = selectors.returnable_lines(american)
    assert (de_line["window_days"], us_line["window_days"]) == (14, 7)
    assert (de_line["return_by"] - german.delivered_at).days == 14  # day 14 is in, day 15 out
    assert (us_line["return_by"] - american.delivered_at).days == 7

    snapshot = ask(customer, german).policy_snapshot
    assert snapshot["categories"]["electronics"]["window_days"] == 14
    assert snapshot["categories"]["electronics"]["policy_window_days"] == 7
    assert snapshot["shipping_country"] == "de"


def test_a_longer_window_than_the_minimum_is_kept(shop):
    policy = factories.policy(None, window_days=30)
    assert markets.effective_window_days(policy, "DE") == 30
    assert markets.effective_window_days(policy, "US") == 30
    assert markets.effective_window_days({"window_days": 3}, " at ") == 14


def test_the_policy_is_chosen_by_the_shipping_countrys_market_then_falls_back(shop, eu):
    global_default = factories.policy(None)
    global_electronics = factories.policy("electronics")
    eu_default = factories.policy(None, market=eu, window_days=30)
    eu_shoes = factories.policy("shoes", market=eu, window_days=60)

    de = selectors.policies_by_category({"electronics", "shoes", "apparel"}, country="DE")
    us = selectors.policies_by_category({"electronics", "shoes", "apparel"}, country="US")
    no_country = selectors.policies_by_category({"electronics"})

    assert (de["shoes"], de["electronics"], de["apparel"], de[""]) == (eu_shoes, eu_default, eu_default, eu_default)
    assert (us["shoes"], us["electronics"], us["apparel"]) == (global_default, global_electronics, global_default)
    assert no_country["electronics"] == global_electronics
    assert (eu_default.currency, global_default.currency) == ("EUR", "USD")


def test_a_market_without_its_own_policies_falls_back_to_the_global_ones(shop, eu):
    electronics = factories.policy("electronics")
    assert selectors.policies_by_category({"electronics"}, country="FR")["electronics"] == electronics


def test_a_market_policy_applies_end_to_end_with_its_fee_in_its_currency(shop, customer, warehouse, eu,
                                                                         django_capture_on_commit_callbacks):
    factories.policy(None, market=eu, window_days=30, return_methods={"label": "2.50", "qr_drop_off": "0.99"})
    order = factories.make_order(customer=customer, shipping_country="FR", currency="EUR",
                                 lines=[(shop.shirt, 2, "25.00", "5.00")])
    shirts = order.lines.get()

    quote = services.return_quote_request(by=customer, order_id=order.pk, return_method="qr_drop_off",
                                          lines=[line_request(shirts, 2)])
    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk, return_method="qr_drop_off",
                                            lines=[line_request(shirts, 2)])
    rr = ReturnRequest.objects.get(order=order)
    services.return_mark_in_transit(return_request=rr)
    with django_capture_on_commit_callbacks(execute=True):
        services.return_receive(return_request=rr, by=warehouse)
        factories.inspect_all(ReturnRequest.objects.get(pk=rr.pk), by=warehouse)
    rr.refresh_from_db()

    assert rr.policy_snapshot["categories"]["apparel"]["market"] == "eu-core"
    assert rr.policy_snapshot["return_method"] == {"code": "qr_drop_off", "fee": "0.99", "currency": "EUR"}
    # 2 × (25 + 5) plus the shipping (everything came back), less the drop-off fee
    assert quote.net == Decimal("60.00") + Decimal("9.95") - Decimal("0.99")
    assert (rr.refund.currency, rr.refund.net, rr.refund.method_fee) == ("EUR", quote.net, Decimal("0.99"))
    assert reconcile().ok


def test_a_fee_in_another_currency_than_the_orders_is_not_offered(shop, customer, eu):
    factories.policy(None, market=eu, return_methods={"label": "0", "qr_drop_off": "0.99"})
    # Shipped to Germany but paid in US dollars: the euro fee cannot be taken from the refund.
    order = factories.make_order(customer=customer, shipping_country="DE", currency="USD",
                                 lines=[(shop.shirt, 1, "25.00", "5.00")])

    with pytest.raises(ValidationFailed) as refused:
        services.return_quote_request(by=customer, order_id=order.pk, return_method="qr_drop_off",
                                      lines=[line_request(order.lines.get(), 1)])
    assert refused.value.code == "return_method_not_offered"
    free = services.return_quote_request(by=customer, order_id=order.pk, return_method="label",
                                         lines=[line_request(order.lines.get(), 1)])
    assert free.method_fee == 0


def test_a_country_belongs_to_one_market_and_codes_are_checked(eu):
    for fields, field in (({"countries": ["FR", "BE"]}, "countries"), ({"countries": ["Belgium"]}, "countries"),
                          ({"countries": []}, "countries"), ({"currency": "EURO"}, "currency")):
        market = Market(**{"code": "other", "name": "Other", "countries": ["BE"], "currency": "EUR", **fields})
        with pytest.raises(ValidationError) as refused:
            market.full_clean()
        assert field in refused.value.message_dict


def test_one_policy_per_category_and_market(shop, eu):
    factories.policy("shoes", market=eu)
    duplicate = type(factories.policy("shoes", market=eu))(category="shoes", market=eu)
    with pytest.raises(ValidationError):
        duplicate.full_clean()
    global_default_again = type(duplicate)(category=None, market=None)
    with pytest.raises(ValidationError):
        global_default_again.full_clean()
