"""Spending gift cards: the storefront's checkout looks a card up by its code, spends part or all
of its balance for a checkout, and gives it back when that checkout is cancelled.

The card's row is the lock: two checkouts spending the last of one card at once are served one
after the other, and the second is refused `gift_card_insufficient_balance`. Each spending and each
reversal is posted to the ledger once (gift-card liability against the storefront's sales clearing),
so the cards' balances and the liability stay equal (reconciliation checks it card by card).
"""

import logging
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core import codes
from core.actors import channel_of, history_user
from core.audit import audit_event
from core.errors import ErrorList, NotFound, PermissionDenied, ValidationFailed
from core.money import round_money
from core.transitions import save_with_history
from refunds import ledger
from refunds.models import GiftCard, GiftCardRedemption
from refunds.services import GIFT_CARD_PURPOSE

logger = logging.getLogger(__name__)

PERMISSION = "refunds.redeem_giftcard"
CARD_NOT_FOUND = "No gift card has this code."


def _require(by) -> None:
    if by is None or not by.is_authenticated or not by.has_perm(PERMISSION):
        raise PermissionDenied("You may not spend gift cards.")


def _cards_for(by) -> QuerySet[GiftCard]:
    """A partner reaches only the cards of its channel's returns."""
    cards = GiftCard.objects.select_related("refund")
    channel = channel_of(by)
    return cards.filter(refund__return_request__order__channel_id=channel) if channel is not None else cards


def gift_card_find(*, code: str, by, lock: bool = False) -> GiftCard:
    """The card a typed code names. A wrong code is refused like a card of another channel."""
    _require(by)
    card = None
    if codes.looks_like_code(code):
        cards = _cards_for(by)
        if lock:
            cards = cards.select_for_update(of=("self",))
        card = cards.filter(code_digest=codes.digest(code, purpose=GIFT_CARD_PURPOSE)).first()
    if card is None:
        logger.warning("gift card code refused", extra={"code_fingerprint": codes.fingerprint(code)})
        raise NotFound(CARD_NOT_FOUND, code="gift_card_not_found")
    return card


def _amount(value, currency: str) -> Decimal:
    errors = ErrorList()
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed("The amount must be a decimal number.", code="invalid_amount") from None
    if not amount.is_finite() or amount <= 0:
        errors.add("invalid_amount", "The amount must be more than zero.", field="amount")
    elif amount != round_money(amount, currency):
        errors.add("amount_precision", f"{amount} has more decimals than {currency} allows.", field="amount")
    errors.raise_if_any()
    return round_money(amount, currency)  # "34" is 34.00 in the card's currency


@transaction.atomic
def gift_card_redeem(*, code: str, amount, currency: str, reference: str, by) -> GiftCardRedemption:
    """Spend `amount` of the card for the checkout `reference`, in the card's currency."""
    reference = (reference or "").strip()
    if not reference or len(reference) > 100:
        raise ValidationFailed("Give the checkout's or order's reference (up to 100 characters).",
                               code="reference_required")
    card = gift_card_find(code=code, by=by, lock=True)
    currency = (currency or "").upper()
    if currency != card.currency:
        raise ValidationFailed(f"This gift card is in {card.currency}, not {currency or 'no currency'}.",
                               code="currency_mismatch")
    amount = _amount(amount, card.currency)
    if amount > card.balance:
        raise ValidationFailed(f"The gift card has {card.balance} {card.currency} left, less than {amount}.",
                               code="gift_card_insufficient_balance")
    card.balance -= amount
    save_with_history(card, by=by, reason=f"spent {amount} for {reference}")
    redemption = GiftCardRedemption(gift_card=card, amount=amount, currency=card.currency, reference=reference,
                                    redeemed_by=history_user(by))
    save_with_history(redemption, by=by, reason="gift card spent")
    ledger.post_gift_card_redeemed(redemption)
    audit_event("gift_card.redeemed", by=by, gift_card_id=card.pk, redemption_id=redemption.pk,
                amount=str(amount), currency=card.currency, reference=reference, balance=str(card.balance))
    return redemption


def gift_card_redemption_get(*, redemption_id: int, by) -> GiftCardRedemption:
    _require(by)
    channel = channel_of(by)
    redemptions = GiftCardRedemption.objects.select_related("gift_card")
    if channel is not None:
        redemptions = redemptions.filter(gift_card__refund__return_request__order__channel_id=channel)
    found = redemptions.filter(pk=redemption_id).first()
    if found is None:
        raise NotFound("No such gift card spending.", code="gift_card_redemption_not_found")
    return found


@transaction.atomic
def gift_card_redemption_reverse(*, redemption_id: int, by, reason: str = "") -> GiftCardRedemption:
    """Put a spending back on its card (the checkout was cancelled). Reversing one already reversed
    changes nothing and returns it as it is."""
    redemption = gift_card_redemption_get(redemption_id=redemption_id, by=by)
    card = GiftCard.objects.select_for_update().get(pk=redemption.gift_card_id)  # the card first, as spending does
    redemption = GiftCardRedemption.objects.select_for_update().select_related("gift_card").get(pk=redemption.pk)
    if redemption.reversed_at is not None:
        return redemption
    reason = (reason or "").strip()[:300] or "checkout cancelled"
    card.balance += redemption.amount
    save_with_history(card, by=by, reason=f"spending for {redemption.reference} reversed")
    redemption.gift_card = card
    redemption.reversed_at, redemption.reversed_by = timezone.now(), history_user(by)
    redemption.reversal_reason = reason
    save_with_history(redemption, by=by, reason=f"reversed: {reason}")
    ledger.post_gift_card_redemption_reversed(redemption)
    audit_event("gift_card.redemption_reversed", by=by, gift_card_id=card.pk, redemption_id=redemption.pk,
                amount=str(redemption.amount), currency=redemption.currency, balance=str(card.balance))
    return redemption
