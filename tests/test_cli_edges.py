"""CLI edges as real processes: negative and absurd durations, limits, an unknown task named once,
and reading a database that cannot be written here (read-only file, folder, file system)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from t4o_tui.engine import queue
from t4o_tui.engine.tasks import find_task

from conftest import Worker, child_env, write_config


def _one_line_error(res: subprocess.CompletedProcess[str], fragment: str, code: int = 1) -> str:
    assert res.returncode == code, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("t4o-tui: error: ") and fragment in lines[0], lines[0]
    return lines[0]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- durations, limits, the unknown task --------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["schedule", "add", "A", "--every", "-5s", "--start", "now", "--expiry", "+1h"], "--every: must not be negative (got -5s)"),
        (["schedule", "add", "A", "--every", "-5", "--start", "now", "--expiry", "+1h"], "--every: must not be negative (got -5)"),
        (["schedule", "add", "A", "--every", "99999999999d", "--start", "now", "--expiry", "+1h"], "--every: at most 366 days (got 99999999999d)"),
        (["schedule", "add", "A", "--every", "inf", "--start", "now", "--expiry", "+1h"], "--every: 'inf' is not a duration"),
        (["schedule", "add", "A", "--every", "1m", "--catch-up-window", "-1h", "--start", "now", "--expiry", "+1h"], "--catch-up-window: must not be negative"),
        (["schedule", "preview", "--every", "-30s"], "--every: must not be negative (got -30s)"),
        (["task", "add", "X", "--job", "test", "--timeout", "-5s"], "timeout: must not be negative (got -5s)"),
        (["task", "set", "A", "--timeout", "400d"], "timeout: at most 366 days (got 400d)"),
        (["share", "add", "A", "--cache", "-1m"], "--cache: must not be negative (got -1m)"),
    ],
)
def test_negative_and_absurd_durations_are_value_errors_naming_the_option(cli, db_path, args, fragment):
    cli("task", "add", "A", "--job", "test", check=True)
    before = _digest(db_path)
    line = _one_line_error(cli(*args), fragment)
    assert "expected one argument" not in line
    assert _digest(db_path) == before


def test_a_negative_offset_still_works(cli):
    cli("task", "add", "A", "--job", "test", check=True)
    res = cli("schedule", "add", "A", "--every", "10m", "--start", "-1h", "--expiry", "+1h")
    assert res.returncode == 0, res.stderr


def test_schedule_add_for_an_unknown_task_says_only_that(cli, db_path):
    cli("task", "add", "A", "--job", "test", check=True)  # a job that allows sub-minute: not the point
    before = _digest(db_path)
    line = _one_line_error(cli("schedule", "add", "nosuchtask", "--every", "5s", "--start", "now", "--expiry", "+1h"),
                           "unknown task 'nosuchtask'")
    assert 'Job "?"' not in line and "?" not in line and ";" not in line, line
    assert _digest(db_path) == before


@pytest.mark.parametrize("command", ["runs", "occurrences"])
@pytest.mark.parametrize("value", ["-1", "0", "ten"])
def test_limit_must_be_at_least_one_or_all(cli, command, value):
    cli("tasks", check=True)
    res = cli(command, "--limit", value)
    _one_line_error(res, "argument --limit: ", code=2)
    assert "or 'all'" in res.stderr and res.stdout == ""


def test_limit_all_lists_every_run(cli, db, db_path):
    cli("task", "add", "A", "--job", "test", check=True)
    task_id = find_task("A").id
    for i in range(60):
        queue.enqueue(db.connection(), task_id, direct=False, trigger="manual", now=1000.0 + i)
    assert len(json.loads(cli("runs", "--json", check=True).stdout)) == 50  # the default
    assert len(json.loads(cli("runs", "--json", "--limit", "55", check=True).stdout)) == 55
    every = json.loads(cli("runs", "--json", "--limit", "all", check=True).stdout)
    assert [r["id"] for r in every] == list(range(60, 0, -1))
    assert json.loads(cli("occurrences", "--json", "--limit", "all", check=True).stdout) == []


def test_preview_count_is_bounded(cli):
    _one_line_error(cli("schedule", "preview", "--every", "5m", "-n", "0"), "argument -n: must be at least 1 and at most 1000", code=2)
    _one_line_error(cli("schedule", "preview", "--every", "5m", "-n", "1000000"), "at most 1000 (got 1000000)", code=2)
    out = cli("schedule", "preview", "--every", "5m", "-n", "3", check=True).stdout
    assert len(out.strip().splitlines()) == 4  # the description and three times


# -- a database that cannot be written here -----------------------------------------------------------
READ_COMMANDS = [
    (["tasks"], "Results"),
    (["task", "show", "Results"], "job: test"),
    (["runs"], "succeeded"),
    (["log", "1"], "succeeded in"),
    (["log", "1", "--follow"], "succeeded in"),
    (["schedules"], "every 10 minutes"),
    (["schedule", "show", "1"], "every 10 minutes"),
    (["schedule", "preview", "1", "-n", "2"], "every 10 minutes"),
    (["occurrences"], "SCHEDULE"),
    (["shares"], "/s/"),
]


def _unprivileged(cmd: list[str]) -> list[str]:
    """Run `cmd` subject to file permissions. Root reads and writes anything: it keeps its uid (and
    so can still reach the interpreter under /root) but gives up the capabilities that bypass
    permission checks."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv to give up the permission-bypassing capabilities")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", *cmd]


def _t4o(db: Path, home: Path, *args: str, unprivileged: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "t4o_tui", "--db", str(db), *args]
    return subprocess.run(_unprivileged(cmd) if unprivileged else cmd, capture_output=True, text=True,
                          timeout=60, env=child_env(home))


