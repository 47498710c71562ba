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


def reset_broker_connections() -> None:
    """Publish through the broker now configured, never a cached (maybe closed) connection.

    kombu keeps producer pools in a process-wide registry keyed by connection, so forgetting the
    app's own pool is not enough: reset the registry too.
    """
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
