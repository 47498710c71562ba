"""The staff roles (support agent, supervisor, finance, warehouse) as groups, on a fresh database.

The role table lives in core/roles.py, the one source of truth; this migration builds the groups
from it, and core's post_migrate hook keeps them in step after every later migrate.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

from core.roles import ROLE_PERMISSIONS, ensure_roles


def build_roles(apps, schema_editor):
    # Django creates permissions after the last migration; the groups need them now.
    labels = {dotted.split(".")[0] for codenames in ROLE_PERMISSIONS.values() for dotted in codenames}
    for label in sorted(labels):
        create_permissions(global_apps.get_app_config(label), verbosity=0, apps=apps)
    ensure_roles(apps=apps)


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0002_alter_idempotencyrecord_response_body"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("orders", "0003_orderline_external_id_and_more"),
        ("inventory", "0002_stock_levels_and_movements"),
        ("returns", "0005_review_queue_indexes_and_supervisor_permissions"),
        ("refunds", "0001_initial"),
        ("fraud", "0004_default_rules"),
    ]

    operations = [migrations.RunPython(build_roles, migrations.RunPython.noop)]
