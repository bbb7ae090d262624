"""Create Starts from a file: rows matched to the starts already there and to each other."""

from __future__ import annotations

from datetime import UTC, datetime

from t4o_tui.engine.runs import run_log
from t4o_tui.store.models import Event, Race, Start

from conftest import run_job


def _at(hms: str) -> float:
    return datetime.fromisoformat(f"2027-06-12T{hms}+00:00").astimezone(UTC).timestamp()


def test_a_row_repeated_in_the_file_and_a_second_import_update_the_same_starts(db, db_path, tmp_path):
    event = Event.create(name="E", timezone="UTC")
    Race.create(event=event, name="Day 1", race_number=1, date="2027-06-12")
    f = tmp_path / "starts.csv"
    f.write_text("CLASS NAME;BIB NO;START TIME\n"
                 "H21;101;10:00:00\n"
                 "H21;102;10:02:00\n"
                 "D21;;10:05:00\n"
                 "H21;101;10:01:00\n"   # the same start again, later in the file: its time wins
                 "D21;;10:05:00\n")     # no bib: the same class and time is the same start
    run = run_job(db, db_path, "create-starts", {"source": "csv", "file": str(f)})
    assert run.status == "succeeded", run.error
    got = sorted((s.klass.name, s.bib, s.start_time) for s in Start.select())
    assert got == [("D21", None, _at("10:05:00")), ("H21", "101", _at("10:01:00")), ("H21", "102", _at("10:02:00"))]
    f.write_text("CLASS NAME;BIB NO;START TIME\nH21;102;10:03:00\nH21;103;10:04:00\n")
    again = run_job(db, db_path, "create-starts", {"source": "csv", "file": str(f)})
    assert again.status == "succeeded", again.error
    assert Start.select().count() == 4
    assert Start.get(Start.bib == "102").start_time == _at("10:03:00")


def test_a_night_races_start_file_puts_starts_after_midnight_on_the_next_day(db, db_path, tmp_path):
    """First start 22:00: a START TIME of 00:30 is the next morning's, not 21.5 hours before the race."""
    event = Event.create(name="E", timezone="UTC")
    Race.create(event=event, name="Night", race_number=1, date="2027-06-12", first_start=_at("22:00:00"))
    f = tmp_path / "starts.csv"
    f.write_text("CLASS NAME;BIB NO;START TIME\nH21;101;23:58:00\nH21;102;00:30:00\n")
    run = run_job(db, db_path, "create-starts", {"source": "csv", "file": str(f)})
    assert run.status == "succeeded", run.error
    got = {s.bib: s.start_time for s in Start.select()}
    assert got == {"101": _at("23:58:00"), "102": _at("00:30:00") + 86400}


def test_start_times_on_another_day_than_the_race_are_said(db, db_path, tmp_path):
    """Another day's file: the starts go in as the file gives them, with a warning naming the day."""
    event = Event.create(name="E", timezone="UTC")
    Race.create(event=event, name="Day 2", race_number=1, date="2027-06-13", first_start=_at("10:00:00") + 86400)
    f = tmp_path / "starts.csv"
    f.write_text("CLASS NAME;BIB NO;START TIME\nH21;101;2027-06-12 10:00:00\nH21;102;2027-06-13 10:02:00\n")
    run = run_job(db, db_path, "create-starts", {"source": "csv", "file": str(f)})
    assert run.status == "succeeded", run.error
    said = "\n".join(line.message for line in run_log(db, run.id))
    assert "1 start time is not on the race's date 2027-06-13 (the earliest: 2027-06-12 10:00): is the file this race's?" in said
    assert Start.select().count() == 2
