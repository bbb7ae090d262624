"""The engine across real `t4o-tui --worker` processes on a real PostgreSQL server (issue 14).

Four workers share 2,000 runs; a worker is SIGKILLed mid-run; the scheduler's lease holder is
killed with -9; the server is restarted under 200 runs. Runs are of the Test job with `mark`: each
run that succeeds leaves exactly one mark row, written in its transaction, so "exactly once" is
counted in the database, not guessed from logs. Every wait is on a condition (a readiness line,
a count in the database), never a fixed sleep.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pg_server
import pytest

from t4o_tui.engine.schedules import ScheduleInput, add_schedule, list_occurrences
from t4o_tui.engine.tasks import create_task
from t4o_tui.store.db import open_database

from conftest import Worker, wait_for, write_config

pg_admin_url, pg_url, own_cluster = pg_server.pg_admin_url, pg_server.pg_url, pg_server.own_cluster

pytestmark = pytest.mark.slow

LEASE = 3.0  # the workers' run lease: a killed worker's run is recovered this long after its last renewal


@pytest.fixture
def pg_workers(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start `t4o-tui --worker` processes on a database URL (share servers on free ports)."""
    # Retention above the runs a test makes: it would delete finished runs the test counts.
    write_config(tmp_path, f"[engine]\nlease = {LEASE}\nretention = 10000\n\n[share]\nport = 0\n")
    started: list[Worker] = []

    def start(url: str, name: str) -> Worker:
        w = Worker(url, tmp_path, name)  # type: ignore[arg-type]  # --db takes the URL as it takes a path
        started.append(w)
        return w

    yield start
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait(10)


def _enqueue(db, task_ids: list[tuple[int, str]]) -> None:
    """Queue one run per (task id, lane) in one transaction, and wake the workers as `run` does."""
    conn = db.connection()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO run(task_id, status, lane, trigger, enqueued_at) VALUES (?, 'queued', ?, 'manual', ?)",
                     [(tid, lane, time.time()) for tid, lane in task_ids])
    conn.execute("SELECT pg_notify('t4o_queue', 'enqueued any 0')")
    conn.execute("COMMIT")


def _status_counts(db) -> str:
    rows = db.execute_sql("SELECT lane, status, count(*) FROM run GROUP BY lane, status ORDER BY lane, status").fetchall()
    return ", ".join(f"{lane} {status} {n}" for lane, status, n in rows) or "no runs"


def _ended(db) -> int:
    return db.execute_sql("SELECT count(*) FROM run WHERE status IN ('succeeded', 'failed', 'cancelled')").fetchone()[0]


def _run_spans(db, lane: str) -> list[tuple[int, float, float]]:
    """(run id, start, end) of each execution of a run of `lane`, from its log: 'started on' and
    'succeeded in' lines (stamped by the worker's clock; all workers here share one machine's)."""
    rows = db.execute_sql(
        "SELECT l.run_id, l.ts, l.message FROM run_log l JOIN run r ON r.id = l.run_id WHERE r.lane = ? "
        "AND (l.message LIKE 'started on %' OR l.message LIKE 'succeeded in %') ORDER BY l.run_id, l.ts, l.id",
        (lane,)).fetchall()
    spans, open_at = [], {}
    for rid, ts, message in rows:
        if message.startswith("started on"):
            open_at[rid] = ts
        else:
            spans.append((rid, open_at.pop(rid), ts))
    return spans


def _marks(db) -> Counter[int]:
    return Counter(r[0] for r in db.execute_sql("SELECT run_id FROM test_mark").fetchall())


