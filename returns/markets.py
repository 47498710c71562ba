"""Markets: which policies serve a shipping country, and the window the law guarantees there.

A policy may be scoped to a market (its countries and currency). For an order shipped to a
country, the policy of a category is looked up in this order: the category in the country's
market, the market's default, the category outside any market, the default outside any market.
A market is thus a complete set of terms for its countries, falling back to the global ones only
where it says nothing.
"""

from django.db.models import Q

# EU member states (ISO 3166-1 alpha-2). Greece ships as GR (ISO), not EL (Eurostat).
EU_COUNTRIES = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
    "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
})
# Directive 2011/83/EU, art. 9: the consumer's right of withdrawal lasts 14 days from delivery.
EU_MINIMUM_WINDOW_DAYS = 14


def normalise_country(country) -> str:
    return str(country or "").strip().upper()


def market_for_country(country):
    from returns.models import Market

    country = normalise_country(country)
    if not country:
        return None
    return Market.objects.filter(countries__contains=[country]).first()


def policies_for(categories, *, country=None) -> dict:
    """The policy for each category (and "" for the default) serving orders shipped to `country`."""
    from returns.models import ReturnPolicy

    categories = {category or "" for category in categories} | {""}
    market = market_for_country(country)
    scope = Q(market=None) | Q(market=market) if market is not None else Q(market=None)
    named = [category for category in categories if category]
    rows = ReturnPolicy.objects.filter(scope, Q(category__in=named) | Q(category=None)).select_related("market")
    found = {(policy.category or "", policy.market_id): policy for policy in rows}
    market_id = market.pk if market is not None else None

    def lookup(category: str):
        for key in ((category, market_id), ("", market_id), (category, None), ("", None)):
            if key in found:
                return found[key]
        return None

    return {category: lookup(category) for category in categories}


def effective_window_days(policy, country) -> int:
    """The policy's window, raised to the EU's 14-day withdrawal right for an EU shipping address
    whatever the category says."""
    window = policy.window_days if not isinstance(policy, dict) else int(policy["window_days"])
    if normalise_country(country) in EU_COUNTRIES:
        return max(window, EU_MINIMUM_WINDOW_DAYS)
    return window
