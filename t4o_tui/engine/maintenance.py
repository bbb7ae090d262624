"""Background upkeep: retention of finished runs (with their logs and files) and of occurrences.

A year of history is a million runs (issue 19). Two things keep the upkeep cheap at that size:

- **Only what changed is looked at.** A mark in `meta` (per `keep`, so processes configured with
  different retentions do not hide work from each other) says up to which run id and occurrence id
  every task and schedule has been pruned. A pass looks only at the tasks with runs above the mark
  and the schedules with occurrences above theirs: with nothing new, a pass is two index look-ups.
  The run mark stays below the oldest run still queued or running, whose task must be looked at
  again once it has finished. Without a mark (the first pass on a database), one read of the
  covering indexes finds the tasks and schedules over `keep`.
- **Deletes go in short transactions.** Each takes a batch of the oldest surplus rows of one task
  (or schedule), sized so that the transaction holds the write lock about HOLD_TARGET (10 ms) (never more
  than `batch` rows), and after each the lock is left free at least as long as it was held, so
  that claims, enqueues and the evaluator's steps of every process get their turn in between. The
  first retention of a big history takes longer than one long transaction would, never blocks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import peewee

from t4o_tui.engine.queue import write_tx

log = logging.getLogger("t4o_tui.engine")

# Runs (or occurrences) deleted in one transaction at most. Each run takes its log lines, files'
# rows and occurrences' links with it (ON DELETE CASCADE / SET NULL), about 0.1 ms per run.
BATCH = 500
# What a delete transaction aims to hold the write lock for (the bound is 50 ms; a loaded machine
# stretches a transaction several times): the batch size follows the last one's time.
HOLD_TARGET = 0.01
# The lock is left free between two delete transactions at least this long (and as long as the
# last one held it): SQLite's busy handler polls every 15-25 ms at that point of a wait.
PAUSE_MIN = 0.01

LATEST_FILE_RUN_SQL = (
    "SELECT a.run_id FROM artifact a JOIN run r ON r.id = a.run_id "
    "WHERE a.task_id = ? AND r.status = 'succeeded' ORDER BY a.id DESC LIMIT 1"
)
_FINISHED = "status IN ('succeeded', 'failed', 'cancelled')"


@dataclass
class PruneStats:
    """What a pass did: for the log, the benchmarks and the tests."""

    runs: int = 0
    occurrences: int = 0
    transactions: int = 0  # delete transactions
    holds: list[float] = field(default_factory=list)  # seconds each delete transaction took
    tasks_checked: int = 0
    schedules_checked: int = 0

    @property
    def longest(self) -> float:
        return max(self.holds, default=0.0)


class _Deleter:
    """Deletes in batches that hold the write lock about HOLD_TARGET, with a pause after each."""

    def __init__(self, conn: Any, stats: PruneStats, batch: int, sleep: Callable[[float], None]) -> None:
        self.conn, self.stats, self.max, self.sleep = conn, stats, batch, sleep
        self.size = min(batch, 100)  # a first guess; the first transaction's time corrects it
        self.last_end: float | None = None

    def run(self, work: Callable[[Any, int], int]) -> int:
        """Call `work(conn, size)` in write transactions until it deletes fewer than `size` rows."""
        done = 0
        while True:
            if self.last_end is not None:
                gap = time.monotonic() - self.last_end
                wait = max(self.stats.holds[-1], PAUSE_MIN) - gap
                if wait > 0:
                    self.sleep(wait)
            size = self.size
            t0 = time.monotonic()
            with write_tx(self.conn):
                n = work(self.conn, size)
            took = time.monotonic() - t0
            self.last_end = time.monotonic()
            self.stats.transactions += 1
            self.stats.holds.append(took)
            done += n
            if n and took > 0:
                self.size = max(1, min(self.max, int(size * HOLD_TARGET / took)))
            if n < size:
                return done


def _mark_key(kind: str, keep: int) -> str:
    return f"retention_mark:{kind}:{keep}"


def _read_mark(conn: Any, kind: str, keep: int) -> int | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_mark_key(kind, keep),)).fetchone()
    return int(row[0]) if row else None


def _write_mark(conn: Any, kind: str, keep: int, value: int) -> None:
    with write_tx(conn):
        conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (_mark_key(kind, keep), str(value)),
        )


def _ids(rows: Iterable[Any]) -> list[int]:
    return [int(r[0]) for r in rows]


def prune(
    db: peewee.Database, *, keep: int, batch: int = BATCH, stats: PruneStats | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Delete finished runs beyond the newest `keep` of each task; never the task's latest file.

    Returns how many runs went; occurrences beyond the newest `keep` of each schedule go too.
    `batch` bounds the rows of one delete transaction; `stats` (if given) is filled in.
    """
    stats = stats if stats is not None else PruneStats()
    conn = db.connection()
    deleter = _Deleter(conn, stats, batch, sleep)
    # Where the next mark goes: up to the newest run, but below any run not finished yet.
    newest = conn.execute("SELECT max(id) FROM run").fetchone()[0] or 0
    # Each through its partial index (run_queued, run_running): the lanes must be named for SQLite
    # to use them; `min(id)` alone walks the table from its oldest run.
    unfinished = [
        conn.execute(f"SELECT min(id) FROM run WHERE status = '{s}' AND lane IN ('queue', 'direct')").fetchone()[0]
        for s in ("queued", "running")
    ]
    new_mark = min([newest] + [u - 1 for u in unfinished if u is not None])
    mark = _read_mark(conn, "run", keep)
    if mark is None:
        tasks = _ids(conn.execute("SELECT task_id FROM run GROUP BY task_id HAVING count(*) > ?", (keep,)))
    else:
        # Not DISTINCT: SQLite would answer it by reading all of run_task instead of the new rows.
        tasks = sorted(set(_ids(conn.execute("SELECT task_id FROM run WHERE id > ?", (mark,)))))
    for task_id in tasks:
        stats.tasks_checked += 1
        stats.runs += _prune_task(conn, deleter, task_id, keep)
    if new_mark != mark:
        _write_mark(conn, "run", keep, new_mark)
    prune_occurrences(db, keep=keep, batch=batch, stats=stats, sleep=sleep, deleter=deleter)
    return stats.runs


