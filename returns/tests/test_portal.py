"""The customer portal through Django's test client: each view's good and bad paths.

A customer only ever reaches their own orders and returns (anything else is a 404), a failed
submit changes nothing and says what is wrong next to the field, and every form needs CSRF.
"""

import re
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from returns import services
from returns.models import ReturnRequest
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client, customer):
    client.force_login(customer)
    return client


@pytest.fixture
def bob(other_customer):
    client = Client()
    client.force_login(other_customer)
    return client


@pytest.fixture
def lines(order):
    return {line.product.sku: line for line in order.lines.select_related("product")}


def wizard_data(lines, *, action="quote", refund_method="original_payment", note="", **rows) -> dict:
    """Form data of the wizard. `rows` maps a SKU to (quantity, reason); other rows stay unticked."""
    data = {"action": action, "refund_method": refund_method, "note": note, "submission": str(uuid.uuid4())}
    for sku, (quantity, reason) in rows.items():
        prefix = f"line-{lines[sku].pk}"
        data |= {f"{prefix}-selected": "on", f"{prefix}-quantity": quantity, f"{prefix}-reason": reason}
    return data


def start_url(order) -> str:
    return reverse("portal:return_start", args=[order.pk])


def requested(customer, order, lines, **kwargs):
    return services.return_request_create(
        by=customer, order_id=order.pk, lines=[factories.line_request(lines["shirt-blue-m"], 1)], **kwargs)


def issued(return_request):
    services.return_issue_label(return_request_id=return_request.pk)
    return ReturnRequest.objects.get(pk=return_request.pk)


