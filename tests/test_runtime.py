"""The runtime in-process on a real SQLite file: lanes, files, timeout, cancel, all-or-nothing, stuck jobs."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pg_fixtures
import pytest

from t4o_tui.config import data_dir_for
from t4o_tui.engine.job import Job, RunContext
from t4o_tui.engine.runs import cancel_run, enqueue_run, get_run, latest_file, run_log
from t4o_tui.engine.runtime import Runtime, RuntimeOptions, workers_alive
from t4o_tui.engine.tasks import create_task
from t4o_tui.jobs import registry
from t4o_tui.store.models import Task, TestMark

# `db` on SQLite and on PostgreSQL, `backend` says which (tests/pg_fixtures.py).
backend, db, db_target, pg_admin_url, pg_url = (
    pg_fixtures.backend, pg_fixtures.db, pg_fixtures.db_target, pg_fixtures.pg_admin_url, pg_fixtures.pg_url)
only_sqlite = pg_fixtures.only_sqlite

FINISHED = ("succeeded", "failed", "cancelled")


def drive(db, db_path: Path, until: Callable[[Runtime], bool], *, timeout: float = 20, **opts) -> Runtime:
    """Run a runtime until `until(rt)` holds (checked every 20 ms), then stop it gracefully."""
    options = RuntimeOptions(**{"poll": 0.05, "grace": 1.0, "cancel_wait": 1.0, **opts})

    async def main() -> Runtime:
        rt = Runtime(db, data_dir=data_dir_for(db_path), options=options)
        await rt.start()
        try:
            end = time.monotonic() + timeout
            while not await asyncio.to_thread(until, rt):
                if time.monotonic() > end:
                    raise AssertionError("condition not reached in time")
                await asyncio.sleep(0.02)
        finally:
            await rt.stop()
        return rt

    rt = asyncio.run(main())
    db.connect(reuse_if_open=True)
    return rt


def finished(db, *run_ids: int) -> Callable[[Runtime], bool]:
    return lambda rt: all(get_run(db, r).status in FINISHED for r in run_ids)


def test_a_run_writes_its_file_atomically_and_it_becomes_the_tasks_latest_file(db, db_path):
    t = create_task("File", "test", {"seconds": 0.1, "write_file": True})
    r1 = enqueue_run(db, "File")
    r2 = enqueue_run(db, "File")
    drive(db, db_path, finished(db, r1, r2))
    run = get_run(db, r2)
    assert run.status == "succeeded"
    f = latest_file(db, t.id)
    assert f is not None and f.run_id == r2 and f.path == run.output
    assert Path(f.path).read_text().startswith(f"Test run {r2} of task File")
    assert not list(Path(f.path).parent.glob(".*.part"))  # no temp file left behind
    lines = [line.message for line in run_log(db, r2)]
    assert lines[0].startswith("started on") and lines[-1].startswith("succeeded in")
    assert get_run(db, r2).progress == 1.0


def test_timeout_fails_the_run_with_a_clear_reason(db, db_path):
    create_task("Slow", "test", {"seconds": 30}, timeout=0.5)
    rid = enqueue_run(db, "Slow")
    t0 = time.monotonic()
    drive(db, db_path, finished(db, rid))
    assert time.monotonic() - t0 < 10
    r = get_run(db, rid)
    assert (r.status, r.error) == ("failed", "timed out after 0.5 s")


def test_cancel_of_a_running_run_stops_it_within_a_second(db, db_path):
    create_task("Long", "test", {"seconds": 60})
    rid = enqueue_run(db, "Long")
    asked: dict[str, float] = {}

    def until(rt: Runtime) -> bool:
        r = get_run(db, rid)
        if r.status == "running" and "at" not in asked:
            asked["at"] = time.monotonic()
            assert cancel_run(db, rid) == "running"
        return r.status in FINISHED

    drive(db, db_path, until)
    r = get_run(db, rid)
    assert (r.status, r.error) == ("cancelled", "cancelled by admin")
    assert any("cancel requested" in line.message for line in run_log(db, rid))


def test_a_failing_run_leaves_the_database_unchanged_and_logs_the_traceback(db, db_path):
    create_task("Fails", "test", {"seconds": 0, "fail": True, "mark": True})
    create_task("Marks", "test", {"seconds": 0, "mark": True})
    before = db.execute_sql("SELECT count(*) FROM task").fetchone()
    bad, good = enqueue_run(db, "Fails"), enqueue_run(db, "Marks")
    drive(db, db_path, finished(db, bad, good))
    r = get_run(db, bad)
    assert r.status == "failed"
    assert r.error == "Test failure requested (setting 'fail')"
    assert "\n" not in r.error
    assert [m.run_id for m in TestMark.select()] == [good]  # the failed run's mark was rolled back
    assert db.execute_sql("SELECT count(*) FROM task").fetchone() == before
    log = "\n".join(line.message for line in run_log(db, bad))
    assert "Traceback (most recent call last)" in log and "JobError" in log


class Boom(Job):
    id, title, category, description = "boom", "Boom", "Other", "raises an unexpected error"

    def run(self, ctx: RunContext) -> None:
        with ctx.transaction():
            Task.update(name="changed").execute()
            {}["missing"]  # a bug in a job: KeyError


class Stubborn(Job):
    id, title, category, description = "stubborn", "Stubborn", "Other", "ignores cancel"

    def run(self, ctx: RunContext) -> None:
        time.sleep(3)  # never checks ctx.cancelled


@pytest.fixture
def extra_jobs(monkeypatch):
    monkeypatch.setitem(registry.JOBS, "boom", Boom)
    monkeypatch.setitem(registry.JOBS, "stubborn", Stubborn)


def test_an_unexpected_error_gives_one_line_and_rolls_back(db, db_path, extra_jobs):
    create_task("Bug", "boom")
    rid = enqueue_run(db, "Bug")
    drive(db, db_path, finished(db, rid))
    r = get_run(db, rid)
    assert (r.status, r.error) == ("failed", "KeyError: 'missing'")
    assert Task.get_by_id(1).name == "Bug"
    assert any("Traceback" in line.message and line.level == "error" for line in run_log(db, rid))


def test_a_job_that_ignores_timeout_is_given_up_and_the_queue_moves_on(db, db_path, extra_jobs):
    create_task("Stuck", "stubborn", timeout=0.3)
    create_task("Next", "test", {"seconds": 0})
    stuck, nxt = enqueue_run(db, "Stuck"), enqueue_run(db, "Next")
    drive(db, db_path, finished(db, stuck, nxt), abandon_after=0.5)
    assert get_run(db, stuck).status == "failed"
    assert get_run(db, stuck).error == "timed out after 0.3 s; the job did not stop"
    assert get_run(db, nxt).status == "succeeded"
    assert get_run(db, nxt).started_at < time.time()


def test_direct_runs_start_at_once_and_run_concurrently(db, db_path):
    create_task("Blocker", "test", {"seconds": 2})
    create_task("Now", "test", {"seconds": 0.5}, direct=True)
    blocker = enqueue_run(db, "Blocker")
    directs = [enqueue_run(db, "Now") for _ in range(3)]
    drive(db, db_path, finished(db, *directs))
    runs = [get_run(db, r) for r in directs]
    assert all(r.status == "succeeded" and r.lane == "direct" for r in runs)
    # All three were running at the same time, while the queue-lane run was still going.
    assert max(r.started_at for r in runs) < min(r.finished_at for r in runs)
    assert get_run(db, blocker).finished_at is None or get_run(db, blocker).finished_at > max(r.started_at for r in runs)


def test_stop_requeues_an_idempotent_run_that_outlives_the_grace(db, db_path):
    create_task("Long", "test", {"seconds": 60})
    rid = enqueue_run(db, "Long")
    drive(db, db_path, lambda rt: get_run(db, rid).status == "running", grace=0.2)
    r = get_run(db, rid)
    assert (r.status, r.worker, r.started_at) == ("queued", None, None)
    assert any("requeued" in line.message for line in run_log(db, rid))


def test_the_runtime_announces_itself_while_it_runs(db, db_path):
    seen: list[list[tuple[str, str]]] = []
    drive(db, db_path, lambda rt: bool(seen.append(workers_alive(db, time.time())) or seen[-1]))
    assert seen[-1][0][1] == "worker"
    assert workers_alive(db, time.time()) == []  # gone after a graceful stop


@only_sqlite  # the SQLite copy; pg_dump's is tested in test_postgres.py
def test_backup_is_a_consistent_copy_and_keeps_the_newest_n(db, db_path, tmp_path):
    create_task("Backup", "backup", {"folder": str(tmp_path / "bk"), "keep": 2})
    ids = [enqueue_run(db, "Backup") for _ in range(3)]
    drive(db, db_path, finished(db, *ids))
    assert [get_run(db, r).status for r in ids] == ["succeeded"] * 3
    copies = sorted((tmp_path / "bk").glob("backup-*.sqlite"))
    assert len(copies) == 2
    newest = Path(get_run(db, ids[-1]).output)
    assert newest in copies
    with sqlite3.connect(newest) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT name FROM task").fetchall() == [("Backup",)]
