"""Every API error is an RFC 9457 problem detail with a stable `code`; `title` and `detail` are in
the caller's language (Accept-Language, through LocaleMiddleware), the `code` never changes."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from core.errors import DomainError, ValidationFailed

PROBLEM_TYPE = "https://docs.returns.example/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem(*, status_code: int, code: str, title: str, detail: str, errors=None, headers=None) -> Response:
    body = {"type": PROBLEM_TYPE + code, "title": title, "status": status_code, "detail": detail, "code": code}
    if errors:
        body["errors"] = errors
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def _field_errors(detail, prefix: str = "") -> list[dict]:
    errors = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            errors.extend(_field_errors(value, f"{prefix}.{name}" if prefix and name else (prefix or name)))
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                errors.extend(_field_errors(item, f"{prefix}[{index}]"))
            else:
                errors.extend(_field_errors(item, prefix))
    else:
        errors.append({"field": prefix or None, "code": getattr(detail, "code", "invalid"), "detail": str(detail)})
    return errors


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        errors = [{"field": v.field, "code": v.code, "detail": str(v.message)} for v in exc.violations] or None
        return problem(status_code=exc.http_status, code=exc.code, title=str(exc.title), detail=str(exc.message),
                       errors=errors)
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent):
        # Django's own size guards (request.body read by the idempotency check, forms): same answer
        # as the API's parser gives.
        from core.api.parsers import RequestTooLarge

        exc = RequestTooLarge(str(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_handler(exc, context)
    if response is None:
        return None  # a real bug: let it surface as a 500 and be logged
    if isinstance(exc, exceptions.ValidationError):
        return problem(status_code=response.status_code,
                       code="validation_failed", title=str(ValidationFailed.title),
                       detail=_("Some fields are not valid; see errors."), errors=_field_errors(exc.detail))
    code = exc.get_codes() if isinstance(exc.get_codes(), str) else getattr(exc, "default_code", "error")
    headers = {k: v for k, v in response.headers.items() if k in ("Retry-After", "WWW-Authenticate", "Allow")}
    return problem(status_code=response.status_code, code=code, title=str(exc.default_detail),
                   detail=str(exc.detail), headers=headers)
