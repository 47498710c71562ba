"""The facts a return is decided on, gathered once at request time and stored on the return.

Plain JSON: numbers as strings where they are money, so a stored return can be decided again
(a backtest) without reading anything else.
"""

from decimal import Decimal

from django.db.models import Q


def gather(*, order, requested, now, acting_for_customer: bool, review_threshold: int) -> dict:
    """Facts of the order, its customer and every requested line that names a line of the order.

    Two queries: the customer's risk profile and the block/allow list entries that concern them."""
    from fraud.models import CustomerRiskProfile

    customer = order.customer
    profile = CustomerRiskProfile.objects.filter(customer_id=customer.pk).first()
    lines = [line for line in requested if line.order_line is not None]
    listed = _listed(customer, [line.order_line.product for line in lines])
    order_value = sum(((ol.unit_price + ol.unit_tax) * ol.quantity_ordered for ol in order.lines.all()), Decimal(0))
    delivered = order.delivered_at
    request = {
        "currency": order.currency,
        "shipping_cost": str(order.shipping_cost),
        "now": now.isoformat(),
        "delivered_at": delivered.isoformat() if delivered else None,
        "acting_for_customer": acting_for_customer,
        "review_threshold": review_threshold,
        "order_value": str(order_value),
        "order_channel": order.channel.code if order.channel_id else None,
        "order_country": order.shipping_country,
        "order_age_days": (now - order.placed_at).days,
        "order_tags": list(order.tags or []),
        "customer_lifetime_returns": profile.lifetime_returns if profile else 0,
        "customer_risk_score": min(100, max(0, profile.lifetime_score)) if profile else 0,
        "days_since_delivery": (now - delivered).days if delivered else None,
    }
    return {"request": request, "lines": [_line_facts(line, listed) for line in lines]}


def _line_facts(line, listed) -> dict:
    order_line, product, policy = line.order_line, line.order_line.product, line.policy
    quantity = line.quantity if isinstance(line.quantity, int) and not isinstance(line.quantity, bool) else None
    keys = {("product", str(product.pk)), ("sku", product.sku.lower())}
    return {
        "index": line.index,
        "order_line_id": order_line.pk,
        "product_name": product.name,
        "product_category": product.category,
        "product_sku": product.sku,
        "product_price": str(order_line.unit_price + order_line.unit_tax),
        "product_tags": list(product.tags or []),
        "return_reason": line.reason.code if line.reason is not None else None,
        "return_quantity": quantity,
        "on_block_list": bool(listed["block"] & (keys | listed["customer"])),
        "on_allow_list": bool(listed["allow"] & (keys | listed["customer"])),
        "resolution": line.resolution,
        "replacement_sku": line.replacement_sku,
        "unit_price": str(order_line.unit_price),
        "unit_tax": str(order_line.unit_tax),
        "policy": policy.snapshot() if policy is not None else None,
    }


def _listed(customer, products) -> dict[str, set]:
    """Which of these keys are on each list. Customer keys count for every line."""
    from rules.models import ListEntry

    email = (customer.email or "").strip().lower()
    username = customer.get_username().lower()
    query = Q(key="customer", value=username) | Q(key="product", value__in=[str(p.pk) for p in products]) \
        | Q(key="sku", value__in=[p.sku.lower() for p in products])
    if email:
        query |= Q(key="email", value=email)
    found = {"block": set(), "allow": set(), "customer": {("customer", username), ("email", email)}}
    for kind, key, value in ListEntry.objects.filter(query).values_list("kind", "key", "value"):
        found[kind].add((key, value))
    return found


def add_money(facts: dict, *, inputs: dict, quoted_lines: dict) -> None:
    """What the quote of the created return was computed from: whether shipping comes back, how
    the return is paid, and each line's replacement terms (exchanges)."""
    facts["request"]["refund_shipping"] = inputs["refund_shipping"]
    facts["request"]["store_credit"] = inputs["store_credit"]
    for line in facts["lines"]:
        terms = quoted_lines.get(line["order_line_id"])
        if terms is not None:
            line["replacement_quantity"] = terms.replacement_quantity
            line["replacement_unit_price"] = str(terms.replacement_unit_price)
            line["replacement_unit_tax"] = str(terms.replacement_unit_tax)


def add_score(facts: dict, *, fraud_score: int, customer_flagged: bool) -> None:
    facts["request"]["fraud_score"] = fraud_score
    facts["request"]["customer_flagged"] = customer_flagged
