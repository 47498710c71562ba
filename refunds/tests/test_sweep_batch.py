"""The sweeper re-drives a bounded batch per run, longest waiting first, so that a spike of refunds
still queued is not multiplied every minute; the rest follow on the next runs."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from refunds.choices import RefundStatus
from refunds.models import Refund
from refunds.tasks import sweep_stuck_refunds
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_sweeper_redrives_a_batch_at_a_time_oldest_first(shop, customer, warehouse):
    waited = []
    for minutes_ago in (30, 20, 10):
        order = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
        rr = factories.received_return(order=order, customer=customer, warehouse=warehouse)
        with time_machine.travel(timezone.now() - timedelta(minutes=minutes_ago)):
            factories.inspect_all(rr, by=warehouse)  # on_commit never runs here: every message is "lost"
        waited.append(Refund.objects.get(return_request=rr).pk)

    with override_settings(REFUNDS={**settings.REFUNDS, "SWEEP_BATCH": 2}):
        assert sweep_stuck_refunds() == 2
        statuses = dict(Refund.objects.values_list("pk", "status"))
        assert [statuses[pk] for pk in waited] == [RefundStatus.COMPLETED, RefundStatus.COMPLETED,
                                                  RefundStatus.PENDING]
        assert sweep_stuck_refunds() == 1
    assert set(Refund.objects.values_list("status", flat=True)) == {RefundStatus.COMPLETED}
