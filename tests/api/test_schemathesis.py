"""Property-based calls generated from the live OpenAPI schema: no 5xx, documented statuses, valid bodies —
one operation at a time, and in stateful sequences along the links the schema documents (core/api/links.py)."""

import zlib
from decimal import Decimal

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.stateful.state_machine import normalize_name
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from orders.api.views import ORDER_EXAMPLE
from partners.models import SCOPES
from partners.services import partner_key_create
from refunds import goodwill
from returns import services
from returns.api.serializers import ReturnSerializer
from returns.choices import ReturnMethod
from returns.methods import drop_off_token
from returns.models import ReturnRequest
from tests import factories

schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json", get_wsgi_application(),
    # Sequences follow the links the schema documents; links guessed from parameter names lead
    # mostly to 404s and spend the budget.
    config=SchemathesisConfig.from_dict({"phases": {"stateful": {"inference": {"algorithms": []}}}}),
)
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def _keep_the_test_transaction_open():
    """The WSGI app would close the connection after each request, as in production; the test's
    transaction lives on it, so keep it open (Django's own test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def partner_headers(shop, customer):
    factories.make_order(customer=customer, lines=[(shop.shirt, 2, "25.00", "2.00")])
    _, key = partner_key_create(partner_slug="fuzzer", channel_code="web", scopes=list(SCOPES))
    return {"Authorization": f"Api-Key {key}"}


def a_token_of(customer) -> str:
    """A customer's API token, asked for as a customer would (whatever stores it)."""
    login = schema.find_operation_by_label("POST /api/v1/auth/token")
    credentials = {"username": customer.username, "password": factories.PASSWORD}
    return login.Case(body=credentials, media_type="application/json").call().json()["token"]


OPERATIONS = [result.ok() for result in schema.get_all_operations()]


@pytest.mark.django_db
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_api_conforms_to_its_schema(operation, partner_headers):
    """Each operation is a test of its own, named after it (so that it can be run, and spread over
    test processes, on its own)."""
    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    def call(case):
        case.call_and_validate(headers=partner_headers, checks=CHECKS)

    call()


@pytest.mark.django_db
def test_a_customers_return_without_the_staff_only_fields_conforms_to_the_schema(order, customer):
    created = services.return_request_create(by=customer, order_id=order.pk,
                                             lines=[factories.line_request(order.lines.first(), 1)])
    case = schema.find_operation_by_id("returns_retrieve").Case(path_parameters={"rma": created.rma_number})
    response = case.call(headers={"Authorization": f"Token {a_token_of(customer)}"})

    assert response.status_code == 200
    assert not set(ReturnSerializer.STAFF_ONLY) & set(response.json())
    case.validate_response(response, checks=CHECKS)


