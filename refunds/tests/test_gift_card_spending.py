"""Spending a gift card at the storefront's checkout: part or all of it, never more than is left,
in its currency, and given back when the checkout is cancelled; every step in the ledger once."""

from decimal import Decimal

import pytest

from core.errors import NotFound, PermissionDenied, ValidationFailed
from refunds import gift_cards, ledger
from refunds.choices import EntryKind
from refunds.models import GiftCard, GiftCardRedemption, JournalEntry
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
    return _actor("storefront", "web", ["gift_cards:redeem"])


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
    first = gift_cards.gift_card_redeem(code=code, amount="20.00", currency="usd", reference="CHK-1", by=storefront)
    card.refresh_from_db()
    assert (first.amount, first.currency, first.reference, card.balance) == (D("20.00"), "USD", "CHK-1", D("34.00"))
    assert _liability() == D("34.00")
    # Typed loosely at the till: lower case, spaces instead of dashes.
    gift_cards.gift_card_redeem(code=code.lower().replace("-", " "), amount=D("34"), currency="USD",
                                reference="CHK-2", by=storefront)
    card.refresh_from_db()
    assert card.balance == 0 and _liability() == 0
    assert JournalEntry.objects.filter(kind=EntryKind.GIFT_CARD_REDEEMED).count() == 2
    assert -ledger.balance(ledger.account(ledger.GIFT_CARDS_SPENT), "USD") == D("54.00")
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
        gift_cards.gift_card_redeem(code=typed, amount=amount, currency=currency, reference=reference, by=storefront)
    assert error.value.code == code
    card.refresh_from_db()
    assert card.balance == D("54.00") and card.history.count() == 1
    assert not GiftCardRedemption.objects.exists()
    assert not JournalEntry.objects.filter(kind=EntryKind.GIFT_CARD_REDEEMED).exists()
    _assert_books_clean()


def test_a_wrong_code_or_another_channels_card_is_not_found(card, storefront):
    _, code = card
    other_channel = _actor("app-store", "app", ["gift_cards:redeem"])
    for by, typed in ((storefront, "ABCD-EFGH-JKMN-PQRS"), (storefront, "not a code"), (other_channel, code)):
        with pytest.raises(NotFound) as error:
            gift_cards.gift_card_redeem(code=typed, amount="1.00", currency="USD", reference="CHK-1", by=by)
        assert error.value.code == "gift_card_not_found"
    assert GiftCard.objects.get().balance == D("54.00")


def test_only_who_may_spend_gift_cards_does(card, storefront, reviewer, finance, customer):
    _, code = card
    unscoped = _actor("carrier", "web", ["carrier:write"])
    for by in (unscoped, reviewer, customer):
        with pytest.raises(PermissionDenied):
            gift_cards.gift_card_find(code=code, by=by)
    assert gift_cards.gift_card_find(code=code, by=finance).balance == D("54.00")  # finance corrects mistakes


def test_a_cancelled_checkout_gives_the_amount_back_once(card, storefront):
    card, code = card
    spent = gift_cards.gift_card_redeem(code=code, amount="54.00", currency="USD", reference="CHK-1", by=storefront)
    reversed_ = gift_cards.gift_card_redemption_reverse(redemption_id=spent.pk, by=storefront, reason="timed out")
    again = gift_cards.gift_card_redemption_reverse(redemption_id=spent.pk, by=storefront)
    card.refresh_from_db()
    assert card.balance == D("54.00") and _liability() == D("54.00")
    assert (reversed_.reversal_reason, again.reversed_at) == ("timed out", reversed_.reversed_at)
    assert JournalEntry.objects.filter(kind=EntryKind.GIFT_CARD_REDEMPTION_REVERSED).count() == 1
    assert spent.history.count() == 2
    _assert_books_clean()
    # Spent again after the reversal: a new spending, its own entry.
    gift_cards.gift_card_redeem(code=code, amount="54.00", currency="USD", reference="CHK-2", by=storefront)
    _assert_books_clean()


def test_another_channel_cannot_see_or_reverse_a_spending(card, storefront):
    _, code = card
    spent = gift_cards.gift_card_redeem(code=code, amount="5.00", currency="USD", reference="CHK-1", by=storefront)
    other_channel = _actor("app-store", "app", ["gift_cards:redeem"])
    with pytest.raises(NotFound) as error:
        gift_cards.gift_card_redemption_reverse(redemption_id=spent.pk, by=other_channel)
    assert error.value.code == "gift_card_redemption_not_found"
    spent.refresh_from_db()
    assert spent.reversed_at is None


def test_reconciliation_catches_a_spending_the_ledger_does_not_know(card, storefront):
    card, code = card
    spent = gift_cards.gift_card_redeem(code=code, amount="5.00", currency="USD", reference="CHK-1", by=storefront)
    _assert_books_clean()
    GiftCardRedemption.objects.filter(pk=spent.pk).update(amount=D("6.00"))  # tampered after posting
    problems = reconcile().problems
    assert any(f"gift card {card.pk}: balance 49.000" in p for p in problems), problems
    assert any(f"gift card spending {spent.pk}: gift_card_redeemed posted" in p for p in problems), problems
