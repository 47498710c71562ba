"""Customer e-mails go out in the customer's stored language, whatever language the worker (or
the staff member whose action caused them) runs in."""

import pytest
from django.core import mail
from django.utils import translation

from core.i18n import customer_language_set
from returns import services
from returns.choices import ReviewMode
from tests import factories

pytestmark = pytest.mark.django_db


def messages_for(rr) -> list:
    return [message for message in mail.outbox if message.extra_headers.get("X-RMA") == rr.rma_number]


def test_a_german_customer_hears_in_german_though_staff_work_in_english(
        customer, order, reviewer, warehouse, django_capture_on_commit_callbacks):
    factories.policy(None, review_mode=ReviewMode.MANUAL)
    customer_language_set(user=customer, language="de")
    shirt = order.lines.get(product__sku="shirt-blue-m")
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk, lines=[factories.line_request(shirt, 1)])
    with translation.override("fr"), django_capture_on_commit_callbacks(execute=True):
        services.return_approve(return_request=rr, by=reviewer)
    requested, approved = messages_for(rr)
    assert requested.subject == f"Ihre Rücksendeanfrage {rr.rma_number} ist eingegangen"
    assert requested.body.startswith("Guten Tag alice,") and requested.extra_headers["Content-Language"] == "de"
    assert approved.subject.startswith(f"Ihre Rücksendung {rr.rma_number} ist genehmigt")
    html = approved.alternatives[0][0]
    assert '<html lang="de">' in html and "Rücksendeetikett" in html and "Rücksendung ansehen" in html

    with django_capture_on_commit_callbacks(execute=True):
        services.return_mark_in_transit(return_request=rr)
        services.return_receive(return_request=rr, by=warehouse)
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)
    refunded = messages_for(rr)[-1]
    assert "27,00\u00a0$ auf Ihre ursprüngliche Zahlungsmethode erstattet" in refunded.body


def test_a_customer_who_never_chose_hears_in_english(customer, order, django_capture_on_commit_callbacks):
    shirt = order.lines.get(product__sku="shirt-blue-m")
    with translation.override("de"), django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk, lines=[factories.line_request(shirt, 1)])
    (approved,) = messages_for(rr)
    assert approved.subject == f"Your return {rr.rma_number} is approved: your label is inside"
    assert approved.extra_headers["Content-Language"] == "en"


def test_switching_in_the_portal_changes_the_language_of_the_next_email(
        client, customer, order, django_capture_on_commit_callbacks):
    client.force_login(customer)
    client.post("/language/", {"language": "fr", "next": "/orders/"})
    shirt = order.lines.get(product__sku="shirt-blue-m")
    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk, lines=[factories.line_request(shirt, 1)])
    (approved,) = messages_for(rr)
    assert approved.subject == f"Votre retour {rr.rma_number} est accepté : votre étiquette est jointe"
    assert "Bonjour alice," in approved.body


def test_a_gift_recipient_hears_in_the_language_they_used_and_the_purchaser_in_theirs(
        customer, order, reviewer, django_capture_on_commit_callbacks):
    from returns import gifts

    factories.policy(None, gift_returns_notify_purchaser=True)
    customer_language_set(user=customer, language="fr")
    _, code = gifts.gift_receipt_issue(by=reviewer, order_id=order.pk)
    shirt = order.lines.get(product__sku="shirt-blue-m")
    with translation.override("de"), django_capture_on_commit_callbacks(execute=True):  # the recipient's portal
        receipt = gifts.gift_receipt_verify(code=code, client_ip="198.51.100.1")
        rr = gifts.gift_return_create(gift_receipt=receipt, recipient_name="Grete", recipient_email="grete@example.de",
                                      lines=[factories.line_request(shirt, 1)])
    assert rr.recipient_language == "de"
    to_recipient = [m for m in messages_for(rr) if m.to == ["grete@example.de"]]
    to_purchaser = [m for m in messages_for(rr) if m.to == [customer.email]]
    assert to_recipient and all(m.extra_headers["Content-Language"] == "de" for m in to_recipient)
    assert to_recipient[0].body.startswith("Guten Tag Grete,")
    (told,) = to_purchaser
    assert told.extra_headers["Content-Language"] == "fr"
