"""Spending a gift card or a customer's store credit at the storefront's checkout: part or all of it,
never more than is left, in its currency, and given back when the checkout is cancelled; every step in
the ledger once."""

from decimal import Decimal

import pytest

from core.errors import NotFound, PermissionDenied, ValidationFailed
from refunds import credit, ledger
from refunds.choices import EntryKind
from refunds.models import CreditSpending, GiftCard, JournalEntry
from refunds.reconciliation import reconcile
from tests import factories

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def card(order, warehouse):
    return factories.issued_gift_card(order=order, warehouse=warehouse, quantity=2)  # 2 × (25 + 2) = 54.00


@pytest.fixture
def storefront():
    """The web channel's storefront, as the API sees it (its key's scopes are its permissions)."""
    return _actor("storefront", "web", ["credit:spend"])


def _actor(slug, channel, scopes):
    return factories.partner_actor(slug=slug, channel=channel, scopes=scopes)


def _assert_books_clean():
    report = reconcile()
    assert report.ok, report.problems
    assert all(total == 0 for total in report.trial_balance.values())


def _liability() -> Decimal:
    return -ledger.balance(ledger.account(ledger.GIFT_CARD_LIABILITY), "USD")


def test_spend_part_then_the_rest(card, storefront):
    card, code = card
    first = credit.gift_card_redeem(code=code, amount="20.00", currency="usd", reference="CHK-1", by=storefront)
    card.refresh_from_db()
    assert (first.amount, first.currency, first.reference, card.balance) == (D("20.00"), "USD", "CHK-1", D("34.00"))
    assert _liability() == D("34.00")
    # Typed loosely at the till: lower case, spaces instead of dashes.
    credit.gift_card_redeem(code=code.lower().replace("-", " "), amount=D("34"), currency="USD",
                                reference="CHK-2", by=storefront)
    card.refresh_from_db()
    assert card.balance == 0 and _liability() == 0
    assert JournalEntry.objects.filter(kind=EntryKind.CREDIT_SPENT).count() == 2
    assert -ledger.balance(ledger.account(ledger.CREDIT_SPENT_CLEARING), "USD") == D("54.00")
    assert card.history.first().history_change_reason == "spent 34.00 for CHK-2"
    assert card.history.first().history_user == storefront.user
    _assert_books_clean()


@pytest.mark.parametrize(("amount", "currency", "reference", "code"), [
    ("54.01", "USD", "CHK-1", "gift_card_insufficient_balance"),
    ("10.00", "EUR", "CHK-1", "currency_mismatch"),
    ("0", "USD", "CHK-1", "invalid_amount"),
    ("-5", "USD", "CHK-1", "invalid_amount"),
    ("1.005", "USD", "CHK-1", "amount_precision"),
    ("NaN", "USD", "CHK-1", "invalid_amount"),
    ("10.00", "USD", "  ", "reference_required"),
    ("10.00", "USD", "x" * 101, "reference_required"),
])
def test_bad_spending_changes_nothing(card, storefront, amount, currency, reference, code):
    card, typed = card
    with pytest.raises(ValidationFailed) as error:
        credit.gift_card_redeem(code=typed, amount=amount, currency=currency, reference=reference, by=storefront)
    assert error.value.code == code
    card.refresh_from_db()
    assert card.balance == D("54.00") and card.history.count() == 1
    assert not CreditSpending.objects.exists()
    assert not JournalEntry.objects.filter(kind=EntryKind.CREDIT_SPENT).exists()
    _assert_books_clean()


def test_a_wrong_code_or_another_channels_card_is_not_found(card, storefront):
    _, code = card
    other_channel = _actor("app-store", "app", ["credit:spend"])
    for by, typed in ((storefront, "ABCD-EFGH-JKMN-PQRS"), (storefront, "not a code"), (other_channel, code)):
        with pytest.raises(NotFound) as error:
            credit.gift_card_redeem(code=typed, amount="1.00", currency="USD", reference="CHK-1", by=by)
        assert error.value.code == "gift_card_not_found"
    assert GiftCard.objects.get().balance == D("54.00")


def test_only_who_may_spend_gift_cards_does(card, storefront, reviewer, finance, customer):
    _, code = card
    unscoped = _actor("carrier", "web", ["carrier:write"])
    for by in (unscoped, reviewer, customer):
        with pytest.raises(PermissionDenied):
            credit.gift_card_find(code=code, by=by)
    assert credit.gift_card_find(code=code, by=finance).balance == D("54.00")  # finance corrects mistakes


def test_a_cancelled_checkout_gives_the_amount_back_once(card, storefront):
    card, code = card
    spent = credit.gift_card_redeem(code=code, amount="54.00", currency="USD", reference="CHK-1", by=storefront)
    reversed_ = credit.credit_spending_reverse(spending_id=spent.pk, by=storefront, reason="timed out")
    again = credit.credit_spending_reverse(spending_id=spent.pk, by=storefront)
    card.refresh_from_db()
    assert card.balance == D("54.00") and _liability() == D("54.00")
    assert (reversed_.reversal_reason, again.reversed_at) == ("timed out", reversed_.reversed_at)
    assert JournalEntry.objects.filter(kind=EntryKind.CREDIT_SPENDING_REVERSED).count() == 1
    assert spent.history.count() == 2
    _assert_books_clean()
    # Spent again after the reversal: a new spending, its own entry.
    credit.gift_card_redeem(code=code, amount="54.00", currency="USD", reference="CHK-2", by=storefront)
    _assert_books_clean()


