"""`make bench`: the production settings, on plain http at 127.0.0.1, against a dedicated database
named `bench` and Redis db 14 (see benchmarks/environment.py), with the bench-only app and URLs."""

import os

from benchmarks.environment import prepare_environment

prepare_environment()

from config.settings.production import *  # noqa: E402, F403
from config.settings.production import DATABASES, INSTALLED_APPS, REFUNDS, env  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "benchmarks"]
ROOT_URLCONF = "benchmarks.urls"

# Traffic is plain http on the loopback: no TLS redirect, cookies a test client can send back.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# The load generator fires thousands of requests from one address: throttling would measure itself.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"caller": "1000000/min", "login": "1000/min"}}
# collectstatic is not part of a bench run; admin pages are served with plain static storage.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
AXES_ENABLED = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

REFUNDS = {
    **REFUNDS,
    # The gateway's own limit is what stage (b) varies; the token bucket is set out of the way.
    "RATE_LIMIT_PER_SECOND": env.float("REFUNDS_RATE_LIMIT_PER_SECOND", default=100_000.0),
    "RATE_LIMIT_BURST": env.int("REFUNDS_RATE_LIMIT_BURST", default=100_000),
}

if not os.environ.get("DATABASE_URL"):
    # The embedded server: a database of its own, never the demo shop's.
    import psycopg

    from benchmarks.environment import ensure_database

    _db = DATABASES["default"]
    with psycopg.connect(host=_db["HOST"], port=_db["PORT"], user=_db["USER"], dbname="postgres",
                         autocommit=True) as _conn:
        ensure_database(_conn, "bench")
    DATABASES["default"] = {**_db, "NAME": "bench"}
