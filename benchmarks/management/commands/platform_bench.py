import logging
import os
import platform
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from benchmarks import seed, stages
from benchmarks.environment import REDIS_FOUND

SEED_VERSION = 3
STAGES = "abcde"


class Command(BaseCommand):
    help = ("Measure the platform at scale and print one table: (a) the return-request API under load beside a bare "
            "endpoint, (b) refunds through a real Celery worker and Redis, (c) a spike of refunds with lost messages "
            "and a killed worker, (d) the admin review queue at 1,000,000 returns, (e) reconciliation at about "
            "1,000,000 ledger lines. Run with DJANGO_SETTINGS_MODULE=config.settings.bench (make bench does).")

    def add_arguments(self, parser):
        parser.add_argument("--stages", default=STAGES, help="Which of a-e to run (default all).")
        parser.add_argument("--history-orders", type=int, default=1_000_000,
                            help="Orders, each with one return, of the history (d) and (e) run against.")
        parser.add_argument("--history-customers", type=int, default=100_000)
        parser.add_argument("--reseed", action="store_true", help="Seed the history again even if it is there.")
        parser.add_argument("--web-workers", type=int, default=5, help="gunicorn sync workers for (a).")
        parser.add_argument("--clients", type=int, default=8, help="Concurrent clients of the load generator.")
        parser.add_argument("--duration", type=float, default=20.0, help="Seconds measured per endpoint in (a).")
        parser.add_argument("--warmup", type=float, default=5.0)
        parser.add_argument("--refunds", type=int, default=5000, help="Refunds paid at 0 ms gateway latency (b).")
        parser.add_argument("--slow-refunds", type=int, default=1500, help="Refunds paid at 200 ms latency (b).")
        parser.add_argument("--pool", default="prefork", help="Celery pool of the refunds worker at 0 ms latency.")
        parser.add_argument("--concurrency", type=int, default=2, help="Its processes or threads.")
        parser.add_argument("--gateway-slots", type=int, default=16,
                            help="Threads of the refunds worker at 200 ms: the gateway calls in flight at once.")
        parser.add_argument("--refund-window", type=float, default=120.0,
                            help="Seconds (b) waits at most per latency; the rate is what was paid in that time.")
        parser.add_argument("--spike", type=int, default=100_000, help="Refunds due at once in (c).")
        parser.add_argument("--spike-timeout", type=float, default=3 * 3600,
                            help="Seconds (c) waits for the spike to drain before saying it did not.")
        parser.add_argument("--review-runs", type=int, default=5)

    def handle(self, *args, **options):
        if "benchmarks" not in settings.INSTALLED_APPS:
            raise CommandError("Run with DJANGO_SETTINGS_MODULE=config.settings.bench.")
        wanted = set(options["stages"])
        for name in ("fraud", "returns", "refunds", "partners", "notifications", "audit", "celery", "kombu"):
            logging.getLogger(name).setLevel(logging.WARNING)
        progress = self.stdout.write
        load_before = os.getloadavg()
        started = time.perf_counter()

        self._fresh_database(options, progress, history=bool(wanted & set("de")))
        rows: list[stages.Row] = []
        if "d" in wanted:
            rows += stages.review_queue(runs=options["review_runs"], progress=progress)
        if "e" in wanted:
            rows += stages.reconciliation(progress)
        if "a" in wanted:
            rows += stages.api_throughput(workers=options["web_workers"], concurrency=options["clients"],
                                          duration=options["duration"], warmup=options["warmup"],
                                          expected_rate=400, progress=progress)
        redis = bool(os.environ.get(REDIS_FOUND))
        why = "no Redis answered at BENCH_REDIS_URL (redis://127.0.0.1:6379/14)"
        # The spike before (b): it drains everything it starts, while (b) may leave refunds unpaid when its
        # window closes, which the spike's sweeper would then have to get through first (oldest first).
        spike = stages.spike(returns=options["spike"], pool=options["pool"], concurrency=options["concurrency"],
                             lose_share=0.01, timeout=options["spike_timeout"], progress=progress,
                             ) if "c" in wanted and redis else []
        if "b" in wanted:
            rows += stages.refund_rows(
                refunds=options["refunds"], slow_refunds=options["slow_refunds"], pool=options["pool"],
                concurrency=options["concurrency"], slow_concurrency=options["gateway_slots"],
                window=options["refund_window"], progress=progress,
            ) if redis else [stages.skipped("(b) refunds via Celery + Redis", "refund throughput", why)]
        if "c" in wanted:
            rows += spike or [stages.skipped("(c) spike", "lost and duplicate refunds", why)]
        self._print_table(rows, load_before, time.perf_counter() - started)

    # --- the database: the history is seeded once into a template, each run starts from a copy ---

    def _fresh_database(self, options, progress, *, history: bool) -> None:
        name = connection.settings_dict["NAME"]
        if "bench" not in name:
            # The bench drops and recreates its database: never one that holds anything else.
            raise CommandError(f"The bench drops and recreates its database; {name!r} is not named for a bench. "
                               "Unset DATABASE_URL or point it at a database whose name contains 'bench'.")
        template = f"{name}_template"
        scale = seed.HistoryScale(orders=options["history_orders"], customers=options["history_customers"])
        label = f"lb-history v{SEED_VERSION} orders={scale.orders} customers={scale.customers}"
        found = self._template_label(template)
        if history and (options["reseed"] or found != label):
            progress(f"seeding the history into {name}: {scale.orders:,} orders and returns, "
                     f"{scale.customers:,} customers (once; later runs start from a copy)")
            self._admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
            call_command("migrate", verbosity=0)
            started = time.perf_counter()
            seed.seed_history(scale, progress)
            progress(f"  seeded in {time.perf_counter() - started:.0f} s")
            self._admin_sql(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)',
                            f'ALTER DATABASE "{name}" RENAME TO "{template}"',
                            f"COMMENT ON DATABASE \"{template}\" IS '{label}'")
            found = label
        if found == label:
            started = time.perf_counter()
            # A file copy is much faster than the WAL-logged default for a database this size (PostgreSQL 15+).
            strategy = " STRATEGY FILE_COPY" if connection.pg_version >= 150000 else ""
            self._admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                            f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')
            progress(f"{name}: a fresh copy of the history ({time.perf_counter() - started:.0f} s)")
        call_command("migrate", verbosity=0)

    def _admin_sql(self, *statements: str) -> None:
        import psycopg

        db = connection.settings_dict
        connection.close()
        with psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"],
                             password=db["PASSWORD"] or None, dbname="postgres", autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def _template_label(self, template: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                           [template])
            row = cursor.fetchone()
        return (row[0] or "") if row else ""

    # --- the table ---

    def _machine(self) -> str:
        memory = ""
        try:
            with open("/proc/meminfo") as meminfo:
                kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
            memory = f"{kib / 2**20:.0f} GiB RAM"
        except (OSError, StopIteration, ValueError):
            pass
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0].split()[0]
        return f"{os.cpu_count()} CPUs, {memory}, PostgreSQL {version}, Python {platform.python_version()}"

    def _print_table(self, rows, load_before, seconds) -> None:
        load_after = os.getloadavg()
        header = ("stage", "measure", "result", "target", "")
        table = [header, *((r.stage, r.measure, r.result, r.target, r.verdict) for r in rows)]
        widths = [max(len(str(line[i])) for line in table) for i in range(len(header))]

        def render(line):
            return "| " + " | ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)) + " |"

        self.stdout.write("")
        self.stdout.write(f"{self._machine()}; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
                          f"{seconds / 60:.0f} min")
        self.stdout.write(render(header))
        self.stdout.write("|" + "|".join("-" * (width + 2) for width in widths) + "|")
        for line in table[1:]:
            text = render(line)
            self.stdout.write(self.style.WARNING(text) if line[-1] == "MISSED" else text)
