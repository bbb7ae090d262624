"""The queue's transactions: enqueue, claim, finish, lease renewal, cancel, orphan recovery.

Each function is one short write transaction on the calling thread's connection (BEGIN
IMMEDIATE), never held across an await or a job's work. The claim protocol:

    BEGIN IMMEDIATE;
    UPDATE run SET status='running', worker=?, lease_until=?, ...
     WHERE id = (SELECT id FROM run WHERE status='queued' AND lane='queue' ORDER BY id LIMIT 1)
       AND NOT EXISTS (SELECT 1 FROM run WHERE status='running' AND lane='queue')
    RETURNING ...;
    COMMIT;

The write lock serialises claims across every process on the database, and the NOT EXISTS makes
the queue lane run one run at a time everywhere. Finishing a queue-lane run and claiming the next
happen in the same transaction, so the lane's hand-over costs one commit.

On PostgreSQL (issue 14) the same SQL runs with two additions from its backend module: the
queue-lane claim first takes a transaction-scoped advisory lock (claimers of the lane take turns,
and each sees the previous one's commit), and direct-lane runs are picked FOR UPDATE SKIP LOCKED
(concurrent claimers take different runs instead of waiting). Rows read and then changed in one
transaction (cancel, orphan recovery) are read FOR UPDATE there. Enqueues and cancel requests
NOTIFY the channel `t4o_queue` ("enqueued <lane> <id>", "cancel <id>") at their commit.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from t4o_tui.store.backend_sqlite import backend_of
from t4o_tui.store.models import (
    CANCELLED,
    DIRECT_LANE,
    FAILED,
    QUEUE_LANE,
    QUEUED,
    RUNNING,
)


@dataclass(frozen=True)
class Claimed:
    """A run this worker now owns, with what the executor needs of its task."""

    id: int
    task_id: int
    task_name: str
    job: str
    lane: str
    trigger: str
    settings_text: str  # the task's settings (JSON) as they were when the run started
    context: dict[str, Any] | None
    attempts: int
    timeout: float | None
    on_orphan: str | None


@dataclass(frozen=True)
class ArtifactRecord:
    path: str
    name: str
    media_type: str
    size: int
    managed: bool = True
    # The file's bytes and their SHA-256, kept in the database too (PostgreSQL) so that a share
    # server on another machine can serve it: up to executor.STORED_FILE_MAX in `data`; a larger
    # file already written in `chunks` parts (artifact_chunk rows of the run), `data` then empty.
    data: bytes | None = field(default=None, repr=False)
    sha256: str = ""
    chunks: int = 0


@dataclass
class Outcome:
    """How a run ended, and what it still has to write (buffered log lines, its file)."""

    run_id: int
    status: str  # succeeded | failed | cancelled | queued (requeued at shutdown)
    finished_at: float
    error: str | None = None
    progress: float | None = None
    progress_msg: str | None = None
    logs: list[tuple[float, str, str]] = field(default_factory=list)
    artifacts: list[ArtifactRecord] = field(default_factory=list)
    task_name: str = ""
    elapsed: float | None = None


@contextmanager
def write_tx(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    backend_of(conn).begin_write(conn)
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        rollback_quietly(conn)
        raise


def rollback_quietly(conn: sqlite3.Connection) -> None:
    """End a failed transaction without hiding why it failed.

    On SQLITE_FULL or an I/O error SQLite may already have rolled back, and a ROLLBACK would fail
    with "no transaction is active" in place of the real cause. After a failed COMMIT the
    transaction is still open: left so, the connection would keep the write lock and a pager in
    its error state (later reads see "no such table").
    """
    if not conn.in_transaction:
        return
    with suppress(*backend_of(conn).errors):  # the error being raised is the one that says what went wrong
        conn.execute("ROLLBACK")


def enqueue(
    conn: sqlite3.Connection,
    task_id: int,
    *,
    direct: bool,
    trigger: str,
    now: float,
    context: dict[str, Any] | None = None,
) -> int:
    """Add a queued run of a task; returns its id."""
    with write_tx(conn):
        rid = _insert_run(conn, task_id, direct=direct, trigger=trigger, now=now, context=context)
        backend_of(conn).notify(conn, f"enqueued {DIRECT_LANE if direct else QUEUE_LANE} {rid}")
        return rid


_INSERT_RUN = "INSERT INTO run(task_id, status, lane, trigger, enqueued_at, context) VALUES (?, ?, ?, ?, ?, ?)"


def _insert_run(
    conn: sqlite3.Connection, task_id: int, *, direct: bool, trigger: str, now: float,
    context: dict[str, Any] | None,
) -> int:
    values = (task_id, QUEUED, DIRECT_LANE if direct else QUEUE_LANE, trigger, now,
              None if context is None else json.dumps(context, default=str))
    if type(conn) is sqlite3.Connection:
        # SQLite hands the new id back without RETURNING, which costs about as much as the insert.
        return int(conn.execute(_INSERT_RUN, values).lastrowid or 0)
    return int(conn.execute(_INSERT_RUN + " RETURNING id", values).fetchone()[0])


_CLAIM_SET = (
    "UPDATE run SET status='running', started_at=:now, worker=:worker, lease_until=:lease, "
    "attempts=attempts+1, cancel_requested=0, progress=NULL, progress_msg=NULL, error=NULL, "
    "settings=(SELECT settings FROM task WHERE task.id=run.task_id) "
)
# What the executor needs of the task comes back with the claimed row: no second statement.
_CLAIM_RETURNING = (
    " RETURNING id, task_id, lane, trigger, settings, context, attempts, "
    + ", ".join(f"(SELECT {col} FROM task WHERE task.id = run.task_id)" for col in ("name", "job", "timeout", "on_orphan"))
)

CLAIM_QUEUE_SQL = (
    _CLAIM_SET
    + "WHERE id=(SELECT id FROM run WHERE status='queued' AND lane='queue' ORDER BY id LIMIT 1) "
    "AND NOT EXISTS (SELECT 1 FROM run WHERE status='running' AND lane='queue')"
    + _CLAIM_RETURNING
)
CLAIM_DIRECT_SQL = (
    _CLAIM_SET
    + "WHERE id IN (SELECT id FROM run WHERE status='queued' AND lane='direct' ORDER BY id LIMIT :limit{skip_locked})"
    + _CLAIM_RETURNING
)


def _claimed(rows: Sequence[tuple[Any, ...]]) -> list[Claimed]:
    out = [
        Claimed(
            id=rid, task_id=task_id, task_name=name, job=job, lane=lane, trigger=trigger,
            settings_text=settings or "{}", context=json.loads(context) if context else None,
            attempts=attempts, timeout=timeout, on_orphan=on_orphan,
        )
        for rid, task_id, lane, trigger, settings, context, attempts, name, job, timeout, on_orphan in rows
    ]
    out.sort(key=lambda c: c.id)
    return out


def _now(now: float | Callable[[], float]) -> float:
    return now() if callable(now) else now


def claim_queue(
    conn: sqlite3.Connection, *, worker: str, now: float | Callable[[], float], lease: float,
    finish: Outcome | None = None,
) -> tuple[Claimed | None, bool]:
    """Finish `finish` (if given) and claim the next queue-lane run, in one transaction.

    `now` may be a clock: it is then read once the write lock is held, so a claim that waited for
    the previous run's end never records a start before that end.
    Returns (claimed run or None, whether `finish` was recorded — False when this worker no
    longer owned that run, i.e. its lease had expired and another worker took it over).
    """
    with write_tx(conn):
        if not backend_of(conn).lock_queue_lane(conn, wait=finish is not None):
            return None, True  # another worker is claiming the lane right now
        recorded = _finish(conn, finish, worker) if finish is not None else True
        t = _now(now)
        rows = conn.execute(CLAIM_QUEUE_SQL, {"now": t, "worker": worker, "lease": t + lease}).fetchall()
        claimed = _claimed(rows)
    return (claimed[0] if claimed else None), recorded


def claim_direct(
    conn: sqlite3.Connection, *, worker: str, now: float | Callable[[], float], lease: float, limit: int,
) -> list[Claimed]:
    """Claim up to `limit` queued direct-lane runs, oldest first (`now` as for claim_queue)."""
    if limit <= 0:
        return []
    with write_tx(conn):
        t = _now(now)
        rows = conn.execute(
            CLAIM_DIRECT_SQL.format(skip_locked=backend_of(conn).skip_locked), {"now": t, "worker": worker, "lease": t + lease, "limit": limit}
        ).fetchall()
        return _claimed(rows)


def finish(conn: sqlite3.Connection, outcome: Outcome, *, worker: str) -> bool:
    """Record how a run ended; False when this worker no longer owned it."""
    with write_tx(conn):
        return _finish(conn, outcome, worker)


def _finish(conn: sqlite3.Connection, o: Outcome, worker: str) -> bool:
    if o.status == QUEUED:
        cur = conn.execute(
            "UPDATE run SET status='queued', worker=NULL, lease_until=NULL, started_at=NULL, "
            "cancel_requested=0, progress=NULL, progress_msg=NULL WHERE id=? AND status='running' AND worker=?",
            (o.run_id, worker),
        )
    else:
        cur = conn.execute(
            "UPDATE run SET status=?, finished_at=?, error=?, progress=COALESCE(?, progress), "
            "progress_msg=COALESCE(?, progress_msg), lease_until=NULL "
            "WHERE id=? AND status='running' AND worker=?",
            (o.status, o.finished_at, o.error, o.progress, o.progress_msg, o.run_id, worker),
        )
    owned = cur.rowcount == 1
    if not owned:
        o.logs.append((o.finished_at, "warning",
                       f"this worker ({worker}) lost the run before it ended; its result '{o.status}' was discarded"))
    if o.logs:
        conn.executemany(
            "INSERT INTO run_log(run_id, ts, level, message) VALUES (?, ?, ?, ?)",
            [(o.run_id, ts, level, msg) for ts, level, msg in o.logs],
        )
    if owned:
        for a in o.artifacts:
            cur = conn.execute(
                "INSERT INTO artifact(run_id, task_id, path, name, media_type, size, created_at, managed) "
                "SELECT id, task_id, ?, ?, ?, ?, ?, ? FROM run WHERE id=?",
                (a.path, a.name, a.media_type, a.size, o.finished_at, int(a.managed), o.run_id),
            )
            if a.data is not None:
                # In the same transaction: a share server that sees the artifact sees its bytes.
                conn.execute("INSERT INTO artifact_data(artifact_id, bytes, sha256, size, chunks) VALUES (?, ?, ?, ?, ?)",
                             (cur.lastrowid, a.data, a.sha256, a.size if a.chunks else len(a.data), a.chunks))
        kept = [a.sha256 for a in o.artifacts if a.chunks]
        if kept:
            # Parts an earlier attempt of this run wrote for other bytes (it crashed before its end).
            conn.execute(f"DELETE FROM artifact_chunk WHERE run_id = ? AND sha256 NOT IN ({', '.join('?' * len(kept))})",
                         (o.run_id, *kept))
    return owned


def flush_live(
    conn: sqlite3.Connection,
    logs: Sequence[tuple[int, float, str, str]],
    progress: Sequence[tuple[int, float | None, str | None]],
) -> None:
    """Write log lines and progress of running runs, so that followers see them live."""
    if not logs and not progress:
        return
    with write_tx(conn):
        if logs:
            conn.executemany("INSERT INTO run_log(run_id, ts, level, message) VALUES (?, ?, ?, ?)", logs)
        if progress:
            conn.executemany(
                "UPDATE run SET progress=?, progress_msg=? WHERE id=? AND status='running'",
                [(frac, msg, rid) for rid, frac, msg in progress],
            )


def renew_leases(conn: sqlite3.Connection, *, worker: str, run_ids: Sequence[int], now: float, lease: float) -> set[int]:
    """Extend the lease of this worker's running runs; returns the ids it still owns."""
    if not run_ids:
        return set()
    marks = ",".join("?" * len(run_ids))
    with write_tx(conn):
        conn.execute(
            f"UPDATE run SET lease_until=? WHERE status='running' AND worker=? AND id IN ({marks})",
            (now + lease, worker, *run_ids),
        )
        rows = conn.execute(
            f"SELECT id FROM run WHERE status='running' AND worker=? AND id IN ({marks})",
            (worker, *run_ids),
        ).fetchall()
    return {r[0] for r in rows}


