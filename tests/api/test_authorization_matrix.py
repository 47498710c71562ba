"""Every route against every kind of caller: the right status, and lists that leak nothing."""

import pytest

from tests import factories

pytestmark = pytest.mark.django_db

CALLERS = ["anonymous", "customer_a", "customer_b", "partner_x", "partner_x_unscoped", "partner_y", "staff",
           "finance"]


def _order_body(email="alice@example.com"):
    return {"customer": {"email": email}, "currency": "USD", "status": "fulfilled",
            "placed_at": "2026-11-01T10:00:00Z", "delivered_at": "2026-11-04T10:00:00Z",
            "lines": [{"line_id": "1", "sku": "shirt-blue-m", "quantity_ordered": 1, "quantity_shipped": 1,
                       "unit_price": "10.00"}]}


# route id → (method, url builder, body builder, expected status per caller)
ROUTES = {
    "return detail": ("get", lambda w: f"/api/v1/returns/{w.authorized.rma_number}", None,
                      dict(anonymous=401, customer_a=200, customer_b=404, partner_x=200, partner_x_unscoped=403,
                           partner_y=404, staff=200, finance=200)),
    "return label": ("get", lambda w: f"/api/v1/returns/{w.authorized.rma_number}/label", None,
                     dict(anonymous=401, customer_a=200, customer_b=404, partner_x=200, partner_x_unscoped=403,
                          partner_y=404, staff=200, finance=200)),
    # The authorised return comes back with a label: whoever may act on it is told it is not own shipping.
    "own shipment": ("post", lambda w: f"/api/v1/returns/{w.authorized.rma_number}/shipment",
                     lambda w: {"carrier": "DHL", "tracking_number": "JD0142"},
                     dict(anonymous=401, customer_a=422, customer_b=404, partner_x=422, partner_x_unscoped=403,
                          partner_y=404, staff=422, finance=403)),
    "drop-off scan": ("post", lambda w: "/api/v1/carrier/drop-offs", lambda w: {"code": "RMA-NOT-SIGNED"},
                      dict(anonymous=401, customer_a=403, customer_b=403, partner_x=422, partner_x_unscoped=422,
                           partner_y=422, staff=403, finance=403)),
    "cancel": ("post", lambda w: f"/api/v1/returns/{w.authorized.rma_number}/cancel", lambda w: {},
               dict(anonymous=401, customer_a=200, customer_b=404, partner_x=200, partner_x_unscoped=403,
                    partner_y=404, staff=200, finance=403)),
    # The pending laptop (990.00) is above a support agent's approval limit: a supervisor approves it.
    "approve": ("post", lambda w: f"/api/v1/returns/{w.pending.rma_number}/approve", lambda w: {},
                dict(anonymous=401, customer_a=403, customer_b=403, partner_x=200, partner_x_unscoped=403,
                     partner_y=404, staff=403, finance=403)),
    "reject": ("post", lambda w: f"/api/v1/returns/{w.pending.rma_number}/reject", lambda w: {"reason": "Used"},
               dict(anonymous=401, customer_a=403, customer_b=403, partner_x=200, partner_x_unscoped=403,
                    partner_y=404, staff=200, finance=403)),
    "create": ("post", lambda w: "/api/v1/returns",
               lambda w: {"order_id": w.order.pk, "lines": [factories.line_request(w.order.lines.first(), 1)]},
               dict(anonymous=401, customer_a=201, customer_b=404, partner_x=201, partner_x_unscoped=403,
                    partner_y=404, staff=201, finance=404)),
    "quote": ("post", lambda w: "/api/v1/returns/quote",
              lambda w: {"order_id": w.order.pk, "lines": [factories.line_request(w.order.lines.first(), 1)]},
              dict(anonymous=401, customer_a=200, customer_b=404, partner_x=200, partner_x_unscoped=403,
                   partner_y=404, staff=200, finance=404)),
    "returnable": ("get", lambda w: f"/api/v1/orders/{w.order.pk}/returnable", None,
                   dict(anonymous=401, customer_a=200, customer_b=404, partner_x=200, partner_x_unscoped=403,
                        partner_y=404, staff=200, finance=200)),
    "order upsert": ("put", lambda w: "/api/v1/orders/OMS-1", lambda w: _order_body(),
                     dict(anonymous=401, customer_a=403, customer_b=403, partner_x=201, partner_x_unscoped=403,
                          partner_y=201, staff=403, finance=403)),
    "refund": ("get", lambda w: f"/api/v1/refunds/{w.refund.pk}", None,
               dict(anonymous=401, customer_a=200, customer_b=404, partner_x=200, partner_x_unscoped=403,
                    partner_y=404, staff=200, finance=200)),
    "ledger": ("get", lambda w: "/api/v1/ledger/entries", None,
               dict(anonymous=401, customer_a=403, customer_b=403, partner_x=200, partner_x_unscoped=403,
                    partner_y=200, staff=200, finance=200)),
    "gift receipt issue": ("post", lambda w: f"/api/v1/orders/{w.order.pk}/gift-receipts", lambda w: {},
                           dict(anonymous=401, customer_a=403, customer_b=403, partner_x=201, partner_x_unscoped=403,
                                partner_y=404, staff=201, finance=403)),
    # No card has this code: whoever may spend gift cards is told so; the rest are refused first.
    "gift card lookup": ("post", lambda w: "/api/v1/gift-cards/lookup", lambda w: {"code": "ABCD-EFGH-JKMN-PQRS"},
                         dict(anonymous=401, customer_a=403, customer_b=403, partner_x=404, partner_x_unscoped=403,
                              partner_y=404, staff=403, finance=404)),
    "store credit lookup": ("post", lambda w: "/api/v1/store-credit/lookup", lambda w: {"email": "alice@example.com"},
                            dict(anonymous=401, customer_a=403, customer_b=403, partner_x=200, partner_x_unscoped=403,
                                 partner_y=404, staff=403, finance=200)),
    "my store credit": ("get", lambda w: "/api/v1/store-credit", None,
                        dict(anonymous=401, customer_a=200, customer_b=200, partner_x=403, partner_x_unscoped=403,
                             partner_y=403, staff=403, finance=403)),
    "list": ("get", lambda w: "/api/v1/returns", None,
             dict(anonymous=401, customer_a=200, customer_b=200, partner_x=200, partner_x_unscoped=403,
                  partner_y=200, staff=200, finance=200)),
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", list(ROUTES))
def test_route_answers_each_caller(world, callers, route, caller):
    method, url, body, expected = ROUTES[route]
    response = getattr(callers[caller], method)(url(world), body(world) if body else None, format="json")
    assert response.status_code == expected[caller], response.content[:400]
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == response.status_code and response.json()["code"]


@pytest.mark.parametrize(("caller", "visible"), [
    ("customer_a", 3), ("customer_b", 0), ("partner_x", 3), ("partner_y", 0), ("staff", 3), ("finance", 3)])
def test_lists_show_only_what_the_caller_may_see(world, callers, caller, visible):
    results = callers[caller].get("/api/v1/returns").json()["results"]
    assert len(results) == visible
    assert all(r["customer_email"] == "alice@example.com" for r in results)


@pytest.mark.parametrize(("caller", "visible"), [("partner_x", True), ("partner_y", False), ("finance", True),
                                                  ("staff", False)])
def test_ledger_entries_are_scoped(world, callers, caller, visible):
    results = callers[caller].get("/api/v1/ledger/entries").json()["results"]
    assert bool(results) == visible


def test_customers_do_not_see_fraud_scores(world, callers):
    mine = callers["customer_a"].get(f"/api/v1/returns/{world.authorized.rma_number}").json()
    staff = callers["staff"].get(f"/api/v1/returns/{world.authorized.rma_number}").json()
    assert "fraud_score" not in mine and "review_reasons" not in mine
    assert "fraud_score" in staff
