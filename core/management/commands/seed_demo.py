"""Seed a realistic demo shop: staff and customers, a catalogue with its return policies,
orders in every state and returns in every state.

Orders arrive as they would from the OMS, with their past dates. Every return is driven
through the services in returns/services.py by the person who would act (customer, reviewer,
carrier scan, warehouse, the system), so its history, fraud signals, refund, ledger entries
and loyalty reversals are the real ones. The work those services hand to Celery on commit
(return labels, refund payments) is driven here through the same services right away, so
the seed does not depend on Celery being eager or on when commit callbacks run; the queued
tasks later find nothing left to do.
"""

import os
import random
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core.money import round_money
from core.roles import ensure_roles
from inventory.models import Product
from orders.choices import OrderStatus, PaymentMethod
from orders.models import Order, OrderLine, Payment, SalesChannel
from refunds.models import JournalLine, Refund
from refunds.services import refund_process
from returns import services
from returns.choices import Condition, LabelStatus, RefundMethod, ReturnStatus, ReviewMode
from returns.models import Market, ReturnPolicy, ReturnReason, ReturnRequest

PASSWORD = "demo-pass-123"
SANDBOX_GATEWAY = "refunds.gateways.sandbox.SandboxGateway"

# username, first name, last name, group (None: superuser), what the login is for
STAFF = [
    ("admin", "Ada", "Admin", None, "superuser (everything)"),
    ("agent", "Priya", "Shah", "Support agent", "support agent (queue; approves up to 250)"),
    ("supervisor", "Marcus", "Lee", "Supervisor", "supervisor (any amount, fraud holds, policies)"),
    ("finance", "Dana", "Kowalski", "Finance", "finance (refunds, failed refunds, ledger)"),
    ("warehouse", "Luis", "Ortega", "Warehouse", "warehouse (receipt, inspection)"),
]
CUSTOMERS = [
    ("alice", "Alice", "Johnson"),
    ("bob", "Bob", "Martinez"),
    ("carol", "Carol", "Nguyen"),
]
CHANNELS = [("web", "Web store"), ("app", "Mobile app")]

# sku, name, category, returnable, unit cost (USD)
PRODUCTS = [
    ("APP-TEE-ORG-M", "Organic cotton crew tee, M", "apparel", True, "6.40"),
    ("APP-JKT-RAIN-L", "Packable rain jacket, L", "apparel", True, "38.00"),
    ("APP-JNS-SLV-32", "Slim selvedge jeans, 32/32", "apparel", True, "29.50"),
    ("APP-SWT-MER-S", "Merino crew sweater, S", "apparel", True, "24.00"),
    ("APP-TOTE-GWP", "Canvas tote (gift with purchase)", "apparel", True, "1.80"),
    ("SHO-RUN-TRL-42", "Trail running shoe, EU 42", "shoes", True, "41.00"),
    ("SHO-CHL-BRN-39", "Leather Chelsea boot, brown, EU 39", "shoes", True, "58.00"),
    ("ELE-HP-ANC-BLK", "Wireless noise-cancelling headphones", "electronics", True, "142.00"),
    ("ELE-LAP-14-512", "14-inch ultrabook, 16 GB / 512 GB", "electronics", True, "690.00"),
    ("ELE-SPK-MINI", "Bluetooth mini speaker", "electronics", True, "21.00"),
    ("HOM-DUV-LIN-Q", "Linen duvet cover, queen", "home", True, "34.00"),
    ("HOM-KNF-CHEF-8", "8-inch chef's knife", "home", True, "27.00"),
    ("HOM-LMP-BRS", "Brass desk lamp", "home", True, "31.00"),
    ("BEA-SER-VITC-30", "Vitamin C serum, 30 ml", "beauty", False, "7.20"),
    ("BEA-LIP-TRIO", "Satin lipstick trio", "beauty", False, "9.00"),
    ("GFT-CARD-50", "Digital gift card, 50", "gift_cards", False, "50.00"),
]
UNTAXED_CATEGORIES = {"gift_cards"}

