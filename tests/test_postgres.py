"""PostgreSQL (issue 14) on a real server: the schema from empty, the queue with several worker
processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import peewee
import pg_server
import pytest

from t4o_tui.engine import queue
from t4o_tui.engine.job import JobError, RunContext
from t4o_tui.engine.tasks import create_task
from t4o_tui.jobs.backup import BackupJob
from t4o_tui.store import backend_postgres, migrations
from t4o_tui.store.db import DatabaseError, is_postgres, open_database
from t4o_tui.store.models import Meta, Station

from conftest import child_env

# A real PostgreSQL server and a fresh database on it per test (tests/pg_server.py).
pg_admin_url, pg_url, own_cluster = pg_server.pg_admin_url, pg_server.pg_url, pg_server.own_cluster

HERE = Path(__file__).resolve().parent


def _pg_columns(url: str) -> dict[str, list[str]]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        ).fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def _sqlite_columns() -> dict[str, list[str]]:
    mem = sqlite3.connect(":memory:", isolation_level=None)
    migrations.upgrade(mem)
    tables = [r[0] for r in mem.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
    return {t: [r[1] for r in mem.execute(f'PRAGMA table_info("{t}")')] for t in tables}


def test_translate_placeholders_outside_literals():
    t = backend_postgres.translate
    assert t("SELECT a FROM x WHERE b=? AND c=:name", True) == "SELECT a FROM x WHERE b=%s AND c=%(name)s"
    assert t("SELECT '?:x 5%' , v::text, 7 % 2 WHERE d=?", True) == "SELECT '?:x 5%%' , v::text, 7 %% 2 WHERE d=%s"
    assert t("SELECT 7 % 2", False) == "SELECT 7 % 2"


def test_schema_from_empty_matches_sqlite_and_reopens(pg_url):
    db = open_database(pg_url)
    try:
        assert is_postgres(db)
        assert _pg_columns(pg_url) == _sqlite_columns()
        assert Meta.get(Meta.key == "schema_version").value == str(migrations.LATEST)
        # Seed rows are there, and new rows number on after them.
        assert [s.name for s in Station.select().order_by(Station.id)][:2] == ["Override", "Readout"]
        t = create_task("T", "test", {"seconds": 0})
        assert t.id == 1 and t.direct is False
        # Peewee's own introspection (written with psycopg's %s) works beside the engine's `?`.
        assert db.table_exists("task") and "run" in db.get_tables()
        # The triggers: the evaluator reloads when an admin adds or edits a race.
        rev = int(Meta.get(Meta.key == "schedule_rev").value)
        db.execute_sql("INSERT INTO event(name) VALUES ('E')")
        db.execute_sql("INSERT INTO race(event_id, name) VALUES (1, 'R')")
        db.execute_sql("UPDATE race SET first_start = 5 WHERE id = 1")
        assert int(Meta.get(Meta.key == "schedule_rev").value) == rev + 2
    finally:
        db.close()
    again = open_database(pg_url)  # opening a current database changes nothing
    assert Meta.get(Meta.key == "schema_version").value == str(migrations.LATEST)
    again.close()


def test_a_foreign_or_newer_database_is_refused_in_one_line(pg_url):
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE other (x int)")
    with pytest.raises(DatabaseError, match=r"not a t4o-tui database") as info:
        open_database(pg_url)
    assert "\n" not in str(info.value)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE other")
    open_database(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(DatabaseError, match=r"newer than this t4o-tui"):
        open_database(pg_url)


def test_an_unreachable_server_is_said_in_one_line_without_the_password(pg_admin_url):
    url = "postgresql://t4o:secret@127.0.0.1:1/nowhere"
    with pytest.raises(DatabaseError) as info:
        open_database(url)
    msg = str(info.value)
    assert msg.startswith("cannot open database postgresql://t4o:***@127.0.0.1:1/nowhere: ")
    assert "secret" not in msg and "\n" not in msg


@pytest.mark.slow
def test_two_worker_processes_run_200_runs_exactly_once_and_the_queue_lane_one_at_a_time(pg_url, tmp_path):
    db = open_database(pg_url)
    db.execute_sql(
        "CREATE TABLE work_log (id BIGSERIAL PRIMARY KEY, run_id BIGINT NOT NULL, lane TEXT NOT NULL, "
        "worker TEXT NOT NULL, lane_running TEXT NOT NULL, started TIMESTAMPTZ NOT NULL, ended TIMESTAMPTZ)"
    )
    q, d = create_task("Q", "test", {"seconds": 0}), create_task("D", "test", {"seconds": 0}, direct=True)
    n_queue, n_direct = 200, 60
    total = n_queue + n_direct
    workers = [
        subprocess.Popen([sys.executable, str(HERE / "pg_queue_worker.py"), pg_url, f"w{i}", str(total)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(tmp_path))
        for i in (1, 2)
    ]
    try:
        for w in workers:  # both are connected and polling before the first run exists
            assert _line(w) == "ready"
        conn = db.connection()
        queue_ids = []
        for i in range(n_queue):
            queue_ids.append(queue.enqueue(conn, q.id, direct=False, trigger="manual", now=time.time()))
            if i % 4 == 0:
                queue.enqueue(conn, d.id, direct=True, trigger="manual", now=time.time())
        for _ in range(n_direct - len(range(0, n_queue, 4))):
            queue.enqueue(conn, d.id, direct=True, trigger="manual", now=time.time())
        for w in workers:
            _, err = w.communicate(timeout=180)
            assert w.returncode == 0, err
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    rows = db.execute_sql("SELECT status, attempts, count(*) FROM run GROUP BY status, attempts").fetchall()
    assert rows == [("succeeded", 1, total)]
    work = db.execute_sql(
        "SELECT run_id, lane, worker, lane_running, started, ended FROM work_log ORDER BY started"
    ).fetchall()
    # Exactly once: one piece of work per run, none doubled, none lost.
    assert sorted(r[0] for r in work) == sorted(r[0] for r in db.execute_sql("SELECT id FROM run"))
    lane = [r for r in work if r[1] == "queue"]
    # One at a time: while a queue-lane run worked, it was the lane's only running run, its own
    # worker's; and no two queue-lane runs' work overlapped in the server's clock.
    assert all(r[3] == f"{r[0]}:{r[2]}" for r in lane), [r for r in lane if r[3] != f"{r[0]}:{r[2]}"][:3]
    overlaps = [(a[0], b[0]) for a, b in zip(lane, lane[1:], strict=False) if b[4] < a[5]]
    assert overlaps == []
    # In enqueue order, and both workers took their share.
    assert [r[0] for r in lane] == queue_ids
    by_worker = {w: sum(1 for r in work if r[2] == w) for w in ("w1", "w2")}
    assert by_worker["w1"] > 0 and by_worker["w2"] > 0, by_worker
    db.close()



def _worker(url: str, name: str, total: int, tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, str(HERE / "pg_queue_worker.py"), url, name, str(total), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(tmp_path))
    assert _line(proc) == "ready"
    return proc


def _line(proc: subprocess.Popen[str], timeout: float = 90) -> str:
    """The child's next line, or a failure naming what it wrote to stderr: never a wait without end
    (a worker that hangs before its readiness line would hold the suite until CI's limit)."""
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(proc.stdout.readline() if proc.stdout else ""), daemon=True)
    reader.start()
    reader.join(timeout)
    if reader.is_alive() or not got:
        proc.kill()
        err = proc.stderr.read() if proc.stderr else ""
        raise AssertionError(f"no line from {proc.args[2:4]} within {timeout:.0f} s; its stderr: {err[-2000:]}")
    return got[0].strip()


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_it_when_its_lease_expires_and_another_worker_runs_it(pg_url, tmp_path):
    db = open_database(pg_url)
    db.execute_sql(
        "CREATE TABLE work_log (id BIGSERIAL PRIMARY KEY, run_id BIGINT NOT NULL, lane TEXT NOT NULL, "
        "worker TEXT NOT NULL, lane_running TEXT NOT NULL, started TIMESTAMPTZ NOT NULL, ended TIMESTAMPTZ)"
    )
    q = create_task("Q", "test", {"seconds": 0})
    conn = db.connection()
    ids = [queue.enqueue(conn, q.id, direct=False, trigger="manual", now=time.time()) for _ in range(20)]
    lease = 2.0
    first = _worker(pg_url, "w1", len(ids), tmp_path, str(lease), "hang")
    try:
        assert first.stdout is not None
        line = _line(first)
        assert line == f"working {ids[0]}", (line, first.stderr)
        first.kill()  # SIGKILL mid-run: no finish, no goodbye; only its lease says it is gone
        first.wait(timeout=30)
        second = _worker(pg_url, "w2", len(ids), tmp_path)
        _, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
    finally:
        for p in (first, locals().get("second")):
            if p is not None and p.poll() is None:
                p.kill()
    runs = db.execute_sql("SELECT id, status, attempts, worker FROM run ORDER BY id").fetchall()
    assert runs == [(rid, "succeeded", 2 if rid == ids[0] else 1, "w2") for rid in ids]
    log = [r[0] for r in db.execute_sql("SELECT message FROM run_log WHERE run_id = ?", (ids[0],)).fetchall()]
    assert log == ["worker lost (w1); lease expired, run requeued (attempt 1 of 3)"]
    work = db.execute_sql("SELECT run_id, worker, started, ended FROM work_log ORDER BY id").fetchall()
    killed = [w for w in work if w[1] == "w1"]
    assert [w[0] for w in killed] == [ids[0]]  # killed before it could record the run's end
    again = [w for w in work if w[1] == "w2"]
    # The run was taken over only once the dead worker's lease had expired, and then ran once more.
    assert [w[0] for w in again] == ids
    assert (again[0][2] - killed[0][2]).total_seconds() >= lease - 0.1
    db.close()


