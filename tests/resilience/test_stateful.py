"""Random lives of returns: customers ask and cancel, staff approve and reject, the carrier scans,
the warehouse receives short parcels and inspects, supervisors correct, the gateway fails in
scripted ways, messages are lost, workers and sweepers run later, finance retries and pays
another way. After every step: nobody is refunded more than was captured, no refund is paid
twice, the ledger balances and reconciles, stock is the sum of its movements, every change of
state is on record. At the end, once the sweepers have run, no refund is lost."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import transaction
from django.test import TestCase, override_settings
from django.utils import timezone
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from core.errors import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from inventory.tasks import sweep_stock_dispositions
from refunds import services as refund_services
from refunds.choices import RefundStatus
from refunds.gateways.sandbox import SandboxGateway
from refunds.models import Refund
from refunds.tasks import sweep_stuck_refunds
from returns import inbound, services
from returns.choices import Condition, ReturnStatus, ReviewMode
from returns.models import ReturnLine, ReturnRequest
from returns.selectors import returnable_quantities
from returns.tasks import sweep_inbound_events, sweep_pending_labels
from tests import factories
from tests.resilience.invariants import assert_money_safe, assert_nothing_lost

pytestmark = pytest.mark.django_db

FAULTS = st.sampled_from(["timeout_before", "timeout_after_commit", "unavailable", "decline"])
CONDITIONS = st.sampled_from(Condition.values)
RECEIVABLE = (ReturnStatus.AUTHORIZED, ReturnStatus.IN_TRANSIT, ReturnStatus.EXPIRED)


def committed(deliver: bool = True):
    """Run the block as a committed request; with `deliver=False` the broker loses what it queues."""
    return TestCase.captureOnCommitCallbacks(execute=deliver)


class Shop:
    """Built once per test; every example starts from it and is rolled back."""

    def __init__(self, shop, people):
        self.people = people
        factories.policy(None, review_mode=ReviewMode.MANUAL)  # apparel waits for a reviewer
        customer = people["customer"]
        self.orders = [
            factories.make_order(customer=customer, lines=[(shop.shirt, 3, "25.00", "2.00"),
                                                           (shop.jacket, 2, "120.00", "12.00")]),
            # Charged 200 days ago: the gateway refuses part of it, which pays as store credit.
            factories.make_order(customer=customer, charge_days_ago=200, lines=[
                (shop.laptop, 1, "300.00", "30.00"), (shop.shirt, 2, "25.00", "2.00")]),
            factories.make_order(customer=customer, currency="EUR", shipping="4.50",
                                 lines=[(shop.jacket, 2, "99.00", "0.00"), (shop.shirt, 2, "19.00", "3.80")]),
        ]
        # Returns already on their way, so a short run still reaches inspection, refunds and finance.
        first, old, euro = ([(line, 1) for line in order.lines.order_by("pk")] for order in self.orders)
        with committed():
            self.returns = [
                self.received(first, short=True),  # nothing of the shirt in the parcel
                self.received(first[1:], refund_method="store_credit"),
                self.received(old),
                self.approved(euro[:1]).pk,
                self.request(euro[1:]).pk,
            ]

    def request(self, lines, refund_method="original_payment") -> ReturnRequest:
        return services.return_request_create(by=self.people["customer"], order_id=lines[0][0].order_id,
                                              refund_method=refund_method,
                                              lines=[factories.line_request(line, qty) for line, qty in lines])

    def approved(self, lines, **options) -> ReturnRequest:
        rr = self.request(lines, **options)
        if rr.status == ReturnStatus.REQUESTED:
            rr = services.return_approve(return_request=rr, by=self.people["supervisor"])
        return rr

    def received(self, lines, short: bool = False, **options) -> int:
        rr = self.approved(lines, **options)
        received = {rr.lines.order_by("pk").first().pk: 0} if short else {}
        return services.return_receive(return_request=rr, by=self.people["warehouse"],
                                       received_quantities=received).pk


class ReturnsLife(RuleBasedStateMachine):
    shop: Shop

    def __init__(self):
        super().__init__()
        self.savepoint = transaction.savepoint()
        SandboxGateway.reset()
        self.now = timezone.now()
        self.returns: list[int] = list(self.shop.returns)
        self.scans = 0
        self.sent_scans: set[str] = set()

    def teardown(self):
        try:
            if self.savepoint_is_usable():
                for _ in range(2):  # beat, two hours in a row
                    self.sweep()
                assert_nothing_lost()
                for refund in Refund.objects.all():
                    event(f"refund {refund.status} {refund.paid_method}")
        finally:
            SandboxGateway.reset()
            transaction.savepoint_rollback(self.savepoint)

    @staticmethod
    def savepoint_is_usable() -> bool:
        return not transaction.get_connection().needs_rollback

    # --- the clock: every step a minute later, a sweep an hour later ---

    def clock(self, minutes: int = 1):
        self.now += timedelta(minutes=minutes)
        return time_machine.travel(self.now, tick=False)

    def pick(self, index: int, *states: str) -> ReturnRequest:
        """Usually a return in one of `states` (where the step can happen); one time in five, or
        when there is none, any return (where the step must be refused)."""
        pks = self.returns
        if states and index % 5:
            fitting = list(ReturnRequest.objects.filter(pk__in=pks, status__in=states).order_by("pk")
                           .values_list("pk", flat=True))
            pks = fitting or pks
        return ReturnRequest.objects.get(pk=pks[index % len(pks)])

    def person(self, role: str):
        return self.shop.people[role]

    # --- customers ---

    @rule(order=st.integers(0, 2), quantities=st.lists(st.integers(0, 2), min_size=2, max_size=2),
          store_credit=st.booleans())
    def request_return(self, order, quantities, store_credit):
        order = self.shop.orders[order]
        lines = list(order.lines.order_by("pk"))
        left = returnable_quantities(order)
        wanted = [(line, qty) for line, qty in zip(lines, quantities, strict=False) if qty]
        allowed = bool(wanted) and all(qty <= left[line.pk] for line, qty in wanted)
        with self.clock(), committed():
            try:
                rr = services.return_request_create(
                    by=self.person("customer"), order_id=order.pk,
                    refund_method="store_credit" if store_credit else "original_payment",
                    lines=[factories.line_request(line, qty) for line, qty in wanted])
            except ValidationFailed:
                assert not allowed, "an eligible return was refused"
                return
        assert allowed, "a return of more than is left was accepted"
        self.returns.append(rr.pk)

    @precondition(lambda self: self.returns)
    @rule(index=st.integers(0))
    def cancel(self, index):
        # Aimed at a cancellable return one time in four: returns that end early reach no refund.
        rr = self.pick(index, ReturnStatus.REQUESTED, ReturnStatus.AUTHORIZED) if index % 4 == 0 else self.pick(index)
        self.expect(rr.status in (ReturnStatus.REQUESTED, ReturnStatus.AUTHORIZED),
                    lambda: services.return_cancel(return_request=rr, by=self.person("customer")))

    # --- staff ---

    @precondition(lambda self: self.returns)
    @rule(index=st.integers(0), verdict=st.sampled_from(["reject", "agent_approves", "supervisor_approves"]))
    def review(self, index, verdict):
        rr = self.pick(index, ReturnStatus.REQUESTED)
        if verdict == "reject":
            act = lambda: services.return_reject(return_request=rr, by=self.person("reviewer"),  # noqa: E731
                                                 reason="Outside what we take back.")
        else:
            by = self.person("reviewer" if verdict == "agent_approves" else "supervisor")
            act = lambda: services.return_approve(return_request=rr, by=by)  # noqa: E731
        try:
            self.expect(rr.status == ReturnStatus.REQUESTED, act)
        except PermissionDenied as refused:  # above an agent's limit, or held for fraud: a supervisor decides
            assert verdict == "agent_approves", refused.code
            assert refused.code in ("approval_limit_exceeded", "fraud_hold_requires_supervisor"), refused.code
            assert ReturnRequest.objects.get(pk=rr.pk).status == ReturnStatus.REQUESTED

    @precondition(lambda self: self.returns)
    @rule(index=st.integers(0))
    def expire(self, index):
        rr = self.pick(index, ReturnStatus.AUTHORIZED) if index % 4 == 0 else self.pick(index)
        self.expect(rr.status == ReturnStatus.AUTHORIZED, lambda: services.return_expire(return_request=rr))

    # --- carrier and warehouse ---

    @precondition(lambda self: self.returns)
    @rule(index=st.integers(0), repeat=st.booleans())
    def carrier_scan(self, index, repeat):
        rr = self.pick(index, ReturnStatus.AUTHORIZED)
        if not repeat:
            self.scans += 1
        external_id = f"scan-{rr.pk}-{self.scans}"
        # The same event again is the same event: stored once, processed once, even if it failed the
        # first time (a scan of a return not yet authorised) and the return has been authorised since.
        again = external_id in self.sent_scans
        with self.clock(), committed():
            inbound.event_accept(source="carrier", external_id=external_id, kind="carrier_scan",
                                 payload={"rma_number": rr.rma_number})
        self.sent_scans.add(external_id)
        after = ReturnRequest.objects.get(pk=rr.pk).status
        moves = rr.status == ReturnStatus.AUTHORIZED and not again
        assert after == (ReturnStatus.IN_TRANSIT if moves else rr.status)

    @precondition(lambda self: self.returns)
    @rule(index=st.integers(0), received=st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=2, max_size=2))
    def receive(self, index, received):
        rr = self.pick(index, *RECEIVABLE)
        lines = list(rr.lines.order_by("pk"))
        quantities = {line.pk: min(qty, line.quantity) for line, qty in zip(lines, received, strict=False)
                      if qty is not None}  # a line not named arrived complete; fewer is a short shipment
        try:
            self.expect(rr.status in RECEIVABLE,
                        lambda: services.return_receive(return_request=rr, by=self.person("warehouse"),
                                                        received_quantities=quantities))
        except Conflict as refused:  # a late parcel whose units a newer return asked back: received there
            assert refused.code == "units_asked_back_again", refused.code
            assert rr.status == ReturnStatus.EXPIRED
            assert ReturnRequest.objects.get(pk=rr.pk).status == ReturnStatus.EXPIRED

    @precondition(lambda self: self.returns)
    @rule(index=st.integers(0), conditions=st.lists(CONDITIONS, min_size=2, max_size=2),
          partial=st.booleans(), deliver=st.booleans(), faults=st.lists(FAULTS, max_size=3))
    def inspect(self, index, conditions, partial, deliver, faults):
        """The warehouse inspects; the gateway will answer the refund's next calls with `faults`;
        unless `deliver`, the broker loses what the inspection queues."""
        SandboxGateway.script(*faults)
        rr = self.pick(index, ReturnStatus.RECEIVED)
        lines = [line for line in rr.lines.order_by("pk") if line.received_quantity and not line.condition]
        if partial and len(lines) > 1:
            lines = lines[:1]
        inspections = {line.pk: {"condition": c} for line, c in zip(lines, conditions, strict=False)}
        self.expect(rr.status == ReturnStatus.RECEIVED,
                    lambda: services.return_inspect(return_request=rr, by=self.person("warehouse"),
                                                    inspections=inspections), deliver=deliver)

    @precondition(lambda self: self.returns)
    @rule(index=st.integers(0), condition=CONDITIONS)
    def supervisor_corrects(self, index, condition):
        line = ReturnLine.objects.filter(return_request_id=self.returns[index % len(self.returns)]).exclude(
            condition="").order_by("pk").first()
        if line is None:
            return
        with self.clock(), committed():
            try:
                services.inspection_correct(return_line=line, by=self.person("supervisor"), condition=condition)
            except ValidationFailed as refused:
                assert refused.code in ("condition_unchanged", "stock_already_moved"), refused.code

    # --- beat ---

    @precondition(lambda self: self.returns)
    @rule()
    def sweep(self):
        with self.clock(minutes=60), committed():
            sweep_pending_labels()
            sweep_inbound_events()
            sweep_stock_dispositions()
            sweep_stuck_refunds()

    # --- finance ---

    @precondition(lambda self: Refund.objects.exists())
    @rule(index=st.integers(0), action=st.sampled_from(["retry", "retry_lost", "store_credit", "cheque", "issue"]))
    def finance(self, index, action):
        refunds = list(Refund.objects.order_by("-needs_attention", "pk"))
        failed = [refund for refund in refunds if refund.status == RefundStatus.FAILED]
        candidates = failed if failed and index % 5 else refunds  # usually one in finance's queue
        refund = candidates[index % len(candidates)]
        finance = self.person("finance")
        try:
            with self.clock(), committed(deliver=action != "retry_lost"):
                if action in ("retry", "retry_lost"):
                    refund_services.refund_retry(refund=refund, by=finance)
                elif action == "issue":
                    refund_services.refund_mark_cheque_issued(refund=refund, by=finance,
                                                              cheque_number=f"CHQ-{refund.pk}")
                else:
                    refund_services.refund_fall_back(refund=refund, by=finance, method=action)
        except ValidationFailed as refused:
            expected = {"retry": "refund_not_failed", "retry_lost": "refund_not_failed",
                        "issue": "refund_not_awaiting_cheque"}.get(action, "refund_not_failed")
            if refund.status == RefundStatus.FAILED and action in ("store_credit", "cheque"):
                expected = "gateway_outcome_unknown"  # the gateway may have paid: only a retry may go on
            assert refused.code == expected, (action, refund.status, refused.code)

    # --- after every step ---

    @invariant()
    def money_is_safe(self):
        assert_money_safe()

    def expect(self, allowed_now: bool, act, deliver: bool = True):
        """Run `act` as a committed request: it must succeed when the state allows it and be
        refused as an invalid transition when it does not."""
        try:
            with self.clock(), committed(deliver):
                act()
        except InvalidTransition:
            assert not allowed_now, "a step the state allows was refused"
        else:
            assert allowed_now, "a step the state forbids was carried out"


def test_random_lives_of_returns_never_lose_or_double_a_refund(shop, customer, reviewer, supervisor, warehouse,
                                                              finance):
    ReturnsLife.shop = Shop(shop, {"customer": customer, "reviewer": reviewer, "supervisor": supervisor,
                                   "warehouse": warehouse, "finance": finance})
    # Two tries before finance is called in, so scripted faults often exhaust them.
    with override_settings(REFUNDS={**django_settings.REFUNDS, "MAX_ATTEMPTS": 2}):
        run_state_machine_as_test(ReturnsLife, settings=settings(
            max_examples=15, stateful_step_count=25, deadline=None, database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
