"""Numbers about returns for the dashboard and the SLOs: each a set-based aggregate over an
indexed window, percentiles computed by PostgreSQL (`percentile_cont`), never a loop over rows.

The SLOs come from the ADR: processing time (request to decision) median under 24 hours and
p99 under 7 days, approval rate (approved / (approved + rejected), no target), refund success
rate over 99%. `slo_summary` is the one place they are computed; the admin dashboard and the
`slo_report` command both read it.
"""

from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import Count, Min, Q
from django.db.models.functions import TruncDate

from returns.choices import ReturnStatus
from returns.models import ReturnLine, ReturnRequest

PROCESSING_P50_TARGET = timedelta(hours=24)
PROCESSING_P99_TARGET = timedelta(days=7)
REFUND_SUCCESS_TARGET = 0.99

# A return's decision: approved (authorised, by a person or automatically) or rejected, in a
# window on the time it was decided. Cancelled returns were never decided by us.
_DECISIONS_SQL = """
    SELECT authorized_at - requested_at AS took, review_reasons <> '[]'::jsonb AS reviewed
      FROM {table} WHERE authorized_at >= %(since)s AND authorized_at < %(until)s
    UNION ALL
    SELECT closed_at - requested_at, review_reasons <> '[]'::jsonb
      FROM {table} WHERE status = 'rejected' AND closed_at >= %(since)s AND closed_at < %(until)s
"""


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=ReturnRequest._meta.db_table), params)
        return cursor.fetchall()


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _met(value: float | None, target: float, *, below: bool) -> bool | None:
    if value is None:
        return None
    return value < target if below else value > target


def processing_times(*, since: datetime, until: datetime) -> dict:
    """Request-to-decision time of the returns decided in [since, until), all of them and those
    a person reviewed, in seconds."""
    (row,) = _rows(f"""
        WITH decisions AS ({_DECISIONS_SQL}), secs AS (SELECT extract(epoch FROM took) AS s, reviewed FROM decisions)
        SELECT count(*),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY s),
               percentile_cont(0.99) WITHIN GROUP (ORDER BY s),
               count(*) FILTER (WHERE reviewed),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY s) FILTER (WHERE reviewed),
               percentile_cont(0.99) WITHIN GROUP (ORDER BY s) FILTER (WHERE reviewed)
          FROM secs""", {"since": since, "until": until})
    count, p50, p99, reviewed, reviewed_p50, reviewed_p99 = row
    return {
        "decisions": count,
        "p50_seconds": _seconds(p50),
        "p99_seconds": _seconds(p99),
        "reviewed_decisions": reviewed,
        "reviewed_p50_seconds": _seconds(reviewed_p50),
        "reviewed_p99_seconds": _seconds(reviewed_p99),
    }


def _seconds(value) -> float | None:
    return None if value is None else round(float(value), 1)


def processing_by_day(*, since: datetime, until: datetime) -> list[dict]:
    """Per day of decision: p50 and p99 request-to-decision time, in seconds."""
    rows = _rows("""
        WITH decisions AS (
            SELECT authorized_at AS decided_at, authorized_at - requested_at AS took
              FROM {table} WHERE authorized_at >= %(since)s AND authorized_at < %(until)s
            UNION ALL
            SELECT closed_at, closed_at - requested_at
              FROM {table} WHERE status = 'rejected' AND closed_at >= %(since)s AND closed_at < %(until)s)
        SELECT (decided_at AT TIME ZONE 'UTC')::date AS day, count(*),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM took)),
               percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM took))
          FROM decisions GROUP BY 1 ORDER BY 1""", {"since": since, "until": until})
    return [{"day": day, "decisions": n, "p50_seconds": _seconds(p50), "p99_seconds": _seconds(p99)}
            for day, n, p50, p99 in rows]


def approval_rate(*, since: datetime, until: datetime) -> dict:
    """Approved / (approved + rejected) among returns decided in [since, until); also among
    those a person reviewed, where the rate says something about the reviewers."""
    (row,) = _rows("""
        WITH decisions AS (
            SELECT true AS approved, review_reasons <> '[]'::jsonb AS reviewed
              FROM {table} WHERE authorized_at >= %(since)s AND authorized_at < %(until)s
            UNION ALL
            SELECT false, review_reasons <> '[]'::jsonb
              FROM {table} WHERE status = 'rejected' AND closed_at >= %(since)s AND closed_at < %(until)s)
        SELECT count(*) FILTER (WHERE approved), count(*) FILTER (WHERE NOT approved),
               count(*) FILTER (WHERE approved AND reviewed)
          FROM decisions""", {"since": since, "until": until})
    approved, rejected, reviewed_approved = row
    return {
        "approved": approved,
        "rejected": rejected,
        "rate": _rate(approved, approved + rejected),
        "reviewed_approved": reviewed_approved,
        "reviewed_rate": _rate(reviewed_approved, reviewed_approved + rejected),
    }


