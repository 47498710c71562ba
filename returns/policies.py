"""Eligibility and review rules: each a small function that returns a verdict.

Request rules see the whole request; line rules see one requested line. The service
evaluates them as lists, collects every denial (each with a stable code and a message the
customer can read), and sends the return to review when any review rule says so.

They are the built-in rules of the return rules engine (rules/): the merchant's rules run
beside them in the same trace, and feed them (a line's window and allowed resolutions come
through its policy, `denied_by_rule` reports a merchant's denial). Messages the customer reads
are translated (gettext with named placeholders).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from django.utils.translation import gettext as _

from orders.choices import RETURNABLE_ORDER_STATUSES
from returns.choices import Resolution, ReviewMode


class Outcome(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    REVIEW = "review"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    code: str = ""
    message: str = ""

    @classmethod
    def deny(cls, code: str, message: str) -> "Verdict":
        return cls(Outcome.DENY, code, message)

    @classmethod
    def review(cls, code: str, message: str) -> "Verdict":
        return cls(Outcome.REVIEW, code, message)


ALLOW = Verdict(Outcome.ALLOW)


@dataclass
class RequestedLine:
    index: int
    order_line_id: object
    quantity: object
    reason_code: object
    note: str = ""
    resolution: object = Resolution.REFUND
    replacement_sku: object = None
    # Resolved by the service before the line rules run:
    order_line: object = None
    reason: object = None
    policy: object = None
    returnable_quantity: int = 0
    replacement: object = None  # the product to send, for an exchange
    replacement_terms: tuple | None = None  # (price, tax) per unit, None when it cannot be offered
    replacement_in_stock: bool = True
    rule: dict | None = None  # what the merchant's rules decided for this line (rules.engine)

    @property
    def replacement_dearer(self) -> bool:
        if self.replacement_terms is None or self.order_line is None:
            return False
        price, tax = self.replacement_terms
        return price + tax > self.order_line.unit_price + self.order_line.unit_tax


@dataclass
class EligibilityContext:
    actor: object
    order: object
    lines: list[RequestedLine]
    now: datetime
    acting_for_customer: bool  # a customer asking for themself, not staff or a partner
    order_has_payment: bool = True
    # Filled in for the review rules:
    amount: Decimal = Decimal(0)
    fraud_score: int = 0
    customer_flagged: bool = False
    review_threshold: int = 80
    policies: list = field(default_factory=list)
    notices: list = field(default_factory=list)  # what a quote tells the customer besides the money
    rules: object = None  # the version deciding this request, its facts and early decision (returns.services)
    claimed: dict = field(default_factory=dict)  # order line → returns.selectors.ClaimedUnits, before this one


# --- request rules: stop at the first denial, later ones assume earlier ones passed ---

def order_belongs_to_customer(ctx: EligibilityContext) -> Verdict:
    if ctx.acting_for_customer and ctx.order.customer_id != ctx.actor.pk:
        return Verdict.deny("order_not_found", _("We could not find that order on your account."))
    return ALLOW


def order_is_fulfilled(ctx: EligibilityContext) -> Verdict:
    if ctx.order.status not in RETURNABLE_ORDER_STATUSES:
        return Verdict.deny("order_not_fulfilled", _("This order has not shipped yet, so it cannot be returned."))
    return ALLOW


def has_lines(ctx: EligibilityContext) -> Verdict:
    if not ctx.lines:
        return Verdict.deny("no_lines", _("Choose at least one item to return."))
    return ALLOW


def no_duplicate_lines(ctx: EligibilityContext) -> Verdict:
    seen = [str(line.order_line_id) for line in ctx.lines]
    if len(seen) != len(set(seen)):
        return Verdict.deny("duplicate_line", _("Each item may appear only once in a return; combine the quantities."))
    return ALLOW


REQUEST_RULES: list[Callable[[EligibilityContext], Verdict]] = [
    order_belongs_to_customer, order_is_fulfilled, has_lines, no_duplicate_lines,
]


# --- line rules: every line is checked, every denial reported ---

def line_in_order(ctx: EligibilityContext, line: RequestedLine) -> Verdict:
    if line.order_line is None:
        return Verdict.deny("line_not_in_order", _("That item is not part of this order."))
    return ALLOW


def quantity_positive(ctx: EligibilityContext, line: RequestedLine) -> Verdict:
    if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or line.quantity < 1:
        return Verdict.deny("invalid_quantity", _("The quantity must be a whole number of at least 1."))
    return ALLOW


def reason_known(ctx: EligibilityContext, line: RequestedLine) -> Verdict:
    if line.reason is None:
        return Verdict.deny("unknown_reason", _("Choose one of the listed reasons for the return."))
    return ALLOW


def denied_by_rule(ctx: EligibilityContext, line: RequestedLine) -> Verdict:
    """The merchant's rules (rules.engine) decided this line may not be returned."""
    denial = (line.rule or {}).get("denied")
    if denial:
        return Verdict.deny("denied_by_rule", denial["message"])
    return ALLOW


def product_returnable(ctx: EligibilityContext, line: RequestedLine) -> Verdict:
    if not line.order_line.product.returnable:
        return Verdict.deny("product_not_returnable",
                            _("%(product)s cannot be returned.") % {"product": line.order_line.product.name})
    return ALLOW


