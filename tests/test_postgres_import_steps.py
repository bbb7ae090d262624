"""Import Entries on PostgreSQL sees what another machine changes between its steps (issue 14).

On PostgreSQL each step's rows are matched inside its transaction, against an index of the event
loaded before the first step. A change another machine commits meanwhile (a runner moved to another
class at its TUI) bumps meta.entry_rev through a trigger; the next step finds it changed, is
dropped and matched again on the index loaded anew, so the runner's row finds its entry where it is
now and is not made a second entry. Real server (tests/pg_server.py), the other machine a psycopg
connection of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from pg_fixtures import *  # noqa: F403
from pg_fixtures import only_postgresql

from t4o_tui.engine.runs import run_log
from t4o_tui.jobs import import_entries, steps
from t4o_tui.store.models import Event, Race

from conftest import run_job


def entry_table(path: Path, n: int, moved: dict[int, str] | None = None) -> None:
    """Runners without ids (found again by name, club and class), row i in class H{i % 7}."""
    moved = moved or {}
    path.write_text("PERSON FIRST NAME;PERSON LAST NAME;CLASS NAME;ORGANISATION NAME\n" + "".join(
        f"Given{i};Family{i};{moved.get(i, f'H{i % 7}')};Club {i % 11}\n" for i in range(n)), encoding="utf-8")


@only_postgresql
def test_a_runner_moved_on_another_machine_during_an_import_is_found_where_it_is_now(
        db, db_target, db_path, tmp_path, monkeypatch):
    monkeypatch.setattr(import_entries, "LOCKED_STEP", 40)
    Race.create(event=Event.create(name="Cup", timezone="UTC"), name="Day 1", race_number=1, date="2027-06-12")
    first = tmp_path / "first.csv"
    entry_table(first, 100)
    run = run_job(db, db_path, "import-entries", {"file": str(first)}, timeout=300)
    assert run.status == "succeeded", run.error
    second = tmp_path / "second.csv"
    entry_table(second, 100, moved={60: "H5"})  # row 60 is in the second step (rows 40-79)

    other = psycopg.connect(db_target, autocommit=True)
    pauses: list[int] = []
    plain_pause = steps.StepWriter._pause

    def pause(self: Any) -> None:
        plain_pause(self)
        pauses.append(1)
        if len(pauses) == 2:  # before the second step: the runner moved at another machine's TUI
            moved = other.execute(
                "UPDATE entry SET class_id=(SELECT id FROM class WHERE name='H5'), hand_edited=1 "
                "WHERE person_id=(SELECT id FROM person WHERE given='Given60')").rowcount
            assert moved == 1

    monkeypatch.setattr(steps.StepWriter, "_pause", pause)
    try:
        run = run_job(db, db_path, "import-entries", {"file": str(second)}, timeout=300)
        assert run.status == "succeeded", run.error
        log = "\n".join(line.message for line in run_log(db, run.id))
        assert "lines 42-81: another writer changed" in log, log
        assert "0 created, 0 updated, 99 unchanged, 1 edited by hand (kept)" in log, log
        assert other.execute("SELECT count(*) FROM entry").fetchone() == (100,)
        assert other.execute("SELECT c.name FROM entry e JOIN class c ON c.id = e.class_id "
                             "JOIN person p ON p.id = e.person_id WHERE p.given='Given60'").fetchall() == [("H5",)]
        # The other machine's change and each step's writes counted in entry_rev.
        assert int(other.execute("SELECT value FROM meta WHERE key='entry_rev'").fetchone()[0]) > 1
    finally:
        other.close()
