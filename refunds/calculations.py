"""The refund computation: one pure function used by the quote and by the commit path.

No database access here: callers gather the facts (prices paid, conditions, whether the
whole order has now come back) and this decides the money.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from core.money import allocate, round_money

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class LineInput:
    key: int
    quantity: int
    unit_price: Decimal
    unit_tax: Decimal
    restocking_fee_percent: Decimal = Decimal(0)
    store_credit_bonus_percent: Decimal = Decimal(0)
    fee_applies: bool = False  # the policy charges a fee for this line's inspected condition


@dataclass(frozen=True)
class LineAmount:
    key: int
    quantity: int
    gross: Decimal
    restocking_fee: Decimal
    net: Decimal


@dataclass(frozen=True)
class RefundQuote:
    currency: str
    lines: tuple[LineAmount, ...]
    gross: Decimal
    restocking_fee: Decimal
    shipping_refund: Decimal
    net: Decimal
    store_credit_bonus: Decimal

    @property
    def store_credit_total(self) -> Decimal:
        return self.net + self.store_credit_bonus

    def as_dict(self) -> dict:
        return {
            "currency": self.currency,
            "gross": str(self.gross),
            "restocking_fee": str(self.restocking_fee),
            "shipping_refund": str(self.shipping_refund),
            "net": str(self.net),
            "store_credit_bonus": str(self.store_credit_bonus),
            "lines": [
                {"key": line.key, "quantity": line.quantity, "gross": str(line.gross),
                 "restocking_fee": str(line.restocking_fee), "net": str(line.net)}
                for line in self.lines
            ],
        }


def calculate_refund(
    *,
    currency: str,
    lines: Sequence[LineInput],
    shipping_cost: Decimal,
    refund_shipping: bool,
    store_credit: bool,
) -> RefundQuote:
    """gross = (price paid + tax) × units; fee by policy and condition; shipping only when
    everything shipped has come back; net = gross − fee + shipping; a bonus for store credit."""
    line_gross = [round_money((line.unit_price + line.unit_tax) * line.quantity, currency) for line in lines]
    fee_weights = [
        gross * line.restocking_fee_percent / HUNDRED if line.fee_applies else Decimal(0)
        for gross, line in zip(line_gross, lines, strict=True)
    ]
    total_fee = round_money(sum(fee_weights, Decimal(0)), currency)
    line_fees = allocate(total_fee, fee_weights, currency) if total_fee else [Decimal(0)] * len(lines)

    amounts = tuple(
        LineAmount(key=line.key, quantity=line.quantity, gross=gross, restocking_fee=fee, net=gross - fee)
        for line, gross, fee in zip(lines, line_gross, line_fees, strict=True)
    )
    gross = sum(line_gross, Decimal(0))
    shipping = round_money(shipping_cost, currency) if refund_shipping else Decimal(0)
    net = gross - total_fee + shipping

    bonus = Decimal(0)
    if store_credit:
        bonus = round_money(
            sum((a.net * line.store_credit_bonus_percent / HUNDRED for a, line in zip(amounts, lines, strict=True)),
                Decimal(0)),
            currency,
        )
    zero = round_money(0, currency)
    return RefundQuote(
        currency=currency,
        lines=amounts,
        gross=round_money(gross, currency),
        restocking_fee=round_money(total_fee, currency) if total_fee else zero,
        shipping_refund=round_money(shipping, currency),
        net=round_money(net, currency),
        store_credit_bonus=round_money(bonus, currency),
    )
