"""The returns API from a customer's and a partner's side: good paths, bad input, problem details."""

import pytest

from refunds.models import JournalEntry, Refund
from returns.models import ReturnLine, ReturnRequest
from tests import factories
from tests.api.conftest import client_for, partner_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(customer):
    return client_for(customer)


def _body(order, *lines, **extra):
    return {"order_id": order.pk, "lines": [factories.line_request(ol, qty) for ol, qty in lines], **extra}


def test_customer_requests_a_return_and_follows_it(api, order, django_capture_on_commit_callbacks):
    shirts = order.lines.first()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/returns", _body(order, (shirts, 2)), format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["status"] == "authorized" and created["rma_number"].startswith("RMA-")
    assert created["lines"][0]["sku"] == "shirt-blue-m" and created["lines"][0]["reason"] == "wrong_size"
    detail = api.get(f"/api/v1/returns/{created['rma_number']}").json()
    assert detail["label_status"] == "issued" and detail["label_url"].endswith("/label")
    label = api.get(f"/api/v1/returns/{created['rma_number']}/label")
    assert label.status_code == 200 and label["Content-Type"] == "application/pdf"
    assert label.content.startswith(b"%PDF")
    cancelled = api.post(f"/api/v1/returns/{created['rma_number']}/cancel", {"reason": "Kept it"}, format="json")
    assert cancelled.json()["status"] == "cancelled"


def test_quote_uses_the_refund_computation_and_writes_nothing(api, order):
    shirts, jacket = order.lines.all()
    response = api.post("/api/v1/returns/quote", _body(order, (shirts, 2), (jacket, 1),
                                                       refund_method="store_credit"), format="json")
    assert response.status_code == 200
    quote = response.json()
    assert (quote["gross"], quote["shipping_refund"], quote["net"]) == ("186.00", "9.95", "195.95")
    assert quote["store_credit_bonus"] == "9.30"
    assert not ReturnRequest.objects.exists()


@pytest.mark.parametrize(("lines", "code"), [
    ([], "no_lines"),
    ([("shirt", 3)], "quantity_exceeds_returnable"),
    ([("shirt", 0)], "invalid_quantity"),
    ([("shirt", 1), ("shirt", 1)], "duplicate_line"),
])
def test_ineligible_requests_are_422_problems_and_write_nothing(api, order, lines, code):
    shirts = order.lines.first()
    body = _body(order, *[(shirts, qty) for _, qty in lines])
    response = api.post("/api/v1/returns", body, format="json")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code and problem["type"].endswith(code) and problem["status"] == 422
    assert not ReturnRequest.objects.exists() and not ReturnLine.objects.exists()


@pytest.mark.parametrize("field", ["status", "customer", "rma_number", "fraud_score"])
def test_read_only_fields_are_refused_not_ignored(api, order, field):
    body = _body(order, (order.lines.first(), 1), **{field: "authorized" if field == "status" else 1})
    response = api.post("/api/v1/returns", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": field, "code": "read_only_field",
                                          "detail": "This field is read-only."}]
    assert not ReturnRequest.objects.exists()


@pytest.mark.parametrize("body", [
    {"approved_by": 1}, {"amount": "999.00"}, {"lines": [{"order_line_id": 1, "quantity": 1, "reason": "x",
                                                          "refund_amount": "5"}]},
])
def test_unknown_fields_are_refused(api, order, body):
    response = api.post("/api/v1/returns", {**_body(order, (order.lines.first(), 1)), **body}, format="json")
    assert response.status_code == 400
    assert {e["code"] for e in response.json()["errors"]} == {"unknown_field"}


@pytest.mark.parametrize("payload", [b"{not json", b"[]", b'"text"', b'{"order_id": "abc", "lines": 5}'])
def test_malformed_bodies_are_clear_400s(api, payload):
    response = api.generic("POST", "/api/v1/returns", payload, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_reviewer_rejects_with_a_reason_through_the_api(order, customer, shop):
    factories.policy(None, review_mode="manual")
    created = client_for(customer).post("/api/v1/returns", _body(order, (order.lines.first(), 1)),
                                        format="json").json()
    assert created["status"] == "requested"
    partner = partner_client("merchant-tool", "web", ["returns:review", "returns:read"])
    missing = partner.post(f"/api/v1/returns/{created['rma_number']}/reject", {}, format="json")
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "reason"
    rejected = partner.post(f"/api/v1/returns/{created['rma_number']}/reject", {"reason": "Worn"}, format="json")
    assert rejected.json()["status"] == "rejected" and rejected.json()["decision_reason"] == "Worn"
    again = partner.post(f"/api/v1/returns/{created['rma_number']}/approve", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "returnrequest_cannot_authorize"
    history = ReturnRequest.objects.get(rma_number=created["rma_number"]).history.first()
    assert history.history_user.username == "partner:merchant-tool"


def test_list_filters_and_caps_the_page_size(api, order):
    for _ in range(2):
        api.post("/api/v1/returns", _body(order, (order.lines.first(), 1)), format="json")
    page = api.get("/api/v1/returns", {"page_size": 1}).json()
    assert len(page["results"]) == 1 and page["next"]
    assert len(api.get(page["next"]).json()["results"]) == 1
    assert len(api.get("/api/v1/returns", {"page_size": 10_000}).json()["results"]) == 2
    assert api.get("/api/v1/returns", {"status": "refunded"}).json()["results"] == []
    assert api.get("/api/v1/returns", {"status": "bogus"}).status_code == 400


def test_finance_reads_a_refund_with_its_ledger(finance, order, customer, warehouse,
                                                django_capture_on_commit_callbacks):
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                   lines=[(order.lines.first(), 1)])
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)
    refund_id = Refund.objects.get(return_request=rr).pk
    refund = client_for(finance).get(f"/api/v1/refunds/{refund_id}").json()
    assert refund["status"] == "completed" and refund["net"] == "27.00" and len(refund["attempts"]) == 1
    entries = client_for(finance).get("/api/v1/ledger/entries").json()["results"]
    assert len(entries) == JournalEntry.objects.count() == 2
    assert all(sum(float(line["amount"]) for line in entry["lines"]) == 0 for entry in entries)


def test_quote_and_return_say_when_the_refund_is_paid(api, order, customer, django_capture_on_commit_callbacks):
    from returns import services

    shirts = order.lines.first()
    quote = api.post("/api/v1/returns/quote", _body(order, (shirts, 1)), format="json").json()
    assert quote["refund_timing"] == "after_inspection"
    assert quote["refund_timing_reason"] == "Your refund is paid once your items are inspected."
    factories.rules_pay_refunds("at_request")
    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk,
                                            lines=[factories.line_request(shirts, 1)])
    detail = api.get(f"/api/v1/returns/{rr.rma_number}").json()
    assert detail["refund_timing"] == "at_request"
    assert detail["refund_timing_reason"] == "Your refund is paid as soon as the return is approved."
    assert detail["refund"]["status"] == "completed" and detail["status"] == "authorized"
