"""Charts drawn on the server as inline SVG: no JavaScript, no CDN, readable with styles off.

Each function takes plain numbers and returns safe markup; every label is escaped.
"""

import math
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

STATUS_COLOURS = {
    "requested": "#e8a33d", "authorized": "#5bc0de", "in_transit": "#8e7cc3", "received": "#6fa8dc",
    "inspected": "#76a5af", "refund_pending": "#e06666", "refunded": "#6aa84f", "closed": "#38761d",
    "rejected": "#a61c00", "cancelled": "#999999", "expired": "#c9c9c9",
    # Backtests: returns a draft decides as before, and differently.
    "unchanged": "#c9c9c9", "changed": "#e06666",
}
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _svg(width: int, height: int, body: list[str], label: str) -> SafeString:
    # Every piece of text in `body` was escaped when it was built.
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(label)}" {FONT}>' + "".join(body) + "</svg>")


def _y_axis(body: list[str], *, left: int, top: int, plot_h: int, width: int, top_value: float, unit: str = ""):
    for i in range(5):
        value = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        body.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        shown = f"{value:g}" if value < 10 or value == int(value) else f"{value:.0f}"
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#666">{shown}{unit}</text>')


def _label_step(days: list) -> int:
    """Label about ten days on the axis, whatever the window."""
    return max(1, math.ceil(len(days) / 10))


def _legend(body: list[str], entries: list[tuple[str, str]], *, left: int, top: int, width: int) -> None:
    """Colour keys in rows that wrap at `width`."""
    x, y = left, top
    for colour, text in entries:
        step = 24 + 6.5 * len(text)
        if x + step > width:
            x, y = left, y + 16
        body.append(f'<rect x="{x:.0f}" y="{y}" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{x + 14:.0f}" y="{y + 9}" fill="#333">{escape(text)}</text>')
        x += step


def stacked_bars(days: list[date], counts: dict[date, dict[str, int]], *, order: list[str], labels: dict[str, str],
                 width: int = 760, height: int = 260) -> SafeString:
    """One bar per day, stacked by status, with a legend."""
    left, top, bottom = 40, 10, 64
    plot_w, plot_h = width - left - 30, height - top - bottom
    top_value = _nice_max(max((sum(counts.get(day, {}).values()) for day in days), default=0))
    body: list[str] = []
    _y_axis(body, left=left, top=top, plot_h=plot_h, width=width, top_value=top_value)
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.75, 1)
    for index, day in enumerate(days):
        x = left + index * slot + (slot - bar) / 2
        y = top + plot_h
        for status in order:
            n = counts.get(day, {}).get(status, 0)
            if not n:
                continue
            h = plot_h * n / top_value
            y -= h
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                        f'fill="{STATUS_COLOURS.get(status, "#888")}"><title>{escape(day.isoformat())}: '
                        f'{n} {escape(labels.get(status, status))}</title></rect>')
        if index % _label_step(days) == 0:
            body.append(f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" fill="#666">'
                        f'{day.strftime("%d %b")}</text>')
    _legend(body, [(STATUS_COLOURS.get(status, "#888"), labels.get(status, status)) for status in order],
            left=left, top=top + plot_h + 26, width=width)
    return _svg(width, height, body, "Returns per day by status")


def horizontal_bars(items: list[tuple[str, int]], *, width: int = 420, colour: str = "#417690") -> SafeString:
    """Labelled bars, longest first, with their values."""
    row, label_w = 24, 190
    height = max(len(items), 1) * row + 10
    top_value = max((n for _, n in items), default=0) or 1
    body: list[str] = []
    for index, (label, n) in enumerate(items):
        y = 5 + index * row
        w = (width - label_w - 50) * n / top_value
        body.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" fill="#333">{escape(label)}</text>'
                    f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="15" fill="{colour}"/>'
                    f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" fill="#333">{n}</text>')
    if not items:
        body.append(f'<text x="{label_w}" y="20" fill="#666">No returns in this window.</text>')
    return _svg(width, height, body, "Top return reasons")


def lines_with_targets(days: list[date], series: dict[str, list[float | None]], *, colours: dict[str, str],
                       targets: dict[str, float], unit: str = "h", width: int = 760,
                       height: int = 240) -> SafeString:
    """One line per series over the days (gaps where a day has no value), dashed target lines."""
    left, top, bottom = 48, 10, 50
    plot_w, plot_h = width - left - 30, height - top - bottom
    values = [v for points in series.values() for v in points if v is not None]
    top_value = _nice_max(max([*values, *targets.values()], default=1) * 1.05)
    body: list[str] = []
    _y_axis(body, left=left, top=top, plot_h=plot_h, width=width, top_value=top_value, unit=unit)
    slot = plot_w / max(len(days) - 1, 1)

    def y_of(value: float) -> float:
        return top + plot_h - plot_h * value / top_value

    for name, target in targets.items():
        body.append(f'<line x1="{left}" x2="{width - 10}" y1="{y_of(target):.1f}" y2="{y_of(target):.1f}" '
                    f'stroke="{colours.get(name, "#a61c00")}" stroke-dasharray="6 4"/>'
                    f'<text x="{width - 12}" y="{y_of(target) - 4:.1f}" text-anchor="end" '
                    f'fill="{colours.get(name, "#a61c00")}">{escape(name)} {target:g}{unit}</text>')
    for name, points in series.items():
        segments, current = [], []
        for index, value in enumerate(points):
            if value is None:
                if current:
                    segments.append(current)
                current = []
                continue
            current.append((left + index * slot, y_of(value), days[index], value))
        if current:
            segments.append(current)
        for segment in segments:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in segment)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colours[name]}" stroke-width="2"/>')
            for x, y, day, value in segment:
                body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colours[name]}"><title>'
                            f'{escape(day.isoformat())} {escape(name)}: {value:.1f}{unit}</title></circle>')
    for index, day in enumerate(days):
        if index % _label_step(days) == 0:
            body.append(f'<text x="{left + index * slot:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                        f'fill="#666">{day.strftime("%d %b")}</text>')
    _legend(body, [(colours[name], name) for name in series], left=left, top=height - 22, width=width)
    return _svg(width, height, body, "Processing time per day against the SLO")


def meter(rate: float | None, *, target: float | None = None, width: int = 320, height: int = 48) -> SafeString:
    """A 0–100% bar for a rate, with the target marked."""
    body = [f'<rect x="0" y="8" width="{width}" height="16" fill="#eee" rx="3"/>']
    if rate is not None:
        good = target is None or rate >= target
        body.append(f'<rect x="0" y="8" width="{width * rate:.1f}" height="16" rx="3" '
                    f'fill="{"#6aa84f" if good else "#cc4125"}"/>')
    if target is not None:
        x = width * target
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="2" y2="30" stroke="#333" stroke-width="2"/>'
                    f'<text x="{min(x, width - 4):.1f}" y="44" text-anchor="end" fill="#333">'
                    f'target {target * 100:g}%</text>')
    return _svg(width, height, body, "rate")
