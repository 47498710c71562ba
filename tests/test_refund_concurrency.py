"""Many workers and many clicks on one refund: the gateway pays once."""

import pytest
from django.conf import settings
from django.test import override_settings

from core.errors import InvalidTransition
from refunds.choices import EntryKind, RefundStatus
from refunds.models import JournalEntry, Refund, RefundAttempt, SandboxRefund
from refunds.reconciliation import reconcile
from refunds.services import refund_process
from returns import services
from returns.choices import ReturnStatus
from tests import factories
from tests.celery import queued_not_run
from tests.concurrency import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 16


def test_sixteen_workers_processing_one_refund_pay_once(order, customer, warehouse):
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse)
    with queued_not_run():
        factories.inspect_all(rr, by=warehouse)
    refund = Refund.objects.get(return_request=rr)
    assert refund.status == RefundStatus.PENDING

    slow = {**settings.REFUNDS, "GATEWAY_OPTIONS": {**settings.REFUNDS["GATEWAY_OPTIONS"], "latency_ms": 200}}
    with override_settings(REFUNDS=slow):
        results = run_at_once(THREADS, lambda i: refund_process(refund_id=refund.pk))

    assert all(not isinstance(r, BaseException) for r in results), results
    refund.refresh_from_db()
    assert refund.status == RefundStatus.COMPLETED
    assert SandboxRefund.objects.count() == 1
    assert RefundAttempt.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.GATEWAY_REFUND).count() == 1
    assert refund.return_request.status == ReturnStatus.REFUNDED
    assert reconcile().ok


def test_sixteen_inspectors_finishing_one_return_issue_one_refund(order, customer, warehouse):
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse)
    inspections = {line.pk: {"condition": "new"} for line in rr.lines.all()}
    results = run_at_once(THREADS, lambda i: services.return_inspect(return_request=rr.pk, by=warehouse,
                                                                     inspections=inspections))
    succeeded = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, InvalidTransition)]
    assert len(succeeded) == 1 and len(refused) == THREADS - 1
    assert Refund.objects.count() == 1
    assert SandboxRefund.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.REFUND_APPROVED).count() == 1
    assert reconcile().ok
