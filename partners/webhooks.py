"""Outbound webhooks at the edge: signing, verifying, checking an endpoint's address, and the
one HTTP call. Everything else (what to send, when to retry) lives in services.

A signature header reads `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
Partners verify it with `partners.verify.verify_signature`, a standard-library file they copy
(docs/webhooks.md shows it).
"""

import hashlib
import hmac
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import requests.adapters
import urllib3
import urllib3.connection
import urllib3.exceptions
import urllib3.util.connection

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


# --- where we may send ---

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _is_public(address: str) -> bool:
    """A globally routable unicast address, looking through IPv6 forms that carry an IPv4 one
    (mapped, 6to4, Teredo, NAT64) so that 127.0.0.1 cannot come in disguised as IPv6."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not _is_public(str(embedded)):
            return False
        if ip.ipv4_mapped:
            ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


class AddressRefused(OSError):
    """The host resolves to an address webhooks may not be sent to."""


def resolve(host: str, port: int) -> list[tuple]:
    """Every (family, type, proto, canonname, sockaddr) the host resolves to, as the socket
    module answers. Decimal, hex and octal spellings of an IPv4 address come out as the address."""
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)


def _refusal_of(host: str, infos) -> str | None:
    private = sorted({info[4][0] for info in infos if not _is_public(info[4][0])})
    if private:
        return f"The host {host!r} resolves to a non-public address ({', '.join(private)})."
    if not infos:
        return f"The host {host!r} does not resolve."
    return None


def address_refusal(url: str) -> str | None:
    """Why `url`'s host may not receive webhooks (it resolves to a private, loopback, link-local
    or otherwise non-public address), or None when every address it resolves to is public."""
    parts = urlsplit(url)
    try:
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "The URL's host or port is malformed."
    if not host:
        return "The URL has no host."
    try:
        infos = resolve(host, port)
    except (OSError, UnicodeError):
        return f"The host {host!r} does not resolve."
    return _refusal_of(host, infos)


class _PublicOnlyConnectionMixin:
    """Resolves the host when the connection is opened, refuses it unless every address is public,
    and connects to an address it checked. A name that resolved to a public address when it was
    subscribed and to 127.0.0.1 now (DNS rebinding) is refused, and there is no second lookup
    between the check and the connection. TLS still verifies the certificate against the name."""

    def _new_conn(self):
        host = self._dns_host
        try:
            infos = resolve(host, self.port)
        except (OSError, UnicodeError) as exc:
            raise AddressRefused(f"The host {host!r} does not resolve.") from exc
        refusal = _refusal_of(host, infos)
        if refusal:
            raise AddressRefused(refusal)
        error = None
        for *_, sockaddr in infos:
            try:
                return urllib3.util.connection.create_connection(
                    (sockaddr[0], self.port), self.timeout, source_address=self.source_address,
                    socket_options=self.socket_options)
            except TimeoutError as exc:
                raise urllib3.exceptions.ConnectTimeoutError(
                    self, f"Connection to {host} timed out. (connect timeout={self.timeout})") from exc
            except OSError as exc:
                error = exc
        raise urllib3.exceptions.NewConnectionError(self, f"Failed to establish a new connection: {error}")


class _PublicOnlyHTTPConnection(_PublicOnlyConnectionMixin, urllib3.connection.HTTPConnection):
    pass


class _PublicOnlyHTTPSConnection(_PublicOnlyConnectionMixin, urllib3.connection.HTTPSConnection):
    pass


class _PublicOnlyHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _PublicOnlyHTTPConnection


class _PublicOnlyHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _PublicOnlyHTTPSConnection


class _PublicOnlyAdapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PublicOnlyHTTPPool, "https": _PublicOnlyHTTPSPool}


def _session(public_only: bool) -> requests.Session:
    session = requests.Session()
    # No proxies from the environment: the address checked must be the one connected to.
    session.trust_env = not public_only
    if public_only:
        session.mount("http://", _PublicOnlyAdapter())
        session.mount("https://", _PublicOnlyAdapter())
    return session


# --- the HTTP call (the one thing tests replace by pointing at a local server) ---

@dataclass(frozen=True)
class Answer:
    status_code: int
    excerpt: str


class SendError(Exception):
    """The endpoint could not be reached or did not answer in time."""


def send(url: str, body: bytes, headers: dict[str, str], timeout: float, *, public_only: bool = False) -> Answer:
    """POST `body` to `url`. Redirects are not followed (a 3xx is a failed attempt) and only the
    first kilobyte of the answer is read. With `public_only`, the connection is refused unless the
    host resolves, at that moment, to public addresses only."""
    try:
        with _session(public_only) as session, session.post(
                url, data=body, headers={"User-Agent": USER_AGENT, **headers}, timeout=timeout,
                allow_redirects=False, stream=True) as response:
            raw = (response.raw.read(EXCERPT_BYTES, decode_content=True) or b"")[:EXCERPT_BYTES]
            return Answer(status_code=response.status_code, excerpt=raw.decode("utf-8", errors="replace"))
    except requests.Timeout as exc:
        raise SendError(f"Timed out after {timeout:g} s.") from exc
    except requests.RequestException as exc:
        refused = _cause(exc, AddressRefused)
        raise SendError(str(refused) if refused else f"{type(exc).__name__}: {exc}"[:500]) from exc


def _cause(exc: BaseException | None, kind: type[BaseException]) -> BaseException | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__ or next((a for a in getattr(exc, "args", ()) if isinstance(
            a, BaseException)), None)
    return None
