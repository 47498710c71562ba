"""Sending a delivery to a real local endpoint: signed, retried with backoff, given up, never twice."""

import json
import socket
from datetime import timedelta

import pytest
import urllib3.util.connection
from django.conf import settings
from django.db import DatabaseError, transaction
from django.test import override_settings
from django.utils import timezone

from partners.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from partners.services import webhook_event_emit, webhook_subscription_update
from partners.tasks import deliver_webhook, sweep_webhook_deliveries
from partners.verify import verify_signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def emit(shop, django_capture_on_commit_callbacks):
    """Raise one event on the shop's channel and let its deliveries go out."""
    def run(event_type="return.authorized", data=None):
        with django_capture_on_commit_callbacks(execute=True):
            ids = webhook_event_emit(event_type=event_type, channel_id=shop.channel.pk,
                                     data=data or {"rma_number": "RMA-TEST-0001", "status": "authorized"})
        return WebhookDelivery.objects.get(pk=ids[0]) if len(ids) == 1 else WebhookDelivery.objects.filter(pk__in=ids)
    return run


def _attempts(delivery) -> list[tuple[int, int | None, bool]]:
    return [(a.number, a.status_code, a.succeeded) for a in delivery.attempts.order_by("number")]


def test_a_delivery_is_signed_so_the_partner_can_verify_it(endpoint, subscribe, emit):
    subscription = subscribe(["return.authorized"])
    delivery = emit()

    [received] = endpoint.received
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["X-Returns-Event"] == "return.authorized"
    assert received.headers["X-Returns-Delivery"] == str(delivery.pk)
    assert verify_signature(subscription.secret, received.headers["X-Returns-Signature"], received.body)
    assert not verify_signature("whsec_someone-else", received.headers["X-Returns-Signature"], received.body)
    event = json.loads(received.body)
    assert event["id"] == str(delivery.event_id)
    assert event["type"] == "return.authorized"
    assert event["data"] == {"rma_number": "RMA-TEST-0001", "status": "authorized"}
    assert (delivery.status, delivery.attempt_count, delivery.last_status_code) == (DeliveryStatus.SUCCEEDED, 1, 200)
    assert delivery.delivered_at is not None


def test_a_server_error_is_retried_until_the_endpoint_accepts(endpoint, subscribe, emit):
    subscribe(["return.authorized"])
    endpoint.answer_with((500, "database down"), (503, "still down"), (200, "thanks"))
    delivery = emit()

    assert len(endpoint.received) == 3
    assert len({r.headers["X-Returns-Delivery"] for r in endpoint.received}) == 1
    assert _attempts(delivery) == [(1, 500, False), (2, 503, False), (3, 200, True)]
    assert delivery.attempts.get(number=1).response_excerpt == "database down"
    assert delivery.attempts.get(number=1).error == "The endpoint answered 500."
    assert (delivery.status, delivery.attempt_count, delivery.last_error) == (DeliveryStatus.SUCCEEDED, 3, "")


@override_settings(WEBHOOKS={**settings.WEBHOOKS, "MAX_ATTEMPTS": 4})
def test_it_gives_up_after_the_last_attempt(endpoint, subscribe, emit):
    subscribe(["return.authorized"])
    endpoint.answer_with((500, "no"))
    delivery = emit()

    assert len(endpoint.received) == 4
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempt_count == 4
    assert delivery.last_status_code == 500
    assert delivery.next_attempt_at is None
    assert deliver_webhook.delay(delivery.pk).get() == DeliveryStatus.FAILED
    assert len(endpoint.received) == 4


def test_the_default_is_eight_attempts_spaced_exponentially():
    from partners.services import backoff_seconds

    assert settings.WEBHOOKS["MAX_ATTEMPTS"] == 8
    with override_settings(WEBHOOKS={**settings.WEBHOOKS, "BACKOFF_BASE_SECONDS": 30.0}):
        assert 15 <= backoff_seconds(1) <= 45
        assert 30 * 2 ** 6 * 0.5 <= backoff_seconds(7) <= 30 * 2 ** 6 * 1.5


def test_running_the_task_twice_sends_once(endpoint, subscribe, emit):
    subscribe(["return.authorized"])
    delivery = emit()

    assert deliver_webhook.delay(delivery.pk).get() == DeliveryStatus.SUCCEEDED
    deliver_webhook.delay(delivery.pk)
    assert len(endpoint.received) == 1
    assert delivery.attempts.count() == 1


def test_a_delivery_another_worker_holds_is_left_alone(endpoint, subscribe, shop):
    subscribe(["return.authorized"])
    [delivery_id] = webhook_event_emit(event_type="return.authorized", channel_id=shop.channel.pk, data={})
    WebhookDelivery.objects.filter(pk=delivery_id).update(lease_expires_at=timezone.now() + timedelta(minutes=1))

    assert deliver_webhook.delay(delivery_id).get() == DeliveryStatus.PENDING
    assert endpoint.received == []


def test_an_unreachable_endpoint_is_logged_and_retried(subscribe, emit):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    subscribe(["return.authorized"], url=f"http://127.0.0.1:{closed_port}/hooks")
    with override_settings(WEBHOOKS={**settings.WEBHOOKS, "MAX_ATTEMPTS": 2}):
        delivery = emit()

    assert _attempts(delivery) == [(1, None, False), (2, None, False)]
    assert "ConnectionError" in delivery.last_error
    assert delivery.status == DeliveryStatus.FAILED


