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

from t4o_tui.engine.queue import rollback_quietly, write_tx
from t4o_tui.store.backend_sqlite import backend_of

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
    holds: list[float] = field(default_factory=list)  # seconds each delete transaction held the lock
    # CPU seconds of this thread in each: the work itself, without the waits a busy machine adds
    # (another process on the core, a write stalled by the kernel's write-back).
    cpu: list[float] = field(default_factory=list)
    tasks_checked: int = 0
    schedules_checked: int = 0

    @property
    def longest(self) -> float:
        return max(self.holds, default=0.0)


class _Stopped(Exception):
    """The caller asked the pass to stop (the runtime is stopping); the next pass goes on."""


class _Deleter:
    """Deletes in batches that hold the write lock about HOLD_TARGET, with a pause after each.

    On SQLite its connection does not checkpoint on commit (a commit that crosses the WAL's
    autocheckpoint threshold copies the WAL into the database right after it, on the caller's
    clock): it checkpoints in the pauses instead, PASSIVE, which never holds the write lock.
    """

    def __init__(self, conn: Any, stats: PruneStats, batch: int, sleep: Callable[[float], None],
                 stop: Callable[[], bool] | None = None) -> None:
        self.conn, self.stats, self.max, self.sleep, self.stop = conn, stats, batch, sleep, stop
        self.size = min(batch, 100)  # a first guess; the first transaction's time corrects it
        self.last_end: float | None = None
        self.sqlite = backend_of(conn).name == "sqlite"
        self.autocheckpoint: int | None = None

    def __enter__(self) -> _Deleter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.autocheckpoint is not None:
            self.conn.execute(f"PRAGMA wal_autocheckpoint={int(self.autocheckpoint)}")
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def run(self, work: Callable[[Any, int], tuple[int, bool]]) -> int:
        """Call `work(conn, size)` -> (rows deleted, more to do) in write transactions until done."""
        if self.sqlite and self.autocheckpoint is None:
            self.autocheckpoint = int(self.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
            self.conn.execute("PRAGMA wal_autocheckpoint=0")
        done = 0
        more = True
        while more:
            if self.last_end is not None:
                if self.sqlite:
                    self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                wait = max(self.stats.holds[-1], PAUSE_MIN) - (time.monotonic() - self.last_end)
                self.sleep(max(wait, 0.0))  # sleep(0) still lets the other threads of this process in
            if self.stop is not None and self.stop():
                raise _Stopped
            size = self.size
            backend_of(self.conn).begin_write(self.conn)
            t0, c0 = time.monotonic(), time.thread_time()  # from the moment the write lock is ours
            try:
                n, more = work(self.conn, size)
                self.conn.execute("COMMIT")
            except BaseException:
                rollback_quietly(self.conn)
                raise
            took = time.monotonic() - t0
            self.last_end = time.monotonic()
            self.stats.transactions += 1
            self.stats.holds.append(took)
            self.stats.cpu.append(time.thread_time() - c0)
            done += n
            if took > 0:
                self.size = min(self.max, max(10, int(size * HOLD_TARGET / took)))
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
    sleep: Callable[[float], None] = time.sleep, stop: Callable[[], bool] | None = None,
) -> int:
    """Delete finished runs beyond the newest `keep` of each task; never the task's latest file.

    Returns how many runs went; occurrences beyond the newest `keep` of each schedule go too.
    `batch` bounds the rows of one delete transaction; `stats` (if given) is filled in. When
    `stop()` turns true (checked between transactions), the pass ends early and the next one
    takes up from what is left (the mark moves only after a complete pass).
    """
    stats = stats if stats is not None else PruneStats()
    conn = db.connection()
    # Where the next mark goes: up to the newest run, but below any run not finished yet. Each
    # through its partial index (run_queued, run_running): the lanes must be named for SQLite to
    # use them; `min(id)` alone walks the table from its oldest run.
    newest = conn.execute("SELECT max(id) FROM run").fetchone()[0] or 0
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
    cuts: dict[int, tuple[int, int]] = {}
    surplus = 0
    for task_id in tasks:
        stats.tasks_checked += 1
        found = _cut(conn, task_id, keep)
        if found is not None:
            cuts[task_id] = found[:2]
            surplus += found[2]
    files: list[str] = []
    with _Deleter(conn, stats, batch, sleep, stop) as deleter:
        try:
            if surplus > WALK_FROM and len(cuts) > 1:
                deleter.run(_walk(conn, cuts, files, stats))
            else:
                for task_id, (cut, spare) in cuts.items():
                    deleter.run(_of_task(task_id, cut, spare, files, stats))
            if new_mark != mark:
                _write_mark(conn, "run", keep, new_mark)
            prune_occurrences(db, keep=keep, batch=batch, stats=stats, sleep=sleep, deleter=deleter)
        except _Stopped:
            log.info("retention: stopped after %d run(s); the next pass goes on", stats.runs)
        finally:
            # Files go after their rows' commit: a failed delete must not lose them.
            for path in files:
                try:
                    Path(path).unlink(missing_ok=True)
                except OSError as exc:
                    log.warning("retention: could not remove %s: %s", path, exc.strerror)
    return stats.runs


