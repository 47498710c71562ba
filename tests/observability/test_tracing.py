"""The spans of the tracing seed over a whole return, with their attributes and links; the trace
context kept on orders and returns; context carried into Celery tasks; the bootstrap's choices."""

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from config.celery_app import app
from core import tracing
from core.errors import ValidationFailed
from orders.models import Order
from refunds.gateways.sandbox import SandboxGateway
from returns import services
from returns.choices import Condition, ReturnStatus, ReviewMode
from tests import factories
from tests.api.conftest import partner_client
from tests.celery import reset_broker_connections

ROOT = Path(__file__).resolve().parents[2]


def hex_of(span) -> dict:
    """A span's context as rows store it."""
    return {"trace_id": format(span.context.trace_id, "032x"), "span_id": format(span.context.span_id, "016x"),
            "trace_flags": format(int(span.context.trace_flags), "02x")}


def order_body(delivered_days_ago: int = 5) -> dict:
    delivered = timezone.now() - timedelta(days=delivered_days_ago)
    return {
        "customer": {"email": "alice@example.com", "first_name": "Alice"}, "currency": "USD",
        "status": "fulfilled", "placed_at": (delivered - timedelta(days=3)).isoformat(),
        "delivered_at": delivered.isoformat(), "shipping_cost": "4.95",
        "lines": [
            {"line_id": "L1", "sku": "shirt-blue-m", "quantity_ordered": 2, "quantity_shipped": 2,
             "unit_price": "25.00", "unit_tax": "2.00"},
            {"line_id": "L2", "sku": "gift-card-50", "quantity_ordered": 1, "quantity_shipped": 1,
             "unit_price": "50.00", "unit_tax": "0.00"},
        ],
        "payments": [{"gateway": "sandbox", "charge_reference": "ch_trace_1", "amount": "108.95",
                      "method": "card", "captured_at": (delivered - timedelta(days=3)).isoformat()}],
    }


