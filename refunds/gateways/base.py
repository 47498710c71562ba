from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class GatewayRefund:
    reference: str
    amount: Decimal
    currency: str
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayCharge:
    reference: str
    amount: Decimal
    currency: str
    raw: dict = field(default_factory=dict)


class GatewayError(Exception):
    """A refund (or charge) the gateway did not confirm. `transient` errors are worth retrying."""

    transient = True
    code = "gateway_error"

    def __init__(self, message: str, *, code: str | None = None, raw: dict | None = None):
        super().__init__(message)
        self.code = code or self.code
        self.raw = raw or {}


class GatewayUnavailable(GatewayError):
    code = "gateway_unavailable"


class GatewayTimeout(GatewayError):
    """No answer in time: the refund may or may not have been made. Retry with the same key."""

    code = "gateway_timeout"


class GatewayDeclined(GatewayError):
    transient = False
    code = "declined"


# The gateway will not refund part of a charge this old; the customer gets store credit instead.
CHARGE_TOO_OLD = "charge_too_old_for_partial_refund"


class PaymentGateway(Protocol):
    name: str

    def refund(self, *, charge_ref: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayRefund:
        """Refund `amount` of the charge. The same key always means the same single refund."""

    def charge(self, *, charge_ref: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayCharge:
        """Charge `amount` more to the payment method behind the charge `charge_ref` (a merchant-initiated
        charge, e.g. an exchange's difference). The same key always means the same single charge."""
