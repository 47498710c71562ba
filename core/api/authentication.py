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


class PartnerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.authentication.PartnerKeyAuthentication"
    name = "PartnerKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Api-Key <key>` — a partner key created with `manage.py create_partner_key`."}
