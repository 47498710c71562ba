"""Operational endpoints: /readyz (may this process take traffic?) and /metrics (Prometheus)."""

import logging
import os

import prometheus_client
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import multiprocess

logger = logging.getLogger(__name__)


def _database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"{type(exc).__name__}: {exc}".strip()[:200]
    return None


def _broker() -> str | None:
    from config.celery_app import app

    timeout = settings.READYZ_TIMEOUT_SECONDS
    try:
        with app.connection_for_write(connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
    except Exception as exc:  # whatever the transport raises, the broker is not reachable
        return f"{type(exc).__name__}: {exc}".strip()[:200]
    return None


@require_GET
def readyz(request):
    """200 when the database and the broker answer, else 503 naming the one that did not."""
    errors = {"database": _database(), "broker": _broker()}
    failed = sorted(name for name, error in errors.items() if error)
    checks = {name: "unreachable" if error else "ok" for name, error in errors.items()}
    if failed:
        # The errors name hosts and ports: they go to the log, not to whoever asks.
        logger.warning("not ready", extra={"failed": failed, "errors": {name: errors[name] for name in failed}})
        return JsonResponse({"status": "unavailable", "failed": failed, "checks": checks}, status=503)
    return JsonResponse({"status": "ok", "checks": checks})


@require_GET
def metrics(request):
    """Every process's metrics in multiprocess mode (gunicorn workers and Celery workers write to
    PROMETHEUS_MULTIPROC_DIR), this process's otherwise; with the review queue read now."""
    from returns.metrics import REVIEW_QUEUE

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(REVIEW_QUEUE)
    else:
        registry = prometheus_client.REGISTRY  # REVIEW_QUEUE is registered on it (ReturnsConfig.ready)
    return HttpResponse(prometheus_client.generate_latest(registry), content_type=prometheus_client.CONTENT_TYPE_LATEST)
