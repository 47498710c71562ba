"""The production settings pass Django's deployment checklist with a plausible environment."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "k3Jx9-Vq2pLr7sT0wYz4Nb8Mc6Hd1Fg5Ej-Ua2Io9Pk7Ql3Rm0Sn4Tv8Wx6Yz1Ab5Cd",
    "DJANGO_ALLOWED_HOSTS": "returns.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://returns.example.com",
    # Nothing connects during the checks; the URLs only have to be well formed.
    "DATABASE_URL": "postgres://returns:secret@db.internal:5432/returns",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "CACHE_URL": "redis://redis.internal:6379/1",
}


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "CACHE_"))}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stderr and "security.W" not in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def _healthcheck(url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HEALTHCHECK_URL": url, "DJANGO_ALLOWED_HOSTS": "localhost,returns.example.com"}
    return subprocess.run([sys.executable, "-m", "config.healthcheck"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=30)


@pytest.mark.django_db
def test_the_container_healthcheck_passes_while_the_site_answers(live_server):
    assert _healthcheck(f"{live_server.url}/healthz").returncode == 0


def test_the_container_healthcheck_fails_when_nothing_answers():
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = _healthcheck(f"http://127.0.0.1:{port}/healthz")
    assert result.returncode == 1 and "unhealthy" in result.stderr


def test_production_sends_webhooks_only_to_public_https_endpoints_even_if_told_otherwise():
    env = {**PRODUCTION_ENV, "WEBHOOKS_REQUIRE_HTTPS": "false", "WEBHOOKS_BLOCK_PRIVATE_ADDRESSES": "false"}
    result = _manage("shell", "-c", "from django.conf import settings; w = settings.WEBHOOKS; "
                     "print(w['REQUIRE_HTTPS'], w['BLOCK_PRIVATE_ADDRESSES'])", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["True", "True"]
