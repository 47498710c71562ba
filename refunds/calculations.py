"""The refund computation: one pure function used by the quote and by the commit path.

No database access here: callers gather the facts (prices paid, conditions, whether the
whole order has now come back, what each line is resolved as) and this decides the money.

Each line is resolved as a refund (paid the return's way: original payment or store credit),
as store credit (always store credit, with the bonus) or as an exchange (its value pays for a
replacement; the difference is paid back the return's way, or collected when the replacement
costs more). Exchanges carry no restocking fee and never bring back the original shipping: the
customer keeps an order. What the customer is owed is split in two parts, one per way it is
paid, and a shortfall on exchanges is netted against the part paid the return's way first, so
a return either pays out through the gateway or collects through it, never both.

Fees the return rules add (handling, return shipping) come off what the customer is paid, the
part paid the return's way first; they never exceed it. A rule's bonus credit adds to the
store-credit bonus of the lines it matched.

The return method's fee (a QR drop-off, say) is taken from what the return pays out, the
return's way first; a return that pays out less than the fee has the rest waived, so choosing
a method never leaves the customer owing money.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from core.money import allocate, round_money

HUNDRED = Decimal(100)

REFUND = "refund"
EXCHANGE = "exchange"
STORE_CREDIT = "store_credit"


@dataclass(frozen=True)
class LineInput:
    key: int
    quantity: int
    unit_price: Decimal
    unit_tax: Decimal
    restocking_fee_percent: Decimal = Decimal(0)
    store_credit_bonus_percent: Decimal = Decimal(0)
    bonus_credit_percent: Decimal = Decimal(0)  # added by a return rule, on top of the policy's bonus
    fee_applies: bool = False  # the policy charges a fee for this line's inspected condition
    resolution: str = REFUND
    # Exchanges only: what is sent in its place, priced per unit as the customer was quoted.
    replacement_quantity: int = 0
    replacement_unit_price: Decimal = Decimal(0)
    replacement_unit_tax: Decimal = Decimal(0)


@dataclass(frozen=True)
class LineAmount:
    key: int
    quantity: int
    gross: Decimal
    restocking_fee: Decimal
    net: Decimal
    resolution: str = REFUND
    replacement: Decimal = Decimal(0)  # the replacement's value (price + tax × units), exchanges only


@dataclass(frozen=True)
class RefundQuote:
    currency: str
    lines: tuple[LineAmount, ...]
    gross: Decimal
    restocking_fee: Decimal
    shipping_refund: Decimal
    net: Decimal  # what the customer is paid: store_credit_amount as store credit, the rest the return's way
    store_credit_bonus: Decimal
    store_credit_amount: Decimal = Decimal(0)
    replacement_total: Decimal = Decimal(0)  # value of every replacement sent for exchanged lines
    charge: Decimal = Decimal(0)  # what the customer pays on top, when replacements cost more
    notices: tuple[dict, ...] = ()  # what a quote tells the customer besides the money (e.g. out of stock)
    refund_timing: str = ""  # a quote for a request: when the refund would be paid, and why
    refund_timing_reason: str = ""
    return_fees: Decimal = Decimal(0)  # fees the return rules charge, deducted from net
    fees: tuple[tuple[str, Decimal], ...] = ()  # (kind, amount charged) per rule fee
    method_fee: Decimal = Decimal(0)  # the return method's fee, as deducted (never more than was paid out)
    return_method: str = ""

    @property
    def payment_amount(self) -> Decimal:
        """The part of `net` paid the return's way (the original payment, unless that is store credit)."""
        return self.net - self.store_credit_amount

    @property
    def store_credit_total(self) -> Decimal:
        return self.store_credit_amount + self.store_credit_bonus

    def as_dict(self) -> dict:
        return {
            "currency": self.currency,
            "gross": str(self.gross),
            "restocking_fee": str(self.restocking_fee),
            "shipping_refund": str(self.shipping_refund),
            "net": str(self.net),
            "store_credit_bonus": str(self.store_credit_bonus),
            "payment_amount": str(self.payment_amount),
            "store_credit_amount": str(self.store_credit_amount),
            "replacement_total": str(self.replacement_total),
            "charge": str(self.charge),
            "return_fees": str(self.return_fees),
            "fees": [{"kind": kind, "amount": str(amount)} for kind, amount in self.fees],
            "return_method": self.return_method,
            "method_fee": str(self.method_fee),
            "lines": [
                {"key": line.key, "quantity": line.quantity, "gross": str(line.gross),
                 "restocking_fee": str(line.restocking_fee), "net": str(line.net), "resolution": line.resolution,
                 "replacement": str(line.replacement)}
                for line in self.lines
            ],
            "notices": list(self.notices),
            **({"refund_timing": self.refund_timing, "refund_timing_reason": self.refund_timing_reason}
               if self.refund_timing else {}),
        }


