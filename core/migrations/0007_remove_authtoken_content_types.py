"""rest_framework.authtoken left its content type and permissions behind (0006 dropped its table):
they named a model that no longer exists, and showed in the admin's permission lists. Deleting the
content type takes its permissions with it (and their grants to users and groups); admin log entries
about tokens keep their text."""

from django.db import migrations

LEGACY_APP = "authtoken"


def remove_authtoken_content_types(apps, schema_editor) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(app_label=LEGACY_APP).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0006_api_token"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [
        migrations.RunPython(remove_authtoken_content_types, migrations.RunPython.noop),
    ]
