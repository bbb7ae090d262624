"""Event setup (engine/event_setup): event, races, class timing; every bad value a one-line error
naming the field, with the database unchanged."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import peewee
import pytest

from t4o_tui.engine import event_setup as es
from t4o_tui.store.models import Class, Course, Entry, Event, Race, Start

OSLO = ZoneInfo("Europe/Oslo")


def at(day: str, clock: str) -> float:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=OSLO).timestamp()


def snapshot(db_path: Path, tmp_path: Path) -> bytes:
    """The database's rows as SQL text: equal before and after a refused change."""
    import sqlite3

    copy = tmp_path / "snap.sqlite"
    shutil.copy(db_path, copy)
    for ext in ("-wal", "-shm"):
        if Path(str(db_path) + ext).exists():
            shutil.copy(str(db_path) + ext, str(copy) + ext)
    conn = sqlite3.connect(copy)
    try:
        return "\n".join(conn.iterdump()).encode()
    finally:
        conn.close()


@pytest.fixture
def event(db: peewee.Database) -> peewee.Database:
    es.set_event(db, {"name": "Spring Cup", "timezone": "Europe/Oslo", "organiser": "OK Test"})
    es.add_race(db, "Day 1", {"date": "2026-06-13", "first_start": "10:00", "discipline": "middle"})
    es.add_race(db, "Day 2", {"date": "2026-06-14", "first_start": "09:30", "discipline": "long"})
    for number in (1, 2):
        race = Race.get(Race.race_number == number)
        Course.create(race=race, name="A", length=5000)
        for name in ("H21", "D21", "H50"):
            Class.create(race=race, name=name)
    return db


def race_id(number: int) -> int:
    return int(Race.get(Race.race_number == number).id)


def test_event_and_races(event: peewee.Database) -> None:
    info = es.get_event(event)
    assert (info.name, info.timezone, info.organiser, info.races) == ("Spring Cup", "Europe/Oslo", "OK Test", 2)
    races = es.list_races(event)
    assert [(r.number, r.name, r.date, r.discipline) for r in races] == [
        (1, "Day 1", "2026-06-13", "middle"), (2, "Day 2", "2026-06-14", "long")]
    assert races[1].first_start == at("2026-06-14", "09:30:00")
    assert races[1].as_json()["first_start"] == "2026-06-14T09:30:00+02:00"
    assert races[1].first_start_text() == "09:30:00"
    assert es.find_race("day 2").id == races[1].id
    assert es.find_race("2").id == races[1].id
    # Timing to tenths: results are ranked and written to 0.1 s (IOF XML timeResolution).
    assert info.time_resolution == 1.0
    assert es.set_event(event, {"time_resolution": "0,1"}).time_resolution == 0.1
    assert Event.get().time_resolution == 0.1


def test_bad_event_and_race_values_are_refused(event: peewee.Database, db_path: Path, tmp_path: Path) -> None:
    before = snapshot(db_path, tmp_path)
    cases = [
        (lambda: es.set_event(event, {"timezone": "Europe/Osloo"}), "timezone", "not an IANA time zone"),
        (lambda: es.set_event(event, {"name": "  "}), "name", "is required"),
        (lambda: es.set_race(event, "3", {"name": "x"}), "race", "no race '3' (races: 1 Day 1, 2 Day 2)"),
        (lambda: es.set_race(event, "1", {"first_start": "2026-06-14T10:00"}), "first_start", "not on the race's date 2026-06-13"),
        (lambda: es.set_race(event, "1", {"date": "13.06.2026"}), "date", "not a date"),
        (lambda: es.set_race(event, "1", {"discipline": "marathon"}), "discipline", "not one of"),
        (lambda: es.set_race(event, "1", {"number": "2"}), "number", "race 2 exists already"),
        (lambda: es.set_race(event, None, {"name": "x"}), "race", "the event has 2 races"),
        (lambda: es.add_race(event, "Day 3", {"first_start": "10:00"}), "first_start", "give --date YYYY-MM-DD"),
        (lambda: es.set_event(event, {"time_resolution": "0.5"}), "time_resolution", "is not 1 or 0.1"),
    ]
    for call, field, text in cases:
        with pytest.raises(es.SetupError) as err:
            call()
        assert err.value.field == field
        assert text in str(err.value)
        assert "\n" not in str(err.value)
    assert snapshot(db_path, tmp_path) == before


