"""The OMS pushes orders; the same body twice changes nothing, and returns are never undermined."""

from decimal import Decimal

import pytest

from orders.models import Order, OrderLine
from returns import gifts, services
from tests import factories
from tests.api.conftest import client_for, partner_client

pytestmark = pytest.mark.django_db


def body(**overrides):
    data = {
        "customer": {"email": "Dana@Example.com", "first_name": "Dana"},
        "currency": "USD", "status": "fulfilled", "placed_at": "2026-11-01T10:00:00Z",
        "delivered_at": "2026-11-10T10:00:00Z", "shipping_cost": "4.95",
        "lines": [
            {"line_id": "L1", "sku": "mug-white", "product_name": "White mug", "category": "home",
             "quantity_ordered": 2, "quantity_shipped": 2, "unit_price": "12.50", "unit_tax": "1.00"},
            {"line_id": "L2", "sku": "tea-towel", "quantity_ordered": 1, "quantity_shipped": 1,
             "unit_price": "8.00"},
        ],
        "payments": [{"gateway": "sandbox", "charge_reference": "ch_oms_1", "amount": "39.95",
                      "captured_at": "2026-11-01T10:00:05Z"}],
    }
    data.update(overrides)
    return data


@pytest.fixture
def oms(shop):
    return partner_client("acme-oms", "web", ["orders:write", "returns:read", "returns:write"])


def test_upsert_creates_then_updates_idempotently(oms):
    first = oms.put("/api/v1/orders/OMS-100", body(), format="json")
    assert first.status_code == 201, first.json()
    order = Order.objects.get(external_id="OMS-100")
    assert order.customer.email == "dana@example.com" and order.lines.count() == 2
    assert first.json()["lines"][0]["unit_price"] == "12.50"
    again = oms.put("/api/v1/orders/OMS-100", body(), format="json")
    assert again.status_code == 200 and again.json() == {**first.json()}
    assert Order.objects.count() == 1 and OrderLine.objects.count() == 2
    delivered = body(status="fulfilled", delivered_at="2026-11-12T09:00:00Z")
    assert oms.put("/api/v1/orders/OMS-100", delivered, format="json").json()["delivered_at"].startswith("2026-11-12")


def test_the_orders_tags_are_kept_for_the_return_rules(oms):
    assert oms.put("/api/v1/orders/OMS-300", body(tags=["vip", "gift"]), format="json").status_code == 201
    assert Order.objects.get(external_id="OMS-300").tags == ["vip", "gift"]
    refused = oms.put("/api/v1/orders/OMS-301", body(tags="vip"), format="json")
    assert refused.status_code in (400, 422) and not Order.objects.filter(external_id="OMS-301").exists()


def test_the_order_lands_in_the_keys_channel_only(oms, shop):
    oms.put("/api/v1/orders/OMS-7", body(), format="json")
    other = partner_client("app-oms", "app", ["orders:write"])
    own_charge = [{**body()["payments"][0], "charge_reference": "ch_app_7"}]
    assert other.put("/api/v1/orders/OMS-7", body(payments=own_charge), format="json").status_code == 201
    assert sorted(Order.objects.filter(external_id="OMS-7").values_list("channel__code", flat=True)) == ["app", "web"]


def test_an_update_cannot_undermine_a_return(oms):
    oms.put("/api/v1/orders/OMS-200", body(), format="json")
    order = Order.objects.get(external_id="OMS-200")
    mug = order.lines.get(external_id="L1")
    factories.reasons()
    from returns.services import return_request_create

    return_request_create(by=order.customer, order_id=order.pk, lines=[factories.line_request(mug, 2)])
    fewer = body()
    fewer["lines"][0]["quantity_shipped"] = 1
    response = oms.put("/api/v1/orders/OMS-200", fewer, format="json")
    assert response.status_code == 422 and response.json()["code"] == "shipped_below_returned"
    gone = body(lines=body()["lines"][1:])
    assert oms.put("/api/v1/orders/OMS-200", gone, format="json").json()["code"] == "line_has_returns"
    assert oms.put("/api/v1/orders/OMS-200", body(currency="EUR"), format="json").json()["code"] == \
        "currency_immutable"
    assert order.lines.get(external_id="L1").quantity_shipped == 2


