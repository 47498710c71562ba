"""Early refunds: paid at the moment the return's timing names, exactly once, and recovered when the
goods never come or fail inspection — with the ledger balanced and reconciliation clean after each."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from prometheus_client import REGISTRY

from core.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from fraud.choices import SignalKind, Stage
from fraud.models import FraudSignal
from refunds import ledger
from refunds.choices import EntryKind, RecoveryCause, RecoveryStatus, RefundStatus
from refunds.early_refunds import early_refund_recover_overdue, early_refund_settle, early_refunds_restore
from refunds.gateways.sandbox import SandboxGateway
from refunds.models import EarlyRefundRecovery, EarlyRefundRevocation, JournalEntry, Refund, SandboxRefund
from refunds.reconciliation import reconcile
from refunds.selectors import early_refunds_held
from refunds.services import refund_fall_back, refund_process, refund_retry
from refunds.tasks import recover_overdue_early_refunds, sweep_stuck_refunds
from returns import resolutions, services
from returns.choices import RefundTiming, ReturnStatus
from returns.tests.resolutions import stock
from tests import factories
from tests.celery import queued_not_run

D = Decimal
T = RefundTiming
pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Call a service and run what it queued on commit (the refund's payment), as a worker would."""
    def call(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            result = service(**kwargs)
        return result
    return call


@pytest.fixture
def request_return(order, customer, run):
    """A return of `lines` ((order line, units, reason) — every line by default) whose refund the
    rules pay at `timing`."""
    def make(timing, *, lines=None, by=None, target_order=None, **kwargs):
        target = target_order or order
        lines = lines or [(line, line.quantity_shipped, "wrong_size") for line in target.lines.all()]
        factories.rules_pay_refunds(timing)
        rr = run(services.return_request_create, by=by or customer, order_id=target.pk,
                 lines=[factories.line_request(ol, qty, reason=reason) for ol, qty, reason in lines], **kwargs)
        rr.refresh_from_db()
        return rr
    return make


def _ship(rr, run):
    run(services.return_mark_in_transit, return_request=rr)
    rr.refresh_from_db()
    return rr


def _receive(rr, run, warehouse, **received):
    run(services.return_receive, return_request=rr, by=warehouse, received_quantities=received or None)
    rr.refresh_from_db()
    return rr


def _inspect(rr, run, warehouse, condition="new", conditions=None):
    inspections = {line.pk: {"condition": (conditions or {}).get(line.pk, condition)}
                   for line in rr.lines.all() if line.received_quantity}
    run(services.return_inspect, return_request=rr, by=warehouse, inspections=inspections)
    rr.refresh_from_db()
    return rr


def _receivable() -> Decimal:
    return ledger.balance(ledger.account(ledger.EARLY_REFUND_RECEIVABLE), "USD")


def _assert_books_clean():
    report = reconcile()
    assert report.ok, report.problems
    assert all(total == 0 for total in report.trial_balance.values())


def _metric(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- each timing pays at its moment, once ---

def test_paid_at_request_when_authorised_and_never_again(request_return, run, warehouse):
    paid_before = _metric("rma_early_refunds_total", timing="at_request")
    rr = request_return(T.AT_REQUEST)
    assert rr.status == ReturnStatus.AUTHORIZED
    refund = rr.refund
    # 2 × 27.00 + 132.00 back, and the shipping 9.95 as everything comes back; no fee assumed.
    assert (refund.timing, refund.status, refund.net) == (T.AT_REQUEST, RefundStatus.COMPLETED, D("195.95"))
    assert SandboxRefund.objects.count() == 1
    assert _metric("rma_early_refunds_total", timing="at_request") == paid_before + 1
    refunded_mails = [m for m in mail.outbox if "before it reaches us" in m.body]
    assert len(refunded_mails) == 1 and "$195.95" in refunded_mails[0].body
    _assert_books_clean()

    rr = _inspect(_receive(_ship(rr, run), run, warehouse), run, warehouse)
    assert rr.status == ReturnStatus.CLOSED
    assert Refund.objects.count() == 1 and SandboxRefund.objects.count() == 1
    assert refund.gateway_attempts.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.REFUND_APPROVED).count() == 1
    assert not EarlyRefundRecovery.objects.exists() and not FraudSignal.objects.filter(
        kind=SignalKind.EARLY_REFUND_UNEARNED).exists()
    history = list(rr.history.values_list("status", flat=True))
    assert ReturnStatus.IN_TRANSIT in history and ReturnStatus.RECEIVED in history
    assert len([m for m in mail.outbox if "refund" in m.subject.lower()]) == 1  # told once
    _assert_books_clean()


def test_paid_at_the_first_scan(request_return, run, warehouse):
    rr = request_return(T.FIRST_SCAN)
    assert rr.status == ReturnStatus.AUTHORIZED and not Refund.objects.exists()
    rr = _ship(rr, run)
    assert rr.status == ReturnStatus.IN_TRANSIT
    assert (rr.refund.timing, rr.refund.status) == (T.FIRST_SCAN, RefundStatus.COMPLETED)
    _ship(rr, run)  # the carrier scans again
    _assert_books_clean()
    rr = _inspect(_receive(rr, run, warehouse), run, warehouse)
    assert rr.status == ReturnStatus.CLOSED
    assert SandboxRefund.objects.count() == 1
    _assert_books_clean()


def test_paid_at_receipt_for_what_arrived(request_return, run, warehouse, order):
    shirts = order.lines.get(product__sku="shirt-blue-m")
    rr = request_return(T.AT_RECEIPT)
    rr = _ship(rr, run)
    assert not Refund.objects.exists()
    short_line = rr.lines.get(order_line=shirts)
    rr = _receive(rr, run, warehouse, **{str(short_line.pk): 1})
    # One shirt and the jacket arrived: 27.00 + 132.00, no shipping as not everything came back.
    assert (rr.refund.timing, rr.refund.status, rr.refund.net) == (T.AT_RECEIPT, RefundStatus.COMPLETED, D("159.00"))
    rr = _inspect(rr, run, warehouse)
    assert rr.status == ReturnStatus.CLOSED
    assert not EarlyRefundRecovery.objects.exists()  # it paid for what arrived: nothing unearned
    assert SandboxRefund.objects.count() == 1
    _assert_books_clean()


def test_first_scan_timing_pays_at_receipt_when_the_parcel_was_never_scanned(request_return, run, warehouse):
    rr = _receive(request_return(T.FIRST_SCAN), run, warehouse)
    assert (rr.status, rr.refund.timing, rr.refund.status) == (
        ReturnStatus.RECEIVED, T.FIRST_SCAN, RefundStatus.COMPLETED)
    _assert_books_clean()


def test_after_inspection_is_the_default_and_pays_on_inspection(order, customer, run, warehouse):
    rr = run(services.return_request_create, by=customer, order_id=order.pk,
             lines=[factories.line_request(order.lines.first(), 1)])
    assert rr.refund_timing == T.AFTER_INSPECTION
    rr = _receive(_ship(rr, run), run, warehouse)
    assert not Refund.objects.exists()
    rr = _inspect(rr, run, warehouse)
    assert rr.status == ReturnStatus.REFUNDED and rr.refund.timing == T.AFTER_INSPECTION


def test_early_refund_still_being_paid_at_inspection_waits_for_the_payment(request_return, run, warehouse):
    with queued_not_run():
        rr = request_return(T.AT_REQUEST)
    refund = rr.refund
    assert refund.status == RefundStatus.PENDING
    _assert_books_clean()  # unpaid, its return still authorised
    with queued_not_run():
        rr = _inspect(_receive(_ship(rr, run), run, warehouse), run, warehouse)
    assert rr.status == ReturnStatus.REFUND_PENDING
    assert Refund.objects.count() == 1
    _assert_books_clean()
    refund_process(refund_id=refund.pk)
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED and SandboxRefund.objects.count() == 1
    _assert_books_clean()


def test_the_sweeper_paying_an_early_refund_leaves_the_return_on_its_way(request_return, run):
    with queued_not_run():
        rr = request_return(T.AT_REQUEST)
    refund_process(refund_id=rr.refund.pk)
    rr.refresh_from_db()
    assert (rr.status, rr.refund.status) == (ReturnStatus.AUTHORIZED, RefundStatus.COMPLETED)
    _assert_books_clean()


def test_a_return_kept_whole_or_an_exchange_is_refunded_after_inspection(shop, customer, order, run):
    factories.policy(None, returnless_below=D("30.00"))
    factories.rules_pay_refunds(T.AT_REQUEST)
    rr = run(services.return_request_create, by=customer, order_id=order.pk,
             lines=[factories.line_request(order.lines.first(), 1)])
    assert rr.refund_timing == T.AFTER_INSPECTION and "Nothing comes back" in rr.refund_timing_reason
    jacket = order.lines.get(product=shop.jacket)
    stock(shop.jacket, 5)
    quote = services.return_quote_request(by=customer, order_id=order.pk,
                                          lines=[factories.line_request(jacket, 1, resolution="exchange")])
    assert quote.refund_timing == T.AFTER_INSPECTION
    assert "exchanges" in quote.refund_timing_reason


# --- parcel on time: nothing flagged ---

def test_parcel_on_time_flags_nothing(request_return, run, warehouse, customer):
    rr = _ship(request_return(T.AT_REQUEST), run)
    with time_machine.travel(timezone.now() + timedelta(days=10)):
        assert recover_overdue_early_refunds() == 0
        rr = _inspect(_receive(rr, run, warehouse), run, warehouse)
        assert recover_overdue_early_refunds() == 0
    assert rr.status == ReturnStatus.CLOSED
    assert not EarlyRefundRecovery.objects.exists()
    assert not EarlyRefundRevocation.objects.exists()
    assert _receivable() == 0
    _assert_books_clean()


def test_the_deadline_counts_from_authorisation_and_from_the_scan(request_return, run):
    rr = request_return(T.AT_REQUEST)
    with time_machine.travel(timezone.now() + timedelta(days=6)):
        assert recover_overdue_early_refunds() == 0  # the scan deadline is 7 days
        rr = _ship(rr, run)
    with time_machine.travel(timezone.now() + timedelta(days=6 + 13)):
        assert recover_overdue_early_refunds() == 0  # the receipt deadline is 14 days from the scan
    assert not EarlyRefundRecovery.objects.exists()


# --- deadline missed ---

def test_parcel_not_scanned_by_the_deadline_is_recovered(request_return, run, customer, order):
    recovered_before = _metric("rma_early_refund_recoveries_total", cause="not_scanned")
    rr = request_return(T.AT_REQUEST)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert run(recover_overdue_early_refunds) == 1
        assert recover_overdue_early_refunds() == 0  # safe to run twice
        assert early_refund_recover_overdue(return_request=rr.pk) is None
    recovery = EarlyRefundRecovery.objects.get()
    assert (recovery.cause, recovery.amount, recovery.status) == (
        RecoveryCause.NOT_SCANNED, D("195.95"), RecoveryStatus.OPEN)
    assert recovery.refund == rr.refund and recovery.customer == customer
    assert _receivable() == D("195.95")
    assert JournalEntry.objects.filter(kind=EntryKind.EARLY_REFUND_UNEARNED).count() == 1
    signal = FraudSignal.objects.get(kind=SignalKind.EARLY_REFUND_UNEARNED)
    assert (signal.return_request, signal.stage, signal.evidence["cause"]) == (rr, Stage.SHIPPING, "not_scanned")
    revocation = EarlyRefundRevocation.objects.get(customer=customer)
    assert revocation.active and revocation.recovery == recovery and rr.rma_number in revocation.reason
    assert revocation.history.count() == 1 and recovery.history.count() == 1
    assert _metric("rma_early_refund_recoveries_total", cause="not_scanned") == recovered_before + 1
    _assert_books_clean()


def test_parcel_scanned_but_not_received_by_the_deadline_is_recovered(request_return, run):
    rr = _ship(request_return(T.FIRST_SCAN), run)
    with time_machine.travel(timezone.now() + timedelta(days=15)):
        assert recover_overdue_early_refunds() == 1
    recovery = EarlyRefundRecovery.objects.get()
    assert (recovery.cause, recovery.amount) == (RecoveryCause.NOT_RECEIVED, rr.refund.net)
    _assert_books_clean()


def test_an_early_refund_not_paid_by_the_deadline_waits_for_the_parcel(request_return, run, client, customer):
    client.force_login(customer)
    with queued_not_run():
        rr = request_return(T.AT_REQUEST)  # its payment message is lost
    refund = rr.refund
    with time_machine.travel(timezone.now() + timedelta(days=8)):  # the scan deadline is 7 days
        assert list(early_refunds_held(now=timezone.now())) == [refund]
        assert refund_process(refund_id=refund.pk).status == RefundStatus.PENDING
        assert sweep_stuck_refunds() == 0
        assert recover_overdue_early_refunds() == 0  # nothing was paid: nothing to recover
        portal = client.get(reverse("portal:return", args=[rr.rma_number])).content.decode()
        assert "On hold: it is paid once your parcel is scanned or reaches us" in portal
        refund.refresh_from_db()
        assert (refund.status, refund.attempts) == (RefundStatus.PENDING, 0)
        assert not SandboxRefund.objects.exists()
        _assert_books_clean()

        rr = _ship(rr, run)  # the parcel turns up late: the sweeper pays it
        assert not early_refunds_held(now=timezone.now()).exists()
        assert "On hold" not in client.get(reverse("portal:return", args=[rr.rma_number])).content.decode()
        assert run(sweep_stuck_refunds) == 1
    refund.refresh_from_db()
    assert refund.status == RefundStatus.COMPLETED and SandboxRefund.objects.count() == 1
    assert not EarlyRefundRecovery.objects.exists()
    _assert_books_clean()


def test_finance_cannot_pay_a_held_early_refund_before_the_parcel(request_return, run, finance, client):
    SandboxGateway.script("decline")
    rr = request_return(T.AT_REQUEST)
    refund = rr.refund
    assert (refund.status, refund.needs_attention) == (RefundStatus.FAILED, True)
    client.force_login(finance)
    held_queue = {"queue": "held_for_parcel"}
    assert list(client.get(reverse("admin:refunds_refund_changelist"), held_queue).context["cl"].result_list) == []
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        response = client.get(reverse("admin:refunds_refund_changelist"), held_queue)
        assert list(response.context["cl"].result_list) == [refund]
        for attempt in (lambda: refund_retry(refund=refund, by=finance),
                        lambda: refund_fall_back(refund=refund, by=finance, method="store_credit")):
            with pytest.raises(ValidationFailed) as error:
                run(attempt)
            assert error.value.code == "early_refund_held"
        refund.refresh_from_db()
        assert (refund.status, refund.needs_attention, refund.history.count()) == (RefundStatus.FAILED, True, 3)
        _assert_books_clean()

        _ship(rr, run)
        run(refund_retry, refund=refund, by=finance)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.COMPLETED and SandboxRefund.objects.count() == 1
    _assert_books_clean()


def test_a_refund_in_flight_at_the_deadline_is_still_re_driven(request_return, run):
    """Its gateway call may have paid: only re-driving it with the same key finds out."""
    with queued_not_run():
        rr = request_return(T.AT_REQUEST)
    refund = rr.refund
    Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.PROCESSING, attempts=1,
                                               lease_expires_at=timezone.now())
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert not early_refunds_held(now=timezone.now()).exists()
        assert run(sweep_stuck_refunds) == 1
        refund.refresh_from_db()
        assert refund.status == RefundStatus.COMPLETED
        assert run(recover_overdue_early_refunds) == 1  # paid: recovered as any overdue early refund
    _assert_books_clean()


