"""Background upkeep: retention of finished runs (with their logs and files)."""

from __future__ import annotations

import logging
from pathlib import Path

import peewee

from t4o_tui.engine.queue import write_tx

log = logging.getLogger("t4o_tui.engine")

# Deleting in small batches keeps each write transaction short, so the queue never waits long.
BATCH = 500

LATEST_FILE_RUN_SQL = (
    "SELECT a.run_id FROM artifact a JOIN run r ON r.id = a.run_id "
    "WHERE a.task_id = ? AND r.status = 'succeeded' ORDER BY a.id DESC LIMIT 1"
)


def prune(db: peewee.Database, *, keep: int) -> int:
    """Delete finished runs beyond the newest `keep` of each task; never the task's latest file."""
    conn = db.connection()
    removed = 0
    tasks = [r[0] for r in conn.execute("SELECT id FROM task").fetchall()]
    for task_id in tasks:
        latest = conn.execute(LATEST_FILE_RUN_SQL, (task_id,)).fetchone()
        latest_run = latest[0] if latest else -1
        old = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM run WHERE task_id = ? AND status IN ('succeeded', 'failed', 'cancelled') "
                # LIMIT -1 (SQLite) and LIMIT ALL (PostgreSQL) differ; the largest 64-bit number reads on both.
                "ORDER BY id DESC LIMIT 9223372036854775807 OFFSET ?",
                (task_id, keep),
            ).fetchall()
            if r[0] != latest_run
        ]
        for i in range(0, len(old), BATCH):
            batch = old[i : i + BATCH]
            marks = ",".join("?" * len(batch))
            with write_tx(conn):
                files = [
                    r[0]
                    for r in conn.execute(
                        f"SELECT path FROM artifact WHERE managed = 1 AND run_id IN ({marks})", batch
                    ).fetchall()
                ]
                # Logs and artifact rows go with their run (ON DELETE CASCADE).
                conn.execute(f"DELETE FROM run WHERE id IN ({marks})", batch)
            for path in files:
                try:
                    Path(path).unlink(missing_ok=True)
                except OSError as exc:
                    log.warning("retention: could not remove %s: %s", path, exc.strerror)
            removed += len(batch)
    prune_occurrences(db, keep=keep)
    return removed


def prune_occurrences(db: peewee.Database, *, keep: int) -> int:
    """Keep the newest `keep` occurrence records of each schedule (a record may stand for a range)."""
    conn = db.connection()
    removed = 0
    for (sid,) in conn.execute("SELECT id FROM schedule").fetchall():
        with write_tx(conn):
            cur = conn.execute(
                "DELETE FROM occurrence WHERE schedule_id = ? AND id <= "
                "(SELECT id FROM occurrence WHERE schedule_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (sid, sid, keep),
            )
            removed += cur.rowcount
    return removed
