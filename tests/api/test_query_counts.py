"""Every API operation makes as many queries for a big request or page as for a small one.

Each test runs the same operation on a small and a bigger instance (1 vs 5 lines, 1 vs 10 rows of a
list) and compares the queries it made. A count that grows with the data is an N+1.
"""

import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from partners.models import SCOPES, DeliveryStatus, WebhookAttempt, WebhookDelivery
from refunds import ledger
from refunds.choices import AttemptOutcome, EntryKind
from refunds.models import RefundAttempt
from returns import services
from tests import factories
from tests.api.conftest import client_for, partner_client

pytestmark = pytest.mark.django_db

LINES = (1, 5)
ROWS = (1, 10)


def count_queries(call, expected_status: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == expected_status, response.content
    return len(captured.captured_queries)


def assert_constant(counts: dict[int, int]) -> None:
    """`counts` maps a size to the queries made at that size."""
    small, big = counts[min(counts)], counts[max(counts)]
    assert big <= small, f"queries grow with the size: {counts}"


_skus = iter(range(1, 10**6))


def order_of(customer, lines: int, *, category: str = "apparel"):
    products = [factories.product(f"qc-{category}-{next(_skus)}", category=category) for _ in range(lines)]
    return factories.make_order(customer=customer, lines=[(product, 2, "20.00", "2.00") for product in products])


def return_of(customer, lines: int, *, category: str = "apparel"):
    order = order_of(customer, lines, category=category)
    return services.return_request_create(
        by=customer, order_id=order.pk, lines=[factories.line_request(line, 1) for line in order.lines.all()])


def body_for(order) -> dict:
    return {"order_id": order.pk, "lines": [factories.line_request(line, 1) for line in order.lines.all()]}


@pytest.fixture
def api(shop, customer):
    return client_for(customer)


@pytest.fixture
def staff(reviewer):
    return client_for(reviewer)


@pytest.fixture
def partner(shop):
    return partner_client("qc-partner", "web", SCOPES)


# --- returns ---

# The queries of a return request authorised at once, after a first request has filled the process's
# caches (the rule set, the fraud rules) and the caller's permissions (a token caller's request also
# reads the token and, once, the permissions): see docs/performance.md and `manage.py request_profile`.
# A change that adds a query to the request path fails here; one that removes some should lower these.
REQUEST_QUERIES = 29
IDEMPOTENCY_KEY_QUERIES = 5  # the key's record: expired ones deleted, this one written, then completed


def test_request_a_return(api, customer):
    assert api.post("/api/v1/returns", body_for(order_of(customer, 1)), format="json").status_code == 201
    counts = {}
    for size in LINES:
        order = order_of(customer, size)
        counts[size] = count_queries(lambda order=order: api.post("/api/v1/returns", body_for(order), format="json"),
                                     201)
    assert_constant(counts)
    assert max(counts.values()) <= REQUEST_QUERIES, counts


def test_request_a_return_with_an_idempotency_key(api, customer):
    assert api.post("/api/v1/returns", body_for(order_of(customer, 1)), format="json").status_code == 201
    counts = {}
    for size in LINES:
        order = order_of(customer, size)
        counts[size] = count_queries(lambda order=order: api.post(
            "/api/v1/returns", body_for(order), format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())), 201)
    assert_constant(counts)
    assert max(counts.values()) <= REQUEST_QUERIES + IDEMPOTENCY_KEY_QUERIES, counts


def test_quote(api, customer):
    counts = {}
    for size in LINES:
        order = order_of(customer, size)
        counts[size] = count_queries(
            lambda order=order: api.post("/api/v1/returns/quote", body_for(order), format="json"), 200)
    assert_constant(counts)


def test_list_returns(api, customer):
    counts = {}
    for size in ROWS:
        while len(api.get("/api/v1/returns?page_size=100").json()["results"]) < size:
            return_of(customer, 2)
        counts[size] = count_queries(lambda: api.get("/api/v1/returns?page_size=100"), 200)
    assert_constant(counts)


