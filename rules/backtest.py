"""What a draft would have done to past returns, decided again from their stored facts.

Each return is decided by `rules.decisions.decide` with the draft, exactly as a new request is
decided once the draft is published, and compared with what was decided then. Nothing is read
but the stored facts and decisions; nothing is written but the report on the draft.
"""

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from rules import decisions, engine

EXAMPLES = 10


@dataclass
class Report:
    version: int | None
    days: int
    returns: int = 0
    changed: int = 0
    by_outcome: Counter = field(default_factory=Counter)
    payout_before: Decimal = Decimal(0)
    payout_after: Decimal = Decimal(0)
    kept_before: Decimal = Decimal(0)
    kept_after: Decimal = Decimal(0)
    per_day: dict = field(default_factory=dict)  # date → (returns, changed)
    examples: list = field(default_factory=list)
    currencies: set = field(default_factory=set)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {
            "version": self.version, "days": self.days, "returns": self.returns, "changed": self.changed,
            "by_outcome": dict(sorted(self.by_outcome.items())),
            "payout_before": str(self.payout_before), "payout_after": str(self.payout_after),
            "payout_change": str(self.payout_after - self.payout_before),
            "kept_before": str(self.kept_before), "kept_after": str(self.kept_after),
            "currencies": sorted(self.currencies),
            "per_day": [[day.isoformat(), n, changed] for day, (n, changed) in sorted(self.per_day.items())],
            "examples": self.examples, "seconds": round(self.seconds, 3),
        }


def compare(version: engine.CompiledVersion, rows: Iterable, *, days: int, total: int = 0,
            progress: Callable[[int, int], None] | None = None) -> Report:
    """`rows` are (id, rma, version id, facts, decision) of stored returns."""
    report = Report(version=version.id, days=days)
    started = time.perf_counter()
    for done, (_pk, rma, _version_id, facts, before) in enumerate(rows, start=1):
        after = decisions.decide(version, facts, previous=before)
        old, new = decisions.summary(before), decisions.summary(after)
        money_before, money_after = before.get("money") or {}, after["money"]
        report.returns += 1
        report.currencies.add(money_after["currency"])
        report.payout_before += _payout(money_before)
        report.payout_after += _payout(money_after)
        report.kept_before += Decimal(money_before.get("kept") or 0)
        report.kept_after += Decimal(money_after["kept"])
        day = datetime.fromisoformat(facts["request"]["now"]).date()
        n, changed = report.per_day.get(day, (0, 0))
        differs = [key for key in new if new[key] != old.get(key)]
        report.per_day[day] = (n + 1, changed + bool(differs))
        if differs:
            report.changed += 1
            report.by_outcome.update(differs)
            if len(report.examples) < EXAMPLES:
                report.examples.append({
                    "rma": rma, "changed": differs,
                    "before": {key: old.get(key) for key in differs}, "after": {key: new[key] for key in differs},
                    "payout_before": str(_payout(money_before)), "payout_after": str(_payout(money_after)),
                    "trace": [entry["text"] for entry in after["trace"] + after["builtin"]],
                })
        if progress is not None and (done % 1000 == 0 or done == total):
            progress(done, total)
    report.seconds = time.perf_counter() - started
    return report


def _payout(money: dict) -> Decimal:
    """What the return costs the merchant in money: paid out plus bonus credit."""
    return Decimal(money.get("net") or 0) + Decimal(money.get("bonus") or 0)


def run(version, *, days: int, progress: Callable[[int, int], None] | None = None, now=None) -> Report:
    """Backtest `version` (a draft, usually) on the returns of the last `days` days."""
    from rules import selectors

    total = selectors.backtest_count(days=days, now=now)
    return compare(selectors.compiled(version), selectors.backtest_returns(days=days, now=now), days=days,
                   total=total, progress=progress)


def chart_days(report: dict) -> tuple[list[date], dict[date, dict[str, int]]]:
    """The report's days as `returns.admin.charts.stacked_bars` wants them: unchanged and changed."""
    days, counts = [], {}
    for day, n, changed in report.get("per_day") or ():
        day = date.fromisoformat(day)
        days.append(day)
        counts[day] = {"unchanged": n - changed, "changed": changed}
    return days, counts
