from rest_framework.throttling import SimpleRateThrottle

from core.actors import PartnerActor


class CallerRateThrottle(SimpleRateThrottle):
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
