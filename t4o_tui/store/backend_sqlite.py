"""What the engine's SQL needs to know about SQLite: how a write transaction starts and locks.

SQLite has one writer at a time: BEGIN IMMEDIATE takes the database's write lock up front, which
serialises every claim across all processes, so the queue lane needs no lock of its own and rows
need no FOR UPDATE (SQLite does not accept it).
"""

from __future__ import annotations

import sqlite3
from typing import Any


class SqliteBackend:
    name = "sqlite"
    # Appended to a SELECT whose rows the transaction goes on to change.
    for_update = ""
    # Appended to the sub-select that picks direct-lane runs to claim.
    skip_locked = ""
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)

    @staticmethod
    def begin_write(conn: Any) -> None:
        conn.execute("BEGIN IMMEDIATE")

    @staticmethod
    def lock_queue_lane(conn: Any, *, wait: bool = True) -> bool:
        """Nothing to do: BEGIN IMMEDIATE already holds the only write lock."""
        return True

    @staticmethod
    def notify(conn: Any, message: str) -> None:
        """Nothing to do: SQLite has no notifications; workers poll."""


BACKEND = SqliteBackend()


def backend_of(conn: Any) -> Any:
    """The backend of an engine connection: a PostgreSQL one says so, a sqlite3 one is SQLite."""
    return getattr(conn, "backend", BACKEND)
