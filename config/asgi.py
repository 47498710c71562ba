import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
# Tracing, metrics and logging are set up by CoreConfig.ready() (config/observability.py).
application = get_asgi_application()
