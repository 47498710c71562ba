"""The sweeper re-drives a bounded batch per run, longest waiting first, so that a spike of refunds
still queued is not multiplied every minute; the rest follow on the next runs. While the refunds
queue has a backlog, pending refunds are left to the messages they most likely still have."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from refunds.choices import RefundStatus
from refunds.models import Refund
from refunds.tasks import sweep_stuck_refunds
from tests import factories
from tests.resilience.faults import broker_down, worker_redis_url

pytestmark = pytest.mark.django_db


def test_the_sweeper_redrives_a_batch_at_a_time_oldest_first(shop, customer, warehouse):
    waited = []
    for minutes_ago in (30, 20, 10):
        order = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
        rr = factories.received_return(order=order, customer=customer, warehouse=warehouse)
        with time_machine.travel(timezone.now() - timedelta(minutes=minutes_ago)):
            factories.inspect_all(rr, by=warehouse)  # on_commit never runs here: every message is "lost"
        waited.append(Refund.objects.get(return_request=rr).pk)

    with override_settings(REFUNDS={**settings.REFUNDS, "SWEEP_BATCH": 2}):
        assert sweep_stuck_refunds() == 2
        statuses = dict(Refund.objects.values_list("pk", "status"))
        assert [statuses[pk] for pk in waited] == [RefundStatus.COMPLETED, RefundStatus.COMPLETED,
                                                  RefundStatus.PENDING]
        assert sweep_stuck_refunds() == 1
    assert set(Refund.objects.values_list("status", flat=True)) == {RefundStatus.COMPLETED}


def _lost_refund(shop, customer, warehouse, *, minutes_ago: int) -> Refund:
    order = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse)
    with time_machine.travel(timezone.now() - timedelta(minutes=minutes_ago)):
        factories.inspect_all(rr, by=warehouse)  # on_commit never runs here: its message is "lost"
    return Refund.objects.get(return_request=rr)


def test_in_a_backlog_pending_refunds_are_left_to_their_messages(shop, customer, warehouse, monkeypatch):
    """A spike: thousands of messages queued. A pending refund is most likely one of them, and a second
    message would wait behind the first; a lapsed lease is re-driven all the same."""
    queued = _lost_refund(shop, customer, warehouse, minutes_ago=30)
    forgotten = _lost_refund(shop, customer, warehouse, minutes_ago=90)  # waited past the backlog limit
    dead_worker = _lost_refund(shop, customer, warehouse, minutes_ago=30)
    Refund.objects.filter(pk=dead_worker.pk).update(status=RefundStatus.PROCESSING, attempts=1,
                                                    lease_expires_at=timezone.now() - timedelta(minutes=1))
    monkeypatch.setattr("refunds.tasks.refunds_queue_backlog", lambda: 5000)
    assert sweep_stuck_refunds() == 2
    statuses = dict(Refund.objects.values_list("pk", "status"))
    assert (statuses[queued.pk], statuses[forgotten.pk], statuses[dead_worker.pk]) == (
        RefundStatus.PENDING, RefundStatus.COMPLETED, RefundStatus.COMPLETED)

    monkeypatch.setattr("refunds.tasks.refunds_queue_backlog", lambda: 12)  # the backlog is worked down
    assert sweep_stuck_refunds() == 1
    assert Refund.objects.get(pk=queued.pk).status == RefundStatus.COMPLETED


@pytest.mark.redis
@pytest.mark.skipif(not worker_redis_url(), reason="set TEST_REDIS_URL to a Redis server")
def test_the_backlog_is_what_waits_on_the_refunds_queue():
    """Counted on a real broker, on a queue of this test's own (kombu's passive declare does not see
    a queue under a key prefix, so this one has none)."""
    import uuid

    import redis

    from config.celery_app import app
    from refunds.tasks import process_refund, refunds_queue_backlog
    from tests.celery import reset_broker_connections

    queue = f"refunds-{uuid.uuid4().hex[:12]}"
    previous = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = worker_redis_url(), False
    reset_broker_connections()
    try:
        with override_settings(CELERY_TASK_ROUTES={"refunds.tasks.*": {"queue": queue}}):
            assert refunds_queue_backlog() is None  # no such queue yet: the broker cannot say
            for refund_id in (1, 2, 3):
                process_refund.apply_async((refund_id,), {"gateway": "sandbox"}, queue=queue)
            assert refunds_queue_backlog() == 3
        with broker_down():
            assert refunds_queue_backlog() is None  # a broker that is down is not waited for
    finally:
        app.conf.broker_url, app.conf.task_always_eager = previous
        reset_broker_connections()
        client = redis.Redis.from_url(worker_redis_url())
        for key in client.scan_iter(match=f"*{queue}*"):
            client.delete(key)
