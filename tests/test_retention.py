"""Retention in batches (issue 19): the rule (newest N finished runs per task, the latest file, the
newest N occurrences per schedule), short delete transactions with the lock free in between, and
passes that look only at what changed. On a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import math
import sqlite3

import pg_server
import pytest

from t4o_tui.engine import maintenance, queue
from t4o_tui.engine.queue import ArtifactRecord, Outcome
from t4o_tui.engine.runs import latest_file, run_log
from t4o_tui.engine.tasks import create_task
from t4o_tui.store.db import database_path, open_database

pg_admin_url, pg_url = pg_server.pg_admin_url, pg_server.pg_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, db_path):
    database = open_database(request.getfixturevalue("pg_url") if request.param == "postgresql" else db_path)
    yield database
    database.close()


@pytest.fixture
def sqlite_db(db_path):
    """SQLite only: what it checks (a writer waiting for the whole database's lock) has no
    PostgreSQL counterpart, where a delete locks only its own rows."""
    database = open_database(db_path)
    yield database
    database.close()


def _finished(conn, task_id, n, *, t0=0.0, files=None, status="succeeded"):
    """n runs of a task through the queue's own transactions, each with a log line; ids in order."""
    ids = []
    for i in range(n):
        rid = queue.enqueue(conn, task_id, direct=False, trigger="manual", now=t0 + i)
        c, _ = queue.claim_queue(conn, worker="w", now=t0 + i, lease=15)
        assert c is not None and c.id == rid
        arts = [ArtifactRecord(*files[i])] if files and i in files else []
        queue.finish(conn, Outcome(rid, status, t0 + i + 0.5, logs=[(t0 + i, "info", f"run {i}")], artifacts=arts),
                     worker="w")
        ids.append(rid)
    return ids


def _run_ids(db, task_id):
    return [r[0] for r in db.execute_sql("SELECT id FROM run WHERE task_id = ? ORDER BY id", (task_id,)).fetchall()]


@pytest.mark.parametrize("walk", [False, True], ids=["task by task", "in id order"])
def test_a_big_pruning_goes_in_batches_and_keeps_the_rule(db, tmp_path, monkeypatch, walk):
    # Over WALK_FROM surplus runs of several tasks the deletes walk the table in id order.
    monkeypatch.setattr(maintenance, "WALK_FROM", 0 if walk else 10**9)
    conn = db.connection()
    t = create_task("T", "test", {"seconds": 0})
    other = create_task("Other", "test", {"seconds": 0})
    old_file, latest = tmp_path / "old.html", tmp_path / "latest.html"
    old_file.write_text("x")
    latest.write_text("y")
    # The task's latest file is on its 3rd run, far older than the newest 10; an older file too.
    ids = _finished(conn, t.id, 60, files={1: (str(old_file), "old.html", "text/html", 1),
                                           2: (str(latest), "latest.html", "text/html", 1)})
    mine = _finished(conn, other.id, 8, t0=100)
    stats = maintenance.PruneStats()
    removed = maintenance.prune(db, keep=10, batch=7, stats=stats)
    assert removed == stats.runs == 49  # 60 - 10 newest - the latest file's run
    assert stats.transactions >= math.ceil(49 / 7)
    assert _run_ids(db, t.id) == [ids[2], *ids[-10:]]
    assert _run_ids(db, other.id) == mine  # 8 <= 10: untouched
    assert latest_file(db, t.id).name == "latest.html" and latest.exists()
    assert not old_file.exists()
    assert run_log(db, ids[0]) == [] and len(run_log(db, ids[-1])) == 1
    assert db.execute_sql("SELECT count(*) FROM run_log WHERE run_id NOT IN (SELECT id FROM run)").fetchone()[0] == 0


def test_between_delete_transactions_the_write_lock_is_free(sqlite_db):
    db = sqlite_db
    conn = db.connection()
    t = create_task("T", "test", {"seconds": 0})
    _finished(conn, t.id, 40)
    other = sqlite3.connect(database_path(db), timeout=0, isolation_level=None)  # no busy wait at all
    got = []

    def pause(seconds):
        other.execute("BEGIN IMMEDIATE")  # fails at once with "database is locked" if prune held it
        got.append(seconds)
        other.execute("COMMIT")

    stats = maintenance.PruneStats()
    assert maintenance.prune(db, keep=4, batch=5, stats=stats, sleep=pause) == 36
    assert len(got) >= stats.transactions - 1 >= math.ceil(36 / 5) - 1
    other.close()


def test_a_pass_looks_only_at_tasks_with_new_runs_and_at_runs_that_finished_since(db):
    conn = db.connection()
    a = create_task("A", "test", {"seconds": 0})
    b = create_task("B", "test", {"seconds": 0})
    _finished(conn, a.id, 6)
    # B's oldest run is still queued while the first pass runs: it must not be lost from sight.
    waiting = queue.enqueue(conn, b.id, direct=False, trigger="manual", now=10)
    b_done = []
    for i in range(5):  # finished through the direct lane, so the queued one stays queued
        rid = queue.enqueue(conn, b.id, direct=True, trigger="manual", now=11 + i)
        (c,) = queue.claim_direct(conn, worker="w", now=11 + i, lease=15, limit=1)
        queue.finish(conn, Outcome(c.id, "succeeded", 11.5 + i), worker="w")
        b_done.append(rid)
    first = maintenance.PruneStats()
    assert maintenance.prune(db, keep=3, stats=first) == 3 + 2  # A: 6 - 3; B: 5 finished - 3
    assert waiting in _run_ids(db, b.id)  # queued: never pruned
    steady = maintenance.PruneStats()
    assert maintenance.prune(db, keep=3, stats=steady) == 0
    assert steady.tasks_checked == 1  # B only: its queued run holds the mark back
    # The queued run ends now, older than B's newest three: the next pass removes it.
    c, _ = queue.claim_queue(conn, worker="w", now=20, lease=15)
    assert c is not None and c.id == waiting
    queue.finish(conn, Outcome(waiting, "succeeded", 20.5), worker="w")
    assert maintenance.prune(db, keep=3) == 1
    assert _run_ids(db, b.id) == b_done[-3:]
    idle = maintenance.PruneStats()
    assert maintenance.prune(db, keep=3, stats=idle) == 0
    assert (idle.tasks_checked, idle.schedules_checked, idle.transactions) == (0, 0, 0)
    _finished(conn, a.id, 1, t0=30)
    one = maintenance.PruneStats()
    assert maintenance.prune(db, keep=3, stats=one) == 1 and one.tasks_checked == 1


def test_a_smaller_retention_in_another_process_still_prunes(db):
    conn = db.connection()
    t = create_task("T", "test", {"seconds": 0})
    _finished(conn, t.id, 12)
    assert maintenance.prune(db, keep=100) == 0  # e.g. a worker configured to keep more
    assert maintenance.prune(db, keep=5) == 7
    assert maintenance.prune(db, keep=100) == 0


def test_occurrences_are_pruned_in_batches_newest_kept(db):
    from t4o_tui.engine.schedules import ScheduleInput, add_schedules

    create_task("T", "test", {"seconds": 0})
    s1, s2 = add_schedules(db, [ScheduleInput(task="T", kind="interval", every=60, start=0, expiry=10**10)] * 2)
    rows = [(sid, float(i), "missed") for i in range(30) for sid in (s1, s2)]
    with db.atomic():
        for sid, nominal, state in rows:
            db.execute_sql("INSERT INTO occurrence(schedule_id, nominal, state) VALUES (?, ?, ?)", (sid, nominal, state))
    stats = maintenance.PruneStats()
    assert maintenance.prune_occurrences(db, keep=8, batch=4, stats=stats) == 2 * 22
    assert stats.transactions >= 2 * math.ceil(22 / 4)
    for sid in (s1, s2):
        kept = [r[0] for r in db.execute_sql("SELECT nominal FROM occurrence WHERE schedule_id = ? ORDER BY id",
                                             (sid,)).fetchall()]
        assert kept == [float(i) for i in range(22, 30)]
    again = maintenance.PruneStats()
    assert maintenance.prune_occurrences(db, keep=8, stats=again) == 0 and again.schedules_checked == 0


def test_a_pass_asked_to_stop_ends_between_transactions_and_the_next_goes_on(db):
    conn = db.connection()
    t = create_task("T", "test", {"seconds": 0})
    ids = _finished(conn, t.id, 40)
    stats = maintenance.PruneStats()
    removed = maintenance.prune(db, keep=4, batch=5, stats=stats, stop=lambda: stats.transactions >= 3)
    assert stats.transactions == 3 and removed == 15  # three full batches, then the runtime stopped it
    assert len(_run_ids(db, t.id)) == 40 - 15
    assert maintenance.prune(db, keep=4, batch=5) == 36 - 15  # not hidden by a mark: the rest goes
    assert _run_ids(db, t.id) == ids[-4:]
