"""The customer portal in a real browser: a customer returns two items, prints the label,
follows the return and cancels it; another customer cannot open it; the pages fit a phone.

Screenshots of each step land in test-artifacts/ (see conftest.py).
"""

import re

import pytest
from playwright.sync_api import expect

from returns import services
from returns.models import ReturnRequest
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def shop_with_order(shop, customer, other_customer):
    """Alice's delivered order: 2 shirts at 25.00 + 2.00 tax, 1 jacket at 120.00 + 12.00 tax, 9.95 shipping."""
    order = factories.make_order(customer=customer, lines=[
        (shop.shirt, 2, "25.00", "2.00"),
        (shop.jacket, 1, "120.00", "12.00"),
    ])
    return order


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Log in to start a return").click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My orders", level=1)).to_be_visible()


def choose(page, product: str, quantity: int, reason: str) -> None:
    page.get_by_role("checkbox", name=re.compile(product)).check()
    page.get_by_role("spinbutton", name=f"Quantity of {product}").fill(str(quantity))
    page.get_by_role("combobox", name=f"Reason for returning {product}").select_option(label=reason)


def test_a_customer_returns_two_items_prints_the_label_follows_and_cancels_it(
        live_server, page, screenshot, shop_with_order, tmp_path):
    order = shop_with_order
    log_in(page, live_server, "alice")
    expect(page.get_by_text("2 of 2 can be returned")).to_be_visible()
    screenshot("1-my-orders")

    page.get_by_role("link", name=f"Return items from order {order.external_id}").click()
    choose(page, "Shirt Blue M", 2, "Wrong size or fit")
    choose(page, "Jacket Rain L", 1, "Changed my mind")
    # The live quote (the portal script) fills in as the choices change...
    quote = page.locator("#quote")
    expect(quote.get_by_test_id("quote-payment")).to_have_text("$195.95")
    expect(quote.get_by_test_id("quote-credit")).to_have_text("$205.25")
    screenshot("2-live-quote")
    # ...and "Update quote" gives the same answer with a full page, as it does without scripts.
    page.get_by_role("button", name="Update quote").click()
    expect(page.locator("#quote").get_by_test_id("quote-payment")).to_have_text("$195.95")
    expect(page.get_by_role("checkbox", name=re.compile("Shirt Blue M"))).to_be_checked()

    page.get_by_role("radio", name=re.compile("Store credit")).check()
    page.get_by_label("Anything we should know? (optional)").fill("Both a size too small.")
    expect(quote.locator(".quote-option--chosen")).to_contain_text("As store credit")
    screenshot("3-before-request")
    page.get_by_role("button", name="Request return").click()

    expect(page.get_by_role("heading", name="Return requested")).to_be_visible()
    rma = page.get_by_test_id("rma").inner_text().strip()
    created = ReturnRequest.objects.get(rma_number=rma)
    assert created.refund_method == "store_credit" and created.lines.count() == 2
    assert created.status == "authorized" and created.label_status == "issued"
    screenshot("4-confirmation")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download label (PDF)").click()
    download = download_info.value
    assert download.suggested_filename == f"return-label-{rma}.pdf"
    label = tmp_path / "label.pdf"
    download.save_as(label)
    content = label.read_bytes()
    assert content.startswith(b"%PDF") and len(content) > 2000

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My returns").click()
    card = page.locator(".return-card", has_text=rma)
    expect(card.get_by_text("Approved")).to_be_visible()
    screenshot("5-my-returns")

    card.get_by_role("link", name=f"Return {rma}").click()
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Requested")
    expect(timeline).to_contain_text("Approved")
    expect(timeline).to_contain_text("Label ready")
    expect(page.get_by_test_id("refund-estimate")).to_have_text("$195.95 + $9.30 bonus")
    screenshot("6-return-page")

    page.get_by_role("link", name="Cancel this return").click()
    page.get_by_label("Why are you cancelling? (optional)").fill("Found a tailor instead.")
    screenshot("7-cancel-confirm")
    page.get_by_role("button", name="Yes, cancel this return").click()
    expect(page.get_by_role("status").filter(has_text=f"Return {rma} is cancelled.")).to_be_visible()
    expect(page.locator(".title-row .badge")).to_have_text("Cancelled")
    expect(page.locator(".timeline")).to_contain_text("Found a tailor instead.")
    assert ReturnRequest.objects.get(pk=created.pk).status == "cancelled"
    screenshot("8-cancelled")


