"""Gateway calls in flight are capped per credential (REFUNDS_GATEWAY_CONCURRENCY): a call waits for
a slot; one that waits too long leaves its claim to lapse and is re-driven with the same key."""

import os
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from refunds.choices import RefundStatus
from refunds.models import Refund, RefundAttempt, SandboxRefund
from refunds.ratelimit import LocalSlots, RedisSlots, gateway_slot
from refunds.reconciliation import reconcile
from refunds.services import refund_process
from refunds.tests.gateways import CountsCallsInFlight
from tests import factories
from tests.celery import queued_not_run
from tests.concurrency import run_at_once

REDIS_URL = os.environ.get("TEST_REDIS_URL", "")


def test_local_slots_grant_the_limit_then_wait_for_a_release():
    slots = LocalSlots()
    held = [slots.acquire("sandbox", 2, timeout=0, ttl=60) for _ in range(2)]
    assert None not in held
    assert slots.acquire("sandbox", 2, timeout=0.05, ttl=60) is None
    assert slots.acquire("other-credential", 2, timeout=0, ttl=60) is not None
    threading.Timer(0.1, slots.release, ("sandbox", held[0])).start()
    started = time.monotonic()
    assert slots.acquire("sandbox", 2, timeout=5, ttl=60) is not None
    assert time.monotonic() - started < 4


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="set TEST_REDIS_URL to a Redis server")
def test_redis_slots_are_shared_by_every_process_and_lapse_with_the_lease():
    import redis

    redis.Redis.from_url(REDIS_URL).delete("slots:sandbox-test")
    first, second = RedisSlots(REDIS_URL), RedisSlots(REDIS_URL)  # two workers, one set of slots
    held = first.acquire("sandbox-test", 1, timeout=0, ttl=0.3)
    assert held is not None and second.acquire("sandbox-test", 1, timeout=0, ttl=0.3) is None
    # A worker killed mid-call never releases: its slot lapses with the lease.
    assert second.acquire("sandbox-test", 1, timeout=2, ttl=60) is not None
    first.release("sandbox-test", held)  # too late: not the holder any more, frees nothing
    assert first.acquire("sandbox-test", 1, timeout=0, ttl=60) is None


def _pending_refunds(shop, customer, warehouse, count):
    ids = []
    for _ in range(count):
        order = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
        rr = factories.received_return(order=order, customer=customer, warehouse=warehouse)
        with queued_not_run():
            factories.inspect_all(rr, by=warehouse)
        ids.append(Refund.objects.get(return_request=rr).pk)
    return ids


@pytest.mark.django_db(transaction=True)
def test_no_more_calls_in_flight_than_slots_and_every_refund_paid_once(shop, customer, warehouse):
    ids = _pending_refunds(shop, customer, warehouse, 6)
    CountsCallsInFlight.reset()
    two_slots = {**settings.REFUNDS, "GATEWAY": "refunds.tests.gateways.CountsCallsInFlight", "GATEWAY_CONCURRENCY": 2,
                 "GATEWAY_OPTIONS": {**settings.REFUNDS["GATEWAY_OPTIONS"], "latency_ms": 150}}
    with override_settings(REFUNDS=two_slots):
        results = run_at_once(len(ids), lambda i: refund_process(refund_id=ids[i]))
    assert [getattr(r, "status", r) for r in results] == [RefundStatus.COMPLETED] * len(ids)
    assert CountsCallsInFlight.most_in_flight == 2
    assert SandboxRefund.objects.count() == RefundAttempt.objects.count() == len(ids)
    assert reconcile().ok


@pytest.mark.django_db
def test_a_call_that_gets_no_slot_in_time_is_redriven_after_its_lease_and_pays_once(shop, customer, warehouse):
    (refund_id,) = _pending_refunds(shop, customer, warehouse, 1)
    one_slot = {**settings.REFUNDS, "GATEWAY_CONCURRENCY": 1, "GATEWAY_SLOT_WAIT_SECONDS": 0.05}
    with override_settings(REFUNDS=one_slot):
        with gateway_slot("sandbox") as granted:  # another worker's call holds the only slot
            assert granted
            assert refund_process(refund_id=refund_id).status == RefundStatus.PROCESSING
        refund = Refund.objects.get(pk=refund_id)
        assert (refund.status, refund.attempts) == (RefundStatus.PROCESSING, 1)
        assert not SandboxRefund.objects.exists() and not RefundAttempt.objects.exists()

        with time_machine.travel(timezone.now() + timedelta(seconds=settings.REFUNDS["PROCESSING_LEASE_SECONDS"] + 1)):
            assert refund_process(refund_id=refund_id).status == RefundStatus.COMPLETED
    refund.refresh_from_db()
    assert refund.attempts == 2 and SandboxRefund.objects.get().idempotency_key == str(refund.idempotency_key)
    assert reconcile().ok