def cancel_requests(conn: sqlite3.Connection, *, worker: str) -> set[int]:
    """Ids of this worker's running runs that somebody asked to cancel."""
    rows = conn.execute(
        "SELECT id FROM run WHERE status='running' AND worker=? AND cancel_requested=1", (worker,)
    ).fetchall()
    return {r[0] for r in rows}


class AlreadyEnded(ValueError):
    """The run to cancel has already ended."""

    def __init__(self, run_id: int, status: str) -> None:
        super().__init__(f"run {run_id} has already ended ({status})")
        self.status = status


def request_cancel(conn: sqlite3.Connection, run_id: int, *, now: float, by: str = "admin") -> str:
    """Cancel a run: a queued run at once ('cancelled'), a running one by request ('running').

    Raises LookupError for an unknown run and AlreadyEnded for one that has ended.
    """
    with write_tx(conn):
        row = conn.execute("SELECT status FROM run WHERE id=?" + backend_of(conn).for_update, (run_id,)).fetchone()
        if row is None:
            raise LookupError(f"no run {run_id}")
        status = row[0]
        if status == QUEUED:
            conn.execute(
                "UPDATE run SET status=?, finished_at=?, error=? WHERE id=?",
                (CANCELLED, now, f"cancelled by {by} before it started", run_id),
            )
            conn.execute(
                "INSERT INTO run_log(run_id, ts, level, message) VALUES (?, ?, 'info', ?)",
                (run_id, now, f"cancelled by {by} while queued"),
            )
            return CANCELLED
        if status == RUNNING:
            conn.execute("UPDATE run SET cancel_requested=1 WHERE id=?", (run_id,))
            backend_of(conn).notify(conn, f"cancel {run_id}")
            conn.execute(
                "INSERT INTO run_log(run_id, ts, level, message) VALUES (?, ?, 'info', ?)",
                (run_id, now, f"cancel requested by {by}"),
            )
            return RUNNING
    raise AlreadyEnded(run_id, str(status))


