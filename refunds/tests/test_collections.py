"""Collections: a trusted customer's early replacement kept when the return ends without its
parcel is charged like a dearer exchange's difference; a collection the card keeps declining is
settled by finance (store credit, other means) or written off, each through the ledger."""

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from core.errors import Conflict, PermissionDenied, ValidationFailed
from notifications.choices import NotificationEvent
from notifications.models import Notification
from orders.models import Order
from refunds import ledger
from refunds.choices import CollectionSettlement, EntryKind, GatewayOperation, RefundStatus
from refunds.collections import collection_settle, collection_write_off
from refunds.gateways.sandbox import SandboxGateway
from refunds.goodwill import goodwill_grant
from refunds.models import JournalEntry, Refund, SandboxCharge
from returns import services
from returns.choices import ReturnStatus
from returns.tests.resolutions import assert_books_clean, exchange_line, receive_and_inspect, stock, trust, variants
from tests import factories
from tests.concurrency import run_at_once

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def swaps(shop):
    same_price, dearer, cheaper = variants()
    for product in (same_price, dearer, cheaper, shop.shirt):
        stock(product, 5)
    return {"same": same_price, "dearer": dearer, "cheaper": cheaper}


@pytest.fixture
def shirts(order):
    return order.lines.get(product__sku="shirt-blue-m")


@pytest.fixture
def early(customer):
    """The policy ships replacements before the parcel for trusted customers, and this one is."""
    factories.policy(None, exchange_ship_before_receipt=True)
    trust(customer)


def _early_exchange(customer, order, shirts, capture, sku="shirt-basic-m"):
    with capture(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk, lines=[exchange_line(shirts, 1, sku=sku)])
    assert Order.objects.filter(external_id=f"EXC-{rr.rma_number}").exists()  # sent at authorisation
    return rr


def _messages(rr):
    return [m for m in mail.outbox if m.extra_headers.get("X-RMA") == rr.rma_number]


# --- a replacement kept without the return ---

