"""PostgreSQL (issue 14) from the command line: --db, T4O_TUI_DB and the config file's db select a
server's database for the commands; without psycopg, one line says what to install."""

from __future__ import annotations

import json
import subprocess
import sys

import pg_server
import pytest

from conftest import child_env, write_config

pg_admin_url, pg_url = pg_server.pg_admin_url, pg_server.pg_url


def _t4o(tmp_path, *args: str, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "t4o_tui", *args], capture_output=True, text=True, timeout=120,
                          env=child_env(tmp_path, **(env or {})), **kw)


def test_the_commands_work_on_a_postgresql_database_named_by_db_env_or_config(pg_url, tmp_path):
    res = _t4o(tmp_path, "--db", pg_url, "task", "add", "Results", "--job", "test")
    assert res.returncode == 0 and "task 1 'Results' created" in res.stdout, res.stderr
    # The same database through T4O_TUI_DB, then through the config file.
    res = _t4o(tmp_path, "run", "Results", env={"T4O_TUI_DB": pg_url})
    assert res.returncode == 0 and "run 1 queued" in res.stdout, res.stderr
    write_config(tmp_path, f'db = "{pg_url}"\n')
    res = _t4o(tmp_path, "schedule", "add", "Results", "--every", "30s", "--start", "+1h", "--expiry", "+2h")
    assert res.returncode == 0, res.stderr
    runs = json.loads(_t4o(tmp_path, "runs", "--json").stdout)
    assert [(r["id"], r["task"], r["status"]) for r in runs] == [(1, "Results", "queued")]
    schedules = json.loads(_t4o(tmp_path, "schedules", "--json").stdout)
    assert [s["task"] for s in schedules] == ["Results"]
    res = _t4o(tmp_path, "cancel", "1")
    assert res.returncode == 0, res.stderr
    assert json.loads(_t4o(tmp_path, "runs", "--json").stdout)[0]["status"] == "cancelled"
    res = _t4o(tmp_path, "schedule", "pause", "1", "--note", "course change", "--until", "+30m")
    assert res.returncode == 0 and res.stdout.rstrip().endswith(": course change"), res.stderr
    [row] = json.loads(_t4o(tmp_path, "schedules", "--json").stdout)
    assert (row["state"], row["pause_note"]) == ("paused", "course change")
    assert _t4o(tmp_path, "occurrences", "--json").returncode == 0
    res = _t4o(tmp_path, "share", "add", "Results")
    assert res.returncode == 0 and "/s/" in res.stdout, res.stderr
    assert _t4o(tmp_path, "share", "revoke", "1").returncode == 0
    [share] = json.loads(_t4o(tmp_path, "shares", "--json").stdout)
    assert share["state"] == "revoked"


def test_a_missing_psycopg_is_one_line_saying_what_to_install(tmp_path):
    # A psycopg that cannot be imported, first on the path: as if the extra were not installed.
    fake = tmp_path / "nopsycopg" / "psycopg"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('psycopg is not installed (test)')\n")
    url = "postgresql://t4o:secret@127.0.0.1:1/race"
    for args in (["--db", url, "tasks"], ["--db", url, "--worker"]):
        res = _t4o(tmp_path, *args, env={"PYTHONPATH": str(fake.parent)})
        assert res.returncode == 1
        assert res.stderr.strip() == ("t4o-tui: error: cannot open database postgresql://t4o:***@127.0.0.1:1/race: "
                                      "PostgreSQL needs psycopg 3, which is not installed: pip install 't4o-tui[postgres]'")


@pytest.mark.parametrize("args", [["tasks"], ["--worker"]])
def test_an_unreachable_server_is_one_line_without_the_password(args, tmp_path):
    url = "postgresql://t4o:secret@127.0.0.1:1/race"
    res = _t4o(tmp_path, "--db", url, *args)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    line = res.stderr.strip()
    assert "\n" not in line and line.startswith("t4o-tui: error: cannot open database postgresql://t4o:***@127.0.0.1:1/race: ")
    assert "secret" not in line
