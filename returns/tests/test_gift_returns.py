"""Gift returns: a recipient with a gift receipt's code returns items for a gift card.

The purchaser's card is never refunded, the purchaser is not told unless the policy says so,
and the code cannot be guessed: wrong codes get one answer and lock the guesser out."""

import logging
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import override_settings

from core import codes
from core.errors import NotFound, PermissionDenied, TooManyAttempts, ValidationFailed
from notifications.choices import NotificationEvent
from notifications.models import Notification
from refunds import ledger
from refunds.choices import EntryKind, RefundStatus
from refunds.models import GiftCard, JournalEntry, Refund, SandboxRefund
from refunds.reconciliation import reconcile
from refunds.services import gift_card_code, refund_fall_back
from returns import gifts, services
from returns.choices import RefundMethod, Resolution, ReturnStatus
from returns.models import GiftReceipt, ReturnRequest
from returns.resolutions import return_line_change_resolution
from tests import factories

pytestmark = pytest.mark.django_db

RECIPIENT = {"recipient_name": "Grace Gift", "recipient_email": "grace@example.net"}
IP = "203.0.113.7"


@pytest.fixture
def staff(reviewer):
    return reviewer


@pytest.fixture
def issued(order, staff):
    """A gift receipt for the whole order and its code."""
    return gifts.gift_receipt_issue(by=staff, order_id=order.pk)


def shirt_of(order):
    return order.lines.get(product__sku="shirt-blue-m")


def gift_return(receipt, order, quantity=1, **extra):
    return gifts.gift_return_create(gift_receipt=receipt, lines=[factories.line_request(shirt_of(order), quantity)],
                                    **{**RECIPIENT, **extra})


def to(address: str) -> list:
    return [message for message in mail.outbox if address in message.to]


# --- issuing ---

def test_a_code_is_random_typable_grouped_and_stored_only_as_a_digest(order, issued):
    receipt, code = issued
    assert re.fullmatch(r"([23456789ABCDEFGHJKMNPQRSTWXYZ]{4}-){3}[23456789ABCDEFGHJKMNPQRSTWXYZ]{4}", code)
    assert receipt.code_hint == code[-4:]
    assert receipt.code_digest == codes.digest(code, purpose=gifts.CODE_PURPOSE)
    stored = " ".join(str(value) for value in GiftReceipt.objects.filter(pk=receipt.pk).values().first().values())
    assert codes.normalise(code) not in codes.normalise(stored) and code not in stored
    assert order.external_id not in code
    assert gifts.gift_receipt_code(receipt) == code  # printable again from the nonce and the secret key
    assert receipt.history.first().history_user is not None


def test_reissuing_replaces_the_receipt_and_the_old_code_stops_working(order, staff, issued):
    old, old_code = issued
    new, new_code = gifts.gift_receipt_issue(by=staff, order_id=order.pk)
    assert new_code != old_code
    old.refresh_from_db()
    assert old.revoked_at is not None and new.is_live
    with pytest.raises(ValidationFailed) as refused:
        gifts.gift_receipt_verify(code=old_code, client_ip=IP)
    assert refused.value.code == "gift_code_invalid"
    assert gifts.gift_receipt_verify(code=new_code.lower().replace("-", " "), client_ip=IP) == new


def test_only_staff_with_the_permission_or_a_scoped_partner_of_the_channel_issue(order, customer, warehouse):
    with pytest.raises(PermissionDenied):
        gifts.gift_receipt_issue(by=customer, order_id=order.pk)
    with pytest.raises(PermissionDenied):
        gifts.gift_receipt_issue(by=warehouse, order_id=order.pk)
    with pytest.raises(PermissionDenied):
        gifts.gift_receipt_issue(by=None, order_id=order.pk)
    assert not GiftReceipt.objects.exists()


