"""Pilot tests of schedules in the terminal UI: the editor (validation as typed, description, next
times, DST marks), the dashboard's list (pause with a note, resume, run now) and the history."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

from test_tui import LARGE, SMALL, field, field_message, in_thread, plain, scenario, table, until
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from t4o_tui.engine.runs import list_runs
from t4o_tui.engine.schedules import ScheduleInput, add_schedule, get_schedule, list_occurrences
from t4o_tui.engine.tasks import create_task, find_task
from t4o_tui.store.models import Schedule
from t4o_tui.tui.app import T4oApp
from t4o_tui.tui.screens.dashboard import DashboardScreen
from t4o_tui.tui.screens.occurrences import OccurrencesScreen
from t4o_tui.tui.screens.pause import PauseScreen
from t4o_tui.tui.screens.run_details import RunDetailsScreen
from t4o_tui.tui.screens.schedule_editor import ScheduleEditorScreen
from t4o_tui.tui.screens.task_editor import TaskEditorScreen
from t4o_tui.tui.widgets.event_status import EventStatus
from t4o_tui.tui.widgets.header import NavLine
from t4o_tui.tui.widgets.live_table import LiveTable
from t4o_tui.tui.widgets.schedule_list import ScheduleList


def schedule_list(app: T4oApp) -> ScheduleList:
    return app.screen.query_one(ScheduleList)


def schedule_rows(app: T4oApp) -> list[str | None]:
    return schedule_list(app).table.row_keys()


def schedule_cell(app: T4oApp, schedule_id: int, column: str) -> str:
    t = schedule_list(app).table
    return t.text(str(schedule_id), column) if str(schedule_id) in t.row_keys() else ""


def detail(app: T4oApp) -> str:
    return plain(schedule_list(app).query_one(".detail", Static))


def hourly(task: str, **extra: object) -> ScheduleInput:
    now = time.time()
    return ScheduleInput(task=task, kind="interval", every=3600.0, start=now, expiry=now + 86400, **extra)  # type: ignore[arg-type]


async def choose(pilot: Pilot[int], select: Select[str], text: str, value: str) -> None:
    """Pick an option by keyboard: open the list, type to find it, Enter."""
    select.focus()
    await pilot.press("enter")
    await pilot.press(*text)
    await pilot.press("enter")
    await until(pilot, lambda: select.value == value, what=f"{value} chosen")


async def retype(pilot: Pilot[int], inp: Input, text: str) -> None:
    inp.focus()
    inp.value = ""
    await pilot.press(*text)


def test_schedule_editor_invalid_cron_then_valid(db, db_path):
    """At 80x24; the editor at a large size is in the DST test and the snapshots."""
    create_task("Result list", "test", {"seconds": 0})

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        task = await in_thread(find_task, "Result list")
        await pilot.press("3")
        await until(pilot, lambda: str(task.id) in table(app).row_keys(), what="task row")
        table(app).select_key(str(task.id))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TaskEditorScreen), what="task editor")
        await pilot.press("ctrl+t", "ctrl+t")  # Settings → Runs → Schedules
        await until(pilot, lambda: schedule_list(app).table.has_focus, what="schedules tab")
        assert "No schedules" in plain(schedule_list(app).query_one(".empty", Static))
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ScheduleEditorScreen), what="schedule editor")
        editor = app.screen
        assert isinstance(editor, ScheduleEditorScreen)
        await until(pilot, lambda: editor.checks > 0, what="first check")
        await choose(pilot, editor.query_one("#field-kind Select", Select), "cron", "cron")
        assert not editor.field("every").display and editor.field("cron").display

        cron = editor.field("cron").query_one(Input)
        await retype(pilot, cron, "61 * * * *")
        await editor.wait_checked()
        await until(pilot, lambda: "not a valid cron expression" in field_message(app, "cron"), what="cron error")
        assert field(app, "cron").has_class("-invalid")  # beside the field, in red
        assert cron.value == "61 * * * *"  # what was typed stays
        await pilot.press("ctrl+r")
        await until(pilot, lambda: any("Not saved" in n for n in app.notes), what="refused")
        assert isinstance(app.screen, ScheduleEditorScreen) and cron.value == "61 * * * *"
        assert await in_thread(lambda: Schedule.select().count()) == 0

        await pilot.press("home", "delete", "delete", *"*/5")  # 61 → */5, as an admin would fix it
        assert cron.value == "*/5 * * * *"
        await editor.wait_checked()
        await until(pilot, lambda: "every 5 minutes" in plain(editor.query_one("#description", Static)),
                    what="description")
        assert not field(app, "cron").has_class("-invalid")
        assert editor.check is not None and len(editor.check.fires) >= 5
        shown = plain(editor.query_one("#fires", Static))
        assert shown.count(" in ") >= 5  # five times or more, each with how far off it is
        minutes = [datetime.fromtimestamp(f.nominal).minute for f in editor.check.fires]
        assert all(m % 5 == 0 for m in minutes)

        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, TaskEditorScreen), what="back in the task editor")
        saved = await in_thread(lambda: list(Schedule.select()))
        assert [(s.kind, s.cron) for s in saved] == [("cron", "*/5 * * * *")]
        await until(pilot, lambda: schedule_rows(app) == [str(saved[0].id)], what="schedule listed in the tab")
        assert "every 5 minutes" in schedule_cell(app, saved[0].id, "description")

    scenario(db, db_path, body, size=SMALL)


def last_sunday_of_march(year: int) -> date:
    d = date(year, 3, 31)
    return d - timedelta(days=(d.weekday() + 1) % 7)


def test_schedule_editor_marks_dst_times_and_keeps_typed_values(db, db_path):
    create_task("Night check", "test", {"seconds": 0})
    gap_day = last_sunday_of_march(date.today().year + 2)  # Europe/Oslo skips 02:00–03:00 that night

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        app.open_schedule_editor(None, task="Night check")
        await until(pilot, lambda: isinstance(app.screen, ScheduleEditorScreen), what="editor")
        editor = app.screen
        assert isinstance(editor, ScheduleEditorScreen)
        await until(pilot, lambda: editor.checks > 0, what="first check")
        # Typed into the interval's field, then the kind changes: nothing typed is lost.
        editor.field("every").query_one(Input).value = "90s"
        await choose(pilot, editor.query_one("#field-kind Select", Select), "cron", "cron")
        for key, value in (("cron", "30 2 * * *"), ("tz", "Europe/Oslo"),
                           ("start", f"{gap_day - timedelta(days=2)}T00:00"),
                           ("expiry", f"{gap_day + timedelta(days=5)}T00:00")):
            editor.field(key).query_one(Input).value = value
        await editor.wait_checked()
        await until(pilot, lambda: editor.check is not None and any(f.dst for f in editor.check.fires),
                    what="DST-affected fire")
        shown = plain(editor.query_one("#fires", Static))
        assert "⚠ DST gap" in shown
        gap = next(f for f in editor.check.fires if f.dst) if editor.check else None
        assert gap is not None and datetime.fromtimestamp(gap.nominal).date() == gap_day
        await choose(pilot, editor.query_one("#field-kind Select", Select), "every", "interval")
        assert editor.field("every").query_one(Input).value == "90s"
        assert editor.field("cron").query_one(Input).value == "30 2 * * *"  # hidden, kept
        await pilot.press("escape")  # unsaved changes: asks, and the safe answer keeps the form
        await until(pilot, lambda: not isinstance(app.screen, ScheduleEditorScreen), what="question")
        await pilot.press("enter")
        assert app.screen is editor

    scenario(db, db_path, body, size=LARGE)


def test_pause_with_note_resume_and_run_now_from_the_dashboard(db, db_path):
    create_task("Backup often", "test", {"seconds": 0})
    sid = add_schedule(db, hourly("Backup often")).id

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        assert isinstance(app.screen, DashboardScreen)
        await until(pilot, lambda: schedule_rows(app) == [str(sid)], what="schedule on the dashboard")
        assert "active" in schedule_cell(app, sid, "state")
        assert "in 59 min" in schedule_cell(app, sid, "left") or "in 1 h" in schedule_cell(app, sid, "left")
        await until(pilot, lambda: "scheduler: this process" in plain(app.screen.query_one("#scheduler", Static)),
                    what="scheduler lease shown")
        assert schedule_list(app).table.has_focus

        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PauseScreen), what="pause dialog")
        assert app.focused is None  # nothing focused on open: a stray key types nothing
        await pilot.press("tab")  # to Note
        await pilot.press(*"course change")
        await pilot.press("enter")  # to Until
        await pilot.press(*"yesterday")
        await pilot.press("enter")
        await until(pilot, lambda: "not a time" in field_message(app, "until"), what="until error")
        assert isinstance(app.screen, PauseScreen)
        app.screen.query_one("#field-until Input", Input).value = ""
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="back on the dashboard")
        await until(pilot, lambda: "paused" in schedule_cell(app, sid, "state"), what="paused in the list")
        await until(pilot, lambda: "course change" in detail(app), what="note shown")
        s = await in_thread(get_schedule, sid)
        assert s.paused and s.pause_note == "course change"
        assert "1 paused" in plain(app.screen.query_one("#schedule-counts", Static))

        await pilot.press("p")  # resume: no question, nothing to type
        await until(pilot, lambda: "active" in schedule_cell(app, sid, "state"), what="resumed")
        assert not (await in_thread(get_schedule, sid)).paused

        await pilot.press("r")
        await until(pilot, lambda: list_runs(app.db, task="Backup often"), what="run queued")
        assert (await in_thread(list_runs, app.db, task="Backup often"))[0].trigger == "manual"

    scenario(db, db_path, body)


def test_history_shows_fired_occurrences_and_opens_their_runs(db, db_path):
    create_task("Tick", "test", {"seconds": 0})
    now = time.time()
    sid = add_schedule(db, ScheduleInput(task="Tick", kind="interval", every=1.0, start=now, expiry=now + 3600)).id

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        await until(pilot, lambda: len(list_occurrences(app.db, schedule_id=sid)) >= 2, what="the engine fires")
        await until(pilot, lambda: str(sid) in schedule_rows(app), what="schedule row")
        schedule_list(app).table.select_key(str(sid))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, OccurrencesScreen), what="history")
        screen = app.screen
        assert isinstance(screen, OccurrencesScreen)
        occurrences = screen.query_one(LiveTable)
        await until(pilot, lambda: occurrences.row_count >= 2, what="occurrence rows")
        first = occurrences.row_keys()[0]
        assert first is not None
        assert "fired" in occurrences.text(first, "state")
        assert "ms" in occurrences.text(first, "late")
        assert "Tick" in screen.query_one(NavLine).title
        assert "every second" in plain(screen.query_one("#summary", Static))
        run_cell = occurrences.text(first, "run")
        assert run_cell.startswith("#")
        occurrences.focus()
        occurrences.move_cursor(row=0)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunDetailsScreen), what="run details")
        assert app.screen.run_id == int(run_cell[1:].split()[0])  # type: ignore[attr-defined]
        await pilot.press("escape")
        assert app.screen is screen

    scenario(db, db_path, body)


def test_event_status_area_takes_no_room_until_filled(db, db_path):
    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        area = app.screen.query_one(EventStatus)
        await pilot.pause()
        assert not area.display and area.region.height == 0
        await area.mount(Static("312 entries · 120 started · 80 finished"))
        await until(pilot, lambda: area.region.height > 0, what="area shown")
        assert "Event" in str(area.border_title)

    scenario(db, db_path, body, readonly=True)