def test_enqueue_and_cancel_notify_listeners_at_commit_only(pg_url):
    db = open_database(pg_url)
    listener = backend_postgres.Listener(pg_url)
    try:
        assert listener.wait(0.05) == []
        conn = db.connection()
        t = create_task("T", "test", {"seconds": 0})
        rid = queue.enqueue(conn, t.id, direct=False, trigger="manual", now=1)
        assert listener.wait(10) == [f"enqueued queue {rid}"]
        # A run enqueued in a transaction that rolls back was never there: nobody is woken.
        with pytest.raises(RuntimeError), queue.write_tx(conn):
            queue._insert_run(conn, t.id, direct=True, trigger="manual", now=2, context=None)
            backend_postgres.BACKEND.notify(conn, "enqueued direct 999")
            raise RuntimeError("rolled back")
        assert listener.wait(0.2) == []
        claimed, _ = queue.claim_queue(conn, worker="w", now=3, lease=15)
        assert claimed is not None
        assert queue.request_cancel(conn, rid, now=4) == "running"
        assert listener.wait(10) == [f"cancel {rid}"]
    finally:
        listener.close()
        db.close()



def test_a_listener_woken_from_another_thread_stops_waiting_and_loses_no_notification(pg_url):
    db = open_database(pg_url)
    listener = backend_postgres.Listener(pg_url)
    try:
        waker = threading.Timer(0.05, listener.wake)
        waker.start()
        t0 = time.monotonic()
        assert listener.wait(600) == []
        assert time.monotonic() - t0 < 300  # woken, not timed out
        waker.join()
        # A notification pending beside a wake is not lost.
        t = create_task("T", "test", {"seconds": 0})
        rid = queue.enqueue(db.connection(), t.id, direct=False, trigger="manual", now=1)
        listener.wake()
        heard = listener.wait(600)
        if not heard:  # the wake was read first; the notification waits for the next call
            heard = listener.wait(600)
        assert heard == [f"enqueued queue {rid}"]
    finally:
        listener.close()
        listener.wake()  # after close: nothing is written anywhere, nothing raised
        db.close()


