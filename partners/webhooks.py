"""Outbound webhooks at the edge: signing, verifying, checking an endpoint's address, and the
one HTTP call. Everything else (what to send, when to retry) lives in services.

A signature header reads `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
Partners verify it with `verify_signature` (copy it from docs/webhooks.md).
"""

import hashlib
import hmac
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

SIGNATURE_HEADER = "X-Returns-Signature"
EVENT_HEADER = "X-Returns-Event"
DELIVERY_HEADER = "X-Returns-Delivery"
USER_AGENT = "ReturnsPlatform-Webhooks/1.0"
EXCERPT_BYTES = 1024


# --- signatures ---

def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The signature header's value for `body`, sent at `timestamp` (now by default)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify_signature(secret: str, header: str, body: bytes | str, tolerance_seconds: int = 300,
                     *, now: float | None = None) -> bool:
    """True when `header` signs exactly `body` with `secret`, no more than `tolerance_seconds` ago.

    `body` must be the raw request body as received, before any JSON parsing.
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
    expected = _digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


# --- where we may send ---

def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def address_refusal(url: str) -> str | None:
    """Why `url`'s host may not receive webhooks (it resolves to a private, loopback, link-local
    or otherwise non-public address), or None when every address it resolves to is public."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        return "The URL has no host."
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError):
        return f"The host {host!r} does not resolve."
    private = sorted({info[4][0] for info in infos if not _is_public(info[4][0])})
    if private:
        return f"The host {host!r} resolves to a non-public address ({', '.join(private)})."
    return None


# --- the HTTP call (the one thing tests replace by pointing at a local server) ---

@dataclass(frozen=True)
class Answer:
    status_code: int
    excerpt: str


class SendError(Exception):
    """The endpoint could not be reached or did not answer in time."""


def send(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST `body` to `url`. Redirects are not followed (a 3xx is a failed attempt) and only the
    first kilobyte of the answer is read."""
    try:
        with requests.post(url, data=body, headers={"User-Agent": USER_AGENT, **headers}, timeout=timeout,
                           allow_redirects=False, stream=True) as response:
            raw = (response.raw.read(EXCERPT_BYTES, decode_content=True) or b"")[:EXCERPT_BYTES]
            return Answer(status_code=response.status_code, excerpt=raw.decode("utf-8", errors="replace"))
    except requests.Timeout as exc:
        raise SendError(f"Timed out after {timeout:g} s.") from exc
    except requests.RequestException as exc:
        raise SendError(f"{type(exc).__name__}: {exc}"[:500]) from exc
