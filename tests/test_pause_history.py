"""Pauses and resumes of a schedule are kept in its history (issue 17): who, when, the note and the
end of each, beside the occurrences, from the CLI, the TUI's Pause dialog and the scheduler's own
resume at a pause's end; `occurrences` shows them (text and JSON, whose old keys stay)."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest
from test_tui import LARGE, SMALL, plain, scenario, until
from textual.pilot import Pilot
from textual.widgets import Static

from t4o_tui.engine.clock import FakeClock
from t4o_tui.engine.evaluator import Evaluator
from t4o_tui.engine.queries.schedules import save_schedule
from t4o_tui.engine.schedules import (
    OccurrenceRow,
    ScheduleEventRow,
    ScheduleInput,
    add_schedule,
    delete_schedule,
    list_schedule_events,
    pause_schedule,
    resume_schedule,
    schedule_history,
)
from t4o_tui.engine.tasks import create_task
from t4o_tui.store.models import Schedule
from t4o_tui.tui.app import T4oApp
from t4o_tui.tui.format import stamp
from t4o_tui.tui.screens.occurrences import OccurrencesScreen
from t4o_tui.tui.screens.pause import PauseScreen
from t4o_tui.tui.widgets.live_table import LiveTable
from t4o_tui.tui.widgets.schedule_list import ScheduleList

T0 = 1_780_000_000.0  # 2026-05-28T20:26:40Z
OCCURRENCE_KEYS = {"schedule", "nominal", "actual", "lateness_ms", "state", "run", "reason", "count", "last_nominal"}


def shows(cell: str, full: str) -> bool:
    """The cell is the text, or its start cut with '…' (at 80 columns the reason column is narrow)."""
    return cell == full or (cell.endswith("…") and full.startswith(cell[:-1]) and len(cell) >= 10)


def events(db, sid):
    return [(e.kind, e.at, e.who, e.note, e.paused_until) for e in reversed(list_schedule_events(db, schedule_id=sid))]


def test_pause_and_resume_are_recorded_with_who_when_note_and_end(db, monkeypatch):
    monkeypatch.setenv("T4O_USER", "anna")
    create_task("Backup", "test", {"seconds": 0})
    clock = FakeClock(T0)
    s = add_schedule(db, ScheduleInput(task="Backup", kind="interval", every=600, start=T0, expiry=T0 + 86400),
                     clock=clock)
    resume_schedule(db, s.id, clock=clock)  # not paused: nothing happens, nothing recorded
    pause_schedule(db, s.id, note="  course   change ", until=T0 + 3600, clock=clock)
    clock.advance(10)
    pause_schedule(db, s.id, note="course change", until=T0 + 3600, clock=clock)  # the same pause: no record
    clock.advance(10)
    pause_schedule(db, s.id, note="course change at 5", clock=clock, who="bob")  # another note, no end
    clock.advance(10)
    resume_schedule(db, s.id, clock=clock)
    assert events(db, s.id) == [
        ("pause", T0, "anna", "course change", T0 + 3600),
        ("pause", T0 + 20, "bob", "course change at 5", None),
        ("resume", T0 + 30, "anna", None, None),
    ]
    newest = [r for r in schedule_history(db, schedule_id=s.id) if isinstance(r, ScheduleEventRow)]
    assert [r.state for r in newest] == ["resume", "pause", "pause"]
    assert newest[2].reason_text(lambda t: f"<{t - T0:.0f}>") == "paused by anna: course change · until <3600>"
    assert newest[1].reason_text() == "paused by bob: course change at 5 · until resumed"
    assert newest[0].reason_text() == "resumed by anna"
    delete_schedule(db, s.id)  # its history goes with it
    assert list_schedule_events(db) == []


def test_the_schedule_editor_records_its_pause_and_resume(db, monkeypatch):
    """The editor saves a pause as part of the schedule (engine.queries.schedules.save_schedule)."""
    monkeypatch.setenv("T4O_USER", "anna")
    create_task("Backup", "test", {"seconds": 0})
    clock = FakeClock(T0)
    data = ScheduleInput(task="Backup", kind="interval", every=600, start=T0, expiry=T0 + 86400)
    sid = save_schedule(db, None, data, paused=True, note="course change", until=None, clock=clock)
    clock.advance(5)
    save_schedule(db, sid, data, paused=True, note="course change", until=None, clock=clock)  # unchanged: none
    clock.advance(5)
    save_schedule(db, sid, data, paused=False, note=None, until=None, clock=clock)
    assert events(db, sid) == [("pause", T0, "anna", "course change", None), ("resume", T0 + 10, "anna", None, None)]


def test_the_scheduler_records_its_resume_at_the_pause_end_among_the_occurrences(db):
    create_task("T", "test", {"seconds": 0})
    clock = FakeClock(T0)
    s = add_schedule(db, ScheduleInput(task="T", kind="interval", every=10, start=T0 + 10, expiry=T0 + 600,
                                       overlap="allow"), clock=clock)
    pause_schedule(db, s.id, note="course change", until=T0 + 40, clock=clock, who="anna")
    ev = Evaluator(db, clock=clock, holder="me")
    ev._acquire()
    while clock.now() < T0 + 55:  # the evaluator's loop: a step a second
        ev._acquire()
        ev.step(clock.now())
        clock.advance(1)
    assert not Schedule.get_by_id(s.id).paused
    # Recorded at the pause's end (not when the step saw it), by no one: the scheduler.
    assert events(db, s.id) == [("pause", T0, "anna", "course change", T0 + 40),
                                ("resume", T0 + 40, None, None, T0 + 40)]
    history = list(reversed(schedule_history(db, schedule_id=s.id)))
    assert [(r.state, r.sort_time - T0) for r in history] == [
        ("pause", 0), ("paused", 10), ("resume", 40), ("fired", 40), ("fired", 50)]
    resume, paused = history[2], history[1]
    assert isinstance(resume, ScheduleEventRow) and isinstance(paused, OccurrenceRow)
    assert resume.reason_text() == "resumed by the scheduler: the pause's end passed"
    # The pause's times are one record, as before: the pause and the resume are beside it.
    assert (paused.count, paused.last_nominal) == (3, T0 + 30)


def test_cli_pause_and_resume_appear_in_occurrences_json_and_text(cli, db, monkeypatch):
    monkeypatch.setenv("T4O_USER", "anna")  # the CLI's child process inherits it
    create_task("Backup", "test", {"seconds": 0})
    cli("schedule", "add", "Backup", "--every", "10m", "--start", "now", "--expiry", "+5h", check=True)
    out = cli("schedule", "pause", "1", "--note", "course change at 5", "--until", "+1h", check=True).stdout
    assert "paused until" in out
    cli("schedule", "resume", "1", check=True)
    rows = json.loads(cli("occurrences", "--json", check=True).stdout)
    assert [r["state"] for r in rows] == ["resume", "pause"]
    resume, pause = rows
    assert all(set(r) >= OCCURRENCE_KEYS for r in rows)  # the old keys, all still there
    assert (pause["event"], pause["who"], pause["note"], pause["run"], pause["count"]) == (
        "pause", "anna", "course change at 5", None, 1)
    paused_at, until = datetime.fromisoformat(pause["at"]), datetime.fromisoformat(pause["until"])
    assert 3590 < (until - paused_at).total_seconds() <= 3600
    assert pause["nominal"] == pause["at"]
    assert "course change at 5" in pause["reason"]
    assert (resume["event"], resume["who"], resume["note"], resume["until"]) == ("resume", "anna", None, None)
    assert datetime.fromisoformat(resume["at"]) >= paused_at
    # Text: a line each, with the date and the note.
    text = cli("occurrences", check=True).stdout.splitlines()
    assert text[0].split()[:3] == ["SCHEDULE", "NOMINAL", "STATE"]
    assert text[1].split()[2] == "resume" and "resumed by anna" in text[1]
    assert text[2].split()[2] == "pause" and "paused by anna: course change at 5 · until 20" in text[2]
    assert text[2].split()[1][:10] == pause["at"][:10]
    # --limit counts every record of the history.
    assert len(json.loads(cli("occurrences", "--json", "--limit", "1", check=True).stdout)) == 1


def test_occurrences_json_keeps_its_keys_for_occurrences(db, cli):
    create_task("T", "test", {"seconds": 0})
    clock = FakeClock(T0)
    s = add_schedule(db, ScheduleInput(task="T", kind="interval", every=10, start=T0 + 10, expiry=T0 + 600,
                                       overlap="allow"), clock=clock)
    pause_schedule(db, s.id, clock=clock, who="anna")
    ev = Evaluator(db, clock=clock, holder="me")
    clock.advance(25)
    ev._acquire()
    ev.step(clock.now())
    [paused, pause] = json.loads(cli("occurrences", "--json", check=True).stdout)
    assert set(paused) == OCCURRENCE_KEYS | {"event", "at", "who", "note", "until"}
    assert (paused["state"], paused["count"], paused["event"], paused["who"]) == ("paused", 2, None, None)
    assert (pause["state"], pause["event"]) == ("pause", "pause")


# -- the TUI ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x50"])
def test_pause_with_a_note_then_resume_shows_both_in_the_history(db, db_path, monkeypatch, size):
    monkeypatch.setenv("T4O_USER", "anna")
    create_task("Backup often", "test", {"seconds": 0})
    now = time.time()
    sid = add_schedule(db, ScheduleInput(task="Backup often", kind="interval", every=3600.0, start=now - 30 * 86400,
                                         expiry=now + 86400)).id
    # A pause and resume of ten days ago: their rows are dated.
    old = now - 10 * 86400
    pause_schedule(db, sid, note="test start", clock=FakeClock(old), who="bob")
    resume_schedule(db, sid, clock=FakeClock(old + 60), who="bob")

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        schedules = app.screen.query_one(ScheduleList)
        await until(pilot, lambda: str(sid) in schedules.table.row_keys(), what="schedule on the dashboard")
        schedules.table.focus()
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PauseScreen), what="pause dialog")
        await pilot.press("tab", *"course change at 5", "enter", "enter")  # Note, then Until left empty
        await until(pilot, lambda: "paused" in schedules.table.text(str(sid), "state"), what="paused")
        await pilot.press("p")  # resume
        await until(pilot, lambda: "active" in schedules.table.text(str(sid), "state"), what="resumed")
        schedules.table.select_key(str(sid))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, OccurrencesScreen), what="history")
        history = app.screen.query_one(LiveTable)
        await until(pilot, lambda: history.row_count == 4, what="the four pauses and resumes")
        keys = [str(k) for k in history.row_keys()]
        assert [history.text(k, "state") for k in keys] == ["↻ resume", "⊖ pause", "↻ resume", "⊖ pause"]
        reasons = [history.text(k, "reason") for k in keys]
        assert reasons[0] == "resumed by anna"
        assert shows(reasons[1], "paused by anna: course change at 5 · until resumed")
        assert shows(reasons[3], "paused by bob: test start · until resumed")
        if size == LARGE:
            assert reasons[1] == "paused by anna: course change at 5 · until resumed"
        # Today's are times; ten days ago is dated, as the occurrences' times are.
        today = [history.text(k, "nominal") for k in keys[:2]]
        assert all(len(t) == 8 and t.count(":") == 2 for t in today)
        wide = size == LARGE
        assert history.text(keys[3], "nominal") == stamp(old, time.time(), app.services.tz, wide=wide)
        assert history.text(keys[3], "nominal").startswith(datetime.fromtimestamp(old, app.services.tz)
                                                           .strftime("%Y-%m-%d"))
        history.focus()
        history.move_cursor(row=1)
        detail = app.screen.query_one("#detail", Static)
        await until(pilot, lambda: "course change at 5" in plain(detail), what="the pause's detail")
        text = plain(detail)
        assert "⊖ pause  at " in text and "by anna · until resumed" in text and "“course change at 5”" in text
        await pilot.press("enter")  # a pause made no run: said, and the history stays
        await until(pilot, lambda: any("made no run" in n for n in app.notes), what="no run")  # type: ignore[attr-defined]
        assert isinstance(app.screen, OccurrencesScreen)

    scenario(db, db_path, body, size=size)
    assert [e[0] for e in events(db, sid)] == ["pause", "resume", "pause", "resume"]


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x50"])
def test_the_schedulers_resume_reads_as_such_in_the_history(db, db_path, size):
    create_task("T", "test", {"seconds": 0})
    now = time.time()
    sid = add_schedule(db, ScheduleInput(task="T", kind="interval", every=3600.0, start=now - 86400,
                                         expiry=now + 86400)).id
    pause_schedule(db, sid, note="lunch", until=now + 1.5, who="anna")

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        # The app's own engine holds the scheduler lease and resumes the schedule at its end.
        await until(pilot, lambda: not Schedule.get_by_id(sid).paused, what="resumed by the scheduler")
        schedules = app.screen.query_one(ScheduleList)
        await until(pilot, lambda: "active" in schedules.table.text(str(sid), "state"), what="active in the list")
        schedules.table.focus()
        schedules.table.select_key(str(sid))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, OccurrencesScreen), what="history")
        history = app.screen.query_one(LiveTable)
        await until(pilot, lambda: history.row_count >= 2, what="pause and resume")
        first = str(history.row_keys()[0])
        assert history.text(first, "state") == "↻ resume"
        assert shows(history.text(first, "reason"), "resumed by the scheduler: the pause's end passed")
        history.focus()
        history.move_cursor(row=0)
        detail = app.screen.query_one("#detail", Static)
        await until(pilot, lambda: "by the scheduler" in plain(detail), what="the resume's detail")

    scenario(db, db_path, body, size=size)


def test_cli_pause_until_reads_what_the_forms_read(cli, db):
    """`schedule pause --until` takes the pause dialog's forms (a clock time too) through the one parser."""
    create_task("Backup", "test", {"seconds": 0})
    cli("schedule", "add", "Backup", "--every", "10m", "--start", "now", "--expiry", "+5h", check=True)
    cli("schedule", "pause", "1", "--until", "23:59:58", check=True)
    until = Schedule.get_by_id(1).paused_until
    at = datetime.fromtimestamp(until)
    assert (at.hour, at.minute, at.second) == (23, 59, 58) and 0 < until - time.time() <= 86400
    bad = cli("schedule", "pause", "1", "--until", "25:00")
    assert bad.returncode != 0 and "--until:" in bad.stderr and "Traceback" not in bad.stderr
