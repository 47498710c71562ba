"""The computation with resolutions per line: exchanges pay for replacements (no fee, no shipping
back), store-credit lines earn the bonus, and one return pays out or collects, never both."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from refunds.calculations import LineInput, calculate_refund

D = Decimal


def line(key, quantity, price, tax="0", *, resolution="refund", fee="0", bonus="0", fee_applies=False,
         replace=(0, "0", "0")):
    units, rprice, rtax = replace
    return LineInput(key=key, quantity=quantity, unit_price=D(price), unit_tax=D(tax), resolution=resolution,
                     restocking_fee_percent=D(fee), store_credit_bonus_percent=D(bonus), fee_applies=fee_applies,
                     replacement_quantity=units, replacement_unit_price=D(rprice), replacement_unit_tax=D(rtax))


def quote(*lines, shipping="0", refund_shipping=False, store_credit=False):
    return calculate_refund(currency="USD", lines=lines, shipping_cost=D(shipping), refund_shipping=refund_shipping,
                            store_credit=store_credit)


def test_an_even_exchange_owes_nothing_either_way():
    q = quote(line(1, 1, "25.00", "2.00", resolution="exchange", replace=(1, "25.00", "2.00")))
    assert (q.gross, q.replacement_total, q.net, q.charge) == (D("27.00"), D("27.00"), 0, 0)


def test_a_cheaper_replacement_leaves_money_to_pay_back_the_returns_way():
    q = quote(line(1, 2, "25.00", "2.00", resolution="exchange", replace=(2, "15.00", "1.20")))
    assert (q.net, q.payment_amount, q.store_credit_amount, q.charge) == (D("21.60"), D("21.60"), 0, 0)


def test_a_dearer_replacement_is_collected_after_netting_against_refund_lines():
    q = quote(line(1, 1, "25.00", "2.00", resolution="exchange", replace=(1, "40.00", "3.20")),
              line(2, 1, "10.00", "0.00"))
    assert (q.net, q.charge) == (0, D("6.20"))  # 27.00 + 10.00 back, 43.20 out


def test_exchanges_carry_no_restocking_fee():
    q = quote(line(1, 1, "100.00", resolution="exchange", fee="10", fee_applies=True, replace=(1, "100.00", "0")),
              line(2, 1, "50.00", fee="10", fee_applies=True))
    assert (q.restocking_fee, q.net) == (D("5.00"), D("45.00"))


def test_store_credit_lines_earn_the_bonus_while_the_rest_goes_to_the_card():
    q = quote(line(1, 1, "80.00", resolution="store_credit", bonus="5"), line(2, 1, "20.00", bonus="5"),
              shipping="4.99", refund_shipping=True)
    assert (q.store_credit_amount, q.store_credit_bonus, q.payment_amount) == (D("80.00"), D("4.00"), D("24.99"))


def test_a_store_credit_return_pays_everything_as_credit_and_the_bonus_on_its_lines():
    q = quote(line(1, 1, "80.00", bonus="5"), line(2, 1, "27.00", resolution="exchange", replace=(1, "20.00", "0")),
              store_credit=True)
    assert (q.net, q.store_credit_amount, q.store_credit_bonus, q.payment_amount) == (
        D("87.00"), D("87.00"), D("4.00"), 0)


money = st.decimals(min_value=0, max_value=500, places=2)
resolution = st.sampled_from(["refund", "store_credit", "exchange"])


@given(st.lists(st.tuples(st.integers(1, 4), money, money, resolution, money), min_size=1, max_size=5),
       st.booleans())
def test_the_books_always_balance(rows, store_credit):
    lines = [line(i, units, str(price), "0", resolution=res, replace=(units, str(rprice), "0"))
             for i, (units, price, _, res, rprice) in enumerate(rows)]
    q = quote(*lines, store_credit=store_credit)
    # What the settlement entry posts sums to zero: gross − fee − replacements + charge − net.
    assert q.gross - q.restocking_fee - q.replacement_total + q.charge - q.net == 0
    assert q.net >= 0 and q.charge >= 0 and 0 <= q.store_credit_amount <= q.net
    assert q.charge == 0 or q.payment_amount == 0
