"""Shared pieces of the OpenAPI description."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from core.api.serializers import ProblemSerializer

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Any unique string (a UUID is best). The same key with the same body replays the first response "
                "for 48 h; with another body it is 422 `idempotency_key_reused`; while the first is still running, "
                "409 `request_in_progress`.")


def problem(description: str, *codes: str) -> OpenApiResponse:
    listed = f" Codes: {', '.join(f'`{c}`' for c in codes)}." if codes else ""
    return OpenApiResponse(
        ProblemSerializer, description=description + listed,
        examples=[OpenApiExample(code, value={"type": f"https://docs.returns.example/problems/{code}",
                                              "title": description, "status": 400, "detail": "…", "code": code})
                  for code in codes[:3]] or None)


UNAUTHENTICATED = problem("Not logged in or no valid API key.", "not_authenticated", "authentication_failed")
FORBIDDEN = problem("The caller may not do this (missing scope or role).", "permission_denied")
NOT_FOUND = problem("No such object visible to the caller.", "not_found", "return_not_found", "order_not_found")
BAD_REQUEST = problem("The body is malformed or has unknown or read-only fields.", "validation_failed", "parse_error")
THROTTLED = problem("Too many requests; see Retry-After.", "throttled")
COMMON = {400: BAD_REQUEST, 401: UNAUTHENTICATED, 403: FORBIDDEN, 429: THROTTLED}


IDEMPOTENCY_CODES = {409: ("request_in_progress",), 422: ("idempotency_key_reused",)}


def writes(responses: dict) -> dict:
    """Responses of a POST or PUT: its own, plus the idempotency refusals every write may give.

    Problem responses given here as `(description, *codes)` tuples are merged with those codes.
    """
    merged = {400: BAD_REQUEST, 401: UNAUTHENTICATED, 403: FORBIDDEN, 429: THROTTLED}
    for status_code in (409, 422):
        own = responses.pop(status_code, ("Refused.",))
        merged[status_code] = problem(own[0], *own[1:], *IDEMPOTENCY_CODES[status_code])
    merged.update(responses)
    return merged


def page_of(serializer_class):
    """The cursor-paginated list of `serializer_class`, as the API returns it."""
    return inline_serializer(
        name=f"Paginated{serializer_class.__name__.removesuffix('Serializer')}List",
        fields={
            "next": serializers.URLField(allow_null=True, help_text="The next page, or null."),
            "previous": serializers.URLField(allow_null=True, help_text="The previous page, or null."),
            "results": serializer_class(many=True),
        },
    )