def test_list_returns_as_a_partner(partner, customer):
    counts = {}
    for size in ROWS:
        while len(partner.get("/api/v1/returns?page_size=100").json()["results"]) < size:
            return_of(customer, 2)
        counts[size] = count_queries(lambda: partner.get("/api/v1/returns?page_size=100"), 200)
    assert_constant(counts)


@pytest.mark.parametrize("caller", ["customer", "staff", "partner"])
def test_return_detail(caller, api, staff, partner, customer):
    client = {"customer": api, "staff": staff, "partner": partner}[caller]
    counts = {}
    for size in LINES:
        rma = return_of(customer, size).rma_number
        counts[size] = count_queries(lambda rma=rma: client.get(f"/api/v1/returns/{rma}"), 200)
    assert_constant(counts)


def test_label(api, customer, django_capture_on_commit_callbacks):
    counts = {}
    for size in LINES:
        with django_capture_on_commit_callbacks(execute=True):
            rma = return_of(customer, size).rma_number
        counts[size] = count_queries(lambda rma=rma: api.get(f"/api/v1/returns/{rma}/label"), 200)
    assert_constant(counts)


def test_cancel(api, customer):
    counts = {}
    for size in LINES:
        rma = return_of(customer, size).rma_number
        counts[size] = count_queries(
            lambda rma=rma: api.post(f"/api/v1/returns/{rma}/cancel", {"reason": "kept it"}, format="json"), 200)
    assert_constant(counts)


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_review_decisions(decision, partner, customer):
    factories.policy("qc-manual", review_mode="manual")
    counts = {}
    for size in LINES:
        waiting = return_of(customer, size, category="qc-manual")
        assert waiting.status == "requested"
        counts[size] = count_queries(lambda rma=waiting.rma_number: partner.post(
            f"/api/v1/returns/{rma}/{decision}", {"reason": "checked the photos"}, format="json"), 200)
    assert_constant(counts)


# --- warehouse and carrier events ---

def test_warehouse_receipt(partner, customer):
    counts = {}
    for size in LINES:
        rr = return_of(customer, size)
        body = {"rma_number": rr.rma_number, "received_quantities": {str(line.pk): 1 for line in rr.lines.all()}}
        counts[size] = count_queries(lambda body=body: partner.post("/api/v1/warehouse/receipts", body, format="json"),
                                     202)
    assert_constant(counts)


def test_inspection(partner, customer):
    counts = {}
    for size in LINES:
        rr = return_of(customer, size)
        body = {"lines": {str(line.pk): {"condition": "new"} for line in rr.lines.all()}}
        counts[size] = count_queries(lambda rma=rr.rma_number, body=body: partner.post(
            f"/api/v1/returns/{rma}/inspection", body, format="json"), 202)
    assert_constant(counts)


def test_carrier_scan(partner, customer):
    counts = {}
    for size in LINES:
        rma = return_of(customer, size).rma_number
        counts[size] = count_queries(lambda rma=rma: partner.post(
            "/api/v1/carrier/events", {"tracking_number": f"TRK{rma}", "rma_number": rma}, format="json"), 202)
    assert_constant(counts)


# --- orders ---

def _order_body(lines: int) -> dict:
    return {
        "customer": {"email": "oms-customer@example.com"}, "currency": "USD", "status": "fulfilled",
        "placed_at": "2026-01-01T10:00:00Z", "delivered_at": "2026-01-04T10:00:00Z", "shipping_cost": "4.95",
        "lines": [{"line_id": str(n), "sku": f"oms-sku-{n}", "category": "apparel", "quantity_ordered": 1,
                   "quantity_shipped": 1, "unit_price": "10.00", "unit_tax": "1.00"} for n in range(lines)],
        "payments": [{"gateway": "sandbox", "charge_reference": f"ch-oms-{lines}", "amount": "10.00",
                      "captured_at": "2026-01-01T10:00:05Z"}],
    }