@pytest.mark.parametrize("end", ["expire", "cancel"])
def test_a_kept_early_replacement_is_charged_through_the_gateway_when_the_return_ends_without_its_parcel(
        customer, order, shirts, swaps, early, end, django_capture_on_commit_callbacks):
    rr = _early_exchange(customer, order, shirts, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        if end == "expire":
            services.return_expire(return_request=rr)
        else:
            services.return_cancel(return_request=rr, by=customer)
    rr.refresh_from_db()
    assert rr.status == (ReturnStatus.EXPIRED if end == "expire" else ReturnStatus.CANCELLED)  # it stays ended
    refund = rr.refund
    # The basic shirt sent early: 15.00 + 1.20 tax (the rate paid on the original).
    assert (refund.kept_replacement, refund.net, refund.replacement_total, refund.charge_amount) == (
        True, D("0"), D("16.20"), D("16.20"))
    assert refund.status == RefundStatus.COMPLETED
    charge = SandboxCharge.objects.get()
    assert (charge.amount, charge.payment_reference) == (D("16.20"), order.payments.get().charge_reference)
    assert list(refund.gateway_attempts.values_list("operation", flat=True)) == [GatewayOperation.CHARGE]
    assert set(refund.journal_entries.values_list("kind", flat=True)) == {EntryKind.REFUND_APPROVED,
                                                                         EntryKind.GATEWAY_CHARGE}
    assert ledger.balance(ledger.account(ledger.EXCHANGE_SALES), "USD") == D("-16.20")
    assert ledger.balance(ledger.account(ledger.GATEWAY_CLEARING), "USD") == D("16.20")
    assert ledger.balance(ledger.account(ledger.EXCHANGE_RECEIVABLE), "USD") == 0
    assert refund.history.filter(history_change_reason__startswith="replacement kept: return").exists()
    (told,) = [m for m in _messages(rr) if "replacement you kept" in m.subject]
    assert "$16.20" in told.body and "original payment method" in told.body
    assert Notification.objects.get(return_request=rr, event=NotificationEvent.REPLACEMENT_CHARGED).status == "sent"
    assert_books_clean()


def test_a_return_that_ends_before_any_replacement_was_sent_charges_nothing(
        customer, order, shirts, swaps, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk,
                                            lines=[exchange_line(shirts, 1, sku="shirt-basic-m")])
        services.return_expire(return_request=rr)
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.EXPIRED and not rr.has_refund()
    assert not SandboxCharge.objects.exists() and not JournalEntry.objects.exists()


def test_a_kept_replacement_with_no_card_on_file_waits_for_finance_and_the_customer_is_told(
        customer, order, shirts, swaps, early, finance, django_capture_on_commit_callbacks):
    order.payments.all().delete()
    rr = _early_exchange(customer, order, shirts, django_capture_on_commit_callbacks, sku="shirt-blue-l")
    with django_capture_on_commit_callbacks(execute=True):
        services.return_expire(return_request=rr)
    refund = Refund.objects.get(return_request=rr)
    assert (refund.status, refund.needs_attention, refund.failure_code) == (RefundStatus.FAILED, True,
                                                                            "no_payment_on_file")
    assert ledger.balance(ledger.account(ledger.EXCHANGE_RECEIVABLE), "USD") == D("27.00")  # owed to us
    (told,) = [m for m in _messages(rr) if "replacement you kept" in m.subject]
    assert "$27.00" in told.body and "finance team will contact you" in told.body
    assert_books_clean()

    collection_settle(refund=refund, by=finance, method="other_means", reference="BANK-TRX-991")
    refund.refresh_from_db()
    assert (refund.status, refund.collection_settlement, refund.settlement_reference) == (
        RefundStatus.FALLBACK, CollectionSettlement.OTHER_MEANS, "BANK-TRX-991")
    assert ledger.balance(ledger.account(ledger.OTHER_RECEIPTS), "USD") == D("27.00")
    assert ledger.balance(ledger.account(ledger.EXCHANGE_RECEIVABLE), "USD") == 0
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.EXPIRED
    assert_books_clean()


def test_a_late_parcel_after_the_kept_replacement_was_charged_closes_without_a_second_settlement(
        customer, order, shirts, swaps, early, warehouse, django_capture_on_commit_callbacks):
    rr = _early_exchange(customer, order, shirts, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.return_expire(return_request=rr)
    with django_capture_on_commit_callbacks(execute=True):
        services.return_receive(return_request=rr, by=warehouse)  # no scan: the parcel just turns up
        factories.inspect_all(rr, by=warehouse)
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.CLOSED
    assert Refund.objects.filter(return_request=rr).count() == 1 and SandboxCharge.objects.count() == 1
    assert rr.history.filter(history_change_reason__startswith="Late parcel").exists()
    assert_books_clean()


# --- finance settles a declined collection ---

@pytest.fixture
def declined(customer, order, shirts, swaps, warehouse, django_capture_on_commit_callbacks):
    """A dearer exchange (silk shirt, 16.20 more) whose card declines: finance must act."""
    SandboxGateway.script("decline")
    rr = services.return_request_create(by=customer, order_id=order.pk,
                                        lines=[exchange_line(shirts, 1, sku="shirt-silk-m")])
    rr = receive_and_inspect(rr, warehouse=warehouse, capture=django_capture_on_commit_callbacks)
    refund = rr.refund
    assert (refund.status, refund.needs_attention, refund.charge_amount) == (RefundStatus.FAILED, True, D("16.20"))
    return refund


def _credit(customer, order, supervisor, amount):
    goodwill_grant(order=order, by=supervisor, amount=amount, method="store_credit", reason="parcel was late")


def test_finance_deducts_a_declined_collection_from_store_credit(declined, customer, order, supervisor, finance,
                                                                django_capture_on_commit_callbacks):
    _credit(customer, order, supervisor, D("20.00"))
    with django_capture_on_commit_callbacks(execute=True):
        collection_settle(refund=declined, by=finance, method="store_credit")
    declined.refresh_from_db()
    assert (declined.status, declined.collection_settlement) == (RefundStatus.FALLBACK,
                                                                 CollectionSettlement.STORE_CREDIT)
    assert ledger.store_credit_balance(customer, "USD") == D("3.80")
    assert declined.return_request.status == ReturnStatus.REFUNDED
    row = declined.history.latest("history_date")
    assert (row.history_user, row.history_change_reason) == (
        finance, "collection settled: deducted from the customer's store credit")
    # Settling a collection is not a refund paid another way: no "we could not pay you back" e-mail.
    assert not Notification.objects.filter(event=NotificationEvent.REFUND_FALLBACK).exists()
    assert_books_clean()


def test_store_credit_that_does_not_cover_the_collection_changes_nothing(declined, customer, order, supervisor,
                                                                         finance):
    _credit(customer, order, supervisor, D("16.19"))
    with pytest.raises(ValidationFailed) as error:
        collection_settle(refund=declined, by=finance, method="store_credit")
    assert error.value.code == "store_credit_insufficient"
    declined.refresh_from_db()
    assert declined.status == RefundStatus.FAILED and declined.needs_attention
    assert ledger.store_credit_balance(customer, "USD") == D("16.19")
    assert not JournalEntry.objects.filter(kind=EntryKind.COLLECTION_SETTLED).exists()


@pytest.mark.parametrize(("method", "reference", "code"), [
    ("other_means", "  ", "reference_required"),
    ("cheque", "x", "invalid_settlement_method"),
])
def test_a_settlement_needs_a_known_method_and_a_reference(declined, finance, method, reference, code):
    with pytest.raises(ValidationFailed) as error:
        collection_settle(refund=declined, by=finance, method=method, reference=reference)
    assert error.value.code == code
    declined.refresh_from_db()
    assert declined.status == RefundStatus.FAILED and not declined.collection_settlement


def test_a_supervisor_writes_a_collection_off_with_a_reason_as_an_expense(declined, supervisor):
    with pytest.raises(ValidationFailed) as error:
        collection_write_off(refund=declined, by=supervisor, reason="   ")
    assert error.value.code == "reason_required"
    collection_write_off(refund=declined, by=supervisor, reason="Customer disputes the difference; not worth it.")
    declined.refresh_from_db()
    assert (declined.status, declined.collection_settlement, declined.write_off_reason) == (
        RefundStatus.WRITTEN_OFF, CollectionSettlement.WRITTEN_OFF, "Customer disputes the difference; not worth it.")
    assert ledger.balance(ledger.account(ledger.COLLECTION_WRITE_OFF), "USD") == D("16.20")
    assert ledger.balance(ledger.account(ledger.EXCHANGE_RECEIVABLE), "USD") == 0
    assert declined.return_request.status == ReturnStatus.REFUNDED
    assert declined.history.latest("history_date").history_user == supervisor
    assert_books_clean()


@pytest.mark.parametrize("role", ["reviewer", "warehouse", "customer"])
def test_only_finance_or_a_supervisor_may_settle_or_write_off(declined, role, request):
    user = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        collection_write_off(refund=declined, by=user, reason="no")
    with pytest.raises(PermissionDenied):
        collection_settle(refund=declined, by=user, method="other_means", reference="x")
    declined.refresh_from_db()
    assert declined.status == RefundStatus.FAILED
    assert not JournalEntry.objects.filter(kind__in=[EntryKind.COLLECTION_SETTLED,
                                                     EntryKind.COLLECTION_WRITTEN_OFF]).exists()


def test_a_refund_that_pays_is_not_a_collection(order, customer, warehouse, finance,
                                                django_capture_on_commit_callbacks):
    SandboxGateway.script("decline")
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse)
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)
    with pytest.raises(ValidationFailed) as error:
        collection_write_off(refund=rr.refund, by=finance, reason="no")
    assert error.value.code == "not_a_collection"


