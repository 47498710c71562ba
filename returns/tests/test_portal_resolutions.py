"""The portal's return wizard offers a resolution per item: money back, store credit, or the same
item again; the quote shows what an exchange costs, and the service's refusals land on the row."""

import uuid

import pytest
from django.urls import reverse

from returns.models import ReturnRequest
from returns.tests.resolutions import stock
from tests import factories

pytestmark = pytest.mark.django_db


def _data(order, *, action, resolution) -> dict:
    shirt = order.lines.get(product__sku="shirt-blue-m")
    prefix = f"line-{shirt.pk}"
    return {"action": action, "refund_method": "original_payment", "note": "", "submission": str(uuid.uuid4()),
            f"{prefix}-selected": "on", f"{prefix}-quantity": 1, f"{prefix}-reason": "arrived_damaged",
            f"{prefix}-resolution": resolution}


def test_a_customer_asks_for_the_same_item_again(client, customer, shop, order):
    stock(shop.shirt, 2)
    client.force_login(customer)
    url = reverse("portal:return_start", args=[order.pk])
    assert 'name="line-' in client.get(url).content.decode() and "A replacement of the same item" in \
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