def test_order_upsert_creates(partner):
    counts = {size: count_queries(lambda size=size: partner.put(
        f"/api/v1/orders/OMS-NEW-{size}", _order_body(size), format="json"), 201) for size in LINES}
    assert_constant(counts)


def test_order_upsert_updates(partner):
    counts = {}
    for size in LINES:
        assert partner.put(f"/api/v1/orders/OMS-UPD-{size}", _order_body(size), format="json").status_code == 201
        counts[size] = count_queries(lambda size=size: partner.put(
            f"/api/v1/orders/OMS-UPD-{size}", _order_body(size), format="json"), 200)
    assert_constant(counts)


def test_order_returnable(api, customer):
    counts = {}
    for size in LINES:
        order = order_of(customer, size)
        counts[size] = count_queries(lambda order=order: api.get(f"/api/v1/orders/{order.pk}/returnable"), 200)
    assert_constant(counts)


# --- refunds and the ledger ---

def test_refund_detail(shop, customer, warehouse, finance, django_capture_on_commit_callbacks):
    client = client_for(finance)
    counts = {}
    for size in LINES:
        order = order_of(customer, 1)
        with django_capture_on_commit_callbacks(execute=True):
            rr = factories.received_return(order=order, customer=customer, warehouse=warehouse)
            factories.inspect_all(rr, by=warehouse)
        refund = rr.refund
        for number in range(refund.gateway_attempts.count() + 1, size + 1):
            RefundAttempt.objects.create(
                refund=refund, number=number, gateway="sandbox", idempotency_key=refund.idempotency_key, request={},
                response={}, outcome=AttemptOutcome.TRANSIENT_ERROR, latency_ms=5, started_at=timezone.now())
        assert refund.gateway_attempts.count() == size
        counts[size] = count_queries(lambda pk=refund.pk: client.get(f"/api/v1/refunds/{pk}"), 200)
    assert_constant(counts)


def test_ledger_entries(finance):
    client = client_for(finance)
    debit, credit = ledger.account(ledger.SALES_RETURNS), ledger.account(ledger.REFUNDS_PAYABLE)
    counts = {}
    for size in ROWS:
        for n in range(len(client.get("/api/v1/ledger/entries?page_size=100").json()["results"]), size):
            ledger.post(kind=EntryKind.REVERSAL, reference=f"qc-{n}", currency="USD",
                        lines=[(debit, Decimal("5.00")), (credit, Decimal("-3.00")), (credit, Decimal("-2.00"))])
        counts[size] = count_queries(lambda: client.get("/api/v1/ledger/entries?page_size=100"), 200)
    assert_constant(counts)


# --- webhooks ---