def test_a_collection_whose_last_answer_was_a_timeout_is_not_settled(
        customer, order, shirts, swaps, warehouse, finance, django_capture_on_commit_callbacks, settings):
    settings.REFUNDS = {**settings.REFUNDS, "MAX_ATTEMPTS": 1}
    SandboxGateway.script("timeout_before")
    rr = services.return_request_create(by=customer, order_id=order.pk,
                                        lines=[exchange_line(shirts, 1, sku="shirt-silk-m")])
    rr = receive_and_inspect(rr, warehouse=warehouse, capture=django_capture_on_commit_callbacks)
    assert rr.refund.status == RefundStatus.FAILED
    with pytest.raises(ValidationFailed) as error:
        collection_write_off(refund=rr.refund, by=finance, reason="gave up")
    assert error.value.code == "gateway_outcome_unknown"


def test_a_settled_collection_cannot_be_settled_again(declined, finance):
    collection_write_off(refund=declined, by=finance, reason="small amount")
    with pytest.raises(Conflict) as error:
        collection_settle(refund=declined, by=finance, method="other_means", reference="late transfer")
    assert error.value.code == "collection_already_settled"
    assert JournalEntry.objects.filter(refund=declined, kind__in=[EntryKind.COLLECTION_SETTLED,
                                                                  EntryKind.COLLECTION_WRITTEN_OFF]).count() == 1


