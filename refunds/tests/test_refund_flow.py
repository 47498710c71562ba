"""Refund processing on the sandbox gateway: success, retries, fallbacks and finance actions."""

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from core.errors import PermissionDenied, ValidationFailed
from orders.models import LoyaltyReversal
from refunds import ledger, services
from refunds.choices import AttemptOutcome, EntryKind, RefundStatus
from refunds.gateways.sandbox import SandboxGateway
from refunds.models import JournalEntry, RefundAttempt, SandboxRefund
from refunds.reconciliation import reconcile
from refunds.tasks import sweep_stuck_refunds
from returns.choices import ReturnStatus
from tests import factories

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def inspect_and_pay(warehouse, django_capture_on_commit_callbacks):
    def run(return_request, condition="new"):
        with django_capture_on_commit_callbacks(execute=True):
            factories.inspect_all(return_request, by=warehouse, condition=condition)
        return_request.refresh_from_db()
        return return_request
    return run


def _return(order, customer, warehouse, **kwargs):
    return factories.received_return(order=order, customer=customer, warehouse=warehouse, **kwargs)


def test_refund_to_original_payment_posts_balanced_entries(order, customer, warehouse, inspect_and_pay):
    shirts = order.lines.first()
    rr = inspect_and_pay(_return(order, customer, warehouse, lines=[(shirts, 2)]))
    refund = rr.refund
    assert rr.status == ReturnStatus.REFUNDED
    assert (refund.status, refund.net, refund.attempts) == (RefundStatus.COMPLETED, D("54.00"), 1)
    assert refund.gateway_reference == SandboxRefund.objects.get().reference
    kinds = list(refund.journal_entries.values_list("kind", flat=True))
    assert kinds == [EntryKind.REFUND_APPROVED, EntryKind.GATEWAY_REFUND]
    assert ledger.balance(ledger.account(ledger.GATEWAY_CLEARING), "USD") == D("-54.00")
    assert ledger.balance(ledger.account(ledger.REFUNDS_PAYABLE), "USD") == 0
    attempt = refund.gateway_attempts.get()
    assert attempt.outcome == AttemptOutcome.SUCCEEDED
    assert attempt.idempotency_key == refund.idempotency_key
    assert reconcile().ok


def test_whole_order_back_refunds_shipping_and_fee_by_condition(order, customer, warehouse, inspect_and_pay):
    rr = inspect_and_pay(_return(order, customer, warehouse), condition="like_new")
    refund = rr.refund
    # 2 × 27.00 + 132.00 = 186.00; 10 % fee on like-new; shipping 9.95 back because everything came back.
    assert (refund.gross, refund.restocking_fee, refund.shipping_refund) == (D("186.00"), D("18.60"), D("9.95"))
    assert refund.net == D("177.35")
    assert sum(D(line["restocking_fee"]) for line in refund.breakdown["lines"]) == D("18.60")
    assert ledger.balance(ledger.account(ledger.RESTOCKING_FEE_INCOME), "USD") == D("-18.60")
    assert reconcile().ok


def test_shipping_comes_back_only_with_the_last_unit_across_returns(order, customer, warehouse, inspect_and_pay):
    shirts, jacket = order.lines.all()
    first = inspect_and_pay(_return(order, customer, warehouse, lines=[(shirts, 2)]))
    assert first.refund.shipping_refund == 0
    second = inspect_and_pay(_return(order, customer, warehouse, lines=[(jacket, 1)]))
    assert second.refund.shipping_refund == D("9.95")


def test_store_credit_with_bonus_is_a_ledger_balance(order, customer, warehouse, inspect_and_pay):
    rr = inspect_and_pay(_return(order, customer, warehouse, lines=[(order.lines.first(), 2)],
                                 refund_method="store_credit"))
    refund = rr.refund
    assert refund.status == RefundStatus.COMPLETED and rr.status == ReturnStatus.REFUNDED
    assert refund.store_credit_bonus == D("2.70")  # 5 % of 54.00
    assert ledger.store_credit_balance(customer, "USD") == D("56.70")
    assert not SandboxRefund.objects.exists() and not RefundAttempt.objects.exists()
    assert reconcile().ok


