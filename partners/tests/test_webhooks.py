"""The signature partners verify, and the addresses webhooks may not go to."""

import socket
import time

import pytest

from partners.verify import verify_signature
from partners.webhooks import address_refusal, sign

SECRET = "whsec_test-secret"
BODY = b'{"id":"3f1c","type":"return.refunded","data":{"rma_number":"RMA-AB12-CD34"}}'


def test_a_good_signature_is_accepted():
    assert verify_signature(SECRET, sign(SECRET, BODY), BODY)
    assert verify_signature(SECRET, sign(SECRET, BODY), BODY.decode())


@pytest.mark.parametrize("tampered", [
    BODY.replace(b"RMA-AB12-CD34", b"RMA-ZZ99-ZZ99"),
    BODY + b" ",
    b"",
])
def test_a_tampered_body_is_rejected(tampered):
    assert not verify_signature(SECRET, sign(SECRET, BODY), tampered)


def test_another_secret_or_a_tampered_timestamp_is_rejected():
    header = sign(SECRET, BODY)
    timestamp = int(header.split(",")[0][2:])
    assert not verify_signature("whsec_other", header, BODY)
    assert not verify_signature(SECRET, header.replace(f"t={timestamp}", f"t={timestamp + 1}"), BODY)


def test_a_stale_or_future_signature_is_rejected():
    old = int(time.time()) - 301
    assert not verify_signature(SECRET, sign(SECRET, BODY, timestamp=old), BODY)
    assert verify_signature(SECRET, sign(SECRET, BODY, timestamp=old), BODY, tolerance_seconds=600)
    assert not verify_signature(SECRET, sign(SECRET, BODY, timestamp=int(time.time()) + 3600), BODY)


@pytest.mark.parametrize("header", ["", "garbage", "t=abc,v1=00", "v1=deadbeef", "t=1700000000"])
def test_a_malformed_header_is_rejected(header):
    assert not verify_signature(SECRET, header, BODY)


def test_any_of_several_v1_signatures_may_match():
    good = sign(SECRET, BODY)
    timestamp, digest = good.split(",")
    assert verify_signature(SECRET, f"{timestamp},v1={'0' * 64},{digest}", BODY)


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/x", "https://10.0.0.8/x", "https://172.16.4.4/x", "https://192.168.1.1/x",
    "https://169.254.169.254/latest", "https://[::1]/x", "https://[fe80::1]/x", "https://[::ffff:10.0.0.1]/x",
    "https://0.0.0.0/x", "https://100.64.0.1/x", "https://localhost/x", "https:///x",
    # IPv4 spelled in decimal, hex, octal or short form still means 127.0.0.1
    "https://2130706433/x", "https://0x7f000001/x", "https://0177.0.0.1/x", "https://127.1/x",
    "https://0x7f.1/x",
    # reserved, documentation, benchmarking, broadcast and multicast ranges
    "https://240.0.0.1/x", "https://255.255.255.255/x", "https://192.0.2.1/x", "https://198.18.0.1/x",
    "https://224.0.0.1/x", "https://[ff02::1]/x", "https://[2001:db8::1]/x", "https://[::]/x",
    # IPv6 forms carrying a private IPv4 address: mapped, 6to4, NAT64, unique local
    "https://[::ffff:127.0.0.1]/x", "https://[2002:7f00:1::]/x", "https://[64:ff9b::a00:1]/x", "https://[fd00::1]/x",
    # a port that is not a number, a name that does not resolve
    "https://93.184.215.14:99999/x", "https://no-such-host.invalid/x",
])
def test_private_loopback_and_link_local_addresses_are_refused(url):
    assert address_refusal(url) is not None


def test_a_public_address_is_allowed():
    assert address_refusal("https://93.184.215.14/hooks") is None
    assert address_refusal("https://[2606:4700:4700::1111]/hooks") is None


def test_a_name_is_refused_when_any_of_its_addresses_is_private(monkeypatch):
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "split.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 443)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    assert "127.0.0.1" in address_refusal("https://split.example.com/hooks")
