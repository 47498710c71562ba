"""Early-refund recovery under races, on real connections: a late scan against the deadline task,
the recovery run many times at once, and two returns of one customer recovered together."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from fraud.choices import SignalKind
from fraud.models import FraudSignal
from refunds.choices import EntryKind, RefundStatus
from refunds.early_refunds import early_refund_recover_overdue
from refunds.models import EarlyRefundRecovery, EarlyRefundRevocation, JournalEntry, SandboxRefund
from refunds.reconciliation import reconcile
from refunds.tasks import recover_overdue_early_refunds
from returns import services
from returns.choices import RefundTiming, ReturnStatus
from tests import factories
from tests.concurrency import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 8


def _refunded_at_request_days_ago(customer, order, days: int):
    """A return refunded when it was authorised `days` ago, its parcel never scanned since."""
    factories.rules_pay_refunds(RefundTiming.AT_REQUEST)
    with time_machine.travel(timezone.now() - timedelta(days=days), tick=True):
        rr = services.return_request_create(by=customer, order_id=order.pk,
                                            lines=[factories.line_request(order.lines.first(), 1)])
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.AUTHORIZED and rr.refund.status == RefundStatus.COMPLETED
    return rr


def test_the_recovery_run_many_times_at_once_books_one_receivable(order, customer):
    rr = _refunded_at_request_days_ago(customer, order, days=10)
    results = run_at_once(THREADS, lambda i: early_refund_recover_overdue(return_request=rr.pk))
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len([r for r in results if r is not None]) == 1
    assert EarlyRefundRecovery.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.EARLY_REFUND_UNEARNED).count() == 1
    assert FraudSignal.objects.filter(kind=SignalKind.EARLY_REFUND_UNEARNED).count() == 1
    assert EarlyRefundRevocation.objects.count() == 1
    assert SandboxRefund.objects.count() == 1
    assert reconcile().ok, reconcile().problems


def test_a_late_scan_racing_the_deadline_task_never_books_two_receivables(shop, customer):
    returns = []
    for _ in range(4):
        order = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
        returns.append(_refunded_at_request_days_ago(customer, order, days=10))
    for rr in returns:
        def race(i, pk=rr.pk):
            if i == 0:
                return services.return_mark_in_transit(return_request=pk)
            return early_refund_recover_overdue(return_request=pk)

        results = run_at_once(3, race)  # the scan, and the deadline task from two beat runs
        assert not [r for r in results if isinstance(r, BaseException)], results
        rr.refresh_from_db()
        assert rr.status == ReturnStatus.IN_TRANSIT  # the scan is recorded either way
        # The deadline had passed: whichever ran first, at most one receivable, and the task finds nothing more.
        assert EarlyRefundRecovery.objects.filter(return_request=rr).count() <= 1
    assert recover_overdue_early_refunds() == 0
    recovered = EarlyRefundRecovery.objects.count()
    assert JournalEntry.objects.filter(kind=EntryKind.EARLY_REFUND_UNEARNED).count() == recovered
    assert EarlyRefundRevocation.objects.count() == (1 if recovered else 0)
    assert reconcile().ok, reconcile().problems


def test_a_scan_after_the_recovery_does_not_undo_it(order, customer):
    rr = _refunded_at_request_days_ago(customer, order, days=10)
    assert recover_overdue_early_refunds() == 1
    services.return_mark_in_transit(return_request=rr.pk)
    assert recover_overdue_early_refunds() == 0
    assert EarlyRefundRecovery.objects.count() == 1
    assert reconcile().ok


def test_two_returns_of_one_customer_recovered_at_once_withdraw_early_refunds_once(shop, customer):
    returns = []
    for _ in range(2):
        order = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
        returns.append(_refunded_at_request_days_ago(customer, order, days=10))
    results = run_at_once(2, lambda i: early_refund_recover_overdue(return_request=returns[i].pk))
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert EarlyRefundRecovery.objects.count() == 2
    revocation = EarlyRefundRevocation.objects.get()
    assert revocation.customer == customer and revocation.active
    assert reconcile().ok, reconcile().problems
