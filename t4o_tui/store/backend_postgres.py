"""PostgreSQL for the engine (issue 14): the connection, the schema, the queue lane's lock.

Needs psycopg 3 (`pip install 't4o-tui[postgres]'`). The engine writes its SQL once, with the
sqlite3 placeholders (`?` and `:name`); `PgConnection` gives it the sqlite3 calls it uses
(execute, executemany, in_transaction) over a psycopg connection and translates the placeholders.

Schema: the PostgreSQL schema is generated from the SQLite one. The migration steps are run on an
in-memory SQLite database, and its tables and indexes are translated (INTEGER → BIGINT, REAL →
DOUBLE PRECISION, TEXT → TEXT COLLATE "C" (byte order, as SQLite's), BLOB → BYTEA, an INTEGER
PRIMARY KEY → an identity column); its seed rows are copied. SQLite
triggers cannot be translated mechanically, so each has its PostgreSQL form in `TRIGGERS`: a step
that adds a trigger without one there is refused when a PostgreSQL database is created. A
PostgreSQL database is created at the latest version in one transaction. PostgreSQL databases
exist from schema version 11 (FIRST_VERSION) on; a later step upgrades them when it is declared
additive (ADDITIVE_STEPS): what the latest schema has and the database lacks is added.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import select
import sqlite3
import threading
import weakref
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import peewee

from t4o_tui.store import migrations

# psycopg 3, once a PostgreSQL database is used (`driver()`): its import is ~0.1 s, which every
# command on SQLite would pay at its start (t4o_tui/__init__ keeps Peewee from importing it too).
psycopg: Any = None
_DRIVER_LOCK = threading.Lock()


def driver() -> Any:
    """psycopg, imported on first use and handed to Peewee; SchemaError when it is not installed."""
    global psycopg
    with _DRIVER_LOCK:
        if psycopg is None:
            try:
                import psycopg as driver_module
                from psycopg.types.json import Json, Jsonb

                importlib.import_module("psycopg.rows")  # PgConnection's row factory
            except ImportError:  # the optional extra is not installed
                raise migrations.SchemaError(
                    "PostgreSQL needs psycopg 3, which is not installed: pip install 't4o-tui[postgres]'"
                ) from None
            _hand_peewee(driver_module, Json, Jsonb)
            psycopg = driver_module
    return psycopg


def _hand_peewee(driver_module: Any, json: Any, jsonb: Any) -> None:
    """Give Peewee the driver it would have found at its own import (module names its psycopg 3
    adapter reads when called, and the statuses its class reads once). A Peewee whose adapter
    differs fails the PostgreSQL tests, which run on a real server."""
    adapter = getattr(peewee, "Psycopg3Adapter", None)
    if adapter is None or getattr(peewee, "psycopg", None) is not None:  # no such adapter, or it has it
        return
    status = driver_module.pq.TransactionStatus
    for name, value in (("psycopg", driver_module), ("TransactionStatus", status), ("Json_pg3", json),
                        ("Jsonb_pg3", jsonb)):
        setattr(peewee, name, value)
    adapter.txn_idle, adapter.txn_inerror, adapter.txn_unknown = status.IDLE, status.INERROR, status.UNKNOWN


def driver_errors() -> tuple[type[BaseException], ...]:
    """psycopg's base error once the driver is in use: none of its errors can be raised before."""
    return (psycopg.Error,) if psycopg is not None else ()

URL_SCHEMES = ("postgresql://", "postgres://")

# Advisory lock keys (any 64-bit numbers, fixed forever): one per purpose, per database.
QUEUE_LANE_LOCK = 0x7434_6F51  # "t4oQ": held by the transaction that claims a queue-lane run
SCHEMA_LOCK = 0x7434_6F53  # "t4oS": held while the schema is created


def is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(URL_SCHEMES)


