"""The redaction filter: what it masks in a record, and what it leaves alone."""

import logging
import sys

import pytest

from core.logredact import MASK, RedactSecretsFilter, redact

API_KEY = "AbCd1234.Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp"
WEBHOOK_SECRET = "whsec_3q2-Xv_9Lm0pQrStUvWxYz0123456789AbCdEfGhIj"


@pytest.mark.parametrize(("text", "secret"), [
    (f"Authorization: Api-Key {API_KEY}", API_KEY),
    (f"header Api-Key {API_KEY}", API_KEY),
    ("{'Authorization': 'Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b'}", "9944b09199c62bcf9418ad846dd0e4bb"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "eyJhbGciOiJIUzI1NiJ9"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    (f"key {API_KEY} refused", API_KEY),
    (f"signing with {WEBHOOK_SECRET}", WEBHOOK_SECRET[6:]),
    ("X-Returns-Signature: t=1700000000,v1=" + "ab" * 32, "ab" * 32),
    ("username=alice&password=hunter2-Secret!", "hunter2-Secret!"),
    ('{"username": "alice", "password": "hunter2-Secret"}', "hunter2-Secret"),
    ("GET https://api.gw.example/v1/refunds?api_key=sk_live_51Habc123 401", "sk_live_51Habc123"),
    ("connect to https://gw-user:gw-pass-77@api.gw.example/v1", "gw-pass-77"),
    ("client_secret=cs_9f8e7d6c5b4a", "cs_9f8e7d6c5b4a"),
])
def test_credentials_are_masked_wherever_they_appear(text, secret):
    masked = redact(text)
    assert secret not in masked
    assert MASK in masked


@pytest.mark.parametrize("text", [
    "return requested", "RMA-7KQ2-M4XD refunded 52.00 USD", "refund 77 failed: gateway_timeout",
    "GET /api/v1/returns?page_size=25", "token bucket empty for sandbox",
])
def test_ordinary_lines_are_left_alone(text):
    assert redact(text) == text


def _record(msg, *args, exc_info=None, **extra):
    logger = logging.getLogger("test.redact")
    record = logger.makeRecord(logger.name, logging.WARNING, __file__, 1, msg, args, exc_info, extra=extra)
    assert RedactSecretsFilter().filter(record)
    return record


def test_the_message_its_arguments_and_extra_fields_are_masked():
    record = _record("auth with %s for %s", f"Api-Key {API_KEY}", "alice",
                     password="hunter2", api_key=API_KEY, headers={"Authorization": f"Api-Key {API_KEY}",
                                                                   "Accept": "application/json"},
                     secret=WEBHOOK_SECRET, rma="RMA-AB12-CD34", attempts=3, key_id=12)
    assert API_KEY not in record.getMessage() and record.getMessage().endswith("for alice")
    assert record.password == MASK and record.api_key == MASK and record.secret == MASK
    assert record.headers == {"Authorization": MASK, "Accept": "application/json"}
    assert (record.rma, record.attempts, record.key_id) == ("RMA-AB12-CD34", 3, 12)


def test_an_exception_s_text_is_masked():
    try:
        raise RuntimeError(f"401 for https://api.gw.example/refunds, Authorization: Bearer sk_live_{'x' * 24}")
    except RuntimeError:
        record = _record("gateway call failed", exc_info=sys.exc_info())
    assert record.exc_info is None
    assert "RuntimeError" in record.exc_text and "sk_live_xxxx" not in record.exc_text
    assert logging.Formatter().format(record).count(MASK) >= 1