_FEE_ON_OPENED = [Condition.LIKE_NEW, Condition.DAMAGED]
POLICIES = {
    None: {"window_days": 30, "restocking_fee_percent": Decimal("0"), "restocking_fee_conditions": _FEE_ON_OPENED,
           "review_mode": ReviewMode.RISK_BASED},
    "apparel": {"window_days": 30, "restocking_fee_percent": Decimal("0"), "review_mode": ReviewMode.RISK_BASED},
    "shoes": {"window_days": 60, "restocking_fee_percent": Decimal("0"), "review_mode": ReviewMode.RISK_BASED},
    "electronics": {"window_days": 14, "restocking_fee_percent": Decimal("15"),
                    "restocking_fee_conditions": _FEE_ON_OPENED, "review_mode": ReviewMode.MANUAL},
    "home": {"window_days": 30, "restocking_fee_percent": Decimal("10"),
             "restocking_fee_conditions": [Condition.LIKE_NEW], "review_mode": ReviewMode.RISK_BASED},
}
# Every method offered at home: the label is free, a box-free drop-off costs a little, own shipping is free.
_METHODS = {"label": "0", "qr_drop_off": "1.00", "own_shipping": "0"}
for _fields in POLICIES.values():
    _fields["return_methods"] = _METHODS
# The EU store (Germany and France) sells in euros on its own terms. Its electronics policy says 7 days, but
# an EU address always gets the 14-day withdrawal right: the portal shows 14.
EU_MARKET = {"code": "eu-de-fr", "name": "EU store (Germany, France)", "countries": ["DE", "FR"], "currency": "EUR"}
EU_POLICIES = {
    None: {"window_days": 30, "restocking_fee_percent": Decimal("0"), "restocking_fee_conditions": _FEE_ON_OPENED,
           "review_mode": ReviewMode.RISK_BASED, "auto_approve_limit": Decimal("450"),
           "return_methods": {"label": "0", "qr_drop_off": "1.50", "own_shipping": "0"}},
    "electronics": {"window_days": 7, "restocking_fee_percent": Decimal("0"), "review_mode": ReviewMode.MANUAL,
                    "auto_approve_limit": Decimal("450"),
                    "return_methods": {"label": "4.95", "qr_drop_off": "2.50"}},
}
REASONS = [
    ("wrong_size", "Wrong size or fit", False),
    ("not_as_described", "Not as described", False),
    ("changed_mind", "Changed my mind", False),
    ("arrived_damaged", "Arrived damaged", True),
    ("defective", "Defective or does not work", True),
    ("wrong_item", "Wrong item sent", False),
    ("better_price", "Found a better price", False),
]
# German and French labels of the reasons (returns migration 0007 gives the same to every database).
REASON_LABELS = {
    "wrong_size": {"de": "Falsche Größe oder Passform", "fr": "Taille ou coupe inadaptée"},
    "not_as_described": {"de": "Nicht wie beschrieben", "fr": "Non conforme à la description"},
    "changed_mind": {"de": "Ich habe es mir anders überlegt", "fr": "J’ai changé d’avis"},
    "arrived_damaged": {"de": "Beschädigt angekommen", "fr": "Arrivé endommagé"},
    "defective": {"de": "Defekt oder funktioniert nicht", "fr": "Défectueux ou ne fonctionne pas"},
    "wrong_item": {"de": "Falscher Artikel geliefert", "fr": "Mauvais article envoyé"},
    "better_price": {"de": "Anderswo günstiger gefunden", "fr": "Trouvé moins cher ailleurs"},
}


@dataclass(frozen=True)
class OrderSpec:
    external_id: str
    customer: str
    status: str
    placed_days_ago: int
    delivered_days_ago: int | None
    lines: tuple  # (sku, quantity ordered, unit price paid before tax, quantity shipped)
    channel: str = "web"
    currency: str = "USD"
    tax_rate: str = "0"
    shipping: str = "0"
    country: str = "US"
    loyalty_points: int = 0
    charged_days_ago: int | None = None  # when the charge was captured, when not at checkout
    method: str = PaymentMethod.CARD


