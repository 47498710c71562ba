"""Production: every secret and host from the environment, HTTPS only."""

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, WEBHOOKS, env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# Origins other than our own hosts that may POST forms (e.g. https://shop.example.com).
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Persistent connections, checked before reuse. Behind pgbouncer in transaction mode set
# DB_CONN_MAX_AGE=0 and DB_DISABLE_SERVER_SIDE_CURSORS=true (see docs/operations.md).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("DB_DISABLE_SERVER_SIDE_CURSORS", default=False)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = False
# No task runs for ever (the hourly risk-profile refresh is the longest, about a minute at a million
# orders). A refund payment is cut much shorter: the refund's lease (REFUNDS_PROCESSING_LEASE_SECONDS,
# 300) must outlast it, so that no other worker re-drives a refund whose gateway call is in flight.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=660)
CELERY_TASK_ANNOTATIONS = {"refunds.tasks.process_refund": {"soft_time_limit": 60, "time_limit": 90}}
# Redis hands an unacknowledged message (acks_late) to another worker after this long. Retries wait
# in the worker with a countdown of up to REFUNDS_BACKOFF_MAX_SECONDS (3600), so it must be longer,
# or a waiting retry is delivered twice (harmless, the refund is claimed once, but wasted work).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=7200)}
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True

# Throttle budgets and other cached state are shared by every web process: Redis in production.
CACHES = {"default": env.cache("CACHE_URL", default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis")
                               else "locmemcache://")}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")

# Every worker shares one token bucket per gateway credential.
REFUNDS = {
    **REFUNDS,
    "RATE_LIMIT_REDIS_URL": env(
        "REFUNDS_RATE_LIMIT_REDIS_URL",
        default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "",
    ),
}

# Webhooks go to public https endpoints only, whatever the environment says: the switches that
# let local and test settings use http://127.0.0.1 cannot open the internal network here.
WEBHOOKS = {**WEBHOOKS, "REQUIRE_HTTPS": True, "BLOCK_PRIVATE_ADDRESSES": True}
