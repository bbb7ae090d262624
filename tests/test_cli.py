"""The scriptable CLI as a real process: fixed names and JSON keys, one-line errors, nothing changed."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import child_env

RUN_KEYS = {"id", "task", "status", "lane", "trigger", "enqueued_at", "started_at", "finished_at", "worker", "error", "output"}


def _one_line_error(res: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("t4o-tui: error: ")
    assert fragment in lines[0], lines[0]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_jobs_and_tasks_json(cli):
    jobs = json.loads(cli("jobs", "--json", check=True).stdout)
    assert {j["id"] for j in jobs} >= {"test", "backup"}
    test = next(j for j in jobs if j["id"] == "test")
    assert [s["key"] for s in test["settings"]] == ["seconds", "fail", "write_file", "mark"]
    assert test["sub_minute"] is True
    cli("task", "add", "Import late", "--job", "test", "--set", "seconds=3", "--direct", check=True)
    tasks = json.loads(cli("tasks", "--json", check=True).stdout)
    assert tasks[0]["name"] == "Import late" and tasks[0]["direct"] is True and tasks[0]["settings"]["seconds"] == 3


def test_task_life_cycle(cli, db_path):
    cli("task", "add", "A", "--job", "test", "--set", "seconds=1", "--timeout", "5m", "--on-orphan", "fail", check=True)
    cli("task", "set", "A", "seconds=2.5", "fail=true", check=True)
    shown = json.loads(cli("task", "show", "A", "--json", check=True).stdout)
    assert shown["settings"]["seconds"] == 2.5 and shown["settings"]["fail"] is True
    assert shown["timeout"] == 300 and shown["on_orphan"] == "fail"
    cli("task", "set", "A", "--timeout", "default", "--on-orphan", "default", "--rename", "B", check=True)
    shown = json.loads(cli("task", "show", "B", "--json", check=True).stdout)
    assert shown["timeout"] == 3600 and shown["on_orphan"] == "requeue"
    out = cli("task", "duplicate", "B", check=True).stdout
    assert "'B (copy)'" in out
    cli("task", "set", "B", "seconds=0", "--set", "fail=false", "--set", "write_file=true", check=True)  # either form
    cli("run", "B", "--wait", check=True)
    assert any((db_path.parent / "event-files" / "files").rglob("*.txt"))
    cli("schedule", "add", "B", "--every", "10m", "--start", "now", "--expiry", "+1d", check=True)
    out = cli("task", "delete", "B", check=True).stdout
    assert out == "task 'B' deleted with 1 run(s), 1 schedule(s)\n"  # what went with it is said
    assert not any((db_path.parent / "event-files" / "files").rglob("*.txt"))  # its files went with it
    assert [t["name"] for t in json.loads(cli("tasks", "--json").stdout)] == ["B (copy)"]


def test_run_wait_without_a_worker_runs_in_process_and_exit_codes(cli):
    cli("task", "add", "Ok", "--job", "test", "--set", "seconds=0.1", "--set", "write_file=yes", check=True)
    cli("task", "add", "Bad", "--job", "test", "--set", "seconds=0", "--set", "fail=yes", check=True)
    ok = cli("run", "Ok", "--wait")
    assert ok.returncode == 0, ok.stderr
    assert "no worker is running on this database" in ok.stderr
    bad = cli("run", "Bad", "--wait")
    assert bad.returncode == 1
    assert "failed: Test failure requested (setting 'fail')" in bad.stdout
    runs = json.loads(cli("runs", "--json").stdout)
    assert [r["status"] for r in runs] == ["failed", "succeeded"]
    assert all(set(r) == RUN_KEYS for r in runs)
    ok_run = runs[1]
    assert ok_run["output"].endswith(".txt") and Path(ok_run["output"]).exists()
    assert ok_run["trigger"] == "manual" and ok_run["lane"] == "queue"
    for key in ("enqueued_at", "started_at", "finished_at"):
        assert ok_run[key][-6] in "+-" and ok_run[key][10] == "T"  # ISO 8601 with offset
    assert json.loads(cli("runs", "--task", "Ok", "--json").stdout)[0]["id"] == ok_run["id"]
    log = cli("log", str(ok_run["id"])).stdout
    assert "started on" in log and "succeeded in" in log


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["task", "add", "X", "--job", "nope"], "unknown job 'nope'"),
        (["task", "add", "X", "--job", "test", "--set", "seconds=-5"], "setting 'seconds': must be at least 0"),
        (["task", "add", "X", "--job", "test", "--set", "seconds=abc"], "setting 'seconds'"),
        (["task", "add", "X", "--job", "test", "--set", "fail=perhaps"], "setting 'fail': 'perhaps' is not yes/no"),
        (["task", "add", "X", "--job", "test", "--set", "colour=red"], "setting 'colour': unknown setting"),
        (["task", "add", "X", "--job", "backup", "--set", "keep=0"], "setting 'keep': must be at least 1"),
        (["task", "add", "X", "--job", "test", "--timeout", "soon"], "timeout:"),
        (["task", "add", "Existing", "--job", "test"], "already exists"),
        (["task", "add", "  ", "--job", "test"], "name: is required"),
        (["task", "set", "Ghost", "seconds=1"], "unknown task 'Ghost'"),
        (["task", "delete", "Ghost"], "unknown task 'Ghost'"),
        (["run", "Ghost"], "unknown task 'Ghost'"),
        (["cancel", "999"], "no run 999"),
        (["log", "999"], "unknown run 999"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(cli, db_path, args, fragment):
    cli("task", "add", "Existing", "--job", "test", check=True)
    before = _digest(db_path)
    res = cli(*args)
    _one_line_error(res, fragment)
    assert _digest(db_path) == before


def test_usage_errors_are_one_line(cli):
    res = cli("task", "add", "X")
    assert res.returncode == 2 and "the following arguments are required: --job" in res.stderr
    assert "Traceback" not in res.stderr


def test_database_in_a_missing_folder(cli, tmp_path):
    _one_line_error(cli("tasks", db=tmp_path / "nowhere" / "ev.sqlite"), "folder")
    assert not (tmp_path / "nowhere").exists()


def test_corrupt_database_file(cli, tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database, just some text that someone saved here" * 10)
    before = _digest(bad)
    _one_line_error(cli("tasks", db=bad), "not an SQLite database")
    assert _digest(bad) == before


def test_truncated_database_file(cli, tmp_path, db_path):
    cli("task", "add", "A", "--job", "test", check=True)
    broken = tmp_path / "broken.sqlite"
    data = db_path.read_bytes()
    broken.write_bytes(data[:100] + b"\0" * 20 + data[120:4096])
    res = cli("tasks", db=broken)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.startswith("t4o-tui: error: ")


def test_database_of_a_newer_version(cli, db_path):
    import sqlite3

    cli("tasks", check=True)
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    _one_line_error(cli("tasks"), "schema version 999 is newer than this t4o-tui understands")


def test_database_in_a_read_only_folder(tmp_path):
    base = Path(tempfile.mkdtemp(prefix="t4o-ro-"))
    try:
        base.chmod(0o755)
        folder = base / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        cmd = [sys.executable, "-m", "t4o_tui", "--db", str(folder / "ev.sqlite"), "tasks"]
        if os.geteuid() == 0:
            # root writes anywhere: run as an unprivileged user (nobody), who must reach the code.
            if shutil.which("setpriv") is None:
                pytest.skip("running as root without setpriv to drop privileges")
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
        env = child_env(base, HOME=str(base))
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
        if "ModuleNotFoundError" in res.stderr or "Permission denied: '/" in res.stderr and "python" in res.stderr:
            pytest.skip(f"the project is not readable by an unprivileged user here: {res.stderr.strip()}")
        _one_line_error(res, "is not writable")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)
        shutil.rmtree(base)


def test_bad_config_file_names_file_and_key(tmp_path, db_path):
    (tmp_path / "config.toml").write_text("[engine]\nlease = 0.5\n")
    res = subprocess.run([sys.executable, "-m", "t4o_tui", "--db", str(db_path), "tasks"], capture_output=True,
                         text=True, timeout=60, env=child_env(tmp_path))
    _one_line_error(res, "'lease' must be between 3 and 600 (got 0.5)")
    (tmp_path / "config.toml").write_text("[engine\n")
    res = subprocess.run([sys.executable, "-m", "t4o_tui", "--db", str(db_path), "tasks"], capture_output=True,
                         text=True, timeout=60, env=child_env(tmp_path))
    _one_line_error(res, "config.toml")
    assert "line 1" in res.stderr
