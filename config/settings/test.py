"""The test suite: always PostgreSQL (DATABASE_URL or the embedded server), Celery eager."""

from config.settings.base import *  # noqa: F403
from config.settings.base import REFUNDS, WEBHOOKS, env

DEBUG = False
# A real worker started by the end-to-end test runs these settings with a broker and no eager mode.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_BROKER_URL = env("TEST_CELERY_BROKER_URL", default="memory://")
# Such a worker's keys start with its test run's prefix (tests/resilience/faults.py).
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": env("TEST_CELERY_KEY_PREFIX", default="")}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
REFUNDS = {
    **REFUNDS,
    "BACKOFF_BASE_SECONDS": 0.0,
    "BACKOFF_MAX_SECONDS": 0.0,
    "RATE_LIMIT_PER_SECOND": 1000.0,
    "RATE_LIMIT_BURST": 1000,
}
WEBHOOKS = {**WEBHOOKS, "BACKOFF_BASE_SECONDS": 0.0, "REQUIRE_HTTPS": False, "BLOCK_PRIVATE_ADDRESSES": False}
