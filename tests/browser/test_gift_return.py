"""A gift recipient in a real browser: the code from the receipt, the items, the signed status
page and its label, with no account on the shop."""

import re

import pytest
from playwright.sync_api import expect

from returns import gifts
from returns.models import ReturnRequest
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_recipient_returns_a_gift_and_downloads_the_label(live_server, page, screenshot, shop, customer,
                                                              reviewer):
    order = factories.make_order(customer=customer, lines=[(shop.shirt, 2, "25.00", "2.00")])
    _, code = gifts.gift_receipt_issue(by=reviewer, order_id=order.pk)

    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Return it with the code on your gift receipt").click()
    page.get_by_label("Gift receipt code").fill("2222-3333-4444-5555")
    page.get_by_label("Your name").fill("Grace Gift")
    page.get_by_label("Your e-mail address").fill("grace@example.net")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("could not find a gift receipt")
    screenshot("1-wrong-code")

    page.get_by_label("Gift receipt code").fill(code.lower())
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Choose the items to return", level=1)).to_be_visible()
    page.get_by_role("checkbox", name=re.compile("Shirt Blue M")).check()
    page.get_by_role("spinbutton", name="Quantity of Shirt Blue M").fill("1")
    page.get_by_role("combobox", name="Reason for returning Shirt Blue M").select_option(label="Wrong size or fit")
    screenshot("2-items")
    page.get_by_role("button", name="Send the return").click()

    created = ReturnRequest.objects.get()
    expect(page.get_by_role("heading", name=f"Return {created.rma_number}", level=1)).to_be_visible()
    assert "/gift/status/" in page.url and created.recipient_name == "Grace Gift"
    expect(page.get_by_test_id("gift-card-estimate")).to_contain_text("27.00")
    page.reload()  # the label is issued after the request's commit
    with page.expect_download() as download:
        page.get_by_role("link", name="Download label (PDF)").click()
    assert download.value.suggested_filename == f"return-label-{created.rma_number}.pdf"
    screenshot("3-status")
