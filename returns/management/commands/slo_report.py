"""Print the SLOs (processing time p50/p99, approval rate, refund success rate) for a window."""

import json
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from returns.reporting import duration_text, percent_text, slo_summary


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "no data"}[met]


class Command(BaseCommand):
    help = "Print the returns SLOs over a window (default: the last 30 days)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="Window length ending now (default 30).")
        parser.add_argument("--since", help="Window start, ISO 8601 (overrides --days).")
        parser.add_argument("--until", help="Window end, ISO 8601 (default now).")
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")
        parser.add_argument("--fail-on-miss", action="store_true",
                            help="Exit with status 1 when an SLO is missed (for alerting from cron).")

    def handle(self, *args, **options):
        until = _parse(options["until"]) or timezone.now()
        since = _parse(options["since"]) or until - timedelta(days=options["days"])
        summary = slo_summary(since=since, until=until)
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
        else:
            self._print(summary)
        processing, refunds = summary["processing_time"], summary["refund_success_rate"]
        missed = False in (processing["p50_met"], processing["p99_met"], refunds["met"])
        if missed and options["fail_on_miss"]:
            raise SystemExit(1)

    def _print(self, summary: dict) -> None:
        processing = summary["processing_time"]
        approvals = summary["approval_rate"]
        refunds = summary["refund_success_rate"]
        self.stdout.write(f"Returns SLOs from {summary['since']} to {summary['until']}")
        self.stdout.write(
            f"  Processing time, request to decision ({processing['decisions']} decisions):\n"
            f"    median {duration_text(processing['p50_seconds'])} "
            f"(target < {duration_text(processing['p50_target_seconds'])}: {_verdict(processing['p50_met'])})\n"
            f"    p99    {duration_text(processing['p99_seconds'])} "
            f"(target < {duration_text(processing['p99_target_seconds'])}: {_verdict(processing['p99_met'])})\n"
            f"    reviewed by a person ({processing['reviewed_decisions']}): median "
            f"{duration_text(processing['reviewed_p50_seconds'])}, "
            f"p99 {duration_text(processing['reviewed_p99_seconds'])}")
        self.stdout.write(
            f"  Approval rate: {percent_text(approvals['rate'])} ({approvals['approved']} approved, "
            f"{approvals['rejected']} rejected); of reviewed returns {percent_text(approvals['reviewed_rate'])}")
        self.stdout.write(
            f"  Refund success rate: {percent_text(refunds['rate'])} ({refunds['paid']} paid, "
            f"{refunds['failed']} handed to finance, {refunds['in_flight']} under way; "
            f"target > {percent_text(refunds['target'])}: "
            f"{_verdict(refunds['met'])})")


def _parse(value: str | None):
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise SystemExit(f"Not an ISO 8601 date-time: {value}")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
