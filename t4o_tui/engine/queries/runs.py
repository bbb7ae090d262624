"""Runs as the dashboard and the queue view show them: counts, queued and running runs, failures."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import peewee

from t4o_tui.engine import runs as run_svc
from t4o_tui.engine.runs import LogLine, RunRow

FINISHED_SHOWN = 200  # finished runs in the queue view: a DataTable with thousands of rows paints slowly
FAILURES_SHOWN = 8

# SQLite uses the partial indexes on queued and running runs (run_queued, run_running) only for a
# literal `status = 'queued'`: `status IN (...)` or a bound parameter reads all the finished runs
# too, 7 ms per 100,000 of them, every second.
_ACTIVE_COUNTS = ("SELECT (SELECT count(*) FROM run WHERE status = 'queued'), "
                  "(SELECT count(*) FROM run WHERE status = 'running')")


def active_counts(db: peewee.Database) -> tuple[int, int]:
    """How many runs are queued, and how many running."""
    queued, running = db.execute_sql(_ACTIVE_COUNTS).fetchone()
    return int(queued), int(running)


def active_runs(db: peewee.Database) -> list[RunRow]:
    """Every queued and running run, oldest first (engine.runs.list_runs, through the indexes)."""
    rows = [r for status in ("queued", "running")
            for r in db.execute_sql(run_svc._SELECT + f"WHERE r.status = '{status}'").fetchall()]
    return sorted((run_svc._row(r) for r in rows), key=lambda r: r.id)


@dataclass(frozen=True)
class QueueData:
    now: float
    active: list[RunRow]  # queued and running, all of them
    finished: list[RunRow]  # the newest FINISHED_SHOWN


def queue(db: peewee.Database, now: float) -> QueueData:
    finished = run_svc.list_runs(db, statuses=("succeeded", "failed", "cancelled"), limit=FINISHED_SHOWN)
    return QueueData(now, active_runs(db), finished)


def log_tail(db: peewee.Database, run_id: int, after: int) -> tuple[RunRow, list[LogLine]]:
    """The run, then its log lines after `after`: read in this order, a finished run's last lines
    (written when it finished) are always in the answer."""
    run = run_svc.get_run(db, run_id)
    return run, run_svc.run_log(db, run_id, after=after)


class RunWatch:
    """Failed runs since an instant, and the newest failures, without reading every run each second.

    A finished run never changes again: after one full count, a poll reads only the runs above
    the highest id seen and those that were still queued or running. A full recount every minute
    catches deletions (retention, a deleted task).
    """

    RECOUNT = 60.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._max_id: int | None = None
        self._open: set[int] = set()
        self._failed: dict[int, float] = {}  # id -> finished_at, of failures in the window
        self._failures: list[RunRow] = []
        self._counted_at = 0.0

    def failed_since(self, db: peewee.Database, since: float, now: float) -> tuple[int, list[RunRow]]:
        """How many runs failed since `since`, and the newest FAILURES_SHOWN failed runs."""
        with self._lock:
            if self._max_id is None or not 0 <= now - self._counted_at < self.RECOUNT:
                self._recount(db, since, now)
            else:
                self._update(db)
            for rid in [rid for rid, at in self._failed.items() if at < since]:
                del self._failed[rid]
            return len(self._failed), self._failures

    def _recount(self, db: peewee.Database, since: float, now: float) -> None:
        self._failed = dict(db.execute_sql(
            "SELECT id, finished_at FROM run WHERE status = 'failed' AND finished_at >= ?", (since,)).fetchall())
        self._open = {r.id for r in active_runs(db)}
        self._max_id = db.execute_sql("SELECT coalesce(max(id), 0) FROM run").fetchone()[0]
        self._failures = run_svc.list_runs(db, statuses=("failed",), limit=FAILURES_SHOWN)
        self._counted_at = now

    def _update(self, db: peewee.Database) -> None:
        assert self._max_id is not None
        seen = sorted(self._open)
        rows = db.execute_sql(
            "SELECT id, status, finished_at FROM run WHERE id > ? " +
            (f"OR id IN ({','.join('?' * len(seen))})" if seen else ""), [self._max_id, *seen]).fetchall()
        new_failure = False
        self._open -= set(seen)
        for rid, status, finished_at in rows:
            self._max_id = max(self._max_id, rid)
            if status in ("queued", "running"):
                self._open.add(rid)
            elif status == "failed" and finished_at is not None:
                self._failed[rid] = finished_at
                new_failure = True
        if new_failure:
            self._failures = run_svc.list_runs(db, statuses=("failed",), limit=FAILURES_SHOWN)


def run_statuses(db: peewee.Database, run_ids: list[int]) -> list[tuple[int, str]]:
    """(id, status) of these runs, by id."""
    if not run_ids:
        return []
    return [(int(i), str(s)) for i, s in db.execute_sql(
        f"SELECT id, status FROM run WHERE id IN ({','.join('?' * len(run_ids))}) ORDER BY id", run_ids).fetchall()]
