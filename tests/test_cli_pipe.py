"""Commands that print end quietly when their reader stops reading (`t4o-tui occurrences | head`)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import peewee
import pytest

from t4o_tui.engine.schedules import ScheduleInput, add_schedule
from t4o_tui.engine.tasks import create_task

from conftest import child_env

SIGPIPE_STATUS = 128 + 13


def _event_with_history(db: peewee.Database) -> None:
    """A task with a schedule, 3000 occurrences and a run with a log: every listing prints plenty."""
    create_task("Results", "test", {"seconds": 0})
    sid = add_schedule(db, ScheduleInput(task="Results", kind="interval", every=60.0, start=1_700_000_000.0,
                                         expiry=1_800_000_000.0, tz="UTC")).id
    conn = db.connection()
    conn.executemany("INSERT INTO occurrence(schedule_id, nominal, count, state, reason) VALUES (?, ?, 1, 'missed', ?)",
                     [(sid, 1_700_000_000.0 + 60 * i, "missed: the scheduler was down for a while") for i in range(3000)])
    tid = conn.execute("SELECT id FROM task WHERE name = 'Results'").fetchone()[0]
    conn.execute("INSERT INTO run(task_id, status, lane, trigger, enqueued_at, attempts) "
                 "VALUES (?, 'succeeded', 'queue', 'manual', 1700000000, 1)", (tid,))
    conn.commit()


@pytest.mark.parametrize("args", [["occurrences", "--limit", "3000"], ["occurrences", "--json"], ["tasks"],
                                  ["tasks", "--json"], ["jobs"], ["schedules"], ["runs", "--json"], ["shares"]],
                         ids=lambda a: " ".join(a))
def test_a_closed_pipe_ends_quietly(db, db_path, tmp_path, args):
    _event_with_history(db)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line: every write fails
    try:
        res = subprocess.run([sys.executable, "-m", "t4o_tui", "--db", str(db_path), *args], stdout=write_end,
                             stderr=subprocess.PIPE, text=True, env=child_env(tmp_path), timeout=60)
    finally:
        os.close(write_end)
    assert res.stderr == ""
    assert res.returncode == SIGPIPE_STATUS


def test_occurrences_into_head_prints_its_lines_and_nothing_else(db, db_path, tmp_path):
    _event_with_history(db)
    cmd = shlex.join([sys.executable, "-m", "t4o_tui", "--db", str(db_path), "occurrences", "--limit", "3000"])
    # 3000 lines are far more than a pipe holds: the program is still writing when head leaves.
    res = subprocess.run(["sh", "-c", f"{cmd} | head -n 3"], capture_output=True, text=True, env=child_env(tmp_path),
                         timeout=60)
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["SCHEDULE", "NOMINAL", "STATE", "LATE", "ms", "RUN", "REASON"]
    assert len(lines) == 3 and "missed" in lines[2]
    assert res.stderr == ""


def test_output_that_fits_is_unchanged(cli, db, db_path: Path):
    _event_with_history(db)
    res = cli("tasks", check=True)
    assert res.returncode == 0 and "Results" in res.stdout and res.stderr == ""
