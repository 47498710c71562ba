"""Arbitrary JSON at the doors events come in by: the carrier and warehouse endpoints, the
inbound-event services behind them, and the partners' webhook endpoints. Never a 500; a refusal
carries a stable code; an event that fails changes nothing but its own row."""

import string

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import DomainError
from inventory.models import StockMovement
from returns import inbound
from returns.choices import EVENT_KINDS_BY_SOURCE, InboundEventStatus
from returns.models import InboundEvent, ReturnLineInspection, ReturnRequest
from tests import factories
from tests.api.conftest import client_for, partner_client

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

# JSON as a client can send it: strings of any character (NUL and lone surrogates included), big
# and negative numbers, deep-ish nesting.
scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30))
json_values = st.recursive(scalars, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=12), children, max_size=4), max_leaves=12)


class Rollback(Exception):
    pass


@pytest.fixture
def scene(order, customer, warehouse):
    """One return of each state an event may find: authorised, and received (waiting for inspection)."""
    from returns import services

    shirts, jacket = order.lines.all()
    authorized = services.return_request_create(by=customer, order_id=order.pk,
                                                lines=[factories.line_request(shirts, 1)])
    received = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                         lines=[(jacket, 1)])
    return authorized, received


def _payloads(authorized, received):
    rmas = st.sampled_from([authorized.rma_number, received.rma_number, "RMA-NONE-0000", ""]) | json_values
    trackings = st.sampled_from([authorized.tracking_number or "", received.tracking_number or "", "1ZNOPE"]) \
        | json_values
    line_ids = [line.pk for rr in (authorized, received) for line in rr.lines.all()]
    line_keys = st.sampled_from(line_ids) | st.sampled_from([str(pk) for pk in line_ids]) | st.text(max_size=8)
    inspection = st.fixed_dictionaries({}, optional={
        "condition": st.sampled_from(["new", "like_new", "damaged", "unsellable", "broken"]) | json_values,
        "notes": json_values, "photos": json_values}) | json_values
    return st.fixed_dictionaries({}, optional={
        "rma_number": rmas, "tracking_number": trackings, "contents_note": json_values,
        "received_quantities": st.dictionaries(line_keys, json_values, max_size=3) | json_values,
        "inspections": st.dictionaries(line_keys, inspection, max_size=3) | json_values,
    }) | json_values


def _state():
    return (sorted(ReturnRequest.objects.values_list("pk", "status", "received_at")),
            ReturnLineInspection.objects.count(), StockMovement.objects.count())


SOURCES_AND_KINDS = [(source, kind) for source, kinds in EVENT_KINDS_BY_SOURCE.items() for kind in kinds]


@pytest.mark.parametrize(("source", "kind"), SOURCES_AND_KINDS)
def test_any_payload_is_stored_and_processed_or_refused_with_a_code_and_half_of_nothing(scene, source, kind):
    authorized, received = scene

    @FUZZ
    @given(payload=_payloads(authorized, received), event_id=st.text(string.printable, min_size=0, max_size=210))
    def run(payload, event_id):
        try:
            with transaction.atomic():
                before = _state()
                try:
                    event, _ = inbound.event_accept(source=source, external_id=event_id, kind=kind, payload=payload)
                except DomainError as refused:
                    assert refused.code and refused.http_status < 500
                    assert _state() == before
                    raise Rollback from None
                processed = inbound.event_process(event_id=event.pk)
                assert processed.status in InboundEventStatus.values
                if processed.status != InboundEventStatus.PROCESSED:
                    assert processed.error_code, processed.error
                    assert _state() == before, "a failed or waiting event changed something"
                assert InboundEvent.objects.filter(pk=event.pk, status=processed.status).exists()
                raise Rollback
        except Rollback:
            pass

    run()


ENDPOINTS = {
    "carrier": ("post", lambda a, r: "/api/v1/carrier/events"),
    "receipt": ("post", lambda a, r: "/api/v1/warehouse/receipts"),
    "inspection": ("post", lambda a, r: f"/api/v1/returns/{r.rma_number}/inspection"),
    "webhook create": ("post", lambda a, r: "/api/v1/webhooks"),
}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_any_json_body_gets_an_answer_below_500_with_a_code(scene, endpoint):
    authorized, received = scene
    method, url = ENDPOINTS[endpoint]
    partner = partner_client("fuzz", "web", ["carrier:write", "warehouse:write", "webhooks:manage"])

    @FUZZ
    @given(body=_payloads(authorized, received))
    def run(body):
        try:
            with transaction.atomic():
                before = _state()
                response = getattr(partner, method)(url(authorized, received), body, format="json")
                assert response.status_code < 500, response.content[:500]
                if response.status_code >= 400:
                    assert response.json()["code"]
                    assert _state() == before
                raise Rollback
        except Rollback:
            pass

    run()


def test_any_json_body_to_a_webhook_subscription_gets_an_answer_below_500(shop):
    partner = partner_client("fuzz-hooks", "web", ["webhooks:manage"])
    created = partner.post("/api/v1/webhooks", {"url": "https://hooks.example.com/x",
                                                "event_types": ["return.authorized"]}, format="json").json()

    @FUZZ
    @given(body=json_values | st.fixed_dictionaries({}, optional={"url": json_values, "event_types": json_values,
                                                                  "active": json_values}))
    def run(body):
        response = partner.patch(f"/api/v1/webhooks/{created['id']}", body, format="json")
        assert response.status_code < 500, response.content[:500]
        if response.status_code >= 400:
            assert response.json()["code"]

    run()
    assert client_for().get("/api/v1/webhooks").status_code == 401
