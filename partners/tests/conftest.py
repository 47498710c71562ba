"""A real HTTP endpoint on 127.0.0.1 for webhook tests, and partners to subscribe it."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rest_framework.test import APIClient

from core.actors import PartnerActor
from partners.events import EVENT_TYPES
from partners.services import partner_key_create, webhook_subscription_create


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Endpoint:
    """Answers each POST with the next scripted (status, body), then with the last one for ever."""

    url: str
    answers: list[tuple[int, str]] = field(default_factory=lambda: [(200, "ok")])
    received: list[Received] = field(default_factory=list)

    def answer_with(self, *answers: tuple[int, str]) -> None:
        self.answers = list(answers)

    def next_answer(self) -> tuple[int, str]:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    @property
    def event_types(self) -> list[str]:
        return [r.headers["X-Returns-Event"] for r in self.received]


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        endpoint: Endpoint = self.server.endpoint
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        endpoint.received.append(Received(headers=dict(self.headers.items()), body=body))
        status, text = endpoint.next_answer()
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):  # keep test output quiet
        pass


@pytest.fixture
def endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.endpoint = Endpoint(url=f"http://127.0.0.1:{server.server_address[1]}/hooks")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.endpoint
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def actor_for(api_key) -> PartnerActor:
    return PartnerActor(user=api_key.partner.service_user, partner=api_key.partner, channel_id=api_key.channel_id,
                        scopes=frozenset(api_key.scopes), key_id=api_key.pk)


@pytest.fixture
def partner_key(shop):
    """A merchant tool's key on the shop's web channel, allowed to manage webhooks."""
    return partner_key_create(partner_slug="acme", channel_code=shop.channel.code,
                              scopes=["webhooks:manage", "returns:read"])


@pytest.fixture
def api(partner_key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner_key[1]}")
    return client


@pytest.fixture
def subscribe(partner_key, endpoint):
    """Subscribe the local endpoint (to every event unless told otherwise)."""
    def run(event_types=None, *, key=None, url=None):
        return webhook_subscription_create(by=actor_for(key or partner_key[0]), url=url or endpoint.url,
                                           event_types=list(event_types or EVENT_TYPES))
    return run
