"""What `make bench` measures, one function per stage; each returns rows for the table."""

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext

from benchmarks import processes, seed
from refunds.models import Refund, SandboxRefund

Progress = Callable[[str], None]


@dataclass
class Row:
    stage: str
    measure: str
    result: str
    target: str = ""
    ok: bool | None = None

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: ""}[self.ok]


def skipped(stage: str, measure: str, why: str) -> Row:
    return Row(stage, measure, f"skipped: {why}")


# --- (a) the return-request API under load ---

def _bodies(orders: list[seed.ApiOrder], lines: int = 1) -> list:
    return [[f"Token {o.token}", {"order_id": o.order_id, "refund_method": "original_payment", "lines": [
        {"order_line_id": line, "quantity": 1, "reason": "wrong_size"} for line in o.line_ids[:lines]]}]
        for o in orders]


def _load(url: str, bodies: list, *, concurrency: int, duration: float, warmup: float) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as requests:
        json.dump(bodies, requests)
        requests.flush()
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.load", "--url", url, "--requests", requests.name,
             "--concurrency", str(concurrency), "--duration", str(duration), "--warmup", str(warmup)],
            cwd=processes.ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def queries_per_request(orders: list[seed.ApiOrder], lines: int) -> int:
    """The queries one return request makes, in this process, through the whole Django stack."""
    order = orders.pop()
    authorization, body = _bodies([order], lines)[0]
    with CaptureQueriesContext(connection) as captured:
        response = Client().post("/api/v1/returns", json.dumps(body), content_type="application/json",
                                 HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 201, response.content
    return len(captured.captured_queries)


def api_throughput(*, workers: int, concurrency: int, duration: float, warmup: float, expected_rate: float,
                   progress: Progress) -> list[Row]:
    needed = int(expected_rate * (duration + warmup) * 1.5) + 200
    progress(f"(a) seeding {needed:,} delivered orders for each endpoint, and orders of 1 and 5 lines")
    ours = seed.seed_api_orders("lb-api", orders=needed, lines=1, progress=progress)
    bare = seed.seed_api_orders("lb-bare", orders=needed, lines=1, progress=progress)
    wide = seed.seed_api_orders("lb-wide", orders=10, lines=5, progress=progress)
    queries_per_request(wide, 1)  # the first request of a process fills caches
    queries = {lines: queries_per_request(wide, lines) for lines in (1, 5)}

    results = {}
    with processes.gunicorn(workers=workers) as base:
        for name, path, orders in (("bare", "/bench/bare-returns", bare), ("ours", "/api/v1/returns", ours)):
            progress(f"(a) {name}: {concurrency} concurrent clients against {workers} gunicorn workers, "
                     f"{warmup:.0f} s warm-up + {duration:.0f} s")
            results[name] = _load(base + path, _bodies(orders), concurrency=concurrency, duration=duration,
                                  warmup=warmup)
            progress(f"    {json.dumps(results[name])}")
    ours, bare = results["ours"], results["bare"]
    ratio = ours["throughput"] / bare["throughput"] if bare["throughput"] else 0.0
    errors = {**ours["errors"]}
    stage = "(a) return request API"
    return [
        Row(stage, f"POST /api/v1/returns, {concurrency} clients, {workers} gunicorn workers",
            f"{ours['throughput']:.0f} req/s" + (f" ({sum(errors.values())} errors {errors})" if errors else ""),
            "≥ 200 req/s", ours["throughput"] >= 200 and not errors),
        Row(stage, "latency p50 / p99", f"{ours['p50_ms']:.0f} / {ours['p99_ms']:.0f} ms", "p99 < 150 ms",
            ours["p99_ms"] < 150),
        Row(stage, "bare DRF endpoint, same rows, same load",
            f"{bare['throughput']:.0f} req/s, p50 / p99 {bare['p50_ms']:.0f} / {bare['p99_ms']:.0f} ms"),
        Row(stage, "ratio ours / bare", f"{ratio:.2f}", "≥ 0.5", ratio >= 0.5),
        Row(stage, "queries per request, 1 line / 5 lines", f"{queries[1]} / {queries[5]}", "constant",
            queries[5] <= queries[1]),
    ]


# --- (b) and (c): refunds through a real worker and Redis ---

def _enqueue(refund_ids) -> None:
    """The messages refunds.services sends: the refund and its gateway (the seed pays through the sandbox)."""
    from refunds.tasks import process_refund

    for refund_id in refund_ids:
        process_refund.delay(refund_id, gateway="sandbox")


def _paid_count(code: str) -> int:
    return Refund.objects.filter(return_request__order__channel__code=code, status="completed").count()


def _purge_queues() -> None:
    from config.celery_app import app

    with app.connection_for_write() as conn:
        for queue in ("refunds", "default", "notifications"):
            conn.default_channel.queue_purge(queue)
        conn.default_channel.client.delete("unacked", "unacked_index")


def _drain(code: str, total: int, *, timeout: float, on_tick: Callable[[float, int], None] | None = None
           ) -> tuple[float, int]:
    """Wait until `total` refunds of the stage are paid; returns (seconds, paid)."""
    started = time.perf_counter()
    paid = 0
    while time.perf_counter() - started < timeout:
        paid = _paid_count(code)
        if on_tick:
            on_tick(time.perf_counter() - started, paid)
        if paid >= total:
            break
        time.sleep(0.25)
    return time.perf_counter() - started, paid


def refund_throughput(*, latency_ms: int, refunds: int, pool: str, concurrency: int, window: float,
                      progress: Progress) -> dict:
    code = f"lb-refunds{latency_ms}"
    progress(f"(b) seeding {refunds:,} refunds due; worker: --pool {pool} --concurrency {concurrency}, "
             f"gateway latency {latency_ms} ms")
    ids = seed.seed_refunds_due(code, refunds=refunds, progress=progress)
    _purge_queues()
    # As many gateway slots as the worker runs calls at once: the slots bind, not a default.
    with processes.celery_worker(f"refunds-{latency_ms}ms", queues="refunds", pool=pool, concurrency=concurrency,
                                 SANDBOX_GATEWAY_LATENCY_MS=latency_ms,
                                 REFUNDS_GATEWAY_CONCURRENCY=concurrency) as worker:
        started = time.perf_counter()
        _enqueue(ids)
        enqueued = time.perf_counter() - started

        def tick(elapsed, paid):
            worker.check_alive()

        # The rate is what was paid in the window: a slow machine need not drain everything.
        seconds, paid = _drain(code, len(ids), timeout=window, on_tick=tick)
        seconds += enqueued
    rate = paid / seconds
    progress(f"    {paid:,} of {len(ids):,} paid in {seconds:.1f} s: {rate:.0f}/s (enqueueing took {enqueued:.1f} s)")
    return {"paid": paid, "total": len(ids), "seconds": seconds, "rate": rate}


def refund_rows(*, refunds: int, slow_refunds: int, pool: str, concurrency: int, slow_concurrency: int,
                window: float, progress: Progress) -> list[Row]:
    stage = "(b) refunds via Celery + Redis"
    fast = refund_throughput(latency_ms=0, refunds=refunds, pool=pool, concurrency=concurrency, window=window,
                             progress=progress)
    slow = refund_throughput(latency_ms=200, refunds=slow_refunds, pool="threads", concurrency=slow_concurrency,
                             window=window, progress=progress)
    bound = slow_concurrency / 0.2
    return [
        Row(stage, f"gateway 0 ms, {refunds:,} refunds, 1 worker --pool {pool} -c {concurrency}",
            f"{fast['rate']:.0f} refunds/s ({fast['paid']:,} paid in {fast['seconds']:.0f} s)", "≥ 300/s",
            fast["rate"] >= 300),
        Row(stage, f"gateway 200 ms, {slow_refunds:,} refunds, {slow_concurrency} gateway slots (threads)",
            f"{slow['rate']:.0f} refunds/s = {slow['rate'] / bound:.0%} of the {bound:.0f}/s that "
            f"{slow_concurrency} slots allow", "≈ slots ÷ 0.2 s", slow["rate"] >= 0.9 * bound),
    ]


def spike(*, returns: int, pool: str, concurrency: int, lose_share: float, timeout: float,
          progress: Progress) -> list[Row]:
    """A burst of refunds at once: some messages lost, a worker killed mid-way; the sweeper must
    recover every refund and none may be paid twice."""
    from django.test import override_settings

    from refunds.tasks import sweep_stuck_refunds

    code = "lb-spike"
    stage = "(c) spike"
    progress(f"(c) seeding {returns:,} returns inspected with their refunds due")
    ids = seed.seed_refunds_due(code, refunds=returns, progress=progress)
    lost_on_purpose = ids[:: max(1, round(1 / lose_share))] if lose_share else []
    sent = sorted(set(ids) - set(lost_on_purpose))
    _purge_queues()
    # Short lease and staleness so that recovery shows within the run; the worker gets the same.
    timing = {"REFUNDS_PROCESSING_LEASE_SECONDS": 120, "REFUNDS_PENDING_STALE_SECONDS": 60}
    sweep_every = 30.0
    worker_args = {"queues": "refunds", "pool": pool, "concurrency": concurrency, **timing}
    killed_at = None
    sweeps = 0
    started = time.perf_counter()
    _enqueue(sent)
    progress(f"    {len(sent):,} enqueued in {time.perf_counter() - started:.1f} s; "
             f"{len(lost_on_purpose):,} messages dropped on purpose")
    worker_cm = processes.celery_worker("spike-1", **worker_args)
    worker = worker_cm.__enter__()
    try:
        last_sweep = time.perf_counter()
        last_report = 0.0
        while True:
            paid = _paid_count(code)
            now = time.perf_counter()
            if now - last_report > 15:
                progress(f"    {now - started:5.0f} s: {paid:,} of {len(ids):,} paid")
                last_report = now
            if paid >= len(ids) or now - started > timeout:
                break
            if killed_at is None and paid >= len(ids) * 0.3:
                progress(f"    {now - started:5.0f} s: SIGKILL the worker with tasks in flight, start another")
                worker.kill_hard()
                worker_cm.__exit__(None, None, None)
                worker_cm = processes.celery_worker("spike-2", **worker_args)
                worker = worker_cm.__enter__()
                killed_at = now - started
            if now - last_sweep >= sweep_every:
                with override_settings(REFUNDS={**settings.REFUNDS, "PENDING_STALE_SECONDS": 60}):
                    swept = sweep_stuck_refunds()
                sweeps += 1
                last_sweep = now
                progress(f"    {now - started:5.0f} s: sweeper re-drove {swept:,} refunds")
            worker.check_alive()
            time.sleep(0.5)
    finally:
        worker_cm.__exit__(None, None, None)
    seconds = time.perf_counter() - started
    refunds = Refund.objects.filter(return_request__order__channel__code=code)
    unpaid = refunds.exclude(status="completed").count()
    charges = refunds.values_list("charge_reference", flat=True)
    paid_twice = (SandboxRefund.objects.filter(charge_reference__in=charges).values("charge_reference")
                  .annotate(n=Count("id")).filter(n__gt=1).count())
    progress(f"    after {seconds:.0f} s: {unpaid} unpaid, {paid_twice} paid twice, {sweeps} sweeps")
    what = (f"{returns:,} refunds at once ({len(lost_on_purpose):,} messages lost, a worker killed at "
            f"{killed_at or 0:.0f} s)")
    if unpaid:  # not lost for sure, only not paid yet: say so rather than count them lost
        return [Row(stage, f"{what}, not drained in {seconds:.0f} s ({(len(ids) - unpaid) / seconds:.0f}/s)",
                    f"{unpaid:,} not paid yet, duplicates {paid_twice}", "0 lost, 0 duplicates", False)]
    return [Row(stage, f"{what}, drained in {seconds:.0f} s ({len(ids) / seconds:.0f}/s)",
                f"lost 0, duplicates {paid_twice}", "0 lost, 0 duplicates", paid_twice == 0)]


# --- (d) the review queue and (e) reconciliation at scale ---

def review_queue(*, runs: int, progress: Progress) -> list[Row]:
    from django.contrib.auth import get_user_model

    from returns.models import ReturnRequest

    user, _ = get_user_model().objects.get_or_create(username="lb-admin", defaults={
        "is_staff": True, "is_superuser": True, "email": "lb-admin@example.com"})
    client = Client()
    client.force_login(user)
    returns = ReturnRequest.objects.count()
    timings, queries, status = [], 0, None
    for run in range(runs + 1):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get("/admin/returns/returnrequest/", follow=True)
            took = (time.perf_counter() - started) * 1000
        status = response.status_code
        if run:  # the first is a warm-up
            timings.append(took)
        queries = len(captured.captured_queries)
    median = statistics.median(timings)
    progress(f"(d) review queue: {', '.join(f'{t:.0f}' for t in timings)} ms")
    return [Row("(d) review queue (admin changelist)",
                f"GET /admin/returns/returnrequest/ at {returns:,} returns, median of {runs}",
                f"{median:.0f} ms (max {max(timings):.0f}), {queries} queries, HTTP {status}", "< 500 ms",
                median < 500 and status == 200)]


def reconciliation(progress: Progress) -> list[Row]:
    from refunds.models import JournalLine
    from refunds.reconciliation import reconcile

    lines = JournalLine.objects.count()
    started = time.perf_counter()
    report = reconcile()
    seconds = time.perf_counter() - started
    progress(f"(e) reconcile: {report.refunds_checked:,} refunds, {lines:,} lines, {seconds:.1f} s, "
             f"{len(report.problems)} problems {report.problems[:3]}")
    return [Row("(e) reconcile", f"manage.py reconcile at {lines:,} ledger lines ({report.refunds_checked:,} refunds)",
                f"{seconds:.1f} s, {'books agree' if report.ok else f'{len(report.problems)} problems'}",
                "< 10 s", seconds < 10 and report.ok)]