def _subscribe(partner) -> int:
    response = partner.post("/api/v1/webhooks", {"url": "https://hooks.example.com/r",
                                                 "event_types": ["return.authorized"]}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_webhook_list(partner):
    counts = {}
    for size in ROWS:
        while len(partner.get("/api/v1/webhooks").json()["results"]) < size:
            _subscribe(partner)
        counts[size] = count_queries(lambda: partner.get("/api/v1/webhooks"), 200)
    assert_constant(counts)


EVENT_TYPES = ["return.authorized", "return.rejected", "return.cancelled", "refund.completed", "refund.failed"]


def test_webhook_create_read_update_delete(partner):
    def body(size):
        return {"url": "https://hooks.example.com/r", "event_types": EVENT_TYPES[:size]}

    created = {size: count_queries(lambda size=size: partner.post("/api/v1/webhooks", body(size), format="json"), 201)
               for size in LINES}
    assert_constant(created)
    pk = _subscribe(partner)
    updated = {size: count_queries(lambda size=size: partner.patch(f"/api/v1/webhooks/{pk}", body(size),
                                                                   format="json"), 200) for size in LINES}
    assert_constant(updated)
    read = count_queries(lambda: partner.get(f"/api/v1/webhooks/{pk}"), 200)
    deleted = count_queries(lambda: partner.delete(f"/api/v1/webhooks/{pk}"), 204)
    assert read <= updated[1] and deleted <= updated[1]


def test_webhook_deliveries(partner):
    pk = _subscribe(partner)
    counts = {}
    for size in ROWS:
        for n in range(WebhookDelivery.objects.filter(subscription_id=pk).count(), size):
            delivery = WebhookDelivery.objects.create(subscription_id=pk, event_id=uuid.uuid4(),
                                                      event_type="return.authorized", payload={"n": n},
                                                      status=DeliveryStatus.FAILED, attempt_count=2)
            WebhookAttempt.objects.bulk_create([
                WebhookAttempt(delivery=delivery, number=number, started_at=timezone.now(), duration_ms=5,
                               succeeded=False, status_code=500) for number in (1, 2)])
        counts[size] = count_queries(lambda: partner.get(f"/api/v1/webhooks/{pk}/deliveries"), 200)
    assert_constant(counts)


def test_customer_token(customer):
    from rest_framework.test import APIClient

    counts = {size: count_queries(lambda: APIClient().post(
        "/api/v1/auth/token", {"username": "alice", "password": factories.PASSWORD}, format="json"), 200)
        for size in LINES}
    assert_constant(counts)


# --- gift cards and store credit at checkout ---

GIFT_CARD_QUERIES = {"lookup": 2, "redeem": 12, "read": 2, "reverse": 12}
STORE_CREDIT_QUERIES = {"mine": 2, "lookup": 4, "spend": 13}


def test_gift_cards(partner, customer, warehouse):
    """Nothing here grows with the data; the caps catch a query added by mistake."""
    counts = {operation: [] for operation in GIFT_CARD_QUERIES}
    for _ in range(2):
        order = factories.make_order(customer=customer, lines=[(factories.product(f"qc-gift-{next(_skus)}"), 2,
                                                                "20.00", "2.00")])
        _, code = factories.issued_gift_card(order=order, warehouse=warehouse)
        counts["lookup"].append(count_queries(
            lambda code=code: partner.post("/api/v1/gift-cards/lookup", {"code": code}, format="json"), 200))
        body = {"code": code, "amount": "5.00", "currency": "USD", "reference": "CHK-1"}
        with CaptureQueriesContext(connection) as captured:
            spent = partner.post("/api/v1/gift-cards/redeem", body, format="json")
        assert spent.status_code == 201, spent.content
        counts["redeem"].append(len(captured.captured_queries))
        pk = spent.json()["id"]
        counts["read"].append(count_queries(lambda pk=pk: partner.get(f"/api/v1/credit-spendings/{pk}"), 200))
        counts["reverse"].append(count_queries(
            lambda pk=pk: partner.post(f"/api/v1/credit-spendings/{pk}/reverse", {}, format="json"), 200))
    for operation, measured in counts.items():
        assert measured[1] <= measured[0] <= GIFT_CARD_QUERIES[operation], counts


def test_store_credit(partner, api, customer, supervisor):
    from refunds import goodwill

    counts = {operation: [] for operation in STORE_CREDIT_QUERIES}
    for currency in ("USD", "EUR"):  # one currency, then two: the answer lists both
        order = factories.make_order(customer=customer, currency=currency,
                                     lines=[(factories.product(f"qc-credit-{next(_skus)}"), 1, "20.00", "2.00")])
        goodwill.goodwill_grant(order=order, by=supervisor, amount=Decimal("10.00"), method="store_credit",
                                reason="A gesture.")
        counts["mine"].append(count_queries(lambda: api.get("/api/v1/store-credit"), 200))
        counts["lookup"].append(count_queries(lambda: partner.post(
            "/api/v1/store-credit/lookup", {"email": customer.email}, format="json"), 200))
        counts["spend"].append(count_queries(lambda currency=currency: partner.post(
            "/api/v1/store-credit/spend", {"email": customer.email, "amount": "1.00", "currency": currency,
                                           "reference": "CHK-1"}, format="json"), 201))
    for operation, measured in counts.items():
        assert measured[1] <= measured[0] <= STORE_CREDIT_QUERIES[operation], counts
