"""The portal, page by page, for the owner, another customer, staff and nobody (another
customer's return or order does not exist for them: 404, not 403); and CSRF on every form that
changes something — portal, admin, and the API when called with a session cookie."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from returns.models import ReturnRequest
from tests import factories
from tests.api.conftest import World, world  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def _pages(w: World) -> dict[str, tuple[str, str]]:
    rma = w.authorized.rma_number
    return {
        "orders": ("get", reverse("portal:orders")),
        "returns": ("get", reverse("portal:returns")),
        "return start": ("get", reverse("portal:return_start", args=[w.order.pk])),
        "return start (post)": ("post", reverse("portal:return_start", args=[w.order.pk])),
        "return": ("get", reverse("portal:return", args=[rma])),
        "confirmation": ("get", reverse("portal:confirmation", args=[rma])),
        "label": ("get", reverse("portal:label", args=[rma])),
        "cancel": ("get", reverse("portal:cancel", args=[rma])),
        "cancel (post)": ("post", reverse("portal:cancel", args=[rma])),
    }


OWNED = {"return start", "return start (post)", "return", "confirmation", "label", "cancel", "cancel (post)"}


@pytest.mark.parametrize("caller", ["owner", "other customer", "staff", "anonymous"])
def test_every_portal_page_answers_each_caller(world, customer, other_customer, reviewer, caller):  # noqa: F811
    client = Client()
    if caller != "anonymous":
        client.force_login({"owner": customer, "other customer": other_customer, "staff": reviewer}[caller])
    wrong = []
    for page, (method, url) in _pages(world).items():
        response = getattr(client, method)(url, {"reason": "matrix"} if method == "post" else None)
        if caller == "anonymous":
            ok = response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))
        elif caller == "owner" or page not in OWNED:
            ok = response.status_code in (200, 302) and "login" not in response.get("Location", "")
        else:  # someone else's order or return does not exist for them
            ok = response.status_code == 404
        if not ok:
            wrong.append(f"{page}: {response.status_code} {response.get('Location', '')}")
    assert not wrong, f"{caller}: " + "; ".join(wrong)
    expected = "cancelled" if caller == "owner" else "authorized"
    assert ReturnRequest.objects.get(pk=world.authorized.pk).status == expected


def test_lists_show_a_customer_only_their_own(world, other_customer):  # noqa: F811
    bob = Client()
    bob.force_login(other_customer)
    for name in ("portal:orders", "portal:returns"):
        page = bob.get(reverse(name)).content.decode()
        assert world.authorized.rma_number not in page and world.order.external_id not in page


def _csrf_client(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def _token(client: Client, url: str) -> str:
    page = client.get(url).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def test_portal_login_needs_csrf(customer):
    client = _csrf_client()
    refused = client.post(reverse("portal:login"), {"username": "alice", "password": factories.PASSWORD})
    assert refused.status_code == 403
    token = _token(client, reverse("portal:login"))
    accepted = client.post(reverse("portal:login"), {"username": "alice", "password": factories.PASSWORD,
                                                     "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302


def test_admin_login_and_forms_need_csrf(world, supervisor):  # noqa: F811
    assert _csrf_client().post(reverse("admin:login"), {"username": "supervisor",
                                                        "password": factories.PASSWORD}).status_code == 403
    client = _csrf_client(supervisor)
    pending = world.pending
    transition = reverse("admin:returns_returnrequest_transition", args=[pending.pk, "reject"])
    assert client.post(transition, {"reason": "forged"}).status_code == 403
    bulk = client.post(reverse("admin:returns_returnrequest_changelist"),
                       {"action": "reject_selected", "_selected_action": [pending.pk], "apply": "1",
                        "reason": "forged"})
    assert bulk.status_code == 403
    assert ReturnRequest.objects.get(pk=pending.pk).status == "requested"
    token = _token(client, transition)
    assert client.post(transition, {"reason": "Worn", "csrfmiddlewaretoken": token}).status_code == 302
    assert ReturnRequest.objects.get(pk=pending.pk).status == "rejected"


def test_finance_buttons_need_csrf(world, finance):  # noqa: F811
    refund = world.refund
    before = (refund.status, refund.method)
    client = _csrf_client(finance)
    for name in ("retry", "fall_back", "cheque_issued"):
        url = reverse(f"admin:refunds_refund_{name}", args=[refund.pk])
        assert client.post(url, {"method": "cheque", "cheque_number": "1"}).status_code == 403, name
    refund.refresh_from_db()
    assert (refund.status, refund.method) == before


def test_the_api_called_with_a_session_cookie_needs_csrf(world, customer):  # noqa: F811
    """A token or API key is not sent by a browser on its own; a session cookie is, so the API
    asks a session caller for the CSRF token like any form."""
    client = _csrf_client(customer)
    url = f"/api/v1/returns/{world.authorized.rma_number}/cancel"
    refused = client.post(url, {}, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"]
    assert ReturnRequest.objects.get(pk=world.authorized.pk).status == "authorized"
    client.get(reverse("portal:returns"))
    token = client.cookies["csrftoken"].value
    assert client.post(url, {}, content_type="application/json", HTTP_X_CSRFTOKEN=token).status_code == 200
    assert ReturnRequest.objects.get(pk=world.authorized.pk).status == "cancelled"