def test_race_without_date_says_how_to_set_it(db: peewee.Database) -> None:
    es.set_event(db, {"name": "E", "timezone": "Europe/Oslo"})
    es.add_race(db, "Day 1")
    Class.create(race=Race.get(), name="H21")
    err = es.check_class_field(db, race_id(1), "H21", "first_start", "10:00")
    assert err is not None and "t4o-tui race set 1 --date YYYY-MM-DD" in err
    # A full date and time gives a race without a date its date.
    r = es.set_race(db, "1", {"first_start": "2026-06-13T10:00"})
    assert (r.date, r.first_start) == ("2026-06-13", at("2026-06-13", "10:00:00"))


def test_class_timing_set_and_listed(event: peewee.Database) -> None:
    rid = race_id(1)
    c = es.set_class(event, rid, "h21", {
        "first_start": "10:30", "start_interval": "2m", "bib_start": "101", "vacancies_before": "1",
        "vacancies_after": "2", "vacancy_every": "10", "max_time": "2h", "draw_method": "club-separation",
        "start_box": "Start 1", "course": "a", "draw_order": "1"})
    assert c.name == "H21" and c.first_start == at("2026-06-13", "10:30:00")
    assert (c.start_interval, c.bib_start, c.vacancies_before, c.vacancies_after, c.vacancy_every) == (120.0, 101, 1, 2, 10)
    assert (c.max_time, c.draw_method, c.start_box, c.course, c.draw_order) == (7200.0, "club-separation", "Start 1", "A", 1)
    assert c.text("first_start") == "10:30:00" and c.text("start_interval") == "2m" and c.text("max_time") == "2h"
    stored = Class.get_by_id(c.id)
    assert stored.course is not None and stored.course.name == "A" and stored.vacancies_after == 2
    # Relative to the race's first start; an empty value clears.
    c = es.set_class(event, rid, "H21", {"first_start": "+45m", "draw_method": ""})
    assert c.first_start == at("2026-06-13", "10:45:00") and c.draw_method is None
    assert [x.name for x in es.list_classes(event, rid)][0] == "H21"  # draw order first
    # The other race's class of the same name is untouched.
    other = es.find_class(event, race_id(2), "H21")
    assert other.first_start is None and other.start_interval is None



def test_a_night_races_classes_may_start_after_midnight(event: peewee.Database) -> None:
    """First start 22:00: a class's 00:15 is the next morning's; a time more than 12 hours on is refused."""
    es.add_race(event, "Night", {"number": "3", "date": "2026-06-13", "first_start": "22:00"})
    Class.create(race=race_id(3), name="H21")
    c = es.set_class(event, race_id(3), "H21", {"first_start": "00:15"})
    assert c.first_start == at("2026-06-14", "00:15:00")
    assert c.text("first_start") == "2026-06-14T00:15:00+02:00"  # what the editor shows reads back the same
    assert es.set_class(event, race_id(3), "H21", {"first_start": c.text("first_start")}).first_start == c.first_start
    assert es.set_class(event, race_id(3), "H21", {"first_start": "+2h30m"}).first_start == at("2026-06-14", "00:30:00")
    assert es.set_class(event, race_id(3), "H21", {"first_start": "21:00"}).first_start == at("2026-06-13", "21:00:00")
    with pytest.raises(es.SetupError, match=r"2026-06-14 10:00 is not on the race's date 2026-06-13 \(nor less than 12 hours"):
        es.set_class(event, race_id(3), "H21", {"first_start": "2026-06-14T10:00"})


def test_bad_class_values_name_the_field_and_change_nothing(event: peewee.Database, db_path: Path, tmp_path: Path) -> None:
    rid = race_id(1)
    es.set_class(event, rid, "D21", {"bib_start": "200", "vacancies": "4"})
    before = snapshot(db_path, tmp_path)
    cases = [
        ("start_interval", "-1m", "must be more than 0"),
        ("start_interval", "0", "must be more than 0"),
        ("start_interval", "soon", "not a duration"),
        ("first_start", "2026-06-14T10:00", "not on the race's date 2026-06-13"),
        ("first_start", "25:00", "not a time of day"),
        ("bib_start", "203", "overlap D21's 200–203"),
        ("bib_start", "0", "at least 1"),
        ("vacancies_before", "-2", "at least 0"),
        ("max_time", "-5m", "must be more than 0"),
        ("draw_method", "lottery", "not one of"),
        ("start_type", "relay", "not one of"),
        ("course", "B", "no course 'B' in race 1 (courses: A)"),
    ]
    for field, text, expected in cases:
        with pytest.raises(es.SetupError) as err:
            es.set_class(event, rid, "H21", {"start_interval": "1m", field: text})
        assert err.value.field == field, (field, text)
        assert expected in str(err.value), str(err.value)
        assert str(err.value).startswith(f"{field}: ") and "\n" not in str(err.value)
        live = es.check_class_field(event, rid, "H21", field, text)
        assert live is not None and expected in live
    with pytest.raises(es.SetupError) as err:
        es.set_class(event, rid, "H99", {"start_interval": "1m"})
    assert err.value.field == "class" and "no class 'H99' in race 1 (classes: D21, H21, H50)" in str(err.value)
    assert snapshot(db_path, tmp_path) == before
    preview = es.preview_class(event, rid, "H21", {"bib_start": "204", "vacancies_after": "2"})
    assert preview.bib_range == (204, 205) and es.find_class(event, rid, "H21").bib_start is None
    assert es.check_class_field(event, rid, "H21", "bib_start", "204") is None
    assert es.check_class_field(event, rid, "H21", "start_interval", "90s") is None


