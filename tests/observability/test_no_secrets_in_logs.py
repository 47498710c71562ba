"""Drive the flows that handle credentials — logins, API keys, webhook signing, a gateway that
fails while holding its own key — with every logger at DEBUG, and read what the configured log
handler really wrote: no password, token, key, secret or signature is in it."""

import io
import logging
import re

import pytest
from django.conf import settings
from django.test import Client, override_settings

from core.logredact import MASK
from partners.services import partner_key_create, webhook_event_emit, webhook_subscription_create
from partners.tests.conftest import actor_for, endpoint  # noqa: F401  (the local endpoint fixture)
from refunds.gateways.base import GatewayUnavailable
from refunds.gateways.sandbox import SandboxGateway
from tests import factories

pytestmark = pytest.mark.django_db

GATEWAY_KEY = "sk_live_51HqLeakMe0000SecretGatewayKey"
gateway_logger = logging.getLogger("refunds.gateways.acme")


class GatewayThatFailsLoudly(SandboxGateway):
    """What an HTTP adapter for a real gateway does when the gateway answers 503: log what it sent,
    credentials included, and raise with the URL it called."""

    name = "acme"

    def refund(self, **kwargs):
        gateway_logger.warning("refund call failed: POST https://api.acme-pay.example/v1/refunds?key=%s "
                               "headers=%s", GATEWAY_KEY, {"Authorization": f"Bearer {GATEWAY_KEY}"})
        raise GatewayUnavailable(f"503 Service Unavailable for url: https://api.acme-pay.example/v1/refunds"
                                 f"?key={GATEWAY_KEY}")


@pytest.fixture
def written():
    """Everything the configured console handler writes while the test runs, with every logger
    at DEBUG so that the chattiest libraries have their say."""
    (handler,) = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    stream, root = io.StringIO(), logging.getLogger()
    previous_stream, previous_level = handler.setStream(stream), root.level
    root.setLevel(logging.DEBUG)
    yield stream.getvalue
    root.setLevel(previous_level)
    handler.setStream(previous_stream)


def _assert_absent(log: str, secrets: list[str]) -> None:
    leaked = [secret for secret in secrets if secret in log]
    assert not leaked, f"in the logs: {leaked}"


def test_portal_and_api_logins_leave_no_password_or_token(customer, written):
    browser = Client()
    assert browser.post("/login/", {"username": "alice", "password": "wrong-Pass-987"}).status_code == 200
    assert browser.post("/login/", {"username": "alice", "password": factories.PASSWORD}).status_code == 302
    api = Client()
    refused = api.post("/api/v1/auth/token", {"username": "alice", "password": "wrong-Pass-987"},
                       content_type="application/json")
    token = api.post("/api/v1/auth/token", {"username": "alice", "password": factories.PASSWORD},
                     content_type="application/json").json()["token"]
    assert refused.status_code in (400, 401)
    assert api.get("/api/v1/returns", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    assert api.get("/api/v1/returns", HTTP_AUTHORIZATION=f"Token {token[:-4]}dead").status_code == 401
    logging.getLogger("django.request").warning("failed request with Authorization: Token %s", token)

    log = written()
    assert "Unauthorized" in log  # the refused calls were logged ...
    _assert_absent(log, ["wrong-Pass-987", factories.PASSWORD, token, token[:-4]])  # ... without what they sent
    assert f"Authorization: {MASK}" in log


def test_api_key_calls_leave_no_key(shop, written):
    _, key = partner_key_create(partner_slug="acme", channel_code=shop.channel.code, scopes=["returns:read"])
    api = Client()
    assert api.get("/api/v1/returns", HTTP_AUTHORIZATION=f"Api-Key {key}").status_code == 200
    wrong = key[:-4] + "zzzz"
    assert api.get("/api/v1/returns", HTTP_AUTHORIZATION=f"Api-Key {wrong}").status_code == 401
    logging.getLogger("partners").info("key %s used", key, extra={"api_key": key, "headers": {"Authorization": key}})

    log = written()
    assert "Unauthorized" in log and "key [redacted] used" in log
    _assert_absent(log, [key, key.split(".")[1], wrong])


def test_webhook_signing_and_delivery_leave_no_secret_or_signature(shop, endpoint, written,  # noqa: F811
                                                                  django_capture_on_commit_callbacks):
    api_key, _ = partner_key_create(partner_slug="acme", channel_code=shop.channel.code, scopes=["webhooks:manage"])
    subscription = webhook_subscription_create(by=actor_for(api_key), url=endpoint.url,
                                               event_types=["return.authorized"])
    endpoint.answer_with((500, f"echo: {subscription.secret}"), (200, "ok"))
    with override_settings(WEBHOOKS={**settings.WEBHOOKS, "MAX_ATTEMPTS": 1}), \
            django_capture_on_commit_callbacks(execute=True):
        webhook_event_emit(event_type="return.authorized", channel_id=shop.channel.pk, data={"status": "authorized"})

    [received] = endpoint.received
    signature = re.search(r"v1=([0-9a-f]+)", received.headers["X-Returns-Signature"]).group(1)
    log = written()
    assert "webhook delivery given up" in log
    _assert_absent(log, [subscription.secret, subscription.secret[6:], signature])


def test_a_failing_gateway_call_leaves_no_gateway_key(order, customer, warehouse, written,
                                                     django_capture_on_commit_callbacks):
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                   lines=[(order.lines.first(), 1)])
    failing = {**settings.REFUNDS, "GATEWAY": f"{__name__}.GatewayThatFailsLoudly", "MAX_ATTEMPTS": 1}
    with override_settings(REFUNDS=failing), django_capture_on_commit_callbacks(execute=True):  # settings last out
        factories.inspect_all(rr, by=warehouse)

    rr.refund.refresh_from_db()
    assert rr.refund.status == "failed" and rr.refund.needs_attention
    log = written()
    assert "refund call failed" in log and "refund needs finance" in log
    _assert_absent(log, [GATEWAY_KEY, GATEWAY_KEY[8:]])


def test_a_worker_logs_through_the_same_handler_and_masks_secrets_too():
    """What a Celery worker does at start (set its logging up), then a record with a gateway key."""
    import os
    import subprocess
    import sys

    script = ("import django, logging; django.setup()\n"
              "from config.celery_app import app\n"
              "app.log.setup_logging_subsystem(loglevel='INFO')\n"
              f"logging.getLogger('refunds.gateways.acme').warning("
              f"'call failed, Authorization: Bearer {GATEWAY_KEY}')\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
                            cwd=settings.BASE_DIR)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "call failed" in result.stderr and '"levelname": "WARNING"' in result.stderr
    assert GATEWAY_KEY not in result.stderr and MASK in result.stderr