def redact(url: str) -> str:
    """The URL without its password, to name the database in messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresBackend:
    name = "postgresql"
    for_update = " FOR UPDATE"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        return driver_errors()

    # Writers run side by side: new ids come from the tables' sequences (next_ids).
    own_ids = False

    @staticmethod
    def begin_write(conn: Any) -> None:
        # READ COMMITTED: each statement sees what was committed before it started, so a claim
        # that waited for the lane lock then sees the previous claimer's run as running.
        conn.execute("BEGIN")

    @staticmethod
    def lock_queue_lane(conn: Any, *, wait: bool = True) -> bool:
        """Take the queue lane's lock for this transaction; False when `wait` is off and it is taken.

        Claimers of the queue lane take turns here until the holder's transaction ends: the
        NOT EXISTS (running queue-lane run) check after it cannot race another claim. A worker
        with no run to hand over need not wait: whoever holds the lock is claiming, and idle
        workers polling behind it would only slow the lane's hand-over.
        """
        if wait:
            conn.execute(f"SELECT pg_advisory_xact_lock({QUEUE_LANE_LOCK})")
            return True
        return bool(conn.execute(f"SELECT pg_try_advisory_xact_lock({QUEUE_LANE_LOCK})").fetchone()[0])


    @staticmethod
    def notify(conn: Any, message: str) -> None:
        # Delivered when (and only if) the transaction commits: a listener never hears of a run
        # that was rolled back.
        conn.execute("SELECT pg_notify(?, ?)", (QUEUE_CHANNEL, message))

    @staticmethod
    def next_ids(conn: Any, table: str, count: int) -> list[int]:
        """`count` new ids of `table` from its identity sequence, ascending.

        A transaction here does not lock out other writers (SQLite's BEGIN IMMEDIATE does), so ids
        a writer picks itself (max(id) + 1) could be taken meanwhile by an INSERT that draws from
        the sequence, and the sequence would not know of them: every id comes from the sequence.
        """
        rows = conn.execute(
            "SELECT nextval(pg_get_serial_sequence(?, 'id')) FROM generate_series(1, ?)", (table, count)
        ).fetchall()
        return sorted(int(r[0]) for r in rows)

    # SQL that SQLite and PostgreSQL spell differently, one function each (backend_sqlite has the
    # SQLite spelling); the engine writes `backend_of(conn).nocase("name")` in its SQL text.
    @staticmethod
    def nocase(expr: str) -> str:
        """`expr` compared and ordered as SQLite's NOCASE: ASCII letters folded, then byte order.

        lower() folds by the collation of what it is given: "C" folds ASCII letters only (as NOCASE),
        a language's collation would fold 'Ä' too.
        """
        return f'lower(CAST({expr} AS TEXT) COLLATE "C")'

    @staticmethod
    def group_concat(expr: str, sep: str) -> str:
        """The aggregate joining `expr` of a group's rows with `sep` (an SQL literal)."""
        return f"string_agg(({expr})::text, {sep})"

    @staticmethod
    def json_object_agg(key: str, value: str) -> str:
        """The aggregate building a JSON object text from a group's rows."""
        return f"json_object_agg({key}, {value})::text"

    @staticmethod
    def cast_int(expr: str) -> str:
        """`expr` (text) as an integer the way SQLite's CAST reads it: its leading digits, else 0
        (PostgreSQL's CAST refuses a bib like 'A12' or '')."""
        return (f"CAST(COALESCE(substring(({expr})::text FROM '^\\s*[-+]?[0-9]{{1,18}}'), "
                f"CASE WHEN ({expr}) IS NULL THEN NULL ELSE '0' END) AS BIGINT)")

    @staticmethod
    def greatest(*exprs: str) -> str:
        return f"GREATEST({', '.join(exprs)})"

    @staticmethod
    def least(*exprs: str) -> str:
        return f"LEAST({', '.join(exprs)})"


BACKEND = PostgresBackend()

# Workers LISTEN here to wake when a run is enqueued or cancelled, instead of polling.
QUEUE_CHANNEL = "t4o_queue"

# SQLSTATEs of a connection the server ended or cannot give (class 08: connection exception;
# 57P01-57P03: the server shuts down, crashed, or is still starting).
_LOST_STATES = ("08", "57P01", "57P02", "57P03")


def connection_lost(exc: BaseException | None) -> bool:
    """Whether `exc` (or what it wraps: Peewee re-raises psycopg's errors) says the connection to
    the server is gone or cannot be made (restart, network cut), as opposed to a refused statement."""
    seen = 0
    while exc is not None and seen < 5:
        if psycopg is not None and isinstance(exc, psycopg.Error):
            state = getattr(exc, "sqlstate", None)
            if state is None:
                # Raised by the client (no server answer): "server closed the connection
                # unexpectedly", "connection failed", "the connection is closed".
                return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
            return str(state).startswith(_LOST_STATES)
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


class Listener:
    """A connection of its own that LISTENs to the queue's channel (polling stays the fallback)."""

    def __init__(self, url: str) -> None:
        self.conn = driver().connect(url, autocommit=True, **connect_options(url))
        self.conn.execute(f"LISTEN {QUEUE_CHANNEL}")
        # wake() ends a wait() at once: a stopping runtime need not sit out the wait's timeout.
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._closing = threading.Lock()  # no wake() writes to a closed (maybe reused) descriptor
        self._closed = False

    def wait(self, timeout: float) -> list[str]:
        """The messages that arrive within `timeout` seconds (all pending ones once one has); none
        when woken."""
        got = [n.payload for n in self.conn.notifies(timeout=0)]  # heard while not waiting
        if got:
            return got
        ready, _, _ = select.select([self.conn.fileno(), self._wake_r], [], [], timeout)
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_r, 64)
        if self.conn.fileno() in ready:
            got = [n.payload for n in self.conn.notifies(timeout=0)]
        return got

    def wake(self) -> None:
        with self._closing, contextlib.suppress(BlockingIOError):  # full: a wake is pending already
            if not self._closed:
                os.write(self._wake_w, b"!")

    def close(self) -> None:
        with self._closing:
            if not self._closed:
                self._closed = True
                os.close(self._wake_r)
                os.close(self._wake_w)
        self.conn.close()


