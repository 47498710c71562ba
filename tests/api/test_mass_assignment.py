"""Property-level authorisation: no write operation lets a caller set what it must not — a
status, a fraud score, an amount, whose return or order it is, a secret. Such a field is refused
(400 with `unknown_field` or `read_only_field`), never silently dropped or applied, and the
refused call changes nothing."""

import importlib

import pytest
from rest_framework import serializers

from core.api.serializers import StrictSerializer
from partners.models import WebhookSubscription
from returns.models import ReturnRequest
from tests import factories
from tests.api.conftest import partner_client

pytestmark = pytest.mark.django_db

INPUT_MODULES = ["returns.api.serializers", "returns.api.events", "orders.api.serializers",
                 "partners.api.serializers"]


def _input_serializers():
    for module_name in INPUT_MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if name.endswith("Input") and isinstance(value, type) and issubclass(value, serializers.Serializer):
                yield f"{module_name}.{name}", value


def _nested(serializer) -> list:
    found = []
    for field in serializer.fields.values():
        child = getattr(field, "child", None) or field
        if isinstance(child, serializers.Serializer):
            found.append(child)
            found.extend(_nested(child))
    return found


@pytest.mark.parametrize(("name", "cls"), list(_input_serializers()))
def test_every_request_serializer_refuses_fields_it_does_not_accept(name, cls):
    assert issubclass(cls, StrictSerializer), name
    for nested in _nested(cls()):
        assert isinstance(nested, StrictSerializer), f"{name}: nested {type(nested).__name__}"


FORBIDDEN_ON_A_RETURN = {"status": "refunded", "fraud_score": 0, "customer": 1, "customer_id": 1,
                         "rma_number": "RMA-MINE-0001", "net": "9999.00", "refund_amount": "9999.00",
                         "channel": "app", "review_reasons": [], "needs_review": False, "decision_reason": "ok",
                         "id": 1}
FORBIDDEN_ON_A_LINE = {"unit_price": "9999.00", "amount": "9999.00", "condition": "new", "refund_amount": "1.00",
                       "received_quantity": 5, "disposition": "restock"}


def _refused(response, field: str) -> None:
    assert response.status_code == 400, (field, response.status_code, response.content[:300])
    body = response.json()
    assert body["code"] == "validation_failed"
    assert any(error["code"] in ("unknown_field", "read_only_field") and field in (error["field"] or "")
               for error in body["errors"]), body


def test_a_return_cannot_be_created_with_fields_the_caller_may_not_set(world, callers):
    before = ReturnRequest.objects.count()
    for path in ("/api/v1/returns", "/api/v1/returns/quote"):
        for field, value in FORBIDDEN_ON_A_RETURN.items():
            body = {"order_id": world.order.pk, "lines": [factories.line_request(world.order.lines.first(), 1)],
                    field: value}
            for caller in ("customer_a", "partner_x", "staff"):
                _refused(callers[caller].post(path, body, format="json"), field)
    assert ReturnRequest.objects.count() == before


def test_a_return_line_cannot_carry_amounts_or_warehouse_findings(world, callers):
    before = ReturnRequest.objects.count()
    for field, value in FORBIDDEN_ON_A_LINE.items():
        line = {**factories.line_request(world.order.lines.first(), 1), field: value}
        response = callers["customer_a"].post("/api/v1/returns", {"order_id": world.order.pk, "lines": [line]},
                                              format="json")
        _refused(response, field)
    assert ReturnRequest.objects.count() == before


def test_a_decision_cannot_smuggle_a_status_or_an_amount(world, callers):
    for action in ("cancel", "approve", "reject"):
        rr = world.authorized if action == "cancel" else world.pending
        for field in ("status", "fraud_score", "net", "refund_method", "by", "reviewed_by"):
            body = {"reason": "Used", field: "refunded"}
            response = callers["partner_x"].post(f"/api/v1/returns/{rr.rma_number}/{action}", body, format="json")
            _refused(response, field)
            assert ReturnRequest.objects.get(pk=rr.pk).status == rr.status


@pytest.mark.parametrize(("field", "value"), [("channel", "app"), ("id", 1), ("external_id", "OTHER"),
                                              ("customer_id", 1), ("channel_id", 2), ("net", "0")])
def test_an_order_upsert_cannot_pick_its_channel_or_identity(callers, field, value):
    body = {"customer": {"email": "alice@example.com"}, "currency": "USD", "status": "fulfilled",
            "placed_at": "2026-11-01T10:00:00Z", "lines": [{"line_id": "1", "sku": "shirt-blue-m",
                                                             "quantity_ordered": 1, "quantity_shipped": 1,
                                                             "unit_price": "10.00"}], field: value}
    _refused(callers["partner_x"].put("/api/v1/orders/OMS-MASS-1", body, format="json"), field)


@pytest.mark.parametrize(("field", "value"), [("secret", "whsec_mine"), ("channel", "app"), ("partner", 1),
                                              ("id", 99), ("created_at", "2020-01-01T00:00:00Z")])
def test_a_webhook_subscription_cannot_set_its_secret_channel_or_owner(shop, field, value):
    api = partner_client("hooker", "web", ["webhooks:manage"])
    body = {"url": "https://hooks.example.com/x", "event_types": ["return.authorized"], field: value}
    _refused(api.post("/api/v1/webhooks", body, format="json"), field)
    created = api.post("/api/v1/webhooks", {"url": "https://hooks.example.com/x",
                                            "event_types": ["return.authorized"]}, format="json").json()
    _refused(api.patch(f"/api/v1/webhooks/{created['id']}", {field: value}, format="json"), field)
    stored = WebhookSubscription.objects.get(pk=created["id"])
    assert stored.secret == created["secret"] and stored.channel.code == "web"


def test_inbound_events_cannot_set_a_state_or_an_amount(world, callers):
    for path, field, value in [("/api/v1/warehouse/receipts", "status", "received"),
                               ("/api/v1/warehouse/receipts", "refund_amount", "5.00"),
                               ("/api/v1/carrier/events", "status", "delivered"),
                               ("/api/v1/carrier/events", "return_request", 1)]:
        body = {"tracking_number": "1Z1", "rma_number": world.authorized.rma_number, field: value}
        _refused(callers["partner_x"].post(path, body, format="json"), field)
    assert ReturnRequest.objects.get(pk=world.authorized.pk).status == "authorized"


def test_an_inspection_cannot_set_a_refund_or_a_fraud_score(world, callers):
    line = world.authorized.lines.first()
    for extra in ({"fraud_score": 0}, {"refund_amount": "1.00"}):
        response = callers["partner_x"].post(
            f"/api/v1/returns/{world.authorized.rma_number}/inspection",
            {"lines": {str(line.pk): {"condition": "new", **extra}}}, format="json")
        _refused(response, next(iter(extra)))
