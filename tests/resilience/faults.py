"""Ways to break things on purpose: kill a database session, take the broker away, move the
clock, start and kill real worker processes."""

import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import psycopg
import time_machine
from django.db import connection
from django.test import TestCase
from django.utils import timezone

from config.celery_app import app
from tests.celery import reset_broker_connections

ROOT = Path(__file__).resolve().parents[2]
CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every publish is refused


# Two test runs on one machine (CI beside a local run, two checkouts) share the Redis server: every key
# a worker test's broker writes starts with this run's own prefix (kombu's global_keyprefix), so one
# run never reads, nor clears, another's queues.
BROKER_KEY_PREFIX = f"test-{uuid.uuid4().hex[:12]}:"
WORKER_QUEUES = ("default", "refunds", "notifications")


def worker_redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", "")


def clear_worker_queues() -> None:
    """Drop whatever this run's earlier worker tests left on the broker (nobody else's)."""
    import redis

    client = redis.Redis.from_url(worker_redis_url())
    keys = list(client.scan_iter(match=f"{BROKER_KEY_PREFIX}*", count=1000))
    if keys:
        client.delete(*keys)


# --- the database ---

def raw_connection() -> psycopg.Connection:
    """A second session on the test database, outside Django: to hold locks and kill sessions."""
    db = connection.settings_dict
    return psycopg.connect(host=db["HOST"] or "localhost", port=db["PORT"] or 5432, user=db["USER"],
                           password=db["PASSWORD"] or None, dbname=db["NAME"], autocommit=True)


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def terminate(pid: int) -> None:
    """Drop a session the way a failover or a network cut does, and wait until it is gone."""
    with raw_connection() as killer:
        killed = killer.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchone()[0]
    assert killed, f"session {pid} was not terminated"


def database_url() -> str:
    db = connection.settings_dict
    host = quote(db["HOST"] or "localhost", safe="")
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


class Blocked:
    """`call` run on its own thread and session; `pid` is that session."""

    def __init__(self, call):
        self.call, self.pid, self.result, self.error = call, None, None, None
        self._started = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            self.pid = backend_pid()
            self._started.set()
            self.result = self.call()
        except BaseException as exc:  # the test inspects what the request got
            self.error = exc
        finally:
            self._started.set()
            connection.close()

    def start(self) -> "Blocked":
        self.thread.start()
        self._started.wait(30)
        return self

    def wait_until_waiting_for_a_lock(self, observer: psycopg.Connection, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = observer.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                                   [self.pid]).fetchone()
            if row and row[0] == "Lock":
                return
            if not self.thread.is_alive():
                raise AssertionError(f"the request finished instead of waiting: {self.error!r}")
            time.sleep(0.02)
        raise AssertionError("the request never waited for the lock")

    def has_written_to(self, observer: psycopg.Connection, table: str) -> bool:
        """Whether the session holds a write lock on `table`: it has inserted or updated rows there."""
        return observer.execute(
            "SELECT exists(SELECT 1 FROM pg_locks WHERE pid = %s AND relation = %s::regclass "
            "AND mode = 'RowExclusiveLock')", [self.pid, table]).fetchone()[0]

    def join(self) -> "Blocked":
        self.thread.join(60)
        assert not self.thread.is_alive()
        return self


@contextmanager
def row_locked(table: str, pk: int):
    """Another session holds the row: whoever wants to change it waits at that point."""
    holder = raw_connection()
    holder.autocommit = False
    holder.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [pk])
    try:
        yield holder
    finally:
        holder.rollback()
        holder.close()


# --- the broker ---

@contextmanager
def broker(url: str):
    """Tasks go to `url` (under this run's key prefix) instead of running eagerly."""
    previous = (app.conf.broker_url, app.conf.task_always_eager, app.conf.broker_transport_options)
    app.conf.broker_url, app.conf.task_always_eager = url, False
    app.conf.broker_transport_options = {**previous[2], "global_keyprefix": BROKER_KEY_PREFIX}
    reset_broker_connections()
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.task_always_eager, app.conf.broker_transport_options = previous
        reset_broker_connections()


def broker_down():
    return broker(CLOSED_PORT_BROKER)


# --- the clock ---

def later(**delta):
    """Run the block as if `delta` had passed (the clock keeps ticking from there)."""
    return time_machine.travel(timezone.now() + timedelta(**delta), tick=True)


def run_sweepers(rounds: int = 4) -> int:
    """What beat does every few minutes: re-drive labels, inbound events, stock moves and refunds.
    Each round runs an hour later than the last; returns how much was re-driven."""
    from inventory.tasks import sweep_stock_dispositions
    from refunds.tasks import sweep_stuck_refunds
    from returns.tasks import sweep_inbound_events, sweep_pending_labels

    total = 0
    for round_ in range(1, rounds + 1):
        # Inside a test's transaction, what the tasks queue on commit is run as a commit would.
        with later(hours=round_), TestCase.captureOnCommitCallbacks(execute=True):
            done = (sweep_pending_labels() + sweep_inbound_events() + sweep_stock_dispositions()
                    + sweep_stuck_refunds())
        total += done
        if not done:
            break
    return total


# --- real workers ---

@contextmanager
def celery_worker(redis_url: str, **env):
    """A real worker process on `redis_url`, against the test database; `env` overrides settings.
    Tasks the test queues go to it."""
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": database_url(),
                "TEST_CELERY_BROKER_URL": redis_url, "TEST_CELERY_KEY_PREFIX": BROKER_KEY_PREFIX,
                "CELERY_TASK_ALWAYS_EAGER": "false",
                **{key: str(value) for key, value in env.items()}}
    with tempfile.TemporaryFile(mode="w+") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1",
             "-Q", "default,refunds,notifications", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--loglevel=INFO"],
            cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, text=True)
        worker.log = log
        try:
            with broker(redis_url):
                yield worker
        finally:
            if worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()


def worker_output(worker) -> str:
    worker.log.seek(0)
    return worker.log.read()


def wait_for(predicate, worker=None, timeout: float = 120.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if worker is not None and worker.poll() is not None:
            raise AssertionError(f"the worker exited while waiting for {what}:\n{worker_output(worker)}")
        time.sleep(0.05)
    output = worker_output(worker) if worker is not None else ""
    raise AssertionError(f"timed out waiting for {what}\n{_where_things_are()}\n{output}")


def _where_things_are() -> str:
    """What a timed-out wait saw: each refund's state and the messages left in the worker's queues
    (a message nobody took points at the broker, a claimed refund at the worker)."""
    from refunds.models import Refund

    refunds = list(Refund.objects.values_list("pk", "status", "attempts"))
    url = worker_redis_url()
    if not url:
        return f"refunds (id, status, attempts): {refunds}"
    import redis

    client = redis.Redis.from_url(url)
    queues = {name: client.llen(BROKER_KEY_PREFIX + name) for name in WORKER_QUEUES}
    return f"refunds (id, status, attempts): {refunds}; messages waiting in {url} ({BROKER_KEY_PREFIX}): {queues}"