def test_issuing_for_a_line_of_another_order_is_refused(order, staff, shop, other_customer):
    other = factories.make_order(customer=other_customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
    with pytest.raises(ValidationFailed) as refused:
        gifts.gift_receipt_issue(by=staff, order_id=order.pk, order_line_id=other.lines.get().pk)
    assert refused.value.code == "line_not_in_order"
    with pytest.raises(NotFound):
        gifts.gift_receipt_issue(by=staff, order_id=999999)
    assert not GiftReceipt.objects.exists()


# --- the happy path, end to end ---

def test_a_gift_return_pays_the_recipient_a_gift_card_and_never_the_purchasers_card(
        order, customer, issued, warehouse, django_capture_on_commit_callbacks):
    _, code = issued
    receipt = gifts.gift_receipt_verify(code=code, client_ip=IP)
    with django_capture_on_commit_callbacks(execute=True):
        rr = gift_return(receipt, order, quantity=2)
    assert rr.customer == customer and rr.is_gift and rr.refund_method == RefundMethod.GIFT_CARD
    assert (rr.recipient_name, rr.recipient_email) == ("Grace Gift", "grace@example.net")
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.AUTHORIZED
    with django_capture_on_commit_callbacks(execute=True):
        services.return_mark_in_transit(return_request=rr)
        services.return_receive(return_request=rr, by=warehouse)
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED
    refund = Refund.objects.get(return_request=rr)
    assert refund.method == RefundMethod.GIFT_CARD and refund.status == RefundStatus.COMPLETED
    assert refund.net == Decimal("54.00") and refund.shipping_refund == 0  # 2 × (25 + 2), no shipping
    assert not refund.gateway_attempts.exists() and not SandboxRefund.objects.exists()
    card = GiftCard.objects.get(refund=refund)
    assert (card.initial_amount, card.balance, card.currency) == (Decimal("54.00"), Decimal("54.00"), "USD")
    assert card.recipient_email == "grace@example.net"
    assert ledger.store_credit_balance(customer, "USD") == 0
    assert -ledger.balance(ledger.account(ledger.GIFT_CARD_LIABILITY), "USD") == Decimal("54.00")
    assert JournalEntry.objects.filter(kind=EntryKind.GIFT_CARD_ISSUED, refund=refund).count() == 1
    assert not JournalEntry.objects.filter(kind__in=[EntryKind.GATEWAY_REFUND, EntryKind.STORE_CREDIT_ISSUED]).exists()
    report = reconcile()
    assert report.ok, report.problems
    assert all(total == 0 for total in report.trial_balance.values())

    # Every e-mail went to the recipient; the last carries a gift-card code that finds the card.
    assert not to("alice@example.com")
    received = to("grace@example.net")
    assert received and all("Grace Gift" in message.body for message in received)
    (card_mail,) = [m for m in received if "gift card" in m.subject.lower()]
    code_sent = gift_card_code(card)
    assert code_sent in card_mail.body and "$54.00" in card_mail.body
    assert card.code_digest == codes.digest(code_sent, purpose="gift-card")
    assert code_sent not in str(GiftCard.objects.filter(pk=card.pk).values().first())
    assert "/gift/status/" in card_mail.body  # the signed status link, not the purchaser's portal


def test_the_recipients_status_link_is_signed(order, issued):
    receipt = gifts.gift_receipt_verify(code=issued[1], client_ip=IP)
    rr = gift_return(receipt, order)
    token = gifts.gift_status_token(rr)
    assert gifts.gift_return_for_token(token) == rr
    assert gifts.gift_return_for_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB")) is None
    assert gifts.gift_return_for_token(str(rr.pk)) is None


def test_the_purchaser_neither_hears_of_nor_sees_the_gift_return(order, customer, issued,
                                                                 django_capture_on_commit_callbacks):
    receipt = gifts.gift_receipt_verify(code=issued[1], client_ip=IP)
    with django_capture_on_commit_callbacks(execute=True):
        rr = gift_return(receipt, order)
    assert not to("alice@example.com")
    assert not Notification.objects.filter(return_request=rr, event=NotificationEvent.GIFT_RETURNED).exists()
    from returns import selectors

    assert not selectors.returns_for_customer(customer).exists()
    assert selectors.customer_return(customer=customer, rma_number=rr.rma_number) is None
    assert not selectors.returns_visible_to(customer).exists()


def test_the_purchaser_is_told_when_the_policy_says_so(order, issued, django_capture_on_commit_callbacks):
    factories.policy(None, gift_returns_notify_purchaser=True)
    receipt = gifts.gift_receipt_verify(code=issued[1], client_ip=IP)
    with django_capture_on_commit_callbacks(execute=True):
        rr = gift_return(receipt, order)
    (told,) = to("alice@example.com")
    assert "gift" in told.subject.lower() and rr.rma_number in told.body
    assert "Grace" not in told.body and "grace@example.net" not in told.body
    assert "/gift/status/" not in told.body
    assert to("grace@example.net")


# --- guessing ---

@override_settings(RETURNS={**settings.RETURNS,
                            "GIFT_CODE_MAX_FAILURES_PER_IP": 5, "GIFT_CODE_MAX_ATTEMPTS_PER_CODE": 5})
def test_a_guesser_is_locked_out_and_even_a_valid_code_is_refused_while_locked(issued, caplog):
    _, code = issued
    wrong = [codes.code_from_nonce(codes.new_nonce(), purpose="guess") for _ in range(5)]
    answers = set()
    with caplog.at_level(logging.WARNING, logger="returns.gifts"):
        for guess in [*wrong[:3], "ORD-10001 1234AB", "x"]:
            with pytest.raises(ValidationFailed) as refused:
                gifts.gift_receipt_verify(code=guess, client_ip=IP)
            answers.add((refused.value.code, refused.value.message))
        assert answers == {("gift_code_invalid", gifts.INVALID_CODE)}  # one answer, whatever was typed
        with pytest.raises(TooManyAttempts) as locked:
            gifts.gift_receipt_verify(code=code, client_ip=IP)
    assert locked.value.http_status == 429
    logged = " ".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert codes.normalise(code) not in codes.normalise(logged) and wrong[0] not in logged
    assert "code_fingerprint" in logged
    # Another address is not locked out by this one.
    assert gifts.gift_receipt_verify(code=code, client_ip="198.51.100.2").pk == issued[0].pk


@override_settings(RETURNS={**settings.RETURNS,
                            "GIFT_CODE_MAX_FAILURES_PER_IP": 100, "GIFT_CODE_MAX_ATTEMPTS_PER_CODE": 3})
def test_one_code_tried_from_many_addresses_is_locked(issued):
    _, code = issued
    for n in range(3):
        gifts.gift_receipt_verify(code=code, client_ip=f"192.0.2.{n}")
    with pytest.raises(TooManyAttempts):
        gifts.gift_receipt_verify(code=code, client_ip="192.0.2.99")


def test_a_revoked_receipt_gets_the_same_answer_as_a_code_never_issued(order, staff, issued):
    gifts.gift_receipt_issue(by=staff, order_id=order.pk)
    with pytest.raises(ValidationFailed) as revoked:
        gifts.gift_receipt_verify(code=issued[1], client_ip=IP)
    with pytest.raises(ValidationFailed) as never:
        gifts.gift_receipt_verify(code="2222-3333-4444-5555", client_ip=IP)
    assert (revoked.value.code, revoked.value.message) == (never.value.code, never.value.message)


# --- eligibility and reuse ---

def test_the_code_returns_no_more_than_is_left_to_return(order, issued):
    receipt = gifts.gift_receipt_verify(code=issued[1], client_ip=IP)
    gift_return(receipt, order, quantity=2)
    with pytest.raises(ValidationFailed) as refused:
        gift_return(receipt, order, quantity=1, recipient_email="someone@example.org")
    assert refused.value.violations[0].code == "quantity_exceeds_returnable"
    assert ReturnRequest.objects.count() == 1


def test_a_line_receipt_covers_only_its_line_and_the_window_still_applies(order, staff, shop, customer):
    jacket = order.lines.get(product__sku="jacket-rain-l")
    receipt, _ = gifts.gift_receipt_issue(by=staff, order_id=order.pk, order_line_id=jacket.pk)
    with pytest.raises(ValidationFailed) as refused:
        gift_return(receipt, order)
    assert refused.value.code == "line_not_in_order"
    assert [line["order_line"] for line in gifts.gift_receipt_lines(receipt)] == [jacket]

    old = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00")], delivered_days_ago=60)
    old_receipt, _ = gifts.gift_receipt_issue(by=staff, order_id=old.pk)
    with pytest.raises(ValidationFailed) as late:
        gifts.gift_return_create(gift_receipt=old_receipt, lines=[factories.line_request(old.lines.get(), 1)],
                                 **RECIPIENT)
    assert late.value.violations[0].code == "return_window_closed"
    assert not ReturnRequest.objects.exists()


def test_the_recipient_must_say_who_they_are(order, issued):
    receipt = gifts.gift_receipt_verify(code=issued[1], client_ip=IP)
    with pytest.raises(ValidationFailed) as refused:
        gift_return(receipt, order, recipient_name=" ", recipient_email="not-an-address")
    assert {v.code for v in refused.value.violations} == {"recipient_name_required", "invalid_email"}
    assert not ReturnRequest.objects.exists()


# --- never the purchaser's card ---

def test_any_other_refund_method_or_resolution_is_refused(order, issued):
    receipt = gifts.gift_receipt_verify(code=issued[1], client_ip=IP)
    for method in (RefundMethod.ORIGINAL_PAYMENT, RefundMethod.STORE_CREDIT, RefundMethod.CHEQUE):
        with pytest.raises(ValidationFailed) as refused:
            gift_return(receipt, order, refund_method=method)
        assert refused.value.code == "gift_return_gift_card_only"
    for resolution in (Resolution.EXCHANGE, Resolution.STORE_CREDIT):
        with pytest.raises(ValidationFailed) as refused:
            gifts.gift_return_create(gift_receipt=receipt, **RECIPIENT, lines=[
                factories.line_request(shirt_of(order), 1, resolution=resolution)])
        assert refused.value.code == "gift_return_gift_card_only"
    with pytest.raises(ValidationFailed) as refused:  # the core service refuses it too
        services.return_request_create(by=None, order_id=order.pk, gift_receipt=receipt, **RECIPIENT,
                                       lines=[factories.line_request(shirt_of(order), 1)],
                                       refund_method=RefundMethod.ORIGINAL_PAYMENT)
    assert refused.value.code == "gift_return_gift_card_only"
    assert not ReturnRequest.objects.exists()


def test_a_customer_cannot_ask_for_a_gift_card_on_their_own_return(order, customer):
    with pytest.raises(ValidationFailed) as refused:
        services.return_request_create(by=customer, order_id=order.pk, refund_method=RefundMethod.GIFT_CARD,
                                       lines=[factories.line_request(shirt_of(order), 1)])
    assert refused.value.code == "invalid_refund_method"


def test_staff_cannot_turn_a_gift_return_into_an_exchange_or_store_credit(order, issued, supervisor):
    receipt = gifts.gift_receipt_verify(code=issued[1], client_ip=IP)
    rr = gift_return(receipt, order)
    line = rr.lines.get()
    for resolution in (Resolution.EXCHANGE, Resolution.STORE_CREDIT):
        with pytest.raises(ValidationFailed) as refused:
            return_line_change_resolution(line=line, by=supervisor, resolution=resolution)
        assert refused.value.code == "gift_return_gift_card_only"
    line.refresh_from_db()
    assert line.resolution == Resolution.REFUND


def test_the_database_refuses_a_gift_return_paid_any_other_way(order, issued):
    receipt = gifts.gift_receipt_verify(code=issued[1], client_ip=IP)
    rr = gift_return(receipt, order)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReturnRequest.objects.filter(pk=rr.pk).update(refund_method=RefundMethod.ORIGINAL_PAYMENT)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReturnRequest.objects.filter(pk=rr.pk).update(gift_receipt=None)


def test_finance_cannot_pay_a_gift_card_refund_another_way(order, issued, warehouse, finance,
                                                           django_capture_on_commit_callbacks):
    receipt = gifts.gift_receipt_verify(code=issued[1], client_ip=IP)
    rr = gift_return(receipt, order)
    services.return_mark_in_transit(return_request=rr)
    services.return_receive(return_request=rr, by=warehouse)
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)
    refund = Refund.objects.get(return_request=rr)
    for method in (RefundMethod.STORE_CREDIT, RefundMethod.CHEQUE):
        with pytest.raises(ValidationFailed) as refused:
            refund_fall_back(refund=refund, by=finance, method=method)
        assert refused.value.code == "gift_return_gift_card_only"
    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.filter(pk=refund.pk).update(store_credit_amount=refund.net)
    assert reconcile().ok


