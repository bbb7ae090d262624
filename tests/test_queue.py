"""The queue's transactions on a real SQLite file and a real PostgreSQL server: claim order, one
queue-lane run, orphans, cancel, retention."""

from __future__ import annotations

import json
import threading
import time

import pg_server
import pytest

from t4o_tui.engine import maintenance, queue
from t4o_tui.engine.clock import FakeClock
from t4o_tui.engine.queue import ArtifactRecord, Outcome
from t4o_tui.engine.runs import get_run, latest_file, list_runs, run_log
from t4o_tui.engine.tasks import create_task
from t4o_tui.store.db import is_postgres, open_database
from t4o_tui.store.models import Run

# A real PostgreSQL server and a fresh database on it per test (tests/pg_server.py).
pg_admin_url, pg_url = pg_server.pg_admin_url, pg_server.pg_url

POLICIES = {"test": "requeue", "backup": "requeue"}


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, db_path):
    """The queue's protocol on both backends: an SQLite file, and a database on a real PostgreSQL server."""
    database = open_database(request.getfixturevalue("pg_url") if request.param == "postgresql" else db_path)
    yield database
    database.close()


def _task(name="T", direct=False, **kw):
    return create_task(name, "test", {"seconds": 0}, direct=direct, **kw)


def test_claims_oldest_first_and_one_queue_lane_run_at_a_time(db):
    conn = db.connection()
    t = _task()
    ids = [queue.enqueue(conn, t.id, direct=False, trigger="manual", now=100 + i) for i in range(3)]
    first, _ = queue.claim_queue(conn, worker="w1", now=200, lease=15)
    assert first is not None and first.id == ids[0]
    settings = json.loads(first.settings_text)
    assert first.task_name == "T" and first.job == "test" and settings["seconds"] == 0 and settings["fail"] is False
    # While a queue-lane run is running, nobody (this or another worker) claims another.
    assert queue.claim_queue(conn, worker="w2", now=201, lease=15)[0] is None
    done = Outcome(first.id, "succeeded", 202, logs=[(202, "info", "done")])
    second, recorded = queue.claim_queue(conn, worker="w1", now=202, lease=15, finish=done)
    assert recorded and second is not None and second.id == ids[1]
    r = get_run(db, first.id)
    assert (r.status, r.worker, r.started_at, r.finished_at) == ("succeeded", "w1", 200, 202)
    assert [line.message for line in run_log(db, first.id)] == ["done"]


def test_a_claim_that_waits_for_the_write_lock_reads_its_clock_only_once_it_holds_it(db, db_path, request):
    """A run's start is never before the end of the run it waited for (issue 9, seen in CI).

    The claimer is handed a clock, not a time: were the time read before the lock, a claim that
    waited behind another worker's finish would record a start earlier than that finish.
    """
    conn = db.connection()
    t = _task()
    first_id = queue.enqueue(conn, t.id, direct=False, trigger="manual", now=1)
    second_id = queue.enqueue(conn, t.id, direct=False, trigger="manual", now=2)
    first, _ = queue.claim_queue(conn, worker="a", now=10, lease=600)
    assert first is not None and first.id == first_id
    released, started = threading.Event(), threading.Event()
    reads: list[bool] = []
    result: dict = {}

    def clock() -> float:
        reads.append(released.is_set())
        return 30.0

    def claimer() -> None:
        c = db.connection()  # this thread's own connection
        started.set()
        done = Outcome(first_id, "succeeded", 20, logs=[])
        result["claim"] = queue.claim_queue(c, worker="a", now=clock, lease=600, finish=done)

    holder = open_database(request.getfixturevalue("pg_url") if is_postgres(db) else db_path)
    try:
        hc = holder.connection()
        with queue.write_tx(hc):
            queue.backend_of(hc).lock_queue_lane(hc, wait=True)
            th = threading.Thread(target=claimer)
            th.start()
            assert started.wait(10)
            time.sleep(0.3)  # lets the claimer reach the lock; the assertion holds however long this takes
            released.set()
        th.join(30)
    finally:
        holder.close()
    assert not th.is_alive()
    claimed, recorded = result["claim"]
    assert recorded and claimed is not None and claimed.id == second_id
    assert reads == [True]
    assert get_run(db, second_id).started_at == 30.0 >= get_run(db, first_id).finished_at


