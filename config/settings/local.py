"""Running on a laptop: embedded PostgreSQL unless DATABASE_URL is set, Celery eager."""

from config.settings.base import *  # noqa: F403
from config.settings.base import WEBHOOKS, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
WEBHOOKS = {
    **WEBHOOKS,
    "REQUIRE_HTTPS": env.bool("WEBHOOKS_REQUIRE_HTTPS", default=False),
    "BLOCK_PRIVATE_ADDRESSES": env.bool("WEBHOOKS_BLOCK_PRIVATE_ADDRESSES", default=False),
}
