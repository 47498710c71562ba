"""Clients are counted by the address our outermost proxy saw, never by one the client wrote:
login lockouts, API throttles and gift-code guessing limits all ask `client_address`."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import RequestFactory, override_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from core.client_address import client_address
from tests import factories

PROXY = "10.0.0.2"


def _address(forwarded: str | None, *, proxies: int) -> str:
    meta = {"REMOTE_ADDR": PROXY}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    with override_settings(TRUSTED_PROXY_COUNT=proxies):
        return client_address(RequestFactory().get("/", **meta))


@pytest.mark.parametrize(("forwarded", "proxies", "expected"), [
    (None, 0, PROXY),
    ("203.0.113.9", 0, PROXY),  # no proxy of ours: the header is the client's own words
    ("203.0.113.9", 1, "203.0.113.9"),
    ("1.2.3.4, 203.0.113.9", 1, "203.0.113.9"),  # the client's forged entry is passed over
    ("1.2.3.4, 203.0.113.9, 10.0.0.7", 2, "203.0.113.9"),
    ("2001:db8::1", 1, "2001:db8::1"),
    (None, 1, PROXY),  # did not come through the proxy
    ("203.0.113.9", 2, PROXY),  # through fewer proxies than we have
    ("1.2.3.4, not-an-address", 1, PROXY),
    ("1.2.3.4, ", 1, PROXY),
])
def test_the_address_our_outermost_proxy_saw(forwarded, proxies, expected):
    assert _address(forwarded, proxies=proxies) == expected


@pytest.fixture
def two_logins_a_minute():
    """DRF reads the rates once, at import: they are set on the class, and put back as they were (not
    from the settings, which are still the tight ones until the override ends)."""
    tight = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"caller": "100/min", "login": "2/min"}}
    rates = SimpleRateThrottle.THROTTLE_RATES
    cache.clear()
    try:
        with override_settings(REST_FRAMEWORK=tight):
            SimpleRateThrottle.THROTTLE_RATES = tight["DEFAULT_THROTTLE_RATES"]
            yield
    finally:
        cache.clear()
        SimpleRateThrottle.THROTTLE_RATES = rates


def _login(forwarded: str):
    return APIClient().post("/api/v1/auth/token", {"username": "alice", "password": "wrong"}, format="json",
                            HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=PROXY)


@pytest.mark.django_db
@pytest.mark.parametrize("proxies", [0, 1])
def test_a_forged_forwarded_for_does_not_buy_more_password_guesses(customer, two_logins_a_minute, proxies):
    with override_settings(TRUSTED_PROXY_COUNT=proxies, AXES_ENABLED=False):
        assert [_login(f"198.51.100.{n}, 203.0.113.9").status_code for n in range(2)] == [400, 400]
        throttled = _login("198.51.100.99, 203.0.113.9")
        assert throttled.status_code == 429 and throttled.json()["code"] == "throttled"
        if proxies:  # behind our proxy another client has a budget of its own
            assert _login("198.51.100.99, 203.0.113.10").status_code == 400


@pytest.mark.django_db
def test_the_lockout_counts_the_client_behind_the_proxy(client, customer):
    def portal_login(forwarded: str, password: str = "wrong"):
        return client.post("/login/", {"username": "alice", "password": password},
                           HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=PROXY)

    with override_settings(TRUSTED_PROXY_COUNT=1):
        statuses = [portal_login(f"198.51.100.{n}, 203.0.113.9").status_code for n in range(5)]
        assert statuses == [200, 200, 200, 200, 429]  # a new forged entry each time: still one client
        assert portal_login("203.0.113.9", "x").status_code == 429
        # Everyone else reaches the site through the same proxy and is not locked out with them.
        assert portal_login("203.0.113.10", factories.PASSWORD).status_code == 302
