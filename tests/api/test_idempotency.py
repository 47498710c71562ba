"""Idempotency-Key with Stripe's semantics, sequential and concurrent."""

import pytest

from returns.models import ReturnRequest
from tests import factories
from tests.api.conftest import client_for, partner_client
from tests.concurrency import run_at_once


def _body(order, quantity=1):
    return {"order_id": order.pk, "lines": [factories.line_request(order.lines.first(), quantity)]}


@pytest.mark.django_db
def test_same_key_same_body_replays_the_first_response(customer, order):
    api = client_for(customer)
    first = api.post("/api/v1/returns", _body(order), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = api.post("/api/v1/returns", _body(order), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() and second["Idempotent-Replayed"] == "true"
    assert ReturnRequest.objects.count() == 1


@pytest.mark.django_db
def test_same_key_other_body_is_refused(customer, order):
    api = client_for(customer)
    api.post("/api/v1/returns", _body(order), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = api.post("/api/v1/returns", _body(order, 2), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert ReturnRequest.objects.count() == 1


@pytest.mark.django_db
def test_a_refusal_is_replayed_too_and_keys_are_per_caller(customer, other_customer, order):
    api = client_for(customer)
    too_many = _body(order, 5)
    first = api.post("/api/v1/returns", too_many, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    again = api.post("/api/v1/returns", too_many, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert first.status_code == again.status_code == 422 and again["Idempotent-Replayed"] == "true"
    assert again["Content-Type"] == "application/problem+json"
    # The same key from another caller is that caller's own key.
    stranger = client_for(other_customer).post("/api/v1/returns", too_many, format="json",
                                               HTTP_IDEMPOTENCY_KEY="k-3")
    assert stranger.status_code == 404 and "Idempotent-Replayed" not in stranger


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_once(customer, order):
    def call(_):
        return client_for(customer).post("/api/v1/returns", _body(order), format="json",
                                         HTTP_IDEMPOTENCY_KEY="k-concurrent")

    results = run_at_once(8, call)
    codes = sorted(r.status_code for r in results)
    assert ReturnRequest.objects.count() == 1
    assert codes.count(201) >= 1 and set(codes) <= {201, 409}
    conflicts = [r for r in results if r.status_code == 409]
    assert all(r.json()["code"] == "request_in_progress" for r in conflicts)


@pytest.mark.django_db
def test_partner_put_is_idempotent_by_key(shop):
    oms = partner_client("oms", "web", ["orders:write"])
    order = {"customer": {"email": "e@example.com"}, "currency": "USD", "status": "placed",
             "placed_at": "2026-11-01T10:00:00Z",
             "lines": [{"line_id": "1", "sku": "shirt-blue-m", "quantity_ordered": 1, "quantity_shipped": 0,
                        "unit_price": "10.00"}]}
    first = oms.put("/api/v1/orders/K-1", order, format="json", HTTP_IDEMPOTENCY_KEY="put-1")
    replay = oms.put("/api/v1/orders/K-1", order, format="json", HTTP_IDEMPOTENCY_KEY="put-1")
    assert first.status_code == replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