def test_another_channel_cannot_see_or_reverse_a_spending(card, storefront):
    _, code = card
    spent = credit.gift_card_redeem(code=code, amount="5.00", currency="USD", reference="CHK-1", by=storefront)
    other_channel = _actor("app-store", "app", ["credit:spend"])
    with pytest.raises(NotFound) as error:
        credit.credit_spending_reverse(spending_id=spent.pk, by=other_channel)
    assert error.value.code == "credit_spending_not_found"
    spent.refresh_from_db()
    assert spent.reversed_at is None


def test_reconciliation_catches_a_spending_the_ledger_does_not_know(card, storefront):
    card, code = card
    spent = credit.gift_card_redeem(code=code, amount="5.00", currency="USD", reference="CHK-1", by=storefront)
    _assert_books_clean()
    CreditSpending.objects.filter(pk=spent.pk).update(amount=D("6.00"))  # tampered after posting
    problems = reconcile().problems
    assert any(f"gift card {card.pk}: balance 49.000" in p for p in problems), problems
    assert any(f"credit spending {spent.pk}: credit_spent posted" in p for p in problems), problems


# --- store credit ---

@pytest.fixture
def credited(order, customer, supervisor):
    """The customer with 20.00 USD of store credit (a goodwill gesture on their order)."""
    from refunds import goodwill

    goodwill.goodwill_grant(order=order, by=supervisor, amount=D("20.00"), method="store_credit",
                            reason="Arrived late; a gesture of goodwill.")
    return customer


def _store_credit(customer, currency="USD") -> Decimal:
    return ledger.store_credit_balance(customer, currency)


def test_spend_store_credit_and_give_it_back(credited, storefront):
    assert [(b.currency, b.amount) for b in credit.store_credit_balances(credited)] == [("USD", D("20.00"))]
    found = credit.store_credit_customer(email=" ALICE@example.com ", by=storefront)
    assert found == credited
    spent = credit.store_credit_spend(email="alice@example.com", amount="12.5", currency="usd", reference="CHK-9",
                                      by=storefront)
    assert (spent.amount, spent.currency, spent.customer, spent.gift_card) == (D("12.50"), "USD", credited, None)
    assert _store_credit(credited) == D("7.50")
    assert -ledger.balance(ledger.account(ledger.CREDIT_SPENT_CLEARING), "USD") == D("12.50")
    _assert_books_clean()

    credit.credit_spending_reverse(spending_id=spent.pk, by=storefront, reason="payment failed")
    credit.credit_spending_reverse(spending_id=spent.pk, by=storefront)
    assert _store_credit(credited) == D("20.00")
    assert JournalEntry.objects.filter(kind=EntryKind.CREDIT_SPENDING_REVERSED).count() == 1
    _assert_books_clean()


@pytest.mark.parametrize(("amount", "currency", "code"), [
    ("20.01", "USD", "store_credit_insufficient"),
    ("5.00", "EUR", "store_credit_insufficient"),  # credit in USD only
    ("5.001", "USD", "amount_precision"),
    ("5", "JPY", "store_credit_insufficient"),
    ("5.5", "JPY", "amount_precision"),
    ("0", "USD", "invalid_amount"),
    ("5.00", "U$D", "invalid_currency"),
])
def test_bad_store_credit_spending_changes_nothing(credited, storefront, amount, currency, code):
    with pytest.raises(ValidationFailed) as error:
        credit.store_credit_spend(email="alice@example.com", amount=amount, currency=currency, reference="CHK-1",
                                  by=storefront)
    assert error.value.code == code
    assert _store_credit(credited) == D("20.00") and not CreditSpending.objects.exists()
    _assert_books_clean()


def test_a_customer_of_another_channel_or_nobody_is_not_found(credited, storefront, other_customer):
    other_channel = _actor("app-store", "app", ["credit:spend"])
    for by, email in ((other_channel, "alice@example.com"), (storefront, "nobody@example.com"),
                      (storefront, "bob@example.com")):  # bob has no order on the web channel
        with pytest.raises(NotFound) as error:
            credit.store_credit_spend(email=email, amount="1.00", currency="USD", reference="CHK-1", by=by)
        assert error.value.code == "customer_not_found"
    assert _store_credit(credited) == D("20.00")


def test_reconciliation_catches_overdrawn_store_credit(credited, storefront):
    spent = credit.store_credit_spend(email="alice@example.com", amount="20.00", currency="USD", reference="CHK-1",
                                      by=storefront)
    _assert_books_clean()
    entry = JournalEntry.objects.get(kind=EntryKind.CREDIT_SPENT, reference=f"credit_spending:{spent.pk}")
    ledger.post(kind=EntryKind.CREDIT_SPENT, reference="credit_spending:forged", currency="USD",
                lines=[(ledger.StoreCredit(credited.pk), D("1.00")), (ledger.CREDIT_SPENT_CLEARING, D("-1.00"))])
    problems = reconcile().problems
    assert any(f"store_credit:{credited.pk}: overdrawn by 1.000 USD" in p for p in problems), problems
    assert any("1 credit_spent entries name no credit spending" in p for p in problems), problems
    assert entry.lines.count() == 2