def return_by(delivered_at: datetime, window_days: int) -> datetime:
    """The last moment a return may be asked for: the window counts whole days since delivery, so
    day N (the window's length) is in and day N+1 is out. The customer is shown this moment."""
    return delivered_at + timedelta(days=window_days + 1) - timedelta(microseconds=1)


def within_window(ctx: EligibilityContext, line: RequestedLine) -> Verdict:
    from returns.markets import effective_window_days

    delivered_at = ctx.order.delivered_at
    if delivered_at is None:
        return Verdict.deny("order_not_delivered", _("This order has not been delivered yet."))
    window_days = effective_window_days(line.policy, ctx.order.shipping_country)
    if ctx.now > return_by(delivered_at, window_days):
        return Verdict.deny(
            "return_window_closed",
            _("The %(days)s-day return window for %(product)s has closed.")
            % {"days": window_days, "product": line.order_line.product.name},
        )
    return ALLOW


def quantity_available(ctx: EligibilityContext, line: RequestedLine) -> Verdict:
    if line.quantity > line.returnable_quantity:
        return Verdict.deny(
            "quantity_exceeds_returnable",
            _("Only %(quantity)s of %(product)s can still be returned.")
            % {"quantity": line.returnable_quantity, "product": line.order_line.product.name},
        )
    return ALLOW


def resolution_allowed(ctx: EligibilityContext, line: RequestedLine) -> Verdict:
    if line.resolution not in Resolution.values:
        return Verdict.deny("invalid_resolution",
                            _("Choose one of %(options)s.") % {"options": ", ".join(Resolution.values)})
    allowed = line.policy.allowed_resolutions
    if ctx.acting_for_customer and line.resolution not in allowed:
        labels = " or ".join(Resolution(value).label.lower() for value in allowed if value in Resolution.values)
        return Verdict.deny("resolution_not_allowed",
                            _("%(product)s can be returned for %(options)s only.")
                            % {"product": line.order_line.product.name, "options": labels or _("nothing")})
    if line.resolution != Resolution.EXCHANGE and line.replacement_sku:
        return Verdict.deny("replacement_needs_exchange", _("A replacement is only chosen for an exchange."))
    return ALLOW


def replacement_offered(ctx: EligibilityContext, line: RequestedLine) -> Verdict:
    if line.resolution != Resolution.EXCHANGE:
        return ALLOW
    if line.replacement is None:
        return Verdict.deny("replacement_not_found", _("We have no product %(sku)s.") % {"sku": line.replacement_sku})
    if line.replacement_terms is None:
        return Verdict.deny("replacement_not_offered",
                            _("%(product)s cannot be sent as a replacement for this order.")
                            % {"product": line.replacement.name})
    return ALLOW


def replacement_in_stock(ctx: EligibilityContext, line: RequestedLine) -> Verdict:
    if line.resolution == Resolution.EXCHANGE and not line.replacement_in_stock:
        return Verdict.deny("replacement_out_of_stock",
                            _("%(product)s is out of stock, so we cannot exchange this item; "
                              "choose a refund or store credit instead.") % {"product": line.replacement.name})
    return ALLOW


def exchange_difference_payable(ctx: EligibilityContext, line: RequestedLine) -> Verdict:
    if line.resolution == Resolution.EXCHANGE and line.replacement_dearer and not ctx.order_has_payment:
        return Verdict.deny("exchange_needs_payment",
                            _("The replacement costs more and this order has no payment to collect the difference "
                              "from; choose a replacement at the same price or less."))
    return ALLOW


# The first rules resolve what the later ones read; a line stops at its first denial.
LINE_RULES: list[Callable[[EligibilityContext, RequestedLine], Verdict]] = [
    line_in_order, quantity_positive, reason_known, denied_by_rule, product_returnable, within_window,
    quantity_available,
    resolution_allowed, replacement_offered, replacement_in_stock, exchange_difference_payable,
]


# --- review rules: never deny, only send the return to a person ---

def manual_review_mode(ctx: EligibilityContext) -> Verdict:
    if any(policy.review_mode == ReviewMode.MANUAL for policy in ctx.policies):
        return Verdict.review("policy_manual_review", "The policy asks for every return to be reviewed.")
    return ALLOW


def above_auto_approve_limit(ctx: EligibilityContext) -> Verdict:
    limit = min((policy.auto_approve_limit for policy in ctx.policies), default=None)
    if limit is not None and ctx.amount > limit:
        return Verdict.review("above_auto_approve_limit", f"The amount {ctx.amount} is above the limit {limit}.")
    return ALLOW


def high_fraud_score(ctx: EligibilityContext) -> Verdict:
    if ctx.fraud_score >= ctx.review_threshold:
        return Verdict.review("high_fraud_score", f"Fraud score {ctx.fraud_score} ≥ {ctx.review_threshold}.")
    return ALLOW


def customer_flagged(ctx: EligibilityContext) -> Verdict:
    if ctx.customer_flagged:
        return Verdict.review("customer_flagged", "The customer is flagged for review.")
    return ALLOW


REVIEW_RULES: list[Callable[[EligibilityContext], Verdict]] = [
    manual_review_mode, above_auto_approve_limit, high_fraud_score, customer_flagged,
]
