"""What one caller can make the API spend: bounded bodies, bounded pages, no parser blow-ups."""

import json

import pytest
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from core.api.pagination import Cursor
from returns.models import ReturnRequest
from tests import factories
from tests.api.conftest import client_for, partner_client

pytestmark = pytest.mark.django_db


def _api_views():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
                yield prefix + str(pattern.pattern), pattern.callback.cls
    return [(route, view) for route, view in walk(get_resolver().url_patterns) if route.startswith("api/v1/")]


def test_every_paginated_api_view_caps_its_page_size():
    paginated = [(route, view.pagination_class) for route, view in _api_views()
                 if getattr(view, "pagination_class", None)]
    assert paginated
    for route, paginator in paginated:
        assert issubclass(paginator, Cursor), route
        assert 0 < paginator.max_page_size <= 100, route


@pytest.mark.parametrize("page_size", ["1000000", "101", "-5", "0", "abc", "1e9", "99999999999999999999999"])
def test_a_page_is_never_larger_than_the_cap_and_no_size_is_an_error(order, customer, monkeypatch, page_size):
    from returns import services

    for line in order.lines.all():  # two returns, then a third of the second shirt
        services.return_request_create(by=customer, order_id=order.pk, lines=[factories.line_request(line, 1)])
    services.return_request_create(by=customer, order_id=order.pk,
                                   lines=[factories.line_request(order.lines.first(), 1)])
    monkeypatch.setattr(Cursor, "page_size", 1)
    monkeypatch.setattr(Cursor, "max_page_size", 2)
    response = client_for(customer).get(f"/api/v1/returns?page_size={page_size}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == (2 if page_size.isdigit() and int(page_size) >= 2 else 1)


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_parsed(order, customer):
    body = json.dumps({"order_id": order.pk, "lines": [factories.line_request(order.lines.first(), 1)],
                       "note": "x" * 5000})
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2000):
        refused = client_for(customer).post("/api/v1/returns", body, content_type="application/json")
    assert refused.status_code == 413
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "request_too_large"
    assert not ReturnRequest.objects.exists()


def test_a_body_within_the_limit_is_read(order, customer):
    body = json.dumps({"order_id": order.pk, "lines": [factories.line_request(order.lines.first(), 1)]})
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=len(body)):
        created = client_for(customer).post("/api/v1/returns", body, content_type="application/json")
    assert created.status_code == 201, created.content


@pytest.mark.parametrize("body", [
    "[" * 100_000 + "]" * 100_000,  # nested past Python's recursion limit
    '{"a":' * 50_000 + "1" + "}" * 50_000,
    '{"order_id": 1, "lines": [' + ",".join(["{}"] * 20_000) + "]}",
    '{"order_id": NaN, "lines": []}',
    '{"order_id": 1e999999, "lines": []}',
    '{"order_id": 1, "lines": [], "note": "\\ud800"}',  # a lone surrogate, escaped as JSON allows
    '{"order_id": 1, "lines": [], "note": "nul \\u0000 byte"}',  # PostgreSQL stores no NUL in text
    b"\xff\xfe\x00garbage",
])
def test_hostile_json_is_a_400_with_a_code_not_a_500(order, customer, body):
    response = client_for(customer).post("/api/v1/returns", body, content_type="application/json")
    assert 400 <= response.status_code < 500, response.content[:300]
    assert response.json()["code"]
    assert not ReturnRequest.objects.exists()


@pytest.mark.parametrize("note", ["\\u0000", "\\ud800"])
def test_text_postgresql_cannot_store_is_refused_before_it_reaches_it(order, customer, note):
    line = json.dumps(factories.line_request(order.lines.first(), 1))
    body = f'{{"order_id": {order.pk}, "lines": [{line}], "note": "before {note} after"}}'
    response = client_for(customer).post("/api/v1/returns", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"
    assert not ReturnRequest.objects.exists()


def test_a_nul_in_a_url_is_a_404_or_a_400_with_a_code_not_a_500(order, customer):
    """PostgreSQL cannot even compare text holding a NUL: an RMA number or a filter carrying one
    names nothing, and is answered before it reaches the database."""
    from django.test import Client

    from returns import services

    services.return_request_create(by=customer, order_id=order.pk, lines=[factories.line_request(order.lines.first())])
    partner = partner_client("acme", "web", ["returns:read", "finance:read"])
    for path in ("/api/v1/returns/RMA%00", "/api/v1/returns/RMA%00/label"):
        response = partner.get(path)
        assert response.status_code == 404 and response.json()["code"] == "return_not_found"
    for kind in ("refund%00", "no_such_kind"):
        response = partner.get(f"/api/v1/ledger/entries?kind={kind}")
        assert response.status_code == 400 and response.json()["errors"][0]["code"] == "invalid_choice"
    portal = Client()
    portal.force_login(customer)
    assert portal.get("/returns/RMA%00/").status_code == 404


def test_every_api_view_has_a_request_budget():
    from core.api.throttling import CallerRateThrottle

    routes = _api_views()
    unthrottled = [route for route, view in routes
                   if not any(isinstance(t, CallerRateThrottle) or getattr(t, "scope", "") == "login"
                              for t in view().get_throttles())]
    assert routes and not unthrottled, unthrottled
