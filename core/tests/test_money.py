from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import allocate, minor_units, round_money


@pytest.mark.parametrize(("currency", "places"), [("USD", 2), ("EUR", 2), ("JPY", 0), ("KWD", 3), ("usd", 2)])
def test_minor_units(currency, places):
    assert minor_units(currency) == places


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("10.005", "USD", "10.01"),
        ("10.004", "USD", "10.00"),
        ("-10.005", "EUR", "-10.01"),
        ("1234.5", "JPY", "1235"),
        ("1234.49", "JPY", "1234"),
        ("1.0005", "KWD", "1.001"),
        ("1.0004", "KWD", "1.000"),
    ],
)
def test_round_money_half_up_to_minor_unit(amount, currency, expected):
    assert round_money(Decimal(amount), currency) == Decimal(expected)
    assert str(round_money(Decimal(amount), currency)) == expected


@pytest.mark.parametrize(
    ("total", "weights", "currency", "expected"),
    [
        ("10.00", ["1", "1", "1"], "USD", ["3.34", "3.33", "3.33"]),
        ("0.02", ["1", "1", "1"], "USD", ["0.01", "0.01", "0.00"]),
        ("100", ["1", "1", "1"], "JPY", ["34", "33", "33"]),
        ("1.000", ["1", "2"], "KWD", ["0.333", "0.667"]),
        ("5.00", ["0", "0"], "USD", ["2.50", "2.50"]),
        ("7.00", ["3", "0", "1"], "USD", ["5.25", "0.00", "1.75"]),
        ("-10.00", ["1", "1", "1"], "USD", ["-3.34", "-3.33", "-3.33"]),
    ],
)
def test_allocate_largest_remainder(total, weights, currency, expected):
    assert allocate(Decimal(total), [Decimal(w) for w in weights], currency) == [Decimal(e) for e in expected]


money = st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False, allow_infinity=False)
weights = st.lists(st.decimals(min_value=0, max_value=10**5, places=3), min_size=1, max_size=12)


@given(total=money, weights=weights, currency=st.sampled_from(["USD", "JPY", "KWD"]))
def test_allocation_sums_exactly_to_the_total(total, weights, currency):
    total = round_money(total, currency)
    parts = allocate(total, weights, currency)
    assert sum(parts) == total
    assert all(part >= 0 for part in parts)
    assert all(part == round_money(part, currency) for part in parts)