NY, TX, WA = "0.08875", "0.0825", "0.1025"  # sales tax where each customer lives
F, PF = OrderStatus.FULFILLED, OrderStatus.PARTIALLY_FULFILLED
ORDERS = [
    # alice, New York
    OrderSpec("W-10187", "alice", F, 81, 75, (("APP-JNS-SLV-32", 1, "98.00", 1), ("APP-TEE-ORG-M", 1, "24.00", 1)),
              tax_rate=NY, loyalty_points=122),
    OrderSpec("W-10398", "alice", F, 26, 22, (("HOM-DUV-LIN-Q", 1, "119.00", 1),), tax_rate=NY, loyalty_points=119),
    OrderSpec("W-10421", "alice", F, 14, 10, (("APP-TEE-ORG-M", 2, "24.00", 2), ("APP-JKT-RAIN-L", 1, "89.00", 1)),
              tax_rate=NY, loyalty_points=137),
    OrderSpec("W-10433", "alice", F, 9, 6, (("ELE-HP-ANC-BLK", 1, "249.00", 1),), tax_rate=NY,
              method=PaymentMethod.PAYPAL),
    OrderSpec("W-10441", "alice", F, 5, 2, (("HOM-KNF-CHEF-8", 1, "64.00", 1), ("APP-TOTE-GWP", 1, "0.00", 1)),
              tax_rate=NY, shipping="6.95"),
    OrderSpec("A-20077", "alice", OrderStatus.PLACED, 1, None,
              (("BEA-SER-VITC-30", 1, "38.00", 0), ("BEA-LIP-TRIO", 1, "29.00", 0)),
              channel="app", tax_rate=NY, shipping="6.95"),
    # bob, Austin
    OrderSpec("W-10366", "bob", F, 49, 45, (("SHO-RUN-TRL-42", 1, "139.00", 1),), tax_rate=TX, loyalty_points=139),
    OrderSpec("W-10402", "bob", F, 20, 16, (("APP-JNS-SLV-32", 1, "98.00", 1), ("APP-SWT-MER-S", 1, "78.00", 1),
                                            ("BEA-SER-VITC-30", 1, "38.00", 1)), tax_rate=TX, loyalty_points=214),
    OrderSpec("W-10415", "bob", F, 15, 11, (("ELE-LAP-14-512", 1, "1299.00", 1), ("ELE-SPK-MINI", 1, "49.00", 1)),
              tax_rate=TX, loyalty_points=1348),
    OrderSpec("W-10447", "bob", PF, 7, 3, (("HOM-LMP-BRS", 1, "129.00", 1), ("HOM-KNF-CHEF-8", 1, "64.00", 0)),
              tax_rate=TX),
    OrderSpec("W-10450", "bob", OrderStatus.CANCELLED, 3, None, (("SHO-CHL-BRN-39", 1, "189.00", 0),), tax_rate=TX),
    # carol, Seattle; also buys from the EU store and the Japanese app
    OrderSpec("W-09730", "carol", PF, 200, 4, (("SHO-CHL-BRN-39", 2, "189.00", 2), ("HOM-LMP-BRS", 1, "129.00", 0)),
              tax_rate=WA, loyalty_points=507),  # a pre-order, charged at checkout 200 days ago
    OrderSpec("W-10429", "carol", F, 13, 9, (("APP-SWT-MER-S", 1, "78.00", 1), ("APP-TEE-ORG-M", 3, "24.00", 3),
                                             ("GFT-CARD-50", 1, "50.00", 1)), tax_rate=WA, loyalty_points=150),
    OrderSpec("W-10436", "carol", F, 10, 7, (("HOM-LMP-BRS", 1, "129.00", 1),), tax_rate=WA),
    OrderSpec("W-10452", "carol", F, 6, 3, (("ELE-HP-ANC-BLK", 1, "249.00", 1),), tax_rate=WA),
    OrderSpec("E-30012", "carol", F, 18, 12, (("APP-JKT-RAIN-L", 1, "79.00", 1),), currency="EUR", tax_rate="0.19",
              shipping="4.90", country="DE"),
    OrderSpec("A-20061", "carol", F, 16, 12, (("APP-SWT-MER-S", 1, "12800", 1),), channel="app", currency="JPY",
              tax_rate="0.10", shipping="800", country="JP"),
]