def test_only_the_first_kilobyte_of_an_answer_is_kept(endpoint, subscribe, emit):
    subscribe(["return.authorized"])
    endpoint.answer_with((200, "é" * 5000))
    delivery = emit()

    assert 0 < len(delivery.last_response_excerpt) <= 1024
    assert delivery.attempts.get().response_excerpt == delivery.last_response_excerpt


def test_a_paused_subscription_receives_nothing_more(endpoint, subscribe, shop, partner_key):
    from partners.tests.conftest import actor_for

    subscription = subscribe(["return.authorized"])
    [delivery_id] = webhook_event_emit(event_type="return.authorized", channel_id=shop.channel.pk, data={})
    webhook_subscription_update(subscription=subscription, by=actor_for(partner_key[0]), active=False)

    assert deliver_webhook.delay(delivery_id).get() == DeliveryStatus.FAILED
    assert endpoint.received == []
    assert not WebhookAttempt.objects.filter(delivery_id=delivery_id).exists()


def test_the_sweeper_sends_what_a_lost_message_left_behind(endpoint, subscribe, shop):
    subscribe(["return.authorized"])
    # Recorded, but the message queued after commit never reached a worker.
    [delivery_id] = webhook_event_emit(event_type="return.authorized", channel_id=shop.channel.pk, data={})
    assert sweep_webhook_deliveries.delay().get() == 0  # not overdue yet

    WebhookDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    assert sweep_webhook_deliveries.delay().get() == 1
    assert len(endpoint.received) == 1
    assert WebhookDelivery.objects.get(pk=delivery_id).status == DeliveryStatus.SUCCEEDED


def test_attempts_are_append_only(endpoint, subscribe, emit):
    subscribe(["return.authorized"])
    attempt = emit().attempts.get()

    with pytest.raises(DatabaseError), transaction.atomic():
        WebhookAttempt.objects.filter(pk=attempt.pk).update(status_code=500)
    with pytest.raises(DatabaseError), transaction.atomic():
        WebhookAttempt.objects.filter(pk=attempt.pk).delete()


@override_settings(WEBHOOKS={**settings.WEBHOOKS, "BLOCK_PRIVATE_ADDRESSES": True})
def test_a_private_address_is_refused_at_send_time_too(endpoint, subscribe, emit):
    with override_settings(WEBHOOKS={**settings.WEBHOOKS, "BLOCK_PRIVATE_ADDRESSES": False}):
        subscribe(["return.authorized"])  # e.g. the name pointed elsewhere when it was subscribed
    with override_settings(WEBHOOKS={**settings.WEBHOOKS, "MAX_ATTEMPTS": 1}):
        delivery = emit()

    assert endpoint.received == []
    assert delivery.status == DeliveryStatus.FAILED
    assert "non-public address" in delivery.attempts.get().error


@pytest.fixture
def rebinding_dns(monkeypatch):
    """`rebind.example.com` answers a public address on its first lookup and 127.0.0.1 after,
    like a DNS server an attacker controls with a zero TTL."""
    real, lookups = socket.getaddrinfo, []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "rebind.example.com":
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        address = "93.184.215.14" if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


@override_settings(WEBHOOKS={**settings.WEBHOOKS, "BLOCK_PRIVATE_ADDRESSES": True, "MAX_ATTEMPTS": 1})
def test_a_name_rebound_to_loopback_after_it_was_checked_is_not_connected_to(endpoint, subscribe, emit,
                                                                             rebinding_dns):
    port = endpoint.url.split(":")[2].split("/")[0]
    subscribe(["return.authorized"], url=f"http://rebind.example.com:{port}/hooks")  # public when checked

    delivery = emit()

    assert endpoint.received == []
    assert delivery.status == DeliveryStatus.FAILED
    assert "non-public address (127.0.0.1)" in delivery.attempts.get().error
    assert len(rebinding_dns) == 2  # one check at subscription, one as the connection opened


@override_settings(WEBHOOKS={**settings.WEBHOOKS, "BLOCK_PRIVATE_ADDRESSES": True, "MAX_ATTEMPTS": 1})
def test_the_address_checked_is_the_address_connected_to(endpoint, subscribe, emit, rebinding_dns, monkeypatch):
    """Were the name resolved once to check it and again to connect, the second answer (loopback)
    would reach the local endpoint. The guarded connection resolves once and dials what it checked."""
    dialled = []

    def create_connection(address, *args, **kwargs):
        dialled.append(address[0])
        raise ConnectionRefusedError("nothing listens there in a test")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    rebinding_dns.append("the subscription's check is not part of this test")
    port = endpoint.url.split(":")[2].split("/")[0]
    with override_settings(WEBHOOKS={**settings.WEBHOOKS, "BLOCK_PRIVATE_ADDRESSES": False}):
        subscribe(["return.authorized"], url=f"http://rebind.example.com:{port}/hooks")
    rebinding_dns.clear()  # the next lookup answers the public address, any later one loopback

    delivery = emit()

    assert dialled == ["93.184.215.14"]
    assert endpoint.received == []
    assert "nothing listens there" in delivery.attempts.get().error
