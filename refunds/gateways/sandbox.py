"""A gateway that behaves like a real one, without the network.

It keeps its own books (SandboxRefund) so it remembers idempotency keys across processes:
the same key returns the first refund, never a second one. It refuses a partial refund of a
charge older than `partial_refund_max_age_days`, and refunds beyond what was charged. Charges
(an exchange's difference, on the payment method of an earlier charge) are kept the same way
(SandboxCharge). Faults can be scripted for the next calls, refunds and charges alike — what a
chaos test or a demo needs:

    SandboxGateway.script("timeout_after_commit", "unavailable")

`timeout_before` raises before recording anything, `timeout_after_commit` records the refund
and then times out, `unavailable` is a 5xx, `decline` a hard refusal (of a key not yet paid:
a paid key is replayed, as real gateways do), `slow:<ms>` adds latency.
"""

import secrets
import threading
import time
from collections import deque
from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from refunds.gateways.base import (
    CHARGE_TOO_OLD,
    GatewayCharge,
    GatewayDeclined,
    GatewayRefund,
    GatewayTimeout,
    GatewayUnavailable,
)


class SandboxGateway:
    name = "sandbox"
    _script: deque[str] = deque()
    _script_lock = threading.Lock()

    def __init__(self, *, latency_ms: int = 0, partial_refund_max_age_days: int = 180):
        self.latency_ms = latency_ms
        self.max_age = timedelta(days=partial_refund_max_age_days)

    @classmethod
    def script(cls, *faults: str) -> None:
        with cls._script_lock:
            cls._script.extend(faults)

    @classmethod
    def reset(cls) -> None:
        with cls._script_lock:
            cls._script.clear()

    @classmethod
    def _next_fault(cls) -> str:
        with cls._script_lock:
            return cls._script.popleft() if cls._script else ""

    def charge(self, *, charge_ref: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayCharge:
        from orders.models import Payment
        from refunds.models import SandboxCharge

        fault = self._next_fault()
        if fault.startswith("slow:") or self.latency_ms:
            time.sleep((self.latency_ms + (int(fault.split(":")[1]) if fault.startswith("slow:") else 0)) / 1000)
        if fault == "timeout_before":
            raise GatewayTimeout("The gateway did not answer in time.")
        if fault == "unavailable":
            raise GatewayUnavailable("503 Service Unavailable", raw={"status": 503})
        if fault == "decline" and not SandboxCharge.objects.filter(idempotency_key=idempotency_key).exists():
            raise GatewayDeclined("The issuer declined the charge.", code="charge_declined")
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"sandbox:{charge_ref}"])
            existing = SandboxCharge.objects.filter(idempotency_key=idempotency_key).first()
            if existing is None:
                payment = Payment.objects.filter(charge_reference=charge_ref).first()
                if payment is None:
                    raise GatewayDeclined(f"No such charge {charge_ref}.", code="charge_not_found")
                if payment.currency != currency:
                    raise GatewayDeclined("Currency does not match the charge.", code="currency_mismatch")
                existing = SandboxCharge.objects.create(
                    idempotency_key=idempotency_key, reference="ch_" + secrets.token_hex(12),
                    payment_reference=charge_ref, amount=amount, currency=currency)
            elif existing.amount != amount or existing.payment_reference != charge_ref:
                raise GatewayDeclined("Idempotency key reused with different parameters.",
                                      code="idempotency_key_reused")
        if fault == "timeout_after_commit":
            raise GatewayTimeout("The gateway did not answer in time.")
        return GatewayCharge(reference=existing.reference, amount=existing.amount, currency=existing.currency,
                             raw={"id": existing.reference, "status": "succeeded", "amount": str(existing.amount)})

    def refund(self, *, charge_ref: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayRefund:
        from refunds.models import SandboxRefund

        fault = self._next_fault()
        delay = self.latency_ms + (int(fault.split(":")[1]) if fault.startswith("slow:") else 0)
        if delay:
            time.sleep(delay / 1000)
        if fault == "timeout_before":
            raise GatewayTimeout("The gateway did not answer in time.")
        if fault == "unavailable":
            raise GatewayUnavailable("503 Service Unavailable", raw={"status": 503})
        if fault == "decline" and not SandboxRefund.objects.filter(idempotency_key=idempotency_key).exists():
            # A key the gateway has paid is replayed, never declined: only a new refund can be refused.
            raise GatewayDeclined("The issuer declined the refund.", code="refund_declined")

        with transaction.atomic():
            # The gateway serialises work per charge, as real ones do.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"sandbox:{charge_ref}"])
            existing = SandboxRefund.objects.filter(idempotency_key=idempotency_key).first()
            if existing is None:
                self._check_refundable(charge_ref, amount, currency)
                existing = SandboxRefund.objects.create(
                    idempotency_key=idempotency_key, reference="re_" + secrets.token_hex(12),
                    charge_reference=charge_ref, amount=amount, currency=currency)
            elif existing.amount != amount or existing.charge_reference != charge_ref:
                raise GatewayDeclined("Idempotency key reused with different parameters.",
                                      code="idempotency_key_reused")
        if fault == "timeout_after_commit":
            raise GatewayTimeout("The gateway did not answer in time.")
        return GatewayRefund(reference=existing.reference, amount=existing.amount, currency=existing.currency,
                             raw={"id": existing.reference, "status": "succeeded", "amount": str(existing.amount)})

    def _check_refundable(self, charge_ref: str, amount: Decimal, currency: str) -> None:
        from orders.models import Payment
        from refunds.models import SandboxRefund

        charge = Payment.objects.filter(charge_reference=charge_ref).first()
        if charge is None:
            raise GatewayDeclined(f"No such charge {charge_ref}.", code="charge_not_found")
        if charge.currency != currency:
            raise GatewayDeclined("Currency does not match the charge.", code="currency_mismatch")
        refunded = SandboxRefund.objects.filter(charge_reference=charge_ref).aggregate(t=Sum("amount"))["t"] or 0
        if refunded + amount > charge.amount:
            raise GatewayDeclined("Refund exceeds the amount charged.", code="amount_exceeds_charge")
        if amount < charge.amount and timezone.now() - charge.captured_at > self.max_age:
            raise GatewayDeclined("Partial refunds are not possible on a charge this old.", code=CHARGE_TOO_OLD)
