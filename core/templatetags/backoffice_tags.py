"""Template filters for the back-office pages."""

from decimal import Decimal, InvalidOperation

from django import template

from core.money import round_money

register = template.Library()


@register.filter
def money(amount, currency: str = "") -> str:
    """An amount in its currency's minor unit, with thousands separators: 1,234.50 USD."""
    if amount is None or amount == "":
        return "—"
    try:
        value = round_money(Decimal(amount), currency) if currency else Decimal(amount)
    except (InvalidOperation, KeyError, ValueError):
        return str(amount)
    return f"{value:,} {currency}".strip()