def test_bib_series_grows_with_entries(event: peewee.Database) -> None:
    rid = race_id(1)
    race = Race.get_by_id(rid)
    h21 = Class.get((Class.race == rid) & (Class.name == "H21"))
    for i in range(5):
        Entry.create(race=race, klass=h21, created_at=0, updated_at=0, identifier=str(i))
    es.set_class(event, rid, "H21", {"bib_start": "100", "vacancies_after": "1"})  # 100–105
    assert es.find_class(event, rid, "H21").bib_range == (100, 105)
    assert es.check_class_field(event, rid, "D21", "bib_start", "105") is not None
    assert es.check_class_field(event, rid, "D21", "bib_start", "106") is None


def test_moving_a_race_date_keeps_wall_clock_times(event: peewee.Database) -> None:
    rid = race_id(2)
    es.set_class(event, rid, "H21", {"first_start": "10:00"})
    cls = Class.get((Class.race == rid) & (Class.name == "H21"))
    # Many starts: updating start times while scanning them in start-time order never ends (a
    # moved row is met again), so this also guards the read-then-write.
    for k in range(200):
        Start.create(race=rid, klass=cls, bib=str(k + 1), start_time=at("2026-06-14", "10:00:00") + 60 * k)
    # Across the change to winter time the clock stays: 2026-10-25 is the last Sunday of October.
    r = es.set_race(event, "2", {"date": "2026-10-25"})
    assert r.first_start == at("2026-10-25", "09:30:00")
    assert es.find_class(event, rid, "H21").first_start == at("2026-10-25", "10:00:00")
    moved = [s.start_time for s in Start.select().where(Start.klass == cls).order_by(Start.id)]
    assert moved == [at("2026-10-25", "10:00:00") + 60 * k for k in range(200)]
    from t4o_tui.store.models import Station, StationData

    StationData.create(race=rid, station=Station.get(Station.role == "readout"), card_number="1", source="t", created_at=0)
    with pytest.raises(es.SetupError, match="date: race 2 has 1 station data read on 2026-10-25"):
        es.set_race(event, "2", {"date": "2026-10-26"})
    assert es.get_race(event, rid).date == "2026-10-25"


def test_time_zone_change_keeps_wall_clock_times(event: peewee.Database) -> None:
    es.set_event(event, {"timezone": "Europe/London"})
    r = es.list_races(event)[0]
    assert r.first_start == datetime(2026, 6, 13, 10, 0, tzinfo=ZoneInfo("Europe/London")).timestamp()
    assert r.first_start_text() == "10:00:00"
    # Once stations have read cards, the zone stays: their punch times would no longer fit the starts.
    from t4o_tui.store.models import Station, StationData

    StationData.create(race=r.id, station=Station.get(Station.role == "readout"), card_number="1", source="t", created_at=0)
    with pytest.raises(es.SetupError, match="timezone: the event has 1 station data read in Europe/London"):
        es.set_event(event, {"timezone": "Europe/Oslo"})
    assert es.get_event(event).timezone == "Europe/London"


def test_delete_race_needs_force_when_it_holds_data(event: peewee.Database) -> None:
    rid = race_id(2)
    Entry.create(race=rid, klass=Class.get((Class.race == rid) & (Class.name == "H21")), created_at=0, updated_at=0)
    with pytest.raises(es.SetupError, match="1 entries.*--force"):
        es.delete_race(event, "2")
    assert Race.select().count() == 2
    es.delete_race(event, "2", force=True)
    assert [r.number for r in es.list_races(event)] == [1]
    assert Event.select().count() == 1


