"""Warehouse receipts, inspections and carrier scans over HTTP: 202, then processed once."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from returns.models import InboundEvent, ReturnRequest, UnmatchedParcel
from tests import factories
from tests.api.conftest import client_for, partner_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def authorized(order, customer, django_capture_on_commit_callbacks):
    from returns import services

    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk,
                                            lines=[factories.line_request(ol, ol.quantity_shipped)
                                                   for ol in order.lines.all()])
    rr.refresh_from_db()
    return rr


@pytest.fixture
def warehouse_api(shop):
    return partner_client("dc-east", "web", ["warehouse:write", "returns:read"])


@pytest.fixture
def carrier_api(shop):
    return partner_client("parcel-co", "web", ["carrier:write"])


def test_scan_receipt_and_inspection_take_a_return_to_refunded(authorized, warehouse_api, carrier_api,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        scan = carrier_api.post("/api/v1/carrier/events", {"event_id": "s-1",
                                                           "tracking_number": authorized.tracking_number},
                                format="json")
    assert scan.status_code == 202 and scan.json()["duplicate"] is False
    authorized.refresh_from_db()
    assert authorized.status == "in_transit"

    shirts, jacket = authorized.lines.all()
    with django_capture_on_commit_callbacks(execute=True):
        receipt = warehouse_api.post("/api/v1/warehouse/receipts", {
            "event_id": "r-1", "rma_number": authorized.rma_number,
            "received_quantities": {str(shirts.pk): 1}}, format="json")
    assert receipt.status_code == 202
    authorized.refresh_from_db()
    assert authorized.status == "received" and authorized.lines.get(pk=shirts.pk).received_quantity == 1

    body = {"event_id": "i-1", "lines": {str(shirts.pk): {"condition": "new"}, str(jacket.pk): {"condition": "new"}}}
    with django_capture_on_commit_callbacks(execute=True):
        first = warehouse_api.post(f"/api/v1/returns/{authorized.rma_number}/inspection", body, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        again = warehouse_api.post(f"/api/v1/returns/{authorized.rma_number}/inspection", body, format="json")
    assert first.status_code == again.status_code == 202 and again.json()["duplicate"] is True
    authorized.refresh_from_db()
    assert authorized.status == "refunded"
    assert authorized.refund.net == 27 + 132  # one shirt arrived, and the jacket
    assert InboundEvent.objects.filter(kind="inspection").count() == 1


def test_an_unknown_parcel_goes_to_the_unmatched_queue(warehouse_api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = warehouse_api.post("/api/v1/warehouse/receipts", {
            "event_id": "r-9", "tracking_number": "1ZUNKNOWN", "contents_note": "one blue shirt"}, format="json")
    assert response.status_code == 202
    assert UnmatchedParcel.objects.get().tracking_number == "1ZUNKNOWN"


def test_events_of_another_channel_are_not_reachable(authorized):
    other = partner_client("dc-app", "app", ["warehouse:write", "carrier:write"])
    response = other.post(f"/api/v1/returns/{authorized.rma_number}/inspection",
                          {"lines": {"1": {"condition": "new"}}}, format="json")
    assert response.status_code == 404
    scan = other.post("/api/v1/carrier/events", {"tracking_number": authorized.tracking_number}, format="json")
    assert scan.status_code == 404
    assert not InboundEvent.objects.exists()


def test_event_id_reused_for_another_body_is_a_conflict(authorized, carrier_api):
    carrier_api.post("/api/v1/carrier/events", {"event_id": "s-5", "tracking_number": authorized.tracking_number},
                     format="json")
    clash = carrier_api.post("/api/v1/carrier/events", {"event_id": "s-5", "tracking_number": "1ZOTHER",
                                                        "rma_number": authorized.rma_number}, format="json")
    assert clash.status_code == 409 and clash.json()["code"] == "event_id_reused"


@pytest.mark.parametrize("body", [{"lines": {}}, {"lines": {"1": {"condition": "broken"}}}, {"lines": [1]},
                                  {"lines": {"1": {"condition": "new"}}, "status": "inspected"}])
def test_bad_inspections_are_refused_before_queueing(authorized, warehouse_api, body):
    response = warehouse_api.post(f"/api/v1/returns/{authorized.rma_number}/inspection", body, format="json")
    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


def test_customers_cannot_post_warehouse_events(authorized, customer):
    response = client_for(customer).post(f"/api/v1/returns/{authorized.rma_number}/inspection",
                                         {"lines": {"1": {"condition": "new"}}}, format="json")
    assert response.status_code == 403
    assert ReturnRequest.objects.get(pk=authorized.pk).status == "authorized"


def test_customers_get_a_token_and_logins_are_throttled(customer):
    api = client_for()
    ok = api.post("/api/v1/auth/token", {"username": "alice", "password": factories.PASSWORD}, format="json")
    assert ok.status_code == 200
    token_client = client_for()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {ok.json()['token']}")
    assert token_client.get("/api/v1/returns").status_code == 200
    wrong = api.post("/api/v1/auth/token", {"username": "alice", "password": "nope"}, format="json")
    assert wrong.status_code == 400 and wrong["Content-Type"] == "application/problem+json"


def test_callers_over_their_budget_get_429_with_retry_after(customer):
    from rest_framework.throttling import SimpleRateThrottle

    tight = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"caller": "3/min", "login": "2/min"}}
    cache.clear()
    try:
        with override_settings(REST_FRAMEWORK=tight):
            SimpleRateThrottle.THROTTLE_RATES = tight["DEFAULT_THROTTLE_RATES"]
            api = client_for(customer)
            codes = [api.get("/api/v1/returns").status_code for _ in range(4)]
            assert codes == [200, 200, 200, 429]
            limited = api.get("/api/v1/returns")
            assert int(limited["Retry-After"]) > 0 and limited.json()["code"] == "throttled"
    finally:
        cache.clear()
        SimpleRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]


@pytest.mark.parametrize("encoding", ["json", "multipart"])
def test_a_username_longer_than_any_user_is_a_400_and_still_counts_towards_the_lockout(customer, encoding):
    api = client_for()
    long_name = "alice" + "x" * 300
    codes = [api.post("/api/v1/auth/token", {"username": long_name, "password": "wrong"}, format=encoding).status_code
             for _ in range(5)]
    assert codes == [400, 400, 400, 400, 429]


def test_repeated_wrong_passwords_lock_the_token_login(customer):
    api = client_for()
    codes = [api.post("/api/v1/auth/token", {"username": "alice", "password": "wrong"}, format="json").status_code
             for _ in range(5)]
    assert codes == [400, 400, 400, 400, 429]  # the fifth failure locks the login
    locked = api.post("/api/v1/auth/token", {"username": "alice", "password": factories.PASSWORD}, format="json")
    assert locked.status_code == 429 and locked.json()["code"] == "too_many_login_attempts"
    assert int(locked["Retry-After"]) > 0
