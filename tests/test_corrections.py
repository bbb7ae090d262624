"""Result corrections (engine.corrections) through real processing runs on a real database: a status
with a required note, a punch removed and added, a finish time changed, undo; processing all the
data again keeps them, as it keeps every override."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from test_timing_jobs import build_race, results_snapshot

from t4o_tui.engine import corrections
from t4o_tui.engine.corrections import CardEdit, CorrectionError, apply_to_card
from t4o_tui.orienteering.punch_check import CardData, Punch, TimeBase
from t4o_tui.store.models import Correction, Result, StationData

from conftest import run_job


def clock_text(ts: float, zone: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(zone)).strftime("%H:%M:%S")


@pytest.fixture
def race(db, db_path, tmp_path):
    build_race(db, db_path, tmp_path, runners=8)
    assert run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": 100,
                                                "missing_probability": 0}).status == "succeeded"
    assert run_job(db, db_path, "process-station-data", {}, name="process").status == "succeeded"
    return db


def ok_runner() -> Result:
    return Result.select().where(Result.status == "OK").order_by(Result.entry).first()


def process(db, db_path, *, everything: bool = False) -> None:
    run = run_job(db, db_path, "process-station-data", {"all": everything}, name="process")
    assert run.status == "succeeded", run.error


def test_status_needs_a_note_and_is_kept_on_reprocessing_until_undone(race, db_path):
    db = race
    res = ok_runner()
    before = StationData.select().count()
    with pytest.raises(CorrectionError) as err:
        corrections.set_status(db, res.entry_id, "DSQ", "   ", who="kari", now=time.time())
    assert err.value.field == "note" and "required" in err.value.message
    with pytest.raises(CorrectionError) as err:
        corrections.set_status(db, res.entry_id, "XYZ", "jury", who="kari", now=time.time())
    assert err.value.field == "status"
    assert StationData.select().count() == before and Correction.select().count() == 0  # nothing written

    cid = corrections.set_status(db, res.entry_id, "DSQ", "jury decision: shortcut", who="kari", now=time.time())
    process(db, db_path)
    assert Result.get(Result.entry == res.entry_id).status == "Disqualified"
    process(db, db_path, everything=True)
    assert Result.get(Result.entry == res.entry_id).status == "Disqualified"
    r = corrections.runner(db, res.entry_id)
    assert r.corrected and r.corrections[0].who == "kari" and r.corrections[0].note == "jury decision: shortcut"
    assert r.status == "Disqualified"
    assert corrections.corrected_entries(db, r.race_id) == {res.entry_id: 1}

    corrections.undo(db, cid, "protest upheld", who="ola", now=time.time())
    with pytest.raises(CorrectionError):
        corrections.undo(db, cid, "", who="ola", now=time.time())
    process(db, db_path)
    assert Result.get(Result.entry == res.entry_id).status == "OK"
    undone = corrections.runner(db, res.entry_id).corrections[0]
    assert not undone.active and undone.undone_by == "ola" and undone.undo_note == "protest upheld"
    assert corrections.corrected_entries(db, r.race_id) == {}


def test_punch_removed_then_added_back_changes_the_result_after_processing(race, db_path):
    db = race
    res = ok_runner()
    r = corrections.runner(db, res.entry_id)
    code, at = next((c, t) for c, t in r.punches if c in r.controls)
    ok_time = res.time
    with pytest.raises(CorrectionError) as err:
        corrections.remove_punch(db, res.entry_id, "999", "", "x", who="kari", now=time.time())
    assert "no punch 999" in err.value.message

    removed = corrections.remove_punch(db, res.entry_id, code, "", "double punch at the wrong unit", who="kari",
                                       now=time.time())
    process(db, db_path)
    after = Result.get(Result.entry == res.entry_id)
    assert after.status == "MissingPunch" and code in (after.missing or "").split()

    with pytest.raises(CorrectionError) as err:
        corrections.add_punch(db, res.entry_id, "999", clock_text(at, r.zone), "marshal", who="kari", now=time.time())
    assert err.value.field == "control" and "not on the runner's course" in err.value.message
    with pytest.raises(CorrectionError) as err:
        corrections.add_punch(db, res.entry_id, code, "25:99", "marshal", who="kari", now=time.time())
    assert err.value.field == "time"
    corrections.add_punch(db, res.entry_id, code, clock_text(at, r.zone), "control confirmed by marshal", who="kari",
                          now=time.time())
    process(db, db_path)
    back = Result.get(Result.entry == res.entry_id)
    assert back.status == "OK" and back.time == ok_time and not back.missing
    # The same answer from all the data again.
    snap = results_snapshot()
    process(db, db_path, everything=True)
    assert results_snapshot() == snap

    corrections.undo(db, removed, "", who="kari", now=time.time())
    process(db, db_path)
    assert Result.get(Result.entry == res.entry_id).status == "OK"


def test_a_time_of_day_past_midnight_is_the_next_days_for_a_runner_out_over_midnight(race):
    """A night race: a runner who started at 23:30 and finished at 00:10 has the finish typed as
    00:10. (This test's race runs at the time the suite runs: near midnight it crossed it too.)"""
    r = corrections.runner(race, ok_runner().entry_id)
    start = datetime(2026, 6, 13, 23, 30, tzinfo=r.tz).timestamp()
    night = replace(r, start_time=start)
    assert corrections.check_time("00:10:00", "time", night) == datetime(2026, 6, 14, 0, 10, tzinfo=r.tz).timestamp()
    assert corrections.check_time("23:50", "time", night) == start + 20 * 60
    # Not the next day where that is 12 hours or more after the start: a typo stays a typo.
    assert corrections.check_time("23:00:00", "time", night) == start - 1800
    assert corrections.check_time("11:30", "time", night) == datetime(2026, 6, 13, 11, 30, tzinfo=r.tz).timestamp()
    assert corrections.check_time("2026-06-13T00:10:00", "time", night) == start - 23 * 3600 - 20 * 60


def test_finish_and_start_time_corrections(race, db_path):
    db = race
    res = ok_runner()
    r = corrections.runner(db, res.entry_id)
    assert r.finish_time is not None and r.start_time is not None
    with pytest.raises(CorrectionError) as err:
        corrections.set_time(db, res.entry_id, "finish", clock_text(r.start_time - 60, r.zone), "clock", who="k",
                             now=time.time())
    assert "after the start" in err.value.message
    corrections.set_time(db, res.entry_id, "finish", clock_text(r.finish_time + 120, r.zone), "finish clock", who="k",
                         now=time.time())
    process(db, db_path)
    assert Result.get(Result.entry == res.entry_id).time == pytest.approx(res.time + 120, abs=1)
    corrections.set_time(db, res.entry_id, "start", clock_text(r.start_time + 60, r.zone), "late start", who="k",
                         now=time.time())
    process(db, db_path)
    got = Result.get(Result.entry == res.entry_id)
    assert got.time == pytest.approx(res.time + 60, abs=1) and got.start_time == pytest.approx(r.start_time + 60, abs=1)
    sd = StationData.select().where(StationData.source == "correction:start_time").get()
    assert sd.entry_id == res.entry_id and sd.station.role == "override" and sd.punches == []


def test_apply_to_card_is_pure_and_in_order():
    card = CardData(punches=(Punch("31", 100.0), Punch("32", 200.0), Punch("32", 250.0)), finish=Punch("F", 300.0))
    edited, start_set = apply_to_card(card, [CardEdit("remove_punch", "32", 250.0), CardEdit("add_punch", "33", 220.0),
                                             CardEdit("finish_time", None, 310.0)], reference=None, tz=UTC)
    assert [(p.code, p.time) for p in edited.punches] == [("31", 100.0), ("32", 200.0), ("33", 220.0)]
    assert edited.finish == Punch("F", 310.0) and not start_set
    assert card.punches[2] == Punch("32", 250.0)  # the input is unchanged
    _, start_set = apply_to_card(card, [CardEdit("start_time", None, 50.0)], reference=None, tz=UTC)
    assert start_set
    # A 12-hour card is placed in time before an instant is added to it.
    half = CardData(punches=(Punch("31", 3600.0),), time_base=TimeBase.HALF_DAY)
    ref = datetime(2026, 7, 2, 0, 30, tzinfo=UTC).timestamp()
    placed, _ = apply_to_card(half, [CardEdit("add_punch", "32", ref + 7200)], reference=ref, tz=UTC)
    assert placed.time_base is TimeBase.EPOCH and [p.time for p in placed.punches] == [ref + 1800, ref + 7200]


def test_relay_member_data_applies_punch_corrections_and_never_takes_them_for_a_card():
    from t4o_tui.jobs.relay_timing import member_data
    from t4o_tui.jobs.timing_data import RaceData

    rd = RaceData(1, None, stations={1: ("Readout", "readout", 10), 2: ("Override", "override", 0)})

    def row(i: int, station: int, source: str, punches: str, finish: float | None = None) -> dict:
        return {"id": i, "station_id": station, "status": None, "punches": punches, "finish_time": finish,
                "start_time": None, "check_time": None, "clear_time": None, "twelve_hour": 0, "read_at": 100.0 + i,
                "source": source}

    readout = row(1, 1, "readout", '[["31", 10.0], ["32", 20.0]]', finish=30.0)
    removed = row(2, 2, "correction:remove_punch", '[["32", null]]')
    data, best = member_data(rd, [readout, removed])
    assert best == 1 and data.card is not None
    assert [(p.code, p.time) for p in data.card.punches] == [("31", 10.0)] and data.card.finish.time == 30.0