# -- placeholders -----------------------------------------------------------------------------------
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|::|:([A-Za-z_]\w*)|\?|%")


_INSERT = re.compile(r"^\s*INSERT\s+(OR\s+IGNORE\s+)?INTO\s+\"?(\w+)\"?", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)


def _dialect(sql: str) -> str:
    """The SQLite statements the engine writes that PostgreSQL spells otherwise, in its spelling.

    INSERT OR IGNORE (skip a row that breaks a unique constraint) is ON CONFLICT DO NOTHING.
    """
    m = _INSERT.match(sql)
    if not m or not m.group(1):
        return sql
    body = sql[: m.start(1)] + sql[m.end(1):]
    body = body.rstrip().rstrip(";")
    ret = _RETURNING.search(body)
    if ret:
        return f"{body[: ret.start()]}ON CONFLICT DO NOTHING {body[ret.start():]}"
    return f"{body} ON CONFLICT DO NOTHING"


@lru_cache(maxsize=1024)
def translate(sql: str, with_params: bool) -> str:
    """sqlite3 placeholders (`?`, `:name`) to psycopg's (`%s`, `%(name)s`), `%` escaped; SQLite's
    INSERT OR IGNORE in PostgreSQL's words (`_dialect`)."""
    sql = _dialect(sql)
    if not with_params:
        return sql

    def sub(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok == "?":
            return "%s"
        if tok == "%":
            return "%%"
        if m.group(1):
            return f"%({m.group(1)})s"
        # A literal or quoted name: psycopg reads % in it as a placeholder too.
        return tok.replace("%", "%%")

    return _TOKEN.sub(sub, sql)


@lru_cache(maxsize=1)
def _tables_with_id() -> frozenset[str]:
    """The tables whose rows have an `id` (an identity column): an INSERT into one has a lastrowid."""
    return frozenset(name for name, sql in latest_schema().tables.items() if any(c == "id" for c, _ in _columns(sql)))


@lru_cache(maxsize=1024)
def _returning_id(sql: str) -> str | None:
    """`sql` with RETURNING id when it is an INSERT into a table with ids that returns nothing."""
    m = _INSERT.match(sql)
    if not m or m.group(2).lower() not in _tables_with_id() or _RETURNING.search(sql):
        return None
    return sql.rstrip().rstrip(";") + " RETURNING id"


class _Inserted:
    """The cursor of an INSERT, with sqlite3's `lastrowid`: the id of the last row it inserted."""

    def __init__(self, cur: Any) -> None:
        self._cur = cur
        rows = cur.fetchall()
        self.lastrowid: int | None = rows[-1][0] if rows else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)