# Above this many surplus runs over several tasks, the deletes walk the table in id order (see _walk).
WALK_FROM = 2000


def _cut(conn: Any, task_id: int, keep: int) -> tuple[int, int, int] | None:
    """(the oldest run of the task's newest `keep` finished ones, the run with its latest file,
    about how many runs go), or None when nothing goes."""
    # count(*) reads the covering index run_task only; the cut is an index walk of `keep` entries.
    count = conn.execute("SELECT count(*) FROM run WHERE task_id = ?", (task_id,)).fetchone()[0]
    if count <= keep:
        return None
    cut = conn.execute(
        f"SELECT id FROM run WHERE task_id = ? AND {_FINISHED} ORDER BY id DESC LIMIT 1 OFFSET ?",
        (task_id, keep - 1),
    ).fetchone()
    if cut is None:
        return None
    latest = conn.execute(LATEST_FILE_RUN_SQL, (task_id,)).fetchone()
    return int(cut[0]), (int(latest[0]) if latest else -1), count - keep


def _delete(c: Any, ids: list[int], files: list[str], stats: PruneStats) -> None:
    marks = ",".join("?" * len(ids))
    files.extend(r[0] for r in c.execute(f"SELECT path FROM artifact WHERE managed = 1 AND run_id IN ({marks})", ids))
    # Logs and artifact rows go with their run (ON DELETE CASCADE); occurrences keep their record
    # without the run (ON DELETE SET NULL).
    c.execute(f"DELETE FROM run WHERE id IN ({marks})", ids)
    stats.runs += len(ids)


def _of_task(task_id: int, cut: int, spare: int, files: list[str],
             stats: PruneStats) -> Callable[[Any, int], tuple[int, bool]]:
    """One task's surplus runs, oldest first, through run_task."""

    def work(c: Any, size: int) -> tuple[int, bool]:
        ids = _ids(c.execute(
            f"SELECT id FROM run WHERE task_id = ? AND id < ? AND id <> ? AND {_FINISHED} ORDER BY id LIMIT ?",
            (task_id, cut, spare, size),
        ))
        if ids:
            _delete(c, ids, files, stats)
        return len(ids), len(ids) == size

    return work


def _walk(conn: Any, cuts: dict[int, tuple[int, int]], files: list[str],
          stats: PruneStats) -> Callable[[Any, int], tuple[int, bool]]:
    """Many tasks' surplus (a first retention): the table in id order, each batch the next rows.

    The runs of all tasks lie interleaved in id order; deleting task by task would touch a page
    of each table and index for nearly every run, deleting in id order touches each page once.
    """
    spares = {spare for _cut_id, spare in cuts.values()}
    first = min(conn.execute("SELECT min(id) FROM run WHERE task_id = ?", (t,)).fetchone()[0] or 0 for t in cuts)
    end = max(cut for cut, _spare in cuts.values())
    pos = first - 1

    def work(c: Any, size: int) -> tuple[int, bool]:
        nonlocal pos
        rows = c.execute(
            f"SELECT id, task_id FROM run WHERE id > ? AND id < ? AND {_FINISHED} ORDER BY id LIMIT ?", (pos, end, size)
        ).fetchall()
        if not rows:
            return 0, False
        pos = rows[-1][0]
        ids = [rid for rid, tid in rows if tid in cuts and rid < cuts[tid][0] and rid not in spares]
        if ids:
            _delete(c, ids, files, stats)
        return len(ids), len(rows) == size

    return work


def prune_occurrences(
    db: peewee.Database, *, keep: int, batch: int = BATCH, stats: PruneStats | None = None,
    sleep: Callable[[float], None] = time.sleep, deleter: _Deleter | None = None,
) -> int:
    """Keep the newest `keep` occurrence records of each schedule (a record may stand for a range)."""
    stats = stats if stats is not None else PruneStats()
    conn = db.connection()
    own = deleter is None
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
    try:
        for sid in schedules:
            stats.schedules_checked += 1
            cut = conn.execute(
                "SELECT id FROM occurrence WHERE schedule_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?", (sid, keep - 1)
            ).fetchone()
            if cut is None:
                continue

            def work(c: Any, size: int, sid: int = sid, cut: int = cut[0]) -> tuple[int, bool]:
                cur = c.execute(
                    "DELETE FROM occurrence WHERE id IN "
                    "(SELECT id FROM occurrence WHERE schedule_id = ? AND id < ? ORDER BY id LIMIT ?)",
                    (sid, cut, size),
                )
                stats.occurrences += int(cur.rowcount)
                return int(cur.rowcount), cur.rowcount == size

            deleter.run(work)
    finally:
        if own:
            deleter.__exit__(None, None, None)
    if newest != mark:
        _write_mark(conn, "occurrence", keep, newest)
    return stats.occurrences - before
