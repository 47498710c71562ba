"""The Prometheus metrics after a return's whole life, the review queue read at scrape time, and
multiprocess mode (several gunicorn or Celery processes writing one directory)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from prometheus_client import REGISTRY

from config import observability
from refunds.gateways.sandbox import SandboxGateway
from returns import services
from returns.choices import Condition, ReviewMode
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


class Readings:
    """Sample values now, compared with those when it was made."""

    def __init__(self):
        self.before = {}

    def value(self, name: str, **labels) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    def mark(self, *samples):
        self.before = {sample: self.value(sample[0], **dict(sample[1:])) for sample in samples}
        return self

    def delta(self, name: str, **labels) -> float:
        key = (name, *sorted(labels.items()))
        return self.value(name, **labels) - self.before[key]


def sample(name, **labels):
    return (name, *sorted(labels.items()))


STATUSES = ["requested", "authorized", "in_transit", "received", "inspected", "refund_pending", "refunded"]


def test_a_returns_life_is_counted(order, customer, reviewer, warehouse, django_capture_on_commit_callbacks):
    factories.policy(None, review_mode=ReviewMode.MANUAL)
    readings = Readings().mark(
        *[sample("rma_requests_total", status=status) for status in STATUSES],
        sample("rma_processing_duration_seconds_count"), sample("rma_processing_duration_seconds_bucket", le="60.0"),
        sample("rma_processing_duration_seconds_bucket", le="604800.0"),
        sample("rma_refunds_total", method="original_payment"),
        sample("rma_refund_amount_count", currency="USD"), sample("rma_refund_amount_sum", currency="USD"),
        sample("rma_gateway_latency_seconds_count", gateway="sandbox"),
        sample("rma_fraud_score_count", stage="request"), sample("rma_fraud_score_count", stage="inspection"),
    )
    shirt = order.lines.first()
    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk, lines=[factories.line_request(shirt, 1)])
    with django_capture_on_commit_callbacks(execute=True):
        services.return_approve(return_request=rr, by=reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        services.return_mark_in_transit(return_request=rr)
        services.return_receive(return_request=rr, by=warehouse)
    with django_capture_on_commit_callbacks(execute=True):
        services.return_inspect(return_request=rr, by=warehouse,
                                inspections={rr.lines.get().pk: {"condition": Condition.NEW}})

    for status in STATUSES:
        assert readings.delta("rma_requests_total", status=status) == 1, status
    # Resolved once, well inside the ADR's first bucket (a minute).
    assert readings.delta("rma_processing_duration_seconds_count") == 1
    assert readings.delta("rma_processing_duration_seconds_bucket", le="60.0") == 1
    assert readings.delta("rma_processing_duration_seconds_bucket", le="604800.0") == 1
    assert readings.delta("rma_refunds_total", method="original_payment") == 1
    assert readings.delta("rma_refund_amount_count", currency="USD") == 1
    assert readings.delta("rma_refund_amount_sum", currency="USD") == pytest.approx(27.0)
    assert readings.delta("rma_gateway_latency_seconds_count", gateway="sandbox") == 1
    assert readings.delta("rma_fraud_score_count", stage="request") == 1
    assert readings.delta("rma_fraud_score_count", stage="inspection") == 1


def test_the_adr_buckets():
    family = next(family for family in REGISTRY.collect() if family.name == "rma_processing_duration_seconds")
    buckets = {sample.labels["le"] for sample in family.samples if sample.name.endswith("_bucket")}
    assert buckets == {"60.0", "3600.0", "86400.0", "604800.0", "+Inf"}


def test_nothing_is_counted_for_a_change_that_rolls_back(order, customer):
    readings = Readings().mark(sample("rma_requests_total", status="requested"))
    services.return_request_create(by=customer, order_id=order.pk,
                                   lines=[factories.line_request(order.lines.first(), 1)])
    # The test's transaction never commits.
    assert readings.delta("rma_requests_total", status="requested") == 0


def test_gateway_failures_are_counted(order, customer, warehouse, django_capture_on_commit_callbacks):
    SandboxGateway.script("decline")
    readings = Readings().mark(sample("rma_gateway_failures_total", gateway="sandbox", code="refund_declined"),
                               sample("rma_requests_total", status="refunded"))
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                   lines=[(order.lines.first(), 1)])
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)
    assert readings.delta("rma_gateway_failures_total", gateway="sandbox", code="refund_declined") == 1
    assert readings.delta("rma_requests_total", status="refunded") == 0


def test_metrics_page_shows_the_review_queue_now(client, order, customer, shop):
    factories.policy(None, review_mode=ReviewMode.MANUAL)
    services.return_request_create(by=customer, order_id=order.pk,
                                   lines=[factories.line_request(order.lines.first(), 1)])
    response = client.get("/metrics")
    assert response.status_code == 200
    body = response.content.decode()
    assert "rma_review_queue_size 1.0" in body
    age = next(line for line in body.splitlines() if line.startswith("rma_review_queue_oldest_age_seconds "))
    assert 0 <= float(age.split()[1]) < 60
    assert "django_http_requests_total_by_method_total" in body  # django-prometheus' own are still there


# --- several processes ---

PROCESS = textwrap.dedent("""
    import sys, django
    django.setup()
    from returns.metrics import RMA_REQUESTS
    from refunds.metrics import GATEWAY_LATENCY
    RMA_REQUESTS.labels("requested").inc()
    GATEWAY_LATENCY.labels("sandbox").observe(0.2)
    if sys.argv[1] == "scrape":
        from django.test import RequestFactory
        from core.views import metrics
        print(metrics(RequestFactory().get("/metrics")).content.decode())
""")


def _database_url() -> str:
    db = connection.settings_dict
    host = quote(db["HOST"] or "localhost", safe="")
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def _run(what: str, directory: Path) -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": _database_url(),
           "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    result = subprocess.run([sys.executable, "-c", PROCESS, what], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_in_multiprocess_mode_metrics_add_up_over_processes(tmp_path):
    """Two processes (say two gunicorn workers, or a web worker and a Celery worker) count into the
    one directory; whichever answers /metrics reports the sum, and the review queue once."""
    _run("count", tmp_path)
    page = _run("scrape", tmp_path)
    assert 'rma_requests_total{status="requested"} 2.0' in page
    assert 'rma_gateway_latency_seconds_count{gateway="sandbox"} 2.0' in page
    assert page.count("# TYPE rma_review_queue_size gauge") == 1
    assert any(name.startswith("counter_") for name in os.listdir(tmp_path))


def test_gunicorn_start_clears_the_files_of_processes_that_are_gone(tmp_path, monkeypatch):
    import importlib

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    gunicorn_config = importlib.import_module("config.gunicorn")
    (tmp_path / "metrics").mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone = tmp_path / "metrics" / f"counter_{dead.stdout.strip()}.db"
    alive = tmp_path / "metrics" / f"counter_{os.getpid()}.db"
    gone.write_bytes(b"")
    alive.write_bytes(b"")
    gunicorn_config.on_starting(server=None)
    assert alive.exists() and not gone.exists()
    observability.prepare_multiprocess_dir()  # idempotent
    assert alive.exists()