class Command(BaseCommand):
    help = "Seed a demo shop: logins, catalogue, policies, orders and returns in every state."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true",
                            help="Do nothing when the database already holds orders (what `make run` uses).")

    def handle(self, *args, **options):
        if options["if_empty"] and Order.objects.exists():
            self.stdout.write("demo data already present")
            return
        if Order.objects.filter(external_id__in=[spec.external_id for spec in ORDERS]).exists():
            raise CommandError("The demo orders already exist; seed an empty database (or use --if-empty).")
        if settings.REFUNDS["GATEWAY"] != SANDBOX_GATEWAY:
            raise CommandError(f"The demo pays refunds on the sandbox gateway; REFUNDS_GATEWAY is "
                               f"{settings.REFUNDS['GATEWAY']}.")
        self.rng = random.Random(42)
        self.now = timezone.now()
        # One transaction for the whole seed, so a failure leaves nothing behind and the next
        # `make run` seeds again; each logical group is its own atomic block inside it.
        with transaction.atomic():
            self._people()
            self._catalogue()
            self._rules()
            self._orders()
            self._returns()
            self._gift_receipt()
        self._summary()
        self._logins()
        self._gift_code()

    def _say(self, message: str) -> None:
        self.stdout.write(message)

    # --- people ---

    def _people(self) -> None:
        User = get_user_model()  # noqa: N806
        with transaction.atomic():
            ensure_roles()
            for username, first, last, group, _ in STAFF:
                user = self._user(username, first, last, f"{username}@shop.example", staff=True,
                                  superuser=group is None)
                user.groups.set([Group.objects.get(name=group)] if group else [])
            for username, first, last in CUSTOMERS:
                self._user(username, first, last, f"{username}@example.com", staff=False, superuser=False)
        # Fresh rows, so permission caches see the groups just added.
        self.users = {user.username: user for user in User.objects.filter(
            username__in=[row[0] for row in STAFF + CUSTOMERS])}
        self._say(f"People: {len(STAFF)} staff logins in their roles, {len(CUSTOMERS)} customers.")

    def _user(self, username, first, last, email, *, staff: bool, superuser: bool):
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.first_name, user.last_name, user.email = first, last, email
        user.is_staff, user.is_superuser, user.is_active = staff or superuser, superuser, True
        user.set_password(PASSWORD)
        user.save()
        return user

    # --- catalogue ---

    def _catalogue(self) -> None:
        with transaction.atomic():
            self.channels = {
                code: SalesChannel.objects.update_or_create(code=code, defaults={"name": name})[0]
                for code, name in CHANNELS
            }
            self.products = {}
            for sku, name, category, returnable, cost in PRODUCTS:
                self.products[sku] = Product.objects.update_or_create(sku=sku, defaults={
                    "name": name, "category": category, "returnable": returnable, "unit_cost": Decimal(cost),
                    "currency": "USD"})[0]
            for category, fields in POLICIES.items():
                ReturnPolicy.objects.update_or_create(category=category, market=None, defaults=fields)
            market, _ = Market.objects.update_or_create(code=EU_MARKET["code"], defaults=EU_MARKET)
            for category, fields in EU_POLICIES.items():
                ReturnPolicy.objects.update_or_create(category=category, market=market, defaults=fields)
            for position, (code, label, claims_damage) in enumerate(REASONS):
                ReturnReason.objects.get_or_create(code=code, defaults={
                    "label": label, "claims_damage": claims_damage, "position": position,
                    "translated_labels": REASON_LABELS.get(code, {})})
        categories = sorted({row[2] for row in PRODUCTS})
        self._say(f"Catalogue: {len(CHANNELS)} sales channels, {len(PRODUCTS)} products in {len(categories)} "
                  f"categories ({', '.join(categories)}), {len(POLICIES)} return policies and {len(EU_POLICIES)} "
                  f"more for the {EU_MARKET['name']} in {EU_MARKET['currency']}, {len(REASONS)} reasons.")

    # --- return rules ---

    def _rules(self) -> None:
        """A published rule set beside the built-in checks, and a draft to backtest. The published
        rules aim at what the stories below do not touch (lists, tags, heavy returners), so the
        stories keep their outcomes; the draft's fee on changed minds shows in its backtest."""
        from rules import services as rules
        from rules.choices import ListKey, ListKind

        supervisor = self.users["supervisor"]
        published = [
            ("Block list: handled by support", {"field": "on_block_list", "op": "is", "value": True},
             {"type": "deny", "message": "Returns of this item or account are handled by our support team; "
                                         "please contact us."}),
            ("Allow list: no policy review", {"field": "on_allow_list", "op": "is", "value": True},
             {"type": "bypass_review"}),
            ("Final sale is final", {"field": "product_tags", "op": "contains", "value": "final_sale"},
             {"type": "deny", "message": "Final-sale items cannot be returned."}),
            ("VIP orders: 60-day window", {"field": "order_tags", "op": "contains", "value": "vip"},
             {"type": "window", "days": 60}),
            ("Wrong size for low-risk customers: exchange bonus",
             {"all": [{"field": "return_reason", "op": "eq", "value": "wrong_size"},
                      {"field": "customer_risk_score", "op": "lt", "value": 30},
                      {"field": "order_tags", "op": "contains", "value": "vip"}]},
             {"type": "bonus_credit", "percent": "10"}),
            ("Heavy returners are looked at", {"field": "customer_lifetime_returns", "op": "gt", "value": 20},
             {"type": "review", "message": "More than 20 returns so far."}),
        ]
        with transaction.atomic():
            version = rules.ruleset_draft_create(by=supervisor, notes="The shop's first rules.")
            for priority, (name, condition, outcome) in enumerate(published, start=1):
                rules.rule_save(by=supervisor, version=version, priority=priority * 10, name=name,
                                condition=condition, outcome=outcome)
            rules.ruleset_publish(by=supervisor, version=version)
            draft = rules.ruleset_draft_create(by=supervisor, based_on=version,
                                               notes="Try: customers who changed their mind pay return shipping.")
            rules.rule_save(by=supervisor, version=draft, priority=5, name="Changed mind pays return shipping",
                            condition={"field": "return_reason", "op": "eq", "value": "changed_mind"},
                            outcome={"type": "fee", "fee": "return_shipping", "amount": "4.95"})
            rules.list_entry_add(by=supervisor, kind=ListKind.BLOCK, key=ListKey.EMAIL,
                                 value="chargebacks@example.com", note="Disputed every order in 2025.")
        self._say(f"Return rules: v{version.number} published ({len(published)} rules beside the built-in "
                  f"checks), v{draft.number} a draft to backtest; one e-mail on the block list.")

    # --- orders, as the OMS sends them ---

    def _ago(self, days: int) -> datetime:
        return self.now - timedelta(days=days, hours=self.rng.randint(0, 9), minutes=self.rng.randint(0, 59))

    def _orders(self) -> None:
        self.orders = {}
        with transaction.atomic():
            for spec in ORDERS:
                self.orders[spec.external_id] = self._order(spec)
        by_status = Counter(spec.status for spec in ORDERS)
        self._say(f"Orders: {len(ORDERS)} ({', '.join(f'{n} {s}' for s, n in sorted(by_status.items()))}), "
                  f"in {', '.join(sorted({spec.currency for spec in ORDERS}))}, each with its sandbox charge.")

    def _order(self, spec: OrderSpec) -> Order:
        placed_at = self._ago(spec.placed_days_ago)
        order = Order.objects.create(
            channel=self.channels[spec.channel], external_id=spec.external_id, customer=self.users[spec.customer],
            status=spec.status, currency=spec.currency, shipping_cost=Decimal(spec.shipping),
            shipping_country=spec.country, placed_at=placed_at,
            delivered_at=None if spec.delivered_days_ago is None else self._ago(spec.delivered_days_ago),
            loyalty_points_earned=spec.loyalty_points,
        )
        total = Decimal(spec.shipping)
        for sku, ordered, price, shipped in spec.lines:
            product = self.products[sku]
            rate = Decimal(0) if product.category in UNTAXED_CATEGORIES else Decimal(spec.tax_rate)
            unit_price = round_money(price, spec.currency)
            unit_tax = round_money(unit_price * rate, spec.currency)
            OrderLine.objects.create(order=order, product=product, quantity_ordered=ordered, quantity_shipped=shipped,
                                     unit_price=unit_price, unit_tax=unit_tax)
            total += (unit_price + unit_tax) * ordered
        captured_at = (placed_at + timedelta(minutes=2) if spec.charged_days_ago is None
                       else self._ago(spec.charged_days_ago))
        Payment.objects.create(
            order=order, gateway="sandbox", charge_reference=f"ch_{self.rng.getrandbits(96):024x}",
            method=spec.method, amount=round_money(total, spec.currency), currency=spec.currency,
            captured_at=captured_at)
        return order

    # --- returns, through the services ---

    def _returns(self) -> None:
        self._say("Returns (each through the services, by the person who would act):")
        stories = [
            (self._refunded_to_card, ReturnStatus.REFUNDED),
            (self._rejected_by_reviewer, ReturnStatus.REJECTED),
            (self._expired_unshipped, ReturnStatus.EXPIRED),
            (self._free_gift_nothing_owed, ReturnStatus.CLOSED),
            (self._gateway_outage, ReturnStatus.REFUND_PENDING),
            (self._authorized_awaiting_parcel, ReturnStatus.AUTHORIZED),
            (self._late_parcel_after_expiry, ReturnStatus.RECEIVED),
            (self._in_transit, ReturnStatus.IN_TRANSIT),
            (self._reviewed_laptop_closed, ReturnStatus.CLOSED),
            (self._declined_refund_needs_finance, ReturnStatus.REFUND_PENDING),
            (self._waiting_for_review, ReturnStatus.REQUESTED),
            (self._cancelled_by_customer, ReturnStatus.CANCELLED),
            (self._received_awaiting_inspection, ReturnStatus.RECEIVED),
            (self._eur_refund_with_shipping, ReturnStatus.REFUNDED),
            (self._jpy_store_credit, ReturnStatus.REFUNDED),
            (self._old_charge_falls_back_to_credit, ReturnStatus.REFUNDED),
        ]
        for story, expected in stories:
            with transaction.atomic():
                return_request = story()
            status = ReturnRequest.objects.values_list("status", flat=True).get(pk=return_request.pk)
            if status != expected:
                raise CommandError(f"{story.__name__}: the return ended {status}, expected {expected}.")
            what = (story.__doc__ or "").strip()
            self._say(f"  {return_request.rma_number}  {status:<14} {return_request.customer.username:<6} "
                      f"{return_request.order.external_id:<8} {what}")

    def _request(self, customer: str, order: str, items, *, refund_method=RefundMethod.ORIGINAL_PAYMENT,
                 note: str = "") -> ReturnRequest:
        order = self.orders[order]
        lines = [{"order_line_id": order.lines.get(product__sku=sku).pk, "quantity": quantity, "reason": reason}
                 for sku, quantity, reason in items]
        return_request = services.return_request_create(
            by=self.users[customer], order_id=order.pk, lines=lines, refund_method=refund_method, note=note)
        self._issue_label(return_request)
        return return_request

    def _issue_label(self, return_request: ReturnRequest) -> None:
        if return_request.status == ReturnStatus.AUTHORIZED and return_request.label_status == LabelStatus.PENDING:
            services.return_issue_label(return_request_id=return_request.pk)

    def _approve(self, return_request, by: str, reason: str) -> ReturnRequest:
        return_request = services.return_approve(return_request=return_request, by=self.users[by], reason=reason)
        self._issue_label(return_request)
        return return_request

    def _ship(self, return_request) -> ReturnRequest:
        return services.return_mark_in_transit(return_request=return_request, by=None)  # the carrier's first scan

    def _receive(self, return_request, **kwargs) -> ReturnRequest:
        return services.return_receive(return_request=return_request, by=self.users["warehouse"], **kwargs)

    def _inspect(self, return_request, condition: str, notes: str = "") -> ReturnRequest:
        lines = return_request.lines.exclude(received_quantity=0)
        return_request = services.return_inspect(
            return_request=return_request, by=self.users["warehouse"],
            inspections={line.pk: {"condition": condition, "notes": notes} for line in lines})
        refund = Refund.objects.filter(return_request_id=return_request.pk).first()
        if refund is not None:
            refund_process(refund_id=refund.pk)  # what the queued task does; it then finds the work done
        return return_request

    @contextmanager
    def _gateway_faults(self, *faults: str):
        from refunds.gateways.sandbox import SandboxGateway

        SandboxGateway.reset()
        SandboxGateway.script(*faults)
        try:
            yield
        finally:
            SandboxGateway.reset()

    def _refunded_to_card(self):
        """Two tees a size too small, refunded to the card; loyalty points reversed."""
        rr = self._request("alice", "W-10421", [("APP-TEE-ORG-M", 2, "wrong_size")], note="They run small.")
        self._ship(rr)
        self._receive(rr)
        return self._inspect(rr, Condition.NEW, "Tags on, unworn.")

    def _rejected_by_reviewer(self):
        """Headphones returned for a better price elsewhere: rejected by the support agent."""
        rr = self._request("alice", "W-10433", [("ELE-HP-ANC-BLK", 1, "better_price")],
                           note="Same model is $60 cheaper at another store.")
        return services.return_reject(
            return_request=rr, by=self.users["agent"],
            reason="A lower price elsewhere is a price-match request, not a return; support has e-mailed you.")

    def _expired_unshipped(self):
        """Duvet cover authorised and labelled, but no carrier scan came: expired."""
        rr = self._request("alice", "W-10398", [("HOM-DUV-LIN-Q", 1, "changed_mind")])
        return services.return_expire(return_request=rr, by=None)

    def _free_gift_nothing_owed(self):
        """Free gift-with-purchase tote sent back: inspected, nothing owed, closed."""
        rr = self._request("alice", "W-10441", [("APP-TOTE-GWP", 1, "changed_mind")])
        self._ship(rr)
        self._receive(rr)
        return self._inspect(rr, Condition.NEW)

    def _gateway_outage(self):
        """Chef's knife, opened (10% fee): the gateway answered 503, the refund retries later."""
        rr = self._request("alice", "W-10441", [("HOM-KNF-CHEF-8", 1, "not_as_described")],
                           note="Handle is plastic, the photos show wood.")
        self._ship(rr)
        self._receive(rr)
        with self._gateway_faults("unavailable"):
            return self._inspect(rr, Condition.LIKE_NEW, "Used once, cleaned.")

    def _authorized_awaiting_parcel(self):
        """Jeans authorised at once by policy; label issued, parcel not sent yet."""
        return self._request("bob", "W-10402", [("APP-JNS-SLV-32", 1, "wrong_size")])

    def _late_parcel_after_expiry(self):
        """Sweater: the RMA expired unshipped, then the parcel arrived anyway (flagged late)."""
        rr = self._request("bob", "W-10402", [("APP-SWT-MER-S", 1, "wrong_size")])
        services.return_expire(return_request=rr, by=None)
        return self._receive(rr)

    def _in_transit(self):
        """Trail shoes, day 45 of the 60-day shoe window: the carrier has scanned the parcel."""
        rr = self._request("bob", "W-10366", [("SHO-RUN-TRL-42", 1, "wrong_size")])
        return self._ship(rr)

    def _reviewed_laptop_closed(self):
        """Laptop over the auto-approve limit: approved by the supervisor, 15% fee, refunded, closed."""
        rr = self._request("bob", "W-10415", [("ELE-LAP-14-512", 1, "changed_mind")],
                           note="Too heavy to carry around; unopened accessories.")
        self._approve(rr, "supervisor", "High value, but within 14 days and the customer's history is clean.")
        self._ship(rr)
        self._receive(rr)
        self._inspect(rr, Condition.LIKE_NEW, "Powered on, all accessories present.")
        return services.return_close(return_request=rr, by=None, reason="Refund paid.")

    def _declined_refund_needs_finance(self):
        """Lamp from a partly shipped order arrived dented: the issuer declined the refund; finance must act."""
        rr = self._request("bob", "W-10447", [("HOM-LMP-BRS", 1, "arrived_damaged")],
                           note="Shade was dented in the box.")
        self._ship(rr)
        self._receive(rr)
        with self._gateway_faults("decline"):
            return self._inspect(rr, Condition.DAMAGED, "Dented shade; vendor claim.")

    def _waiting_for_review(self):
        """Headphones said to crackle: electronics are always reviewed; waiting in the queue."""
        return self._request("carol", "W-10452", [("ELE-HP-ANC-BLK", 1, "defective")],
                             note="Left ear cup crackles at high volume.")

    def _cancelled_by_customer(self):
        """Desk lamp: authorised, then the customer changed her mind and cancelled."""
        rr = self._request("carol", "W-10436", [("HOM-LMP-BRS", 1, "changed_mind")])
        return services.return_cancel(return_request=rr, by=self.users["carol"],
                                      reason="Found a place for it after all.")

    def _received_awaiting_inspection(self):
        """Sweater and one of three tees: the parcel is in, inspection pending."""
        return self._receive(self._request("carol", "W-10429", [
            ("APP-SWT-MER-S", 1, "wrong_size"), ("APP-TEE-ORG-M", 1, "not_as_described")]))

    def _eur_refund_with_shipping(self):
        """EU store: the whole order came back, so shipping is refunded too (EUR)."""
        rr = self._request("carol", "E-30012", [("APP-JKT-RAIN-L", 1, "not_as_described")],
                           note="Not waterproof in the first rain.")
        self._ship(rr)
        self._receive(rr)
        return self._inspect(rr, Condition.NEW)

    def _jpy_store_credit(self):
        """Japanese app, JPY: over the auto-approve limit, approved, refunded as store credit with bonus."""
        rr = self._request("carol", "A-20061", [("APP-SWT-MER-S", 1, "wrong_size")],
                           refund_method=RefundMethod.STORE_CREDIT)
        self._approve(rr, "agent", "JPY 14,880 is about USD 100: fine to approve.")
        self._ship(rr)
        self._receive(rr)
        return self._inspect(rr, Condition.NEW)

    def _old_charge_falls_back_to_credit(self):
        """Pre-order charged 200 days ago: the gateway refuses a partial refund, paid as store credit."""
        rr = self._request("carol", "W-09730", [("SHO-CHL-BRN-39", 1, "wrong_size")])
        self._ship(rr)
        self._receive(rr)
        return self._inspect(rr, Condition.NEW)

    def _gift_receipt(self) -> None:
        """Alice's rain jacket was a present: the agent prints a gift receipt its recipient can return it with."""
        from returns.gifts import gift_receipt_issue

        order = self.orders["W-10421"]
        jacket = order.lines.get(product__sku="APP-JKT-RAIN-L")
        self.gift_receipt, self.gift_code = gift_receipt_issue(by=self.users["agent"], order_id=order.pk,
                                                               order_line_id=jacket.pk)
        self._say("Gift receipt: W-10421's rain jacket, issued by the agent (the code is printed below).")

    # --- what was made ---

    def _summary(self) -> None:
        returns = Counter(ReturnRequest.objects.values_list("status", flat=True))
        self._say("Returns by status: " + ", ".join(
            f"{status} {returns[status]}" for status in ReturnStatus.values if returns[status]))
        refunds = Counter(Refund.objects.values_list("status", flat=True))
        self._say("Refunds by status: " + ", ".join(f"{status} {n}" for status, n in sorted(refunds.items())))
        balance = JournalLine.objects.values("currency").annotate(total=Sum("amount")).order_by("currency")
        self._say("Ledger trial balance: " + ", ".join(f"{row['currency']} {row['total']}" for row in balance))

    def _logins(self) -> None:
        base = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
        rows = [(username, role, f"{base}/admin/") for username, _, _, _, role in STAFF]
        rows += [(username, f"customer ({first} {last})", f"{base}/") for username, first, last in CUSTOMERS]
        self._say("")
        self._say(f"Demo logins (password for all: {PASSWORD})")
        self._say(f"  {'login':<11}{'role':<43}url")
        for username, role, url in rows:
            self._say(f"  {username:<11}{role:<43}{url}")

    def _gift_code(self) -> None:
        base = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
        self._say("")
        self._say(f"Demo gift return: open {base}/gift/ with the code {self.gift_code} "
                  "(W-10421's rain jacket; no login needed).")
