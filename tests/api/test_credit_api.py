"""The storefront's checkout spends gift cards and store credit through the API: look up, spend
(idempotently), read, reverse; a customer reads their own store credit. Bad input is refused with a
stable code and changes nothing."""

import uuid
from decimal import Decimal

import pytest

from refunds.models import CreditSpending, GiftCard, JournalEntry
from refunds.reconciliation import reconcile
from tests import factories
from tests.api.conftest import client_for, partner_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(order, warehouse):
    return factories.issued_gift_card(order=order, warehouse=warehouse, quantity=2)  # 54.00


@pytest.fixture
def storefront(shop):
    return partner_client("storefront", "web", ["credit:spend"])


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
    assert CreditSpending.objects.count() == 1 and GiftCard.objects.get().balance == Decimal("34.00")

    read = storefront.get(f"/api/v1/credit-spendings/{body['id']}")
    assert read.status_code == 200 and read.json()["amount"] == "20.00"
    reversed_ = storefront.post(f"/api/v1/credit-spendings/{body['id']}/reverse", {"reason": "cancelled"},
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
    assert not CreditSpending.objects.exists()
    assert not JournalEntry.objects.filter(kind="credit_spent").exists()


def test_who_may_call(card, customer, reviewer, finance):
    _, code = card
    body = {"code": code}
    assert client_for().post("/api/v1/gift-cards/lookup", body, format="json").status_code == 401
    assert client_for(customer).post("/api/v1/gift-cards/lookup", body, format="json").status_code == 403
    assert client_for(reviewer).post("/api/v1/gift-cards/lookup", body, format="json").status_code == 403
    assert client_for(finance).post("/api/v1/gift-cards/lookup", body, format="json").status_code == 200
    unscoped = partner_client("carrier", "web", ["carrier:write"])
    assert unscoped.post("/api/v1/gift-cards/lookup", body, format="json").status_code == 403
    other_channel = partner_client("app-store", "app", ["credit:spend"])
    refused = other_channel.post("/api/v1/gift-cards/lookup", body, format="json")
    assert refused.status_code == 404 and refused.json()["code"] == "gift_card_not_found"
    assert other_channel.get("/api/v1/credit-spendings/1").status_code == 404


# --- store credit ---

@pytest.fixture
def credited(order, customer, supervisor):
    from refunds import goodwill

    goodwill.goodwill_grant(order=order, by=supervisor, amount=Decimal("20.00"), method="store_credit",
                            reason="Arrived late; a gesture of goodwill.")
    return customer


def test_store_credit_seen_by_its_customer_and_spent_by_the_storefront(credited, storefront, other_customer):
    mine = client_for(credited).get("/api/v1/store-credit")
    assert mine.status_code == 200 and mine.json() == {"balances": [{"currency": "USD", "amount": "20.00"}]}
    assert client_for(other_customer).get("/api/v1/store-credit").json() == {"balances": []}
    assert storefront.get("/api/v1/store-credit").status_code == 403  # the customer's own view only

    looked_up = storefront.post("/api/v1/store-credit/lookup", {"email": "Alice@Example.com"}, format="json")
    assert looked_up.status_code == 200 and looked_up.json()["balances"] == [{"currency": "USD", "amount": "20.00"}]
    key = str(uuid.uuid4())
    body = {"email": "alice@example.com", "amount": "15.00", "currency": "USD", "reference": "CHK-7"}
    spent = storefront.post("/api/v1/store-credit/spend", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert spent.status_code == 201, spent.content
    assert (spent.json()["source"], spent.json()["amount"], spent.json()["gift_card"]) == ("store_credit", "15.00",
                                                                                           None)
    again = storefront.post("/api/v1/store-credit/spend", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 201 and again.json()["id"] == spent.json()["id"]
    assert client_for(credited).get("/api/v1/store-credit").json()["balances"][0]["amount"] == "5.00"

    refused = storefront.post("/api/v1/store-credit/spend", body, format="json")
    assert refused.status_code == 422 and refused.json()["code"] == "store_credit_insufficient"
    reversed_ = storefront.post(f"/api/v1/credit-spendings/{spent.json()['id']}/reverse", {}, format="json")
    assert reversed_.status_code == 200 and reversed_.json()["reversal_reason"] == "checkout cancelled"
    assert client_for(credited).get("/api/v1/store-credit").json()["balances"][0]["amount"] == "20.00"
    assert reconcile().ok


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"email": "not-an-email"}, 400, "validation_failed"),
    ({"email": "nobody@example.com"}, 404, "customer_not_found"),
    ({"amount": "1.005"}, 422, "amount_precision"),
    ({"currency": "EUR"}, 422, "store_credit_insufficient"),
    ({"currency": "$$$"}, 422, "invalid_currency"),
    ({"customer_id": 1}, 400, "validation_failed"),
])
def test_bad_store_credit_spending_is_refused_and_changes_nothing(credited, storefront, body, status, code):
    response = storefront.post("/api/v1/store-credit/spend", {"email": "alice@example.com", "amount": "5.00",
                                                              "currency": "USD", "reference": "CHK-1", **body},
                               format="json")
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert not CreditSpending.objects.exists()
