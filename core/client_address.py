"""Who sent a request: the one answer that login lockouts, API throttles and gift-code guessing
limits count by."""

import ipaddress

from django.conf import settings


def client_address(request) -> str:
    """The address the request came from.

    With no proxy of ours in front (TRUSTED_PROXY_COUNT = 0, the default), REMOTE_ADDR. Behind N
    proxies, each appending the address it got the request from to X-Forwarded-For, it is the N-th
    entry from the right: the one our outermost proxy wrote. Entries left of it were sent by the client
    and prove nothing, so a client cannot pick the address it is counted under (and so escape a
    lockout or a throttle by sending a new X-Forwarded-For each time). A request that did not come
    through the proxies, or a malformed entry, counts under REMOTE_ADDR."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if not proxies:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < proxies:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-proxies]))
    except ValueError:
        return remote