def test_expired_return_refunded_early_is_recovered_and_reconciles(request_return, run):
    rr = request_return(T.AT_REQUEST)
    with time_machine.travel(timezone.now() + timedelta(days=20)):
        services.return_expire(return_request=rr)
        assert recover_overdue_early_refunds() == 1
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.EXPIRED
    _assert_books_clean()


def test_a_customer_who_lost_early_refunds_is_refunded_after_inspection(request_return, run, shop, customer):
    request_return(T.AT_REQUEST)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        recover_overdue_early_refunds()
    other_order = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
    quote = services.return_quote_request(by=customer, order_id=other_order.pk,
                                          lines=[factories.line_request(other_order.lines.get(), 1)])
    assert quote.refund_timing == T.AFTER_INSPECTION
    assert "early refunds were withdrawn" in quote.refund_timing_reason
    assert {"code": "refund_after_inspection", "detail": quote.refund_timing_reason} in quote.notices
    assert quote.as_dict()["refund_timing"] == T.AFTER_INSPECTION
    later = request_return(T.AT_REQUEST, target_order=other_order)
    assert later.refund_timing == T.AFTER_INSPECTION and not Refund.objects.filter(return_request=later).exists()
    assert "early refunds were withdrawn" in later.refund_timing_reason


def test_a_supervisor_gives_early_refunds_back(request_return, run, shop, customer, supervisor, warehouse):
    request_return(T.AT_REQUEST)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        recover_overdue_early_refunds()
    with pytest.raises(PermissionDenied):
        early_refunds_restore(customer=customer, by=warehouse, reason="paid back")
    with pytest.raises(ValidationFailed) as no_reason:
        early_refunds_restore(customer=customer, by=supervisor, reason="  ")
    assert no_reason.value.code == "reason_required"
    assert EarlyRefundRevocation.objects.get().active
    revocation = early_refunds_restore(customer=customer, by=supervisor, reason="Parcel found at the depot")
    assert not revocation.active and revocation.restored_by == supervisor
    assert revocation.history.order_by("-history_id").first().history_user == supervisor
    with pytest.raises(ValidationFailed) as again:
        early_refunds_restore(customer=customer, by=supervisor, reason="again")
    assert again.value.code == "early_refunds_not_revoked"
    other_order = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
    later = request_return(T.AT_REQUEST, target_order=other_order)
    assert later.refund_timing == T.AT_REQUEST and later.refund.status == RefundStatus.COMPLETED


