"""Request bodies the API reads, bounded: a JSON body larger than DATA_UPLOAD_MAX_MEMORY_SIZE is
refused with 413 `request_too_large` before it is parsed (Django checks that limit only when
`request.body` is read; DRF reads the stream); one nested past Python's recursion limit, or
holding text PostgreSQL cannot store (NUL, a lone surrogate), is a 400 `parse_error`, not a crash."""

import io

from django.conf import settings
from rest_framework import exceptions, parsers

from core.storable import unstorable_text


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "request_too_large"


class BoundedJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is None:
            return super().parse(stream, media_type, parser_context)
        request = (parser_context or {}).get("request")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            declared = 0
        if declared > limit:
            raise RequestTooLarge(f"The request body may be at most {limit} bytes.")
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise RequestTooLarge(f"The request body may be at most {limit} bytes.")
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:  # nested deeper than Python's stack: json raises this, not a ValueError
            raise exceptions.ParseError("JSON parse error - nested too deeply.", code="parse_error") from None
        problem = unstorable_text(data)
        if problem:
            raise exceptions.ParseError(f"JSON parse error - {problem}", code="parse_error")
        return data
