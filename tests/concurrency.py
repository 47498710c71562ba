"""Run the same call from many real threads at the same instant, each on its own connection."""

import threading

from django.db import connection


def run_at_once(count: int, call) -> list:
    """Returns each thread's result or the exception it raised."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = call(index)
        except BaseException as exc:  # the caller inspects what each thread got
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
