from django.core.management.base import BaseCommand, CommandError

from rules import backtest, services
from rules.models import RuleSetVersion


class Command(BaseCommand):
    help = ("Decide the returns of the last N days again with a rule set version (usually a draft), from their "
            "stored facts, and print what would change: by count, by money, with examples. Writes nothing but "
            "the report on the version.")

    def create_parser(self, prog_name, subcommand, **kwargs):
        # `--version ID` names the rule set version; it replaces Django's own --version flag here.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--version", type=int, required=True, help="The version's id.")
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--no-save", action="store_true", help="Do not keep the report on the version.")

    def handle(self, *args, **options):
        version = RuleSetVersion.objects.filter(pk=options["version"]).first()
        if version is None:
            raise CommandError(f"No rule set version {options['version']}.")
        if not 1 <= options["days"] <= 3650:
            raise CommandError("--days is between 1 and 3650.")
        bar = ProgressBar(self.stdout)
        report = backtest.run(version, days=options["days"], progress=bar.update)
        bar.finish()
        data = report.as_dict()
        if not options["no_save"]:
            services.ruleset_record_backtest(version_id=version.pk, report=data)
        self.stdout.write(f"{version}: {data['returns']:,} returns of the last {data['days']} days "
                          f"in {data['seconds']:.2f} s")
        self.stdout.write(f"changed: {data['changed']:,}")
        for outcome, n in data["by_outcome"].items():
            self.stdout.write(f"  {outcome:<12} {n:>8,}")
        self.stdout.write(f"paid out + bonus credit: {data['payout_before']} → {data['payout_after']} "
                          f"(change {data['payout_change']}; {', '.join(data['currencies']) or 'no currency'})")
        self.stdout.write(f"kept by customers: {data['kept_before']} → {data['kept_after']}")
        for example in data["examples"]:
            self.stdout.write(f"  {example['rma']}: {', '.join(example['changed'])}: {example['before']} → "
                              f"{example['after']}")


class ProgressBar:
    """One line redrawn in place on a terminal; a line per step elsewhere (logs, pipes)."""

    WIDTH = 30

    def __init__(self, out):
        self.out = out
        self.tty = out.isatty()
        self.last = -1

    def update(self, done: int, total: int) -> None:
        share = done / total if total else 1
        filled = int(self.WIDTH * share)
        line = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {share:4.0%} {done:,}/{total:,}"
        if self.tty:
            self.out.write("\r" + line, ending="")
            self.out.flush()
        elif int(share * 10) != self.last:  # every tenth
            self.last = int(share * 10)
            self.out.write(line)

    def finish(self) -> None:
        if self.tty:
            self.out.write("")
