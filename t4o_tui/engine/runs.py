"""Runs as the admin sees them: enqueue, list, details, log, cancel, a task's latest file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import peewee

from t4o_tui.engine import queue
from t4o_tui.engine.clock import SYSTEM_CLOCK, Clock
from t4o_tui.engine.tasks import find_task
from t4o_tui.timefmt import iso


@dataclass(frozen=True)
class RunRow:
    id: int
    task_id: int
    task: str
    job: str
    status: str
    lane: str
    trigger: str
    enqueued_at: float
    started_at: float | None
    finished_at: float | None
    worker: str | None
    error: str | None
    output: str | None
    progress: float | None
    progress_msg: str | None
    attempts: int
    settings: dict[str, Any] | None
    cancel_requested: bool = False
    context: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """The fixed JSON shape of `t4o-tui runs --json`."""
        return {
            "id": self.id, "task": self.task, "status": self.status, "lane": self.lane,
            "trigger": self.trigger, "enqueued_at": iso(self.enqueued_at), "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at), "worker": self.worker, "error": self.error, "output": self.output,
        }


@dataclass(frozen=True)
class LogLine:
    id: int
    ts: float
    level: str
    message: str


@dataclass(frozen=True)
class FileRow:
    run_id: int
    path: str
    name: str
    media_type: str
    size: int
    created_at: float


_SELECT = (
    "SELECT r.id, r.task_id, t.name, t.job, r.status, r.lane, r.trigger, r.enqueued_at, r.started_at, "
    "r.finished_at, r.worker, r.error, (SELECT path FROM artifact a WHERE a.run_id = r.id ORDER BY a.id DESC LIMIT 1), "
    "r.progress, r.progress_msg, r.attempts, r.settings, r.cancel_requested, r.context FROM run r "
    "JOIN task t ON t.id = r.task_id "
)


def _row(r: tuple[Any, ...]) -> RunRow:
    (rid, task_id, task, job, status, lane, trigger, enq, started, fin, worker, error, output,
     progress, progress_msg, attempts, settings, cancel_requested, context) = r
    return RunRow(rid, task_id, task, job, status, lane, trigger, enq, started, fin, worker, error, output,
                  progress, progress_msg, attempts, json.loads(settings) if settings else None,
                  bool(cancel_requested), json.loads(context) if context else None)


def enqueue_run(
    db: peewee.Database, task: str | int, *, trigger: str = "manual", clock: Clock = SYSTEM_CLOCK,
    context: dict[str, Any] | None = None,
) -> int:
    t = find_task(task)
    return queue.enqueue(db.connection(), t.id, direct=t.direct, trigger=trigger, now=clock.now(), context=context)


def list_runs(
    db: peewee.Database, *, task: str | int | None = None, statuses: tuple[str, ...] | None = None,
    limit: int | None = 200, newest_first: bool = True,
) -> list[RunRow]:
    where: list[str] = []
    params: list[Any] = []
    if task is not None:
        where.append("r.task_id = ?")
        params.append(find_task(task).id)
    if statuses:
        # Literal values, not bound parameters: SQLite uses the partial indexes on queued and
        # running runs only when it can see the value in the query.
        known = [s for s in statuses if s in ("queued", "running", "succeeded", "failed", "cancelled")]
        where.append("(" + " OR ".join(f"r.status = '{s}'" for s in known) + ")" if known else "0")
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY r.id " + ("DESC" if newest_first else "ASC")
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [_row(r) for r in db.execute_sql(sql, params).fetchall()]


def get_run(db: peewee.Database, run_id: int) -> RunRow:
    r = db.execute_sql(_SELECT + "WHERE r.id = ?", (run_id,)).fetchone()
    if r is None:
        raise LookupError(f"unknown run {run_id}")
    return _row(r)


def run_log(db: peewee.Database, run_id: int, *, after: int = 0) -> list[LogLine]:
    rows = db.execute_sql(
        "SELECT id, ts, level, message FROM run_log WHERE run_id = ? AND id > ? ORDER BY id", (run_id, after)
    ).fetchall()
    return [LogLine(*r) for r in rows]


def cancel_run(db: peewee.Database, run_id: int, *, clock: Clock = SYSTEM_CLOCK, by: str = "admin") -> str:
    """Cancel a queued run at once, or ask a running run to stop; returns its state afterwards."""
    return queue.request_cancel(db.connection(), run_id, now=clock.now(), by=by)


def latest_file(db: peewee.Database, task_id: int) -> FileRow | None:
    """The newest file of a succeeded run of the task."""
    r = db.execute_sql(
        "SELECT a.run_id, a.path, a.name, a.media_type, a.size, a.created_at FROM artifact a "
        "JOIN run r ON r.id = a.run_id WHERE a.task_id = ? AND r.status = 'succeeded' ORDER BY a.id DESC LIMIT 1",
        (task_id,),
    ).fetchone()
    return FileRow(*r) if r else None


def counts(db: peewee.Database, *, since: float) -> dict[str, int]:
    """Queued, running, and failed since `since` (for the dashboard)."""
    q = db.execute_sql(
        "SELECT (SELECT count(*) FROM run WHERE status='queued'), (SELECT count(*) FROM run WHERE status='running'), "
        "(SELECT count(*) FROM run WHERE status='failed' AND finished_at >= ?)",
        (since,),
    ).fetchone()
    return {"queued": q[0], "running": q[1], "failed": q[2]}
