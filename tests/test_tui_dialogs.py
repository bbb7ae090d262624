"""Dialogs behave the same everywhere (screens.dialog.FormDialog), shown on Edit entry at 80x24 and
160x50: nothing focused or selected on open (a stray key changes nothing), each field checked as
typed (a bib refuses letters), ctrl+r saves, Esc closes and asks first when something changed,
the question answers to y and n with the safe answer focused."""

from __future__ import annotations

import pytest
from test_tui import until
from test_tui_races import SIZES, build_event, make_app, run
from textual.pilot import Pilot
from textual.widgets import Input, Select

from t4o_tui.store.models import Entry
from t4o_tui.tui.screens.confirm import ConfirmScreen
from t4o_tui.tui.screens.entry_edit import EntryEditScreen, parse_bib
from t4o_tui.tui.screens.event import EventScreen
from t4o_tui.tui.widgets.fields import Field
from t4o_tui.tui.widgets.live_table import LiveTable


def test_bib_parsing():
    assert parse_bib("  012 ") == "12" and parse_bib("") is None
    for bad in ("12a", "A1", "-3", "0", "1234567"):
        with pytest.raises(ValueError):
            parse_bib(bad)


async def open_editor(pilot: Pilot[int], app, *, first: bool = False) -> tuple[EntryEditScreen, str]:
    if first:
        await pilot.press("5", "t")  # Event, its Entries
    table = app.screen.query_one(LiveTable)
    await until(pilot, lambda: table.row_count > 0 and table.selected_key is not None, what="entries")
    key = table.selected_key
    await pilot.press("e")
    await until(pilot, lambda: isinstance(app.screen, EntryEditScreen), what="the entry editor")
    await pilot.pause()
    return app.screen, key


def bib_input(screen: EntryEditScreen) -> Input:
    return screen.query_one("#field-bib Input", Input)


@pytest.mark.parametrize("size", SIZES)
def test_edit_entry_follows_the_dialog_rules(db, db_path, size):
    build_event(db, days=1)
    app = make_app(db, db_path)

    async def body(pilot: Pilot[int]) -> None:
        editor, key = await open_editor(pilot, app, first=True)
        before = Entry.get_by_id(int(key)).bib
        # Nothing focused, nothing selected: a stray key changes nothing.
        assert not isinstance(app.focused, (Input, Select))
        await pilot.press("7", "x")
        assert bib_input(editor).value == (before or "")
        # Esc without a change closes at once.
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, EventScreen), what="closed without asking")

        editor, key = await open_editor(pilot, app)
        await pilot.press("tab")  # the first field: Class
        while app.focused is not bib_input(editor):
            await pilot.press("tab")
        await pilot.press("end", *"4b")
        field = editor.query_one("#field-bib", Field)
        await until(pilot, lambda: field.error is not None, what="the bib's error beside it")
        assert "digits only" in (field.error or "")
        await pilot.press("ctrl+r")  # refused: nothing saved, the editor stays
        await pilot.pause()
        assert isinstance(app.screen, EntryEditScreen) and Entry.get_by_id(int(key)).bib == before
        # Esc asks; n (the focused, safe answer) keeps editing with the text kept; y discards.
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the discard question")
        assert app.focused is not None and app.focused.id == "no"
        await pilot.press("n")
        await until(pilot, lambda: app.screen is editor, what="back in the editor")
        assert bib_input(editor).value.endswith("4b")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="asked again")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, EventScreen), what="discarded")
        assert Entry.get_by_id(int(key)).bib == before and not Entry.get_by_id(int(key)).hand_edited

        # A good bib, saved with ctrl+r.
        editor, key = await open_editor(pilot, app)
        while app.focused is not bib_input(editor):
            await pilot.press("tab")
        bib_input(editor).value = ""
        await pilot.press(*"4321")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, EventScreen), what="saved and closed")
        entry = Entry.get_by_id(int(key))
        assert entry.bib == "4321" and entry.hand_edited

    run(app, size, body)


@pytest.mark.parametrize("size", SIZES)
def test_x_cancels_from_the_log_view(db, db_path, size):
    import time as _time

    from test_tui import scenario

    from t4o_tui.engine import queue
    from t4o_tui.engine.runs import enqueue_run, get_run
    from t4o_tui.engine.tasks import create_task
    from t4o_tui.tui.screens.run_log import RunLogScreen

    create_task("Logger", "test", {"seconds": 1})
    run_id = enqueue_run(db, "Logger")
    # Another worker runs it (lease far ahead): the cancel is a request to that worker.
    claimed, _ = queue.claim_queue(db.connection(), worker="elsewhere:1:abc", now=_time.time(), lease=600)
    assert claimed is not None and claimed.id == run_id

    async def body(app, pilot: Pilot[int]) -> None:
        app.open_run_log(run_id)
        await until(pilot, lambda: isinstance(app.screen, RunLogScreen) and app.screen.run is not None,
                    what="the log view")
        assert "x" in app.screen.active_bindings  # shown while the run can be cancelled
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the cancel question")
        assert app.focused is not None and app.focused.id == "no"  # "Keep it" is the safe answer
        await pilot.press("y")
        await until(pilot, lambda: get_run(db, run_id).cancel_requested, what="the cancel request")
        assert isinstance(app.screen, RunLogScreen)

    scenario(db, db_path, body, size=size)


@pytest.mark.parametrize("size", SIZES)
def test_a_paused_schedule_shows_no_countdown(db, db_path, size):
    from test_tui import scenario

    from t4o_tui.engine.schedules import ScheduleInput, add_schedule, pause_schedule
    from t4o_tui.engine.tasks import create_task
    from t4o_tui.tui.widgets.schedule_list import ScheduleList

    create_task("Results", "result-list", {})
    now = 1_800_000_000.0
    running = add_schedule(db, ScheduleInput(task="Results", kind="interval", every=60, start=now - 60,
                                             expiry=now + 86400 * 365 * 30))
    paused = add_schedule(db, ScheduleInput(task="Results", kind="interval", every=60, start=now - 60,
                                            expiry=now + 86400 * 365 * 30))
    pause_schedule(db, paused.id, note="course change")

    async def body(app, pilot: Pilot[int]) -> None:
        table = app.screen.query_one(ScheduleList).table
        await until(pilot, lambda: len(table.row_keys()) == 2, what="the schedules")
        assert table.text(str(paused.id), "left") == "paused" and table.text(str(paused.id), "next") == "–"
        assert table.text(str(running.id), "left").startswith("in ")

    scenario(db, db_path, body, size=size)


def test_no_scheduler_warning_waits_for_the_start_up(db, db_path, monkeypatch):
    from t4o_tui.tui.screens import dashboard

    monkeypatch.setattr(dashboard, "STARTUP_GRACE", 1.5)
    app = make_app(db, db_path)  # its engine runs no scheduler

    async def body(pilot: Pilot[int]) -> None:
        line = app.screen.query_one("#scheduler")
        await until(pilot, lambda: "looking for the scheduler" in str(line.render()), what="the start-up line")
        await until(pilot, lambda: "no scheduler" in str(line.render()), what="the warning", timeout=60)

    run(app, (80, 24), body)
