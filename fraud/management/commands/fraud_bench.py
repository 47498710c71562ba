import logging

from django.core.management.base import BaseCommand, CommandError

from fraud import bench

REFRESH_TARGET_SECONDS = 60
SCORING_TARGET_MS = 5


class Command(BaseCommand):
    help = ("Seed a synthetic history with set-based SQL (1,000,000 orders, 100,000 customers and 200,000 returns "
            "by default) into the configured database, then print how long the risk-profile refresh and "
            "request-time scoring take, and how many queries a scoring makes.")

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=1_000_000)
        parser.add_argument("--customers", type=int, default=100_000)
        parser.add_argument("--returns", type=int, default=200_000)
        parser.add_argument("--scorings", type=int, default=1000, help="Returns to score, one at a time.")
        parser.add_argument("--reseed", action="store_true", help="Seed again even if a history of this size exists.")
        parser.add_argument("--keep", action="store_true",
                            help="Leave the generated history in the database (a later run at the same size reuses "
                                 "it); by default it is removed at the end.")

    def handle(self, *args, **options):
        scale = bench.Scale(orders=options["orders"], customers=options["customers"], returns=options["returns"])
        if min(scale.orders, scale.customers, scale.returns) < 1 or max(scale.customers, scale.returns) > scale.orders:
            raise CommandError("Give at least one of each, and no more customers or returns than orders.")
        fraud_logger = logging.getLogger("fraud")
        level = fraud_logger.level
        fraud_logger.setLevel(logging.WARNING)  # one log line per scoring would drown the figures
        try:
            results = bench.run(scale, scorings=options["scorings"], reseed=options["reseed"], keep=options["keep"],
                                progress=self.stdout.write)
        finally:
            fraud_logger.setLevel(level)

        refresh = max(results.refresh_seconds)
        queries = sorted(set(results.queries_per_scoring))
        self.stdout.write("")
        self.stdout.write(f"scale: {scale.orders:,} orders, {scale.customers:,} customers, {scale.returns:,} returns"
                          + (f" (seeded in {results.seed_seconds:.1f} s)" if results.seeded else " (reused)"))
        self.stdout.write(f"profiles: {results.profiles:,} ({results.flagged:,} flagged)")
        self.stdout.write(self._verdict(
            f"profile refresh: {' / '.join(f'{s:.2f} s' for s in results.refresh_seconds)} "
            f"(target < {REFRESH_TARGET_SECONDS} s)", refresh < REFRESH_TARGET_SECONDS))
        self.stdout.write(self._verdict(
            f"scoring per request over {len(results.scoring_ms):,}: median {results.median_ms:.2f} ms, "
            f"p95 {results.p95_ms:.2f} ms (target < {SCORING_TARGET_MS} ms)", results.p95_ms < SCORING_TARGET_MS))
        self.stdout.write(self._verdict(
            f"queries per scoring: {', '.join(map(str, queries))} (constant)", len(queries) <= 2))

    def _verdict(self, line: str, ok: bool) -> str:
        return self.style.SUCCESS(f"{line}  ok") if ok else self.style.WARNING(f"{line}  MISSED")
