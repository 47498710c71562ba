"""The OMS issues gift receipts through the API; the code is read, never stored in a replay;
a gift return can never be paid back to the purchaser through the API."""

import pytest

from core import codes
from core.api.idempotency import IdempotencyRecord
from returns import gifts
from returns.models import GiftReceipt, ReturnRequest
from tests import factories
from tests.api.conftest import client_for, partner_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def oms(shop):
    return partner_client("acme-oms", "web", ["gift_receipts:write"])


def test_the_oms_issues_a_receipt_reads_its_code_and_prints_it(oms, order):
    shirt = order.lines.first()
    issued = oms.post(f"/api/v1/orders/{order.pk}/gift-receipts", {"order_line_id": shirt.pk}, format="json",
                      HTTP_IDEMPOTENCY_KEY="gift-1")
    assert issued.status_code == 201, issued.content
    body = issued.json()
    assert "code" not in body and body["order_line_id"] == shirt.pk
    detail = oms.get(f"/api/v1/gift-receipts/{body['id']}")
    code = detail.json()["code"]
    assert code.endswith(body["code_hint"]) and codes.looks_like_code(code)
    assert gifts.gift_receipt_verify(code=code, client_ip="203.0.113.1").pk == body["id"]
    stored = "".join(IdempotencyRecord.objects.values_list("response_body", flat=True))
    assert codes.normalise(code) not in codes.normalise(stored)
    pdf = oms.get(f"/api/v1/gift-receipts/{body['id']}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    again = oms.post(f"/api/v1/orders/{order.pk}/gift-receipts", {"order_line_id": shirt.pk}, format="json")
    assert again.status_code == 201
    assert oms.get(f"/api/v1/gift-receipts/{body['id']}").status_code == 404  # replaced: the old code is dead


def test_bad_input_and_other_channels_are_refused_and_change_nothing(oms, order, shop, other_customer):
    other = factories.make_order(customer=other_customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
    wrong_line = oms.post(f"/api/v1/orders/{order.pk}/gift-receipts", {"order_line_id": other.lines.get().pk},
                          format="json")
    assert wrong_line.status_code == 422 and wrong_line.json()["code"] == "line_not_in_order"
    unknown = oms.post(f"/api/v1/orders/{order.pk}/gift-receipts", {"code": "AAAA-AAAA-AAAA-AAAA"}, format="json")
    assert unknown.status_code == 400
    elsewhere = partner_client("app-oms", "app", ["gift_receipts:write"])
    assert elsewhere.post(f"/api/v1/orders/{order.pk}/gift-receipts", {}, format="json").status_code == 404
    assert not GiftReceipt.objects.exists()
    receipt, _ = gifts.gift_receipt_issue(by=factories.staff_user("Supervisor", username="sup"), order_id=order.pk)
    assert elsewhere.get(f"/api/v1/gift-receipts/{receipt.pk}").status_code == 404
    assert elsewhere.get(f"/api/v1/gift-receipts/{receipt.pk}/pdf").status_code == 404


def test_nobody_asks_the_api_for_a_gift_card_or_turns_a_gift_return_into_a_card_refund(order, customer, reviewer):
    shirt = order.lines.first()
    asked = client_for(customer).post("/api/v1/returns", {
        "order_id": order.pk, "refund_method": "gift_card", "lines": [factories.line_request(shirt, 1)]},
        format="json")
    assert asked.status_code == 400 and asked.json()["errors"][0]["field"] == "refund_method"
    receipt, _ = gifts.gift_receipt_issue(by=reviewer, order_id=order.pk)
    rr = gifts.gift_return_create(gift_receipt=receipt, recipient_name="Grace", recipient_email="g@example.net",
                                  lines=[factories.line_request(shirt, 1)])
    # The purchaser cannot see it, let alone cancel it or change it, through the API.
    purchaser = client_for(customer)
    assert purchaser.get(f"/api/v1/returns/{rr.rma_number}").status_code == 404
    assert purchaser.post(f"/api/v1/returns/{rr.rma_number}/cancel", {}, format="json").status_code == 404
    rr.refresh_from_db()
    assert rr.refund_method == "gift_card" and ReturnRequest.objects.count() == 1