def test_four_workers_share_2000_runs_none_twice_and_the_queue_lane_one_at_a_time(pg_url, pg_workers):
    db = open_database(pg_url)
    q = create_task("Queue lane", "test", {"seconds": 0, "mark": True})
    d = create_task("Direct lane", "test", {"seconds": 0, "mark": True}, direct=True)
    workers = [pg_workers(pg_url, f"w{i}") for i in range(4)]
    for w in workers:
        w.wait_started(60)
    # Enqueued once all listen: they wake on the notification.
    _enqueue(db, [(q.id, "queue"), (d.id, "direct")] * 1000)
    wait_for(lambda: _ended(db) >= 2000, 600, "2,000 runs to end", lambda: _status_counts(db))
    for w in workers:
        assert w.stop(60) == 0, w.output
    statuses = Counter(r[0] for r in db.execute_sql("SELECT status FROM run").fetchall())
    assert statuses == {"succeeded": 2000}
    marks = _marks(db)
    assert len(marks) == 2000 and set(marks.values()) == {1}, "a run ran twice (or not at all)"
    assert db.execute_sql("SELECT max(attempts) FROM run").fetchone()[0] == 1
    # Every worker took part (the claim is fair enough that none starves).
    by_worker = Counter(r[0].split(":")[1] for r in db.execute_sql("SELECT worker FROM run").fetchall())
    assert len(by_worker) == 4, by_worker
    # The queue lane: one run at a time across the four processes, in enqueue order.
    spans = sorted(_run_spans(db, "queue"), key=lambda s: s[1])
    assert len(spans) == 1000
    overlaps = [(a, b) for a, b in zip(spans, spans[1:], strict=False) if b[1] < a[2]]
    assert overlaps == [], f"{len(overlaps)} overlapping queue-lane runs, e.g. {overlaps[:3]}"
    assert [s[0] for s in spans] == sorted(s[0] for s in spans)
    db.close()


def _worker_of(db, run_id: int) -> str | None:
    row = db.execute_sql("SELECT worker FROM run WHERE id = ? AND status = 'running'", (run_id,)).fetchone()
    return row[0] if row else None


def test_a_worker_sigkilled_mid_run_its_run_is_recovered_by_another_and_runs_once(pg_url, pg_workers):
    db = open_database(pg_url)
    t = create_task("Long", "test", {"seconds": 3, "mark": True})
    first = pg_workers(pg_url, "first")
    first.wait_started(60)
    _enqueue(db, [(t.id, "queue")])
    rid = db.execute_sql("SELECT max(id) FROM run").fetchone()[0]
    wait_for(lambda: _worker_of(db, rid) is not None, 30, "the first worker to claim the run")
    assert f":{first.proc.pid}:" in _worker_of(db, rid)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    killed_at = time.monotonic()
    second = pg_workers(pg_url, "second")
    second.wait_started(60)
    wait_for(lambda: _ended(db) == 1, 60, "the run to end on the second worker")
    assert time.monotonic() - killed_at < LEASE + 3 + 10  # lease, its run of 3 s, start-up
    row = db.execute_sql("SELECT status, attempts, worker FROM run WHERE id = ?", (rid,)).fetchone()
    assert row[0] == "succeeded" and row[1] == 2 and f":{second.proc.pid}:" in row[2]
    log = [r[0] for r in db.execute_sql("SELECT message FROM run_log WHERE run_id = ? ORDER BY ts, id", (rid,))]
    assert any(m.startswith("worker lost (") and f":{first.proc.pid}:" in m and "requeued" in m for m in log), log
    assert _marks(db) == {rid: 1}  # the killed attempt committed nothing
    assert f":{first.proc.pid}:" in second.output and "lost, run requeued" in second.output
    assert second.stop(60) == 0
    db.close()


def _holder(db) -> str | None:
    row = db.execute_sql("SELECT holder FROM lease WHERE name = 'scheduler' AND expires_at > ?", (time.time(),)).fetchone()
    return row[0] if row else None


