"""Every portal and e-mail template renders in every language, and a page or e-mail in German or
French carries none of the English of the catalogue: a string that escaped translation (in a
template, in wording.py, in a form or a message) shows up here as English text."""

import html
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.test.signals import template_rendered
from django.urls import reverse
from django.utils import translation

from core.i18n import customer_language_set
from notifications.choices import NotificationEvent
from notifications.emails import build_message
from notifications.models import Notification
from returns import services
from returns.choices import ReviewMode
from returns.models import ReturnRequest
from tests import factories
from tests.i18n.catalogue import CUSTOMER_TEMPLATES, TEMPLATES, TRANSLATED_LANGUAGES, read_po

pytestmark = pytest.mark.django_db
LANGUAGES = [code for code, _ in settings.LANGUAGES]


def english_phrases(language: str) -> list[str]:
    """Pieces of English (two words or more) of every message the language translates differently."""
    phrases = set()
    for entry in read_po(language):
        if entry.msgstr and entry.msgstr[0] == entry.msgid:
            continue
        for source in (entry.msgid, entry.msgid_plural or ""):
            for piece in re.split(r"%\(\w+\)[sd]|<[^>]+>|[“”]", html.unescape(source)):
                piece = " ".join(piece.split()).strip(" .,:;·?")
                if len(piece.split()) >= 2:
                    phrases.add(piece)
    return sorted(phrases, key=len, reverse=True)