# --- inspection fails ---

def test_damaged_without_a_damage_claim_fails_inspection(request_return, run, warehouse, order, customer):
    jacket = order.lines.get(product__sku="jacket-rain-l")
    rr = _receive(_ship(request_return(T.AT_REQUEST, lines=[(jacket, 1, "wrong_size")]), run), run, warehouse)
    assert rr.refund.net == D("132.00")
    rr = _inspect(rr, run, warehouse, condition="damaged")
    assert rr.status == ReturnStatus.CLOSED
    recovery = EarlyRefundRecovery.objects.get()
    assert (recovery.cause, recovery.amount) == (RecoveryCause.INSPECTION_FAILED, D("132.00"))
    assert recovery.evidence["failed_lines"][0]["condition"] == "damaged"
    assert FraudSignal.objects.get(kind=SignalKind.EARLY_REFUND_UNEARNED).stage == Stage.INSPECTION
    assert EarlyRefundRevocation.objects.get(customer=customer).active
    assert SandboxRefund.objects.count() == 1  # nothing paid again, nothing clawed back through the card
    _assert_books_clean()


def test_short_parcel_fails_inspection_for_what_did_not_come(request_return, run, warehouse, order):
    shirts = order.lines.get(product__sku="shirt-blue-m")
    rr = _ship(request_return(T.AT_REQUEST), run)
    rr = _receive(rr, run, warehouse, **{str(rr.lines.get(order_line=shirts).pk): 1})
    rr = _inspect(rr, run, warehouse)
    recovery = EarlyRefundRecovery.objects.get()
    # Paid 195.95 for everything; earned one shirt and the jacket (159.00), the shipping needs it all.
    assert (recovery.cause, recovery.amount) == (RecoveryCause.INSPECTION_FAILED, D("36.95"))
    assert rr.status == ReturnStatus.CLOSED
    _assert_books_clean()