def test_direct_lane_claims_several_and_ignores_the_queue_lane(db):
    conn = db.connection()
    q, d = _task("Q"), _task("D", direct=True)
    queue.enqueue(conn, q.id, direct=False, trigger="manual", now=1)
    d_ids = [queue.enqueue(conn, d.id, direct=True, trigger="manual", now=2 + i) for i in range(5)]
    got = queue.claim_direct(conn, worker="w", now=10, lease=15, limit=4)
    assert [c.id for c in got] == d_ids[:4]
    assert all(c.lane == "direct" for c in got)
    # The queue lane is independent of running direct runs.
    assert queue.claim_queue(conn, worker="w", now=10, lease=15)[0] is not None


def test_finish_by_a_worker_that_lost_the_run_is_discarded(db):
    conn = db.connection()
    t = _task()
    rid = queue.enqueue(conn, t.id, direct=False, trigger="manual", now=1)
    queue.claim_queue(conn, worker="old", now=2, lease=15)
    queue.recover_orphans(conn, now=100, policies=POLICIES)  # lease expired: requeued
    queue.claim_queue(conn, worker="new", now=101, lease=15)
    assert queue.finish(conn, Outcome(rid, "failed", 102, error="late"), worker="old") is False
    r = get_run(db, rid)
    assert (r.status, r.worker, r.error) == ("running", "new", None)
    assert any("lost the run" in line.message for line in run_log(db, rid))


def test_orphans_requeue_idempotent_fail_otherwise_and_give_up_after_three_attempts(db):
    conn = db.connection()
    clock = FakeClock(1000)
    a, b = _task("A"), _task("B", on_orphan="fail")
    ra = queue.enqueue(conn, a.id, direct=False, trigger="manual", now=clock.now())
    rb = queue.enqueue(conn, b.id, direct=True, trigger="manual", now=clock.now())
    queue.claim_queue(conn, worker="dead", now=clock.now(), lease=15)
    queue.claim_direct(conn, worker="dead", now=clock.now(), lease=15, limit=4)
    clock.advance(10)
    assert queue.recover_orphans(conn, now=clock.now(), policies=POLICIES) == []  # lease still current
    clock.advance(6)
    actions = {x.run_id: x.action for x in queue.recover_orphans(conn, now=clock.now(), policies=POLICIES)}
    assert actions == {ra: "requeued", rb: "failed"}
    assert get_run(db, rb).error == "worker lost"
    assert get_run(db, ra).status == "queued"
    for attempt in (2, 3):
        c, _ = queue.claim_queue(conn, worker="dead", now=clock.now(), lease=15)
        assert c is not None and c.attempts == attempt
        clock.advance(16)
        queue.recover_orphans(conn, now=clock.now(), policies=POLICIES)
    r = get_run(db, ra)
    assert (r.status, r.error) == ("failed", "worker lost 3 times")
    assert Run.select().where(Run.status == "running").count() == 0


