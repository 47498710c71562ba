"""The back office, URL by URL, against every role in core/roles.py, a plain customer and nobody:
each role sees exactly what its permissions say, a customer or an anonymous visitor is sent to
the admin login, no role deletes anything, and the buttons and bulk actions behind a permission
do nothing for a role without it."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from core.roles import ROLE_PERMISSIONS
from refunds.models import Refund
from returns import services
from returns.models import ReturnRequest
from tests import factories
from tests.api.conftest import World, world  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

USERS = ["anonymous", "customer", *ROLE_PERMISSIONS, "superuser"]


def _client(user_kind: str) -> Client:
    client = Client()
    if user_kind == "anonymous":
        return client
    if user_kind == "customer":
        user = factories.UserFactory(username="plain-customer")
    elif user_kind == "superuser":
        user = get_user_model().objects.create_superuser("root", "root@example.com", "root-pass-123")
    else:
        user = factories.staff_user(user_kind, username=f"role-{user_kind.lower().replace(' ', '-')}")
    client.force_login(user)
    return client


def _may(user_kind: str, permission: str) -> bool:
    return user_kind == "superuser" or permission in ROLE_PERMISSIONS.get(user_kind, [])


def _may_view(user_kind: str, label: str) -> bool:
    app, model = label.split(".")
    return _may(user_kind, f"{app}.view_{model}") or _may(user_kind, f"{app}.change_{model}")


# Granting goodwill is the add form of goodwill credits, behind its own permission.
ADD_PERMISSION = {"refunds.goodwillcredit": "refunds.grant_goodwill"}


def _add_permission(label: str) -> str:
    app, model = label.split(".")
    return ADD_PERMISSION.get(label, f"{app}.add_{model}")


def _sent_to_login(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("user_kind", USERS)
def test_every_admin_page_answers_each_role_as_its_permissions_say(world, warehouse, user_kind):  # noqa: F811
    services.parcel_receive(by=warehouse, tracking_number="1ZMATRIX", contents_note="a parcel for the matrix")
    client, wrong = _client(user_kind), []
    for model, model_admin in admin.site._registry.items():
        label, opts = model._meta.label_lower, model._meta
        url = f"admin:{opts.app_label}_{opts.model_name}"
        obj = model_admin.get_queryset(_request_for(client)).first() if user_kind == "superuser" else \
            model._default_manager.first()
        pages = {"changelist": reverse(f"{url}_changelist")}
        if obj is not None:
            pages["change"] = reverse(f"{url}_change", args=[obj.pk])
            pages["delete"] = reverse(f"{url}_delete", args=[obj.pk])
        pages["add"] = reverse(f"{url}_add")
        for page, page_url in pages.items():
            response = client.get(page_url)
            if user_kind in ("anonymous", "customer"):
                ok = _sent_to_login(response)
            elif page in ("changelist", "change"):
                ok = response.status_code == (200 if _may_view(user_kind, label) else 403)
            elif page == "delete":  # nobody but the superuser deletes; some models nobody at all
                ok = response.status_code in ((200, 403) if user_kind == "superuser" else (403,))
            else:  # add: refused without the permission
                ok = response.status_code == 403 if not _may(user_kind, _add_permission(label)) else \
                    response.status_code in (200, 403)
            if not ok:
                wrong.append(f"{page} {label}: {response.status_code}")
    assert not wrong, f"{user_kind}: " + "; ".join(wrong)


def _request_for(client):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = get_user_model().objects.get(username="root")
    return request


TRANSITION_PERMISSION = {"authorize": "returns.review_returnrequest", "reject": "returns.review_returnrequest"}


@pytest.mark.parametrize("user_kind", [u for u in USERS if u != "superuser"])
def test_review_buttons_and_bulk_actions_change_nothing_for_a_role_without_the_permission(world, user_kind):  # noqa: F811
    client = _client(user_kind)
    pending = world.pending
    may_review = _may(user_kind, "returns.review_returnrequest")
    for name in ("authorize", "reject"):
        client.post(reverse("admin:returns_returnrequest_transition", args=[pending.pk, name]),
                    {"reason": "matrix"})
    client.post(reverse("admin:returns_returnrequest_changelist"),
                {"action": "reject_selected", "_selected_action": [pending.pk], "apply": "1", "reason": "matrix"})
    pending.refresh_from_db()
    if not may_review:
        assert pending.status == "requested", user_kind


@pytest.mark.parametrize("user_kind", [u for u in USERS if u != "superuser"])
def test_finance_buttons_change_nothing_for_anyone_else(world, user_kind):  # noqa: F811
    refund = world.refund
    refund.refresh_from_db()
    before = (refund.status, refund.method, refund.attempts)
    client = _client(user_kind)
    for name, data in (("retry", {}), ("fall_back", {"method": "store_credit", "reason": "matrix"}),
                       ("cheque_issued", {"cheque_number": "000123"})):
        response = client.post(reverse(f"admin:refunds_refund_{name}", args=[refund.pk]), data)
        if user_kind in ("anonymous", "customer"):
            assert _sent_to_login(response), (user_kind, name)
    refund.refresh_from_db()
    assert (refund.status, refund.method, refund.attempts) == before
    assert Refund.objects.filter(pk=refund.pk, status=before[0]).exists()


@pytest.mark.parametrize("user_kind", [u for u in USERS if u != "superuser"])
def test_linking_a_parcel_needs_the_receive_permission(world, warehouse, user_kind):  # noqa: F811
    services.return_mark_in_transit(return_request=world.authorized)
    parcel = services.parcel_receive(by=warehouse, tracking_number="1ZLINKME").parcel
    response = _client(user_kind).post(reverse("admin:returns_unmatchedparcel_link", args=[parcel.pk]),
                                       {"rma_number": world.authorized.rma_number})
    parcel.refresh_from_db()
    linked = parcel.return_request_id is not None
    assert linked == _may(user_kind, "returns.receive_returnrequest"), (user_kind, response.status_code)
    if not linked:
        assert ReturnRequest.objects.get(pk=world.authorized.pk).status == "in_transit"