def refund_outcomes(*, since: datetime, until: datetime) -> dict:
    """Of the refunds created in [since, until): paid (by any method: through the gateway, as
    store credit, or by cheque once issued) against handed to finance (retries exhausted or a
    hard decline). Refunds still under way count in neither."""
    from refunds.choices import RefundStatus
    from refunds.models import Refund
    # A fallback is paid once the store credit is issued or the cheque written (both set completed_at).
    paid = Q(status=RefundStatus.COMPLETED) | Q(status=RefundStatus.FALLBACK, completed_at__isnull=False)
    failed = Q(status=RefundStatus.FAILED, needs_attention=True)
    totals = Refund.objects.filter(created_at__gte=since, created_at__lt=until).aggregate(
        created=Count("pk"), paid=Count("pk", filter=paid), failed=Count("pk", filter=failed),
        fell_back=Count("pk", filter=Q(status=RefundStatus.FALLBACK)))
    totals["in_flight"] = totals["created"] - totals["paid"] - totals["failed"]
    totals["rate"] = _rate(totals["paid"], totals["paid"] + totals["failed"])
    return totals


def slo_summary(*, since: datetime, until: datetime) -> dict:
    """The ADR's SLOs over [since, until), as plain JSON-ready values. `*_met` is None when the
    window holds nothing to judge."""
    processing = processing_times(since=since, until=until)
    approvals = approval_rate(since=since, until=until)
    refunds = refund_outcomes(since=since, until=until)
    p50_target = PROCESSING_P50_TARGET.total_seconds()
    p99_target = PROCESSING_P99_TARGET.total_seconds()
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "processing_time": {
            **processing,
            "p50_target_seconds": p50_target,
            "p99_target_seconds": p99_target,
            "p50_met": _met(processing["p50_seconds"], p50_target, below=True),
            "p99_met": _met(processing["p99_seconds"], p99_target, below=True),
        },
        "approval_rate": approvals,
        "refund_success_rate": {
            "paid": refunds["paid"],
            "failed": refunds["failed"],
            "in_flight": refunds["in_flight"],
            "rate": refunds["rate"],
            "target": REFUND_SUCCESS_TARGET,
            "met": _met(refunds["rate"], REFUND_SUCCESS_TARGET, below=False),
        },
    }


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f}".removesuffix(".0") + " h"
    return f"{seconds / 86400:.1f}".removesuffix(".0") + " days"


def percent_text(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.2f}%"


# --- the dashboard's other reads ---

def returns_per_day(*, since: datetime, until: datetime) -> dict[date, dict[str, int]]:
    """Returns requested per day in [since, until), by their status now."""
    rows = (ReturnRequest.objects.filter(requested_at__gte=since, requested_at__lt=until)
            .annotate(day=TruncDate("requested_at")).values("day", "status").annotate(n=Count("pk"))
            .order_by("day"))
    days: dict[date, dict[str, int]] = {}
    for row in rows:
        days.setdefault(row["day"], {})[row["status"]] = row["n"]
    return days


def top_reasons(*, since: datetime, until: datetime, limit: int = 8) -> list[tuple[str, int]]:
    """The reasons customers gave most, by returned lines requested in [since, until)."""
    rows = (ReturnLine.objects.filter(return_request__requested_at__gte=since, return_request__requested_at__lt=until)
            .values("reason__label").annotate(n=Count("pk")).order_by("-n", "reason__label")[:limit])
    return [(row["reason__label"], row["n"]) for row in rows]


def queue_health(*, now: datetime, sla: timedelta) -> dict:
    """The review queue now: how many wait, for how long, how many are past the SLA."""
    waiting = ReturnRequest.objects.filter(status=ReturnStatus.REQUESTED)
    totals = waiting.aggregate(size=Count("pk"), oldest=Min("requested_at"),
                               late=Count("pk", filter=Q(requested_at__lt=now - sla)))
    (median,) = _rows("""
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM %(now)s - requested_at))
          FROM {table} WHERE status = 'requested'""", {"now": now})[0]
    return {
        "size": totals["size"],
        "late": totals["late"],
        "oldest_age_seconds": (now - totals["oldest"]).total_seconds() if totals["oldest"] else None,
        "median_age_seconds": _seconds(median),
        "sla_seconds": sla.total_seconds(),
    }


def failed_refunds(*, limit: int = 10) -> tuple[int, list]:
    """Refunds finance must act on, oldest first, and how many there are."""
    from refunds.selectors import refunds_needing_attention

    refunds = refunds_needing_attention().order_by("updated_at")
    return refunds.count(), list(refunds[:limit])
