from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.throttling import AnonRateThrottle

from core.api import schema
from core.api.exceptions import problem


class LoginRateThrottle(AnonRateThrottle):
    """Password guessing is slowed per client address, whatever the global budget."""

    scope = "login"


class CustomerToken(ObtainAuthToken):
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        operation_id="auth_token", summary="Exchange a customer's username and password for an API token",
        description="Send the token as `Authorization: Token <token>`. Attempts are throttled per address.",
        request=inline_serializer("TokenRequest", {"username": serializers.CharField(),
                                                   "password": serializers.CharField()}),
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
                   400: schema.BAD_REQUEST, 429: schema.THROTTLED},
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        from axes.exceptions import AxesBackendPermissionDenied

        try:
            return super().post(request, *args, **kwargs)
        except (AxesBackendPermissionDenied, ValidationError):
            # django-axes marks the request it was handed (DRF's wrapper) when the login is locked.
            if not (getattr(request, "axes_locked_out", False) or getattr(request._request, "axes_locked_out", False)):
                raise
        return problem(status_code=429, code="too_many_login_attempts", title=_("Too many failed logins"),
                       detail=_("This login is locked for a while after repeated failures."),
                       headers={"Retry-After": str(int(settings.AXES_COOLOFF_TIME.total_seconds()))})
