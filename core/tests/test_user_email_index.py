"""Customers are found by e-mail, in any case, through an index rather than a scan of every user."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection


@pytest.mark.django_db
def test_a_case_insensitive_email_lookup_uses_the_index():
    users = get_user_model()
    users.objects.bulk_create([users(username=f"u{n}", email=f"u{n}@example.com") for n in range(200)])
    query = users.objects.filter(email__iexact="U7@Example.com")

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "core_auth_user_email_upper" in plan, plan
    assert list(query.values_list("username", flat=True)) == ["u7"]
