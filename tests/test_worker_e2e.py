"""From request to refunded with a real Celery worker process and Redis as the broker."""

from decimal import Decimal

import pytest

from refunds.models import Refund, SandboxRefund
from refunds.reconciliation import reconcile
from returns import services
from returns.choices import LabelStatus, ReturnStatus
from returns.models import ReturnRequest
from tests import factories
from tests.resilience.faults import celery_worker, clear_worker_queues, wait_for, worker_redis_url

REDIS_URL = worker_redis_url()

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not REDIS_URL, reason="set TEST_REDIS_URL to a Redis server to run the worker test"),
]


@pytest.fixture
def worker():
    clear_worker_queues()
    with celery_worker(REDIS_URL) as worker:
        yield worker
    clear_worker_queues()


def test_request_to_refunded_through_a_real_worker(order, customer, warehouse, worker):
    rr = services.return_request_create(by=customer, order_id=order.pk,
                                        lines=[factories.line_request(order.lines.first(), 2)])
    wait_for(lambda: ReturnRequest.objects.get(pk=rr.pk).label_status == LabelStatus.ISSUED, worker,
             what="the label")
    services.return_mark_in_transit(return_request=rr)
    services.return_receive(return_request=rr, by=warehouse)
    factories.inspect_all(rr, by=warehouse)
    wait_for(lambda: ReturnRequest.objects.get(pk=rr.pk).status == ReturnStatus.REFUNDED, worker,
             what="the refund")

    refund = Refund.objects.get(return_request=rr)
    assert refund.net == Decimal("54.00")
    assert SandboxRefund.objects.get().reference == refund.gateway_reference
    assert reconcile().ok
