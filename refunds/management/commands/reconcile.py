from django.core.management.base import BaseCommand, CommandError

from refunds.reconciliation import reconcile


class Command(BaseCommand):
    help = "Prove that every refund's ledger entries match its state and the trial balance is zero."

    def handle(self, *args, **options):
        report = reconcile()
        for currency, total in sorted(report.trial_balance.items()):
            self.stdout.write(f"trial balance {currency}: {total}")
        self.stdout.write(f"refunds checked: {report.refunds_checked}")
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(f"MISMATCH {problem}")
            raise CommandError(f"reconciliation failed: {len(report.problems)} problem(s)")
        self.stdout.write(self.style.SUCCESS("ledger reconciles"))
