"""Where the benchmark runs: a dedicated database named `bench` and Redis db 14, found before the
settings load so that every process the bench starts (gunicorn, Celery) inherits them.

- BENCH_DATABASE_URL set: used as is (the database is created if missing);
- else DATABASE_URL set: the database `bench` on that server (never DATABASE_URL's own database:
  the bench drops and refills its database);
- else a PostgreSQL on 127.0.0.1:5432 that lets `postgres` in: its database `bench`;
- else the embedded server under var/postgres, database `bench` (see config/settings/bench.py).

Redis at BENCH_REDIS_URL (redis://127.0.0.1:6379/14) when it answers; without it the stages that
need a broker are skipped and say so.
"""

import contextlib
import os
from urllib.parse import urlsplit, urlunsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
# Marks that Redis was found: CELERY_BROKER_URL alone cannot say it (memory:// when it was not).
REDIS_FOUND = "BENCH_REDIS_FOUND"


def prepare_environment() -> None:
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret-" + "x" * 40)
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    candidate = os.environ.get("BENCH_DATABASE_URL") or _beside(os.environ.get("DATABASE_URL")) or DEFAULT_DATABASE_URL
    if create_database(candidate):
        os.environ["DATABASE_URL"] = candidate
    else:
        os.environ.pop("DATABASE_URL", None)
    if REDIS_FOUND not in os.environ:
        redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
        os.environ[REDIS_FOUND] = "1" if redis_answers(redis_url) else ""
        if os.environ[REDIS_FOUND]:
            os.environ.setdefault("CELERY_BROKER_URL", redis_url)
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")


def _beside(url: str | None) -> str | None:
    """The database `bench` on the server of `url`: the bench drops and refills its database, so it
    never runs in the one the application (or the fraud bench) uses."""
    if not url:
        return None
    return urlunsplit(urlsplit(url)._replace(path="/bench"))


def create_database(url: str) -> bool:
    """True when the server of `url` answers; its database is created if it does not exist."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        return False
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    try:
        with psycopg.connect(maintenance, connect_timeout=2, autocommit=True) as conn:
            ensure_database(conn, name)
    except psycopg.OperationalError:
        return False
    return True


def ensure_database(conn, name: str) -> None:
    import psycopg
    from psycopg import sql

    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
        # Another process may create it meanwhile.
        with contextlib.suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2).ping())
    except redis.RedisError:
        return False