def test_damage_the_customer_reported_is_not_a_failure(request_return, run, warehouse, order, customer):
    jacket = order.lines.get(product__sku="jacket-rain-l")
    rr = request_return(T.AT_REQUEST, lines=[(jacket, 1, "arrived_damaged")])
    rr = _inspect(_receive(_ship(rr, run), run, warehouse), run, warehouse, condition="damaged")
    assert rr.status == ReturnStatus.CLOSED
    assert not EarlyRefundRecovery.objects.exists() and not EarlyRefundRevocation.objects.exists()
    assert rr.refund.restocking_fee == 0  # the fee is not charged after an early refund
    _assert_books_clean()


def test_a_late_parcel_after_a_deadline_recovery_is_not_recovered_twice(request_return, run, warehouse):
    rr = request_return(T.AT_REQUEST)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        recover_overdue_early_refunds()
        rr = _inspect(_receive(_ship(rr, run), run, warehouse), run, warehouse, condition="unsellable")
    assert rr.status == ReturnStatus.CLOSED
    assert EarlyRefundRecovery.objects.get().cause == RecoveryCause.NOT_SCANNED
    _assert_books_clean()


# --- settling the receivable ---

@pytest.fixture
def recovery(request_return):
    request_return(T.AT_REQUEST)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        recover_overdue_early_refunds()
    return EarlyRefundRecovery.objects.get()


