"""/healthz says the process is alive; /readyz says whether it can serve: database and broker."""

import pytest

from config.celery_app import app


def test_healthz_needs_nothing_but_the_process(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_when_database_and_broker_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


@pytest.fixture
def broker_down():
    """A broker nobody listens on (port 1 refuses at once)."""
    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    yield
    app.conf.broker_url = previous


@pytest.mark.django_db
def test_readyz_names_the_broker_when_it_is_unreachable(client, broker_down, caplog):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failed": ["broker"],
                               "checks": {"database": "ok", "broker": "unreachable"}}
    assert "127.0.0.1" not in response.content.decode()  # addresses go to the log only
    (record,) = [r for r in caplog.records if r.getMessage() == "not ready"]
    assert "broker" in record.errors


@pytest.mark.django_db
def test_readyz_names_the_database_when_it_fails(client, monkeypatch):
    from django.db import OperationalError

    from core import views

    class Unreachable:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(views, "connection", Unreachable())
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["failed"] == ["database"]