@pytest.fixture
def oms_order(shop, customer, spans):
    """An order pushed by the OMS over the API, so it carries the trace it was written in."""
    response = partner_client("trace-oms", "web", ["orders:write"]).put(
        "/api/v1/orders/OMS-TRACE-1", order_body(), format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(external_id="OMS-TRACE-1")


@pytest.mark.django_db
def test_a_return_from_request_to_refund_is_traced_as_the_seed_says(
        oms_order, customer, reviewer, warehouse, spans, django_capture_on_commit_callbacks):
    factories.policy(None, review_mode=ReviewMode.MANUAL)  # so a reviewer authorises it
    shirt = oms_order.lines.get(product__sku="shirt-blue-m")

    # The OMS's order carries the trace of its upsert, which ran inside the HTTP request's span.
    upsert = spans.one("order.upsert")
    assert oms_order.trace_context == hex_of(upsert)
    assert upsert.attributes["order.external_id"] == "OMS-TRACE-1" and upsert.attributes["order.created"] is True
    assert spans.parent_of(upsert).kind == trace.SpanKind.SERVER  # Django's instrumentation

    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=oms_order.pk,
                                            lines=[factories.line_request(shirt, 1, reason="wrong_size")])
    initiate = spans.one("return.initiate")
    assert initiate.attributes["return.rma_id"] == rr.rma_number
    assert initiate.attributes["return.order_id"] == str(oms_order.pk)
    assert initiate.attributes["return.user_id"] == customer.pk
    assert initiate.attributes["return.item_count"] == 1
    assert initiate.attributes["return.reason"] == "wrong_size"
    assert initiate.attributes["return.refund_amount"] == 27.0
    assert initiate.status.status_code == StatusCode.UNSET
    # The request links back to the order's trace; the return keeps its own for what follows.
    (order_link,) = initiate.links
    assert (order_link.context.trace_id, order_link.context.span_id) == (upsert.context.trace_id,
                                                                        upsert.context.span_id)
    assert order_link.attributes["link.type"] == "original_order"
    rr.refresh_from_db()
    assert rr.trace_context == hex_of(initiate)

    eligibility = spans.one("return.check_eligibility")
    assert spans.parent_of(eligibility) is initiate or spans.parent_of(eligibility).context == initiate.context
    assert eligibility.attributes["return.days_since_delivery"] == pytest.approx(5.0, abs=0.1)
    assert eligibility.attributes["return.within_window"] is True
    assert "return.non_returnable_item" not in eligibility.attributes
    scoring = spans.one("fraud.score_request")
    assert scoring.attributes["fraud.stage"] == "request" and "fraud.score" in scoring.attributes
    assert spans.parent_of(scoring).context == initiate.context

    with django_capture_on_commit_callbacks(execute=True):
        services.return_approve(return_request=rr, by=reviewer)
    approve = spans.one("return.approve")
    assert approve.attributes["return.status"] == ReturnStatus.AUTHORIZED
    with django_capture_on_commit_callbacks(execute=True):
        services.return_mark_in_transit(return_request=rr)
        services.return_receive(return_request=rr, by=warehouse)
    assert spans.one("return.receive").attributes["return.rma_id"] == rr.rma_number

    line = rr.lines.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.return_inspect(return_request=rr, by=warehouse, inspections={line.pk: {"condition": Condition.NEW}})
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED

    inspect = spans.one("return.inspect")
    assert inspect.attributes["return.rma_id"] == rr.rma_number
    assert spans.parent_of(spans.one("fraud.score_inspection")).context == inspect.context

    # Restocking: one span for the return's lines, one per line's stock movement (in its task).
    restock = spans.one("refund.restock")
    assert restock.attributes["restock.item_count"] == 1 and spans.parent_of(restock).context == inspect.context
    item = spans.one("refund.restock_item")
    assert restock.context in [span.context for span in spans.ancestors(item)]
    assert item.attributes["product.id"] == shirt.product_id and item.attributes["restock.quantity"] == 1
    assert item.attributes["restock.condition"] == "new" and item.attributes["restock.restocked"] is True
    assert item.attributes["restock.disposition"] == "restock"

    # The refund links back to the return's initiation, wherever and whenever it runs.
    process = spans.one("refund.process")
    assert process.attributes["refund.rma_id"] == rr.rma_number
    assert process.attributes["refund.amount"] == 27.0
    assert process.attributes["refund.order_id"] == str(oms_order.pk)
    (rma_link,) = process.links
    assert (rma_link.context.trace_id, rma_link.context.span_id) == (initiate.context.trace_id,
                                                                    initiate.context.span_id)
    assert rma_link.attributes["link.type"] == "rma_initiation"
    assert spans.parent_of(process).name == "run/refunds.tasks.process_refund"  # Celery's instrumentation

    gateway = spans.one("refund.payment_gateway")
    assert spans.parent_of(gateway).context == process.context
    refund = rr.refund
    assert dict(gateway.attributes) == {
        "payment.method": "card", "payment.gateway": "sandbox", "refund.amount": 27.0, "refund.currency": "USD",
        "refund.attempt": 1, "refund.gateway_ref": refund.gateway_reference, "refund.status": "succeeded"}
    assert gateway.status.status_code == StatusCode.UNSET

    # The customer e-mails are sent in the traces of the changes that caused them.
    sends = spans.named("notification.send")
    assert {s.attributes["notification.event"] for s in sends} >= {
        "return_requested", "return_authorized", "return_received", "return_refunded"}


@pytest.mark.django_db
def test_a_refused_request_is_recorded_on_its_span_without_being_an_error(shop, customer, spans):
    order = factories.make_order(customer=customer, lines=[(shop.gift_card, 1, "50.00", "0.00")])
    with pytest.raises(ValidationFailed):
        services.return_request_create(by=customer, order_id=order.pk,
                                       lines=[factories.line_request(order.lines.get(), 1)])
    initiate = spans.one("return.initiate")
    assert initiate.attributes["return.rejected"] is True
    assert initiate.attributes["return.rejection_reason"] == "product_not_returnable"
    assert initiate.status.status_code == StatusCode.UNSET
    eligibility = spans.one("return.check_eligibility")
    assert eligibility.attributes["return.non_returnable_item"] == "gift-card-50"


