"""JSON logs that say which request, user, RMA and trace a line belongs to; the request id
echoed to the caller; an audit line for every decision."""

import io
import json
import logging
import re

import pytest

from core.logcontext import ContextFilter
from refunds import services as refund_services
from refunds.gateways.sandbox import SandboxGateway
from returns import services
from returns.choices import Condition, ReviewMode
from tests import factories
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_lines():
    """What the configured console handler writes (JSON, through the context filter), one dict a line."""
    (handler,) = [h for h in logging.getLogger().handlers if any(isinstance(f, ContextFilter) for f in h.filters)]
    stream = io.StringIO()
    previous = handler.setStream(stream)

    def read() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield read
    handler.setStream(previous)


def test_a_request_id_is_taken_from_the_caller_and_echoed(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="edge-7f3a.42")
    assert response["X-Request-ID"] == "edge-7f3a.42"


def test_a_request_id_is_made_when_missing_or_unusable(client):
    made = client.get("/healthz")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/healthz")["X-Request-ID"] != made
    forged = client.get("/healthz", HTTP_X_REQUEST_ID="x" * 300 + "\n<script>")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", forged)


def test_every_record_of_a_request_carries_request_user_rma_and_trace(order, customer, log_lines, spans):
    api = client_for(customer)
    response = api.post("/api/v1/returns", {"order_id": order.pk, "lines": [
        factories.line_request(order.lines.first(), 1)]}, format="json", HTTP_X_REQUEST_ID="req-123")
    assert response.status_code == 201, response.content
    rma = response.json()["rma_number"]
    assert response["X-Request-ID"] == "req-123"

    (line,) = [line for line in log_lines() if line["message"] == "return requested"]
    server = next(span for span in spans.all() if span.kind.name == "SERVER")
    assert line["levelname"] == "INFO" and line["name"] == "returns.services"
    assert line["request_id"] == "req-123"
    assert line["user_id"] == customer.pk
    assert line["rma"] == rma
    assert line["trace_id"] == format(server.context.trace_id, "032x")
    assert re.fullmatch(r"[0-9a-f]{16}", line["span_id"])
    assert spans.one("return.initiate").attributes["return.rma_id"] == rma
    assert server.attributes["http.request_id"] == "req-123"


def test_records_outside_a_request_have_no_request_fields(log_lines):
    logging.getLogger("returns.test").warning("on its own")
    (line,) = [line for line in log_lines() if line["message"] == "on its own"]
    assert "request_id" not in line and "rma" not in line and "trace_id" not in line


def test_a_task_s_records_carry_its_id_and_the_rma_it_works_on(order, customer, warehouse, log_lines,
                                                               django_capture_on_commit_callbacks):
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                   lines=[(order.lines.first(), 1)])
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)
    sent = [line for line in log_lines() if line["message"] == "customer e-mail sent"]
    assert sent and all(line["rma"] == rr.rma_number and line["task"] == "notifications.tasks.send_notification"
                        and line["task_id"] and line["trace_id"] for line in sent)


# --- the audit log ---

@pytest.fixture
def audit(caplog):
    caplog.set_level(logging.INFO, logger="audit")

    def events() -> list[logging.LogRecord]:
        return [record for record in caplog.records if record.name == "audit"]

    return events


def test_decisions_are_audited_once_committed(order, customer, reviewer, audit, django_capture_on_commit_callbacks):
    factories.policy(None, review_mode=ReviewMode.MANUAL)
    lines = [factories.line_request(order.lines.first(), 1)]
    with django_capture_on_commit_callbacks(execute=True):
        approved = services.return_request_create(by=customer, order_id=order.pk, lines=lines)
        rejected = services.return_request_create(
            by=customer, order_id=order.pk, lines=[factories.line_request(order.lines.last(), 1)])
    assert audit() == []  # a request is not a decision
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.return_approve(return_request=approved, by=reviewer, reason="Looks fine")
        assert audit() == []  # not before the commit
    assert callbacks
    with django_capture_on_commit_callbacks(execute=True):
        services.return_reject(return_request=rejected, by=reviewer, reason="Worn")
        services.return_cancel(return_request=approved, by=customer)

    approve, reject, cancel = audit()
    assert (approve.event, approve.rma, approve.actor, approve.actor_type, approve.from_status, approve.to_status,
            approve.reason) == ("return.approved", approved.rma_number, "agent", "staff", "requested", "authorized",
                                "Looks fine")
    assert (reject.event, reject.rma, reject.reason, reject.actor_id) == ("return.rejected", rejected.rma_number,
                                                                         "Worn", reviewer.pk)
    assert (cancel.event, cancel.actor, cancel.actor_type) == ("return.cancelled", "alice", "customer")
    assert all(re.fullmatch(r"[0-9a-f]{32}", record.trace_id) for record in audit())


def test_an_automatic_approval_is_audited_as_the_system(order, customer, audit, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk,
                                            lines=[factories.line_request(order.lines.first(), 1)])
    (approve,) = audit()
    assert (approve.event, approve.rma, approve.actor_type) == ("return.approved", rr.rma_number, "system")


def test_refund_outcomes_are_audited(shop, customer, warehouse, finance, audit, django_capture_on_commit_callbacks):
    order = factories.make_order(customer=customer, lines=[(shop.shirt, 2, "25.00", "2.00")])
    SandboxGateway.script("decline")
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                   lines=[(order.lines.first(), 1)])
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)
    with django_capture_on_commit_callbacks(execute=True):
        refund_services.refund_fall_back(refund=rr.refund, by=finance, method="store_credit", reason="Card closed")
    events = [(r.event, r.to_status) for r in audit() if r.event.startswith("refund.")]
    assert events == [("refund.failed", "failed"), ("refund.fallback", "fallback")]
    failed, fallback = [r for r in audit() if r.event.startswith("refund.")]
    assert (failed.failure_code, failed.needs_attention, failed.amount, failed.currency) == (
        "refund_declined", True, "27.00", "USD")
    assert (fallback.actor, fallback.method, fallback.reason) == ("finance", "store_credit", "Card closed")

    order2 = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
    paid = factories.received_return(order=order2, customer=customer, warehouse=warehouse)
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(paid, by=warehouse)
    (completed,) = [r for r in audit() if r.event == "refund.completed"]
    assert (completed.rma, completed.actor_type, completed.gateway_reference) == (
        paid.rma_number, "system", paid.refund.gateway_reference)


def test_an_inspection_correction_is_audited(order, customer, warehouse, supervisor, audit,
                                            django_capture_on_commit_callbacks):
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                   lines=[(order.lines.first(), 1)])
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse, condition=Condition.LIKE_NEW)
    assert not [r for r in audit() if r.event == "inspection.corrected"]  # a first inspection is no correction
    with django_capture_on_commit_callbacks(execute=True):
        services.inspection_correct(return_line=rr.lines.get(), by=supervisor, condition=Condition.DAMAGED)
    (corrected,) = [r for r in audit() if r.event == "inspection.corrected"]
    assert (corrected.rma, corrected.actor, corrected.from_condition, corrected.to_condition, corrected.revision) == (
        rr.rma_number, "supervisor", "like_new", "damaged", 2)
