"""An index for finding a customer by e-mail, whatever its case: order upserts match the buyer by
e-mail (orders.services) and the back-office searches by it, and Django's `email__iexact` compares
UPPER(email). auth_user belongs to django.contrib.auth, so the index is raw SQL here."""

from django.db import migrations

INDEX = "core_auth_user_email_upper"


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0004_customer_profile"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunSQL(
            f'CREATE INDEX IF NOT EXISTS {INDEX} ON auth_user (UPPER("email"::text))',
            f"DROP INDEX IF EXISTS {INDEX}",
        ),
    ]