def test_finance_records_the_customer_paid_it_back(recovery, finance):
    clearing = ledger.balance(ledger.account(ledger.GATEWAY_CLEARING), "USD")
    settled = early_refund_settle(recovery=recovery, by=finance, outcome="repaid", note="Bank transfer 4471")
    assert (settled.status, settled.settled_by, settled.settlement_note) == (
        RecoveryStatus.REPAID, finance, "Bank transfer 4471")
    assert _receivable() == 0
    assert ledger.balance(ledger.account(ledger.GATEWAY_CLEARING), "USD") == clearing + recovery.amount
    assert settled.history.order_by("-history_id").first().history_user == finance
    _assert_books_clean()
    with pytest.raises(InvalidTransition):
        early_refund_settle(recovery=recovery, by=finance, outcome="written_off", note="twice")
    assert JournalEntry.objects.filter(kind__in=(EntryKind.EARLY_REFUND_REPAID,
                                                 EntryKind.EARLY_REFUND_WRITTEN_OFF)).count() == 1


def test_finance_writes_it_off(recovery, finance):
    early_refund_settle(recovery=recovery, by=finance, outcome="written_off", note="Customer unreachable")
    assert _receivable() == 0
    assert ledger.balance(ledger.account(ledger.EARLY_REFUND_WRITE_OFF), "USD") == recovery.amount
    _assert_books_clean()


