"""The refund's spans: `refund.process` (linked to the return's initiation, which may be days
and processes away) and `refund.payment_gateway` around each call to the gateway."""

from core import tracing
from refunds.gateways import GatewayError


def process_span(refund) -> tuple[dict, list]:
    """The attributes and links `refund.process` learns from the refund it locked (read with its return)."""
    return_request = refund.return_request  # None for a goodwill refund
    attributes = {"refund.rma_id": return_request and return_request.rma_number, "refund.amount": refund.net,
                  "refund.currency": refund.currency, "refund.method": refund.method,
                  "refund.order_id": str(return_request.order_id) if return_request else None}
    return attributes, tracing.link_to(return_request and return_request.trace_context, "rma_initiation")


class TracedGateway:
    """A payment gateway whose refund calls are `refund.payment_gateway` spans: an error sets the
    span's status and records the exception."""

    def __init__(self, gateway, *, claim):
        self._gateway = gateway
        self._claim = claim
        self.name = gateway.name

    def refund(self, *, charge_ref, amount, currency, idempotency_key):
        claim = self._claim
        attributes = {"payment.method": claim.payment_method, "payment.gateway": claim.gateway or self.name,
                      "refund.amount": amount, "refund.currency": currency, "refund.attempt": claim.attempt}
        with tracing.span("refund.payment_gateway", attributes) as current:
            try:
                result = self._gateway.refund(charge_ref=charge_ref, amount=amount, currency=currency,
                                              idempotency_key=idempotency_key)
            except GatewayError as exc:
                current.set_attributes({"refund.status": "failed", "refund.error_code": exc.code,
                                        "refund.retryable": exc.transient})
                raise
            current.set_attributes({"refund.gateway_ref": result.reference,
                                    "refund.status": str(result.raw.get("status") or "succeeded")})
            return result

    def charge(self, *, charge_ref, amount, currency, idempotency_key):
        """An exchange's difference collected: the same span, with the operation named."""
        claim = self._claim
        attributes = {"payment.gateway": claim.gateway or self.name, "refund.operation": "charge",
                      "refund.amount": amount, "refund.currency": currency, "refund.attempt": claim.attempt}
        with tracing.span("refund.payment_gateway", attributes) as current:
            try:
                result = self._gateway.charge(charge_ref=charge_ref, amount=amount, currency=currency,
                                              idempotency_key=idempotency_key)
            except GatewayError as exc:
                current.set_attributes({"refund.status": "failed", "refund.error_code": exc.code,
                                        "refund.retryable": exc.transient})
                raise
            current.set_attributes({"refund.gateway_ref": result.reference, "refund.status": "succeeded"})
            return result