def readable(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


@pytest.fixture
def rendered():
    """The names of the templates rendered while the test runs."""
    names = []

    def record(sender, template, **kwargs):
        names.append(template.name)

    template_rendered.connect(record)
    yield names
    template_rendered.disconnect(record)


@pytest.fixture
def returns(shop, customer, warehouse, django_capture_on_commit_callbacks):
    """Alice's orders and returns in the states the portal and the e-mails talk about."""
    order = factories.make_order(customer=customer, lines=[(shop.shirt, 4, "25.00", "2.00"),
                                                           (shop.jacket, 1, "120.00", "12.00")])
    shirts = order.lines.get(product=shop.shirt)
    factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00")], delivered_days_ago=90)
    factories.make_order(customer=customer, lines=[(shop.laptop, 1, "900.00", "90.00")], delivered_days_ago=None)
    labelled = services.return_request_create(by=customer, order_id=order.pk, lines=[factories.line_request(shirts)])
    services.return_issue_label(return_request_id=labelled.pk)
    label_pending = services.return_request_create(by=customer, order_id=order.pk,
                                                   lines=[factories.line_request(shirts)])
    paid_order = factories.make_order(customer=customer, lines=[(shop.jacket, 1, "120.00", "12.00")])
    with django_capture_on_commit_callbacks(execute=True):
        refunded = factories.received_return(order=paid_order, customer=customer, warehouse=warehouse,
                                             refund_method="store_credit")
        factories.inspect_all(refunded, by=warehouse)
    factories.policy(None, review_mode=ReviewMode.MANUAL)
    waiting = services.return_request_create(by=customer, order_id=order.pk, lines=[factories.line_request(shirts)])
    reviewer = factories.staff_user("Supervisor", username="i18n-supervisor")
    rejected = services.return_request_create(by=customer, order_id=order.pk, lines=[factories.line_request(shirts)])
    services.return_reject(return_request=rejected, by=reviewer, reason="Worn & washed.")
    return SimpleNamespace(order=order, shirts=shirts, labelled=ReturnRequest.objects.get(pk=labelled.pk),
                           label_pending=label_pending, refunded=ReturnRequest.objects.get(pk=refunded.pk),
                           waiting=waiting, rejected=ReturnRequest.objects.get(pk=rejected.pk))


def portal_pages(client: Client, returns) -> list[tuple[str, str]]:
    """(what, HTML) of every portal page a customer can reach, with errors, quotes and a 404."""
    order, shirts = returns.order, returns.shirts
    start = reverse("portal:return_start", args=[order.pk])
    prefix = f"line-{shirts.pk}"
    pages = [("orders", client.get(reverse("portal:orders"))),
             ("wizard", client.get(start)),
             ("wizard with errors", client.post(start, {"action": "submit", f"{prefix}-selected": "on",
                                                        f"{prefix}-quantity": "x", "refund_method": ""})),
             ("wizard over the limit", client.post(start, {"action": "submit", "refund_method": "original_payment",
                                                           f"{prefix}-selected": "on", f"{prefix}-quantity": "9",
                                                           f"{prefix}-reason": "wrong_size"})),
             ("quote", client.post(start, {"action": "quote", "refund_method": "store_credit",
                                           f"{prefix}-selected": "on", f"{prefix}-quantity": "1",
                                           f"{prefix}-reason": "wrong_size"})),
             ("returns", client.get(reverse("portal:returns"))),
             ("not found", client.get(reverse("portal:return", args=["RMA-NONE-0000"])))]
    for rr in (returns.labelled, returns.label_pending, returns.refunded, returns.waiting, returns.rejected):
        pages.append((f"{rr.status} return", client.get(reverse("portal:return", args=[rr.rma_number]))))
        pages.append((f"{rr.status} confirmation", client.get(reverse("portal:confirmation",
                                                                      args=[rr.rma_number]))))
    pages.append(("cancel", client.get(reverse("portal:cancel", args=[returns.labelled.rma_number]))))
    refused = client.post(reverse("portal:cancel", args=[returns.refunded.rma_number]), {"reason": ""}, follow=True)
    pages.append(("cancel refused", refused))
    for what, response in pages:
        assert response.status_code in (200, 404), what
    return [(what, response.content.decode()) for what, response in pages]


def loose_pages(language: str) -> list[tuple[str, str]]:
    """Templates no page reaches in a short test: the lockout page, a second page of results, the
    landing and login pages (seen logged out)."""
    request = RequestFactory().get("/")
    request.user = SimpleNamespace(is_authenticated=False)
    request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = language
    anonymous = Client()
    anonymous.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    page = Paginator(list(range(25)), 10).page(2)
    return [
        ("home", anonymous.get("/").content.decode()),
        ("gift start", anonymous.get(reverse("portal:gift_start")).content.decode()),
        ("gift start with errors", anonymous.post(reverse("portal:gift_start"), {"code": ""}).content.decode()),
        ("login", anonymous.get(reverse("portal:login")).content.decode()),
        ("failed login", anonymous.post(reverse("portal:login"), {"username": "alice", "password": "no"}
                                        ).content.decode()),
        ("locked out", render_to_string("portal/locked_out.html", {
            "username": "alice", "failure_limit": 5, "cooloff_timedelta": timedelta(minutes=15)}, request)),
        ("pagination", render_to_string("portal/_pagination.html", {"page": page})),
    ]


def emails(customer, returns, language: str) -> list[tuple[str, str]]:
    """Every e-mail, built the way a worker builds it (here in English, whatever the customer reads)."""
    customer_language_set(user=customer, language=language)
    sent = []
    with translation.override("en"):
        for event, rr in [(NotificationEvent.RETURN_REQUESTED, returns.waiting),
                          (NotificationEvent.RETURN_AUTHORIZED, returns.labelled),
                          (NotificationEvent.RETURN_AUTHORIZED, returns.label_pending),
                          (NotificationEvent.RETURN_REJECTED, returns.rejected),
                          (NotificationEvent.RETURN_RECEIVED, returns.refunded),
                          (NotificationEvent.RETURN_REFUNDED, returns.refunded),
                          (NotificationEvent.REFUND_FALLBACK, returns.refunded),
                          (NotificationEvent.REPLACEMENT_CHARGED, returns.rejected),
                          (NotificationEvent.GIFT_RETURNED, returns.waiting),
                          (NotificationEvent.GIFT_CARD_ISSUED, returns.refunded)]:
            message = build_message(Notification(return_request=rr, event=event))
            assert message.extra_headers["Content-Language"] == language
            sent += [(f"{event} subject", message.subject), (f"{event} text", message.body),
                     (f"{event} html", message.alternatives[0][0])]
    return sent


# A gift recipient's item and status pages need a gift receipt's code and its session: the walker checks
# their text (test_catalogues.py), returns/tests/test_gift_portal.py drives them, in English.
NOT_RENDERED_HERE = {"portal/gift_items.html", "portal/gift_status.html"}

# A phrase each language's pages and e-mails must show, so that "no English" cannot pass on an empty page.
SAMPLE = {
    "en": {"page": "My returns", "subject": "is approved"},
    "de": {"page": "Meine Rücksendungen", "subject": "ist genehmigt"},
    "fr": {"page": "Mes retours", "subject": "est accepté"},
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_customer_template_renders_in_the_language_with_no_english_left(
        language, customer, returns, rendered):
    client = Client()
    client.force_login(customer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    outputs = [*portal_pages(client, returns), *loose_pages(language), *emails(customer, returns, language)]

    walked = {str(path.relative_to(TEMPLATES)) for path in CUSTOMER_TEMPLATES}
    assert walked - set(rendered) - NOT_RENDERED_HERE == set(), "templates no test renders"
    for what, output in outputs:
        if "<html" in output:
            assert f'<html lang="{language}">' in output, what
    by_what = dict(outputs)
    assert SAMPLE[language]["page"] in readable(by_what["returns"])
    assert SAMPLE[language]["subject"] in by_what["return_authorized subject"]
    if language in TRANSLATED_LANGUAGES:
        phrases = english_phrases(language)
        leaks = {what: [p for p in phrases if p in readable(output)] for what, output in outputs}
        assert {what: found for what, found in leaks.items() if found} == {}


def test_the_leak_check_would_see_english():
    """The check above is only worth something if English in a German page is found."""
    phrases = english_phrases("de")
    assert "Back to my orders" in phrases and "Your return label is ready to print" in phrases
    assert [p for p in phrases if p in readable("<p>Zurück · Back to my orders</p>")] == ["Back to my orders"]
