"""The "Return a gift" pages: a code instead of a login, a signed status page, one answer to a
wrong code and a lockout for a guesser."""

import pytest
from django.conf import settings
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from returns import gifts
from returns.models import ReturnRequest

pytestmark = pytest.mark.django_db

RECIPIENT = {"recipient_name": "Grace Gift", "recipient_email": "grace@example.net"}


@pytest.fixture
def code(order, reviewer):
    return gifts.gift_receipt_issue(by=reviewer, order_id=order.pk)[1]


def open_receipt(client, code):
    return client.post(reverse("portal:gift_start"), {"code": code, **RECIPIENT})


def test_a_recipient_returns_a_gift_without_logging_in(client, order, code, django_capture_on_commit_callbacks):
    page = client.get(reverse("portal:home"))
    assert reverse("portal:gift_start") in page.content.decode()
    response = open_receipt(client, code.lower())
    assert response.status_code == 302 and response["Location"] == reverse("portal:gift_items")
    items = client.get(reverse("portal:gift_items"))
    assert "Blue M" in items.content.decode() or "Shirt" in items.content.decode()
    assert "refund_method" not in items.content.decode()
    shirt = order.lines.get(product__sku="shirt-blue-m")
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(reverse("portal:gift_items"), {
            f"line-{shirt.pk}-selected": "on", f"line-{shirt.pk}-quantity": "1",
            f"line-{shirt.pk}-reason": "wrong_size", "action": "submit"})
    assert sent.status_code == 302
    rr = ReturnRequest.objects.get()
    assert rr.recipient_email == "grace@example.net" and rr.customer == order.customer
    status = client.get(sent["Location"])
    assert status.status_code == 200 and rr.rma_number in status.content.decode()
    assert sent["Location"] == reverse("portal:gift_status", args=[gifts.gift_status_token(rr)])
    rr.refresh_from_db()
    label = client.get(reverse("portal:gift_label", args=[gifts.gift_status_token(rr)]))
    assert label.status_code == 200 and label.content.startswith(b"%PDF")
    assert all("grace@example.net" in m.to for m in mail.outbox) and mail.outbox
    assert sent["Location"] in "".join(m.body for m in mail.outbox)


def test_items_need_an_opened_receipt_and_a_forged_status_link_is_a_404(client, order, code):
    response = client.get(reverse("portal:gift_items"))
    assert response.status_code == 302 and response["Location"] == reverse("portal:gift_start")
    assert client.get(reverse("portal:gift_status", args=["1"])).status_code == 404
    assert client.get(reverse("portal:gift_label", args=["1:abc"])).status_code == 404


def test_bad_input_is_shown_next_to_its_field_and_creates_nothing(client, order, code):
    response = client.post(reverse("portal:gift_start"), {"code": code, "recipient_name": "",
                                                           "recipient_email": "nope"})
    assert response.status_code == 200
    assert client.session.get("portal_gift_return") is None
    open_receipt(client, code)
    shirt = order.lines.get(product__sku="shirt-blue-m")
    response = client.post(reverse("portal:gift_items"), {
        f"line-{shirt.pk}-selected": "on", f"line-{shirt.pk}-quantity": "5",
        f"line-{shirt.pk}-reason": "wrong_size", "action": "submit"})
    assert response.status_code == 200 and "can still be returned" in response.content.decode()
    assert not ReturnRequest.objects.exists()


@override_settings(RETURNS={**settings.RETURNS, "GIFT_CODE_MAX_FAILURES_PER_IP": 3})
def test_a_wrong_code_gets_one_answer_and_a_guesser_is_locked_out(client, code):
    bodies = set()
    for guess in ("2222-3333-4444-5555", "ABCD", "ORD-10000"):
        response = open_receipt(client, guess)
        assert response.status_code == 200
        bodies.add(gifts.INVALID_CODE in response.content.decode())
    assert bodies == {True}
    locked = open_receipt(client, code)
    assert locked.status_code == 429 and "Too many attempts" in locked.content.decode()
    assert client.session.get("portal_gift_return") is None