def _prune_task(conn: Any, deleter: _Deleter, task_id: int, keep: int) -> int:
    # The newest `keep` finished runs stay: the oldest of them is the cut. An index walk of `keep`
    # entries (run_task), and none at all for a task with no more than `keep` runs.
    if conn.execute("SELECT count(*) FROM run WHERE task_id = ?", (task_id,)).fetchone()[0] <= keep:
        return 0
    cut = conn.execute(
        f"SELECT id FROM run WHERE task_id = ? AND {_FINISHED} ORDER BY id DESC LIMIT 1 OFFSET ?",
        (task_id, keep - 1),
    ).fetchone()
    if cut is None:
        return 0
    latest = conn.execute(LATEST_FILE_RUN_SQL, (task_id,)).fetchone()
    spare = latest[0] if latest else -1
    files: list[str] = []

    def work(c: Any, size: int) -> int:
        ids = _ids(c.execute(
            f"SELECT id FROM run WHERE task_id = ? AND id < ? AND id <> ? AND {_FINISHED} ORDER BY id LIMIT ?",
            (task_id, cut[0], spare, size),
        ))
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        files.extend(r[0] for r in c.execute(
            f"SELECT path FROM artifact WHERE managed = 1 AND run_id IN ({marks})", ids))
        # Logs and artifact rows go with their run (ON DELETE CASCADE); occurrences keep their
        # record without the run (ON DELETE SET NULL).
        c.execute(f"DELETE FROM run WHERE id IN ({marks})", ids)
        return len(ids)

    removed = deleter.run(work)
    # Files go after their rows' commit: a failed delete must not lose them.
    for path in files:
        try:
            Path(path).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("retention: could not remove %s: %s", path, exc.strerror)
    return removed


def prune_occurrences(
    db: peewee.Database, *, keep: int, batch: int = BATCH, stats: PruneStats | None = None,
    sleep: Callable[[float], None] = time.sleep, deleter: _Deleter | None = None,
) -> int:
    """Keep the newest `keep` occurrence records of each schedule (a record may stand for a range)."""
    stats = stats if stats is not None else PruneStats()
    conn = db.connection()
    deleter = deleter or _Deleter(conn, stats, batch, sleep)
    # Occurrences are only ever added (a range grows in its newest record): above the newest id
    # nothing can appear that an earlier pass missed.
    newest = conn.execute("SELECT max(id) FROM occurrence").fetchone()[0] or 0
    mark = _read_mark(conn, "occurrence", keep)
    if mark is None:
        schedules = _ids(conn.execute(
            "SELECT schedule_id FROM occurrence GROUP BY schedule_id HAVING count(*) > ?", (keep,)))
    else:
        schedules = sorted(set(_ids(conn.execute("SELECT schedule_id FROM occurrence WHERE id > ?", (mark,)))))
    before = stats.occurrences
    for sid in schedules:
        stats.schedules_checked += 1
        cut = conn.execute(
            "SELECT id FROM occurrence WHERE schedule_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?", (sid, keep - 1)
        ).fetchone()
        if cut is None:
            continue

        def work(c: Any, size: int, sid: int = sid, cut: int = cut[0]) -> int:
            cur = c.execute(
                "DELETE FROM occurrence WHERE id IN "
                "(SELECT id FROM occurrence WHERE schedule_id = ? AND id < ? ORDER BY id LIMIT ?)",
                (sid, cut, size),
            )
            return int(cur.rowcount)

        stats.occurrences += deleter.run(work)
    if newest != mark:
        _write_mark(conn, "occurrence", keep, newest)
    return stats.occurrences - before
