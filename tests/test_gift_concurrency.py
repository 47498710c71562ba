"""Races on real connections: two recipients redeem one gift receipt for the last unit (one return);
checkouts spend the last of a gift card or of a customer's store credit at once (spent once)."""

import pytest

from core.errors import ValidationFailed
from returns import gifts
from returns.models import ReturnRequest
from tests import factories
from tests.concurrency import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_recipients_racing_for_the_last_unit_make_one_return(shop, customer, reviewer):
    order = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
    line = order.lines.get()
    _, code = gifts.gift_receipt_issue(by=reviewer, order_id=order.pk)

    def redeem(index: int):
        receipt = gifts.gift_receipt_verify(code=code, client_ip=f"198.51.100.{index}")
        return gifts.gift_return_create(gift_receipt=receipt, recipient_name=f"Recipient {index}",
                                        recipient_email=f"r{index}@example.net",
                                        lines=[factories.line_request(line, 1)])

    results = run_at_once(2, redeem)
    created = [r for r in results if isinstance(r, ReturnRequest)]
    refused = [r for r in results if isinstance(r, ValidationFailed)]
    assert len(created) == 1 and len(refused) == 1, results
    assert refused[0].violations[0].code == "quantity_exceeds_returnable"
    assert ReturnRequest.objects.count() == 1
    assert ReturnRequest.objects.get().lines.get().quantity == 1


def test_two_checkouts_spending_the_last_of_a_card_at_once_spend_it_once(shop, customer, warehouse):
    from decimal import Decimal

    from refunds import credit
    from refunds.models import CreditSpending, GiftCard
    from refunds.reconciliation import reconcile

    order = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
    card, code = factories.issued_gift_card(order=order, warehouse=warehouse)
    storefront = factories.partner_actor(slug="storefront", channel="web", scopes=["credit:spend"])

    results = run_at_once(4, lambda i: credit.gift_card_redeem(code=code, amount="20.00", currency="USD",
                                                                   reference=f"CHK-{i}", by=storefront))
    spent = [r for r in results if isinstance(r, CreditSpending)]
    refused = [r for r in results if isinstance(r, ValidationFailed)]
    assert len(spent) == 1 and len(refused) == 3, results
    assert {r.code for r in refused} == {"gift_card_insufficient_balance"}
    assert GiftCard.objects.get(pk=card.pk).balance == Decimal("7.00")

    # A reversal racing a new spending of what it gives back: whichever goes first, the card never
    # goes below zero nor above what was issued, and the books balance.
    def reverse_or_spend(i):
        if i == 0:
            return credit.credit_spending_reverse(spending_id=spent[0].pk, by=storefront)
        return credit.gift_card_redeem(code=code, amount="27.00", currency="USD", reference="CHK-late",
                                           by=storefront)

    results = run_at_once(2, reverse_or_spend)
    assert not [r for r in results if isinstance(r, BaseException) and not isinstance(r, ValidationFailed)], results
    balance = GiftCard.objects.get(pk=card.pk).balance
    assert balance in (Decimal("0.00"), Decimal("27.00"))
    report = reconcile()
    assert report.ok, report.problems


def test_two_checkouts_spending_the_last_store_credit_at_once_spend_it_once(shop, customer, supervisor):
    from decimal import Decimal

    from refunds import credit, goodwill, ledger
    from refunds.models import CreditSpending
    from refunds.reconciliation import reconcile

    order = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
    goodwill.goodwill_grant(order=order, by=supervisor, amount=Decimal("20.00"), method="store_credit",
                            reason="Arrived late.")
    storefront = factories.partner_actor(slug="storefront", channel="web", scopes=["credit:spend"])

    results = run_at_once(4, lambda i: credit.store_credit_spend(email=customer.email, amount="15.00", currency="USD",
                                                                 reference=f"CHK-{i}", by=storefront))
    spent = [r for r in results if isinstance(r, CreditSpending)]
    refused = [r for r in results if isinstance(r, ValidationFailed)]
    assert len(spent) == 1 and len(refused) == 3, results
    assert {r.code for r in refused} == {"store_credit_insufficient"}
    assert ledger.store_credit_balance(customer, "USD") == Decimal("5.00")
    report = reconcile()
    assert report.ok, report.problems
