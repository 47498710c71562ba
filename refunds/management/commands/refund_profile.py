"""Where a refund's work goes: pay N refunds in this process and count what each one costs.

The refunds are written to a scratch database beside the configured one (`<name>_refund_profile`,
made and migrated as the test runner makes its database, dropped at the end unless --keep-db), so
the configured database is never touched. They are seeded set-based as the bench seeds them
(`benchmarks.seed.seed_refunds_due`: one line paid to the card through the sandbox gateway, pending,
approved in the ledger; like the bench, it needs a database role that may create databases and set
`session_replication_role`), then each goes through `process_refund`'s task body as a worker runs it.

Queries per refund are exact and do not depend on the machine; the CPU figure is this process
only (PostgreSQL's own work is not in it) and moves with the machine's load.
"""

import cProfile
import io
import pstats
import re
import time
from collections import Counter

from celery import current_app as celery_app
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext, override_settings

PROFILE_CHANNEL = "refund-profile"
# The first refunds pay for what every later one finds ready (ledger accounts, caches, imports).
WARM_UP = 2


def normalised(sql: str) -> str:
    """The statement with its literals replaced, so repeats of one statement count together."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r'SAVEPOINT "[^"]+"', "SAVEPOINT ?", sql)
    sql = re.sub(r"\b\d+(?:\.\d+)?\b", "?", sql)
    return re.sub(r"\s+", " ", sql).strip()


def kind_of(sql: str) -> str:
    return sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"


class Command(BaseCommand):
    help = "Pay N refunds in this process on a scratch database; print queries and CPU per refund."

    def add_arguments(self, parser):
        parser.add_argument("--refunds", type=int, default=50, help="refunds measured (after a warm-up of 2)")
        parser.add_argument("--top", type=int, default=10, help="repeated statements (and functions) shown")
        parser.add_argument("--statements", action="store_true",
                            help="also print every statement of the last refund, in order")
        parser.add_argument("--cprofile", action="store_true",
                            help="also print where the CPU went (cProfile, by own time); slows every call")
        parser.add_argument("--keep-db", action="store_true",
                            help="keep the scratch database for the next run (migrations are not run again)")

    def handle(self, *args, refunds: int, top: int, cprofile: bool, statements: bool, keep_db: bool,
               **options):
        if refunds < 1:
            raise CommandError("--refunds must be at least 1.")
        database = connection.settings_dict
        original_name = database["NAME"]
        database.setdefault("TEST", {})["NAME"] = f"{original_name}_refund_profile"
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=keep_db)
        try:
            with override_settings(REFUNDS={**settings.REFUNDS, "RATE_LIMIT_REDIS_URL": "",
                                            "RATE_LIMIT_PER_SECOND": 1e9, "RATE_LIMIT_BURST": 10**9,
                                            "GATEWAY_OPTIONS": {**settings.REFUNDS["GATEWAY_OPTIONS"],
                                                                "latency_ms": 0}}):
                self._profile(refunds=refunds, top=top, cprofile=cprofile, in_order=statements)
        finally:
            connection.creation.destroy_test_db(original_name, verbosity=0, keepdb=keep_db)

    def _profile(self, *, refunds: int, top: int, cprofile: bool, in_order: bool) -> None:
        from benchmarks import seed
        from refunds.models import Refund
        from refunds.tasks import process_refund

        # As in a worker, the work a refund hands on (its e-mail, webhooks) is queued, not done here: to
        # an in-process broker nobody reads, so no real worker ever sees these scratch rows.
        celery_app.conf.update(task_always_eager=False, broker_url="memory://")
        code = f"{PROFILE_CHANNEL}-{int(time.time())}"
        ids = seed.seed_refunds_due(code, refunds=refunds + WARM_UP, progress=lambda line: None)
        # The message as refunds.services queues it: the refund's id and gateway.
        gateways = dict(Refund.objects.filter(pk__in=ids).values_list("pk", "gateway"))
        for refund_id in ids[:WARM_UP]:
            process_refund.apply((refund_id,), {"gateway": gateways[refund_id]}, throw=True)
        measured = ids[WARM_UP:]
        statements: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        profiler = cProfile.Profile() if cprofile else None
        cpu, wall = time.process_time(), time.perf_counter()
        for refund_id in measured:
            reset_queries()  # the log keeps 9,000 statements: past that a capture would see none
            with CaptureQueriesContext(connection) as captured:
                if profiler:
                    profiler.enable()
                process_refund.apply((refund_id,), {"gateway": gateways[refund_id]}, throw=True)
                if profiler:
                    profiler.disable()
            for query in captured.captured_queries:
                kinds[kind_of(query["sql"])] += 1
                statements[normalised(query["sql"])] += 1
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        paid = Refund.objects.filter(pk__in=measured, status="completed").count()
        if paid != len(measured):
            raise CommandError(f"only {paid} of {len(measured)} refunds were paid: the figures would be wrong")

        n = len(measured)
        out = self.stdout.write
        out(f"{n} refunds paid (one line each, original payment, sandbox gateway at 0 ms)")
        out(f"queries per refund: {sum(kinds.values()) / n:.1f}  "
            + "  ".join(f"{kind} {count / n:.1f}" for kind, count in kinds.most_common()))
        out(f"CPU per refund (this process): {cpu / n * 1000:.1f} ms; wall clock {wall / n * 1000:.1f} ms"
            + (" (under cProfile)" if profiler else ""))
        out("statements repeated most (times per refund):")
        for sql, count in statements.most_common(top):
            out(f"  {count / n:4.1f}  {sql[:160]}")
        if in_order:
            out("statements of the last refund, in order:")
            for number, query in enumerate(captured.captured_queries, 1):
                out(f"  {number:3}  {query['sql'][:200]}")
        if profiler:
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
            out(text.getvalue())