def test_transient_failures_retry_with_the_same_key_until_success(order, customer, warehouse, inspect_and_pay):
    SandboxGateway.script("unavailable", "timeout_before")
    rr = inspect_and_pay(_return(order, customer, warehouse, lines=[(order.lines.first(), 1)]))
    refund = rr.refund
    assert refund.status == RefundStatus.COMPLETED and refund.attempts == 3
    outcomes = list(refund.gateway_attempts.values_list("outcome", "idempotency_key"))
    assert [o for o, _ in outcomes] == [AttemptOutcome.TRANSIENT_ERROR, AttemptOutcome.TIMEOUT,
                                        AttemptOutcome.SUCCEEDED]
    assert {key for _, key in outcomes} == {refund.idempotency_key}
    assert SandboxRefund.objects.count() == 1


def test_timeout_after_the_gateway_recorded_the_refund_pays_once(order, customer, warehouse, inspect_and_pay):
    SandboxGateway.script("timeout_after_commit")
    rr = inspect_and_pay(_return(order, customer, warehouse, lines=[(order.lines.first(), 1)]))
    assert rr.refund.status == RefundStatus.COMPLETED
    assert rr.refund.gateway_attempts.count() == 2
    assert SandboxRefund.objects.count() == 1
    assert SandboxRefund.objects.get().amount == rr.refund.net


@override_settings(REFUNDS={**settings.REFUNDS, "MAX_ATTEMPTS": 3})
def test_exhausted_retries_hand_the_refund_to_finance_with_an_alert(order, customer, warehouse, inspect_and_pay,
                                                                    caplog):
    SandboxGateway.script("unavailable", "unavailable", "unavailable")
    with caplog.at_level(logging.CRITICAL, logger="refunds.services"):
        rr = inspect_and_pay(_return(order, customer, warehouse, lines=[(order.lines.first(), 1)]))
    refund = rr.refund
    assert (refund.status, refund.attempts, refund.needs_attention) == (RefundStatus.FAILED, 3, True)
    assert rr.status == ReturnStatus.REFUND_PENDING
    assert any(r.levelno == logging.CRITICAL and "refund needs finance" in r.getMessage() for r in caplog.records)
    assert sweep_stuck_refunds() == 0  # finance decides now, not the sweeper
    assert reconcile().ok


def test_hard_decline_goes_straight_to_finance(order, customer, warehouse, inspect_and_pay):
    SandboxGateway.script("decline")
    refund = inspect_and_pay(_return(order, customer, warehouse, lines=[(order.lines.first(), 1)])).refund
    assert (refund.status, refund.attempts, refund.needs_attention) == (RefundStatus.FAILED, 1, True)
    assert refund.failure_code == "refund_declined"


def test_partial_refund_of_an_old_charge_falls_back_to_store_credit(shop, customer, warehouse, inspect_and_pay):
    order = factories.make_order(customer=customer, lines=[(shop.shirt, 2, "25.00", "2.00")],
                                 delivered_days_ago=10, charge_days_ago=200)
    rr = inspect_and_pay(_return(order, customer, warehouse, lines=[(order.lines.first(), 1)]))
    refund = rr.refund
    assert (refund.status, refund.fallback_method) == (RefundStatus.FALLBACK, "store_credit")
    assert rr.status == ReturnStatus.REFUNDED
    assert ledger.store_credit_balance(customer, "USD") == D("27.00")
    assert not SandboxRefund.objects.exists()
    # The customer is told, once, through the one way customer e-mails go (notifications outbox).
    (told,) = [message for message in mail.outbox if "is coming as store credit" in message.subject]
    assert rr.rma_number in told.subject and told.to == [customer.email]
    assert "$27.00" in told.body and "27.000" not in told.body
    assert reconcile().ok


