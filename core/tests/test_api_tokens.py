"""Customers' API tokens: issued once in clear and stored as a digest, refused when wrong, revoked by
their owner, by support and by a password change."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core import services
from core.errors import PermissionDenied
from core.models import ApiToken
from partners.services import partner_key_create
from tests import factories

pytestmark = pytest.mark.django_db


def _login(username: str = "alice", password: str = factories.PASSWORD):
    return APIClient().post("/api/v1/auth/token", {"username": username, "password": password}, format="json")


def _with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_a_token_issued_at_login_works_and_only_its_digest_is_kept(customer):
    response = _login()
    assert response.status_code == 200 and set(response.json()) == {"token"}
    token = response.json()["token"]
    assert _with(token).get("/api/v1/returns").status_code == 200

    (stored,) = ApiToken.objects.filter(user=customer)
    assert stored.digest == ApiToken.digest_of(token) and token not in stored.digest
    assert token.startswith(stored.prefix) and len(stored.prefix) == ApiToken.PREFIX_LENGTH < len(token)
    assert stored.last_used_at is not None


def test_each_login_issues_a_new_token_and_the_earlier_ones_keep_working(customer):
    first, second = _login().json()["token"], _login().json()["token"]
    assert first != second
    assert [_with(t).get("/api/v1/returns").status_code for t in (first, second)] == [200, 200]


def test_the_login_form_contract_is_unchanged(customer):
    """Form-encoded logins are still read, and refusals are problem details with a stable code."""
    form = APIClient().post("/api/v1/auth/token", {"username": "alice", "password": factories.PASSWORD})
    assert form.status_code == 200 and "token" in form.json()
    wrong = _login(password="not-the-password")
    assert wrong.status_code == 400 and wrong.json()["code"] == "validation_failed"
    assert wrong.json()["errors"][0]["code"] == "authorization"
    missing = APIClient().post("/api/v1/auth/token", {"username": "alice"}, format="json")
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "password"
    assert ApiToken.objects.filter(user__username="alice").count() == 1


@pytest.mark.parametrize("header", [
    "Token 0123456789abcdef0123456789abcdef01234567",  # well formed, never issued
    "Token ",  # no token
    "Token two parts",
    "token \u00e9t\u00e9",  # not ASCII
])
def test_a_wrong_or_malformed_token_is_401_with_a_stable_code(customer, header):
    _login()
    response = APIClient().get("/api/v1/returns", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "authentication_failed"


def test_a_token_with_one_character_changed_is_refused(customer):
    token = _login().json()["token"]
    altered = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert _with(altered).get("/api/v1/returns").status_code == 401


def test_an_inactive_customer_can_neither_use_a_token_nor_get_one(customer):
    token = _login().json()["token"]
    get_user_model().objects.filter(pk=customer.pk).update(is_active=False)
    refused = _with(token).get("/api/v1/returns")
    assert refused.status_code == 401 and refused.json()["code"] == "authentication_failed"
    assert _login().status_code == 400
    customer.refresh_from_db()
    with pytest.raises(PermissionDenied) as refusal:
        services.api_token_issue(user=customer)
    assert refusal.value.code == "user_inactive"


def test_last_use_is_written_at_most_once_a_minute(customer):
    token = _login().json()["token"]
    assert ApiToken.objects.get(user=customer).last_used_at is None  # issued, not used yet
    assert _with(token).get("/api/v1/returns").status_code == 200
    stored = ApiToken.objects.get(user=customer)
    first_use = stored.last_used_at
    assert first_use is not None

    with CaptureQueriesContext(connection) as queries:
        assert _with(token).get("/api/v1/returns").status_code == 200
    assert not [q for q in queries.captured_queries if q["sql"].startswith('UPDATE "core_apitoken"')]
    assert ApiToken.objects.get(pk=stored.pk).last_used_at == first_use

    a_while_ago = timezone.now() - timedelta(minutes=5)
    ApiToken.objects.filter(pk=stored.pk).update(last_used_at=a_while_ago)
    assert _with(token).get("/api/v1/returns").status_code == 200
    assert ApiToken.objects.get(pk=stored.pk).last_used_at > a_while_ago


def test_a_customer_keeps_only_the_most_recently_used_tokens(customer):
    tokens = [services.api_token_issue(user=customer) for _ in range(services.MAX_TOKENS_PER_USER)]
    ApiToken.objects.filter(pk=tokens[0][0].pk).update(last_used_at=timezone.now())  # the oldest, still in use
    _newest, clear = services.api_token_issue(user=customer)
    assert ApiToken.objects.filter(user=customer).count() == services.MAX_TOKENS_PER_USER
    assert not ApiToken.objects.filter(pk=tokens[1][0].pk).exists()  # the least recently used went
    assert _with(tokens[0][1]).get("/api/v1/returns").status_code == 200
    assert _with(clear).get("/api/v1/returns").status_code == 200


# --- revoking ---

def test_delete_revokes_the_token_it_is_sent_with_and_no_other(customer):
    kept, revoked = _login().json()["token"], _login().json()["token"]
    response = _with(revoked).delete("/api/v1/auth/token")
    assert response.status_code == 204 and not response.content
    gone = _with(revoked).get("/api/v1/returns")
    assert gone.status_code == 401 and gone.json()["code"] == "authentication_failed"
    assert _with(revoked).delete("/api/v1/auth/token").status_code == 401
    assert _with(kept).get("/api/v1/returns").status_code == 200


def test_delete_without_a_token_is_401_and_revokes_nothing(shop, customer):
    _login()
    session = APIClient()
    session.force_login(customer)
    _, key = partner_key_create(partner_slug="acme", channel_code=shop.channel.code, scopes=["returns:read"])
    partner = APIClient()
    partner.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    for caller in (APIClient(), session, partner):
        response = caller.delete("/api/v1/auth/token")
        assert response.status_code == 401, response.content
        assert response.json()["code"] == "not_authenticated"
    assert ApiToken.objects.filter(user=customer).count() == 1
    german = APIClient().delete("/api/v1/auth/token", HTTP_ACCEPT_LANGUAGE="de")
    assert german.json()["detail"] == "Senden Sie das zu widerrufende Token als `Authorization: Token <token>`."


def test_nobody_revokes_another_customers_token_but_support(customer, other_customer, reviewer, finance):
    token, _clear = services.api_token_issue(user=customer)
    for intruder in (other_customer, finance):
        with pytest.raises(PermissionDenied):
            services.api_token_revoke(token=token, by=intruder)
    assert ApiToken.objects.filter(pk=token.pk).exists()
    services.api_token_revoke(token=token, by=reviewer)
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_a_new_password_revokes_every_token(customer, other_customer):
    mine = [_login().json()["token"] for _ in range(2)]
    theirs = _login("bob").json()["token"]
    customer.set_password("a-brand-new-Pass-41")
    customer.save()
    assert [_with(t).get("/api/v1/returns").status_code for t in mine] == [401, 401]
    assert _with(theirs).get("/api/v1/returns").status_code == 200
    assert _login(password="a-brand-new-Pass-41").status_code == 200


def test_a_password_set_in_the_admin_or_by_command_revokes_the_tokens(customer, monkeypatch):
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "root-pass-123"))
    token = _login().json()["token"]
    response = admin.post(reverse("admin:auth_user_password_change", args=[customer.pk]),
                          {"password1": "admin-set-Pass-77", "password2": "admin-set-Pass-77",
                           "usable_password": "true"})
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    assert _with(token).get("/api/v1/returns").status_code == 401

    token = _login(password="admin-set-Pass-77").json()["token"]
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "command-set-Pass-88")
    call_command("changepassword", "alice")
    assert _with(token).get("/api/v1/returns").status_code == 401


def test_turning_password_sign_in_off_revokes_the_tokens(customer, other_customer):
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "root-pass-123"))
    token, theirs = _login().json()["token"], _login("bob").json()["token"]
    response = admin.post(reverse("admin:auth_user_password_change", args=[customer.pk]),
                          {"usable_password": "false", "unset-password": "1"})
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    customer.refresh_from_db()
    assert not customer.has_usable_password()
    assert _with(token).get("/api/v1/returns").status_code == 401

    other_customer.set_unusable_password()  # the same, from code
    other_customer.save()
    assert _with(theirs).get("/api/v1/returns").status_code == 401


def test_logging_in_or_saving_a_customer_leaves_the_tokens_alone(customer):
    token = _login().json()["token"]
    portal = Client()
    assert portal.post("/login/", {"username": "alice", "password": factories.PASSWORD}).status_code == 302
    customer.refresh_from_db()
    customer.first_name = "Alice"
    customer.save()
    assert _with(token).get("/api/v1/returns").status_code == 200


# --- the back office ---

def test_support_sees_tokens_by_prefix_never_by_digest_and_can_revoke_them(customer, reviewer, finance):
    token, _clear = services.api_token_issue(user=customer, name="order sync script")
    support = Client()
    support.force_login(reviewer)
    changelist = support.get(reverse("admin:core_apitoken_changelist"))
    assert changelist.status_code == 200
    page = changelist.content.decode()
    assert token.prefix in page and "order sync script" in page and token.digest not in page
    change = support.get(reverse("admin:core_apitoken_change", args=[token.pk])).content.decode()
    assert token.digest not in change and 'name="digest"' not in change

    outsider = Client()
    outsider.force_login(finance)
    outsider.post(reverse("admin:core_apitoken_changelist"),
                  {"action": "revoke_selected", "_selected_action": [token.pk]})
    assert ApiToken.objects.filter(pk=token.pk).exists()

    support.post(reverse("admin:core_apitoken_changelist"),
                 {"action": "revoke_selected", "_selected_action": [token.pk]})
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_logins_have_their_own_budget_and_revoking_does_not_spend_it(customer):
    from django.conf import settings
    from django.core.cache import cache
    from django.test import override_settings
    from rest_framework.throttling import SimpleRateThrottle

    tight = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"caller": "100/min", "login": "2/min"}}
    cache.clear()
    try:
        with override_settings(REST_FRAMEWORK=tight):
            SimpleRateThrottle.THROTTLE_RATES = tight["DEFAULT_THROTTLE_RATES"]
            first = _login().json()["token"]
            assert _with(first).delete("/api/v1/auth/token").status_code == 204
            assert _with(first).delete("/api/v1/auth/token").status_code == 401
            assert _login().status_code == 200
            throttled = _login()
            assert throttled.status_code == 429 and throttled.json()["code"] == "throttled"
    finally:
        cache.clear()
        SimpleRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
