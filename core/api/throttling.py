from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

from core.actors import PartnerActor
from core.client_address import client_address


class ClientAddressMixin:
    """DRF's own reading of X-Forwarded-For (NUM_PROXIES unset) takes the whole header, which the client
    writes: a new header each time would be a new budget each time. Count by `client_address`."""

    def get_ident(self, request) -> str:
        return client_address(request)


class CallerRateThrottle(ClientAddressMixin, SimpleRateThrottle):
    """One budget per caller: a partner key, a user, or else the client address."""

    scope = "caller"

    def get_cache_key(self, request, view):
        user = request.user
        if isinstance(user, PartnerActor):
            ident = f"key:{user.key_id}"
        elif user and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginRateThrottle(ClientAddressMixin, AnonRateThrottle):
    """Password guessing is slowed per client address, whatever the global budget."""

    scope = "login"

    def allow_request(self, request, view) -> bool:
        if request.method != "POST":  # only a login tries a password
            return True
        return super().allow_request(request, view)
