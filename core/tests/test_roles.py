"""The staff roles: one table (core.roles), built by a data migration on a fresh database."""

import importlib

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from core.roles import ROLE_PERMISSIONS, ensure_roles

pytestmark = pytest.mark.django_db


def _granted(name: str) -> set[str]:
    return {f"{app}.{codename}" for app, codename in
            Group.objects.get(name=name).permissions.values_list("content_type__app_label", "codename")}


def test_the_data_migration_builds_every_role_from_the_table():
    Group.objects.all().delete()
    state = MigrationLoader(connection).project_state(("core", "0003_staff_roles"))
    migration = importlib.import_module("core.migrations.0003_staff_roles")
    migration.build_roles(state.apps, None)
    for name, codenames in ROLE_PERMISSIONS.items():
        missing = set(codenames) - _granted(name)
        # Permissions of models added after this migration come with the post-migrate refresh.
        assert all(not _exists_at(state, dotted) for dotted in missing), (name, missing)


def _exists_at(state, dotted: str) -> bool:
    app_label, codename = dotted.split(".")
    for model in state.apps.get_app_config(app_label).get_models():
        meta = model._meta
        if codename in {f"{action}_{meta.model_name}" for action in meta.default_permissions} | {
                code for code, _ in meta.permissions}:
            return True
    return False


def test_roles_grant_what_the_back_office_relies_on():
    ensure_roles()
    assert {"returns.review_returnrequest"} <= _granted("Support agent")
    assert not {"returns.approve_any_amount", "returns.release_fraud_hold"} & _granted("Support agent")
    assert {"returns.approve_any_amount", "returns.release_fraud_hold", "returns.correct_inspection"} <= \
        _granted("Supervisor")
    assert {"refunds.manage_refund", "refunds.view_journalentry"} <= _granted("Finance")
    assert {"returns.receive_returnrequest", "returns.inspect_returnrequest"} <= _granted("Warehouse")


def test_ensure_roles_is_idempotent():
    ensure_roles()
    ensure_roles()
    assert Group.objects.filter(name__in=ROLE_PERMISSIONS).count() == len(ROLE_PERMISSIONS)
