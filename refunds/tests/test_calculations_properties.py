"""Properties of the refund computation in every kind of currency (0, 2 and 3 minor units) and
for every resolution mix, found missing from the USD-only properties: each amount is rounded to
its currency, the parts add up to the whole exactly, a fee never raises what is paid, and the
computation is a pure function (the quote and the commit path give the same answer)."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.money import minor_units
from refunds.calculations import EXCHANGE, REFUND, STORE_CREDIT, LineInput, calculate_refund

D = Decimal
CURRENCIES = ["JPY", "KRW", "USD", "EUR", "KWD", "BHD"]


@st.composite
def returns(draw):
    currency = draw(st.sampled_from(CURRENCIES))
    places = minor_units(currency)
    amount = st.decimals(min_value=0, max_value=10**6, places=places, allow_nan=False, allow_infinity=False)
    lines = draw(st.lists(st.builds(
        LineInput,
        key=st.integers(1, 10**6), quantity=st.integers(1, 50), unit_price=amount, unit_tax=amount,
        restocking_fee_percent=st.decimals(min_value=0, max_value=100, places=2),
        store_credit_bonus_percent=st.decimals(min_value=0, max_value=50, places=2),
        fee_applies=st.booleans(), resolution=st.sampled_from([REFUND, STORE_CREDIT, EXCHANGE]),
        replacement_quantity=st.integers(0, 5), replacement_unit_price=amount, replacement_unit_tax=amount,
    ), min_size=1, max_size=6))
    return dict(currency=currency, lines=lines, shipping_cost=draw(amount), refund_shipping=draw(st.booleans()),
                store_credit=draw(st.booleans()))


def _amounts(quote):
    yield from (quote.gross, quote.restocking_fee, quote.shipping_refund, quote.net, quote.store_credit_bonus,
                quote.store_credit_amount, quote.replacement_total, quote.charge, quote.payment_amount)
    for line in quote.lines:
        yield from (line.gross, line.restocking_fee, line.net, line.replacement)


@settings(max_examples=150, deadline=None)
@given(case=returns())
def test_every_amount_is_rounded_to_its_currency_and_the_parts_add_up(case):
    quote = calculate_refund(**case)
    places = minor_units(case["currency"])
    assert all(amount == amount.quantize(D(1).scaleb(-places)) for amount in _amounts(quote))
    assert quote.gross == sum((line.gross for line in quote.lines), D(0))
    assert quote.restocking_fee == sum((line.restocking_fee for line in quote.lines), D(0))
    assert all(line.net == line.gross - line.restocking_fee for line in quote.lines)
    assert quote.net >= 0 and quote.charge >= 0 and not (quote.payment_amount > 0 and quote.charge > 0)
    assert 0 <= quote.store_credit_amount <= quote.net
    assert all(line.restocking_fee == 0 for line in quote.lines if line.resolution == EXCHANGE)


@settings(max_examples=100, deadline=None)
@given(case=returns())
def test_the_computation_is_pure_and_does_not_depend_on_line_order(case):
    first, again = calculate_refund(**case), calculate_refund(**case)
    assert first == again
    reversed_quote = calculate_refund(**{**case, "lines": list(reversed(case["lines"]))})
    assert (reversed_quote.net, reversed_quote.charge, reversed_quote.gross) == (first.net, first.charge, first.gross)
    # The fee's total is rounded once; only its split over lines may move by a minor unit with the order.
    assert reversed_quote.restocking_fee == first.restocking_fee


@settings(max_examples=100, deadline=None)
@given(case=returns(), more=st.decimals(min_value=0, max_value=100, places=2))
def test_a_higher_fee_never_pays_more(case, more):
    lines = [LineInput(**{**line.__dict__, "fee_applies": True}) for line in case["lines"]]
    higher = [LineInput(**{**line.__dict__, "restocking_fee_percent": min(D(100), line.restocking_fee_percent + more)})
              for line in lines]
    base = calculate_refund(**{**case, "lines": lines})
    steeper = calculate_refund(**{**case, "lines": higher})
    assert steeper.net <= base.net and steeper.restocking_fee >= base.restocking_fee
    assert steeper.store_credit_bonus <= base.store_credit_bonus


@settings(max_examples=100, deadline=None)
@given(case=returns())
def test_nobody_is_paid_more_than_they_paid_plus_shipping(case):
    quote = calculate_refund(**case)
    paid = sum(((line.unit_price + line.unit_tax) * line.quantity for line in case["lines"]), D(0))
    ceiling = paid + (case["shipping_cost"] if case["refund_shipping"] else 0)
    # a unit's price and tax are rounded separately from their sum by at most half a minor unit each line
    slack = D(1).scaleb(-minor_units(case["currency"])) * len(case["lines"])
    assert quote.net <= ceiling + slack
