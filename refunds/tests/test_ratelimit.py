"""The token bucket caps gateway calls per credential; the excess waits in the queue."""

import os

import pytest
from celery.exceptions import Retry
from django.conf import settings
from django.test import override_settings

from refunds.ratelimit import LocalBucket, RedisBucket, _local
from refunds.tasks import process_refund
from tests.celery import queued_not_run

REDIS_URL = os.environ.get("TEST_REDIS_URL", "")


def test_local_bucket_grants_a_burst_then_asks_to_wait():
    bucket = LocalBucket()
    grants = [bucket.take("sandbox", rate=2.0, burst=3) for _ in range(3)]
    assert grants == [0.0, 0.0, 0.0]
    wait = bucket.take("sandbox", rate=2.0, burst=3)
    assert 0.4 < wait <= 0.5
    assert bucket.take("other-credential", rate=2.0, burst=3) == 0.0


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="set TEST_REDIS_URL to a Redis server")
def test_redis_bucket_is_shared_by_every_process():
    import redis

    redis.Redis.from_url(REDIS_URL).delete("ratelimit:sandbox-test")
    first, second = RedisBucket(REDIS_URL), RedisBucket(REDIS_URL)  # two workers, one bucket
    assert [first.take("sandbox-test", 1.0, 2), second.take("sandbox-test", 1.0, 2)] == [0.0, 0.0]
    assert 0.9 < first.take("sandbox-test", 1.0, 2) <= 1.0


@pytest.mark.django_db
def test_a_worker_over_the_rate_puts_the_refund_back_in_the_queue(order):
    tight = {**settings.REFUNDS, "RATE_LIMIT_PER_SECOND": 0.001, "RATE_LIMIT_BURST": 1}
    with override_settings(REFUNDS=tight), queued_not_run():
        _local.take("default", 0.001, 1)  # the only token is gone
        with pytest.raises(Retry) as retry:
            _run_as_worker(123456)
    assert retry.value.when > 100  # seconds to wait in the queue, not in the worker


def _run_as_worker(refund_id):
    """Call the task body the way a worker does (not eager)."""
    process_refund.push_request(is_eager=False, retries=0, id="test", called_directly=False,
                                args=(refund_id,), kwargs={})
    try:
        return process_refund.run(refund_id)
    finally:
        process_refund.pop_request()
