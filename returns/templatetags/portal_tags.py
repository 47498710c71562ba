"""Small presentation helpers for the customer portal's templates."""

from decimal import Decimal, InvalidOperation

from babel.numbers import format_decimal
from django import template

from core.money import babel_locale, format_money, format_percent
from returns.portal import wording

register = template.Library()


@register.filter
def money(amount, currency: str = "") -> str:
    """An amount in the customer's language, in its currency's minor unit: "$1,299.00", "79,00 €".

    Amounts are stored with three decimals whatever the currency; shown in its minor unit.
    """
    if amount is None or amount == "":
        return ""
    try:
        return format_money(amount, currency) if currency else format_decimal(Decimal(amount), locale=babel_locale())
    except (InvalidOperation, TypeError, ValueError):
        return str(amount)


@register.filter
def percent(value) -> str:
    """5.00 → "5%", 12.50 → "12.5%" (en) or "12,5 %" (de)."""
    try:
        return format_percent(value)
    except (InvalidOperation, TypeError, ValueError):
        return ""


@register.filter
def minutes(duration) -> int:
    """A timedelta as whole minutes (rounded up), for "try again in 15 minutes"."""
    try:
        return -(-int(duration.total_seconds()) // 60)
    except AttributeError:
        return 0


@register.simple_tag
def widget(field, hint_id: str = ""):
    """The field's input, described by its hint and, when it has them, its errors for screen readers."""
    ids = [hint_id] if hint_id else []
    if field.errors:
        ids.append(f"{field.auto_id}-errors")
    return field.as_widget(attrs={"aria-describedby": " ".join(ids)} if ids else None)


@register.inclusion_tag("portal/_badge.html")
def status_badge(status: str) -> dict:
    return {"text": wording.status_text(status)}