def calculate_refund(
    *,
    currency: str,
    lines: Sequence[LineInput],
    shipping_cost: Decimal,
    refund_shipping: bool,
    store_credit: bool,
    fees: dict[str, Decimal] | None = None,
    method_fee: Decimal = Decimal(0),
    return_method: str = "",
) -> RefundQuote:
    """gross = (price paid + tax) × units; fee by policy and condition (not on exchanges);
    shipping only when everything shipped has come back for money; net = gross − fee +
    shipping − replacements − the return method's fee; a bonus on what is paid as store credit.

    `store_credit` says how the return's way is paid: refund lines (and shipping, and what
    cheaper replacements leave over) as store credit instead of to the original payment.
    """
    line_gross = [round_money((line.unit_price + line.unit_tax) * line.quantity, currency) for line in lines]
    fee_weights = [
        gross * line.restocking_fee_percent / HUNDRED if line.fee_applies and line.resolution != EXCHANGE
        else Decimal(0)
        for gross, line in zip(line_gross, lines, strict=True)
    ]
    total_fee = round_money(sum(fee_weights, Decimal(0)), currency)
    line_fees = allocate(total_fee, fee_weights, currency) if total_fee else [Decimal(0)] * len(lines)
    replacements = [
        round_money((line.replacement_unit_price + line.replacement_unit_tax) * line.replacement_quantity, currency)
        if line.resolution == EXCHANGE else Decimal(0)
        for line in lines
    ]

    amounts = tuple(
        LineAmount(key=line.key, quantity=line.quantity, gross=gross, restocking_fee=fee, net=gross - fee,
                   resolution=line.resolution, replacement=replacement)
        for line, gross, fee, replacement in zip(lines, line_gross, line_fees, replacements, strict=True)
    )
    gross = sum(line_gross, Decimal(0))
    shipping = round_money(shipping_cost, currency) if refund_shipping else Decimal(0)

    # Two parts: what store-credit lines earn, and what goes the return's way (refund lines,
    # shipping, and exchanges' differences, which may be negative).
    credit_lines = sum((a.net for a in amounts if a.resolution == STORE_CREDIT), Decimal(0))
    return_way = shipping + sum((a.net - a.replacement for a in amounts if a.resolution != STORE_CREDIT), Decimal(0))
    charge = max(Decimal(0), -return_way)
    return_way = max(Decimal(0), return_way)
    # Rule fees: the return's way first, then store-credit lines; never more than is paid.
    charged = []
    for kind, amount in sorted((fees or {}).items()):
        taken = min(round_money(amount, currency), return_way + credit_lines)
        from_way = min(taken, return_way)
        return_way, credit_lines = return_way - from_way, credit_lines - (taken - from_way)
        charged.append((kind, taken))
    # The return method's fee after them, the same way.
    method_fee = min(round_money(method_fee, currency), return_way + credit_lines)
    from_return_way = min(method_fee, return_way)
    return_way -= from_return_way
    credit_lines -= method_fee - from_return_way
    net = credit_lines + return_way
    store_credit_amount = net if store_credit else credit_lines

    # The bonus rewards lines the customer takes as store credit, on each line's own net.
    bonus_lines = [(a, line) for a, line in zip(amounts, lines, strict=True)
                   if a.resolution == STORE_CREDIT or (store_credit and a.resolution == REFUND)]
    bonus = round_money(sum((a.net * (line.store_credit_bonus_percent + line.bonus_credit_percent) / HUNDRED
                             for a, line in bonus_lines), Decimal(0)), currency)
    zero = round_money(0, currency)
    return RefundQuote(
        currency=currency,
        lines=amounts,
        gross=round_money(gross, currency),
        restocking_fee=round_money(total_fee, currency) if total_fee else zero,
        shipping_refund=round_money(shipping, currency),
        net=round_money(net, currency),
        store_credit_bonus=round_money(bonus, currency),
        store_credit_amount=round_money(store_credit_amount, currency),
        replacement_total=round_money(sum(replacements, Decimal(0)), currency),
        charge=round_money(charge, currency),
        return_fees=round_money(sum((amount for _, amount in charged), Decimal(0)), currency),
        fees=tuple((kind, round_money(amount, currency)) for kind, amount in charged),
        method_fee=round_money(method_fee, currency),
        return_method=return_method,
    )
