"""The test suite: always PostgreSQL (DATABASE_URL or the embedded server), Celery eager."""

from config.settings.base import *  # noqa: F403
from config.settings.base import REFUNDS

DEBUG = False
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
REFUNDS = {
    **REFUNDS,
    "BACKOFF_BASE_SECONDS": 0.0,
    "BACKOFF_MAX_SECONDS": 0.0,
    "RATE_LIMIT_PER_SECOND": 1000.0,
    "RATE_LIMIT_BURST": 1000,
}
