"""Partner API keys and customers' API tokens are stored hashed: after one is created and used, no
column of any table in the database holds it or its secret part, and it still works."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from core.models import ApiToken
from partners.models import PartnerAPIKey
from tests import factories

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


def test_the_database_holds_no_customer_token_in_clear(shop, customer):
    order = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
    issued = APIClient().post("/api/v1/auth/token", {"username": "alice", "password": factories.PASSWORD},
                              format="json", HTTP_IDEMPOTENCY_KEY="token-hash-1")
    assert issued.status_code == 200
    token = issued.json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/returns").status_code == 200
    line = order.lines.get()
    assert api.post("/api/v1/returns/quote", {"order_id": order.pk, "lines": [
        {"order_line_id": line.pk, "quantity": 1, "reason": "wrong_size"}]}, format="json",
        HTTP_IDEMPOTENCY_KEY="token-hash-2").status_code == 200

    prefix, secret = token[:ApiToken.PREFIX_LENGTH], token[ApiToken.PREFIX_LENGTH:]
    assert ApiToken.objects.get(user=customer).digest == ApiToken.digest_of(token)
    assert _tables_holding(secret) == []
    # Only the prefix, to tell a customer's tokens apart, is kept in clear.
    assert set(_tables_holding(prefix)) <= {"core_apitoken.prefix"}