def test_the_admin_buttons_confirm_then_settle(declined, finance, reviewer, client):
    client.force_login(finance)
    page = client.get(reverse("admin:refunds_refund_change", args=[declined.pk])).content.decode()
    url = reverse("admin:refunds_refund_write_off", args=[declined.pk])
    assert url in page and "Deduct from store credit" in page and "Pay by cheque" not in page
    confirm = client.get(url)
    assert confirm.status_code == 200 and "cannot be undone" in confirm.content.decode()
    declined.refresh_from_db()
    assert declined.status == RefundStatus.FAILED  # asking is not doing
    assert client.post(url, {"reason": ""}).status_code == 200  # the form asks for the reason again
    response = client.post(url, {"reason": "Uncollectable"}, follow=True)
    assert "Collection written off." in response.content.decode()
    declined.refresh_from_db()
    assert declined.status == RefundStatus.WRITTEN_OFF

    assert url not in client.get(reverse("admin:refunds_refund_change", args=[declined.pk])).content.decode()


def test_an_agent_sees_no_settlement_buttons(declined, reviewer, client):
    client.force_login(reviewer)
    page = client.get(reverse("admin:refunds_refund_change", args=[declined.pk])).content.decode()
    assert reverse("admin:refunds_refund_write_off", args=[declined.pk]) not in page
    assert "Deduct from store credit" not in page


def test_an_agent_posting_to_the_write_off_page_is_refused(declined, reviewer, client):
    client.force_login(reviewer)
    response = client.post(reverse("admin:refunds_refund_write_off", args=[declined.pk]), {"reason": "x"},
                           follow=True)
    assert "Only finance or a supervisor" in response.content.decode()
    declined.refresh_from_db()
    assert declined.status == RefundStatus.FAILED


@pytest.mark.django_db(transaction=True)
def test_two_write_offs_at_once_write_off_once(declined, finance):
    results = run_at_once(2, lambda i: collection_write_off(refund=declined.pk, by=finance, reason=f"click {i}"))
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 1, results
    assert JournalEntry.objects.filter(kind=EntryKind.COLLECTION_WRITTEN_OFF).count() == 1
    assert_books_clean()


def test_finance_reads_how_a_collection_was_settled_in_the_api(declined, finance):
    from rest_framework.test import APIClient

    collection_settle(refund=declined, by=finance, method="other_means", reference="BANK-42")
    client = APIClient()
    client.force_authenticate(finance)
    body = client.get(f"/api/v1/refunds/{declined.pk}").json()
    assert (body["status"], body["collection_settlement"], body["settlement_reference"], body["charge_amount"],
            body["kept_replacement"]) == ("fallback", "other_means", "BANK-42", "16.20", False)
