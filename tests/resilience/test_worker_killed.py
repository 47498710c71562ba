"""A real Celery worker process is killed (SIGKILL: no clean-up, no ack) in the middle of the
gateway call. Its lease lapses, beat's sweeper re-drives the refund on a fresh worker with the
same idempotency key, and the customer is paid exactly once."""

import os
import signal

import pytest

from refunds.choices import RefundStatus
from refunds.models import Refund, SandboxRefund
from refunds.selectors import refunds_due_for_sweep
from refunds.tasks import sweep_stuck_refunds
from returns.choices import ReturnStatus
from tests import factories
from tests.resilience.faults import celery_worker, clear_worker_queues, run_sweepers, wait_for, worker_redis_url
from tests.resilience.invariants import assert_nothing_lost

REDIS_URL = worker_redis_url()
LEASE_SECONDS = 2  # the lease the killed worker took: short, so the test need not wait five minutes

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not REDIS_URL, reason="set TEST_REDIS_URL to a Redis server to run worker tests"),
]


@pytest.fixture
def received(order, customer, warehouse):
    clear_worker_queues()
    yield factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                    lines=[(order.lines.first(), 2)])
    clear_worker_queues()


def refund_of(return_request) -> Refund | None:
    return Refund.objects.filter(return_request=return_request).first()


def kill(worker) -> None:
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


def recover_on_a_fresh_worker(refund: Refund) -> None:
    """The lease lapses; beat sends the sweeper to a new worker, which re-drives the refund."""
    wait_for(lambda: refunds_due_for_sweep(pending_stale_seconds=120).filter(pk=refund.pk).exists(),
             timeout=LEASE_SECONDS + 10, what="the dead worker's lease to lapse")
    with celery_worker(REDIS_URL) as worker:
        sweep_stuck_refunds.delay()
        wait_for(lambda: Refund.objects.get(pk=refund.pk).status == RefundStatus.COMPLETED, worker,
                 what="the refund to complete on the fresh worker")


def test_worker_killed_while_the_gateway_has_not_answered(received, warehouse):
    with celery_worker(REDIS_URL, SANDBOX_GATEWAY_LATENCY_MS=8000,
                       REFUNDS_PROCESSING_LEASE_SECONDS=LEASE_SECONDS) as worker:
        factories.inspect_all(received, by=warehouse)
        wait_for(lambda: getattr(refund_of(received), "status", None) == RefundStatus.PROCESSING, worker,
                 what="the worker to claim the refund and call the gateway")
        kill(worker)  # mid-call: the gateway is still thinking

    refund = refund_of(received)
    assert (refund.status, refund.attempts) == (RefundStatus.PROCESSING, 1)
    assert not SandboxRefund.objects.exists() and not refund.gateway_attempts.exists()

    recover_on_a_fresh_worker(refund)
    refund.refresh_from_db()
    assert refund.attempts == 2
    assert SandboxRefund.objects.get().reference == refund.gateway_reference
    assert refund.return_request.status == ReturnStatus.REFUNDED
    run_sweepers()  # and the stock the dead worker never moved is moved
    assert_nothing_lost()


def test_worker_killed_after_the_gateway_paid_but_before_it_heard(received, warehouse):
    with celery_worker(REDIS_URL, REFUNDS_GATEWAY="tests.resilience.gateways.SlowToAnswer",
                       SANDBOX_GATEWAY_LATENCY_MS=8000, REFUNDS_PROCESSING_LEASE_SECONDS=LEASE_SECONDS) as worker:
        factories.inspect_all(received, by=warehouse)
        wait_for(SandboxRefund.objects.exists, worker, what="the gateway to make the refund")
        kill(worker)  # the money went out; the worker never heard

    refund = refund_of(received)
    assert refund.status == RefundStatus.PROCESSING
    paid = SandboxRefund.objects.get()
    assert not refund.gateway_attempts.exists()

    run_sweepers()  # beat's sweeper, here in the test process an hour later
    refund.refresh_from_db()
    assert refund.status == RefundStatus.COMPLETED
    assert SandboxRefund.objects.get() == paid and refund.gateway_reference == paid.reference
    assert refund.gateway_attempts.get().idempotency_key == refund.idempotency_key
    assert_nothing_lost()
