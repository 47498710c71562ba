"""Traces, metrics and logs, set up once per process from the environment.

`configure()` runs from `CoreConfig.ready()`, so every process that sets Django up gets it exactly
once: gunicorn and uvicorn workers (wsgi/asgi), `manage.py runserver` and other commands, and
Celery workers and beat (Celery's Django fix-up sets Django up in the worker).

Tracing
    A TracerProvider is always installed, so spans, trace ids in logs and the trace context stored
    on orders and returns work everywhere. Spans leave the process only when an exporter is
    configured: `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) sends them
    over OTLP/HTTP in the background; `OTEL_TRACES_EXPORTER=console` prints them. With neither,
    nothing is sent anywhere. The usual OTEL_* variables apply (service name, resource
    attributes, headers, sampler, OTEL_SDK_DISABLED).
    Django and Celery are always instrumented (they carry the context across requests and into
    tasks); psycopg only when spans are exported, since a span per query costs time on every
    query and nobody would see them otherwise (`OTEL_INSTRUMENT_PSYCOPG=true|false` overrides).

Metrics
    prometheus_client's multiprocess mode is on when `PROMETHEUS_MULTIPROC_DIR` is set (it must be
    set before Python starts). Gunicorn's hooks are in config/gunicorn.py; Celery worker processes
    write to the same directory and are marked dead here when they exit, so the web's /metrics
    serves the sum over every process of the host. See docs/observability.md.
"""

import contextlib
import logging
import os
import threading

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_provider = None
_exporter = None

DEFAULT_SERVICE_NAME = "returns-platform"
EXCLUDED_URLS = "healthz,readyz,metrics,static/"


def _flag(name: str) -> bool | None:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return None
    return value in ("1", "true", "yes", "on")


def exporting() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
                or os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "console")


def configure():
    """Install the tracer provider and instrumentation; later calls return the same provider."""
    global _provider
    with _lock:
        if _provider is None:
            _provider = _tracer_provider()
            _instrument()
            _connect_celery_signals()
    return _provider


def tracer_provider():
    return configure()


def span_exporter():
    """Where spans go: the exporter configured from the environment, or None."""
    configure()
    return _exporter


def _tracer_provider():
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    global _exporter
    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME})
    provider = TracerProvider(resource=resource)
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        _exporter = OTLPSpanExporter()
    elif os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "console":
        _exporter = ConsoleSpanExporter()
    if _exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(_exporter))
    trace.set_tracer_provider(provider)
    return provider


def _instrument() -> None:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    DjangoInstrumentor().instrument(
        excluded_urls=os.environ.get("OTEL_PYTHON_DJANGO_EXCLUDED_URLS") or EXCLUDED_URLS)
    CeleryInstrumentor().instrument()
    psycopg = _flag("OTEL_INSTRUMENT_PSYCOPG")
    if psycopg or (psycopg is None and exporting()):
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

        PsycopgInstrumentor().instrument(enable_commenter=False)


def _connect_celery_signals() -> None:
    from celery import signals

    from core import logcontext

    signals.task_prerun.connect(logcontext.task_started, weak=False, dispatch_uid="logcontext_task_started")
    signals.task_postrun.connect(logcontext.task_finished, weak=False, dispatch_uid="logcontext_task_finished")
    signals.worker_process_shutdown.connect(_worker_process_exited, weak=False,
                                            dispatch_uid="prometheus_worker_process_exited")
    signals.worker_init.connect(_worker_starting, weak=False, dispatch_uid="prometheus_worker_starting")


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def _worker_process_exited(pid=None, **kwargs) -> None:
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


def _worker_starting(**kwargs) -> None:
    # Only gunicorn's start clears the directory (config/gunicorn.py): a worker starting while the
    # web processes run must not take their files away.
    path = multiprocess_dir()
    if path:
        os.makedirs(path, exist_ok=True)


def prepare_multiprocess_dir() -> None:
    """Create the metrics directory, and remove the files of processes that are gone (their live
    gauges no longer count; their counters restart, which Prometheus' rate() expects)."""
    path = multiprocess_dir()
    if not path:
        return
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        pid = name.rsplit("_", 1)[-1].removesuffix(".db")
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(path, name))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