def test_reconciliation_notices_gift_cards_that_disagree_with_the_ledger(order, issued, warehouse,
                                                                          django_capture_on_commit_callbacks):
    receipt = gifts.gift_receipt_verify(code=issued[1], client_ip=IP)
    rr = gift_return(receipt, order)
    services.return_mark_in_transit(return_request=rr)
    services.return_receive(return_request=rr, by=warehouse)
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)
    assert reconcile().ok
    card = GiftCard.objects.get()
    GiftCard.objects.filter(pk=card.pk).update(balance=card.balance - 1)  # spent without a ledger entry
    problems = reconcile().problems
    assert any("gift cards in USD" in problem and "gift-card liability holds 27.00" in problem
               for problem in problems), problems


def test_a_gift_return_is_never_refunded_early_whatever_the_rules_say(order, issued):
    """The gift card goes to someone with no account an unearned early refund could be recovered from."""
    receipt, _ = issued
    name, email = RECIPIENT["recipient_name"], RECIPIENT["recipient_email"]
    factories.rules_pay_refunds("at_request")
    rr = services.return_request_create(
        by=None, order_id=order.pk, lines=[factories.line_request(shirt_of(order), 1)],
        refund_method=RefundMethod.GIFT_CARD, gift_receipt=receipt, recipient_name=name, recipient_email=email)
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.AUTHORIZED
    assert rr.refund_timing == "after_inspection" and "gift card" in rr.refund_timing_reason
    assert not Refund.objects.filter(return_request=rr).exists()