def test_a_customer_swaps_a_shirt_for_a_dearer_variant_and_sees_the_difference_before_asking(
        live_server, page, screenshot, shop_with_order):
    from returns.tests.resolutions import stock, variants

    order = shop_with_order
    _, silk, _ = variants()
    stock(silk, 3)
    log_in(page, live_server, "alice")
    page.get_by_role("link", name=f"Return items from order {order.external_id}").click()
    choose(page, "Shirt Blue M", 1, "Wrong size or fit")
    replacement = page.get_by_role("combobox", name="Replacement, if you want one for Shirt Blue M")
    expect(replacement).to_be_hidden()  # asked for only once the customer wants a replacement
    page.get_by_role("combobox", name="What you would like for Shirt Blue M").select_option(label="A replacement")
    expect(replacement).to_be_visible()
    replacement.select_option(label="Shirt Silk M · $43.20 each, $16.20 more to pay")
    quote = page.locator("#quote")
    expect(quote.get_by_test_id("quote-replacement")).to_contain_text(
        "Replaced by 1 × Shirt Silk M: $16.20 more to pay")
    expect(quote.get_by_test_id("quote-charge")).to_contain_text("$16.20")
    screenshot("1-replacement-quoted")
    page.get_by_role("button", name="Request return").click()

    expect(page.get_by_role("heading", name="Return requested")).to_be_visible()
    rma = page.get_by_test_id("rma").inner_text().strip()
    line = ReturnRequest.objects.get(rma_number=rma).lines.get()
    assert (line.resolution, line.replacement_product.sku) == ("exchange", "shirt-silk-m")
    screenshot("2-confirmation")


