"""What every log record says about where it came from: request id, user, RMA and trace.

Middleware, services and tasks bind fields to a context variable; `ContextFilter` (installed on
the log handler) copies them onto every record, with the current trace and span ids. A field
already on the record (passed as `extra=`) wins.
"""

import logging
import re
import uuid
from contextlib import contextmanager, suppress
from contextvars import ContextVar

from django.utils.functional import SimpleLazyObject, empty
from opentelemetry import trace

_fields: ContextVar[dict] = ContextVar("log_context", default={})  # noqa: B039 - never mutated, only replaced

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def current() -> dict:
    return _fields.get()


def bind(**fields) -> None:
    """Add fields for the rest of the current scope (see `scope`)."""
    _fields.set({**_fields.get(), **{k: v for k, v in fields.items() if v is not None}})


@contextmanager
def scope(**fields):
    """Fields bound inside this block, by it or by `bind`, are gone when it ends."""
    token = _fields.set({**_fields.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _fields.reset(token)


def request_user(request) -> object | None:
    """The request's user if something has already looked it up; logging never queries for it."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = None if user._wrapped is empty else user._wrapped
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user


class ContextFilter(logging.Filter):
    """Puts request_id, user_id, rma, trace_id and span_id on every record that has them."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _fields.get()
        for key, value in fields.items():
            if key != "request" and not hasattr(record, key):
                setattr(record, key, value)
        request = fields.get("request")
        if request is not None and not hasattr(record, "user_id"):
            user = request_user(request)
            if user is not None:
                record.user_id = user.pk
        if not hasattr(record, "trace_id"):
            context = trace.get_current_span().get_span_context()
            if context.is_valid:
                record.trace_id = format(context.trace_id, "032x")
                record.span_id = format(context.span_id, "016x")
        return True


def request_id_middleware(get_response):
    """Takes the caller's X-Request-ID (or makes one), binds it for the request's logs, puts it on
    the request's span and returns it in the response."""

    def middleware(request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("http.request_id", request_id)
        with scope(request_id=request_id, request=request):
            response = get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response

    return middleware


_task_tokens: dict[str, object] = {}


def task_started(task_id=None, task=None, **kwargs) -> None:
    """Celery's task_prerun: the task's records carry its id and name until it ends."""
    if task_id is not None:
        _task_tokens[task_id] = _fields.set({**_fields.get(), "task_id": task_id,
                                             "task": getattr(task, "name", None)})


def task_finished(task_id=None, **kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        with suppress(ValueError):  # set in another context: nothing of ours to undo
            _fields.reset(token)