class Row(tuple):  # type: ignore[type-arg]
    """sqlite3.Row's ways on a psycopg row: by index, by column name, keys()."""

    _index: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _row_factory(cursor: Any) -> Any:
    names = [c.name for c in cursor.description or ()]
    cls = type("Row", (Row,), {"_index": {n: i for i, n in enumerate(names)}, "__slots__": ()})
    return cls


class PgConnection:
    """A psycopg connection as the engine uses an sqlite3 one (in autocommit, as Peewee keeps it).

    Besides the placeholders: an INSERT's cursor has `lastrowid`, and `row_factory = sqlite3.Row`
    gives rows that are read by column name too.
    """

    backend = BACKEND

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Any = None) -> Any:
        if params is not None and not isinstance(params, dict):
            params = tuple(params)
        returning = _returning_id(sql)
        if returning is not None:
            return _Inserted(self.raw.execute(translate(returning, params is not None), params))
        return self.raw.execute(translate(sql, params is not None), params)

    @property
    def row_factory(self) -> Any:
        return sqlite3.Row if self.raw.row_factory is _row_factory else None

    @row_factory.setter
    def row_factory(self, factory: Any) -> None:
        if factory not in (None, sqlite3.Row):
            raise ValueError("a PostgreSQL connection gives tuples or sqlite3.Row-like rows only")
        self.raw.row_factory = _row_factory if factory is sqlite3.Row else psycopg.rows.tuple_row

    def executemany(self, sql: str, seq: Any) -> Any:
        cur = self.raw.cursor()
        cur.executemany(translate(sql, True), [p if isinstance(p, dict) else tuple(p) for p in seq])
        return cur

    @property
    def in_transaction(self) -> bool:
        status = psycopg.pq.TransactionStatus
        return bool(self.raw.info.transaction_status in (status.INTRANS, status.INERROR))


_BORN_LOCK = threading.Lock()


class _TrackedConnection(PgConnection):
    """The engine's connection, which tells its database when it finds the server gone."""

    def __init__(self, raw: Any, db: PostgresEventDatabase) -> None:
        super().__init__(raw)
        self.db = db

    def execute(self, sql: str, params: Any = None) -> Any:
        try:
            return super().execute(sql, params)
        except Exception as exc:
            self.db.note_error(self.raw, exc)
            raise

    def executemany(self, sql: str, seq: Any) -> Any:
        try:
            return super().executemany(sql, seq)
        except Exception as exc:
            self.db.note_error(self.raw, exc)
            raise


