"""/api/v1/webhooks: a partner manages its own subscriptions and reads their deliveries."""

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from partners.models import WebhookSubscription
from partners.services import partner_key_create
from partners.tests.conftest import actor_for

pytestmark = pytest.mark.django_db

BODY = {"url": "https://hooks.example.com/returns", "event_types": ["return.authorized", "refund.completed"]}


def _key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_create_shows_the_secret_once_and_lists_never_do(api):
    created = api.post("/api/v1/webhooks", BODY, format="json", HTTP_IDEMPOTENCY_KEY="sub-1")

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["event_types"] == ["return.authorized", "refund.completed"]
    assert body["channel"] == "web" and body["active"] is True
    assert WebhookSubscription.objects.get(pk=body["id"]).secret == body["secret"]

    listed = api.get("/api/v1/webhooks").json()
    assert [s["id"] for s in listed["results"]] == [body["id"]]
    assert "secret" not in listed["results"][0]
    assert "secret" not in api.get(f"/api/v1/webhooks/{body['id']}").json()


def test_update_and_delete(api):
    sub_id = api.post("/api/v1/webhooks", BODY, format="json").json()["id"]

    changed = api.patch(f"/api/v1/webhooks/{sub_id}", {"active": False, "event_types": ["return.refunded"]},
                        format="json")
    assert changed.status_code == 200, changed.content
    assert (changed.json()["active"], changed.json()["event_types"]) == (False, ["return.refunded"])
    assert changed.json()["url"] == BODY["url"]

    assert api.delete(f"/api/v1/webhooks/{sub_id}").status_code == 204
    assert api.get(f"/api/v1/webhooks/{sub_id}").status_code == 404
    assert api.get("/api/v1/webhooks").json()["results"] == []
    assert WebhookSubscription.objects.get(pk=sub_id).deleted_at is not None  # its deliveries keep their history


def test_another_partners_subscription_does_not_exist_for_you(api, shop):
    _, other_key = partner_key_create(partner_slug="rival", channel_code=shop.channel.code,
                                      scopes=["webhooks:manage"])
    theirs = _key_client(other_key).post("/api/v1/webhooks", BODY, format="json").json()["id"]

    for response in (api.get(f"/api/v1/webhooks/{theirs}"),
                     api.patch(f"/api/v1/webhooks/{theirs}", {"active": False}, format="json"),
                     api.delete(f"/api/v1/webhooks/{theirs}"),
                     api.get(f"/api/v1/webhooks/{theirs}/deliveries")):
        assert response.status_code == 404
        assert response.json()["code"] == "webhook_not_found"
    assert api.get("/api/v1/webhooks").json()["results"] == []
    assert WebhookSubscription.objects.get(pk=theirs).active is True


def test_people_and_keys_without_the_scope_are_refused(customer, reviewer, shop):
    _, reader = partner_key_create(partner_slug="reader", channel_code=shop.channel.code, scopes=["returns:read"])
    anonymous = APIClient()
    assert anonymous.get("/api/v1/webhooks").status_code == 401
    for client in (_key_client(reader), _as(customer), _as(reviewer)):
        assert client.get("/api/v1/webhooks").status_code == 403
        refused = client.post("/api/v1/webhooks", BODY, format="json")
        assert refused.status_code == 403
        assert refused.json()["code"] == "permission_denied"
    assert not WebhookSubscription.objects.exists()


def _as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_unknown_event_type_is_refused_with_its_code(api):
    refused = api.post("/api/v1/webhooks", {**BODY, "event_types": ["return.authorized", "return.teleported"]},
                       format="json")

    assert refused.status_code == 422
    assert refused.json()["code"] == "unknown_event_type"
    assert refused.json()["errors"][0]["field"] == "event_types"
    assert "return.teleported" in refused.json()["detail"]


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/hooks", "https://10.1.2.3/hooks", "https://localhost/x",
                                 "https://169.254.169.254/latest/meta-data", "https://[::1]/hooks"])
def test_a_private_address_is_refused_when_blocking_is_on(api, url):
    with override_settings(WEBHOOKS={**settings.WEBHOOKS, "BLOCK_PRIVATE_ADDRESSES": True}):
        refused = api.post("/api/v1/webhooks", {**BODY, "url": url}, format="json")

    assert refused.status_code == 422, refused.content
    assert refused.json()["code"] == "webhook_url_not_allowed"


def test_a_public_address_passes_the_private_address_check(api):
    with override_settings(WEBHOOKS={**settings.WEBHOOKS, "BLOCK_PRIVATE_ADDRESSES": True}):
        created = api.post("/api/v1/webhooks", {**BODY, "url": "https://93.184.215.14/hooks"}, format="json")
    assert created.status_code == 201, created.content


