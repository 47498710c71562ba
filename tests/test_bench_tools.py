"""The benchmark's own tools stay true to the product: what it seeds set-based is what the services
would have written (the books reconcile, the real pipeline pays it), and its load generator counts
what the server answered."""

import pytest

from benchmarks import load, seed
from refunds.models import Refund
from refunds.reconciliation import reconcile
from refunds.services import refund_process
from returns.models import ReturnRequest
from returns.selectors import review_queue


def quiet(_line: str) -> None:
    pass


@pytest.mark.django_db
def test_the_seeded_history_reconciles_and_fills_the_review_queue():
    seed.seed_history(seed.HistoryScale(orders=600, customers=60), quiet)
    assert ReturnRequest.objects.count() == 600
    assert Refund.objects.count() > 50
    assert review_queue().exists()
    # Nothing in flight: a year-old refund still owed waits for finance, so the sweeper leaves it alone.
    assert not Refund.objects.filter(status="pending").exists()
    assert Refund.objects.filter(status="failed", needs_attention=True).exists()
    report = reconcile()
    assert report.ok, report.problems[:5]
    assert report.refunds_checked == Refund.objects.count()


@pytest.mark.django_db
def test_seeded_refunds_are_paid_once_by_the_real_pipeline():
    ids = seed.seed_refunds_due("lb-test", refunds=6, progress=quiet)
    assert len(ids) == 6 and reconcile().ok  # due, approved in the ledger, not paid yet
    for refund_id in ids + ids[:2]:  # twice for some: the second run finds nothing to do
        refund_process(refund_id=refund_id)
    assert set(Refund.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"completed"}
    assert set(ReturnRequest.objects.filter(refund__in=ids).values_list("status", flat=True)) == {"refunded"}
    assert reconcile().ok


@pytest.mark.django_db(transaction=True)
def test_the_load_generator_counts_what_the_api_answered(live_server):
    orders = seed.seed_api_orders("lb-load", orders=12, lines=1, progress=quiet)
    bodies = [[f"Token {o.token}", {"order_id": o.order_id, "lines": [
        {"order_line_id": o.line_ids[0], "quantity": 1, "reason": "wrong_size"}]}] for o in orders]
    bodies.append(bodies[0])  # the same line again: refused, and counted as an error
    result = load.run(f"{live_server.url}/api/v1/returns", bodies, concurrency=1, duration=60, warmup=0)
    assert result["ok"] == 12 and result["errors"] == {"422": 1} and result["ran_out"]
    assert ReturnRequest.objects.filter(order__channel__code="lb-load").count() == 12


def test_the_load_generator_sends_nothing_beyond_the_loopback():
    with pytest.raises(SystemExit, match="loopback only"):
        load.run("http://example.com/api/v1/returns", [], concurrency=1, duration=1, warmup=0)


@pytest.mark.django_db
def test_the_request_profile_counts_each_requests_queries_and_samples_its_cpu():
    import json

    from django.test import Client

    from benchmarks import profile, stages

    orders = seed.seed_api_orders("lb-profile", orders=5, lines=1, progress=quiet)
    bodies = stages._bodies(orders)
    answers = []

    def send(n):
        authorization, body = bodies[n]
        answers.append(Client().post("/api/v1/returns", json.dumps(body), content_type="application/json",
                                     HTTP_AUTHORIZATION=authorization).status_code)

    result = profile.profile_requests(send, requests=2, query_requests=2)

    assert answers == [201] * 5
    assert len(result.queries) == 2 and min(result.queries) > 10
    assert sum(result.kinds.values()) == sum(result.queries) == sum(result.shapes.values())
    assert result.kinds["INSERT"] >= 2 * 2  # the return and its history row, at least
    assert len(result.cpu_ms) == 2 and sum(result.samples.values()) > 0
    text = "\n".join(profile.report(result))
    assert f"queries per request: {result.queries_per_request():.1f}" in text and "database (ORM and driver)" in text


def test_the_request_profile_counts_one_statement_with_other_values_as_a_repeat():
    from benchmarks.profile import statement_kind, statement_shape

    first = """SELECT "x"."id" FROM "x" WHERE "x"."id" = 12 AND "x"."name" = 'it''s' LIMIT 1"""
    assert statement_shape(first) == statement_shape(first.replace("12", "7").replace("it''s", "other"))
    assert statement_shape('SAVEPOINT "s1401_x686"') == statement_shape('SAVEPOINT "s1401_x700"')
    assert statement_kind("WITH inserted AS (INSERT INTO t SELECT 1) SELECT 1") == "INSERT"
    assert statement_kind('RELEASE SAVEPOINT "s1_x2"') == "RELEASE SAVEPOINT"