@lru_cache(maxsize=1)
def _adapters() -> tuple[type, type]:
    """The dumper and loader each connection registers (classes over the driver's bases)."""
    from psycopg.adapt import Dumper, Loader

    class BoolAsInt(Dumper):  # type: ignore[misc]
        """Booleans are stored as 0/1 integers, as in SQLite, so one SQL text serves both."""

        oid = psycopg.adapters.types["int8"].oid

        def dump(self, obj: bool) -> bytes:
            return b"1" if obj else b"0"

    class NumericAsNumber(Loader):  # type: ignore[misc]
        """numeric (sum and avg of integers) as SQLite gives it: an int when whole, else a float.

        psycopg's Decimal would not mix with the floats of times and would format differently.
        """

        def load(self, data: Any) -> Any:
            text = bytes(data).decode()
            if text in ("NaN", "Infinity", "-Infinity"):
                return float(text)
            return float(text) if "." in text or "e" in text.lower() else int(text)

    return BoolAsInt, NumericAsNumber


class PostgresEventDatabase(peewee.PostgresqlDatabase):
    """Peewee on psycopg 3, whose `connection()` is the engine's (see `PgConnection`)."""

    readonly = False
    immutable = False
    url = ""
    # Peewee writes `?` too, so that its SQL and the engine's raw SQL (db.execute_sql with `?` or
    # `:name`) take one way to psycopg: `translate`.
    param = "?"

    def _execute_cursor(self, sql: str, params: Any, **cursor_options: Any) -> Any:
        # Peewee's introspection (get_tables, table_exists, ...) writes psycopg's %s itself.
        native = "%s" in sql and "?" not in sql
        try:
            return super()._execute_cursor(sql if native else translate(sql, True), params,  # type: ignore[misc]
                                           **cursor_options)
        except Exception as exc:
            self.note_error(getattr(self, "_state").conn, exc)  # noqa: B009
            raise

    def server_lost(self) -> None:
        """The server is gone (another connection found it): every connection from before is old."""
        with _BORN_LOCK:
            self._epoch += 1

    def note_error(self, conn: Any, exc: BaseException) -> None:
        """A call on `conn` failed: if the server is gone, every connection from before is old."""
        if conn is not None and connection_lost(exc):
            with _BORN_LOCK:
                if self._born().get(conn, -1) == self._epoch:
                    self._epoch += 1

    # Connections are per thread. When one thread finds its connection dropped (a server restart
    # cuts them all), the others' are just as dead but would each fail once more, later, at
    # their next call: the loss bumps `_epoch`, and a connection opened before it is replaced
    # quietly at its thread's next call, when no transaction is open on it.
    _epoch = 0

    def _connect(self) -> Any:
        try:
            conn = super()._connect()  # type: ignore[misc]
        except Exception as exc:
            if connection_lost(exc):  # the server is away: whatever was connected before is old
                with _BORN_LOCK:
                    self._epoch += 1
            raise
        self._born()[conn] = self._epoch
        dumper, loader = _adapters()
        conn.adapters.register_dumper(bool, dumper)
        conn.adapters.register_loader("numeric", loader)
        return conn

    def _forget_if_lost(self) -> None:
        # A connection the server dropped (restart, network cut) stays closed: the call that met
        # the loss raised; the next one connects afresh instead of failing the same way forever.
        # A transaction open on it is gone with it, so its bookkeeping is dropped too.
        state: Any = getattr(self, "_state")  # noqa: B009 - Peewee's per-thread connection state
        if self.is_closed() or state.conn is None:
            return
        conn = state.conn
        if conn.closed:
            with _BORN_LOCK:
                if self._born().get(conn, -1) == self._epoch:
                    self._epoch += 1  # the first to find it: the others' are older now
            with getattr(self, "_lock"):  # noqa: B009
                state.reset()
        elif self._born().get(conn, self._epoch) < self._epoch and not state.transactions and (
                conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE):
            with getattr(self, "_lock"):  # noqa: B009
                state.reset()
            with contextlib.suppress(Exception):
                conn.close()

    def _born(self) -> weakref.WeakKeyDictionary[Any, int]:
        """The epoch each open connection was made in."""
        born = self.__dict__.get("_born_in")
        if born is None:
            with _BORN_LOCK:  # two threads' first connections at once (Peewee's own lock is held)
                born = self.__dict__.setdefault("_born_in", weakref.WeakKeyDictionary())
        return born

    def connection(self) -> Any:  # type: ignore[override]
        self._forget_if_lost()
        return _TrackedConnection(super().connection(), self)

    def cursor(self, named_cursor: Any = None) -> Any:
        self._forget_if_lost()
        return super().cursor(named_cursor)


