"""Customer API tokens move from Django REST framework's authtoken table, which held them in clear,
to core_apitoken, which keeps only their SHA-256 digest. Every existing token goes on working (same
`Authorization: Token <token>` header); the clear table is then dropped, and authtoken's migration
records with it, since rest_framework.authtoken is no longer installed."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


LEGACY_TABLE = "authtoken_token"


def copy_tokens_as_digests(apps, schema_editor) -> None:
    """Each clear token becomes a digest row of the same user, created when it was; then the clear copy
    goes. Nothing to do on a database that never had rest_framework.authtoken."""
    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO core_apitoken (user_id, digest, prefix, name, created_at)
            SELECT user_id, encode(sha256(convert_to(key, 'UTF8')), 'hex'), left(key, 8),
                   'Issued before tokens were hashed', created
              FROM {LEGACY_TABLE}
            ON CONFLICT (digest) DO NOTHING""")
        cursor.execute(f"DROP TABLE {LEGACY_TABLE}")
        cursor.execute("DELETE FROM django_migrations WHERE app = 'authtoken'")


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0005_user_email_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('digest', models.CharField(editable=False, help_text='Hex SHA-256 of the token; the token itself is never stored.', max_length=64, unique=True)),
                ('prefix', models.CharField(editable=False, help_text="The token's first characters, to recognise it.", max_length=8)),
                ('name', models.CharField(blank=True, max_length=100)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('last_used_at', models.DateTimeField(blank=True, editable=False, help_text='To the minute: updated at most once a minute.', null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'API token',
                'permissions': [('revoke_apitoken', "Can revoke a customer's API token")],
            },
        ),
        # The clear tokens cannot be brought back: going back leaves customers to ask for new ones.
        migrations.RunPython(copy_tokens_as_digests, migrations.RunPython.noop),
    ]
