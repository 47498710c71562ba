"""Spending credit at the storefront's checkout: a gift recipient's gift card (found by its code) or a
customer's store credit (found by their e-mail). The checkout looks up what is left, spends part or
all of it for a checkout, and gives a spending back when that checkout is cancelled.

What is spent is locked while it is spent — the gift card's row, the customer's store-credit account —
so two checkouts spending the last of it at once are served one after the other and the second is
refused (`gift_card_insufficient_balance`, `store_credit_insufficient`). Each spending and each
reversal is one ledger entry: the gift-card liability or the customer's store-credit account against
the storefront's sales clearing (reconciliation checks both, spending by spending).
"""

import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from core import codes
from core.actors import channel_of, history_user
from core.audit import audit_event
from core.errors import ErrorList, NotFound, PermissionDenied, ValidationFailed
from core.money import round_money
from core.transitions import save_with_history
from refunds import ledger
from refunds.models import Account, CreditSpending, GiftCard
from refunds.services import GIFT_CARD_PURPOSE

logger = logging.getLogger(__name__)

PERMISSION = "refunds.spend_credit"


def _require(by) -> None:
    if by is None or not by.is_authenticated or not by.has_perm(PERMISSION):
        raise PermissionDenied("You may not spend gift cards or store credit.")


# --- what can be spent ---

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
        raise NotFound("No gift card has this code.", code="gift_card_not_found")
    return card


def store_credit_customer(*, email: str, by):
    """The customer an e-mail names. A partner reaches only customers with an order on its channel."""
    _require(by)
    customers = get_user_model().objects.filter(email__iexact=(email or "").strip(), is_active=True)
    channel = channel_of(by)
    if channel is not None:
        customers = customers.filter(orders__channel_id=channel)
    customer = customers.order_by("pk").first()
    if customer is None:
        raise NotFound("No customer of this channel has this e-mail address.", code="customer_not_found")
    return customer


@dataclass(frozen=True)
class Balance:
    currency: str
    amount: Decimal


def store_credit_balances(customer) -> list[Balance]:
    """What the customer can spend, per currency (the credit balance of their store-credit account)."""
    account = Account.objects.filter(code=ledger.StoreCredit(customer.pk).code).first()
    if account is None:
        return []
    totals = account.lines.values("currency").order_by("currency").annotate(total=Sum("amount"))
    return [Balance(currency=row["currency"], amount=round_money(-row["total"], row["currency"]))
            for row in totals if row["total"]]


# --- spending ---

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
    return round_money(amount, currency)  # "34" is 34.00 in the currency


def _reference(reference: str) -> str:
    reference = (reference or "").strip()
    if not reference or len(reference) > 100:
        raise ValidationFailed("Give the checkout's or order's reference (up to 100 characters).",
                               code="reference_required")
    return reference


def _record(spending: CreditSpending, *, by, left: Decimal) -> CreditSpending:
    save_with_history(spending, by=by, reason="credit spent")
    ledger.post_credit_spent(spending)
    audit_event("credit.spent", by=by, spending_id=spending.pk, gift_card_id=spending.gift_card_id,
                customer_id=spending.customer_id, amount=str(spending.amount), currency=spending.currency,
                reference=spending.reference, left=str(left))
    return spending


@transaction.atomic
def gift_card_redeem(*, code: str, amount, currency: str, reference: str, by) -> CreditSpending:
    """Spend `amount` of the card for the checkout `reference`, in the card's currency."""
    reference = _reference(reference)
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
    spending = CreditSpending(gift_card=card, amount=amount, currency=card.currency, reference=reference,
                              spent_by=history_user(by))
    return _record(spending, by=by, left=card.balance)


@transaction.atomic
def store_credit_spend(*, email: str, amount, currency: str, reference: str, by) -> CreditSpending:
    """Spend `amount` of the customer's store credit in `currency` for the checkout `reference`."""
    reference = _reference(reference)
    customer = store_credit_customer(email=email, by=by)
    currency = (currency or "").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValidationFailed("Give the currency as its three-letter ISO 4217 code.", code="invalid_currency")
    amount = _amount(amount, currency)
    # The balance is read under the account's lock, so two spendings cannot both spend it (as a collection
    # settled from store credit does: refunds/collections.py).
    Account.objects.select_for_update().filter(code=ledger.StoreCredit(customer.pk).code).first()
    left = ledger.store_credit_balance(customer, currency)
    if amount > left:
        raise ValidationFailed(f"The customer has {round_money(left, currency)} {currency} of store credit, "
                               f"less than {amount}.", code="store_credit_insufficient")
    spending = CreditSpending(customer=customer, amount=amount, currency=currency, reference=reference,
                              spent_by=history_user(by))
    return _record(spending, by=by, left=left - amount)


# --- a spending, and its reversal ---

def credit_spending_get(*, spending_id: int, by) -> CreditSpending:
    _require(by)
    spendings = CreditSpending.objects.select_related("gift_card")
    channel = channel_of(by)
    if channel is not None:
        spendings = spendings.filter(spent_by=history_user(by))  # a partner sees the spendings it made
    found = spendings.filter(pk=spending_id).first()
    if found is None:
        raise NotFound("No such spending.", code="credit_spending_not_found")
    return found


@transaction.atomic
def credit_spending_reverse(*, spending_id: int, by, reason: str = "") -> CreditSpending:
    """Give a spending back (the checkout was cancelled). Reversing one already reversed changes
    nothing and returns it as it is."""
    spending = credit_spending_get(spending_id=spending_id, by=by)
    # What was spent is locked first, as spending does, then the spending itself.
    card = GiftCard.objects.select_for_update().get(pk=spending.gift_card_id) if spending.gift_card_id else None
    if card is None:
        Account.objects.select_for_update().filter(code=ledger.StoreCredit(spending.customer_id).code).first()
    spending = CreditSpending.objects.select_for_update().get(pk=spending.pk)
    if spending.reversed_at is not None:
        spending.gift_card = card
        return spending
    reason = (reason or "").strip()[:300] or "checkout cancelled"
    if card is not None:
        card.balance += spending.amount
        save_with_history(card, by=by, reason=f"spending for {spending.reference} reversed")
        spending.gift_card = card
    spending.reversed_at, spending.reversed_by = timezone.now(), history_user(by)
    spending.reversal_reason = reason
    save_with_history(spending, by=by, reason=f"reversed: {reason}")
    ledger.post_credit_spending_reversed(spending)
    audit_event("credit.spending_reversed", by=by, spending_id=spending.pk, gift_card_id=spending.gift_card_id,
                customer_id=spending.customer_id, amount=str(spending.amount), currency=spending.currency)
    return spending