@pytest.mark.django_db
def test_stateful_sequences_over_every_operation_have_no_server_errors(partner_headers, customer, warehouse,
                                                                      supervisor):
    """Sequences of calls, each feeding ids from earlier answers into later calls along the schema's
    links (create a return → read, cancel, approve, label, receive, inspect it; create a webhook →
    read, change, delete it, list its deliveries). Random data cannot know an order or a return
    line, so about half the ids and bodies that need one are pointed at the shop's real order and
    the return's real lines, so that sequences get past the 404s and go deep; the rest stay random
    (that is the fuzz). Derandomized, and every operation is called many times over, so that each
    run reaches them all."""
    from orders.models import Order

    order = Order.objects.get()
    line_id = order.lines.values_list("pk", flat=True).first()
    _, gift_card_code = factories.issued_gift_card(order=order, warehouse=warehouse)  # a gift of one of the two
    goodwill.goodwill_grant(order=order, by=supervisor, amount=Decimal("20.00"), method="store_credit",
                            reason="Store credit for the checkout to spend.")
    operations = {op.ok().label for op in schema.get_all_operations()}
    real_ids = {"order_id": order.pk}
    reached: set[str] = set()
    created: list[str] = []

    def return_lines(rma):
        found = ReturnRequest.objects.filter(rma_number=str(rma).upper()).first()
        return list(found.lines.all()) if found else []

    def a_return_of_the_shops_order(case):
        note = case.body.get("note") if isinstance(case.body, dict) else None
        return {"order_id": order.pk, "note": note if isinstance(note, str) else "",
                "lines": [{"order_line_id": line_id, "quantity": 1, "reason": "wrong_size"}]}

    def what_arrived(case):
        lines = return_lines(case.body.get("rma_number", "")) if isinstance(case.body, dict) else []
        return {**case.body, "received_quantities": {str(line.pk): line.quantity for line in lines}} \
            if lines else case.body

    def the_condition_of_each_line(case):
        lines = return_lines(case.path_parameters.get("rma", ""))
        return {"lines": {str(line.pk): {"condition": "like_new"} for line in lines}} if lines else case.body

    def the_code_of_a_label(case):
        latest = ReturnRequest.objects.filter(order=order, return_method=ReturnMethod.QR_DROP_OFF,
                                              authorized_at__isnull=False).order_by("-pk").first()
        return {"code": drop_off_token(latest)} if latest else case.body

    steer = {
        "POST /api/v1/returns": a_return_of_the_shops_order,
        "POST /api/v1/returns/quote": a_return_of_the_shops_order,
        "POST /api/v1/warehouse/receipts": what_arrived,
        "POST /api/v1/returns/{rma}/inspection": the_condition_of_each_line,
        "POST /api/v1/carrier/drop-offs": the_code_of_a_label,
        "PUT /api/v1/orders/{external_id}": lambda case: ORDER_EXAMPLE.value,
        "POST /api/v1/orders/{order_id}/gift-receipts": lambda case: {},  # the whole order
        "POST /api/v1/auth/token": lambda case: {"username": customer.username, "password": factories.PASSWORD},
        "POST /api/v1/gift-cards/lookup": lambda case: {"code": gift_card_code},
        "POST /api/v1/store-credit/lookup": lambda case: {"email": customer.email},
        "POST /api/v1/store-credit/spend": lambda case: {"email": customer.email, "amount": "1.00", "currency": "USD",
                                                         "reference": "CHK-2"},
        "POST /api/v1/gift-cards/redeem": lambda case: {"code": gift_card_code, "amount": "1.00", "currency": "USD",
                                                        "reference": "CHK-1"},
    }
    # An operation on an id random data cannot know is entered through the links of the answer
    # that gave the id, not at random (that would only be a 404).
    blind = {op.ok().label for op in schema.get_all_operations()
             if any(parameter.name not in real_ids for parameter in op.ok().path_parameters)}

    machine = schema.as_state_machine()

    class Workflow(machine):
        _root_labels = machine._root_labels - blind
        root_rules = machine.root_rules - {normalize_name(f"RANDOM -> {label}") for label in blind}

        def setup(self):
            # Each scenario starts from the same shop and leaves nothing behind, so that it replays.
            cache.clear()  # request budgets
            self._scenario = transaction.atomic()
            self._scenario.__enter__()

        def teardown(self):
            transaction.set_rollback(True)
            self._scenario.__exit__(None, None, None)

        def before_call(self, case):
            if zlib.crc32(repr((case.path_parameters, case.body)).encode()) % 2 == 0:
                for name in real_ids.keys() & (case.path_parameters or {}).keys():
                    case.path_parameters[name] = real_ids[name]
                if case.operation.label in steer:
                    case.body = steer[case.operation.label](case)
            if case.operation.label == "GET /api/v1/returns/{rma}/label":
                # The carrier's label, which a worker asks for once the return is committed (never,
                # inside this test's transaction).
                found = ReturnRequest.objects.filter(rma_number=str(case.path_parameters["rma"]).upper()).first()
                if found is not None:
                    services.return_issue_label(return_request_id=found.pk)

        def get_call_kwargs(self, case):
            if case.operation.label == "DELETE /api/v1/auth/token":
                # A revocation of the caller's own credentials would cut the rest of the sequence
                # short: revoke a customer's token instead of the partner's key.
                return {"headers": {"Authorization": f"Token {a_token_of(customer)}"}}
            return {"headers": partner_headers}

        def after_call(self, response, case):
            super().after_call(response, case)
            reached.add(case.operation.label)
            if case.operation.label == "POST /api/v1/returns" and response.status_code == 201:
                created.append(response.json()["rma_number"])

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS)

    for label in blind:
        setattr(Workflow, normalize_name(f"RANDOM -> {label}"), None)
    # Generation only, as schemathesis runs it: shrinking a long failing sequence takes minutes.
    Workflow.run(settings=settings(max_examples=50, stateful_step_count=40, deadline=None, phases=[Phase.generate],
                                   suppress_health_check=list(HealthCheck), derandomize=True))
    assert created, "no sequence created a return"
    assert reached == operations, f"never called: {sorted(operations - reached)}"
