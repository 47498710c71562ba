"""The database session of a request or worker is dropped in the middle of its work (a failover,
a network cut, an admin killing sessions). What was committed stays, what was not is rolled back
whole, and the sweepers finish the job: the refund is paid exactly once."""

import pytest
from django.db import DatabaseError, connection

from refunds.choices import EntryKind, RefundStatus
from refunds.models import JournalEntry, Refund, SandboxRefund
from refunds.tasks import process_refund, sweep_stuck_refunds
from returns import services
from returns.choices import ReturnStatus
from returns.models import ReturnLineInspection, ReturnRequest
from tests import factories
from tests.celery import queued_not_run
from tests.resilience.faults import Blocked, raw_connection, row_locked, run_sweepers, terminate
from tests.resilience.invariants import assert_money_safe, assert_nothing_lost

pytestmark = pytest.mark.django_db(transaction=True)


def pending_refund(order, customer, warehouse) -> Refund:
    """A refund created by an inspection whose queued messages no worker has taken yet."""
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                   lines=[(order.lines.first(), 2)])
    with queued_not_run():
        factories.inspect_all(rr, by=warehouse)
    return Refund.objects.get(return_request=rr)


def after_the_task_failed() -> None:
    """What Celery's Django fixup does once a task ends: drop a connection that is no longer usable."""
    connection.close_if_unusable_or_obsolete()


def test_session_lost_while_calling_the_gateway_before_it_paid(order, customer, warehouse, gateway):
    refund = pending_refund(order, customer, warehouse)

    with gateway("tests.resilience.gateways.DatabaseLostBeforeTheAnswer"), pytest.raises(DatabaseError):
        process_refund.delay(refund.pk)
    after_the_task_failed()

    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == (RefundStatus.PROCESSING, 1)
    assert not SandboxRefund.objects.exists()
    assert_money_safe()
    assert sweep_stuck_refunds() == 0  # the lease holds: the worker might still be alive

    assert run_sweepers() >= 1
    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == (RefundStatus.COMPLETED, 2)
    assert SandboxRefund.objects.get().reference == refund.gateway_reference
    assert_nothing_lost()


def test_session_lost_after_the_gateway_paid_is_settled_with_the_same_key(order, customer, warehouse, gateway):
    refund = pending_refund(order, customer, warehouse)

    with gateway("tests.resilience.gateways.DatabaseLostAfterTheAnswer"), pytest.raises(DatabaseError):
        process_refund.delay(refund.pk)
    after_the_task_failed()

    refund.refresh_from_db()
    assert refund.status == RefundStatus.PROCESSING
    paid = SandboxRefund.objects.get()  # the money went out; we could not record it
    assert not refund.gateway_attempts.exists()
    assert_money_safe()

    assert run_sweepers() >= 1
    refund.refresh_from_db()
    assert refund.status == RefundStatus.COMPLETED
    assert SandboxRefund.objects.get() == paid and refund.gateway_reference == paid.reference
    attempt = refund.gateway_attempts.get()  # the lost call left no record; the replay did
    assert (attempt.number, attempt.idempotency_key) == (2, refund.idempotency_key)
    assert JournalEntry.objects.filter(kind=EntryKind.GATEWAY_REFUND).count() == 1
    assert_nothing_lost()


def test_inspection_killed_mid_transaction_leaves_nothing_half_done(order, customer, warehouse):
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse)
    inspections = {line.pk: {"condition": "new"} for line in rr.lines.all()}
    history_rows = rr.history.count()

    observer = raw_connection()
    # The inspection writes the inspections, the refund and its ledger entry, then waits for the
    # order (to take back loyalty points): its session is killed right there.
    with row_locked("orders_order", order.pk):
        request = Blocked(lambda: services.return_inspect(return_request=rr.pk, by=warehouse,
                                                          inspections=inspections)).start()
        request.wait_until_waiting_for_a_lock(observer)
        assert request.has_written_to(observer, "refunds_refund")
        assert request.has_written_to(observer, "refunds_journalline")
        terminate(request.pid)
    request.join()
    observer.close()
    assert isinstance(request.error, DatabaseError)

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.RECEIVED and rr.history.count() == history_rows
    assert not Refund.objects.exists() and not JournalEntry.objects.exists()
    assert not ReturnLineInspection.objects.exists()
    assert_money_safe()

    # The warehouse sends the inspection again: it is recorded once and paid once.
    services.return_inspect(return_request=rr.pk, by=warehouse, inspections=inspections)
    run_sweepers()
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED
    assert SandboxRefund.objects.count() == 1
    assert_nothing_lost()


def test_settlement_killed_mid_transaction_is_redone_by_the_sweeper(order, customer, warehouse):
    refund = pending_refund(order, customer, warehouse)
    observer = raw_connection()
    # The worker completes the refund and posts its ledger entry, then waits for the return to
    # mark it refunded: its session is killed right there, after the gateway paid.
    with row_locked("returns_returnrequest", refund.return_request_id):
        worker = Blocked(lambda: process_refund.delay(refund.pk)).start()
        worker.wait_until_waiting_for_a_lock(observer)
        assert SandboxRefund.objects.count() == 1
        assert worker.has_written_to(observer, "refunds_journalline")
        terminate(worker.pid)
    worker.join()
    observer.close()
    assert isinstance(worker.error, DatabaseError)

    refund.refresh_from_db()
    assert refund.status == RefundStatus.PROCESSING  # the completion was rolled back with the session
    assert not JournalEntry.objects.filter(kind=EntryKind.GATEWAY_REFUND).exists()
    assert ReturnRequest.objects.get(pk=refund.return_request_id).status == ReturnStatus.REFUND_PENDING
    assert_money_safe()

    assert run_sweepers() >= 1
    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == (RefundStatus.COMPLETED, 2)
    assert SandboxRefund.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.GATEWAY_REFUND).count() == 1
    assert_nothing_lost()
