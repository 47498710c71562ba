"""What paying one refund costs the database, counted so that a regression fails. The same path
`manage.py refund_profile` measures (docs/performance.md); here inside the test's transaction, so
the claim's and the settlement's transactions are savepoints."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from refunds import ledger
from refunds.choices import RefundStatus
from refunds.models import Refund
from refunds.tasks import process_refund
from tests import factories
from tests.celery import queued_not_run

pytestmark = pytest.mark.django_db

# The claim 4 (lock, anyone listening, update, history) and its savepoint 2; the sandbox gateway's own
# books 5 and savepoint 2; the attempt 1; the settlement 13 and savepoint 2: the refund 4 as in the
# claim, the ledger entry 2, the return moving on 7 (lock, its order, anyone listening, the e-mail's
# outbox row, update, history, fraud aggregates). It was 59 before the work per refund was cut.
PAYING_ONE_REFUND = 29


@pytest.fixture
def pending_refund(order, customer, warehouse):
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                   lines=[(order.lines.first(), 1)])
    with queued_not_run():
        factories.inspect_all(rr, by=warehouse)
    ledger.account(ledger.GATEWAY_CLEARING)  # opened by an earlier payment, as in a running shop
    return Refund.objects.get(return_request=rr)


def paid_with_queries(refund, *message) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        process_refund.apply(*message, throw=True)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.COMPLETED
    return [query["sql"] for query in captured.captured_queries]


def test_paying_a_refund_stays_within_its_queries(pending_refund):
    queries = paid_with_queries(pending_refund, (pending_refund.pk,), {"gateway": pending_refund.gateway})
    assert len(queries) <= PAYING_ONE_REFUND, "\n".join(queries)


def test_a_message_queued_before_it_carried_the_gateway_still_pays(pending_refund):
    queries = paid_with_queries(pending_refund, (pending_refund.pk,))
    assert len(queries) <= PAYING_ONE_REFUND + 1, "\n".join(queries)  # it reads the refund's gateway first
