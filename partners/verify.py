"""Verify a webhook from the returns platform. Standard library only: partners copy this file
(docs/webhooks.md shows it) into their own code base.

The `X-Returns-Signature` header reads `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
"""

import hashlib
import hmac
import time


def verify_signature(secret: str, header: str, body: bytes | str, tolerance_seconds: int = 300,
                     *, now: float | None = None) -> bool:
    """True when the X-Returns-Signature `header` signs exactly `body` with `secret`, no more than
    `tolerance_seconds` from now (so a captured request cannot be replayed later).

    `body` must be the raw request body as received, before any JSON parsing. The comparison
    takes the same time whatever the signature, so it leaks nothing about the right one.
    """
    if isinstance(body, str):
        body = body.encode()
    timestamp, candidates = None, []
    for part in (header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