@pytest.mark.parametrize("record", ["a cancelled return", "a gift receipt"])
def test_a_line_a_record_names_cannot_be_removed(oms, record):
    """A return that is over, or a gift receipt, still names the line: removing it is refused with a
    code and changes nothing (it was a server error: the records' foreign keys protect the line)."""
    oms.put("/api/v1/orders/OMS-300", body(), format="json")
    order = Order.objects.get(external_id="OMS-300")
    mug = order.lines.get(external_id="L1")
    if record == "a gift receipt":
        gifts.gift_receipt_issue(by=factories.staff_user("Supervisor", username="sup"), order_id=order.pk,
                                 order_line_id=mug.pk)
    else:
        factories.reasons()
        created = services.return_request_create(by=order.customer, order_id=order.pk,
                                                 lines=[factories.line_request(mug, 1)])
        services.return_cancel(return_request=created, by=order.customer, reason="")

    response = oms.put("/api/v1/orders/OMS-300", body(lines=body()["lines"][1:], shipping_cost="9.95"),
                       format="json")

    assert response.status_code == 422 and response.json()["code"] == "line_on_record"
    order.refresh_from_db()
    assert order.lines.filter(external_id="L1").exists() and order.shipping_cost == Decimal("4.95")


@pytest.mark.parametrize(("change", "code"), [
    ({"shipping_cost": "4.955"}, "amount_precision"),
    ({"currency": "JPY", "shipping_cost": "4.95"}, "amount_precision"),
])
def test_amounts_must_fit_the_currency(oms, change, code):
    response = oms.put("/api/v1/orders/OMS-300", body(**change), format="json")
    assert response.status_code == 422 and response.json()["code"] == code
    assert not Order.objects.exists()


@pytest.mark.parametrize("bad", [
    {"lines": []}, {"currency": "US"}, {"status": "shipped"}, {"placed_at": "yesterday"},
    {"lines": [{"line_id": "1", "sku": "x", "quantity_ordered": 1, "quantity_shipped": 2, "unit_price": "1"}]},
    {"lines": [{"line_id": "1", "sku": "x", "quantity_ordered": 1, "quantity_shipped": 1, "unit_price": "-1"}]},
    {"id": 5}, {"customer": {"email": "not-an-email"}}, {"discount": "5"},
])
def test_bad_orders_are_refused_and_write_nothing(oms, bad):
    response = oms.put("/api/v1/orders/OMS-400", body(**bad), format="json")
    assert response.status_code in (400, 422), response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert not Order.objects.exists()


def test_a_charge_belongs_to_one_order(oms):
    from orders.models import Payment

    assert oms.put("/api/v1/orders/OMS-500", body(), format="json").status_code == 201
    # Another order naming the same charge would take it, and the refunds paid back to it, away.
    taken = oms.put("/api/v1/orders/OMS-501", body(), format="json")
    assert taken.status_code == 422 and taken.json()["code"] == "payment_on_another_order", taken.json()
    assert not Order.objects.filter(external_id="OMS-501").exists()
    assert Payment.objects.get(charge_reference="ch_oms_1").order.external_id == "OMS-500"

    payment = body()["payments"][0]
    twice = oms.put("/api/v1/orders/OMS-500", body(payments=[payment, payment]), format="json")
    assert twice.status_code == 422 and twice.json()["code"] == "duplicate_payment", twice.json()
    # The order's own charge may be updated (a capture amended), and the update is idempotent.
    amended = oms.put("/api/v1/orders/OMS-500", body(payments=[{**payment, "amount": "39.00"}]), format="json")
    assert amended.status_code == 200, amended.json()
    assert Payment.objects.get(charge_reference="ch_oms_1").amount == Decimal("39.00")


def test_returnable_lines_say_how_many_and_until_when(customer, order):
    api = client_for(customer)
    lines = api.get(f"/api/v1/orders/{order.pk}/returnable").json()["lines"]
    assert [(ln["sku"], ln["returnable_quantity"], ln["not_returnable_reason"]) for ln in lines] == [
        ("shirt-blue-m", 2, ""), ("jacket-rain-l", 1, "")]
    assert lines[0]["return_by"]
