"""Schema versions and their upgrade steps, as plain SQL.

The schema is kept as an ordered list of steps rather than generated from the models, so that a
database made by any older version of t4o-tui opens in a newer one: each step runs once, in its
own transaction, and the version reached is stored in the `meta` table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Step = Callable[[sqlite3.Connection], None]


class SchemaError(Exception):
    """The database's schema cannot be used by this version of the program."""


def _script(conn: sqlite3.Connection, sql: str) -> None:
    # Not executescript(): it commits first, which would break the step's transaction.
    # Steps hold no semicolons inside literals, so a plain split is safe.
    for statement in sql.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v1_core(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE task (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            job TEXT NOT NULL,
            settings TEXT NOT NULL DEFAULT '{}',
            direct INTEGER NOT NULL DEFAULT 0,
            timeout REAL,
            on_orphan TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE run (
            id INTEGER PRIMARY KEY,
            task_id INTEGER NOT NULL REFERENCES task(id) ON DELETE CASCADE,
            status TEXT NOT NULL,
            lane TEXT NOT NULL,
            trigger TEXT NOT NULL,
            settings TEXT,
            context TEXT,
            enqueued_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL,
            worker TEXT,
            lease_until REAL,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            progress REAL,
            progress_msg TEXT,
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 0
        );
        -- The claim reads only queued and running runs: partial indexes keep it fast however
        -- many finished runs the table holds.
        CREATE INDEX run_queued ON run(lane, id) WHERE status = 'queued';
        CREATE INDEX run_running ON run(lane, worker) WHERE status = 'running';
        CREATE INDEX run_task ON run(task_id, id);
        CREATE TABLE run_log (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
            ts REAL NOT NULL,
            level TEXT NOT NULL,
            message TEXT NOT NULL
        );
        CREATE INDEX run_log_run ON run_log(run_id, id);
        CREATE TABLE lease (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            acquired_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            info TEXT
        );
        """
    )


def _v2_artifacts(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE artifact (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
            task_id INTEGER NOT NULL REFERENCES task(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            name TEXT NOT NULL,
            media_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            created_at REAL NOT NULL,
            managed INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX artifact_task ON artifact(task_id, id);
        CREATE INDEX artifact_run ON artifact(run_id);
        CREATE TABLE test_mark (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL,
            created_at REAL NOT NULL
        );
        """
    )


# Append only. Never edit a step that has been released: databases in the field ran it.
STEPS: list[Step] = [_v1_core, _v2_artifacts]
LATEST = len(STEPS)


def current_version(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name='meta'"
    ).fetchone()
    if row is None:
        return 0
    got = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return int(got[0]) if got else 0


def check_version(conn: sqlite3.Connection) -> int:
    version = current_version(conn)
    if version > LATEST:
        raise SchemaError(
            f"schema version {version} is newer than this t4o-tui understands ({LATEST}); "
            "upgrade t4o-tui"
        )
    return version


def upgrade(conn: sqlite3.Connection, target: int = LATEST) -> int:
    """Run the missing steps up to `target`, each in its own transaction; return the version."""
    version = check_version(conn)
    if version == 0:
        has_tables = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        ).fetchone()[0]
        if has_tables:
            raise SchemaError("it holds tables but no t4o-tui schema version (not a t4o-tui database)")
    while version < target:
        step = STEPS[version]
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have upgraded while we waited for the lock.
            if current_version(conn) != version:
                conn.execute("ROLLBACK")
                version = check_version(conn)
                continue
            step(conn)
            conn.execute(
                "INSERT INTO meta(key, value) VALUES('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (str(version + 1),),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version += 1
    return version
