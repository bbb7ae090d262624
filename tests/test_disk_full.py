"""A full disk: the real cause ("database or disk is full") reaches the run, the CLI and the worker's
log, one line each, and the database stays as it was.

The process tests put the database on a small tmpfs and fill it (root only; skipped where mounting
is impossible). The in-process tests get a real SQLITE_FULL from SQLite itself by capping the
connection's page count, which works anywhere.
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from t4o_tui.engine import queue
from t4o_tui.engine.tasks import create_task
from t4o_tui.orienteering.synthetic import entry_list_xml, make_event
from t4o_tui.store import migrations
from t4o_tui.store.models import TestMark

from conftest import Worker, child_env, wait_for, write_config

FULL = "database or disk is full"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} [A-Z]+ ")


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 32 MB tmpfs of the test's own."""
    mnt = Path(tempfile.mkdtemp(prefix="t4o-full-"))
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m,mode=0755", "tmpfs", str(mnt)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        mnt.rmdir()
        pytest.skip(f"cannot mount a small file system here: {res.stderr.strip()}")
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        mnt.rmdir()


def _fill(folder: Path) -> Path:
    """Fill the file system of `folder` up to the last byte."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        chunk = 1 << 20
        while chunk:
            try:
                os.write(fd, b"\0" * chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                chunk //= 2
    finally:
        os.close(fd)
    assert os.statvfs(folder).f_bavail == 0
    return filler


def _cli(db: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "t4o_tui", "--db", str(db), *args], capture_output=True,
                          text=True, timeout=120, env=child_env(home))


def _one_line(res: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("t4o-tui: error: ") and fragment in lines[0], res.stderr


def test_disk_full_fails_the_run_and_task_add_with_the_real_cause(small_disk, tmp_path):
    db = small_disk / "event.sqlite"
    entries = tmp_path / "entries.xml"  # the input lives elsewhere: only the database's disk is full
    entries.write_bytes(entry_list_xml(make_event(seed=7, entries=15000)))
    assert _cli(db, tmp_path, "task", "add", "Entries", "--job", "import-entries", "--set", f"file={entries}").returncode == 0
    write_config(tmp_path, "[share]\nport = 0\n")  # no clash with another server on the default port
    worker = Worker(db, tmp_path, "worker")
    try:
        worker.wait_started()
        filler = _fill(small_disk)  # not a byte left
        _one_line(_cli(db, tmp_path, "task", "add", "Late", "--job", "test"), f"database {db}: {FULL}")
        # The worker's own writes (presence, leases) fail too: it says so, one line each time.
        wait_for(lambda: "step failed" in worker.output, 30, "the worker to log a failed step")

        # Room for the queue's small writes (enqueue, claim, leases), not for 15,000 entries. The
        # import's committed steps may take that room to the last byte (a WAL that cannot be
        # checkpointed, since the database file cannot grow): the worker then cannot record the
        # run's end and says so each second, the run staying `running`. An operator frees space
        # (here: a reserve file) and the end is recorded then, nothing lost.
        reserve = small_disk / "reserve"
        os.truncate(filler, filler.stat().st_size - (3 << 20))
        reserve.write_bytes(b"\0" * (2 << 20))
        said_before = worker.output.count("queue lane: database or disk is full")
        run = subprocess.Popen([sys.executable, "-m", "t4o_tui", "--db", str(db), "run", "Entries", "--wait"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(tmp_path))
        try:
            wait_for(lambda: run.poll() is not None
                     or worker.output.count("queue lane: database or disk is full") > said_before,
                     120, "the run to end or the worker to say it cannot record its end")
            if run.poll() is None:
                reserve.unlink()
            stdout, stderr = run.communicate(timeout=120)
        except (subprocess.TimeoutExpired, AssertionError):
            run.kill()
            raise AssertionError(f"run --wait did not end; the worker said:\n{worker.output}") from None
        res = subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr)
        assert res.returncode == 1, (res.stdout, res.stderr)
        assert f"run 1 failed: OperationalError: {FULL}" in res.stdout, res.stdout
        assert "cannot rollback" not in res.stdout
    finally:
        code = worker.stop()
    out = worker.output
    assert "Traceback" not in out
    for line in out.splitlines():
        assert LOG_LINE.match(line) or line.startswith("t4o-tui: error: "), f"not one line per event: {line!r}"
    assert f"run 1 (Entries) failed: OperationalError: {FULL}" in out
    assert re.search(rf"WARNING (supervisor|scheduler) step failed: (OperationalError: )?{FULL}; retrying", out), out
    assert code in (0, 1)  # 1 when even its last words (its presence row) could not be written

    filler.unlink()
    tasks = _cli(db, tmp_path, "tasks", "--json")
    assert tasks.returncode == 0, tasks.stderr
    assert '"Late"' not in tasks.stdout
    log = _cli(db, tmp_path, "log", "1").stdout
    assert "Traceback (most recent call last)" in log  # the traceback is in the run's log
    entries_count = subprocess.run(
        [sys.executable, "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM entry').fetchone()[0])", str(db)],
        capture_output=True, text=True, check=True).stdout.strip()
    # Written in committed steps (jobs/steps.py): the steps before the full disk stay, the one under
    # way is undone, and the run's log says exactly how many were written; a re-run finishes it.
    said = re.search(r"stopped after writing (\d+) of 15000 entries in (\d+) committed steps", log)
    assert said, log
    assert entries_count == said.group(1) and int(entries_count) < 15000
    # With room again, the same import run again finishes it: nothing doubled.
    again = Worker(db, tmp_path, "worker-again")
    try:
        again.wait_started()
        rerun = _cli(db, tmp_path, "run", "Entries", "--wait")
        assert rerun.returncode == 0, (rerun.stdout, rerun.stderr)
    finally:
        again.stop()
    counts = subprocess.run(
        [sys.executable, "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*), "
         "count(DISTINCT identifier) FROM entry').fetchone())", str(db)],
        capture_output=True, text=True, check=True).stdout.strip()
    assert counts == "(15000, 15000)"


# -- in process: a real SQLITE_FULL from a capped page count ------------------------------------------
@pytest.fixture
def capped(db):
    task = create_task("A", "test", {})
    conn = db.connection()
    run_id = queue.enqueue(conn, task.id, direct=False, trigger="manual", now=0.0)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count={pages}")
    yield db, run_id
    conn.execute("PRAGMA max_page_count=1073741823")


def _many_lines(db, run_id: int) -> None:
    for _ in range(200):
        db.execute_sql("INSERT INTO run_log(run_id, ts, level, message) VALUES (?, 0, 'info', ?)", (run_id, "x" * 2000))


def test_write_tx_raises_the_real_cause_and_leaves_no_transaction_open(capped):
    db, run_id = capped
    conn = db.connection()
    with pytest.raises(Exception, match=FULL), queue.write_tx(conn):
        _many_lines(db, run_id)
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM run_log").fetchone()[0] == 0
    assert conn.execute("SELECT status FROM run WHERE id=?", (run_id,)).fetchone()[0] == "queued"


@pytest.mark.parametrize("nested", [False, True])
def test_atomic_raises_the_real_cause(capped, nested):
    db, run_id = capped
    with pytest.raises(Exception, match=FULL), db.atomic():
        TestMark.create(run_id=run_id, created_at=0.0)
        if nested:
            with db.atomic():
                _many_lines(db, run_id)
        else:
            _many_lines(db, run_id)
    conn = db.connection()
    assert not conn.in_transaction
    assert TestMark.select().count() == 0
    with db.atomic():  # the connection is usable again
        TestMark.create(run_id=run_id, created_at=1.0)
    assert TestMark.select().count() == 1


def test_a_migration_step_that_fills_the_disk_says_so(tmp_path, monkeypatch):
    conn = sqlite3.connect(tmp_path / "m.sqlite", isolation_level=None)
    migrations.upgrade(conn)

    def fills_the_disk(c: sqlite3.Connection) -> None:
        c.execute("CREATE TABLE filler(x TEXT)")
        for _ in range(200):
            c.execute("INSERT INTO filler VALUES (?)", ("x" * 2000,))

    monkeypatch.setattr(migrations, "STEPS", [*migrations.STEPS, fills_the_disk])
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count={pages + 2}")
    with pytest.raises(sqlite3.OperationalError, match=FULL):
        migrations.upgrade(conn, target=migrations.LATEST + 1)
    assert not conn.in_transaction
    assert migrations.current_version(conn) == migrations.LATEST
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name='filler'").fetchone()[0] == 0
