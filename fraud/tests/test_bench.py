"""`make bench` at a tiny scale: the generator, the measurements and the clean-up all run."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from fraud import bench
from fraud.models import CustomerRiskProfile
from orders.models import Order
from returns.models import ReturnRequest

pytestmark = pytest.mark.django_db
TINY = {"orders": 2000, "customers": 200, "returns": 400, "scorings": 20}


def run_bench(**options) -> str:
    out = StringIO()
    call_command("fraud_bench", stdout=out, **{**TINY, **options})
    return out.getvalue()


def test_the_benchmark_seeds_measures_and_removes_its_history(customer):
    output = run_bench(keep=True)

    assert bench.existing_scale() == bench.Scale(orders=2000, customers=200, returns=400)
    assert CustomerRiskProfile.objects.filter(customer__username__startswith="bench-").count() == 200
    assert "seeding 2,000 orders, 200 customers, 400 returns" in output
    assert re.search(r"profile refresh: [\d.]+ s / [\d.]+ s \(target < 60 s\)", output)
    assert re.search(r"scoring per request over 20: median [\d.]+ ms, p95 [\d.]+ ms", output)
    assert "queries per scoring: 2 (constant)" in output

    again = run_bench()  # same size: reuses the history, then removes it

    assert "reusing the benchmark history already seeded (2,000 orders)" in again
    assert bench.existing_scale() == bench.Scale(0, 0, 0)
    assert not ReturnRequest.objects.filter(rma_number__startswith="BENCH-").exists()
    assert not Order.objects.filter(channel__code="bench").exists()
    assert customer.__class__.objects.filter(pk=customer.pk).exists()  # real data is left alone


def test_a_different_size_replaces_an_earlier_history():
    run_bench(keep=True)

    output = run_bench(orders=1500, keep=True)

    assert "removing an earlier benchmark history (2,000 orders)" in output
    assert bench.existing_scale() == bench.Scale(orders=1500, customers=200, returns=400)