# A server that goes silent (network cut, machine off) is noticed within about 15 s, so a call
# fails and the caller reconnects instead of hanging for the operating system's TCP timeout
# (minutes). A URL may set any of these itself.
CONNECT_OPTIONS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 15000,  # ms: unacknowledged data (a query sent into a cut network)
}


def connect_options(url: str) -> dict[str, Any]:
    query = urlsplit(url).query
    return {k: v for k, v in CONNECT_OPTIONS.items() if f"{k}=" not in query}


def connect(url: str) -> PostgresEventDatabase:
    driver()
    db = PostgresEventDatabase(url, prefer_psycopg3=True, **connect_options(url))
    db.url = url
    return db


# -- schema -----------------------------------------------------------------------------------------
# PostgreSQL databases exist from this schema version on: older ones are never met.
FIRST_VERSION = 11
# Later versions whose SQLite step only adds (tables, columns, indexes, triggers, meta keys): a
# PostgreSQL database at an older version is upgraded by adding what the latest schema has and it
# lacks. A step that changes or moves data is not listed, and such a database is refused with the
# step's number until its PostgreSQL form is written here.
ADDITIVE_STEPS: set[int] = {
    12,  # result corrections: the table correction and its index
    13,  # pauses and resumes of schedules: the table schedule_event and its index
    14,  # run files kept in the database for the other machines' share servers: the table artifact_data
    15,  # larger run files kept in parts: the table artifact_chunk, the column artifact_data.chunks
    16,  # Import Entries sees other writers' changes between its steps: meta entry_rev and its triggers
}
_BUMP = "UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'schedule_rev'"
FUNCTIONS = [
    "CREATE FUNCTION t4o_schedule_rev_bump() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN {_BUMP}; RETURN NULL; END $$",
    "CREATE FUNCTION t4o_share_hits_written() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "UPDATE meta SET value = extract(epoch FROM clock_timestamp())::text WHERE key = 'share_hits_written'; "
    "RETURN NULL; END $$",
    "CREATE FUNCTION t4o_entry_rev_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'entry_rev'; RETURN NULL; END $$",
]
_EACH_BUMP = "FOR EACH ROW EXECUTE FUNCTION t4o_schedule_rev_bump()"
# Each SQLite trigger (by name, from migrations) in its PostgreSQL form.
TRIGGERS: dict[str, str] = {
    "schedule_rev_insert": f"AFTER INSERT ON schedule {_EACH_BUMP}",
    "schedule_rev_delete": f"AFTER DELETE ON schedule {_EACH_BUMP}",
    "schedule_rev_update": "AFTER UPDATE ON schedule FOR EACH ROW "
    "WHEN (NEW.updated_at IS DISTINCT FROM OLD.updated_at) EXECUTE FUNCTION t4o_schedule_rev_bump()",
    "schedule_rev_race": f"AFTER UPDATE OF first_start ON race {_EACH_BUMP}",
    "schedule_rev_race_insert": f"AFTER INSERT ON race {_EACH_BUMP}",
    "schedule_rev_race_delete": f"AFTER DELETE ON race {_EACH_BUMP}",
    "schedule_rev_class": f"AFTER UPDATE OF first_start ON class {_EACH_BUMP}",
    "share_hits_written": "AFTER UPDATE OF hits ON share FOR EACH ROW EXECUTE FUNCTION t4o_share_hits_written()",
}
# meta.entry_rev (migrations._v16_entry_rev). Here inserts bump it too: ids come from sequences and
# transactions commit out of their order, so the largest ids do not show every new row. Once a
# statement, before it: a transaction takes the row lock of entry_rev before any row of these
# tables, as Import Entries' steps do (SELECT ... FOR UPDATE), so the two never wait on each other
# in a circle.
for _table, _matched in migrations.ENTRY_REV_COLUMNS.items():
    TRIGGERS[f"entry_rev_{_table}_update"] = (
        f"BEFORE UPDATE OF {_matched} ON {_table} FOR EACH STATEMENT EXECUTE FUNCTION t4o_entry_rev_bump()")
    TRIGGERS[f"entry_rev_{_table}_delete"] = (
        f"BEFORE INSERT OR DELETE ON {_table} FOR EACH STATEMENT EXECUTE FUNCTION t4o_entry_rev_bump()")

