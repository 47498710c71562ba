"""Goodwill: granted with a reason, within the granting role's limit and what the order cost,
posted as its own expense, and paid to the card by the same exactly-once gateway machinery."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.test import override_settings

from core.errors import PermissionDenied, ValidationFailed
from refunds import ledger
from refunds.choices import EntryKind, RefundStatus
from refunds.gateways.sandbox import SandboxGateway
from refunds.goodwill import goodwill_grant
from refunds.models import GoodwillCredit, SandboxRefund
from refunds.reconciliation import reconcile
from tests import factories

D = Decimal
pytestmark = pytest.mark.django_db


def _books_clean():
    report = reconcile()
    assert report.ok, report.problems
    assert all(total == 0 for total in report.trial_balance.values())


@pytest.mark.parametrize(("role", "amount", "allowed"), [
    ("Support agent", "25.00", True),
    ("Support agent", "25.01", False),
    ("Supervisor", "250.00", True),
    ("Supervisor", "250.01", False),
])
def test_each_role_grants_up_to_its_limit(role, amount, allowed, shop, customer):
    order = factories.make_order(customer=customer, lines=[(shop.laptop, 1, "900.00", "90.00")])
    granter = factories.staff_user(role, username=f"granter-{role}".replace(" ", "-").lower())
    if allowed:
        grant = goodwill_grant(order=order, by=granter, amount=amount, method="store_credit",
                               reason="Parcel arrived crushed")
        assert grant.amount == D(amount) and grant.granted_by == granter
        assert ledger.store_credit_balance(customer, "USD") == D(amount)
    else:
        with pytest.raises(PermissionDenied) as error:
            goodwill_grant(order=order, by=granter, amount=amount, method="store_credit",
                           reason="Parcel arrived crushed")
        assert error.value.code == "goodwill_limit_exceeded"
        assert not GoodwillCredit.objects.exists()
    _books_clean()


def test_roles_without_the_permission_grant_nothing(order, finance, warehouse, customer):
    for user in (finance, warehouse, customer):
        with pytest.raises(PermissionDenied):
            goodwill_grant(order=order, by=user, amount="5.00", method="store_credit", reason="Sorry")


@override_settings(REFUNDS={**settings.REFUNDS, "GOODWILL_LIMITS": {"Support agent": D("5"), "Supervisor": D("50")}})
def test_limits_come_from_settings(order, reviewer, supervisor):
    with pytest.raises(PermissionDenied):
        goodwill_grant(order=order, by=reviewer, amount="6.00", method="store_credit", reason="Late parcel")
    goodwill_grant(order=order, by=supervisor, amount="50.00", method="store_credit", reason="Late parcel")


def test_store_credit_goodwill_is_an_expense_credited_to_the_customer_with_history(order, customer, supervisor):
    grant = goodwill_grant(order=order, by=supervisor, amount="20.00", method="store_credit",
                           reason="Item arrived scratched; customer keeps it")
    entry = ledger.post_goodwill(grant)  # posting again returns the first entry
    assert entry.kind == EntryKind.GOODWILL_GRANTED and entry.reference == f"goodwill:{grant.pk}"
    assert ledger.balance(ledger.account(ledger.GOODWILL_EXPENSE), "USD") == D("20.00")
    assert ledger.store_credit_balance(customer, "USD") == D("20.00")
    assert grant.history.get().history_user == supervisor
    _books_clean()


def test_a_full_refund_with_shipping_goes_to_the_card_exactly_once(
        order, customer, supervisor, django_capture_on_commit_callbacks):
    SandboxGateway.script("timeout_after_commit")  # paid, answer lost: the retry replays the same key
    full = D("186.00") + D("9.95")  # two shirts, the jacket, and the original shipping
    with django_capture_on_commit_callbacks(execute=True):
        grant = goodwill_grant(order=order, by=supervisor, amount=str(full), method="original_payment",
                               reason="Whole order arrived water-damaged")
    refund = grant.refund
    refund.refresh_from_db()
    assert (refund.status, refund.net, refund.return_request) == (RefundStatus.COMPLETED, full, None)
    assert SandboxRefund.objects.get().amount == full
    assert refund.gateway_attempts.count() == 2
    assert set(refund.journal_entries.values_list("kind", flat=True)) == {EntryKind.GOODWILL_GRANTED,
                                                                          EntryKind.GATEWAY_REFUND}
    assert ledger.balance(ledger.account(ledger.GATEWAY_CLEARING), "USD") == -full
    _books_clean()
    # Nothing of the order is left to give.
    with pytest.raises(ValidationFailed) as error:
        goodwill_grant(order=order, by=supervisor, amount="0.01", method="store_credit", reason="Again")
    assert error.value.code == "goodwill_exceeds_order"


@pytest.mark.parametrize(("amount", "reason", "method", "code"), [
    ("10.00", "  ", "store_credit", "reason_required"),
    ("-1", "Sorry", "store_credit", "invalid_amount"),
    ("1.001", "Sorry", "store_credit", "invalid_amount"),
    ("10.00", "Sorry", "cheque", "invalid_method"),
])
def test_bad_grants_are_refused_with_a_code(amount, reason, method, code, order, supervisor):
    with pytest.raises(ValidationFailed) as error:
        goodwill_grant(order=order, by=supervisor, amount=amount, method=method, reason=reason)
    assert error.value.code == code


def test_a_declined_goodwill_refund_goes_to_finance_who_pay_it_as_store_credit(
        order, customer, supervisor, finance, django_capture_on_commit_callbacks):
    from refunds.services import refund_fall_back

    SandboxGateway.script("decline")
    with django_capture_on_commit_callbacks(execute=True):
        grant = goodwill_grant(order=order, by=supervisor, amount="30.00", method="original_payment",
                               reason="Courier left it in the rain")
    refund = grant.refund
    refund.refresh_from_db()
    assert (refund.status, refund.needs_attention) == (RefundStatus.FAILED, True)
    _books_clean()  # owed, not yet paid
    refund_fall_back(refund=refund, by=finance, method="store_credit", reason="Card declined")
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FALLBACK
    assert ledger.store_credit_balance(customer, "USD") == D("30.00")
    _books_clean()
