"""Where one return request's work goes: its queries (by kind, and the statements it repeats) and
its CPU time by part of the code, measured in-process through the whole Django stack.

The CPU split is statistical: a profiling timer (ITIMER_PROF, CPU time of this process) samples
the running stack every millisecond, and each sample goes to the innermost frame that is either
in one of the PARTS or the project's own code (the rest: views, services, receivers). Library
frames outside the PARTS pass it on outwards, so a log line written while scoring fraud counts
as logging, the ORM's own work as the database, and a receiver run from a model's save as the
project's code. The query count is exact and the same on every run; the milliseconds move with
the machine's load.
"""

import re
import signal
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

# Parts of the code, by where a stack frame's file lives; the first that matches a frame names it.
PARTS = (
    ("logging and tracing", ("/logging/", "/pythonjsonlogger/", "/opentelemetry/", "/core/tracing.py",
                             "/core/logcontext.py", "/core/logredact.py", "/core/audit.py", "/prometheus_client/")),
    ("database (ORM and driver)", ("/django/db/", "/psycopg/", "/psycopg_pool/")),
    ("serializers", ("/rest_framework/serializers.py", "/rest_framework/fields.py", "/rest_framework/relations.py",
                     "/api/serializers.py")),
    ("rules", ("/rules/", "/returns/policies.py")),
    ("fraud", ("/fraud/",)),
)
REST = "views, services and the rest"
PROJECT = str(settings.BASE_DIR) + "/"
_LITERAL = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")
_SAVEPOINT = re.compile(r'"s\d+_x\d+"')


def part_of(filename: str) -> str | None:
    for name, markers in PARTS:
        if any(marker in filename for marker in markers):
            return name
    if filename.startswith(PROJECT) and "/site-packages/" not in filename:
        return REST
    return None


def statement_kind(sql: str) -> str:
    words = sql.split(None, 2)
    kind = words[0].upper() if words else ""
    if kind == "RELEASE":
        return "RELEASE SAVEPOINT"
    if kind == "WITH":  # a data-modifying CTE: named by what it modifies
        found = re.search(r"\b(INSERT|UPDATE|DELETE)\b", sql, re.IGNORECASE)
        return found.group(1).upper() if found else "SELECT"
    return kind


def statement_shape(sql: str) -> str:
    """The statement with its literals taken out, so repeats of one statement count together."""
    return " ".join(_SAVEPOINT.sub('"sp"', _LITERAL.sub("?", sql)).split())


@dataclass
class Profile:
    requests: int = 0
    queries: list[int] = field(default_factory=list)  # per request measured for queries
    kinds: Counter = field(default_factory=Counter)
    shapes: Counter = field(default_factory=Counter)
    cpu_ms: list[float] = field(default_factory=list)
    samples: Counter = field(default_factory=Counter)

    def queries_per_request(self) -> float:
        return statistics.mean(self.queries) if self.queries else 0.0


class _Sampler:
    """Counts, per part of the code, the CPU-time ticks that land in it."""

    def __init__(self, samples: Counter, interval: float = 0.001):
        self.samples, self.interval = samples, interval

    def _tick(self, _signum, frame) -> None:
        while frame is not None:
            part = part_of(frame.f_code.co_filename)
            if part is not None:
                self.samples[part] += 1
                return
            frame = frame.f_back
        self.samples[REST] += 1

    def __enter__(self):
        self._previous = signal.signal(signal.SIGPROF, self._tick)
        signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)
        return self

    def __exit__(self, *exc) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, self._previous)


def profile_requests(send: Callable[[int], None], *, requests: int, query_requests: int) -> Profile:
    """`send(n)` makes the n-th request (and checks its answer). The first warms the caches; the
    next `query_requests` are counted query by query; the `requests` after them are timed."""
    result = Profile(requests=requests)
    send(0)
    for n in range(1, query_requests + 1):
        with CaptureQueriesContext(connection) as captured:
            send(n)
        result.queries.append(len(captured.captured_queries))
        for query in captured.captured_queries:
            result.kinds[statement_kind(query["sql"])] += 1
            result.shapes[statement_shape(query["sql"])] += 1
    with _Sampler(result.samples):
        for n in range(query_requests + 1, query_requests + 1 + requests):
            started = time.process_time()
            send(n)
            result.cpu_ms.append((time.process_time() - started) * 1000)
    return result


def report(result: Profile, *, width: int = 160) -> list[str]:
    counted = len(result.queries) or 1
    lines = [f"queries per request: {result.queries_per_request():.1f} "
             f"(min {min(result.queries, default=0)}, max {max(result.queries, default=0)}, "
             f"{len(result.queries)} requests)", "  by kind:"]
    lines += [f"    {kind:<18} {n / counted:5.1f}" for kind, n in result.kinds.most_common()]
    lines.append("  most repeated statements (per request):")
    for shape, n in result.shapes.most_common(8):
        if n / counted < 2:
            break
        lines.append(f"    {n / counted:4.1f} × {shape[:width]}")
    if result.cpu_ms:
        total = sum(result.samples.values()) or 1
        lines.append(f"CPU per request: median {statistics.median(result.cpu_ms):.1f} ms, "
                     f"mean {statistics.mean(result.cpu_ms):.1f} ms ({len(result.cpu_ms)} requests)")
        mean = statistics.mean(result.cpu_ms)
        for part in [name for name, _ in PARTS] + [REST]:
            share = result.samples[part] / total
            lines.append(f"  {part:<28} {share * mean:6.1f} ms  {share:5.0%}")
    return lines