def test_plain_http_is_refused_where_https_is_required(api):
    with override_settings(WEBHOOKS={**settings.WEBHOOKS, "REQUIRE_HTTPS": True}):
        refused = api.post("/api/v1/webhooks", {**BODY, "url": "http://hooks.example.com/returns"}, format="json")
        sub_id = api.post("/api/v1/webhooks", BODY, format="json").json()["id"]
        patched = api.patch(f"/api/v1/webhooks/{sub_id}", {"url": "http://hooks.example.com/x"}, format="json")

    assert (refused.status_code, refused.json()["code"]) == (422, "webhook_url_insecure")
    assert (patched.status_code, patched.json()["code"]) == (422, "webhook_url_insecure")


@pytest.mark.parametrize("body", [
    {**BODY, "secret": "mine"},
    {**BODY, "channel": "marketplace"},
    {**BODY, "partner": 1},
])
def test_read_only_and_unknown_fields_are_refused(api, body):
    refused = api.post("/api/v1/webhooks", body, format="json")

    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] in ("read_only_field", "unknown_field")
    assert not WebhookSubscription.objects.exists()


def test_bad_urls_and_empty_event_lists_are_refused(api):
    assert api.post("/api/v1/webhooks", {**BODY, "url": "not a url"}, format="json").json()["code"] == "invalid_url"
    assert api.post("/api/v1/webhooks", {**BODY, "url": "https://user:pw@hooks.example.com/"},
                    format="json").json()["code"] == "invalid_url"
    assert api.post("/api/v1/webhooks", {**BODY, "event_types": []}, format="json").json()["code"] == "no_event_types"


def test_deliveries_list_each_attempt(api, partner_key, endpoint, shop, django_capture_on_commit_callbacks):
    from partners.services import webhook_event_emit, webhook_subscription_create

    subscription = webhook_subscription_create(by=actor_for(partner_key[0]), url=endpoint.url,
                                               event_types=["return.authorized"])
    endpoint.answer_with((500, "oops"), (200, "ok"))
    with django_capture_on_commit_callbacks(execute=True):
        webhook_event_emit(event_type="return.authorized", channel_id=shop.channel.pk, data={"rma_number": "RMA-1"})

    listed = api.get(f"/api/v1/webhooks/{subscription.pk}/deliveries")
    assert listed.status_code == 200
    [delivery] = listed.json()["results"]
    assert delivery["status"] == "succeeded"
    assert delivery["payload"]["data"] == {"rma_number": "RMA-1"}
    assert [(a["number"], a["status_code"], a["succeeded"]) for a in delivery["attempts"]] == [
        (1, 500, False), (2, 200, True)]
    assert api.get(f"/api/v1/webhooks/{subscription.pk}/deliveries?status=failed").json()["results"] == []
    assert api.get(f"/api/v1/webhooks/{subscription.pk}/deliveries?status=bogus").status_code == 400


def test_the_idempotency_key_replays_the_creation(api):
    first = api.post("/api/v1/webhooks", BODY, format="json", HTTP_IDEMPOTENCY_KEY="same")
    again = api.post("/api/v1/webhooks", BODY, format="json", HTTP_IDEMPOTENCY_KEY="same")

    assert again.status_code == 201 and again.json() == first.json()
    assert WebhookSubscription.objects.count() == 1


@pytest.mark.parametrize("url", [
    "https://2130706433/hooks", "https://0x7f000001/hooks", "https://0177.0.0.1/hooks", "https://127.1/hooks",
    "https://[::ffff:127.0.0.1]/hooks", "https://[2002:a9fe:a9fe::]/hooks", "https://[64:ff9b::a9fe:a9fe]/hooks",
    "https://[fd12:3456::1]/hooks", "https://[fe80::1%25eth0]/hooks", "https://localhost./hooks",
    "https://user:pass@93.184.215.14/hooks", "http://93.184.215.14/hooks", "ftp://93.184.215.14/hooks",
    "https://169.254.169.254.nip.io.invalid/latest",
])
def test_address_tricks_are_refused_on_create_and_on_change(api, url):
    with override_settings(WEBHOOKS={**settings.WEBHOOKS, "BLOCK_PRIVATE_ADDRESSES": True, "REQUIRE_HTTPS": True}):
        refused = api.post("/api/v1/webhooks", {**BODY, "url": url}, format="json")
        created = api.post("/api/v1/webhooks", {**BODY, "url": "https://93.184.215.14/hooks"}, format="json")
        changed = api.patch(f"/api/v1/webhooks/{created.json()['id']}", {"url": url}, format="json")

    for response in (refused, changed):
        assert response.status_code == 422, response.content
        assert response.json()["code"] in ("invalid_url", "webhook_url_insecure", "webhook_url_not_allowed")
    assert WebhookSubscription.objects.get(pk=created.json()["id"]).url == "https://93.184.215.14/hooks"
