"""Result corrections in the TUI, keyboard only, at 80x24 and 160x50: a status with its required
note from Results, a punch removed from Event that changes the result once processing has run (the
dialog starts it, the TUI's own queue lane runs it), undo; and the dialog rules (nothing focused on
open, Esc asks before dropping typed text, ctrl+r saves, y/n answers)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from test_timing_jobs import build_race
from test_tui import until
from textual.pilot import Pilot
from textual.widgets import Input, Select

from t4o_tui.config import Config
from t4o_tui.engine import corrections
from t4o_tui.engine.runtime import RuntimeOptions
from t4o_tui.store.models import Correction, Result
from t4o_tui.tui.app import T4oApp
from t4o_tui.tui.screens.confirm import ConfirmScreen
from t4o_tui.tui.screens.correction import CorrectionScreen
from t4o_tui.tui.screens.event import EventScreen
from t4o_tui.tui.screens.results import ResultsScreen
from t4o_tui.tui.widgets.fields import Field
from t4o_tui.tui.widgets.live_table import LiveTable

from conftest import run_job

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 50), id="160x50")]


@pytest.fixture
def race(db, db_path, tmp_path):
    build_race(db, db_path, tmp_path, runners=6)
    assert run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": 100,
                                                "missing_probability": 0}).status == "succeeded"
    assert run_job(db, db_path, "process-station-data", {}, name="process").status == "succeeded"
    return db


def make_app(db, db_path) -> T4oApp:
    # The queue lane runs: the processing the dialog enqueues really runs in the TUI's engine.
    options = RuntimeOptions(poll=0.05, grace=0.5, queue_lane=True, direct_lane=False, scheduler=False, share=False)
    app = T4oApp(Config(db=db_path, grace=0.5), db, options=options, watch_terminal=False)
    app.notes = []  # type: ignore[attr-defined]
    notify = app.notify

    def recording(message: str, **kwargs: Any) -> None:
        app.notes.append(str(message))  # type: ignore[attr-defined]
        notify(message, **kwargs)

    app.notify = recording  # type: ignore[method-assign]
    return app


def run(app: T4oApp, size: tuple[int, int], body) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await until(pilot, lambda: app.engine_started, what="engine start")
            await body(pilot)

    asyncio.run(main())


def ok_entry() -> int:
    return Result.select().where(Result.status == "OK").order_by(Result.entry).first().entry_id


def status_of(eid: int) -> str:
    return Result.get(Result.entry == eid).status


def field(app: T4oApp, key: str) -> Field:
    return app.screen.query_one(f"#field-{key}", Field)


async def choose(pilot: Pilot[int], app: T4oApp, key: str, value: str) -> None:
    """Pick a value of a Select by keyboard: focus it with Tab, open it, arrow to the value, Enter."""
    select = field(app, key).control
    assert isinstance(select, Select)
    while app.focused is not select:
        await pilot.press("tab")
    await pilot.press("enter")
    for _ in range(20):
        if select.value == value:
            break
        await pilot.press("down", "enter")
        if select.value == value:
            break
        await pilot.press("enter")  # open again and go on
    assert select.value == value
    await pilot.pause()


async def type_into(pilot: Pilot[int], app: T4oApp, key: str, text: str) -> None:
    control = field(app, key).control
    while app.focused is not control:
        await pilot.press("tab")
    await pilot.press(*text)


async def open_dialog(pilot: Pilot[int], app: T4oApp, view_key: str, eid: int, *, entries_tab: bool = False) -> None:
    await pilot.press(view_key)
    if entries_tab:
        await pilot.press("t")
    table = app.screen.query_one(LiveTable)
    for _ in range(4):  # Results shows one class at a time: `.` goes to the next
        try:
            await until(pilot, lambda: table.select_key(str(eid)), timeout=3, what="the runner's row")
            break
        except AssertionError:
            await pilot.press("full_stop")
    assert table.selected_key == str(eid)
    await pilot.press("c")
    await until(pilot, lambda: isinstance(app.screen, CorrectionScreen), what="the correction dialog")
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_status_with_required_note_from_results(race, db_path, size):
    eid = ok_entry()
    app = make_app(race, db_path)

    async def body(pilot: Pilot[int]) -> None:
        await open_dialog(pilot, app, "6", eid)
        assert isinstance(app.screen, ResultsScreen) is False
        # Nothing focused on open: a stray key changes nothing.
        assert not isinstance(app.focused, (Input, Select))
        await pilot.press("x", "1")
        assert all(f.control.value == "" for f in app.screen.query(Field) if isinstance(f.control, Input))
        assert field(app, "status").raw is Select.NULL and field(app, "kind").raw == "status"
        await choose(pilot, app, "status", "DSQ")
        # ctrl+r without the note: refused beside the field, nothing written.
        await pilot.press("ctrl+r")
        await until(pilot, lambda: field(app, "note").error is not None, what="the note's error")
        assert "required" in (field(app, "note").error or "")
        assert isinstance(app.screen, CorrectionScreen) and Correction.select().count() == 0
        await type_into(pilot, app, "note", "jury: shortcut")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen), what="the dialog to close")
        c = Correction.get()
        assert (c.kind, c.status, c.note, c.entry_id) == ("status", "Disqualified", "jury: shortcut", eid) and c.who
        await until(pilot, lambda: status_of(eid) == "Disqualified", what="processing to apply the status")
        table = app.screen.query_one(LiveTable)
        await until(pilot, lambda: table.text(str(eid), "status") == "DSQ*", what="DSQ* in the list")
        assert any("Processing queued (process)" in n for n in app.notes)  # type: ignore[attr-defined]

    run(app, size, body)


@pytest.mark.parametrize("size", SIZES)
def test_punch_removed_changes_the_result_after_processing_and_undo_gives_it_back(race, db_path, size):
    eid = ok_entry()
    r = corrections.runner(race, eid)
    code = next(c for c, _ in r.punches if c in r.controls)
    app = make_app(race, db_path)

    async def body(pilot: Pilot[int]) -> None:
        await open_dialog(pilot, app, "5", eid, entries_tab=True)
        await choose(pilot, app, "kind", "remove_punch")
        assert field(app, "control").display and not field(app, "status").display
        await type_into(pilot, app, "control", code)
        await type_into(pilot, app, "note", "punched the wrong unit")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, EventScreen), what="the dialog to close")
        await until(pilot, lambda: status_of(eid) == "MissingPunch", what="processing to apply the removed punch")
        assert code in (Result.get(Result.entry == eid).missing or "").split()

        # Undo: u on the correction, asked y/n with "Keep" focused; n keeps it, y undoes.
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CorrectionScreen), what="the dialog again")
        await pilot.pause()
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the undo question")
        assert app.focused is not None and app.focused.id == "no"
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, CorrectionScreen), what="back in the dialog")
        assert Correction.get().undone_at is None
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the undo question")
        await pilot.press("y")
        await until(pilot, lambda: Correction.get().undone_at is not None, what="the undo")
        await until(pilot, lambda: status_of(eid) == "OK", what="processing after the undo")
        screen = app.screen
        assert isinstance(screen, CorrectionScreen)
        table = screen.query_one("#corrections", LiveTable)
        await until(pilot, lambda: table.text(str(Correction.get().id), "state").startswith("undone by"),
                    what="the correction shown as undone")
        await pilot.press("escape")  # nothing typed: closes at once
        await until(pilot, lambda: isinstance(app.screen, EventScreen), what="the dialog to close")

    run(app, size, body)


@pytest.mark.parametrize("size", SIZES)
def test_esc_asks_before_dropping_what_was_typed(race, db_path, size):
    eid = ok_entry()
    app = make_app(race, db_path)

    async def body(pilot: Pilot[int]) -> None:
        await open_dialog(pilot, app, "6", eid)
        await type_into(pilot, app, "note", "half typed")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the discard question")
        assert app.focused is not None and app.focused.id == "no"  # the safe answer
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, CorrectionScreen), what="back in the dialog")
        assert field(app, "note").raw == "half typed"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the discard question")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen), what="the dialog to close")
        assert Correction.select().count() == 0

    run(app, size, body)