def text(response) -> str:
    """The page's words without markup, for asserting what a person reads."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


# --- landing, log in and out ---

def test_the_site_root_is_the_portal_landing_with_staff_links(client):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'href="/login/"' in body and 'href="/admin/"' in body and 'href="/api/docs/"' in body


def test_a_logged_in_customer_goes_from_the_root_to_their_orders(alice):
    assert alice.get("/").url == reverse("portal:orders")


def test_pages_ask_anonymous_visitors_to_log_in(client, order):
    for url in (reverse("portal:orders"), reverse("portal:returns"), start_url(order)):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/?next="), url


def test_log_in_then_out(client, customer):
    response = client.post("/login/", {"username": "alice", "password": factories.PASSWORD})
    assert response.status_code == 302 and response.url == reverse("portal:orders")
    assert client.get(reverse("portal:orders")).status_code == 200
    response = client.post("/logout/")
    assert response.status_code == 302 and response.url == "/"
    assert client.get(reverse("portal:orders")).status_code == 302


def test_a_wrong_password_is_said_on_the_login_page(client, customer):
    response = client.post("/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "enter a correct username and password" in text(response)
    assert "_auth_user_id" not in client.session


def test_five_wrong_passwords_lock_that_username_on_that_address_for_15_minutes(client, customer, other_customer):
    for _ in range(4):
        assert client.post("/login/", {"username": "alice", "password": "wrong"}).status_code == 200
    assert client.post("/login/", {"username": "alice", "password": "wrong"}).status_code == 429  # the fifth
    locked = client.post("/login/", {"username": "alice", "password": factories.PASSWORD})
    assert locked.status_code == 429
    assert "Too many login attempts" in text(locked) and "15 minutes" in text(locked)
    assert "_auth_user_id" not in client.session
    # Another account from the same address is not locked out.
    response = client.post("/login/", {"username": "bob", "password": factories.PASSWORD})
    assert response.status_code == 302


def test_the_admin_login_still_works_with_the_lockout_in_place(client, reviewer):
    response = client.post("/admin/login/?next=/admin/", {"username": "agent", "password": factories.PASSWORD})
    assert response.status_code == 302 and response.url == "/admin/"


def test_logging_out_needs_a_post_with_csrf(customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)
    assert client.post("/logout/").status_code == 403
    assert client.get(reverse("portal:orders")).status_code == 200


# --- my orders ---

def test_my_orders_say_what_can_be_returned_until_when_and_why_not(alice, customer, shop, order):
    factories.make_order(customer=customer, lines=[(shop.gift_card, 1, "50.00", "0.00")])
    factories.make_order(customer=customer, lines=[(shop.jacket, 1, "120.00", "12.00")], delivered_days_ago=45)
    response = alice.get(reverse("portal:orders"))
    assert response.status_code == 200
    page = text(response)
    # The window ends 30 whole days after delivery, at the delivery's time of day: that day is the last
    # one the customer can use in full.
    last_day = (order.delivered_at + timedelta(days=30)).strftime("%-d %B %Y")
    assert f"2 of 2 can be returned · last day {last_day}" in page
    assert "This item cannot be returned." in page
    assert "The return window closed on" in page
    assert page.count("Return items from order") == 1  # only the order with something left to return


def test_an_item_not_shipped_yet_says_so(alice, customer, shop):
    from orders.choices import OrderStatus

    factories.make_order(customer=customer, status=OrderStatus.PARTIALLY_FULFILLED, shipped=[1, 0],
                         lines=[(shop.shirt, 1, "25.00", "2.00"), (shop.jacket, 1, "120.00", "12.00")])
    page = text(alice.get(reverse("portal:orders")))
    assert "1 of 1 can be returned" in page and "This item has not shipped yet." in page


def test_my_orders_list_only_my_own(alice, other_customer, shop, order):
    theirs = factories.make_order(customer=other_customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
    page = text(alice.get(reverse("portal:orders")))
    assert order.external_id in page and theirs.external_id not in page


def test_units_in_an_open_return_are_not_offered_again(alice, customer, order, lines):
    requested(customer, order, lines)
    page = text(alice.get(reverse("portal:orders")))
    assert "1 of 2 can be returned" in page


# --- the return wizard ---

def test_the_wizard_lists_the_returnable_items_with_a_reason_each(alice, order, lines):
    response = alice.get(start_url(order))
    assert response.status_code == 200
    body = response.content.decode()
    for line in lines.values():
        assert f'name="line-{line.pk}-selected"' in body and f'name="line-{line.pk}-reason"' in body
    assert "Wrong size or fit" in body and "csrfmiddlewaretoken" in body
    assert "get 5% extra" in text(response)


def test_another_customers_order_is_not_found(bob, order, lines):
    assert bob.get(start_url(order)).status_code == 404
    response = bob.post(start_url(order), wizard_data(lines, action="submit", **{"shirt-blue-m": (1, "wrong_size")}))
    assert response.status_code == 404
    assert not ReturnRequest.objects.exists()


def test_update_quote_shows_the_refund_both_ways_and_creates_nothing(alice, order, lines):
    data = wizard_data(lines, **{"shirt-blue-m": (2, "wrong_size"), "jacket-rain-l": (1, "changed_mind")})
    response = alice.post(start_url(order), data)
    assert response.status_code == 200
    page = text(response)
    # 2 × 27.00 + 132.00, and the shipping because everything shipped comes back.
    assert "$195.95" in page and "Original shipping" in page
    assert "As store credit, including a $9.30 bonus $205.25" in page
    assert not ReturnRequest.objects.exists()


def test_the_live_quote_asks_for_just_the_quote_panel(alice, order, lines):
    response = alice.post(start_url(order), wizard_data(lines, **{"shirt-blue-m": (1, "wrong_size")}),
                          HTTP_X_PORTAL_PARTIAL="quote")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body and "Your refund" in body and "$27.00" in body


def test_requesting_a_return_creates_it_and_shows_the_confirmation(alice, customer, order, lines,
                                                                  django_capture_on_commit_callbacks):
    data = wizard_data(lines, action="submit", refund_method="store_credit", note="Both too small.",
                       **{"shirt-blue-m": (2, "wrong_size"), "jacket-rain-l": (1, "changed_mind")})
    with django_capture_on_commit_callbacks(execute=True):  # the label task, as Celery would run it
        response = alice.post(start_url(order), data)
    created = ReturnRequest.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("portal:confirmation", args=[created.rma_number])
    assert created.customer == customer and created.refund_method == "store_credit"
    assert created.note == "Both too small."
    assert sorted((line.order_line.product.sku, line.quantity, line.reason.code) for line in created.lines.all()) == [
        ("jacket-rain-l", 1, "changed_mind"), ("shirt-blue-m", 2, "wrong_size")]
    page = alice.get(response.url)
    assert created.rma_number in text(page) and "Download label (PDF)" in text(page)
    # The last whole day to drop the parcel off, before the label expires.
    send_by = created.authorized_at + timedelta(days=settings.RETURNS["LABEL_SCAN_DAYS"] - 1)
    assert f"by {send_by:%-d %B %Y}" in text(page)
    assert reverse("portal:label", args=[created.rma_number]) in page.content.decode()


def test_the_confirmation_says_label_pending_until_the_carrier_answers(alice, customer, order, lines):
    created = requested(customer, order, lines)  # the label task has not run: no commit in this test
    assert created.status == "authorized" and created.label_status == "pending"
    page = text(alice.get(reverse("portal:confirmation", args=[created.rma_number])))
    assert "Label pending" in page and "Download label" not in page


def test_sending_the_same_form_twice_creates_one_return(alice, order, lines):
    data = wizard_data(lines, action="submit", **{"shirt-blue-m": (1, "wrong_size")})
    first = alice.post(start_url(order), data)
    second = alice.post(start_url(order), data)
    assert ReturnRequest.objects.count() == 1
    assert first.url == second.url


def test_too_many_units_are_refused_next_to_the_row_and_nothing_is_created(alice, order, lines):
    shirt = lines["shirt-blue-m"]
    data = wizard_data(lines, action="submit",
                       **{"shirt-blue-m": (3, "wrong_size"), "jacket-rain-l": (1, "changed_mind")})
    response = alice.post(start_url(order), data)
    assert response.status_code == 200
    body = response.content.decode()
    row_error = re.search(rf'<p class="field-error" id="id_line-{shirt.pk}-quantity-errors">(.*?)</p>', body, re.S)
    assert row_error and "Only 2 of Shirt Blue M can still be returned." in row_error.group(1)
    assert re.search(rf'<input[^>]*aria-describedby="id_line-{shirt.pk}-quantity-errors"[^>]*aria-invalid="true"'
                     rf'|<input[^>]*aria-invalid="true"[^>]*aria-describedby="id_line-{shirt.pk}-quantity-errors"',
                     body)
    assert f'href="#id_line-{shirt.pk}-quantity"' in body  # the summary links to the field
    assert not ReturnRequest.objects.exists()
    # What was typed is kept, so the customer only fixes the one field.
    assert 'value="3"' in body


@pytest.mark.parametrize(("quantity", "reason", "field", "message"), [
    ("two", "wrong_size", "quantity", "Enter the number of items as a whole number."),
    ("0", "wrong_size", "quantity", "Ensure this value is greater than or equal to 1."),
    ("", "wrong_size", "quantity", "Enter how many you are sending back."),
    ("1", "", "reason", "Choose a reason for returning this item."),
    ("1", "not_a_reason", "reason", "Select a valid choice."),
])
def test_bad_rows_are_refused_next_to_their_field(alice, order, lines, quantity, reason, field, message):
    shirt = lines["shirt-blue-m"]
    response = alice.post(start_url(order), wizard_data(lines, action="submit",
                                                        **{"shirt-blue-m": (quantity, reason)}))
    assert response.status_code == 200
    error = re.search(rf'id="id_line-{shirt.pk}-{field}-errors">(.*?)</p>', response.content.decode(), re.S)
    assert error and message in error.group(1)
    assert not ReturnRequest.objects.exists()


def test_choosing_nothing_says_so_above_the_items(alice, order, lines):
    response = alice.post(start_url(order), wizard_data(lines, action="submit"))
    body = response.content.decode()
    assert re.search(r'id="items-errors">.*Choose at least one item to return\.', body, re.S)
    assert not ReturnRequest.objects.exists()


def test_a_refund_method_not_offered_is_refused(alice, order, lines):
    data = wizard_data(lines, action="submit", refund_method="cheque", **{"shirt-blue-m": (1, "wrong_size")})
    response = alice.post(start_url(order), data)
    assert 'id="id_refund_method-errors"' in response.content.decode()
    assert not ReturnRequest.objects.exists()


def test_the_wizard_needs_csrf(customer, order, lines):
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)
    response = client.post(start_url(order), wizard_data(lines, action="submit", **{"shirt-blue-m": (1, "wrong_size")}))
    assert response.status_code == 403
    assert not ReturnRequest.objects.exists()


# --- my returns, a return's page, its label ---

def test_my_returns_list_only_my_own_with_their_status(alice, customer, other_customer, shop, order, lines):
    mine = requested(customer, order, lines)
    theirs_order = factories.make_order(customer=other_customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
    theirs = services.return_request_create(by=other_customer, order_id=theirs_order.pk,
                                            lines=[factories.line_request(theirs_order.lines.get(), 1)])
    page = text(alice.get(reverse("portal:returns")))
    assert mine.rma_number in page and "Approved" in page
    assert theirs.rma_number not in page


def test_my_returns_shows_my_store_credit_and_what_is_left_after_spending_it(alice, customer, supervisor, order):
    from decimal import Decimal

    from refunds import credit, goodwill

    assert 'data-testid="store-credit"' not in alice.get(reverse("portal:returns")).content.decode()
    goodwill.goodwill_grant(order=order, by=supervisor, amount=Decimal("20.00"), method="store_credit",
                            reason="Arrived late.")
    page = text(alice.get(reverse("portal:returns")))
    assert "Your store credit" in page and "$20.00" in page
    storefront = factories.partner_actor(slug="storefront", channel="web", scopes=["credit:spend"])
    credit.store_credit_spend(email=customer.email, amount="12.50", currency="USD", reference="CHK-1", by=storefront)
    assert "$7.50" in text(alice.get(reverse("portal:returns")))
    german = text(alice.get(reverse("portal:returns"), HTTP_ACCEPT_LANGUAGE="de"))
    assert "Ihr Guthaben" in german and "7,50" in german


def test_a_returns_page_shows_its_timeline_without_staff_names_or_fraud_data(alice, customer, reviewer, order,
                                                                             lines):
    factories.policy(None, review_mode="manual")
    created = requested(customer, order, lines)
    services.return_approve(return_request=created, by=reviewer, reason="Checked the fraud score, fine.")
    created = issued(created)
    response = alice.get(reverse("portal:return", args=[created.rma_number]))
    page = text(response)
    assert [title for title in ("Requested", "Approved", "Label ready") if title in page] == [
        "Requested", "Approved", "Label ready"]
    assert page.index("Requested") < page.index("Label ready")
    assert "agent" not in page.lower() and "fraud" not in page.lower() and "score" not in page.lower()
    assert "Expected $27.00" in page and "Cancel this return" in page


def test_a_declined_return_says_why(alice, customer, reviewer, order, lines):
    factories.policy(None, review_mode="manual")
    created = requested(customer, order, lines)
    services.return_reject(return_request=created, by=reviewer, reason="Worn items cannot be returned.")
    page = text(alice.get(reverse("portal:return", args=[created.rma_number])))
    assert "Declined" in page and "Worn items cannot be returned." in page
    assert "Cancel this return" not in page and "No refund is due" in page


def test_a_returns_page_shows_the_refund_and_its_status(alice, customer, warehouse, order):
    received = factories.received_return(order=order, customer=customer, warehouse=warehouse)
    factories.inspect_all(received, by=warehouse)
    page = text(alice.get(reverse("portal:return", args=[received.rma_number])))
    assert "Refund" in page and "$195.95" in page
    assert "Being prepared" in page or "Being paid" in page or "Paid" in page


def test_another_customers_return_is_not_found_anywhere(alice, bob, customer, order, lines):
    created = issued(requested(customer, order, lines))
    for name in ("return", "confirmation", "label", "cancel"):
        assert bob.get(reverse(f"portal:{name}", args=[created.rma_number])).status_code == 404, name
    assert bob.post(reverse("portal:cancel", args=[created.rma_number])).status_code == 404
    assert ReturnRequest.objects.get(pk=created.pk).status == "authorized"
    assert alice.get(reverse("portal:return", args=[created.rma_number])).status_code == 200


def test_an_unknown_rma_is_not_found(alice):
    response = alice.get(reverse("portal:return", args=["RMA-NOPE-0000"]))
    assert response.status_code == 404 and "could not find that page" in text(response)


def test_the_label_is_a_pdf(alice, customer, order, lines):
    created = issued(requested(customer, order, lines))
    response = alice.get(reverse("portal:label", args=[created.rma_number]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and len(response.content) > 1000
    assert f"return-label-{created.rma_number}.pdf" in response["Content-Disposition"]


def test_a_label_not_issued_yet_sends_back_to_the_return_with_a_message(alice, customer, order, lines):
    created = requested(customer, order, lines)
    response = alice.get(reverse("portal:label", args=[created.rma_number]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:return", args=[created.rma_number])
    assert "not ready yet" in text(response)


# --- cancelling ---

def test_cancel_asks_first_then_cancels(alice, customer, order, lines):
    created = issued(requested(customer, order, lines))
    url = reverse("portal:cancel", args=[created.rma_number])
    confirm = alice.get(url)
    assert confirm.status_code == 200 and "Yes, cancel this return" in text(confirm)
    assert ReturnRequest.objects.get(pk=created.pk).status == "authorized"
    response = alice.post(url, {"reason": "Kept it after all."}, follow=True)
    assert ReturnRequest.objects.get(pk=created.pk).status == "cancelled"
    page = text(response)
    assert f"Return {created.rma_number} is cancelled." in page and "Kept it after all." in page
    assert "Cancel this return" not in page


def test_cancel_after_the_parcel_was_scanned_is_refused_with_a_message(alice, customer, order, lines):
    created = issued(requested(customer, order, lines))
    services.return_mark_in_transit(return_request=created)
    url = reverse("portal:cancel", args=[created.rma_number])
    response = alice.post(url, follow=True)
    assert "can no longer be cancelled: the carrier already has your parcel" in text(response)
    assert ReturnRequest.objects.get(pk=created.pk).status == "in_transit"
    # The confirmation page is not offered either.
    response = alice.get(url, follow=True)
    assert response.redirect_chain and "can no longer be cancelled" in text(response)


def test_cancelling_twice_says_it_is_already_cancelled(alice, customer, order, lines):
    created = requested(customer, order, lines)
    url = reverse("portal:cancel", args=[created.rma_number])
    alice.post(url)
    response = alice.post(url, follow=True)
    assert "already cancelled" in text(response)


def test_cancel_needs_csrf(customer, order, lines):
    created = requested(customer, order, lines)
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)
    assert client.post(reverse("portal:cancel", args=[created.rma_number])).status_code == 403
    assert ReturnRequest.objects.get(pk=created.pk).status == "authorized"


def test_a_return_refunded_early_says_so_and_asks_for_the_items(alice, customer, order,
                                                                django_capture_on_commit_callbacks):
    factories.rules_pay_refunds("at_request")
    with django_capture_on_commit_callbacks(execute=True):
        early = services.return_request_create(by=customer, order_id=order.pk,
                                               lines=[factories.line_request(order.lines.first(), 1)])
    page = text(alice.get(reverse("portal:return", args=[early.rma_number])))
    assert "$27.00" in page and "Refunded before your parcel reached us" in page

    factories.rules_pay_refunds("first_scan")
    later = services.return_request_create(by=customer, order_id=order.pk,
                                           lines=[factories.line_request(order.lines.last(), 1)])
    page = text(alice.get(reverse("portal:return", args=[later.rma_number])))
    assert "Your refund is paid when the carrier first scans your parcel." in page