def test_kill_9_of_the_scheduler_lease_holder_a_standby_takes_over_within_seconds(pg_url, pg_workers):
    db = open_database(pg_url)
    create_task("Poll", "test", {"seconds": 0})
    now = time.time()
    s = add_schedule(db, ScheduleInput(task="Poll", kind="interval", every=1, start=now + 1, expiry=now + 3600,
                                       overlap="allow", catch_up="skip"))
    first = pg_workers(pg_url, "first")
    first.wait_started(60)
    wait_for(lambda: "scheduler lease taken" in first.output, 30, "the first worker to take the lease")
    second = pg_workers(pg_url, "second")
    second.wait_started(60)
    wait_for(lambda: len(list_occurrences(db, schedule_id=s.id, limit=None)) >= 3, 30, "the holder to fire")
    assert f":{first.proc.pid}:" in (_holder(db) or "")
    os.kill(first.proc.pid, signal.SIGKILL)
    first.proc.wait(10)
    killed_at = time.monotonic()
    wait_for(lambda: "scheduler lease taken from" in second.output, 30, "the standby to take the lease")
    took = time.monotonic() - killed_at
    assert took < 6.0 + 2.0 + 2.0, f"takeover after {took:.1f} s"  # lease 6 s, renewal every 2 s, a tick
    n = len(list_occurrences(db, schedule_id=s.id, limit=None))
    wait_for(lambda: len(list_occurrences(db, schedule_id=s.id, limit=None)) >= n + 3, 30, "the standby to fire")
    assert second.stop(60) == 0
    occ = sorted(list_occurrences(db, schedule_id=s.id, limit=None), key=lambda o: o.nominal)
    covered: list[float] = []
    for o in occ:
        covered += [o.nominal] if o.count == 1 else [o.nominal + i * (o.last_nominal - o.nominal) / (o.count - 1)
                                                     for i in range(o.count)]
    assert len(covered) == len(set(covered)), "a nominal time was handled twice"
    assert [round(c - covered[0], 3) for c in covered] == [float(i) for i in range(len(covered))], "a time was lost"
    runs = db.execute_sql("SELECT context FROM run WHERE trigger = 'schedule'").fetchall()
    nominals = [json.loads(r[0])["nominal"] for r in runs]
    assert len(nominals) == len(set(nominals)), "a nominal time fired twice"
    assert all(o.state in ("fired", "missed") for o in occ), [o.state for o in occ]
    db.close()


def test_a_postgresql_restart_under_200_runs_every_run_completes_exactly_once(own_cluster, pg_workers):
    import psycopg

    with psycopg.connect(own_cluster.url, autocommit=True) as admin:
        admin.execute("CREATE DATABASE restart_test")
    url = pg_server.with_database(own_cluster.url, "restart_test")
    db = open_database(url)
    q = create_task("Queue lane", "test", {"seconds": 0.02, "mark": True})
    d = create_task("Direct lane", "test", {"seconds": 0.02, "mark": True}, direct=True)
    workers = [pg_workers(url, f"w{i}") for i in range(2)]
    for w in workers:
        w.wait_started(60)
    _enqueue(db, [(q.id, "queue"), (d.id, "direct")] * 100)
    wait_for(lambda: _ended(db) >= 40, 120, "40 runs to end before the restart")
    db.close()
    own_cluster.restart()  # fast: every connection is cut
    db = open_database(url)
    wait_for(lambda: _ended(db) >= 200, 180, "all 200 runs to end after the restart", lambda: _status_counts(db))
    for w in workers:
        wait_for(lambda w=w: "database connection back" in w.output, 30, "the worker to say it reconnected")
        assert w.stop(60) == 0, w.output
    statuses = Counter(r[0] for r in db.execute_sql("SELECT status FROM run").fetchall())
    assert statuses == {"succeeded": 200}, statuses
    marks = _marks(db)
    assert len(marks) == 200 and set(marks.values()) == {1}, "a run's work committed twice (or never)"
    assert db.execute_sql("SELECT count(*) FROM run WHERE status IN ('queued', 'running')").fetchone()[0] == 0
    for w in workers:
        # Said once per loss, not once per try or per part of the worker.
        assert w.output.count("database connection lost") == 1, w.output
        assert w.output.count("database connection back") == 1, w.output
        assert "Traceback" not in w.output
    db.close()
