"""The payment gateway times out, answers 5xx, declines or is slow. Retries carry the same
idempotency key, so whatever the gateway did or did not do, the customer is paid exactly once."""

from datetime import timedelta

import pytest

from core.errors import ValidationFailed
from refunds import services as refund_services
from refunds.choices import AttemptOutcome, RefundStatus
from refunds.gateways.sandbox import SandboxGateway
from refunds.models import Refund, SandboxRefund
from refunds.reconciliation import reconcile
from refunds.selectors import refunds_due_for_sweep
from refunds.services import refund_process
from refunds.tasks import sweep_stuck_refunds
from returns.choices import ReturnStatus
from tests import factories
from tests.celery import queued_not_run
from tests.resilience.faults import Blocked, run_sweepers, wait_for
from tests.resilience.invariants import assert_money_safe, assert_nothing_lost, payments_made

pytestmark = pytest.mark.django_db


@pytest.fixture
def refund_after(order, customer, warehouse, django_capture_on_commit_callbacks):
    """Script the gateway's next answers, then inspect a return: the refund is paid as a worker would."""

    def run(*faults: str) -> Refund:
        rr = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                       lines=[(order.lines.first(), 2)])
        SandboxGateway.script(*faults)
        with django_capture_on_commit_callbacks(execute=True):
            factories.inspect_all(rr, by=warehouse)
        return Refund.objects.get(return_request=rr)

    return run


@pytest.mark.parametrize("faults", [
    ("timeout_before",),
    ("timeout_after_commit",),
    ("unavailable",),
    ("slow:40",),
    ("unavailable", "timeout_after_commit", "timeout_before", "unavailable", "slow:20"),
    ("timeout_after_commit", "timeout_after_commit", "timeout_after_commit"),
], ids=lambda faults: "+".join(faults))
def test_transient_faults_are_retried_with_one_key_until_paid_once(refund_after, faults):
    refund = refund_after(*faults)

    calls = sum(1 for fault in faults if not fault.startswith("slow")) + 1
    assert (refund.status, refund.attempts) == (RefundStatus.COMPLETED, calls)
    attempts = list(refund.gateway_attempts.order_by("id"))
    assert [a.outcome for a in attempts][-1] == AttemptOutcome.SUCCEEDED
    assert {a.idempotency_key for a in attempts} == {refund.idempotency_key}
    if faults[0].startswith("slow"):
        assert attempts[0].latency_ms >= int(faults[0].split(":")[1])
    assert SandboxRefund.objects.get().reference == refund.gateway_reference
    assert refund.return_request.status == ReturnStatus.REFUNDED
    assert_nothing_lost()


def test_backoff_waits_between_tries_and_the_sweeper_takes_them_up(refund_after, refunds_settings):
    with refunds_settings(BACKOFF_BASE_SECONDS=60.0, BACKOFF_MAX_SECONDS=3600.0):
        refund = refund_after("unavailable", "unavailable")
        assert (refund.status, refund.attempts) == (RefundStatus.FAILED, 1)
        wait = refund.next_attempt_at - refund.gateway_attempts.get().started_at
        assert timedelta(seconds=30) <= wait <= timedelta(seconds=91)  # 60 s with jitter
        assert_money_safe()

        run_sweepers()

    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == (RefundStatus.COMPLETED, 3)
    assert_nothing_lost()


def test_retries_run_out_after_the_gateway_paid_finance_cannot_pay_again(refund_after, refunds_settings, finance,
                                                                          django_capture_on_commit_callbacks):
    with refunds_settings(MAX_ATTEMPTS=3):
        refund = refund_after("timeout_after_commit", "timeout_before", "unavailable")
    assert (refund.status, refund.needs_attention) == (RefundStatus.FAILED, True)
    assert SandboxRefund.objects.count() == 1  # the first call paid; nobody heard
    assert_money_safe()

    for method in ("store_credit", "cheque"):
        with pytest.raises(ValidationFailed) as refused:
            refund_services.refund_fall_back(refund=refund, by=finance, method=method)
        assert refused.value.code == "gateway_outcome_unknown"
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED and payments_made(refund) == 1

    with django_capture_on_commit_callbacks(execute=True):
        refund_services.refund_retry(refund=refund, by=finance)  # the same key learns the gateway paid
    refund.refresh_from_db()
    assert refund.status == RefundStatus.COMPLETED
    assert refund.gateway_reference == SandboxRefund.objects.get().reference
    assert_nothing_lost()


def test_a_decline_after_the_gateway_paid_is_not_believed(refund_after, refunds_settings, finance):
    """A real gateway replays a key it has seen; it cannot decline a refund it has made."""
    refund = refund_after("timeout_after_commit", "decline")

    assert refund.status == RefundStatus.COMPLETED and refund.attempts == 2
    assert SandboxRefund.objects.count() == 1
    assert_nothing_lost()


@pytest.mark.parametrize("method", ["store_credit", "cheque"])
def test_a_clear_decline_is_paid_another_way_once(refund_after, finance, method):
    refund = refund_after("decline")
    assert (refund.status, refund.needs_attention) == (RefundStatus.FAILED, True)

    refund_services.refund_fall_back(refund=refund, by=finance, method=method)
    if method == "cheque":
        refund_services.refund_mark_cheque_issued(refund=refund, by=finance, cheque_number="000123")
    refund.refresh_from_db()

    assert refund.status == RefundStatus.FALLBACK and payments_made(refund) == 1
    assert not SandboxRefund.objects.exists()
    with pytest.raises(ValidationFailed):
        refund_services.refund_fall_back(refund=refund, by=finance, method=method)
    assert run_sweepers() == 0
    assert reconcile().ok
    assert_nothing_lost()


@pytest.mark.django_db(transaction=True)
def test_a_gateway_slower_than_the_lease_is_redriven_and_still_pays_once(order, customer, warehouse,
                                                                         refunds_settings):
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse)
    with queued_not_run():
        factories.inspect_all(rr, by=warehouse)
    refund = Refund.objects.get(return_request=rr)
    SandboxGateway.script("slow:2500")

    with refunds_settings(PROCESSING_LEASE_SECONDS=1):
        first = Blocked(lambda: refund_process(refund_id=refund.pk)).start()
        wait_for(lambda: not SandboxGateway._script, what="the first worker to call the gateway")
        wait_for(lambda: refunds_due_for_sweep(pending_stale_seconds=120).filter(pk=refund.pk).exists(),
                 what="the lease to lapse")
        # The first worker still waits for the gateway: to the sweeper it looks dead.
        assert sweep_stuck_refunds() == 1
        refund.refresh_from_db()
        assert (refund.status, refund.attempts) == (RefundStatus.COMPLETED, 2)
        first.join()

    assert first.error is None and first.result.status == RefundStatus.COMPLETED
    assert SandboxRefund.objects.count() == 1
    outcomes = set(refund.gateway_attempts.values_list("outcome", "idempotency_key"))
    assert outcomes == {(AttemptOutcome.SUCCEEDED, refund.idempotency_key)}
    assert refund.gateway_attempts.count() == 2
    assert_nothing_lost()
