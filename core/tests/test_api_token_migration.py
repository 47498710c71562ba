"""Migration core 0006: the tokens DRF's authtoken kept in clear become digests that still work, and
the clear table goes."""

import importlib
from datetime import UTC, datetime

import pytest
from django.db import connection
from rest_framework.test import APIClient

from core.models import ApiToken

pytestmark = pytest.mark.django_db

migration = importlib.import_module("core.migrations.0006_api_token")
LEGACY_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
ISSUED = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def _tables() -> list[str]:
    return connection.introspection.table_names()


def _copy() -> None:
    with connection.schema_editor() as editor:
        migration.copy_tokens_as_digests(None, editor)


def test_clear_tokens_become_digests_that_still_authenticate(customer, other_customer):
    with connection.cursor() as cursor:  # the table as rest_framework.authtoken's migrations left it
        cursor.execute("""CREATE TABLE authtoken_token (
                            key varchar(40) PRIMARY KEY, created timestamptz NOT NULL,
                            user_id integer NOT NULL UNIQUE REFERENCES auth_user (id))""")
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s), (%s, %s, %s)",
                       [LEGACY_KEY, ISSUED, customer.pk, "f" * 40, ISSUED, other_customer.pk])
        cursor.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('authtoken', '0001_initial', now())")

    _copy()

    stored = ApiToken.objects.get(user=customer)
    assert (stored.digest, stored.prefix, stored.created_at) == (ApiToken.digest_of(LEGACY_KEY), "9944b091", ISSUED)
    assert ApiToken.objects.get(user=other_customer).digest == ApiToken.digest_of("f" * 40)
    assert "authtoken_token" not in _tables()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'authtoken'")
        assert cursor.fetchone() == (0,)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {LEGACY_KEY}")
    assert client.get("/api/v1/returns").status_code == 200


def test_a_database_that_never_had_authtoken_is_left_as_it_is(customer):
    assert "authtoken_token" not in _tables()
    _copy()
    assert not ApiToken.objects.exists()


def test_authtokens_content_type_and_permissions_go_too(customer):
    from django.apps import apps
    from django.contrib.admin.models import ADDITION, LogEntry
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    cleanup = importlib.import_module("core.migrations.0007_remove_authtoken_content_types")
    token_type = ContentType.objects.create(app_label="authtoken", model="token")
    view_token = Permission.objects.create(content_type=token_type, codename="view_token", name="Can view token")
    customer.user_permissions.add(view_token)
    group = Group.objects.create(name="token readers")
    group.permissions.add(view_token)
    LogEntry.objects.create(user=customer, content_type=token_type, object_id="1", object_repr="a token",
                            action_flag=ADDITION)
    kept = ContentType.objects.get_for_model(ApiToken)

    with connection.schema_editor() as editor:
        cleanup.remove_authtoken_content_types(apps, editor)

    assert not ContentType.objects.filter(app_label="authtoken").exists()
    assert not Permission.objects.filter(codename="view_token").exists()
    assert not customer.user_permissions.exists() and not group.permissions.exists()
    assert ContentType.objects.filter(pk=kept.pk).exists()
    customer.refresh_from_db()  # the user stays
    assert LogEntry.objects.get(object_repr="a token").content_type is None
