"""Return methods over HTTP: chosen in the request and quote, drop-off codes scanned at the counter,
own shipments given their tracking number."""

from decimal import Decimal

import pytest

from returns import methods
from returns.choices import ReturnStatus
from returns.models import InboundEvent, ReturnRequest
from tests import factories
from tests.api.conftest import client_for, partner_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def offered(shop):
    return factories.policy(None, return_methods={"label": "3.95", "qr_drop_off": "1.50", "own_shipping": "0"})


@pytest.fixture
def counter(shop):
    return partner_client("parcel-co", "web", ["carrier:write"])


def body(order, method):
    return {"order_id": order.pk, "return_method": method,
            "lines": [factories.line_request(order.lines.get(product__sku="shirt-blue-m"), 2)]}


def create(api, order, method, capture):
    with capture(execute=True):
        response = api.post("/api/v1/returns", body(order, method), format="json")
    assert response.status_code == 201, response.json()
    return ReturnRequest.objects.get(rma_number=response.json()["rma_number"]), response.json()


def test_the_quote_shows_the_chosen_methods_fee_and_the_return_keeps_it(order, customer, offered,
                                                                        django_capture_on_commit_callbacks):
    api = client_for(customer)
    quote = api.post("/api/v1/returns/quote", body(order, "qr_drop_off"), format="json").json()
    rr, created = create(api, order, "qr_drop_off", django_capture_on_commit_callbacks)

    assert (quote["return_method"], quote["method_fee"], quote["net"]) == ("qr_drop_off", "1.50", "52.50")
    assert created["return_method"] == "qr_drop_off"
    assert rr.policy_snapshot["return_method"]["fee"] == "1.50"


def test_a_method_not_offered_is_a_422_with_its_code(order, customer, shop):
    factories.policy(None, return_methods={"label": "0"})
    response = client_for(customer).post("/api/v1/returns", body(order, "own_shipping"), format="json")

    assert response.status_code == 422
    assert response.json()["code"] == "return_method_not_offered"
    assert not ReturnRequest.objects.exists()


def test_the_counter_scans_a_drop_off_code_once_and_a_forged_one_is_refused(order, customer, offered, counter,
                                                                           django_capture_on_commit_callbacks):
    api = client_for(customer)
    rr, _ = create(api, order, "qr_drop_off", django_capture_on_commit_callbacks)
    label = api.get(f"/api/v1/returns/{rr.rma_number}/label")
    code = methods.drop_off_token(rr)

    forged = counter.post("/api/v1/carrier/drop-offs", {"code": code[:-2] + "xx"}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        first = counter.post("/api/v1/carrier/drop-offs", {"event_id": "k-1", "code": code}, format="json")
        again = counter.post("/api/v1/carrier/drop-offs", {"event_id": "k-1", "code": code}, format="json")
        rescan = counter.post("/api/v1/carrier/drop-offs", {"event_id": "k-2", "code": code}, format="json")

    assert (label.status_code, label["Content-Type"]) == (200, "application/pdf")
    assert (forged.status_code, forged.json()["code"]) == (422, "drop_off_code_invalid")
    assert (first.status_code, first.json()["duplicate"]) == (202, False)
    assert (again.status_code, again.json()["duplicate"]) == (202, True)
    assert rescan.status_code == 202
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.IN_TRANSIT
    assert [h.status for h in rr.history.order_by("history_id")].count(ReturnStatus.IN_TRANSIT) == 1
    assert [event.status for event in InboundEvent.objects.order_by("pk")] == ["processed", "processed"]


def test_another_channels_counter_cannot_scan_this_channels_return(order, customer, offered,
                                                                  django_capture_on_commit_callbacks):
    rr, _ = create(client_for(customer), order, "qr_drop_off", django_capture_on_commit_callbacks)
    elsewhere = partner_client("app-post", "app", ["carrier:write"])

    response = elsewhere.post("/api/v1/carrier/drop-offs", {"code": methods.drop_off_token(rr)}, format="json")

    assert response.status_code == 404
    assert not InboundEvent.objects.exists()


def test_own_shipping_takes_the_tracking_number_and_has_no_label(order, customer, offered, counter,
                                                                 django_capture_on_commit_callbacks):
    api = client_for(customer)
    rr, created = create(api, order, "own_shipping", django_capture_on_commit_callbacks)

    no_label = api.get(f"/api/v1/returns/{rr.rma_number}/label")
    bad = api.post(f"/api/v1/returns/{rr.rma_number}/shipment", {"carrier": "DHL", "tracking_number": "a b"},
                   format="json")
    given = api.post(f"/api/v1/returns/{rr.rma_number}/shipment", {"carrier": "DHL", "tracking_number": "JD0142"},
                     format="json")
    with django_capture_on_commit_callbacks(execute=True):
        scan = counter.post("/api/v1/carrier/events", {"tracking_number": "JD0142"}, format="json")

    assert (created["label_url"], no_label.status_code, no_label.json()["code"]) == (None, 409, "no_label")
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_tracking_number")
    assert (given.status_code, given.json()["carrier"], given.json()["tracking_number"]) == (200, "DHL", "JD0142")
    assert scan.status_code == 202
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.IN_TRANSIT
    assert Decimal(api.get(f"/api/v1/returns/{rr.rma_number}").json()["lines"][0]["quantity"]) == 2


def test_the_returnable_lines_show_the_effective_window_for_the_shipping_country(customer, shop):
    factories.policy("electronics", window_days=7)
    german = factories.make_order(customer=customer, shipping_country="DE", delivered_days_ago=10,
                                  lines=[(shop.laptop, 1, "900.00", "90.00")])
    american = factories.make_order(customer=customer, shipping_country="US", delivered_days_ago=10,
                                    lines=[(shop.laptop, 1, "900.00", "90.00")])
    api = client_for(customer)

    (de,) = api.get(f"/api/v1/orders/{german.pk}/returnable").json()["lines"]
    (us,) = api.get(f"/api/v1/orders/{american.pk}/returnable").json()["lines"]

    assert (de["window_days"], de["returnable_quantity"], de["not_returnable_reason"]) == (14, 1, "")
    assert (us["window_days"], us["returnable_quantity"], us["not_returnable_reason"]) == (7, 0,
                                                                                           "return_window_closed")
