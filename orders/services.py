from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from core import tracing
from orders.models import LoyaltyReversal, Order, OrderLine, Payment


@transaction.atomic
def loyalty_reverse_for_return(*, order: Order, return_request, returned_value: Decimal,
                               previously_returned_value: Decimal) -> LoyaltyReversal | None:
    """Take back points in proportion to the value returned.

    Works on cumulative value so rounding never takes back more than was earned: after this
    return, floor(earned × all returned value / order value) points are reversed in total.
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    # Points were earned on everything ordered, so each returned unit takes back its share of that.
    order_value = sum(((line.unit_price + line.unit_tax) * line.quantity_ordered for line in order.lines.all()),
                      Decimal(0))
    if not order.loyalty_points_earned or order_value <= 0:
        return None
    already = order.loyalty_reversals.aggregate(total=Sum("points"))["total"] or 0
    cumulative = min(previously_returned_value + returned_value, order_value)
    target = int(order.loyalty_points_earned * cumulative / order_value)
    points = max(0, target - already)
    if points == 0:
        return None
    reversal, _ = LoyaltyReversal.objects.get_or_create(
        return_request=return_request, defaults={"order": order, "points": points})
    return reversal


# --- the OMS pushes orders ---

@tracing.traced("order.upsert", lambda *, channel_id, external_id, **_: {
    "order.external_id": external_id, "order.channel_id": channel_id},
    result=lambda upserted: {"order.id": upserted[0].pk, "order.created": upserted[1]})
@transaction.atomic
def order_upsert(*, channel_id: int, external_id: str, data: dict, by=None) -> tuple[Order, bool]:
    """Create or update an order from the OMS; the same body twice leaves the same order.

    `data` is validated input (see orders/api/serializers.py). Lines are matched by their OMS
    line id. Nothing that a return already relies on may change under it: the currency, the
    customer, a line that is being returned, or shipped units below what is being returned.
    Returns (order, created).
    """
    from core.errors import ErrorList
    from core.money import round_money
    from core.transitions import save_with_history
    from returns.selectors import claimed_quantities, lines_on_record

    errors = ErrorList()
    currency = data["currency"].upper()
    for path, amount in _amounts(data):
        if amount != round_money(amount, currency):
            errors.add("amount_precision", f"{amount} has more decimals than {currency} allows.", field=path)
    errors.raise_if_any()

    customer = _customer_for(data["customer"])
    order = Order.objects.select_for_update().filter(channel_id=channel_id, external_id=external_id).first()
    created = order is None
    if created:
        order = Order(channel_id=channel_id, external_id=external_id)
    else:
        has_returns = order.returns.exists()
        if order.currency != currency and has_returns:
            errors.add("currency_immutable", "The currency of an order with returns cannot change.", "currency")
        if order.customer_id != customer.pk and has_returns:
            errors.add("customer_immutable", "The customer of an order with returns cannot change.", "customer")

    existing = {line.external_id: line for line in order.lines.all()} if not created else {}
    claimed = claimed_quantities(line.pk for line in existing.values())
    incoming = {line["line_id"]: line for line in data["lines"]}
    on_record = lines_on_record(line.pk for line_id, line in existing.items() if line_id not in incoming)
    for line_id, line in existing.items():
        if line_id not in incoming and claimed.get(line.pk):
            errors.add("line_has_returns", f"Line {line_id} is being returned and cannot be removed.", "lines")
        elif line_id not in incoming and line.pk in on_record:
            errors.add("line_on_record", f"Line {line_id} is named by a past return or a gift receipt and cannot "
                                         "be removed.", "lines")
        elif line_id in incoming and incoming[line_id]["quantity_shipped"] < claimed.get(line.pk, 0):
            errors.add("shipped_below_returned",
                       f"Line {line_id}: {claimed[line.pk]} units are already being returned.", "lines")
    if len(incoming) != len(data["lines"]):
        errors.add("duplicate_line", "Each line_id may appear once.", "lines")
    for index, line in enumerate(data["lines"]):
        if line["quantity_shipped"] > line["quantity_ordered"]:
            errors.add("shipped_above_ordered", "More shipped than ordered.", f"lines[{index}].quantity_shipped")
    _check_payments(data.get("payments", []), order=order, errors=errors)
    errors.raise_if_any()

    for field in ("status", "placed_at", "delivered_at", "shipping_cost", "shipping_country", "tags",
                  "loyalty_points_earned"):
        setattr(order, field, data[field])
    order.currency, order.customer = currency, customer
    order.trace_context = tracing.context_dict()  # a return of this order links back to this trace
    save_with_history(order, by=by, reason="created by the OMS" if created else "updated by the OMS")

    removed = [line.pk for line_id, line in existing.items() if line_id not in incoming]
    if removed:
        OrderLine.objects.filter(pk__in=removed).delete()
    # A fixed number of queries however many lines the order has.
    products = _products_for(incoming.values(), currency=currency)
    new_rows, changed_rows = [], []
    for line_id, line in incoming.items():
        row = existing.get(line_id)
        if row is None:
            row = OrderLine(order=order, external_id=line_id)
            new_rows.append(row)
        else:
            changed_rows.append(row)
        row.product = products[line["sku"]]
        for field in LINE_FIELDS:
            setattr(row, field, line[field])
    OrderLine.objects.bulk_create(new_rows)
    OrderLine.objects.bulk_update(changed_rows, ["product", *LINE_FIELDS])

    for payment in data.get("payments", []):
        Payment.objects.update_or_create(
            gateway=payment["gateway"], charge_reference=payment["charge_reference"],
            defaults={"order": order, "method": payment["method"], "amount": payment["amount"],
                      "currency": currency, "captured_at": payment["captured_at"]})
    return order, created


LINE_FIELDS = ("quantity_ordered", "quantity_shipped", "unit_price", "unit_tax")


def _check_payments(payments, *, order: Order, errors) -> None:
    """A charge belongs to one order: refunds are paid back to it for that order's returns, so an
    update may not name a charge twice, nor take one from another order (one query)."""
    from django.db.models import Q

    keys = [(payment["gateway"], payment["charge_reference"]) for payment in payments]
    for index, key in enumerate(keys):
        if key in keys[:index]:
            errors.add("duplicate_payment", "Each charge may appear once.", f"payments[{index}].charge_reference")
    if not keys:
        return
    named = Q()
    for gateway, reference in set(keys):
        named |= Q(gateway=gateway, charge_reference=reference)
    elsewhere = set(Payment.objects.filter(named).exclude(order_id=order.pk).values_list("gateway",
                                                                                        "charge_reference"))
    for index, key in enumerate(keys):
        if key in elsewhere:
            errors.add("payment_on_another_order", f"Charge {key[1]} of {key[0]} belongs to another order.",
                       f"payments[{index}].charge_reference")


def _products_for(lines, *, currency: str) -> dict:
    """The product of each SKU the lines name, creating (with history) the ones not seen before."""
    from simple_history.utils import bulk_create_with_history

    from inventory.models import Product

    lines = list(lines)
    found = {product.sku: product for product in Product.objects.filter(sku__in={line["sku"] for line in lines})}
    missing = {}
    for line in lines:
        if line["sku"] not in found and line["sku"] not in missing:
            missing[line["sku"]] = Product(sku=line["sku"], name=line.get("product_name") or line["sku"],
                                           category=line.get("category") or "general", currency=currency)
    if missing:
        bulk_create_with_history(list(missing.values()), Product, default_change_reason="created by the OMS")
        found.update(missing)
    return found


def _amounts(data: dict):
    yield "shipping_cost", data["shipping_cost"]
    for index, line in enumerate(data["lines"]):
        yield f"lines[{index}].unit_price", line["unit_price"]
        yield f"lines[{index}].unit_tax", line["unit_tax"]
    for index, payment in enumerate(data.get("payments", [])):
        yield f"payments[{index}].amount", payment["amount"]


def _customer_for(data: dict):
    from django.contrib.auth import get_user_model

    users = get_user_model()
    email = data["email"].strip().lower()
    user = users.objects.filter(email__iexact=email).order_by("pk").first()
    if user is None:
        user = users(username=email[:150], email=email, first_name=data.get("first_name", ""),
                     last_name=data.get("last_name", ""))
        user.set_unusable_password()
        user.save()
    return user


# --- exchanges: the replacement order the OMS ships ---

@dataclass(frozen=True)
class ReplacementLine:
    product: object
    quantity: int
    unit_price: Decimal
    unit_tax: Decimal
    line_id: str  # the OMS line id: the return line it replaces


def replacement_external_id(rma_number: str, sequence: int = 1) -> str:
    return f"EXC-{rma_number}" + (f"-{sequence}" if sequence > 1 else "")


@transaction.atomic
def replacement_order_create(*, original: Order, external_id: str, lines: list[ReplacementLine],
                             by=None) -> tuple[Order, list[OrderLine]]:
    """Place the order that ships an exchange's replacements, in the original order's channel, for
    the OMS to pick up. Nothing is paid on it: the returned items and any difference pay for it
    (see refunds). Placing it twice with the same external id returns the first."""
    from django.utils import timezone

    from core.transitions import save_with_history
    from orders.choices import OrderStatus

    existing = Order.objects.filter(channel_id=original.channel_id, external_id=external_id).first()
    if existing is not None:
        return existing, list(existing.lines.all())
    order = Order(channel_id=original.channel_id, external_id=external_id, customer_id=original.customer_id,
                  status=OrderStatus.PLACED, currency=original.currency, shipping_cost=Decimal(0),
                  shipping_country=original.shipping_country, placed_at=timezone.now())
    save_with_history(order, by=by, reason=f"replacement order for the exchange of {original}")
    rows = OrderLine.objects.bulk_create([
        OrderLine(order=order, external_id=line.line_id, product=line.product, quantity_ordered=line.quantity,
                  unit_price=line.unit_price, unit_tax=line.unit_tax)
        for line in lines
    ])
    return order, rows
