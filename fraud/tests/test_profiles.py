"""The materialised risk profile: the set-based refresh equals counting by hand, and the
adjustments made by return events in between agree with it."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from fraud.choices import SignalKind, Stage
from fraud.models import CustomerRiskProfile, FraudSignal
from fraud.services import risk_profiles_refresh
from fraud.tests.conftest import bring_back, one_line_order, request
from orders.models import Order, SalesChannel
from refunds.models import Refund
from returns import services
from returns.choices import OPEN_STATUSES, ReturnStatus
from returns.models import ReturnRequest
from returns.tasks import expire_unshipped_returns
from tests import factories

NOW = timezone.now().replace(microsecond=0)
AGGREGATES = ("orders_90d", "returns_90d", "open_returns", "lifetime_orders", "lifetime_returns", "lifetime_refunds",
              "lifetime_score", "flagged")
REFUNDED = (ReturnStatus.REFUNDED, ReturnStatus.CLOSED)

hours_ago = st.integers(min_value=0, max_value=200 * 24) | st.sampled_from([90 * 24, 90 * 24 + 1, 90 * 24 - 1])
a_return = st.fixed_dictionaries({
    "status": st.sampled_from(ReturnStatus.values),
    "hours_ago": hours_ago,
    "refund": st.booleans(),
    "signals": st.dictionaries(st.sampled_from(SignalKind.values), st.integers(min_value=0, max_value=60),
                               max_size=3),
})
an_order = st.fixed_dictionaries({"hours_ago": hours_ago, "returns": st.lists(a_return, max_size=2)})
a_customer = st.fixed_dictionaries({
    "orders": st.lists(an_order, max_size=4),
    "profile_before": st.none() | st.fixed_dictionaries({"flagged": st.booleans(),
                                                        "open_returns": st.integers(0, 9)}),
})


def _build(customers: list[dict]) -> dict[int, dict]:
    """Write the generated history; return, per customer id, what a person counting would find."""
    channel = SalesChannel.objects.get_or_create(code="web", defaults={"name": "Web"})[0]
    since = NOW - timedelta(days=90)
    flag_at = settings.RETURNS["FLAG_LIFETIME_SCORE"]
    expected = {}
    for c, spec in enumerate(customers):
        user = factories.UserFactory(username=f"prop-{c}")
        if spec["profile_before"] is not None:
            CustomerRiskProfile.objects.create(customer=user, refreshed_at=NOW - timedelta(days=1),
                                               **spec["profile_before"])
        counts = dict.fromkeys(AGGREGATES, 0)
        for o, order_spec in enumerate(spec["orders"]):
            placed_at = NOW - timedelta(hours=order_spec["hours_ago"])
            order = Order.objects.create(channel=channel, external_id=f"P-{c}-{o}", customer=user, placed_at=placed_at,
                                         currency="USD", status="fulfilled")
            counts["lifetime_orders"] += 1
            counts["orders_90d"] += placed_at >= since
            for r, return_spec in enumerate(order_spec["returns"]):
                requested_at = NOW - timedelta(hours=return_spec["hours_ago"])
                rr = ReturnRequest.objects.create(rma_number=f"P-{c}-{o}-{r}", order=order, customer=user,
                                                  status=return_spec["status"])
                # requested_at is set on insert; history is beside the point for generated data
                ReturnRequest.objects.filter(pk=rr.pk).update(requested_at=requested_at)
                if return_spec["refund"]:
                    Refund.objects.create(return_request=rr, customer=user, method="original_payment",
                                          currency="USD", gross=Decimal("10"), net=Decimal("10"))
                FraudSignal.objects.bulk_create([
                    FraudSignal(return_request=rr, customer=user, stage=Stage.REQUEST, kind=kind, score_delta=points)
                    for kind, points in return_spec["signals"].items()
                ])
                counts["lifetime_returns"] += 1
                counts["returns_90d"] += requested_at >= since
                counts["open_returns"] += return_spec["status"] in OPEN_STATUSES
                counts["lifetime_refunds"] += return_spec["refund"] and return_spec["status"] in REFUNDED
                counts["lifetime_score"] += sum(return_spec["signals"].values())
        if spec["orders"]:
            was_flagged = bool(spec["profile_before"] and spec["profile_before"]["flagged"])
            counts["flagged"] = was_flagged or counts["lifetime_score"] >= flag_at
            expected[user.pk] = counts
        elif spec["profile_before"] is not None:  # no orders: the refresh leaves the row alone
            expected[user.pk] = {**dict.fromkeys(AGGREGATES, 0), **spec["profile_before"]}
    return expected


@pytest.mark.django_db
@hypothesis_settings(max_examples=15, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(customers=st.lists(a_customer, min_size=1, max_size=4))
def test_the_set_based_refresh_equals_counting_by_hand(customers):
    with transaction.atomic(), time_machine.travel(NOW, tick=False):
        expected = _build(customers)

        risk_profiles_refresh()

        found = {p.customer_id: {name: getattr(p, name) for name in AGGREGATES}
                 for p in CustomerRiskProfile.objects.all()}
        assert found == expected
        transaction.set_rollback(True)  # the next example starts from an empty database


@pytest.mark.django_db
def test_return_events_keep_the_profile_equal_to_a_fresh_refresh(shop, customer, reviewer, warehouse,
                                                                 django_capture_on_commit_callbacks):
    """Requests, a cancellation, a rejection, two expiries and a paid refund, each adjusting the
    profile as it happens; a full recomputation afterwards changes nothing."""
    factories.policy(None, review_mode="manual")
    orders = [one_line_order(customer, shop.shirt, "25.00") for _ in range(6)]
    risk_profiles_refresh()
    cancelled, rejected, expired, refunded, expired_unlabelled = (request(order, customer) for order in orders[:5])
    services.return_cancel(return_request=cancelled, by=customer)
    services.return_reject(return_request=rejected, by=reviewer, reason="Outside policy.")
    with django_capture_on_commit_callbacks(execute=True):
        services.return_approve(return_request=expired, by=reviewer)
    services.return_approve(return_request=expired_unlabelled, by=reviewer)
    with time_machine.travel(timezone.now() + timedelta(days=settings.RETURNS["LABEL_SCAN_DAYS"], hours=1)):
        expire_unshipped_returns()  # expires both unscanned returns; the one with a label gets a signal
    services.return_approve(return_request=refunded, by=reviewer)
    services.return_mark_in_transit(return_request=refunded)
    services.return_receive(return_request=refunded, by=warehouse)
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(refunded, by=warehouse, condition="new")
    refunded.refresh_from_db()
    assert refunded.status == ReturnStatus.REFUNDED
    still_open = bring_back(orders[5], customer, warehouse)

    incremental = _aggregates(customer)
    risk_profiles_refresh()
    assert _aggregates(customer) == incremental
    assert incremental["open_returns"] == 1 and incremental["lifetime_refunds"] == 1
    assert FraudSignal.objects.filter(kind=SignalKind.LABEL_NOT_SCANNED).get().return_request == expired
    assert still_open.status == ReturnStatus.RECEIVED


def _aggregates(customer) -> dict:
    profile = CustomerRiskProfile.objects.get(customer=customer)
    return {name: getattr(profile, name) for name in AGGREGATES}
