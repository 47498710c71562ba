"""The refund computation as a table of cases, plus properties that must hold for any input."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refunds.calculations import LineInput, calculate_refund

D = Decimal


def line(key, quantity, price, tax="0", fee="0", bonus="0", fee_applies=False):
    return LineInput(key=key, quantity=quantity, unit_price=D(price), unit_tax=D(tax),
                     restocking_fee_percent=D(fee), store_credit_bonus_percent=D(bonus), fee_applies=fee_applies)


CASES = [
    # id, currency, lines, shipping, refund shipping?, store credit?, gross, fee, shipping refund, net, bonus
    ("price plus tax", "USD", [line(1, 2, "25.00", "2.00")], "9.95", False, False,
     "54.00", "0.00", "0.00", "54.00", "0.00"),
    ("shipping back when all returned", "USD", [line(1, 1, "10.00", "0.80")], "4.99", True, False,
     "10.80", "0.00", "4.99", "15.79", "0.00"),
    ("fee only when condition calls for it", "USD",
     [line(1, 1, "100.00", fee="10", fee_applies=True), line(2, 1, "50.00", fee="10")], "0", False, False,
     "150.00", "10.00", "0.00", "140.00", "0.00"),
    ("fee rounds half up", "USD", [line(1, 1, "33.35", fee="15", fee_applies=True)], "0", False, False,
     "33.35", "5.00", "0.00", "28.35", "0.00"),
    ("store credit bonus", "USD", [line(1, 1, "80.00", bonus="5")], "0", False, True,
     "80.00", "0.00", "0.00", "80.00", "4.00"),
    ("bonus on net after fee", "EUR", [line(1, 1, "99.99", "19.00", fee="10", bonus="5", fee_applies=True)],
     "0", False, True, "118.99", "11.90", "0.00", "107.09", "5.35"),
    ("yen has no minor unit", "JPY", [line(1, 3, "1333", "133", fee="15", fee_applies=True)], "500", True, False,
     "4398", "660", "500", "4238", "0"),
    ("dinar has three", "KWD", [line(1, 1, "12.345", "0.617", fee="7.5", fee_applies=True)], "1.250", True, True,
     "12.962", "0.972", "1.250", "13.240", "0.000"),
    ("zero fee percent with fee condition", "USD", [line(1, 1, "20.00", fee="0", fee_applies=True)], "0", False,
     False, "20.00", "0.00", "0.00", "20.00", "0.00"),
    ("nothing returned", "USD", [], "5.00", False, False, "0", "0.00", "0.00", "0", "0.00"),
]


@pytest.mark.parametrize(
    ("currency", "lines", "shipping", "refund_shipping", "store_credit", "gross", "fee", "ship", "net", "bonus"),
    [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_calculation_table(currency, lines, shipping, refund_shipping, store_credit, gross, fee, ship, net, bonus):
    quote = calculate_refund(currency=currency, lines=lines, shipping_cost=D(shipping),
                             refund_shipping=refund_shipping, store_credit=store_credit)
    assert (quote.gross, quote.restocking_fee, quote.shipping_refund, quote.net, quote.store_credit_bonus) == (
        D(gross), D(fee), D(ship), D(net), D(bonus))


def test_fee_is_allocated_over_lines_by_largest_remainder():
    lines = [line(k, 1, "10.00", fee="10", fee_applies=True) for k in (1, 2, 3)]
    lines[0] = line(1, 1, "10.05", fee="10", fee_applies=True)
    quote = calculate_refund(currency="USD", lines=lines, shipping_cost=D(0), refund_shipping=False,
                             store_credit=False)
    fees = [a.restocking_fee for a in quote.lines]
    assert quote.restocking_fee == D("3.01")
    assert sum(fees) == quote.restocking_fee
    assert fees == [D("1.01"), D("1.00"), D("1.00")]
    assert [a.net for a in quote.lines] == [a.gross - a.restocking_fee for a in quote.lines]


price = st.decimals(min_value=0, max_value=5000, places=2)
lines_strategy = st.lists(
    st.builds(
        line,
        key=st.integers(1, 10**6),
        quantity=st.integers(1, 20),
        price=price,
        tax=st.decimals(min_value=0, max_value=500, places=2),
        fee=st.decimals(min_value=0, max_value=100, places=2),
        bonus=st.decimals(min_value=0, max_value=50, places=2),
        fee_applies=st.booleans(),
    ),
    max_size=8,
)


@given(lines=lines_strategy, shipping=st.decimals(min_value=0, max_value=100, places=2),
       refund_shipping=st.booleans(), store_credit=st.booleans())
def test_properties_of_any_refund(lines, shipping, refund_shipping, store_credit):
    quote = calculate_refund(currency="USD", lines=lines, shipping_cost=shipping, refund_shipping=refund_shipping,
                             store_credit=store_credit)
    paid_for_units = sum(((ln.unit_price + ln.unit_tax) * ln.quantity for ln in lines), D(0))
    assert quote.net >= 0
    assert quote.net <= paid_for_units + (shipping if refund_shipping else 0)
    assert sum(a.restocking_fee for a in quote.lines) == quote.restocking_fee
    assert sum(a.gross for a in quote.lines) == quote.gross
    assert quote.net == quote.gross - quote.restocking_fee + quote.shipping_refund
    assert quote.store_credit_bonus >= 0 and (store_credit or quote.store_credit_bonus == 0)


# --- fees and bonus credit decided by the return rules ---

def test_rule_fees_come_off_the_payment_part_first_and_never_exceed_what_is_paid():
    lines = [line(1, 1, "20.00"), LineInput(key=2, quantity=1, unit_price=D("10.00"), unit_tax=D(0),
                                            resolution="store_credit")]
    quote = calculate_refund(currency="USD", lines=lines, shipping_cost=D("5.00"), refund_shipping=True,
                             store_credit=False, fees={"handling": D("2.50"), "return_shipping": D("40")})
    assert quote.fees == (("handling", D("2.50")), ("return_shipping", D("32.50")))
    assert quote.return_fees == D("35.00") and quote.net == 0
    assert quote.payment_amount == 0 and quote.store_credit_amount == 0

    quote = calculate_refund(currency="USD", lines=lines, shipping_cost=D("5.00"), refund_shipping=True,
                             store_credit=False, fees={"handling": D("24.999")})
    assert quote.return_fees == D("25.00")  # rounded to the currency, all of it from the payment part
    assert quote.payment_amount == 0 and quote.store_credit_amount == D("10.00")


def test_a_rules_bonus_adds_to_the_policy_bonus_on_store_credit():
    bonus = LineInput(key=1, quantity=2, unit_price=D("10.00"), unit_tax=D(0), store_credit_bonus_percent=D(5),
                      bonus_credit_percent=D(10))
    assert calculate_refund(currency="USD", lines=[bonus], shipping_cost=D(0), refund_shipping=False,
                            store_credit=True).store_credit_bonus == D("3.00")
    assert calculate_refund(currency="USD", lines=[bonus], shipping_cost=D(0), refund_shipping=False,
                            store_credit=False).store_credit_bonus == 0
