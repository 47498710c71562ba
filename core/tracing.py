"""Spans for the domain: `span(name, attributes)` around a unit of work, and the trace context a
row keeps so that later work (a refund days after the request) can link back to it.

    with span("return.initiate", {"return.order_id": order.pk}):
        ...
        annotate({"return.rma_id": rma})

or `@traced("return.inspect", lambda *, return_request, **_: {...})` on a service. A span is also a
logging scope: an RMA among its attributes is on every log record written inside it. A domain error
(a denied request, a missing row) is recorded on the span but is not a failure of the system, so
it leaves the status unset; anything else marks the span as an error.
"""

import functools
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from decimal import Decimal

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, SpanContext, Status, StatusCode, TraceFlags

from core import logcontext
from core.errors import DomainError

tracer = trace.get_tracer("returns_platform")

_RMA_ATTRIBUTES = ("return.rma_id", "refund.rma_id")


def _value(value):
    """OpenTelemetry takes str, bool, int and float (and sequences of them); money is a Decimal."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [_value(item) for item in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return str(value)


def clean(attributes: Mapping | None) -> dict:
    return {key: _value(value) for key, value in (attributes or {}).items() if value is not None}


@contextmanager
def span(name: str, attributes: Mapping | None = None, *, links: Iterable[Link] = (), rejected_as: str | None = None):
    """A span around the block. `rejected_as="return"` records a domain error as the seed's
    `return.rejected` / `return.rejection_reason` (a request refused, not a failure)."""
    attributes = clean(attributes)
    rma = next((attributes[key] for key in _RMA_ATTRIBUTES if key in attributes), None)
    with logcontext.scope(rma=rma), tracer.start_as_current_span(
            name, attributes=attributes, links=list(links), record_exception=False,
            set_status_on_exception=False) as current:
        try:
            yield current
        except DomainError as exc:
            current.set_attribute("error.code", exc.code)
            if rejected_as:
                current.set_attributes({f"{rejected_as}.rejected": True, f"{rejected_as}.rejection_reason": exc.code})
            raise
        except Exception as exc:
            current.record_exception(exc)
            current.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            raise


def traced(name: str, attributes: Callable[..., Mapping | tuple] | None = None, *, rejected_as: str | None = None,
           result: Callable[[object], Mapping] | None = None):
    """Decorator form of `span`. `attributes(*args, **kwargs)` gives the span's attributes from the
    call (or a pair: attributes and links); `result(returned)` adds attributes from what it returned."""

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            found = attributes(*args, **kwargs) if attributes else None
            found, links = found if isinstance(found, tuple) else (found, ())
            with span(name, found, links=links, rejected_as=rejected_as) as current:
                returned = function(*args, **kwargs)
                if result is not None and current.is_recording():
                    current.set_attributes(clean(result(returned)))
                return returned

        return wrapper

    return decorate


def annotate(attributes: Mapping | None = None, *, links: Iterable[Link] = ()) -> None:
    """Add attributes (and links) to the current span; an RMA among them joins the logging scope."""
    attributes = clean(attributes)
    current = trace.get_current_span()
    if current.is_recording():
        current.set_attributes(attributes)
        for link in links:
            current.add_link(link.context, link.attributes)
    rma = next((attributes[key] for key in _RMA_ATTRIBUTES if key in attributes), None)
    if rma is not None:
        logcontext.bind(rma=rma)


def context_dict(current=None) -> dict:
    """The span's context as stored on a row: hex ids and flags, or {} when there is none."""
    context = (current or trace.get_current_span()).get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x"),
            "trace_flags": format(int(context.trace_flags), "02x")}


def link_to(stored: Mapping | None, link_type: str) -> list[Link]:
    """A link to the span a row stored with `context_dict`; none if it stored nothing usable."""
    try:
        context = SpanContext(trace_id=int(stored["trace_id"], 16), span_id=int(stored["span_id"], 16),
                              is_remote=True, trace_flags=TraceFlags(int(str(stored.get("trace_flags", "01")), 16)))
    except (KeyError, TypeError, ValueError):
        return []
    return [Link(context, {"link.type": link_type})] if context.is_valid else []


def in_current_context(callback: Callable[[], object]) -> Callable[[], object]:
    """`callback`, to run later (on commit) inside the trace context it was created in, so the
    work it queues belongs to the span that caused it."""
    captured = otel_context.get_current()
    log_fields = logcontext.current()

    def run():
        token = otel_context.attach(captured)
        try:
            with logcontext.scope(**log_fields):
                return callback()
        finally:
            otel_context.detach(token)

    return run
