"""The refund's spans: `refund.process` (linked to the return's initiation, which may be days
and processes away) and `refund.payment_gateway` around each call to the gateway."""

from core import tracing
from refunds.gateways import GatewayError


def process_span(*, refund_id: int) -> tuple[dict, list]:
    """The attributes and links of `refund.process`, from one read of the refund and its return."""
    from refunds.models import Refund

    facts = (Refund.objects.filter(pk=refund_id)
             .values("net", "currency", "method", "return_request__rma_number", "return_request__order_id",
                     "return_request__trace_context").first())
    if facts is None:
        return {"refund.id": refund_id}, []
    attributes = {"refund.id": refund_id, "refund.rma_id": facts["return_request__rma_number"],
                  "refund.amount": facts["net"], "refund.currency": facts["currency"],
                  "refund.order_id": str(facts["return_request__order_id"]), "refund.method": facts["method"]}
    return attributes, tracing.link_to(facts["return_request__trace_context"], "rma_initiation")


class TracedGateway:
    """A payment gateway whose refund calls are `refund.payment_gateway` spans: an error sets the
    span's status and records the exception."""

    def __init__(self, gateway, *, claim):
        self._gateway = gateway
        self._claim = claim
        self.name = gateway.name

    def refund(self, *, charge_ref, amount, currency, idempotency_key):
        from orders.models import Payment

        claim = self._claim
        method = (Payment.objects.filter(gateway=claim.gateway, charge_reference=charge_ref)
                  .values_list("method", flat=True).first())
        attributes = {"payment.method": method, "payment.gateway": claim.gateway or self.name,
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
