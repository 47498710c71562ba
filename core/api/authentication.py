from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from core.actors import PartnerActor


class PartnerKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key <prefix>.<secret>`; only a hash of the key is stored."""

    keyword = "Api-Key"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(self.keyword + " "):
            return None
        from partners.models import PartnerAPIKey

        key = header[len(self.keyword) + 1:].strip()
        try:
            api_key = PartnerAPIKey.objects.get_from_key(key)
        except PartnerAPIKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid API key.") from None
        if api_key.has_expired or not api_key.partner.active:
            raise exceptions.AuthenticationFailed("This API key is no longer valid.")
        actor = PartnerActor(user=api_key.partner.service_user, partner=api_key.partner,
                             channel_id=api_key.channel_id, scopes=frozenset(api_key.scopes), key_id=api_key.pk)
        return actor, api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


class CustomerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <token>`, a token from `POST /api/v1/auth/token`; only its digest is stored.

    A token of an inactive user is refused; its last use is recorded at most once a minute."""

    keyword = "Token"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        # The refusals of DRF's TokenAuthentication, word for word, so clients and translations stay as they were.
        if len(parts) == 1:
            raise exceptions.AuthenticationFailed(_("Invalid token header. No credentials provided."))
        if len(parts) > 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header. Token string should not contain spaces."))
        try:
            clear = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(
                _("Invalid token header. Token string should not contain invalid characters.")) from None
        from core import selectors, services

        token = selectors.api_token_find(token=clear)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        services.api_token_mark_used(token=token)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


class CustomerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.authentication.CustomerTokenAuthentication"
    name = "CustomerToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Token <token>` — a customer's token from `POST /api/v1/auth/token`."}


class PartnerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.authentication.PartnerKeyAuthentication"
    name = "PartnerKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Api-Key <key>` — a partner key created with `manage.py create_partner_key`."}
