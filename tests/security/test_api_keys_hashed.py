"""A partner API key is stored hashed: after it is created and used, no column of any table in
the database holds the key or its secret part, and the key still works."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from partners.models import PartnerAPIKey

pytestmark = pytest.mark.django_db


def _tables_holding(text: str) -> list[str]:
    """Every table.column whose text form contains `text`, across the whole database."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = current_schema()
              AND data_type IN ('character varying', 'text', 'jsonb', 'json', 'character')""")
        columns = cursor.fetchall()
        found = []
        for table, column in columns:
            cursor.execute(f'SELECT 1 FROM "{table}" WHERE "{column}"::text LIKE %s LIMIT 1', [f"%{text}%"])
            if cursor.fetchone():
                found.append(f"{table}.{column}")
    return found


def test_the_database_holds_no_api_key_in_clear(shop):
    out = io.StringIO()
    call_command("create_partner_key", "acme-oms", channel=shop.channel.code, scopes="returns:read,returns:write",
                 stdout=out)
    key = next(word for word in out.getvalue().split() if "." in word and len(word) > 30)
    prefix, secret = key.split(".")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert api.get("/api/v1/returns").status_code == 200
    assert api.post("/api/v1/returns/quote", {"order_id": 0, "lines": []}, format="json",
                    HTTP_IDEMPOTENCY_KEY="hash-test-1").status_code in (400, 404, 422)

    stored = PartnerAPIKey.objects.get(prefix=prefix)
    assert stored.hashed_key and secret not in stored.hashed_key and key not in stored.hashed_key
    assert _tables_holding(secret) == []
    # Only the prefix, which finds the row to check the hash against, is kept in clear (and the
    # key's id, prefix.hash, names the caller of an idempotent request).
    assert set(_tables_holding(prefix)) <= {"partners_partnerapikey.id", "partners_partnerapikey.prefix",
                                            "core_idempotencyrecord.caller"}
