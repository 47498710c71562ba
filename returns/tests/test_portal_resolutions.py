"""The portal's return wizard offers a resolution per item: money back, store credit, or a
replacement (the same item, or another of its category in stock and priced in the order's
currency); the price difference shows before the customer asks, the quote shows what an exchange
costs, and the service's refusals land on the row."""

import re
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from returns.models import ReturnRequest
from returns.tests.resolutions import stock, variants
from tests import factories

pytestmark = pytest.mark.django_db


def _data(order, *, action, resolution, replacement="") -> dict:
    shirt = order.lines.get(product__sku="shirt-blue-m")
    prefix = f"line-{shirt.pk}"
    return {"action": action, "refund_method": "original_payment", "note": "", "submission": str(uuid.uuid4()),
            f"{prefix}-selected": "on", f"{prefix}-quantity": 1, f"{prefix}-reason": "arrived_damaged",
            f"{prefix}-resolution": resolution, f"{prefix}-replacement": replacement}


def test_a_customer_asks_for_the_same_item_again(client, customer, shop, order):
    stock(shop.shirt, 2)
    client.force_login(customer)
    url = reverse("portal:return_start", args=[order.pk])
    assert 'name="line-' in client.get(url).content.decode() and "A replacement" in \
        client.get(url).content.decode()
    response = client.post(url, _data(order, action="submit", resolution="exchange"))
    assert response.status_code == 302
    line = ReturnRequest.objects.get().lines.get()
    assert (line.resolution, line.replacement_product) == ("exchange", shop.shirt)


def test_an_exchange_out_of_stock_is_refused_on_its_row(client, customer, order):
    client.force_login(customer)
    response = client.post(reverse("portal:return_start", args=[order.pk]),
                           _data(order, action="submit", resolution="exchange"))
    assert response.status_code == 200 and "out of stock" in response.content.decode()
    assert not ReturnRequest.objects.exists()


def test_a_policy_without_store_credit_says_so(client, customer, order):
    factories.policy(None, allowed_resolutions=["refund", "exchange"])
    client.force_login(customer)
    response = client.post(reverse("portal:return_start", args=[order.pk]),
                           _data(order, action="quote", resolution="store_credit"))
    assert "can be returned for refund or exchange only" in response.content.decode()


@pytest.fixture
def swaps(shop):
    """In stock beside the blue M shirt (25.00 + 8 % tax): a blue L at the same price, a silk M dearer
    and a basic M cheaper; a red M with no stock, a priced laptop of another category, a shirt priced
    in euros and one with no price at all."""
    same, dearer, cheaper = variants()
    for product in (same, dearer, cheaper, shop.shirt):
        stock(product, 3)
    red = factories.product("shirt-red-m")
    euro = factories.product("shirt-euro-m")
    factories.product("shirt-unpriced-m")
    red.price, euro.price, euro.currency = Decimal("25.00"), Decimal("25.00"), "EUR"
    red.save()
    euro.save()
    stock(euro, 3)
    shop.laptop.price = Decimal("25.00")
    shop.laptop.save()
    stock(shop.laptop, 3)
    return {"same": same, "dearer": dearer, "cheaper": cheaper}


def _replacement_options(response, order) -> list[tuple[str, str]]:
    shirt = order.lines.get(product__sku="shirt-blue-m")
    html = response.content.decode()
    select = re.search(rf'<select name="line-{shirt.pk}-replacement".*?</select>', html, re.S).group(0)
    return [(value, label.strip()) for value, label in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>',
                                                                   select)]


def test_the_customer_picks_a_replacement_among_in_stock_variants_and_sees_the_difference_first(
        client, customer, order, swaps):
    client.force_login(customer)
    response = client.get(reverse("portal:return_start", args=[order.pk]))
    assert _replacement_options(response, order) == [
        ("", "The same item, nothing to pay"),
        ("shirt-basic-m", "Shirt Basic M · $16.20 each, $10.80 back to you"),
        ("shirt-blue-l", "Shirt Blue L · $27.00 each, nothing to pay"),
        ("shirt-silk-m", "Shirt Silk M · $43.20 each, $16.20 more to pay"),
    ]  # no red M (out of stock), no laptop (another category), no euro or unpriced shirt