def test_after_a_server_restart_the_next_call_reconnects(own_cluster):
    import psycopg

    url = pg_server.with_database(own_cluster.url, "event")
    with psycopg.connect(own_cluster.url, autocommit=True) as admin:
        admin.execute("CREATE DATABASE event")
    db = open_database(url)
    try:
        t = create_task("T", "test", {"seconds": 0})
        rid = queue.enqueue(db.connection(), t.id, direct=False, trigger="manual", now=1)
        own_cluster.restart()
        # The call that meets the cut says so (the caller retries); it does not hang or hide it.
        with pytest.raises((psycopg.OperationalError, peewee.OperationalError)):
            queue.has_queued(db.connection(), "queue")
        assert queue.has_queued(db.connection(), "queue")
        claimed, _ = queue.claim_queue(db.connection(), worker="w", now=2, lease=15)
        assert claimed is not None and claimed.id == rid
        # The ORM's own connection use recovers the same way.
        own_cluster.restart()
        with pytest.raises(peewee.OperationalError):
            Station.select().count()
        assert Station.select().count() == 6
    finally:
        db.close()


def test_processes_opening_an_empty_database_at_once_create_the_schema_once(pg_url, tmp_path):
    code = "import sys; from t4o_tui.store.db import open_database; open_database(sys.argv[1]).close(); print('ok')"
    procs = [subprocess.Popen([sys.executable, "-c", code, pg_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=child_env(tmp_path)) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [(p.returncode, out.strip()) for p, (out, _) in zip(procs, outs, strict=True)] == [(0, "ok")] * 4, outs
    db = open_database(pg_url)
    assert _pg_columns(pg_url) == _sqlite_columns()
    assert [s.name for s in Station.select()].count("Override") == 1  # seed rows once
    db.close()


def _as_older_version(url: str) -> None:
    """Make a current database look like one made a version ago that lacked a table, a column, an
    index, a trigger and a meta key (what an additive step adds)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE team_result")
        conn.execute("ALTER TABLE class DROP COLUMN relay_multi_leg")
        conn.execute("DROP INDEX run_failed")
        conn.execute("DROP TRIGGER schedule_rev_class ON class")
        conn.execute("DELETE FROM meta WHERE key = 'share_hits_written'")
        conn.execute("DELETE FROM station WHERE name = 'Radio'")  # an admin's change: stays
        conn.execute("UPDATE meta SET value = %s WHERE key = 'schema_version'", (str(migrations.LATEST - 1),))


def test_an_older_postgresql_database_gains_what_additive_steps_add(pg_url, monkeypatch):
    open_database(pg_url).close()
    _as_older_version(pg_url)
    # Until the step is declared additive, the database is refused, naming the step.
    monkeypatch.setattr(backend_postgres, "ADDITIVE_STEPS", set())
    with pytest.raises(DatabaseError, match=rf"version {migrations.LATEST - 1}, .* step {migrations.LATEST} has no "
                                            "PostgreSQL upgrade yet"):
        open_database(pg_url)
    monkeypatch.setattr(backend_postgres, "ADDITIVE_STEPS", {migrations.LATEST})
    monkeypatch.setattr(backend_postgres, "FIRST_VERSION", migrations.LATEST - 1)
    db = open_database(pg_url)
    try:
        assert _pg_columns(pg_url) == _sqlite_columns()
        assert Meta.get(Meta.key == "schema_version").value == str(migrations.LATEST)
        assert Meta.get(Meta.key == "share_hits_written").value == ""
        assert [s.name for s in Station.select().order_by(Station.id)] == [
            "Override", "Readout", "Finish", "Start check", "Card check"]
        indexes = {r[0] for r in db.execute_sql("SELECT indexname FROM pg_indexes WHERE tablename = 'run'")}
        assert "run_failed" in indexes
        rev = int(Meta.get(Meta.key == "schedule_rev").value)
        db.execute_sql("INSERT INTO event(name) VALUES ('E')")
        db.execute_sql("INSERT INTO race(event_id, name) VALUES (1, 'R')")  # +1
        db.execute_sql("INSERT INTO class(race_id, name) VALUES (1, 'H21')")
        db.execute_sql("UPDATE class SET first_start = 5, relay_multi_leg = 1")  # +1: the trigger is back
        assert int(Meta.get(Meta.key == "schedule_rev").value) == rev + 2
    finally:
        db.close()


class _Ctx(RunContext):
    """The engine's side of a run, reduced to what the backup job uses."""

    def __init__(self, db: peewee.Database, data_dir: Path, settings: dict[str, object]) -> None:
        self.run_id, self.task_name, self.settings, self.row = 7, "Backup", settings, None
        self.db, self.data_dir = db, data_dir
        self.lines: list[str] = []
        self.outputs: list[Path] = []

    def log(self, level: str, message: str) -> None:
        self.lines.append(f"{level}: {message}")

    def progress(self, fraction: float | None, message: str | None = None) -> None:
        pass

    @property
    def cancelled(self) -> bool:
        return False

    def sleep(self, seconds: float) -> None:
        raise AssertionError("not used")

    def transaction(self):  # type: ignore[override]
        raise AssertionError("not used")

    def output(self, name: str, media_type: str):  # type: ignore[override]
        raise AssertionError("not used")

    def register_output(self, path: Path, media_type: str) -> None:
        self.outputs.append(path)


def test_backup_of_a_postgresql_database_is_a_pg_dump_that_restores(pg_url, pg_admin_url, tmp_path, monkeypatch):
    import psycopg

    db = open_database(pg_url)
    try:
        create_task("Results", "test", {"seconds": 0})
        ctx = _Ctx(db, tmp_path / "files", {"keep": 1})
        BackupJob().run(ctx)
        ctx.run_id += 1
        BackupJob().run(ctx)
        first, second = ctx.outputs
        assert first != second
        assert first.parent == tmp_path / "files" / "backups" and first.suffix == ".dump"
        assert not first.exists() and second.exists()  # keep 1: the older copy went
        # The copy is real: pg_restore brings the task back in a new database.
        copy = "t4o_restore_" + pg_url.rsplit("_", 1)[-1]
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{copy}"')
        try:
            restore = subprocess.run(["pg_restore", "--no-owner", f"--dbname={pg_server.with_database(pg_admin_url, copy)}",
                                      str(second)], capture_output=True, text=True, timeout=120)
            assert restore.returncode == 0, restore.stderr
            with psycopg.connect(pg_server.with_database(pg_admin_url, copy)) as conn:
                assert conn.execute("SELECT name FROM task").fetchall() == [("Results",)]
        finally:
            with psycopg.connect(pg_admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        # Without pg_dump the run fails saying what is missing.
        monkeypatch.setattr("shutil.which", lambda name: None)
        monkeypatch.setattr("t4o_tui.jobs.backup.glob", lambda pattern: [])
        with pytest.raises(JobError, match=r"^pg_dump is not installed: a PostgreSQL database is backed up with it"):
            BackupJob().run(ctx)
    finally:
        db.close()


@pytest.mark.slow
def test_a_server_restart_mid_way_loses_no_run_and_leaves_none_stuck(own_cluster, tmp_path):
    import psycopg

    url = pg_server.with_database(own_cluster.url, "event")
    with psycopg.connect(own_cluster.url, autocommit=True) as admin:
        admin.execute("CREATE DATABASE event")
    db = open_database(url)
    db.execute_sql(
        "CREATE TABLE work_log (id BIGSERIAL PRIMARY KEY, run_id BIGINT NOT NULL, lane TEXT NOT NULL, "
        "worker TEXT NOT NULL, lane_running TEXT NOT NULL, started TIMESTAMPTZ NOT NULL, ended TIMESTAMPTZ)"
    )
    q, d = create_task("Q", "test", {"seconds": 0}), create_task("D", "test", {"seconds": 0}, direct=True)
    conn = db.connection()
    ids = [queue.enqueue(conn, q.id, direct=False, trigger="manual", now=time.time()) for _ in range(200)]
    ids += [queue.enqueue(conn, d.id, direct=True, trigger="manual", now=time.time()) for _ in range(40)]
    db.close()
    workers = [_worker(url, f"w{i}", len(ids), tmp_path, "2") for i in (1, 2)]
    try:
        deadline = time.monotonic() + 60
        while True:  # restart once a good part of the runs has gone through
            with psycopg.connect(url) as c:
                done = c.execute("SELECT count(*) FROM run WHERE status = 'succeeded'").fetchone()[0]
            if done >= 60:
                break
            assert time.monotonic() < deadline, f"only {done} runs done"
            time.sleep(0.02)
        own_cluster.restart()
        errs = [w.communicate(timeout=180)[1] for w in workers]
        assert [w.returncode for w in workers] == [0, 0], errs
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    assert any("connection lost" in e for e in errs), errs  # the cut really hit the workers
    with psycopg.connect(url) as c:
        runs = dict(c.execute("SELECT id, status FROM run").fetchall())
        attempts = dict(c.execute("SELECT id, attempts FROM run").fetchall())
        work = c.execute("SELECT run_id, count(*) FROM work_log GROUP BY run_id").fetchall()
        lost = {r[0] for r in c.execute("SELECT run_id FROM run_log WHERE message LIKE 'worker lost%'").fetchall()}
    # No run lost, none stuck: every one ended, and succeeded.
    assert sorted(runs) == sorted(ids) and set(runs.values()) == {"succeeded"}
    done_work = dict(work)
    assert set(done_work) == set(ids)
    # Work done twice only for a run the cut caught mid-way: it was requeued when its lease expired
    # (its second attempt), and its log says so.
    again = {rid for rid, n in done_work.items() if n > 1}
    assert all(attempts[rid] >= 2 and rid in lost for rid in again), (again, lost)
    assert all(n <= 2 for n in done_work.values())