def test_finance_retries_or_switches_a_failed_refund(order, customer, warehouse, finance, reviewer,
                                                     inspect_and_pay, django_capture_on_commit_callbacks):
    SandboxGateway.script("decline")
    refund = inspect_and_pay(_return(order, customer, warehouse, lines=[(order.lines.first(), 1)])).refund
    with pytest.raises(PermissionDenied):
        services.refund_retry(refund=refund, by=reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        services.refund_retry(refund=refund, by=finance)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.COMPLETED and refund.attempts == 2
    with pytest.raises(ValidationFailed) as error:
        services.refund_fall_back(refund=refund, by=finance, method="store_credit")
    assert error.value.code == "refund_not_failed"
    assert refund.history.filter(history_user=finance, history_change_reason__contains="retry").exists()


def test_cheque_fallback_is_paid_when_finance_marks_it_issued(order, customer, warehouse, finance, inspect_and_pay):
    SandboxGateway.script("decline")
    refund = inspect_and_pay(_return(order, customer, warehouse, lines=[(order.lines.first(), 2)])).refund
    services.refund_fall_back(refund=refund, by=finance, method="cheque")
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FALLBACK and refund.return_request.status == ReturnStatus.REFUND_PENDING
    assert reconcile().ok  # owed, not yet paid
    with pytest.raises(ValidationFailed) as error:
        services.refund_mark_cheque_issued(refund=refund, by=finance, cheque_number=" ")
    assert error.value.code == "cheque_number_required"
    services.refund_mark_cheque_issued(refund=refund, by=finance, cheque_number="100234")
    refund.refresh_from_db()
    assert refund.return_request.status == ReturnStatus.REFUNDED
    assert refund.journal_entries.filter(kind=EntryKind.CHEQUE_ISSUED).count() == 1
    assert ledger.balance(ledger.account(ledger.CHEQUES_ISSUED), "USD") == D("-54.00")
    assert reconcile().ok
    with pytest.raises(ValidationFailed):
        services.refund_mark_cheque_issued(refund=refund, by=finance, cheque_number="100235")


def test_nothing_owed_closes_the_return(shop, customer, warehouse, inspect_and_pay):
    order = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "0.00", "0.00")], shipping="0")
    rr = inspect_and_pay(_return(order, customer, warehouse))
    assert rr.status == ReturnStatus.CLOSED
    assert not JournalEntry.objects.exists()


def test_loyalty_points_are_reversed_in_proportion(shop, customer, warehouse, inspect_and_pay):
    order = factories.make_order(customer=customer, loyalty_points=100, lines=[
        (shop.shirt, 3, "10.00", "0.00"), (shop.jacket, 1, "70.00", "0.00")])
    shirts, jacket = order.lines.all()
    inspect_and_pay(_return(order, customer, warehouse, lines=[(shirts, 1)]))
    inspect_and_pay(_return(order, customer, warehouse, lines=[(shirts, 2), (jacket, 1)]))
    assert list(LoyaltyReversal.objects.order_by("pk").values_list("points", flat=True)) == [10, 90]


def test_worker_killed_after_gateway_success_is_completed_by_the_sweeper(
        order, customer, warehouse, django_capture_on_commit_callbacks):
    rr = _return(order, customer, warehouse, lines=[(order.lines.first(), 1)])
    dies = {**settings.REFUNDS, "GATEWAY": "refunds.tests.gateways.DiesAfterRefundGateway"}
    with override_settings(REFUNDS=dies), pytest.raises(SystemExit), \
            django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)
    refund = rr.__class__.objects.get(pk=rr.pk).refund
    assert refund.status == RefundStatus.PROCESSING and SandboxRefund.objects.count() == 1
    assert sweep_stuck_refunds() == 0  # the lease has not lapsed: the worker might still be alive
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assert sweep_stuck_refunds() == 1
    refund.refresh_from_db()
    assert refund.status == RefundStatus.COMPLETED and refund.attempts == 2
    assert SandboxRefund.objects.count() == 1
    assert refund.gateway_reference == SandboxRefund.objects.get().reference
    assert reconcile().ok


def test_sweeper_redrives_a_refund_whose_message_was_lost(order, customer, warehouse):
    rr = _return(order, customer, warehouse, lines=[(order.lines.first(), 1)])
    factories.inspect_all(rr, by=warehouse)  # on_commit never runs here: the message is "lost"
    refund = rr.__class__.objects.get(pk=rr.pk).refund
    assert refund.status == RefundStatus.PENDING
    assert sweep_stuck_refunds() == 0
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        assert sweep_stuck_refunds() == 1
    refund.refresh_from_db()
    assert refund.status == RefundStatus.COMPLETED
