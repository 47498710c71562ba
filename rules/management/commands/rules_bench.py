from django.core.management.base import BaseCommand, CommandError

from rules import bench

EVALUATE_TARGET_MS = 2
BACKTEST_TARGET_SECONDS = 60


class Command(BaseCommand):
    help = ("Measure the rules engine on synthetic data (no database): evaluating a version of 200 rules for one "
            "return (median and p95 CPU time), and a backtest over 100,000 past returns decided again from their "
            "JSON facts (5,000 distinct requests repeated, each row decoded and decided afresh; CPU and wall "
            "clock: on a shared machine the wall clock counts other processes too).")

    def add_arguments(self, parser):
        parser.add_argument("--rules", type=int, default=200)
        parser.add_argument("--samples", type=int, default=2000, help="Returns evaluated one at a time.")
        parser.add_argument("--returns", type=int, default=100_000, help="Past returns in the backtest.")

    def handle(self, *args, **options):
        if min(options["rules"], options["samples"], options["returns"]) < 1:
            raise CommandError("Give at least one rule, one sample and one return.")
        results = bench.run(rules=options["rules"], samples=options["samples"], returns=options["returns"],
                            progress=self.stdout.write)
        evaluate = results.median_p95(results.evaluate_ms)
        decide = results.median_p95(results.decide_ms)
        rows = [
            (f"evaluate {results.rules} rules per return", f"median {evaluate[0]:.3f} ms, p95 {evaluate[1]:.3f} ms",
             f"< {EVALUATE_TARGET_MS} ms", evaluate[1] < EVALUATE_TARGET_MS),
            ("whole decision (rules, built-ins, money)", f"median {decide[0]:.3f} ms, p95 {decide[1]:.3f} ms",
             f"< {EVALUATE_TARGET_MS} ms", decide[1] < EVALUATE_TARGET_MS),
            (f"backtest over {results.returns:,} returns (CPU)", f"{results.backtest_cpu_seconds:.2f} s "
             f"({results.changed:,} changed)", f"< {BACKTEST_TARGET_SECONDS} s",
             results.backtest_cpu_seconds < BACKTEST_TARGET_SECONDS),
            ("  the same, wall clock", f"{results.backtest_seconds:.2f} s", f"< {BACKTEST_TARGET_SECONDS} s",
             results.backtest_seconds < BACKTEST_TARGET_SECONDS),
        ]
        self.stdout.write("")
        self.stdout.write(f"{'measure':<44} {'result':<36} {'target':<10}")
        for name, result, target, ok in rows:
            line = f"{name:<44} {result:<36} {target:<10}"
            self.stdout.write(self.style.SUCCESS(f"{line} ok") if ok else self.style.WARNING(f"{line} MISSED"))
