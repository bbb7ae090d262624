"""PostgreSQL (issue 14): what does not run on it yet (the TUI, the worker, the commands) refuses a
postgresql:// database in one line, from --db, T4O_TUI_DB or the config file."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import child_env, write_config


@pytest.mark.parametrize("args", [[], ["--worker"], ["tasks"], ["task", "add", "X", "--job", "test"]])
def test_the_tui_worker_and_commands_refuse_postgresql_in_one_line_until_they_run_on_it(args, tmp_path):
    """What does not run on PostgreSQL yet says so, without opening anything or a traceback."""
    url = "postgresql://t4o:secret@127.0.0.1:1/race"
    for env, cli_db in (({}, ["--db", url]), ({"T4O_TUI_DB": url}, [])):
        res = subprocess.run([sys.executable, "-m", "t4o_tui", *cli_db, *args], capture_output=True, text=True,
                             timeout=60, env=child_env(tmp_path, **env))
        assert res.returncode == 1, res.stderr
        assert res.stderr.strip() == (
            "t4o-tui: error: database postgresql://t4o:***@127.0.0.1:1/race: PostgreSQL is not available yet to "
            "the terminal UI, the worker or the commands (so far only its schema and the queue's claim protocol); "
            "use an SQLite file"
        )
    write_config(tmp_path, f'db = "{url}"\n')
    res = subprocess.run([sys.executable, "-m", "t4o_tui", *args], capture_output=True, text=True, timeout=60,
                         env=child_env(tmp_path))
    assert res.returncode == 1 and "PostgreSQL is not available yet" in res.stderr and "secret" not in res.stderr
