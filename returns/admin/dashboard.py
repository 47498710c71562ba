"""The back-office dashboard at /admin/dashboard/: the queue, the SLOs and the trends, drawn as SVG."""

from datetime import timedelta

from django.contrib import admin
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone

from returns import backoffice, reporting
from returns.admin import charts
from returns.choices import ReturnStatus

WINDOWS = (7, 30, 90)
WINDOW_CACHE_SECONDS = 60


def dashboard_view(request):
    if not request.user.has_perm("returns.view_returnrequest"):
        raise PermissionDenied
    days_back = int(request.GET.get("days", 30)) if request.GET.get("days", "30").isdigit() else 30
    days_back = days_back if days_back in WINDOWS else 30
    now = timezone.now()
    since = (now - timedelta(days=days_back - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [since.date() + timedelta(days=i) for i in range(days_back)]

    # The window's aggregates read every return of the window; a minute-old answer is fine, so
    # they are shared for a minute. The queue and failed refunds are cheap and always live.
    key = f"backoffice:dashboard:{days_back}:{since.date().isoformat()}"
    window = cache.get(key)
    if window is None:
        window = {
            "as_of": now,
            "slo": reporting.slo_summary(since=since, until=now),
            "per_day": reporting.returns_per_day(since=since, until=now),
            "by_day": {row["day"]: row for row in reporting.processing_by_day(since=since, until=now)},
            "reasons": reporting.top_reasons(since=since, until=now),
        }
        cache.set(key, window, WINDOW_CACHE_SECONDS)
    slo, per_day, by_day = window["slo"], window["per_day"], window["by_day"]
    queue = reporting.queue_health(now=now, sla=backoffice.review_sla())
    failed_count, failed = reporting.failed_refunds()
    labels = dict(ReturnStatus.choices)

    def hours(seconds):
        return None if seconds is None else seconds / 3600

    processing_chart = charts.lines_with_targets(
        days,
        {"p50": [hours(by_day.get(day, {}).get("p50_seconds")) for day in days],
         "p99": [hours(by_day.get(day, {}).get("p99_seconds")) for day in days]},
        colours={"p50": "#417690", "p99": "#e8a33d", "p50 SLO": "#417690", "p99 SLO": "#e8a33d"},
        targets={"p50 SLO": reporting.PROCESSING_P50_TARGET.total_seconds() / 3600,
                 "p99 SLO": reporting.PROCESSING_P99_TARGET.total_seconds() / 3600},
    )
    context = {
        **admin.site.each_context(request),
        "title": "Returns dashboard",
        "windows": WINDOWS,
        "days_back": days_back,
        "since": since,
        "until": window["as_of"],
        "slo": slo,
        "queue": queue,
        "failed_count": failed_count,
        "failed": failed,
        "per_day_chart": charts.stacked_bars(days, per_day, order=list(ReturnStatus.values), labels=labels),
        "reasons_chart": charts.horizontal_bars(window["reasons"]),
        "processing_chart": processing_chart,
        "approval_meter": charts.meter(slo["approval_rate"]["rate"]),
        "refund_meter": charts.meter(slo["refund_success_rate"]["rate"],
                                     target=slo["refund_success_rate"]["target"]),
        "returns_total": sum(sum(statuses.values()) for statuses in per_day.values()),
        "text": {
            "p50": reporting.duration_text(slo["processing_time"]["p50_seconds"]),
            "p99": reporting.duration_text(slo["processing_time"]["p99_seconds"]),
            "reviewed_p50": reporting.duration_text(slo["processing_time"]["reviewed_p50_seconds"]),
            "reviewed_p99": reporting.duration_text(slo["processing_time"]["reviewed_p99_seconds"]),
            "approval": reporting.percent_text(slo["approval_rate"]["rate"]),
            "reviewed_approval": reporting.percent_text(slo["approval_rate"]["reviewed_rate"]),
            "refund_success": reporting.percent_text(slo["refund_success_rate"]["rate"]),
            "queue_oldest": reporting.duration_text(queue["oldest_age_seconds"]),
            "queue_median": reporting.duration_text(queue["median_age_seconds"]),
            "sla": reporting.duration_text(queue["sla_seconds"]),
        },
    }
    return TemplateResponse(request, "admin/dashboard.html", context)
