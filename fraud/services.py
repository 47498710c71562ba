"""Fraud scoring at request time. Each signal adds to a 0–100 score and leaves its evidence."""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction

from fraud.choices import Stage
from fraud.models import CustomerRiskProfile, FraudSignal

HIGH_VALUE_AMOUNT = Decimal("1000")
OPEN_RETURNS_LIMIT = 3
RETURN_RATE_LIMIT = Decimal("0.5")
RETURN_RATE_MIN_ORDERS = 3


def customer_is_flagged(customer) -> bool:
    return CustomerRiskProfile.objects.filter(customer=customer, flagged=True).exists()


@transaction.atomic
def fraud_score_request(*, return_request, amount: Decimal) -> int:
    from orders.models import Order
    from returns.choices import OPEN_STATUSES
    from returns.models import ReturnRequest

    customer = return_request.customer
    since = return_request.requested_at - timedelta(days=90)
    signals: list[tuple[str, int, dict]] = []

    open_returns = (ReturnRequest.objects.filter(customer=customer, status__in=OPEN_STATUSES)
                    .exclude(pk=return_request.pk).count())
    if open_returns >= OPEN_RETURNS_LIMIT:
        signals.append(("many_open_returns", 25, {"open_returns": open_returns}))

    orders = Order.objects.filter(customer=customer, placed_at__gte=since).count()
    returns = ReturnRequest.objects.filter(customer=customer, requested_at__gte=since).count()
    if orders >= RETURN_RATE_MIN_ORDERS and Decimal(returns) / orders > RETURN_RATE_LIMIT:
        signals.append(("high_return_rate", 30, {"returns_90d": returns, "orders_90d": orders}))

    if amount >= HIGH_VALUE_AMOUNT:
        signals.append(("high_value", 20, {"amount": str(amount), "threshold": str(HIGH_VALUE_AMOUNT)}))

    FraudSignal.objects.bulk_create([
        FraudSignal(return_request=return_request, customer=customer, stage=Stage.REQUEST,
                    kind=kind, score_delta=delta, evidence=evidence)
        for kind, delta, evidence in signals
    ])
    return min(100, sum(delta for _, delta, _ in signals))