def test_another_customer_cannot_open_the_return(live_server, page, screenshot, shop_with_order, customer):
    order = shop_with_order
    theirs = services.return_request_create(
        by=customer, order_id=order.pk, lines=[factories.line_request(order.lines.first(), 1)])
    log_in(page, live_server, "bob")
    for path in (f"/returns/{theirs.rma_number}/", f"/returns/{theirs.rma_number}/label.pdf",
                 f"/returns/{theirs.rma_number}/cancel/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 404, path
    expect(page.get_by_role("heading", name="We could not find that page")).to_be_visible()
    screenshot("not-found")
    page.goto(f"{live_server.url}/returns/")
    expect(page.get_by_text(theirs.rma_number)).to_have_count(0)


def test_the_wizard_fits_a_phone(live_server, page, screenshot, shop_with_order):
    page.set_viewport_size(PHONE)
    log_in(page, live_server, "alice")
    page.get_by_role("link", name=re.compile("Return items from order")).click()
    choose(page, "Shirt Blue M", 1, "Wrong size or fit")
    choose(page, "Jacket Rain L", 1, "Arrived damaged")
    expect(page.locator("#quote").get_by_test_id("quote-payment")).to_have_text("$159.00")
    # Nothing is wider than the screen: no sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot("phone-wizard")


def test_a_failed_request_shows_the_problem_next_to_the_item(live_server, page, screenshot, shop_with_order):
    log_in(page, live_server, "alice")
    page.get_by_role("link", name=re.compile("Return items from order")).click()
    choose(page, "Shirt Blue M", 5, "Wrong size or fit")
    page.get_by_role("checkbox", name=re.compile("Jacket Rain L")).check()  # and forget its reason
    page.get_by_role("button", name="Request return").click()
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()
    expect(page.locator(".item--error")).to_contain_text("Choose a reason for returning this item.")
    page.get_by_role("combobox", name="Reason for returning Jacket Rain L").select_option(label="Changed my mind")
    page.get_by_role("button", name="Request return").click()
    # The form is fine now; the service finds there are not 5 shirts to return, next to the shirts.
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_focused()
    expect(page.locator(".item--error")).to_contain_text("Only 2 of Shirt Blue M can still be returned.")
    expect(page.get_by_role("spinbutton", name="Quantity of Shirt Blue M")).to_have_attribute("aria-invalid", "true")
    assert not ReturnRequest.objects.exists()
    screenshot("errors")


def test_five_wrong_passwords_pause_logging_in(live_server, page, screenshot, customer):
    page.goto(f"{live_server.url}/login/")
    for _ in range(5):
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill("not-my-password")
        page.get_by_role("main").get_by_role("button", name="Log in").click()
        if page.get_by_role("heading", name="Too many login attempts").is_visible():
            break
    expect(page.get_by_role("heading", name="Too many login attempts")).to_be_visible()
    expect(page.get_by_text("Please wait 15 minutes")).to_be_visible()
    screenshot("locked-out")


def test_a_customer_switches_to_german_and_returns_an_item(live_server, page, screenshot, shop_with_order):
    from returns.models import ReturnReason

    ReturnReason.objects.filter(code="wrong_size").update(translated_labels={"de": "Falsche Größe oder Passform"})
    log_in(page, live_server, "alice")
    page.get_by_role("form", name="Language").get_by_role("button", name="Deutsch").click()
    expect(page.get_by_role("heading", name="Meine Bestellungen", level=1)).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "de"
    expect(page.get_by_role("button", name="Deutsch")).to_be_disabled()
    expect(page.get_by_text("2 von 2 können zurückgesendet werden")).to_be_visible()
    screenshot("de-1-meine-bestellungen")

    page.get_by_role("link", name=re.compile("Artikel zurücksenden")).click()
    page.get_by_role("checkbox", name=re.compile("Shirt Blue M")).check()
    page.get_by_role("spinbutton", name="Menge von Shirt Blue M").fill("2")
    page.get_by_role("combobox", name="Grund für die Rücksendung von Shirt Blue M").select_option(
        label="Falsche Größe oder Passform")
    quote = page.locator("#quote")
    expect(quote.get_by_test_id("quote-payment")).to_have_text("54,00\u00a0$")
    expect(quote).to_contain_text("Ihre Erstattung")
    screenshot("de-2-erstattung")
    page.get_by_role("button", name="Rücksendung anfragen").click()

    expect(page.get_by_role("heading", name="Rücksendung angefragt")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Falsche Größe oder Passform")
    screenshot("de-3-bestaetigung")
    page.reload()  # the choice is remembered (cookie), not only for one page
    expect(page.get_by_role("heading", name="Rücksendung angefragt")).to_be_visible()


def test_a_customer_sees_their_store_credit_go_down_as_the_shop_spends_it(
        live_server, page, screenshot, shop_with_order, customer, supervisor):
    from decimal import Decimal

    from refunds import credit, goodwill

    goodwill.goodwill_grant(order=shop_with_order, by=supervisor, amount=Decimal("20.00"), method="store_credit",
                            reason="Arrived late.")
    log_in(page, live_server, "alice")
    page.get_by_role("link", name="My returns").first.click()
    balance = page.get_by_test_id("store-credit")
    expect(balance.get_by_role("heading", name="Your store credit")).to_be_visible()
    expect(balance).to_contain_text("$20.00")
    screenshot("store-credit")

    storefront = factories.partner_actor(slug="storefront", channel="web", scopes=["credit:spend"])
    credit.store_credit_spend(email=customer.email, amount="12.50", currency="USD", reference="CHK-1", by=storefront)
    page.reload()
    expect(page.get_by_test_id("store-credit")).to_contain_text("$7.50")