@pytest.mark.django_db
def test_a_failed_gateway_call_is_an_error_with_its_exception(order, customer, warehouse, spans,
                                                             django_capture_on_commit_callbacks):
    SandboxGateway.script("decline")
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                   lines=[(order.lines.first(), 1)])
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)
    gateway = spans.one("refund.payment_gateway")
    assert gateway.status.status_code == StatusCode.ERROR
    assert gateway.attributes["refund.status"] == "failed"
    assert gateway.attributes["refund.error_code"] == "refund_declined"
    (event,) = [e for e in gateway.events if e.name == "exception"]
    assert "GatewayDeclined" in event.attributes["exception.type"]
    assert spans.one("refund.process").attributes["refund.status"] == "failed"


# --- context carried into Celery tasks through the broker ---

_seen: list = []
PROBE_QUEUE = "observability-probe"


@app.task(name="tests.observability.record_trace_context")
def record_trace_context() -> None:
    _seen.append(trace.get_current_span().get_span_context())


def test_a_queued_task_continues_the_trace_that_queued_it(spans):
    """Published through the (in-memory) broker and run by a real worker in a thread: the
    message carries the caller's context and the worker's span continues it."""
    from celery.contrib.testing.worker import start_worker

    _seen.clear()
    app.conf.task_always_eager = False
    reset_broker_connections()  # another test may have closed the cached broker pool
    try:
        with tracing.span("test.enqueue") as parent:
            record_trace_context.apply_async(queue=PROBE_QUEUE)
        # Its own queue, so the worker runs nothing else other tests left in the in-memory broker.
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=[PROBE_QUEUE]):
            deadline = time.monotonic() + 20
            while not _seen and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        app.conf.task_always_eager = True
    assert _seen, "the worker never ran the task"
    assert _seen[0].trace_id == parent.get_span_context().trace_id
    run = spans.one("run/tests.observability.record_trace_context")
    publish = spans.one("apply_async/tests.observability.record_trace_context")
    assert spans.parent_of(publish).context == parent.get_span_context()
    assert run.parent.span_id == publish.context.span_id


# --- the bootstrap, in fresh processes ---

BOOTSTRAP = """
import json, django
django.setup()
from opentelemetry import trace
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.instrumentation.django import DjangoInstrumentor
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from config import observability
provider = trace.get_tracer_provider()
assert observability.configure() is provider  # once per process
exporter = observability.span_exporter()
print(json.dumps({
    "provider": type(provider).__name__,
    "exporter": type(exporter).__name__ if exporter else None,
    "django": DjangoInstrumentor().is_instrumented_by_opentelemetry,
    "celery": CeleryInstrumentor().is_instrumented_by_opentelemetry,
    "psycopg": PsycopgInstrumentor().is_instrumented_by_opentelemetry,
    "service": provider.resource.attributes["service.name"],
}))
"""


def _bootstrap(**env) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run([sys.executable, "-c", BOOTSTRAP], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings.test", **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_an_endpoint_spans_flow_but_go_nowhere():
    state = _bootstrap()
    assert state == {"provider": "TracerProvider", "exporter": None, "django": True, "celery": True,
                     "psycopg": False, "service": "returns-platform"}


def test_with_an_endpoint_spans_are_exported_over_otlp_and_queries_traced():
    # Port 9 (discard) on localhost: nothing is sent before the first batch, and the test never waits for it.
    state = _bootstrap(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9", OTEL_SERVICE_NAME="returns-web",
                       OTEL_BSP_SCHEDULE_DELAY="60000", OTEL_EXPORTER_OTLP_TIMEOUT="1")
    assert state["exporter"] == "OTLPSpanExporter"
    assert state["psycopg"] is True and state["django"] is True and state["celery"] is True
    assert state["service"] == "returns-web"
