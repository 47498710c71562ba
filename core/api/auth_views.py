from django.conf import settings
from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, parsers, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core import services
from core.api import schema
from core.api.exceptions import problem
from core.api.parsers import BoundedJSONParser
from core.api.throttling import CallerRateThrottle, LoginRateThrottle
from core.models import ApiToken


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(label=gettext_lazy("Username"), write_only=True)
    password = serializers.CharField(label=gettext_lazy("Password"), style={"input_type": "password"},
                                     trim_whitespace=False, write_only=True)

    def validate(self, attrs):
        # authenticate() returns None for an inactive user too (ModelBackend), with the same answer.
        user = authenticate(request=self.context["request"], username=attrs["username"], password=attrs["password"])
        if user is None:
            raise serializers.ValidationError(_("Unable to log in with provided credentials."), code="authorization")
        attrs["user"] = user
        return attrs


class CustomerToken(APIView):
    """A customer's API token: issued for a username and password, revoked by sending it."""

    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle, CallerRateThrottle]
    parser_classes = [parsers.FormParser, parsers.MultiPartParser, BoundedJSONParser]

    @extend_schema(
        operation_id="auth_token", summary="Exchange a customer's username and password for an API token",
        description="Each call issues a new token, shown only in this response (only its digest is stored); "
                    f"a customer keeps their {services.MAX_TOKENS_PER_USER} most recently used tokens. Send it as "
                    "`Authorization: Token <token>`. A password change revokes every token. Attempts are "
                    "throttled per address.",
        request=inline_serializer("TokenRequest", {"username": serializers.CharField(),
                                                   "password": serializers.CharField()}),
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
                   400: schema.BAD_REQUEST, 429: schema.THROTTLED},
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        from axes.exceptions import AxesBackendPermissionDenied

        try:
            login = LoginSerializer(data=request.data, context={"request": request})
            login.is_valid(raise_exception=True)
        except (AxesBackendPermissionDenied, exceptions.ValidationError):
            # django-axes marks the request it was handed (DRF's wrapper) when the login is locked.
            if not (getattr(request, "axes_locked_out", False) or getattr(request._request, "axes_locked_out", False)):
                raise
            return problem(status_code=429, code="too_many_login_attempts", title=_("Too many failed logins"),
                           detail=_("This login is locked for a while after repeated failures."),
                           headers={"Retry-After": str(int(settings.AXES_COOLOFF_TIME.total_seconds()))})
        _issued, clear = services.api_token_issue(user=login.validated_data["user"])
        return Response({"token": clear})

    @extend_schema(
        operation_id="auth_token_revoke", summary="Revoke the API token this request is sent with",
        description="The token stops working at once; other tokens of the customer are not touched. "
                    "Only a call authenticated with `Authorization: Token <token>` can revoke it.",
        request=None,
        responses={204: None, 401: schema.UNAUTHENTICATED, 429: schema.THROTTLED},
        auth=[{"CustomerToken": []}],
    )
    def delete(self, request, *args, **kwargs):
        if not isinstance(request.auth, ApiToken):
            raise exceptions.NotAuthenticated(_("Send the token to revoke as `Authorization: Token <token>`."))
        services.api_token_revoke(token=request.auth, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
