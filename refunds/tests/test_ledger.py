"""The ledger is append-only and balanced, enforced by PostgreSQL itself."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from refunds import ledger
from refunds.models import Account, JournalEntry, JournalLine, Refund
from tests import factories

D = Decimal


@pytest.fixture
def paid_refund(order, customer, warehouse, django_capture_on_commit_callbacks):
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                   lines=[(order.lines.first(), 2)])
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)
    return Refund.objects.get(return_request=rr)


@pytest.mark.django_db
@pytest.mark.parametrize("statement", [
    "UPDATE refunds_journalline SET amount = amount + 1",
    "DELETE FROM refunds_journalline",
    "UPDATE refunds_journalentry SET memo = 'edited'",
    "DELETE FROM refunds_journalentry",
    "UPDATE refunds_refundattempt SET outcome = 'succeeded'",
    "DELETE FROM refunds_refundattempt",
])
def test_posted_rows_cannot_be_changed_even_with_raw_sql(paid_refund, statement):
    before = list(JournalLine.objects.values_list("pk", "amount"))
    refused = pytest.raises(DatabaseError, match="Cannot update or delete")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert list(JournalLine.objects.values_list("pk", "amount")) == before


@pytest.mark.django_db(transaction=True)
def test_an_unbalanced_entry_is_refused_at_commit(shop):
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        entry = JournalEntry.objects.create(kind="reversal", reference="test:unbalanced")
        JournalLine.objects.create(entry=entry, account=ledger.account(ledger.REFUNDS_PAYABLE),
                                   amount=D("10.00"), currency="USD")
        JournalLine.objects.create(entry=entry, account=ledger.account(ledger.GATEWAY_CLEARING),
                                   amount=D("-9.99"), currency="USD")
    assert not JournalEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_balance_is_checked_per_currency(shop):
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        entry = JournalEntry.objects.create(kind="reversal", reference="test:currencies")
        JournalLine.objects.create(entry=entry, account=ledger.account(ledger.REFUNDS_PAYABLE),
                                   amount=D("10.00"), currency="USD")
        JournalLine.objects.create(entry=entry, account=ledger.account(ledger.GATEWAY_CLEARING),
                                   amount=D("-10.00"), currency="EUR")


@pytest.mark.django_db(transaction=True)
def test_an_entry_without_lines_is_refused_at_commit(shop):
    with pytest.raises(IntegrityError, match="at least two lines"), transaction.atomic():
        JournalEntry.objects.create(kind="reversal", reference="test:empty")


@pytest.mark.django_db
def test_posting_the_same_event_twice_posts_once(paid_refund):
    first = ledger.post_gateway_refund(paid_refund)
    again = ledger.post_gateway_refund(paid_refund)
    assert first.pk == again.pk
    assert JournalEntry.objects.filter(kind="gateway_refund").count() == 1


@pytest.mark.django_db
def test_reconcile_passes_on_honest_books(paid_refund, capsys):
    call_command("reconcile")
    out = capsys.readouterr().out
    assert "trial balance USD: 0" in out and "ledger reconciles" in out


@pytest.mark.django_db
@pytest.mark.parametrize(("tamper", "expected"), [
    ("UPDATE refunds_refund SET net = net + 1", "approved 54.000 to pay but the refund says 55.000"),
    ("UPDATE refunds_refund SET status = 'failed'", "refunds payable is 0.000, expected -54.000"),
    # Each column the wholesale check in SQL reads, changed, sends the refund to the one-by-one check:
    ("UPDATE refunds_refund SET gross = gross + 1", "sales returns posting differs from gross + shipping"),
    ("UPDATE refunds_refund SET shipping_refund = shipping_refund + 1",
     "sales returns posting differs from gross + shipping"),
    ("UPDATE refunds_refund SET store_credit_amount = 1",
     "paid by original_payment but no matching store_credit_issued entry of 1"),
    ("UPDATE refunds_refund SET method = 'cheque'", "paid by cheque but no matching cheque_issued entry of 54.000"),
    ("UPDATE refunds_refund SET fallback_method = 'cheque'",
     "paid by cheque but no matching cheque_issued entry of 54.000"),
    ("UPDATE returns_returnrequest SET status = 'inspected'", "paid but its return is inspected"),
    ("UPDATE refunds_refund SET restocking_fee = 1", "restocking fee posted differs from 1"),
    ("UPDATE refunds_refund SET return_fees = 1", "return fees posted differ from 1"),
    ("UPDATE refunds_refund SET method_fee = 1", "return method fee posted differs from 1"),
])
def test_reconcile_catches_a_tampered_refund(paid_refund, tamper, expected, capsys):
    with connection.cursor() as cursor:
        cursor.execute(tamper)
    with pytest.raises(CommandError, match="reconciliation failed"):
        call_command("reconcile")
    assert expected in capsys.readouterr().err


@pytest.mark.django_db
def test_a_plainly_paid_refund_is_checked_wholesale_and_counted(paid_refund):
    from refunds.reconciliation import _mark_plainly_paid, reconcile

    with transaction.atomic():
        assert _mark_plainly_paid() == 1
    report = reconcile()
    assert report.ok and report.refunds_checked == 1


@pytest.mark.django_db
def test_a_second_payment_posted_for_a_plainly_paid_refund_is_caught(paid_refund):
    from refunds.reconciliation import reconcile

    ledger.post(kind="gateway_refund", reference=f"refund:{paid_refund.pk}:again", currency="USD", refund=paid_refund,
                lines=[(ledger.account(ledger.REFUNDS_PAYABLE), D("54.000")),
                       (ledger.account(ledger.GATEWAY_CLEARING), D("-54.000"))])
    report = reconcile()
    assert any("refunds payable is 54.000, expected 0" in problem for problem in report.problems), report.problems


@pytest.mark.django_db(transaction=True)
def test_an_unbalanced_post_is_refused_at_commit_and_leaves_nothing(shop):
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        ledger.post(kind="reversal", reference="test:post-unbalanced", currency="USD",
                    lines=[(ledger.REFUNDS_PAYABLE, D("10.00")), (ledger.GATEWAY_CLEARING, D("-9.99"))])
    assert not JournalEntry.objects.exists() and not JournalLine.objects.exists()


@pytest.mark.django_db
def test_a_post_writes_its_lines_in_order_on_accounts_opened_as_needed(customer):
    entry = ledger.post(kind="reversal", reference="test:lines", currency="USD", memo="x" * 400,
                        lines=[(ledger.REFUNDS_PAYABLE, D("7.50")), (ledger.SALES_RETURNS, D("0")),
                               (ledger.StoreCredit(customer.pk), D("-7.50"))])
    assert JournalEntry.objects.get() == entry and len(entry.memo) == 300
    assert [(line.account.code, line.amount) for line in entry.lines.all()] == [
        (ledger.REFUNDS_PAYABLE, D("7.50")), (f"store_credit:{customer.pk}", D("-7.50"))]
    credit = ledger.store_credit_account(customer)
    assert (credit.name, credit.kind) == (f"Store credit of {customer.username}", "liability")
    assert credit.customer == customer
    assert ledger.store_credit_balance(customer, "USD") == D("7.50")


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_open_a_new_customers_account_once(customer):
    from tests.concurrency import run_at_once

    def post(n):
        with transaction.atomic():
            return ledger.post(kind="reversal", reference=f"test:concurrent-{n}", currency="USD",
                               lines=[(ledger.GOODWILL_EXPENSE, D("1.00")),
                                      (ledger.StoreCredit(customer.pk), D("-1.00"))])

    results = run_at_once(8, post)
    assert all(isinstance(entry, JournalEntry) for entry in results), results
    assert ledger.store_credit_balance(customer, "USD") == D("8.00")
    assert Account.objects.filter(code=f"store_credit:{customer.pk}").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_event_posted_at_once_by_many_is_posted_once(customer):
    from tests.concurrency import run_at_once

    def post(n):
        with transaction.atomic():
            return ledger.post(kind="reversal", reference="test:once", currency="USD",
                               lines=[(ledger.GOODWILL_EXPENSE, D(n + 1)), (ledger.REFUNDS_PAYABLE, -D(n + 1))])

    results = run_at_once(8, post)
    assert len({entry.pk for entry in results}) == 1, results
    assert JournalLine.objects.count() == 2