def test_the_same_item_out_of_stock_says_so(client, customer, order, shop):
    client.force_login(customer)
    response = client.get(reverse("portal:return_start", args=[order.pk]))
    assert _replacement_options(response, order) == [("", "The same item (out of stock)")]


@pytest.mark.parametrize(("sku", "says"), [
    ("shirt-silk-m", "Replaced by 1 × Shirt Silk M: $16.20 more to pay"),
    ("shirt-basic-m", "Replaced by 1 × Shirt Basic M: $10.80 back to you"),
    ("shirt-blue-l", "Replaced by 1 × Shirt Blue L: nothing to pay"),
])
def test_the_quote_shows_the_replacement_and_the_difference(client, customer, order, swaps, sku, says):
    client.force_login(customer)
    response = client.post(reverse("portal:return_start", args=[order.pk]),
                           _data(order, action="quote", resolution="exchange", replacement=sku))
    html = response.content.decode()
    assert says in html
    assert ("The replacements cost $16.20 more" in html) == (sku == "shirt-silk-m")
    assert not ReturnRequest.objects.exists()


def test_a_request_for_another_variant_reserves_it(client, customer, order, swaps):
    client.force_login(customer)
    response = client.post(reverse("portal:return_start", args=[order.pk]),
                           _data(order, action="submit", resolution="exchange", replacement="shirt-silk-m"))
    assert response.status_code == 302
    line = ReturnRequest.objects.get().lines.get()
    assert (line.resolution, line.replacement_product, line.replacement_unit_price, line.replacement_unit_tax) == (
        "exchange", swaps["dearer"], Decimal("40.00"), Decimal("3.20"))
    assert line.reservations.get().product == swaps["dearer"]


def test_a_replacement_picked_for_money_back_is_ignored(client, customer, order, swaps):
    client.force_login(customer)
    response = client.post(reverse("portal:return_start", args=[order.pk]),
                           _data(order, action="submit", resolution="refund", replacement="shirt-silk-m"))
    assert response.status_code == 302
    line = ReturnRequest.objects.get().lines.get()
    assert (line.resolution, line.replacement_product) == ("refund", None)


def test_a_replacement_that_sold_out_since_the_page_was_shown_offers_money_back(client, customer, order, swaps):
    from inventory.services import stock_adjust
    from returns.tests.resolutions import stock_keeper

    client.force_login(customer)
    url = reverse("portal:return_start", args=[order.pk])
    assert ("shirt-silk-m", "Shirt Silk M · $43.20 each, $16.20 more to pay") in _replacement_options(
        client.get(url), order)
    stock_adjust(product=swaps["dearer"], on_hand_delta=-3, by=stock_keeper(), note="sold out")
    quote = client.post(url, _data(order, action="quote", resolution="exchange", replacement="shirt-silk-m"))
    assert "Shirt Silk M is out of stock" in quote.content.decode()
    response = client.post(url, _data(order, action="submit", resolution="exchange", replacement="shirt-silk-m"))
    assert response.status_code == 200 and "out of stock" in response.content.decode()
    assert not ReturnRequest.objects.exists()


@pytest.mark.parametrize(("sku", "says"), [
    ("shirt-nowhere", "We have no product shirt-nowhere."),
    ("shirt-euro-m", "Shirt Euro M cannot be sent as a replacement for this order."),
])
def test_a_replacement_not_on_offer_is_refused_on_its_row(client, customer, order, swaps, sku, says):
    client.force_login(customer)
    response = client.post(reverse("portal:return_start", args=[order.pk]),
                           _data(order, action="submit", resolution="exchange", replacement=sku))
    html = response.content.decode()
    assert response.status_code == 200 and says in html
    assert f'<option value="{sku}" selected>{sku} (no longer available)</option>' in html
    assert not ReturnRequest.objects.exists()
