"""The one money helper: Decimal amounts rounded to their currency's minor unit."""

from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

# ISO 4217 minor units; anything not listed has two.
MINOR_UNITS = {
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}
MAX_DIGITS = 14
DECIMAL_PLACES = 3


def minor_units(currency: str) -> int:
    return MINOR_UNITS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def round_money(amount: Decimal | int | str, currency: str) -> Decimal:
    """Round half up to the currency's minor unit (what card schemes and tax authorities use)."""
    return Decimal(amount).quantize(quantum(currency), rounding=ROUND_HALF_UP)


def allocate(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split `total` over `weights` so the parts sum exactly to `total` (largest remainder).

    Each part is first rounded down to the minor unit; the minor units left over go one by
    one to the parts with the largest remainders, ties broken by position so the result is
    deterministic.
    """
    total = round_money(total, currency)
    if not weights:
        return []
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        weights = [Decimal(1)] * len(weights)
        weight_sum = Decimal(len(weights))
    step = quantum(currency)
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    exact = [magnitude * Decimal(w) / weight_sum for w in weights]
    parts = [e.quantize(step, rounding=ROUND_DOWN) for e in exact]
    leftover_units = int((magnitude - sum(parts, Decimal(0))) / step)
    by_remainder = sorted(range(len(parts)), key=lambda i: (-(exact[i] - parts[i]), i))
    for index in by_remainder[:leftover_units]:
        parts[index] += step
    return [part * sign for part in parts]


def babel_locale(language: str | None = None) -> str:
    """The Babel locale of a Django language code (the active one by default): de → de, pt-br → pt_BR."""
    from django.utils import translation

    return translation.to_locale(language or translation.get_language() or "en")


def format_money(amount, currency: str, *, language: str | None = None) -> str:
    """An amount as a customer reads it in their language, rounded to the currency's minor unit:
    "$1,299.00" (en), "1.299,00 $" (de), "1 299,00 $US" (fr), "¥12,800". The one way the portal and
    the e-mails show money."""
    from babel.numbers import format_currency

    return format_currency(round_money(amount, currency), currency.upper(), locale=babel_locale(language))


def format_percent(value, *, language: str | None = None) -> str:
    """A percentage held as 0–100 (a policy's fee or bonus): "12.5%" (en), "12,5 %" (de, fr)."""
    from babel.numbers import format_percent as babel_format_percent

    return babel_format_percent(Decimal(value) / 100, locale=babel_locale(language), decimal_quantization=False)
