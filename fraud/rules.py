"""The default fraud rules: how many points each signal is worth and the thresholds it fires at.

Staff tune them as `FraudRule` rows in the admin. A kind without a row gets these defaults the
first time it is scored, so a fresh database (or a flushed test database) scores the same way.
"""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from fraud.choices import SignalKind

K = SignalKind


@dataclass(frozen=True)
class RuleDefault:
    weight: int
    params: dict = field(default_factory=dict)
    description: str = ""


# Thresholds that are amounts or rates are strings in JSON so they never pass through a float.
DEFAULT_RULES: dict[str, RuleDefault] = {
    K.HIGH_RETURN_RATE: RuleDefault(
        30, {"min_rate": "0.5", "min_orders": 3},
        "Returns ÷ orders over the last 90 days is at least min_rate, once the customer has min_orders orders."),
    K.MANY_OPEN_RETURNS: RuleDefault(
        25, {"min_open_returns": 3},
        "The customer already has at least min_open_returns other returns open."),
    K.RISKY_CATEGORY: RuleDefault(
        15, {"categories": ["electronics"]},
        "A returned product is in one of these categories."),
    K.HIGH_VALUE: RuleDefault(
        20, {"min_amount": "1000"},
        "The refund owed is at least min_amount, in the order's currency."),
    K.LABEL_NOT_SCANNED: RuleDefault(
        20, {},
        "A label was issued but the carrier never scanned the parcel; the RMA expired. The deadline is the "
        "RETURNS_LABEL_SCAN_DAYS setting, the same one that expires the return."),
    K.DAMAGE_CLAIMED_FOUND_NEW: RuleDefault(
        40, {},
        "The customer said an item arrived damaged; the warehouse found it new."),
    K.WARDROBING: RuleDefault(
        40, {"min_unit_price": "100", "days_before_window_end": 3},
        "An item worth at least min_unit_price, asked back within days_before_window_end days of the window "
        "closing, comes back like new, and the customer has returned the same SKU before."),
    K.EARLY_REFUND_UNEARNED: RuleDefault(
        50, {},
        "The refund was paid before the goods arrived, and the parcel was not scanned or received by the "
        "deadline (RETURNS_EARLY_REFUND_SCAN_DAYS, RETURNS_EARLY_REFUND_RECEIPT_DAYS) or failed inspection. "
        "The customer also loses early refunds."),
}

# Which kind of value each parameter holds, for validation in the admin.
PARAM_TYPES: dict[str, type] = {
    "min_rate": Decimal,
    "min_orders": int,
    "min_open_returns": int,
    "categories": list,
    "min_amount": Decimal,
    "min_unit_price": Decimal,
    "days_before_window_end": int,
}


def parse_param(name: str, value):
    """The parameter as the type the checks use; ValueError explains what is wrong."""
    kind = PARAM_TYPES[name]
    if kind is Decimal:
        if isinstance(value, bool):
            raise ValueError(f"{name} must be a number.")
        try:
            number = Decimal(str(value))
        except InvalidOperation as exc:
            raise ValueError(f"{name} must be a number.") from exc
        if not number.is_finite() or number < 0:
            raise ValueError(f"{name} must be zero or more.")
        return number
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number, zero or more.")
        return value
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ValueError(f"{name} must be a list of names.")
    return value
