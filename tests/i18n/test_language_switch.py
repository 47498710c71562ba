"""The portal's language switch: Django's set_language behind CSRF, remembered in a cookie and on
the customer's profile, so a new device and the e-mails follow the choice."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from core.i18n import customer_language, customer_language_set
from core.models import CustomerProfile
from tests import factories

pytestmark = pytest.mark.django_db
COOKIE = settings.LANGUAGE_COOKIE_NAME


def csrf_client(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    client.get(reverse("portal:login") if user is None else reverse("portal:orders"))  # sets the CSRF cookie
    return client


def switch(client: Client, language: str, next_url: str = "/orders/", **extra):
    data = {"language": language, "next": next_url, "csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    return client.post(reverse("portal:set_language"), data, **extra)


def test_a_customer_switches_to_german_and_it_is_remembered(customer):
    client = csrf_client(customer)
    response = switch(client, "de")
    assert response.status_code == 302 and response.url == "/orders/"
    cookie = response.cookies[COOKIE]
    assert cookie.value == "de" and cookie["max-age"] == settings.LANGUAGE_COOKIE_AGE
    page = client.get("/orders/").content.decode()
    assert '<html lang="de">' in page and "Meine Bestellungen" in page
    assert customer_language(customer) == "de"

    switch(client, "fr")
    assert "Mes commandes" in client.get("/orders/").content.decode()
    assert CustomerProfile.objects.get(user=customer).language == "fr"


def test_the_switch_needs_the_csrf_token(customer):
    client = csrf_client(customer)
    response = client.post(reverse("portal:set_language"), {"language": "de", "next": "/orders/"})
    assert response.status_code == 403
    assert COOKIE not in response.cookies and not CustomerProfile.objects.exists()


def test_the_switch_is_a_post(customer):
    client = csrf_client(customer)
    assert client.get(reverse("portal:set_language"), {"language": "de"}).status_code == 405
    assert not CustomerProfile.objects.exists()


def test_a_language_we_do_not_offer_changes_nothing(customer):
    customer_language_set(user=customer, language="de")
    client = csrf_client(customer)
    response = switch(client, "tlh")
    assert response.status_code == 302 and COOKIE not in response.cookies
    assert customer_language(customer) == "de"


def test_the_switch_never_sends_a_customer_off_site(customer):
    response = switch(csrf_client(customer), "de", next_url="https://evil.example/phish")
    assert response.status_code == 302 and not response.url.startswith("https://evil.example")


def test_a_visitor_can_switch_without_an_account():
    client = csrf_client()
    response = switch(client, "fr", next_url="/")
    assert response.cookies[COOKIE].value == "fr"
    assert "Renvoyez un article en quelques clics" in client.get("/").content.decode()
    assert not CustomerProfile.objects.exists()


def test_a_new_device_opens_the_portal_in_the_stored_language(customer):
    customer_language_set(user=customer, language="de")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(customer)
    response = client.get("/orders/")
    assert "Meine Bestellungen" in response.content.decode()
    assert response.cookies[COOKIE].value == "de"  # the next request needs no lookup


def test_the_cookie_wins_over_the_stored_language(customer):
    """The switch on this device (the cookie) is the customer's latest word."""
    customer_language_set(user=customer, language="de")
    client = Client()
    client.force_login(customer)
    client.cookies[COOKIE] = "fr"
    assert "Mes commandes" in client.get("/orders/").content.decode()


def test_the_first_login_records_the_browser_language_but_never_overrides_a_choice(customer, other_customer):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr-CH,fr;q=0.9,en;q=0.5")
    client.post(reverse("portal:login"), {"username": customer.username, "password": factories.PASSWORD})
    assert customer_language(customer) == "fr"

    customer_language_set(user=other_customer, language="de")
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.post(reverse("portal:login"), {"username": other_customer.username, "password": factories.PASSWORD})
    assert customer_language(other_customer) == "de"


def test_a_customer_with_no_choice_is_written_to_in_the_default_language(customer):
    assert customer_language(customer) == settings.LANGUAGE_CODE


def test_an_unsupported_language_is_refused_with_a_code(customer):
    from core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        customer_language_set(user=customer, language="xx")
    assert refused.value.code == "unsupported_language" and not CustomerProfile.objects.exists()


def test_the_back_office_stays_in_english(client):
    admin = factories.UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    client.cookies[COOKIE] = "de"
    page = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<html lang="en"' in page and "Log out" in page and "Abmelden" not in page