@dataclass(frozen=True)
class OrphanAction:
    run_id: int
    task_name: str
    worker: str | None
    action: str  # requeued | failed


def recover_orphans(
    conn: sqlite3.Connection, *, now: float, policies: Mapping[str, str], max_attempts: int = 3,
    worker: str | None = None, alive: Sequence[int] = (), lease: float = 15.0,
) -> list[OrphanAction]:
    """Requeue or fail running runs whose lease has expired (their worker died).

    `policies` maps job id to its default orphan policy; a task's own `on_orphan` wins. A run
    that has already been tried `max_attempts` times fails instead of being requeued, so a run
    that kills its worker cannot crash workers forever. The runs in `alive` are this `worker`'s
    own, known to be running here: their lease may have run out only because the database was
    busy, so they are renewed, never taken for orphans (that would run them twice).
    """
    actions: list[OrphanAction] = []
    mine = set(alive)
    with write_tx(conn):
        rows = conn.execute(
            "SELECT run.id, run.worker, run.attempts, task.name, task.job, task.on_orphan "
            "FROM run JOIN task ON task.id = run.task_id "
            "WHERE run.status='running' AND run.lease_until < ?"
            # Two workers recovering at once: the second waits, then no longer sees the run.
            + (backend_of(conn).for_update and " FOR UPDATE OF run"),
            (now,),
        ).fetchall()
        for rid, holder, attempts, task_name, job, on_orphan in rows:
            if rid in mine and holder == worker:
                conn.execute("UPDATE run SET lease_until=? WHERE id=?", (now + lease, rid))
                continue
            policy = on_orphan or policies.get(job, "fail")
            if policy == "requeue" and attempts < max_attempts:
                conn.execute(
                    "UPDATE run SET status='queued', worker=NULL, lease_until=NULL, started_at=NULL, "
                    "cancel_requested=0 WHERE id=?",
                    (rid,),
                )
                msg = f"worker lost ({holder}); lease expired, run requeued (attempt {attempts} of {max_attempts})"
                actions.append(OrphanAction(rid, task_name, holder, "requeued"))
            else:
                reason = "worker lost" if policy == "fail" else f"worker lost {attempts} times"
                conn.execute(
                    "UPDATE run SET status=?, finished_at=?, error=?, lease_until=NULL WHERE id=?",
                    (FAILED, now, reason, rid),
                )
                msg = f"worker lost ({holder}); lease expired, run failed (on-orphan policy: {policy})"
                actions.append(OrphanAction(rid, task_name, holder, "failed"))
            conn.execute(
                "INSERT INTO run_log(run_id, ts, level, message) VALUES (?, ?, 'warning', ?)",
                (rid, now, msg),
            )
    return actions


def has_queued(conn: sqlite3.Connection, lane: str) -> bool:
    return conn.execute(
        "SELECT 1 FROM run WHERE status='queued' AND lane=? LIMIT 1", (lane,)
    ).fetchone() is not None