@pytest.fixture
def event(tmp_path: Path) -> Iterator[Path]:
    """A database with a task, a finished run, a schedule and a share, in a folder of its own."""
    base = Path(tempfile.mkdtemp(prefix="t4o-ro-"))
    base.chmod(0o755)
    folder = base / "event"
    folder.mkdir()
    db = folder / "event.sqlite"
    for args in (["task", "add", "Results", "--job", "test", "--set", "seconds=0"], ["run", "Results", "--wait"],
                 ["schedule", "add", "Results", "--every", "10m", "--start", "now", "--expiry", "+1d"],
                 ["share", "add", "Results"]):
        res = _t4o(db, tmp_path, *args, unprivileged=False)
        assert res.returncode == 0, res.stderr
    assert sorted(os.listdir(folder)) == ["event.sqlite"]  # closed: no -wal, no -shm
    try:
        yield db
    finally:
        for p in (folder, db):
            if p.exists():
                p.chmod(0o755 if p.is_dir() else 0o644)
        shutil.rmtree(base)


def _reads_work(db: Path, home: Path) -> None:
    for args, fragment in READ_COMMANDS:
        res = _t4o(db, home, *args)
        assert res.returncode == 0, (args, res.stderr)
        assert fragment in res.stdout, (args, res.stdout)
        assert "Traceback" not in res.stderr


def test_read_only_file_in_a_writable_folder(event, tmp_path):
    event.chmod(0o444)
    before = _digest(event)
    _reads_work(event, tmp_path)
    _one_line_error(_t4o(event, tmp_path, "task", "add", "More", "--job", "test"), "no permission to read and write it")
    assert _digest(event) == before
    # Nothing left beside it: a read-only -shm would later stop every writer.
    assert sorted(os.listdir(event.parent)) == ["event.sqlite"]
    event.chmod(0o644)
    assert _t4o(event, tmp_path, "task", "add", "More", "--job", "test").returncode == 0


def test_read_only_database_of_an_older_schema_is_not_upgraded(event, tmp_path):
    import sqlite3

    with sqlite3.connect(event) as conn:
        conn.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    conn.close()
    event.chmod(0o444)
    before = _digest(event)
    _one_line_error(_t4o(event, tmp_path, "tasks"), "older than this t4o-tui's")
    assert _digest(event) == before


def test_read_only_folder(event, tmp_path):
    event.parent.chmod(0o555)
    before = _digest(event)
    _reads_work(event, tmp_path)
    _one_line_error(_t4o(event, tmp_path, "task", "add", "More", "--job", "test"), "is not writable")
    assert _digest(event) == before
    assert sorted(os.listdir(event.parent)) == ["event.sqlite"]


def test_read_only_folder_while_a_worker_has_the_database_open(event, tmp_path):
    """The worker's -wal and -shm exist: a reader shares its index and sees its latest commits."""
    write_config(tmp_path, "[share]\nport = 0\n")
    worker = Worker(event, tmp_path, "worker")
    try:
        worker.wait_started()
        assert Path(f"{event}-shm").exists()
        event.parent.chmod(0o555)
        # Committed by the owner after the reader's folder went read-only; still in the WAL.
        assert _t4o(event, tmp_path, "task", "add", "Fresh", "--job", "test", unprivileged=False).returncode == 0
        res = _t4o(event, tmp_path, "tasks", "--json")
        assert res.returncode == 0, res.stderr
        assert {t["name"] for t in json.loads(res.stdout)} == {"Results", "Fresh"}
        # --follow sees a run end that happens while it watches.
        assert _t4o(event, tmp_path, "task", "add", "Slow", "--job", "test", "--set", "seconds=1",
                    unprivileged=False).returncode == 0
        assert _t4o(event, tmp_path, "run", "Slow", unprivileged=False).returncode == 0
        follow = _t4o(event, tmp_path, "log", "2", "--follow")
        assert follow.returncode == 0 and "succeeded in" in follow.stdout, follow.stderr
    finally:
        event.parent.chmod(0o755)
        assert worker.stop() == 0


@pytest.fixture
def read_only_mount(event: Path) -> Iterator[Path]:
    """The event's database on a file system mounted read-only (root only)."""
    mnt = event.parent.parent / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a file system here")
    try:
        shutil.copy2(event, mnt / event.name)
        assert subprocess.run(["mount", "-o", "remount,ro", str(mnt)], capture_output=True).returncode == 0
        yield mnt / event.name
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        mnt.rmdir()


def test_read_only_file_system(read_only_mount, tmp_path):
    db = read_only_mount
    for args, fragment in READ_COMMANDS:  # as root too: a read-only mount refuses everybody
        res = _t4o(db, tmp_path, *args, unprivileged=False)
        assert res.returncode == 0 and fragment in res.stdout, (args, res.stdout, res.stderr)
    _one_line_error(_t4o(db, tmp_path, "task", "add", "More", "--job", "test", unprivileged=False),
                    "it is on a read-only file system")


def test_readonly_creates_no_database(cli, tmp_path):
    """--readonly changes nothing: without a database there it says so and creates none."""
    missing = tmp_path / "nothing-here" / "event.sqlite"
    missing.parent.mkdir()
    res = cli("--readonly", db=missing)
    assert res.returncode == 1 and not missing.exists() and list(missing.parent.iterdir()) == []
    assert res.stderr == (f"t4o-tui: error: --readonly: there is no event database at {missing}; give --db FILE, "
                          "or start without --readonly to create one\n")
