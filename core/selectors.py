"""Reads of the shared kernel."""

import hmac

from core.models import ApiToken


def api_token_find(*, token: str) -> ApiToken | None:
    """The live token whose digest matches `token`, with its user; None if there is none.

    The lookup is by digest, so the time it takes says nothing about the clear token; the final
    comparison is constant-time all the same."""
    digest = ApiToken.digest_of(token)
    found = ApiToken.objects.select_related("user").filter(digest=digest).first()
    if found is None or not hmac.compare_digest(found.digest, digest):
        return None
    return found