def run_with_row(db: peewee.Database, db_path: Path, task: str, row: dict[str, object]) -> tuple[str, str]:
    """Run a task once through a real runtime as a per-row schedule would (the row as context);
    returns (status, log)."""
    import asyncio
    import time

    from t4o_tui.config import data_dir_for
    from t4o_tui.engine.runs import enqueue_run, get_run, run_log
    from t4o_tui.engine.runtime import Runtime, RuntimeOptions

    rid = enqueue_run(db, task, trigger="schedule", context=row)

    async def main() -> None:
        rt = Runtime(db, data_dir=data_dir_for(db_path), options=RuntimeOptions(poll=0.02, scheduler=False))
        await rt.start()
        try:
            end = time.monotonic() + 60
            while (await asyncio.to_thread(get_run, db, rid)).status in ("queued", "running"):
                assert time.monotonic() < end, "run did not finish"
                await asyncio.sleep(0.02)
        finally:
            await rt.stop()

    asyncio.run(main())
    db.connect(reuse_if_open=True)
    return get_run(db, rid).status, "\n".join(line.message for line in run_log(db, rid))


def test_overdue_per_row_checks_its_row_in_its_race(event: peewee.Database, db_path: Path) -> None:
    """A per-row run (start.max_time rows span every race) checks the start it was given, in that
    start's race, even though the event has two races and the task names none."""
    import time

    from t4o_tui.engine.date_sources import get_source
    from t4o_tui.engine.tasks import create_task
    from t4o_tui.store.models import Result

    past = time.time() - 4 * 3600
    ids = {}
    for number in (1, 2):
        race = Race.get(Race.race_number == number)
        cls = Class.get((Class.race == race) & (Class.name == "H21"))
        cls.max_time = 3600.0
        cls.save()
        for k in range(2):
            e = Entry.create(race=race, klass=cls, created_at=0, updated_at=0, identifier=f"{number}-{k}")
            ids[(number, k)] = Start.create(race=race, klass=cls, bib=str(k), start_time=past + k, entry=e).id
    create_task("overdue", "overdue-check", {})
    rows = {r.key: r for r in get_source("start.max_time").fetch(event)}
    status, log = run_with_row(event, db_path, "overdue", rows[str(ids[(2, 1)])].context)
    assert status == "succeeded", log
    assert log.count("OVERDUE:") == 1 and f"start {ids[(2, 1)]}: OVERDUE" in log
    flagged = [r.entry_id for r in Result.select().where(Result.overdue == True)]  # noqa: E712
    assert flagged == [Start.get_by_id(ids[(2, 1)]).entry_id]
    # Without a row, a task that names no race on a two-race event says which to choose.
    status, log = run_with_row(event, db_path, "overdue", {})
    assert status == "failed" and "the event has 2 races: choose one in the setting 'race'" in log
    # The whole of race 1: its two runners; no class without a max time has runners, so no warning.
    from t4o_tui.engine.tasks import update_task

    update_task("overdue", settings={"race": 1})
    status, log = run_with_row(event, db_path, "overdue", {})
    assert status == "succeeded" and "2 runners overdue (2 newly flagged)" in log and "no max time" not in log
    h50 = Class.get((Class.race == Race.get(Race.race_number == 1)) & (Class.name == "H50"))
    e = Entry.create(race=h50.race, klass=h50, created_at=0, updated_at=0, identifier="h50")
    Start.create(race=h50.race, klass=h50, bib="50", start_time=past, entry=e)
    status, log = run_with_row(event, db_path, "overdue", {})
    assert "1 classes have no max time and were not checked: H50" in log


def test_imports_fill_empty_race_data_and_keep_the_admins(db: peewee.Database, db_path: Path) -> None:
    from conftest import iof_examples, run_job

    es.set_event(db, {"name": "Spring Cup", "timezone": "Europe/Oslo"})
    es.add_race(db, "Day 1")  # no date, no first start
    es.add_race(db, "Day 2", {"date": "2011-08-01", "first_start": "12:00"})
    # EntryList1.xml: Event "Example event", 2011-07-31 10:00:00+01:00.
    run: Any = run_job(db, db_path, "import-entries", {"file": str(iof_examples() / "EntryList1.xml"), "race": 1}, name="e1")
    assert run.status == "succeeded", run.error
    day1 = es.list_races(db)[0]
    assert (day1.date, day1.first_start) == ("2011-07-31", datetime(2011, 7, 31, 11, 0, tzinfo=OSLO).timestamp())
    assert day1.name == "Day 1" and es.get_event(db).name == "Spring Cup"  # names the admin gave stay
    run = run_job(db, db_path, "import-entries", {"file": str(iof_examples() / "EntryList1.xml"), "race": 2}, name="e2")
    assert run.status == "succeeded", run.error
    day2 = es.list_races(db)[1]
    assert (day2.date, day2.first_start) == ("2011-08-01", at("2011-08-01", "12:00:00"))

