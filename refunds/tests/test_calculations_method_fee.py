"""The return method's fee in the one refund computation: deducted, rounded, never more than is paid out."""

from decimal import Decimal

from refunds.calculations import EXCHANGE, STORE_CREDIT, LineInput, calculate_refund

D = Decimal


def quote(lines, *, fee, currency="USD", store_credit=False, shipping="0", refund_shipping=False):
    return calculate_refund(currency=currency, lines=lines, shipping_cost=D(shipping), refund_shipping=refund_shipping,
                            store_credit=store_credit, method_fee=D(fee), return_method="qr_drop_off")


def shirt(quantity=1, **extra):
    return LineInput(key=1, quantity=quantity, unit_price=D("25.00"), unit_tax=D("2.00"), **extra)


def test_the_fee_is_taken_from_the_refund_and_rounded_to_the_currency():
    paid = quote([shirt()], fee="1.505")
    assert (paid.method_fee, paid.net, paid.payment_amount) == (D("1.51"), D("25.49"), D("25.49"))
    assert paid.as_dict()["method_fee"] == "1.51"
    assert paid.as_dict()["return_method"] == "qr_drop_off"

    yen = calculate_refund(currency="JPY", lines=[LineInput(key=1, quantity=1, unit_price=D("3000"),
                                                            unit_tax=D("0"))],
                           shipping_cost=D(0), refund_shipping=False, store_credit=False, method_fee=D("199.6"))
    assert (yen.method_fee, yen.net) == (D("200"), D("2800"))


def test_the_fee_never_exceeds_what_the_return_pays_out():
    cheap = quote([LineInput(key=1, quantity=1, unit_price=D("1.00"), unit_tax=D("0"))], fee="3.95")
    assert (cheap.method_fee, cheap.net) == (D("1.00"), D("0.00"))


def test_a_dearer_exchange_is_not_charged_the_fee_on_top():
    dearer = quote([shirt(resolution=EXCHANGE, replacement_quantity=1, replacement_unit_price=D("40.00"))],
                   fee="1.50")
    assert (dearer.method_fee, dearer.net, dearer.charge) == (D("0.00"), D("0.00"), D("13.00"))


def test_the_fee_comes_from_the_returns_way_before_the_store_credit_lines():
    mixed = quote([shirt(), LineInput(key=2, quantity=1, unit_price=D("10.00"), unit_tax=D("0"),
                                      resolution=STORE_CREDIT)], fee="2.00")
    assert (mixed.payment_amount, mixed.store_credit_amount) == (D("25.00"), D("10.00"))

    credit_only = quote([LineInput(key=2, quantity=1, unit_price=D("10.00"), unit_tax=D("0"),
                                   resolution=STORE_CREDIT)], fee="2.00")
    assert (credit_only.store_credit_amount, credit_only.net) == (D("8.00"), D("8.00"))


def test_no_fee_leaves_the_computation_as_it_was():
    assert quote([shirt(2)], fee="0").net == D("54.00")
