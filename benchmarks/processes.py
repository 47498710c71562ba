"""The processes a bench run starts — gunicorn and Celery workers — each in its own session so that
it and its children are stopped together, and only they. Logs go to var/bench/."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)
LOG_DIR = ROOT / "var" / "bench"


def database_url() -> str:
    """The database this process uses, as a URL a child can use (the embedded server's socket too)."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    host, port = db["HOST"] or "localhost", db["PORT"] or 5432
    if host.startswith("/"):  # a socket directory: as an option, which django-environ decodes
        return f"postgres://{quote(db['USER'])}{password}@/{db['NAME']}?host={quote(host, safe='')}&port={port}"
    return f"postgres://{quote(db['USER'])}{password}@{host}:{port}/{db['NAME']}"


def child_env(**extra: str) -> dict:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.bench", "DATABASE_URL": database_url(),
            "PYTHONUNBUFFERED": "1", **{k: str(v) for k, v in extra.items()}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Child:
    def __init__(self, name: str, args: list[str], env: dict):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = LOG_DIR / f"{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - open for the child's lifetime
        self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n{self.log_tail()}")

    def kill_hard(self) -> None:
        """SIGKILL the process and its children, as a crash or an OOM kill would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill_hard()
        self._log.close()


def _gunicorn_args(port: int, workers: int) -> list[str]:
    args = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--max-requests", "0"]
    config = ROOT / "config" / "gunicorn.py"
    return [*args[:3], "-c", str(config), *args[3:]] if config.exists() else args


@contextmanager
def gunicorn(*, workers: int):
    """gunicorn serving the bench settings on a free loopback port; yields the base URL."""
    port = free_port()
    metrics_dir = LOG_DIR / "prometheus"
    metrics_dir.mkdir(parents=True, exist_ok=True)
    child = Child("gunicorn", _gunicorn_args(port, workers),
                  child_env(PROMETHEUS_MULTIPROC_DIR=metrics_dir, WEB_CONCURRENCY=workers))
    try:
        _wait_for_http(port, child)
        yield f"http://127.0.0.1:{port}"
    finally:
        child.stop()


def _wait_for_http(port: int, child: Child, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        child.check_alive()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer in {timeout} s:\n{child.log_tail()}")


@contextmanager
def celery_worker(name: str, *, queues: str, pool: str, concurrency: int, **env: str):
    """A Celery worker on `queues`; yields the Child once it is ready to take tasks."""
    args = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues, "--pool", pool,
            "--concurrency", str(concurrency), "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel", "INFO", "-n", f"{name}@%h"]
    child = Child(name, args, child_env(**env))
    try:
        deadline = time.monotonic() + 60
        while " ready." not in child.log_path.read_text(errors="replace"):
            child.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} was not ready in 60 s:\n{child.log_tail()}")
            time.sleep(0.2)
        yield child
    finally:
        child.stop()
