from contextlib import contextmanager

from config.celery_app import app


@contextmanager
def queued_not_run():
    """Tasks go to an in-memory queue nobody consumes, as if every worker were busy."""
    app.conf.task_always_eager = False
    try:
        yield
    finally:
        app.conf.task_always_eager = True
