"""Writes of the shared kernel: customers' API tokens."""

import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_event
from core.errors import PermissionDenied
from core.models import ApiToken

# A client that logs in on every run would otherwise pile up tokens; the least recently used go first.
MAX_TOKENS_PER_USER = 20
# last_used_at is a hint for support, not an access log: one write a minute per token is enough.
LAST_USED_PRECISION = timedelta(minutes=1)


@transaction.atomic
def api_token_issue(*, user, name: str = "") -> tuple[ApiToken, str]:
    """A new token for `user`. The clear token is returned here, once; only its digest is stored."""
    if not user.is_active:
        raise PermissionDenied(_("An inactive account cannot get an API token."), code="user_inactive")
    clear = secrets.token_hex(20)
    token = ApiToken(user=user, digest=ApiToken.digest_of(clear), prefix=clear[:ApiToken.PREFIX_LENGTH],
                     name=name[:100])
    token.full_clean(exclude=["user"])
    token.save()
    keep = (ApiToken.objects.filter(user=user).order_by(Coalesce("last_used_at", "created_at").desc(), "-pk")
            .values("pk")[:MAX_TOKENS_PER_USER])
    ApiToken.objects.filter(user=user).exclude(pk__in=keep).delete()
    audit_event("api_token.issued", by=user, token_id=token.pk, token_prefix=token.prefix)
    return token, clear


@transaction.atomic
def api_token_revoke(*, token: ApiToken, by) -> None:
    """The token stops working at once. Its owner may revoke it, and staff allowed to revoke tokens."""
    if by.pk != token.user_id and not by.has_perm("core.revoke_apitoken"):
        raise PermissionDenied(_("You may not revoke this token."))
    deleted, _rows = ApiToken.objects.filter(pk=token.pk).delete()
    if deleted:
        audit_event("api_token.revoked", by=by, token_id=token.pk, token_prefix=token.prefix,
                    owner_id=token.user_id)


@transaction.atomic
def api_token_revoke_all(*, user, reason: str) -> int:
    """Every token of `user` stops working (a changed password cuts off any token that was stolen)."""
    deleted, _rows = ApiToken.objects.filter(user=user).delete()
    if deleted:
        audit_event("api_token.revoked", by=None, owner_id=user.pk, tokens=deleted, reason=reason)
    return deleted


def api_token_mark_used(*, token: ApiToken) -> None:
    """Record that `token` was used now, at most once per LAST_USED_PRECISION (one UPDATE, no lock)."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_PRECISION:
        return
    ApiToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION),
                            pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
