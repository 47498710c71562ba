"""Factories for a realistic shop. Everything is created through get_or_create where the
thing is reference data (reasons, policies), so tests never depend on migration data."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from core.roles import ensure_roles
from inventory.models import Product
from orders.choices import OrderStatus
from orders.models import Order, OrderLine, Payment, SalesChannel
from returns.models import ReturnPolicy, ReturnReason

User = get_user_model()
PASSWORD = "demo-pass-123"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])


def staff_user(role: str, **kwargs):
    if not Group.objects.filter(name=role).exists():
        ensure_roles()
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)  # fresh permission cache


def reasons() -> dict[str, ReturnReason]:
    rows = [("wrong_size", "Wrong size or fit", False), ("changed_mind", "Changed my mind", False),
            ("arrived_damaged", "Arrived damaged", True)]
    return {code: ReturnReason.objects.get_or_create(code=code, defaults={"label": label, "claims_damage": dmg})[0]
            for code, label, dmg in rows}


def policy(category=None, *, market=None, **fields) -> ReturnPolicy:
    found, created = ReturnPolicy.objects.get_or_create(category=category, market=market, defaults=fields)
    if not created and fields:
        for key, value in fields.items():
            setattr(found, key, value)
        found.save()
    return found


def product(sku: str, *, category: str = "apparel", returnable: bool = True, cost: str = "10.00") -> Product:
    return Product.objects.get_or_create(
        sku=sku, defaults={"name": sku.replace("-", " ").title(), "category": category,
                           "returnable": returnable, "unit_cost": Decimal(cost)})[0]


@dataclass
class Shop:
    channel: SalesChannel
    shirt: Product
    jacket: Product
    gift_card: Product
    laptop: Product

    @classmethod
    def create(cls) -> "Shop":
        reasons()
        policy(None, window_days=30, restocking_fee_percent=Decimal("10"))
        policy("electronics", window_days=14, restocking_fee_percent=Decimal("15"))
        channel = SalesChannel.objects.get_or_create(code="web", defaults={"name": "Web store"})[0]
        return cls(
            channel=channel,
            shirt=product("shirt-blue-m", cost="8.00"),
            jacket=product("jacket-rain-l", cost="45.00"),
            gift_card=product("gift-card-50", category="gift_cards", returnable=False, cost="50.00"),
            laptop=product("laptop-14", category="electronics", cost="600.00"),
        )


_order_counter = iter(range(10_000, 10_000_000))


def make_order(*, customer, lines, currency="USD", shipping="9.95", delivered_days_ago=5, placed_days_ago=None,
               status=OrderStatus.FULFILLED, channel=None, shipped=None, loyalty_points=0,
               charge_days_ago=None, shipping_country="US") -> Order:
    """`lines` are (product, quantity, unit_price, unit_tax); everything is shipped unless
    `shipped` gives the shipped quantity per line."""
    now = timezone.now()
    channel = channel or SalesChannel.objects.get_or_create(code="web", defaults={"name": "Web store"})[0]
    placed_days_ago = placed_days_ago if placed_days_ago is not None else (delivered_days_ago or 0) + 3
    order = Order.objects.create(
        channel=channel, external_id=f"ORD-{next(_order_counter)}", customer=customer, status=status,
        currency=currency, shipping_cost=Decimal(shipping), placed_at=now - timedelta(days=placed_days_ago),
        delivered_at=None if delivered_days_ago is None else now - timedelta(days=delivered_days_ago),
        loyalty_points_earned=loyalty_points, shipping_country=shipping_country,
    )
    total = Decimal(shipping)
    for index, (prod, quantity, price, tax) in enumerate(lines):
        shipped_quantity = quantity if shipped is None else shipped[index]
        OrderLine.objects.create(order=order, product=prod, quantity_ordered=quantity,
                                 quantity_shipped=shipped_quantity, unit_price=Decimal(price), unit_tax=Decimal(tax))
        total += (Decimal(price) + Decimal(tax)) * quantity
    Payment.objects.create(
        order=order, gateway="sandbox", charge_reference=f"ch_{order.external_id.lower()}", amount=total,
        currency=currency,
        captured_at=now - timedelta(days=charge_days_ago if charge_days_ago is not None else placed_days_ago))
    return order


def line_request(order_line, quantity=1, reason="wrong_size", **extra) -> dict:
    return {"order_line_id": order_line.pk, "quantity": quantity, "reason": reason, **extra}


def received_return(*, order, customer, warehouse, lines=None, refund_method="original_payment"):
    """A return requested, authorised, shipped and received in full: ready for inspection.

    `lines` are (order_line, quantity) pairs; by default every shipped unit comes back.
    """
    from returns import services

    lines = lines or [(ol, ol.quantity_shipped) for ol in order.lines.all()]
    rr = services.return_request_create(by=customer, order_id=order.pk, refund_method=refund_method,
                                        lines=[line_request(ol, qty) for ol, qty in lines])
    if rr.status == "requested":
        staff = staff_user("Support agent", username="factory-agent")
        rr = services.return_approve(return_request=rr, by=staff)
    services.return_mark_in_transit(return_request=rr)
    return services.return_receive(return_request=rr, by=warehouse)


def partner_actor(*, slug: str, channel: str, scopes: list[str]):
    """A partner with a new key on `channel`, as the API sees it when the key calls (its scopes are
    its permissions)."""
    from core.actors import PartnerActor
    from partners.services import partner_key_create

    SalesChannel.objects.get_or_create(code=channel, defaults={"name": channel})
    api_key, _ = partner_key_create(partner_slug=slug, channel_code=channel, scopes=scopes)
    return PartnerActor(user=api_key.partner.service_user, partner=api_key.partner, channel_id=api_key.channel_id,
                        scopes=frozenset(api_key.scopes), key_id=api_key.pk)


def issued_gift_card(*, order, warehouse, quantity=1):
    """A gift recipient's return of `quantity` units of the order's first line, inspected and paid as
    a gift card (the refund's payment run as a worker would): (card, its code)."""
    from refunds.models import GiftCard
    from refunds.services import gift_card_code, refund_process
    from returns import gifts, services

    staff = staff_user("Support agent", username="factory-agent")
    _, code = gifts.gift_receipt_issue(by=staff, order_id=order.pk)
    receipt = gifts.gift_receipt_verify(code=code, client_ip="198.51.100.1")
    rr = gifts.gift_return_create(gift_receipt=receipt, recipient_name="Grace Gift",
                                  recipient_email="grace@example.net",
                                  lines=[line_request(order.lines.first(), quantity)])
    services.return_mark_in_transit(return_request=rr)
    services.return_receive(return_request=rr, by=warehouse)
    inspect_all(rr, by=warehouse)
    refund = rr.refund
    refund_process(refund_id=refund.pk)  # in case the payment queued on commit has not run: paid once either way
    card = GiftCard.objects.get(refund=refund)
    return card, gift_card_code(card)


def inspect_all(return_request, *, by, condition="new"):
    from returns import services

    return services.return_inspect(return_request=return_request, by=by,
                                   inspections={line.pk: {"condition": condition}
                                                for line in return_request.lines.all()})


def rules_pay_refunds(timing: str):
    """Publish a rule set whose rule pays every refund at `timing` (in place of an earlier such
    rule), as a merchant would."""
    from rules import services as rules

    by = staff_user("Supervisor", username="factory-supervisor")
    draft = rules.ruleset_draft_create(by=by)
    for earlier in draft.rules.filter(outcome__type="refund_timing"):
        rules.rule_delete(by=by, rule=earlier)
    rules.rule_save(by=by, version=draft, priority=10, name=f"Refunds {timing.replace('_', ' ')}",
                    condition={"all": []}, outcome={"type": "refund_timing", "timing": timing})
    return rules.ruleset_publish(by=by, version=draft)