def test_a_process_never_takes_its_own_running_run_for_an_orphan(db):
    """A lease that ran out because the database was busy is renewed by the process that runs the
    run; only another process's expired runs are orphans (the run would otherwise run twice)."""
    conn = db.connection()
    clock = FakeClock(1000)
    a, b = _task("A"), _task("B")
    ra = queue.enqueue(conn, a.id, direct=True, trigger="manual", now=clock.now())
    rb = queue.enqueue(conn, b.id, direct=True, trigger="manual", now=clock.now())
    queue.claim_direct(conn, worker="here", now=clock.now(), lease=15, limit=1)
    queue.claim_direct(conn, worker="there", now=clock.now(), lease=15, limit=1)
    clock.advance(30)
    actions = queue.recover_orphans(conn, now=clock.now(), policies=POLICIES, worker="here", alive=[ra], lease=15)
    assert [(x.run_id, x.action) for x in actions] == [(rb, "requeued")]
    r = Run.get_by_id(ra)
    assert (r.status, r.worker, r.lease_until) == ("running", "here", clock.now() + 15)
    # A run id this process does not hold under its own name is no exception.
    clock.advance(30)
    actions = queue.recover_orphans(conn, now=clock.now(), policies=POLICIES, worker="elsewhere", alive=[ra], lease=15)
    assert [(x.run_id, x.action) for x in actions] == [(ra, "requeued")]


def test_cancel_queued_at_once_and_running_by_request(db):
    conn = db.connection()
    t = _task()
    r1 = queue.enqueue(conn, t.id, direct=False, trigger="manual", now=1)
    r2 = queue.enqueue(conn, t.id, direct=False, trigger="manual", now=2)
    queue.claim_queue(conn, worker="w", now=3, lease=15)
    assert queue.request_cancel(conn, r2, now=4) == "cancelled"
    assert get_run(db, r2).status == "cancelled"
    assert queue.request_cancel(conn, r1, now=5) == "running"
    assert queue.cancel_requests(conn, worker="w") == {r1}
    assert queue.cancel_requests(conn, worker="other") == set()
    with pytest.raises(queue.AlreadyEnded):
        queue.request_cancel(conn, r2, now=6)
    with pytest.raises(LookupError):
        queue.request_cancel(conn, 999, now=6)


def test_retention_keeps_the_newest_runs_and_the_latest_file(db, tmp_path):
    conn = db.connection()
    t = _task()
    files = []
    for i in range(12):
        rid = queue.enqueue(conn, t.id, direct=False, trigger="manual", now=i)
        c, _ = queue.claim_queue(conn, worker="w", now=i, lease=15)
        assert c is not None and c.id == rid
        arts = []
        if i == 2:  # the only run with a file: it must survive pruning
            p = tmp_path / "keep.txt"
            p.write_text("x")
            files.append(p)
            arts = [ArtifactRecord(str(p), "keep.txt", "text/plain", 1)]
        if i == 1:
            p = tmp_path / "old.txt"
            p.write_text("x")
            files.append(p)
            arts = [ArtifactRecord(str(p), "old.txt", "text/plain", 1)]
        status = "failed" if i == 5 else "succeeded"
        queue.finish(conn, Outcome(rid, status, i + 0.5, artifacts=arts), worker="w")
    removed = maintenance.prune(db, keep=5)
    left = sorted(r.id for r in list_runs(db, task=t.id, limit=None))
    assert removed == 6
    assert left == [3, 8, 9, 10, 11, 12]
    assert latest_file(db, t.id).name == "keep.txt"
    assert files[1].exists() and not files[0].exists()


def test_claim_stays_fast_with_many_finished_runs(db):
    """The partial indexes keep the claim independent of history (a plan check, not a timing)."""
    explain = "EXPLAIN QUERY PLAN "
    if is_postgres(db):
        # PostgreSQL plans by statistics: give it a history of finished runs, as on a race day.
        t = _task()
        db.execute_sql("INSERT INTO run(task_id, status, lane, trigger, enqueued_at) "
                       "SELECT ?, 'succeeded', 'queue', 'manual', g FROM generate_series(1, 50000) g", (t.id,))
        db.execute_sql("ANALYZE run")
        explain = "EXPLAIN "
    plan = db.execute_sql(explain + queue.CLAIM_QUEUE_SQL.split(" RETURNING")[0],
                          {"now": 0, "worker": "w", "lease": 0}).fetchall()
    text = " ".join(str(row[-1]) for row in plan)
    assert "run_queued" in text and "run_running" in text, text