_IDENTITY = re.compile(r"\b(\w+) INTEGER PRIMARY KEY(?=\s*[,)\n])", re.IGNORECASE)


def _translate_table(sql: str) -> str:
    sql = _IDENTITY.sub(r"\1 BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", sql)
    sql = re.sub(r"\bINTEGER\b", "BIGINT", sql, flags=re.IGNORECASE)
    # Text compares and sorts by its bytes, as SQLite's BINARY does, whatever the server's locale
    # (en_US would sort 'a' < 'Ä' < 'A-1' < 'b' < 'B'): lists come out in the same order on both.
    sql = re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', sql)
    sql = re.sub(r"\bBLOB\b", "BYTEA", sql, flags=re.IGNORECASE)
    return re.sub(r"\bREAL\b", "DOUBLE PRECISION", sql, flags=re.IGNORECASE)


@dataclass
class Schema:
    """The latest schema in PostgreSQL form, by object, in creation order."""

    tables: dict[str, str] = field(default_factory=dict)
    indexes: dict[str, str] = field(default_factory=dict)
    triggers: dict[str, str] = field(default_factory=dict)
    seeds: dict[str, list[str]] = field(default_factory=dict)  # table -> its rows (and sequence)


def latest_schema() -> Schema:
    """The SQLite schema at the latest version, translated (see the module's docstring)."""
    mem = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrations.upgrade(mem)
        objects = mem.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL "
            "AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
        ).fetchall()
        missing = [name for kind, name, _, _ in objects if kind == "trigger" and name not in TRIGGERS]
        if missing:
            raise migrations.SchemaError(
                f"no PostgreSQL form of the trigger(s) {', '.join(missing)} (t4o_tui/store/backend_postgres.py)"
            )
        schema = Schema()
        for kind, name, _, sql in objects:
            if kind == "table":
                schema.tables[name] = _translate_table(sql)
                schema.seeds[name] = _seed_rows(mem, name)
            elif kind == "index":
                schema.indexes[name] = sql
            elif kind == "trigger":
                schema.triggers[name] = f"CREATE TRIGGER {name} {TRIGGERS[name]}"
        return schema
    finally:
        mem.close()


def _seed_rows(mem: sqlite3.Connection, table: str) -> list[str]:
    cur = mem.execute(f'SELECT * FROM "{table}"')
    cols = [d[0] for d in cur.description]
    out = [f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({", ".join(_literal(v) for v in row)})'
           for row in cur.fetchall()]
    if out and "id" in cols:
        # Rows added later number on after the seeded ids.
        out.append(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                   f'COALESCE((SELECT max(id) FROM "{table}"), 0) + 1, false)')
    return out


def schema_statements() -> list[str]:
    """The DDL and seed rows of a PostgreSQL database at the latest schema version."""
    schema = latest_schema()
    out = [*schema.tables.values(), *schema.indexes.values(), *FUNCTIONS, *schema.triggers.values()]
    for rows in schema.seeds.values():
        out += rows
    return out


