"""Idempotency-Key with Stripe's semantics, for every POST and PUT.

The first response (success or a 4xx) is stored for at least IDEMPOTENCY_TTL_HOURS; the same
key and body replays it; the same key with another body is 422 `idempotency_key_reused`; a
duplicate while the first is still running is 409 `request_in_progress`. Keys are scoped to
the caller. A 5xx or an unexpected crash forgets the key so the client may retry.
"""

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder

from core.actors import PartnerActor
from core.api.exceptions import problem
from core.models import IdempotencyRecord

HEADER = "HTTP_IDEMPOTENCY_KEY"
METHODS = ("POST", "PUT")


def _caller(request) -> str:
    user = request.user
    if isinstance(user, PartnerActor):
        return f"key:{user.key_id}"
    return f"user:{user.pk}" if user and user.is_authenticated else "anonymous"


def _fingerprint(request) -> str:
    body = request.body if request.body else b""
    return hashlib.sha256(request.method.encode() + request.path.encode() + b"\n" + body).hexdigest()


class IdempotentMixin:
    """For DRF views: wraps the handler once authentication has run."""

    def handle_idempotently(self, request, handler, *args, **kwargs):
        key = request.META.get(HEADER, "").strip().replace("\x00", "")
        if request.method not in METHODS or not key:
            return handler(request, *args, **kwargs)
        if len(key) > 255:
            return problem(status_code=400, code="invalid_idempotency_key", title="Invalid Idempotency-Key",
                           detail="An Idempotency-Key is at most 255 characters.")
        caller, fingerprint = _caller(request), _fingerprint(request)
        ttl = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
        IdempotencyRecord.objects.filter(caller=caller, key=key, created_at__lt=ttl).delete()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    caller=caller, key=key, method=request.method, request_hash=fingerprint,
                    path=request.path.replace("\x00", "")[:500])
        except IntegrityError:
            return self._replay(IdempotencyRecord.objects.get(caller=caller, key=key), fingerprint)
        try:
            try:
                response = handler(request, *args, **kwargs)
            except Exception as exc:  # a refusal is an answer too, and is replayed like one
                response = self.handle_exception(exc)
        except BaseException:
            record.delete()
            raise
        if response.status_code >= 500:
            record.delete()
            return response
        record.completed = True
        record.response_status = response.status_code
        record.response_body = json.dumps(getattr(response, "data", None), cls=JSONEncoder)
        record.response_content_type = getattr(response, "content_type", None) or ""
        record.save(update_fields=["completed", "response_status", "response_body", "response_content_type"])
        return response

    @staticmethod
    def _replay(record: IdempotencyRecord, fingerprint: str):
        from rest_framework.response import Response

        if record.request_hash != fingerprint:
            return problem(status_code=422, code="idempotency_key_reused", title="Idempotency-Key reused",
                           detail="This Idempotency-Key was used with a different request.")
        if not record.completed:
            return problem(status_code=409, code="request_in_progress", title="Request in progress",
                           detail="A request with this Idempotency-Key is still being processed.",
                           headers={"Retry-After": "1"})
        content_type = record.response_content_type.split(";")[0] or None
        return Response(json.loads(record.response_body or "null"),
                        status=record.response_status, content_type=content_type,
                        headers={"Idempotent-Replayed": "true"})
