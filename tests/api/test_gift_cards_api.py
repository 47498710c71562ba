"""The storefront's checkout spends gift cards through the API: look up, spend (idempotently),
read, reverse. Bad input is refused with a stable code and changes nothing."""

import uuid
from decimal import Decimal

import pytest

from refunds.models import GiftCard, GiftCardRedemption, JournalEntry
from refunds.reconciliation import reconcile
from tests import factories
from tests.api.conftest import client_for, partner_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(order, warehouse):
    return factories.issued_gift_card(order=order, warehouse=warehouse, quantity=2)  # 54.00


@pytest.fixture
def storefront(shop):
    return partner_client("storefront", "web", ["gift_cards:redeem"])


def _redeem(client, code, amount="20.00", key=None, **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post("/api/v1/gift-cards/redeem",
                       {"code": code, "amount": amount, "currency": "USD", "reference": "CHK-1", **extra},
                       format="json", **headers)


def test_look_up_spend_read_and_reverse(card, storefront):
    card, code = card
    looked_up = storefront.post("/api/v1/gift-cards/lookup", {"code": code}, format="json")
    assert looked_up.status_code == 200
    assert looked_up.json() == {"code_hint": code[-4:], "currency": "USD", "initial_amount": "54.00",
                                "balance": "54.00", "created_at": looked_up.json()["created_at"]}

    key = str(uuid.uuid4())
    spent = _redeem(storefront, code, key=key)
    assert spent.status_code == 201, spent.content
    body = spent.json()
    assert (body["amount"], body["currency"], body["reference"], body["reversed_at"]) == ("20.00", "USD", "CHK-1",
                                                                                          None)
    assert body["gift_card"]["balance"] == "34.00" and code not in spent.content.decode()
    replayed = _redeem(storefront, code, key=key)  # the till retried: spent once
    assert replayed.status_code == 201 and replayed.json()["id"] == body["id"]
    assert GiftCardRedemption.objects.count() == 1 and GiftCard.objects.get().balance == Decimal("34.00")

    read = storefront.get(f"/api/v1/gift-card-redemptions/{body['id']}")
    assert read.status_code == 200 and read.json()["amount"] == "20.00"
    reversed_ = storefront.post(f"/api/v1/gift-card-redemptions/{body['id']}/reverse", {"reason": "cancelled"},
                                format="json")
    assert reversed_.status_code == 200
    assert reversed_.json()["reversal_reason"] == "cancelled" and reversed_.json()["gift_card"]["balance"] == "54.00"
    assert reconcile().ok


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"amount": "54.01"}, 422, "gift_card_insufficient_balance"),
    ({"currency": "EUR"}, 422, "currency_mismatch"),
    ({"amount": "1.005"}, 422, "amount_precision"),
    ({"amount": "0"}, 422, "invalid_amount"),
    ({"amount": "-1"}, 400, "validation_failed"),
    ({"amount": "ten"}, 400, "validation_failed"),
    ({"amount": "1e400"}, 400, "validation_failed"),
    ({"currency": "US"}, 400, "validation_failed"),
    ({"reference": ""}, 400, "validation_failed"),
    ({"reference": "x" * 101}, 400, "validation_failed"),
    ({"balance": "999"}, 400, "validation_failed"),  # an unknown field is refused, not ignored
    ({"code": "ABCD-EFGH-JKMN-PQRS"}, 404, "gift_card_not_found"),
    ({"code": "\x00"}, 400, "parse_error"),
    ({"code": "A" * 65}, 400, "validation_failed"),
])
def test_bad_spending_is_refused_and_changes_nothing(card, storefront, body, status, code):
    _, typed = card
    response = storefront.post("/api/v1/gift-cards/redeem", {"code": typed, "amount": "20.00", "currency": "USD",
                                                             "reference": "CHK-1", **body}, format="json")
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert GiftCard.objects.get().balance == Decimal("54.00")
    assert not GiftCardRedemption.objects.exists()
    assert not JournalEntry.objects.filter(kind="gift_card_redeemed").exists()


def test_who_may_call(card, customer, reviewer, finance):
    _, code = card
    body = {"code": code}
    assert client_for().post("/api/v1/gift-cards/lookup", body, format="json").status_code == 401
    assert client_for(customer).post("/api/v1/gift-cards/lookup", body, format="json").status_code == 403
    assert client_for(reviewer).post("/api/v1/gift-cards/lookup", body, format="json").status_code == 403
    assert client_for(finance).post("/api/v1/gift-cards/lookup", body, format="json").status_code == 200
    unscoped = partner_client("carrier", "web", ["carrier:write"])
    assert unscoped.post("/api/v1/gift-cards/lookup", body, format="json").status_code == 403
    other_channel = partner_client("app-store", "app", ["gift_cards:redeem"])
    refused = other_channel.post("/api/v1/gift-cards/lookup", body, format="json")
    assert refused.status_code == 404 and refused.json()["code"] == "gift_card_not_found"
    assert other_channel.get("/api/v1/gift-card-redemptions/1").status_code == 404