def _columns(create_table: str) -> list[tuple[str, str]]:
    """(name, definition) of each column of a CREATE TABLE statement, table constraints left out."""
    body = re.sub(r"--[^\n]*", "", create_table[create_table.index("(") + 1 : create_table.rindex(")")])
    items, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            items.append(body[start:i])
            start = i + 1
    items.append(body[start:])
    out = []
    for item in (x.strip() for x in items):
        word = re.match(r'"?(\w+)', item)
        first = word.group(1) if word else ""
        if first and first.upper() not in ("UNIQUE", "PRIMARY", "FOREIGN", "CHECK", "CONSTRAINT"):
            out.append((first, item))
    return out


def _add_missing(conn: PgConnection) -> None:
    """Bring a database at an older version whose later steps are all additive to the latest."""
    schema = latest_schema()
    tables = {r[0] for r in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()").fetchall()}
    created = []
    for name, sql in schema.tables.items():
        if name not in tables:
            conn.execute(sql)
            created.append(name)
            continue
        have = {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ?", (name,)).fetchall()}
        for column, definition in _columns(sql):
            if column not in have:
                conn.execute(f'ALTER TABLE "{name}" ADD COLUMN {definition}')
    indexes = {r[0] for r in conn.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()").fetchall()}
    for name, sql in schema.indexes.items():
        if name not in indexes:
            conn.execute(sql)
    for sql in FUNCTIONS:
        conn.execute(sql.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    triggers = {r[0] for r in conn.execute(
        "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND n.nspname = current_schema()"
    ).fetchall()}
    for name, sql in schema.triggers.items():
        if name not in triggers:
            conn.execute(sql)
    # Seed rows of new tables; new meta keys (never an admin's rows deleted since: not re-added).
    for name in created:
        for sql in schema.seeds[name]:
            conn.execute(sql)
    for sql in schema.seeds.get("meta", []):
        conn.execute(sql + " ON CONFLICT (key) DO NOTHING")
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(migrations.LATEST),))


def _literal(v: object) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, int | float):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def current_version(conn: PgConnection) -> int:
    if conn.execute("SELECT to_regclass('meta')").fetchone()[0] is None:
        return 0
    got = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return int(got[0]) if got else 0


def upgrade(conn: PgConnection) -> int:
    """Create the schema in an empty database; check the version of an existing one."""
    version = _checked_version(conn)
    if version == migrations.LATEST:
        return version
    conn.execute("BEGIN")
    try:
        conn.execute(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK})")
        # Another process may have created it while we waited for the lock.
        version = _checked_version(conn)
        if version == 0:
            for statement in schema_statements():
                conn.execute(statement)
        elif version < migrations.LATEST:
            steps = range(version + 1, migrations.LATEST + 1)
            unsure = [v for v in steps if v not in ADDITIVE_STEPS]
            if version < FIRST_VERSION or unsure:
                raise migrations.SchemaError(
                    f"its schema is version {version}, older than this t4o-tui's ({migrations.LATEST}), and "
                    f"step {unsure[0] if unsure else version + 1} has no PostgreSQL upgrade yet "
                    "(t4o_tui/store/backend_postgres.py: ADDITIVE_STEPS)"
                )
            _add_missing(conn)
        conn.execute("COMMIT")
    except BaseException:
        rollback = getattr(conn, "in_transaction", False)
        if rollback:
            conn.execute("ROLLBACK")
        raise
    return migrations.LATEST


def _checked_version(conn: PgConnection) -> int:
    version = current_version(conn)
    if version > migrations.LATEST:
        raise migrations.SchemaError(
            f"schema version {version} is newer than this t4o-tui understands ({migrations.LATEST}); upgrade t4o-tui"
        )
    if version == 0:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchone()[0]
        if tables:
            raise migrations.SchemaError("it holds tables but no t4o-tui schema version (not a t4o-tui database)")
    return version
