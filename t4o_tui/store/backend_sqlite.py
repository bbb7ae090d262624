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
    # A write transaction may number new rows itself (max(id) + 1, ...): it holds the only write
    # lock, so nobody takes those ids meanwhile.
    own_ids = True

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

    # SQL that SQLite and PostgreSQL spell differently, one function each (backend_postgres has the
    # PostgreSQL spelling); the engine writes `backend_of(conn).nocase("name")` in its SQL text.
    @staticmethod
    def nocase(expr: str) -> str:
        """`expr` compared and ordered with ASCII letters folded."""
        return f"{expr} COLLATE NOCASE"

    @staticmethod
    def group_concat(expr: str, sep: str) -> str:
        """The aggregate joining `expr` of a group's rows with `sep` (an SQL literal)."""
        return f"group_concat({expr}, {sep})"

    @staticmethod
    def json_object_agg(key: str, value: str) -> str:
        """The aggregate building a JSON object text from a group's rows."""
        return f"json_group_object({key}, {value})"

    @staticmethod
    def cast_int(expr: str) -> str:
        """`expr` (text) as an integer the way SQLite's CAST reads it: its leading digits, else 0."""
        return f"CAST({expr} AS INTEGER)"

    @staticmethod
    def greatest(*exprs: str) -> str:
        return f"MAX({', '.join(exprs)})"

    @staticmethod
    def least(*exprs: str) -> str:
        return f"MIN({', '.join(exprs)})"


BACKEND = SqliteBackend()


def backend_of(conn: Any) -> Any:
    """The backend of an engine connection: a PostgreSQL one says so, a sqlite3 one is SQLite."""
    if type(conn) is sqlite3.Connection:  # the common case, without getattr's failed look-up
        return BACKEND
    return getattr(conn, "backend", BACKEND)
