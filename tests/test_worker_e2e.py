"""From request to refunded with a real Celery worker process and Redis as the broker."""

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from config.celery_app import app
from refunds.models import Refund, SandboxRefund
from refunds.reconciliation import reconcile
from returns import services
from returns.choices import LabelStatus, ReturnStatus
from returns.models import ReturnRequest
from tests import factories
from tests.celery import reset_broker_connections

REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not REDIS_URL, reason="set TEST_REDIS_URL to a Redis server to run the worker test"),
]


def _database_url() -> str:
    db = connection.settings_dict
    host = quote(db["HOST"] or "localhost", safe="")
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def celery_worker():
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": _database_url(),
           "TEST_CELERY_BROKER_URL": REDIS_URL, "CELERY_TASK_ALWAYS_EAGER": "false"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1",
         "-Q", "default,refunds,notifications", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    previous = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = REDIS_URL, False
    reset_broker_connections()
    try:
        yield worker
    finally:
        app.conf.broker_url, app.conf.task_always_eager = previous
        reset_broker_connections()
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def _wait_for(predicate, worker, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if worker.poll() is not None:
            pytest.fail(f"worker exited early:\n{worker.stdout.read()}")
        time.sleep(0.2)
    worker.terminate()
    pytest.fail(f"timed out; worker output:\n{worker.communicate(timeout=20)[0]}")


def test_request_to_refunded_through_a_real_worker(order, customer, warehouse):
    with celery_worker() as worker:
        rr = services.return_request_create(by=customer, order_id=order.pk,
                                            lines=[factories.line_request(order.lines.first(), 2)])
        _wait_for(lambda: ReturnRequest.objects.get(pk=rr.pk).label_status == LabelStatus.ISSUED, worker)
        services.return_mark_in_transit(return_request=rr)
        services.return_receive(return_request=rr, by=warehouse)
        factories.inspect_all(rr, by=warehouse)
        _wait_for(lambda: ReturnRequest.objects.get(pk=rr.pk).status == ReturnStatus.REFUNDED, worker)

    refund = Refund.objects.get(return_request=rr)
    assert refund.net == Decimal("54.00")
    assert SandboxRefund.objects.get().reference == refund.gateway_reference
    assert reconcile().ok
