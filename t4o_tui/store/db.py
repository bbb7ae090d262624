"""Opening the event database: SQLite in WAL mode, busy timeout, foreign keys, schema upgrades."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import peewee

from t4o_tui.store import backend_postgres, migrations
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

    path: Path  # the file (`database` is a URI when opened read-only)
    readonly = False  # opened read-only: the database cannot be written here
    immutable = False  # read-only and in use by nobody: read as a snapshot that does not change

    def begin(self, lock_type: str | None = None) -> None:  # type: ignore[override]
        # Every write transaction takes the write lock up front (BEGIN IMMEDIATE): a deferred
        # transaction that reads and later writes fails at once with SQLITE_BUSY in WAL mode
        # when another process committed in between, instead of waiting.
        super().begin(lock_type or "IMMEDIATE")

    def rollback(self) -> None:
        # On SQLITE_FULL or an I/O error SQLite may already have rolled the transaction back; a
        # ROLLBACK would then fail with "no transaction is active" and hide the real cause.
        if not self.is_closed() and not self.connection().in_transaction:
            return
        super().rollback()

    def savepoint(self) -> peewee._savepoint:  # type: ignore[override]
        return _Savepoint(self)


class _Savepoint(peewee._savepoint):
    """A nested atomic block whose rollback does not hide why the transaction failed."""

    def rollback(self, begin: bool = True) -> None:
        if not self.db.is_closed() and not self.db.connection().in_transaction:
            # The whole transaction is gone (SQLITE_FULL, I/O error), and its savepoint with it.
            if begin:
                self.db.execute_sql(f"SAVEPOINT {self.quoted_sid};")
            return
        super().rollback(begin)


def _read_only_fs(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _check_path(path: Path, *, write: bool = True) -> None:
    folder = path.parent
    if not folder.exists():
        raise DatabaseError(f"cannot open database {path}: folder {folder} does not exist")
    if not folder.is_dir():
        raise DatabaseError(f"cannot open database {path}: {folder} is not a folder")
    if path.exists():
        if path.is_dir():
            raise DatabaseError(f"cannot open database {path}: it is a folder")
        if not os.access(path, os.R_OK):
            raise DatabaseError(f"cannot open database {path}: no permission to read it")
        if write and not os.access(path, os.W_OK):
            if _read_only_fs(folder):
                raise DatabaseError(f"cannot open database {path}: it is on a read-only file system (this command writes)")
            raise DatabaseError(f"cannot open database {path}: no permission to read and write it")
        with open(path, "rb") as fh:
            head = fh.read(16)
        if head and head != b"SQLite format 3\x00":
            raise DatabaseError(f"cannot open database {path}: not an SQLite database (corrupt or another kind of file)")
    if write and not os.access(folder, os.W_OK):
        # WAL mode needs the -wal and -shm files beside the database.
        raise DatabaseError(f"cannot open database {path}: folder {folder} is not writable")


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def open_database(path: str | os.PathLike[str], *, upgrade: bool = True, readonly: bool = False) -> EventDatabase:
    """Open (creating if needed) the database at `path`, upgrade its schema, bind the models.

    `readonly`: the caller only reads. A database that cannot be written here (read-only file,
    folder or file system) is then opened read-only instead of refused; one that can be written
    is opened as usual (so an older schema is still upgraded).
    A `postgresql://` URL opens PostgreSQL instead (see backend_postgres).
    """
    if backend_postgres.is_url(path):
        return _connect_postgres(str(path))  # type: ignore[return-value]
    p = Path(path).expanduser().resolve()
    if readonly and p.is_file() and not _writable(p):
        _check_path(p, write=False)
        return _connect(p, _read_only_uri(p), upgrade=False)
    _check_path(p)
    return _connect(p, str(p), upgrade=upgrade)


def _read_only_uri(p: Path) -> str:
    """The URI that reads a WAL database which cannot be written here, the ways SQLite allows.

    While a process has the database open, its -wal and -shm files exist: a read-only connection
    shares that index and sees every commit (mode=ro). When none exist, SQLite could read only by
    creating a -shm, which it cannot in a read-only folder, and which it would leave read-only
    beside a read-only file, where it later stops every writer ("attempt to write a readonly
    database"). Nobody has the database open then, so it is read as immutable: a snapshot, in
    which a writer that starts meanwhile (with rights this user lacks) is not seen.
    """
    live = Path(f"{p}-wal").exists() and Path(f"{p}-shm").exists()
    return f"{p.as_uri()}?mode=ro" + ("" if live else "&immutable=1")


def _connect(p: Path, name: str, *, upgrade: bool) -> EventDatabase:
    readonly = name != str(p)
    if readonly:
        # journal_mode is the database's own (WAL); asking for it again would need to write.
        pragmas = {k: v for k, v in PRAGMAS.items() if k != "journal_mode"}
        db = EventDatabase(name, pragmas=pragmas, timeout=BUSY_TIMEOUT_S, check_same_thread=False, uri=True)
    else:
        db = EventDatabase(name, pragmas=PRAGMAS, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    db.path = p
    db.readonly = readonly
    db.immutable = readonly and "immutable=1" in name
    try:
        db.connect(reuse_if_open=True)
        conn = db.connection()
        if upgrade:
            migrations.upgrade(conn)
        else:
            version = migrations.check_version(conn)
            if readonly and version < migrations.LATEST:
                raise migrations.SchemaError(
                    f"its schema (version {version}) is older than this t4o-tui's ({migrations.LATEST}) and cannot "
                    "be upgraded where the database is read-only; open it once where it can be written"
                )
    except migrations.SchemaError as exc:
        db.close()
        raise DatabaseError(f"cannot open database {p}: {exc}") from None
    except (sqlite3.DatabaseError, peewee.DatabaseError) as exc:
        db.close()
        raise DatabaseError(f"cannot open database {p}: {exc}") from None
    database_proxy.initialize(db)
    db.bind(ALL_MODELS, bind_refs=False, bind_backrefs=False)
    return db


def _connect_postgres(url: str) -> peewee.Database:
    name = backend_postgres.redact(url)
    try:
        driver = backend_postgres.driver()
    except migrations.SchemaError as exc:  # psycopg is not installed
        raise DatabaseError(f"cannot open database {name}: {exc}") from None
    db: peewee.Database | None = None
    try:
        db = backend_postgres.connect(url)
        db.connect(reuse_if_open=True)
        backend_postgres.upgrade(db.connection())
    except migrations.SchemaError as exc:
        if db is not None:
            db.close()
        raise DatabaseError(f"cannot open database {name}: {exc}") from None
    except (peewee.DatabaseError, driver.Error) as exc:
        if db is not None:
            db.close()
        # psycopg's messages may run over several lines (DETAIL, HINT): the first says what.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseError(f"cannot open database {name}: {first}") from None
    database_proxy.initialize(db)
    db.bind(ALL_MODELS, bind_refs=False, bind_backrefs=False)
    return db


def is_postgres(db: peewee.Database) -> bool:
    return isinstance(db, backend_postgres.PostgresEventDatabase)


def database_path(db: peewee.Database) -> Path:
    return Path(getattr(db, "path", None) or str(db.database))
