"""t4o-tui: tasks, queue, schedules and share links for an orienteering timing server."""

import sys

__version__ = "0.1.0"


def _import_peewee_without_psycopg() -> None:
    """Import Peewee without the PostgreSQL driver.

    Where psycopg is installed, Peewee imports it at its own import: ~0.1 s of each command's
    start (about half of `t4o-tui tasks`), on SQLite too. It is imported when a PostgreSQL
    database is first used instead (store/backend_postgres.driver, which hands it to Peewee).
    """
    if "peewee" in sys.modules or "psycopg" in sys.modules:
        return
    sys.modules["psycopg"] = None  # type: ignore[assignment]  # `import psycopg` raises ImportError
    try:
        import peewee  # noqa: F401
    except ImportError:
        pass  # not installed: what imports it says so
    finally:
        del sys.modules["psycopg"]


_import_peewee_without_psycopg()
