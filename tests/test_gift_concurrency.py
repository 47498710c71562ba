"""Two recipients redeem one gift receipt for the last unit at the same instant: one return."""

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