@pytest.mark.parametrize(("who", "outcome", "note", "error", "code"), [
    ("warehouse", "repaid", "paid", PermissionDenied, "permission_denied"),
    ("reviewer", "written_off", "gone", PermissionDenied, "permission_denied"),
    ("finance", "forgiven", "why not", ValidationFailed, "invalid_settlement"),
    ("finance", "repaid", "   ", ValidationFailed, "note_required"),
    ("anonymous", "repaid", "paid", PermissionDenied, "not_authenticated"),
])
def test_bad_settlements_change_nothing(recovery, request, who, outcome, note, error, code):
    from django.contrib.auth.models import AnonymousUser

    by = AnonymousUser() if who == "anonymous" else request.getfixturevalue(who)
    with pytest.raises(error) as refused:
        early_refund_settle(recovery=recovery, by=by, outcome=outcome, note=note)
    assert refused.value.code == code
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.OPEN and recovery.history.count() == 1
    assert _receivable() == recovery.amount
    _assert_books_clean()


def test_settling_an_unknown_recovery_is_not_found(finance, db):
    with pytest.raises(NotFound):
        early_refund_settle(recovery=999999, by=finance, outcome="repaid", note="x")


def test_reconcile_catches_a_tampered_receivable(recovery):
    EarlyRefundRecovery.objects.filter(pk=recovery.pk).update(amount=D("1.00"))  # bypasses every service
    problems = reconcile().problems
    assert any(f"early_recovery:{recovery.pk}" in problem for problem in problems), problems


# --- bad input ---

def test_an_unknown_timing_is_refused_and_writes_nothing(supervisor):
    from rules import services as rules
    from rules.engine import RuleDefinitionError
    from rules.models import Rule

    draft = rules.ruleset_draft_create(by=supervisor)
    with pytest.raises((ValidationFailed, RuleDefinitionError)) as refused:
        rules.rule_save(by=supervisor, version=draft, priority=10, name="Next week", condition={"all": []},
                        outcome={"type": "refund_timing", "timing": "next_week"})
    assert "invalid" in str(getattr(refused.value, "code", refused.value))
    assert not Rule.objects.filter(version=draft).exists()


def test_a_return_refunded_early_cannot_be_cancelled(request_return, customer, reviewer):
    rr = request_return(T.AT_REQUEST)
    for by in (customer, reviewer):
        with pytest.raises(InvalidTransition) as refused:
            services.return_cancel(return_request=rr, by=by)
        assert refused.value.code == "returnrequest_refunded_early"
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.AUTHORIZED


def test_a_return_refunded_early_keeps_its_resolutions(request_return, reviewer):
    rr = request_return(T.AT_REQUEST)
    with pytest.raises(Conflict) as refused:
        resolutions.return_line_change_resolution(line=rr.lines.first(), by=reviewer, resolution="store_credit")
    assert refused.value.code == "refunded_early"


def test_a_gateway_decline_on_an_early_refund_goes_to_finance_and_the_return_goes_on(request_return, run, warehouse):
    SandboxGateway.script("decline")
    rr = request_return(T.AT_REQUEST)
    assert rr.refund.status == RefundStatus.FAILED and rr.refund.needs_attention
    assert rr.status == ReturnStatus.AUTHORIZED
    _assert_books_clean()
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert recover_overdue_early_refunds() == 0  # never paid: nothing to recover
    rr = _inspect(_receive(_ship(rr, run), run, warehouse), run, warehouse)
    assert rr.status == ReturnStatus.REFUND_PENDING
    _assert_books_clean()


def test_the_receivable_is_in_the_trial_balance(recovery):
    total = (ledger.account(ledger.EARLY_REFUND_RECEIVABLE).lines.aggregate(total=Sum("amount"))["total"])
    assert total == recovery.amount
