"""A closed-loop HTTP load generator: `concurrency` threads, each POSTing its next request as soon as
the last one answered, for `duration` seconds after a warm-up. Run as its own process so that its
CPU never shares a GIL with what it measures:

    python -m benchmarks.load --url http://127.0.0.1:8001/api/v1/returns --requests requests.json \
        --concurrency 8 --duration 20 --warmup 5

`requests.json` is a list of [authorization header, JSON body]; each is sent once. Prints one JSON
object: requests, errors (by status), throughput (answers with a 2xx per second of the measured
window) and latency percentiles in milliseconds. Only loopback URLs are accepted.
"""

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
from urllib.parse import urlsplit

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(url: str, requests: list, *, concurrency: int, duration: float, warmup: float) -> dict:
    parts = urlsplit(url)
    if parts.hostname not in LOOPBACK:
        raise SystemExit(f"refusing to send load to {parts.hostname}: loopback only")
    pending = iter(requests)
    take = threading.Lock()
    started = time.perf_counter()
    measure_from, measure_to = started + warmup, started + warmup + duration
    samples: list[list[tuple[float, float, int]]] = [[] for _ in range(concurrency)]

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        own = samples[index]
        while time.perf_counter() < measure_to:
            with take:
                item = next(pending, None)
            if item is None:
                return
            authorization, body = item
            sent = time.perf_counter()
            try:
                conn.request("POST", parts.path, body=json.dumps(body),
                             headers={"Authorization": authorization, "Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                code = response.status
                if response.getheader("connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                conn.close()
                code = 0
            own.append((sent, time.perf_counter(), code))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    finished = max((end for own in samples for _, end, _ in own), default=measure_to)
    window = max(1e-9, min(measure_to, finished) - measure_from)
    measured = [(end - sent, code) for own in samples for sent, end, code in own if measure_from <= sent < measure_to]
    ok = [latency * 1000 for latency, code in measured if 200 <= code < 300]
    errors: dict[str, int] = {}
    for _, code in measured:
        if not 200 <= code < 300:
            errors[str(code)] = errors.get(str(code), 0) + 1
    return {
        "requests": len(measured), "ok": len(ok), "errors": errors, "window_seconds": round(window, 2),
        "throughput": len(ok) / window, "p50_ms": percentile(ok, 0.50), "p99_ms": percentile(ok, 0.99),
        "mean_ms": statistics.fmean(ok) if ok else float("nan"),
        "ran_out": next(pending, None) is None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--requests", required=True, help="JSON file: a list of [authorization, body]")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=5)
    args = parser.parse_args()
    with open(args.requests) as source:
        requests = json.load(source)
    result = run(args.url, requests, concurrency=args.concurrency, duration=args.duration, warmup=args.warmup)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
