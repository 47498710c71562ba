"""Gunicorn settings: `gunicorn -c config/gunicorn.py config.wsgi`.

Everything here can be overridden on the command line or with GUNICORN_CMD_ARGS. With
PROMETHEUS_MULTIPROC_DIR set (it must be in the environment before gunicorn starts, so that every
worker imports prometheus_client in multiprocess mode), each worker writes its metrics to files in
that directory and /metrics sums them; the hooks below keep the directory right.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"
# Tracing starts in each worker (CoreConfig.ready); preloading would start it in the master.
preload_app = False


def on_starting(server):
    """Before any worker: create the metrics directory and drop files of processes that are gone."""
    from config.observability import prepare_multiprocess_dir

    prepare_multiprocess_dir()


def child_exit(server, worker):
    """A worker exited: its live gauges stop counting (its counters and histograms stay summed)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
