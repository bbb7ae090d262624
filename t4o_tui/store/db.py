"""Opening the event database: SQLite in WAL mode, busy timeout, foreign keys, schema upgrades."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import peewee

from t4o_tui.store import migrations
from t4o_tui.store.models import ALL_MODELS, database_proxy

# Writers wait this long for the write lock. Generous, because a job may hold it for a few
# seconds while it commits a large import; the queue must wait, not fail.
BUSY_TIMEOUT_S = 60.0

PRAGMAS = {
    "journal_mode": "wal",
    # NORMAL in WAL mode: a crash of the program never loses a commit; a power cut may lose the
    # last few, never corrupts. The trade timing servers on laptops want.
    "synchronous": "normal",
    "foreign_keys": 1,
    "busy_timeout": int(BUSY_TIMEOUT_S * 1000),
    "cache_size": -16000,
}


class DatabaseError(Exception):
    """The database cannot be opened or used; the message is one line for the admin."""


class EventDatabase(peewee.SqliteDatabase):
    """Peewee's SQLite database with one connection per thread, set up the way the engine needs."""

    def begin(self, lock_type: str | None = None) -> None:  # type: ignore[override]
        # Every write transaction takes the write lock up front (BEGIN IMMEDIATE): a deferred
        # transaction that reads and later writes fails at once with SQLITE_BUSY in WAL mode
        # when another process committed in between, instead of waiting.
        super().begin(lock_type or "IMMEDIATE")


def _check_path(path: Path) -> None:
    folder = path.parent
    if not folder.exists():
        raise DatabaseError(f"cannot open database {path}: folder {folder} does not exist")
    if not folder.is_dir():
        raise DatabaseError(f"cannot open database {path}: {folder} is not a folder")
    if path.exists():
        if path.is_dir():
            raise DatabaseError(f"cannot open database {path}: it is a folder")
        if not os.access(path, os.R_OK | os.W_OK):
            raise DatabaseError(f"cannot open database {path}: no permission to read and write it")
        with open(path, "rb") as fh:
            head = fh.read(16)
        if head and head != b"SQLite format 3\x00":
            raise DatabaseError(f"cannot open database {path}: not an SQLite database (corrupt or another kind of file)")
    if not os.access(folder, os.W_OK):
        # WAL mode needs the -wal and -shm files beside the database.
        raise DatabaseError(f"cannot open database {path}: folder {folder} is not writable")


def open_database(path: str | os.PathLike[str], *, upgrade: bool = True) -> EventDatabase:
    """Open (creating if needed) the database at `path`, upgrade its schema, bind the models."""
    p = Path(path).expanduser().resolve()
    _check_path(p)
    db = EventDatabase(str(p), pragmas=PRAGMAS, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    try:
        db.connect(reuse_if_open=True)
        conn = db.connection()
        if upgrade:
            migrations.upgrade(conn)
        else:
            migrations.check_version(conn)
    except migrations.SchemaError as exc:
        db.close()
        raise DatabaseError(f"cannot open database {p}: {exc}") from None
    except (sqlite3.DatabaseError, peewee.DatabaseError) as exc:
        db.close()
        raise DatabaseError(f"cannot open database {p}: {exc}") from None
    database_proxy.initialize(db)
    db.bind(ALL_MODELS, bind_refs=False, bind_backrefs=False)
    return db


def database_path(db: peewee.Database) -> Path:
    return Path(str(db.database))
