"""Pilot tests of the terminal UI on a real SQLite file, with the engine running inside the app."""

from __future__ import annotations

import asyncio
import gc
import io
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import peewee
import pytest
from rich.console import Console
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Button, Input, RichLog, Select, Static

from t4o_tui.config import Config
from t4o_tui.engine import queue
from t4o_tui.engine.runs import enqueue_run, get_run, list_runs
from t4o_tui.engine.runtime import RuntimeOptions, workers_alive
from t4o_tui.engine.tasks import create_task, find_task
from t4o_tui.store.models import Task
from t4o_tui.tui.app import T4oApp
from t4o_tui.tui.screens.confirm import ConfirmScreen
from t4o_tui.tui.screens.dashboard import DashboardScreen
from t4o_tui.tui.screens.help import HelpScreen
from t4o_tui.tui.screens.queue import QueueScreen
from t4o_tui.tui.screens.run_details import RunDetailsScreen
from t4o_tui.tui.screens.run_log import RunLogScreen
from t4o_tui.tui.screens.shares import SharesScreen
from t4o_tui.tui.screens.task_editor import TaskEditorScreen
from t4o_tui.tui.screens.tasks import TasksScreen
from t4o_tui.tui.widgets.fields import Field
from t4o_tui.tui.widgets.live_table import LiveTable

SMALL = (80, 24)
LARGE = (160, 50)

# The app's start-up ends with gc.collect() and gc.freeze() (tui/app.py). In a test process that
# collection walks every test module and library loaded too: 0.1-0.2 s of CPU per app, 18 s over
# the TUI tests, and the freeze would hold the test process's own objects while an app runs. Every
# module that starts apps imports this one: the apps run without it, except in the test of it
# (test_what_start_up_built_is_frozen_out_of_the_collector_until_exit).
FREEZE_STARTUP_OBJECTS = T4oApp._freeze_startup_objects
T4oApp._freeze_startup_objects = lambda self: None  # type: ignore[method-assign]


def make_app(db: peewee.Database, db_path: Path, *, readonly: bool = False, keys: dict[str, str] | None = None) -> T4oApp:
    cfg = Config(db=db_path, grace=0.5, keys=keys or {})
    # A fast-polling runtime, and a short grace so that quitting with a run still going is quick.
    options = RuntimeOptions(poll=0.2, grace=0.5, cancel_wait=1.0)
    app = T4oApp(cfg, db, readonly=readonly, options=options, watch_terminal=False)
    app.notes = []  # type: ignore[attr-defined]
    notify = app.notify

    def recording_notify(message: str, **kwargs: Any) -> None:
        app.notes.append(str(message))  # type: ignore[attr-defined]
        notify(message, **kwargs)

    app.notify = recording_notify  # type: ignore[method-assign]
    return app


def scenario(db: peewee.Database, db_path: Path, body: Callable[[T4oApp, Pilot[int]], Awaitable[None]], *,
             size: tuple[int, int] = SMALL, readonly: bool = False, keys: dict[str, str] | None = None) -> T4oApp:
    app = make_app(db, db_path, readonly=readonly, keys=keys)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            if not readonly:
                await until(pilot, lambda: app.engine_started, what="engine start")
            await body(app, pilot)

    asyncio.run(main())
    return app


async def until(pilot: Pilot[int], predicate: Callable[[], object], *, timeout: float = 45.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def table(app: T4oApp) -> LiveTable:
    return app.screen.query_one(LiveTable)


def has_row(app: T4oApp, key: object) -> bool:
    return str(key) in table(app).row_keys()


def cell(app: T4oApp, key: object, column: str) -> str:
    return table(app).text(str(key), column) if has_row(app, key) else ""


def status_of(app: T4oApp, run_id: int) -> str:
    return cell(app, run_id, "status")


def field(app: T4oApp, key: str) -> Field:
    return app.screen.query_one(f"#field-{key}", Field)


def plain(widget: Any) -> str:
    """The text a Static shows (Rich tables included), without styles."""
    console = Console(width=200, file=io.StringIO(), color_system=None, record=True)
    console.print(widget.content)
    return console.export_text()


def field_message(app: T4oApp, key: str) -> str:
    return plain(field(app, key).query_one(".field-message", Static))


async def in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    # The database is touched off the event loop, as the app itself does.
    return await asyncio.to_thread(fn, *args, **kwargs)


def test_views_keys_help_and_palette(db, db_path):
    create_task("Test quick", "test", {"seconds": 0.1})

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        assert isinstance(app.screen, DashboardScreen)
        await until(pilot, lambda: "this process" in plain(app.screen.query_one("#workers")), what="workers")
        assert app.worker_id in plain(app.screen.query_one("#workers"))
        await pilot.press("2")
        assert isinstance(app.screen, QueueScreen)
        await pilot.press("right_square_bracket")
        assert isinstance(app.screen, TasksScreen)
        await pilot.press(*["right_square_bracket"] * (len(app.VIEWS) - 2))  # round to the first view
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("left_square_bracket", "right_square_bracket", "right_square_bracket", "left_square_bracket")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("4")
        assert isinstance(app.screen, SharesScreen)
        await pilot.press("0")  # no view on 0 (9 is In forest, 8 Readout): nothing happens
        assert isinstance(app.screen, SharesScreen)
        await pilot.press("3")
        assert isinstance(app.screen, TasksScreen)

        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = plain(app.screen.query_one("#keys"))
        for expected in ("tasks.run", "tasks.new", "app.quit", "list.filter", "Run now"):
            assert expected in shown
        await pilot.press("escape")
        assert isinstance(app.screen, TasksScreen)

        await pilot.press("colon")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
        await pilot.press(*"to queue")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen), what="queue via palette")

        await pilot.press("colon")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
        await pilot.press(*"run test quick")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: any("queued" in n for n in app.notes), what="run queued via palette")
        await until(pilot, lambda: list_runs(app.db, task="Test quick"), what="run in the database")
        runs = len(list_runs(app.db, task="Test quick"))

        # tui.md's command line: `:task NAME` opens the task (it never runs it), `:q` quits.
        await pilot.press("colon")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
        await pilot.press(*"task test quick")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TaskEditorScreen), what="the task opened")
        assert len(list_runs(app.db, task="Test quick")) == runs
        await pilot.press("escape")
        await pilot.press("colon")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
        await pilot.press("q")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: app.stopping, what="quitting")

    scenario(db, db_path, body)


def test_keymap_from_config(db, db_path):
    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        await pilot.press("t")
        assert isinstance(app.screen, TasksScreen)
        await pilot.press("3")  # the old key of view.tasks does nothing now
        await pilot.press("h")
        assert isinstance(app.screen, HelpScreen)
        assert any("no.such.binding" in n for n in app.notes)

    scenario(db, db_path, body, keys={"view.tasks": "t", "app.help": "h", "no.such.binding": "z"})


def test_create_task_invalid_then_valid(db, db_path):
    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        await pilot.press("3", "n")
        await until(pilot, lambda: isinstance(app.screen, TaskEditorScreen), what="editor")
        editor = app.screen
        await pilot.pause()
        await pilot.press(*"Import late entries")
        job = editor.query_one("#field-job Select", Select)
        job.focus()
        await pilot.press("enter")  # open the list, and pick Test by typing its name
        await pilot.press(*"Test")
        await pilot.press("enter")
        await until(pilot, lambda: job.value == "test", what="job Test chosen")
        await until(pilot, lambda: editor.query("#field-seconds"), what="Test settings form")

        seconds = field(app, "seconds").query_one(Input)
        seconds.focus()
        seconds.value = ""
        await pilot.press(*"abc")
        await pilot.pause()
        # Validated as typed: the error is under the field, and what was typed stays.
        assert "abc" in field_message(app, "seconds")
        assert field(app, "seconds").has_class("-invalid")
        assert seconds.value == "abc"

        await pilot.press("ctrl+r")
        await pilot.pause(0.3)
        assert isinstance(app.screen, TaskEditorScreen)
        assert any("Not saved" in n for n in app.notes)
        assert not await in_thread(lambda: Task.select().where(Task.name == "Import late entries").exists())
        assert seconds.value == "abc"

        seconds.value = ""
        await pilot.press(*"-5")
        await pilot.pause()
        assert "at least 0" in field_message(app, "seconds")
        seconds.value = ""
        await pilot.press(*"0.3")
        await pilot.pause()
        assert not field(app, "seconds").has_class("-invalid")
        timeout = field(app, "timeout").query_one(Input)
        timeout.value = "2m"
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, TasksScreen), what="back to the tasks")
        task = await in_thread(find_task, "Import late entries")
        assert task.job == "test" and task.settings["seconds"] == 0.3 and task.timeout == 120.0
        await until(pilot, lambda: table(app).selected_key == str(task.id), what="new task selected")

        # A TaskError from the service shows at the field it names.
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, TaskEditorScreen), what="editor")
        await pilot.pause()
        app.screen.query_one("#field-name Input", Input).value = "Import late entries"
        await pilot.pause()  # the change is checked first, as when typed
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "already exists" in field_message(app, "name"), what="name error")
        assert isinstance(app.screen, TaskEditorScreen)
        # Esc with changes asks first; the safe answer keeps the form.
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="discard question")
        await pilot.press("enter")
        assert isinstance(app.screen, TaskEditorScreen)
        assert app.screen.query_one("#field-name Input", Input).value == "Import late entries"

    scenario(db, db_path, body)


def test_run_now_appears_progresses_and_succeeds(db, db_path):
    create_task("Aaa slow test", "test", {"seconds": 2.5})

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        await pilot.press("3")
        task = await in_thread(find_task, "Aaa slow test")
        await until(pilot, lambda: table(app).selected_key == str(task.id), what="task selected")
        await pilot.press("r")
        await until(pilot, lambda: any("queued" in n for n in app.notes), what="queued note")
        run_id = (await in_thread(list_runs, app.db, task="Aaa slow test"))[0].id
        await pilot.press("2")
        await until(pilot, lambda: has_row(app, run_id), what="run in the queue view")
        await until(pilot, lambda: "running" in status_of(app, run_id), what="running")
        await until(pilot, lambda: "%" in cell(app, run_id, "progress") and " 0%" not in cell(app, run_id, "progress"),
                    what="progress")
        await until(pilot, lambda: "succeeded" in status_of(app, run_id), what="succeeded")
        assert cell(app, run_id, "progress") == ""

        # Details: settings used, worker, times.
        table(app).select_key(str(run_id))
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, RunDetailsScreen) and app.screen.run is not None,
                    what="details")
        shown = plain(app.screen.query_one("#details"))
        assert "seconds = 2.5" in shown and app.worker_id in shown and "ago (" in shown
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)

    scenario(db, db_path, body, size=LARGE)


def test_cancel_running_run_with_confirmation(db, db_path):
    create_task("Long", "test", {"seconds": 60})
    run_id = enqueue_run(db, "Long")

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        await pilot.press("2")
        await until(pilot, lambda: "running" in status_of(app, run_id), what="running")
        table(app).select_key(str(run_id))
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        assert app.focused is not None and app.focused.id == "no"  # the safe choice has the focus
        await pilot.press("enter")
        await pilot.pause(0.5)
        assert (await in_thread(get_run, app.db, run_id)).status == "running"

        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.press("right")
        assert isinstance(app.focused, Button) and app.focused.id == "yes"
        await pilot.press("enter")
        await until(pilot, lambda: "cancelled" in status_of(app, run_id), what="cancelled in the view")
        run = await in_thread(get_run, app.db, run_id)
        assert run.status == "cancelled" and run.error == "cancelled by admin"

    scenario(db, db_path, body)


def test_log_follows_new_lines_and_stops_when_scrolled_up(db, db_path):
    task = create_task("Logger", "test", {"seconds": 1})
    run_id = enqueue_run(db, "Logger")
    conn = db.connection()
    # Another worker runs it (lease far ahead), so the test decides when lines arrive.
    claimed, _ = queue.claim_queue(conn, worker="elsewhere:1:abc", now=time.time(), lease=600)
    assert claimed is not None and claimed.id == run_id

    def write_lines(n: int, start: int) -> None:
        now = time.time()
        queue.flush_live(db.connection(), [(run_id, now, "info", f"line {start + i}") for i in range(n)],
                         [(run_id, 0.5, "halfway")])

    write_lines(5, 0)

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        await pilot.press("2")
        await until(pilot, lambda: has_row(app, run_id), what="run row")
        table(app).select_key(str(run_id))
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, RunLogScreen), what="log screen")
        screen = app.screen
        assert isinstance(screen, RunLogScreen)
        log = screen.query_one(RichLog)
        await until(pilot, lambda: screen.lines == 5, what="first lines")
        assert screen.following and "FOLLOW" in plain(screen.query_one("#badge"))

        await in_thread(write_lines, 60, 5)
        await until(pilot, lambda: screen.lines == 65, what="new lines")
        await until(pilot, lambda: log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y, what="at the bottom")

        await pilot.press("pageup")
        await until(pilot, lambda: not screen.following, what="follow stops")
        assert "PAUSED" in plain(screen.query_one("#badge"))
        where = log.scroll_y
        await in_thread(write_lines, 10, 65)
        await until(pilot, lambda: screen.lines == 75, what="more lines")
        await pilot.pause(0.2)
        assert log.scroll_y == where < log.max_scroll_y  # the admin's reading position stays

        await pilot.press("f")
        await until(pilot, lambda: screen.following and log.scroll_y == log.max_scroll_y, what="following again")
        assert "FOLLOW" in plain(screen.query_one("#badge"))

        end = queue.Outcome(run_id, "succeeded", time.time(), logs=[(time.time(), "info", "the end")])
        assert await in_thread(queue.finish, db.connection(), end, worker="elsewhere:1:abc")
        await until(pilot, lambda: "END" in plain(screen.query_one("#badge")), what="end badge")
        assert screen.lines == 76
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)

    scenario(db, db_path, body)
    assert task.id


def test_readonly_shows_everything_and_changes_nothing(db, db_path):
    create_task("Quick", "test", {"seconds": 0.1})
    run_id = enqueue_run(db, "Quick")

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        assert app.runtime is None
        assert "READ-ONLY" in app.engine_state
        await pilot.press("3")
        await until(pilot, lambda: table(app).selected_key is not None, what="task row")
        for key in ("r", "n", "c", "delete"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, TasksScreen), key
        assert sum("Read-only" in n for n in app.notes) == 4
        await pilot.press("e")  # the editor opens to look, and refuses to save
        await until(pilot, lambda: isinstance(app.screen, TaskEditorScreen), what="editor")
        assert app.screen.query_one("#field-name Input", Input).disabled
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert sum("Read-only" in n for n in app.notes) == 5
        await pilot.press("escape")
        await pilot.press("2")
        await until(pilot, lambda: has_row(app, run_id), what="queued run shown")
        await pilot.pause(0.5)
        assert "queued" in status_of(app, run_id)  # nothing runs it: no engine here
        table(app).select_key(str(run_id))
        for key in ("x", "R"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, QueueScreen), key
        assert sum("Read-only" in n for n in app.notes) == 7

    scenario(db, db_path, body, readonly=True)
    assert get_run(db, run_id).status == "queued"
    assert len(list_runs(db)) == 1
    assert [t.name for t in Task.select()] == ["Quick"]
    assert workers_alive(db, time.time()) == []


def test_selection_stays_on_the_same_run_while_the_queue_updates(db, db_path):
    create_task("Step", "test", {"seconds": 0.3})
    first = [enqueue_run(db, "Step") for _ in range(3)]

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        await pilot.press("2")
        await until(pilot, lambda: all("succeeded" in status_of(app, r) for r in first), what="first runs done")
        watched = first[1]
        t = table(app)
        t.select_key(str(watched))
        scroll = t.scroll_y
        more = [await in_thread(enqueue_run, app.db, "Step") for _ in range(4)]
        seen_rows = set()
        while not all("succeeded" in status_of(app, r) for r in more):
            await pilot.pause(0.05)
            assert t.selected_key == str(watched)
            seen_rows.add(t.cursor_row)
        assert len(seen_rows) > 1  # the run moved down as new runs arrived, and the cursor went with it
        assert t.scroll_y == scroll
        # A queued run, selected, stays selected as it runs and finishes and moves to the finished part.
        last = await in_thread(enqueue_run, app.db, "Step")
        await until(pilot, lambda: has_row(app, last), what="new run")
        t.select_key(str(last))
        await until(pilot, lambda: "succeeded" in status_of(app, last), what="last done")
        assert t.selected_key == str(last)

    scenario(db, db_path, body, size=LARGE)


def test_filter_and_clear(db, db_path):
    create_task("Alpha", "test", {"seconds": 0})
    create_task("Beta", "test", {"seconds": 0})
    create_task("Backup", "backup", {})

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        await pilot.press("3")
        await until(pilot, lambda: len([k for k in table(app).row_keys() if k and k.isdigit()]) == 3, what="tasks")
        await pilot.press("slash", *"alp")
        await until(pilot, lambda: [k for k in table(app).row_keys() if k and k.isdigit()] == [str(find_task("Alpha").id)],
                    what="filtered")
        await pilot.press("enter")  # back to the list, filter kept
        assert table(app).has_focus
        await pilot.press("escape")
        await until(pilot, lambda: len([k for k in table(app).row_keys() if k and k.isdigit()]) == 3, what="unfiltered")

    scenario(db, db_path, body)


@pytest.mark.parametrize("how", ["sighup", "sigcont", "tty"])
def test_lost_terminal_stops_the_engine_and_exits(db, db_path, how, monkeypatch):
    import signal

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        assert workers_alive(app.db, time.time())
        if how == "sighup":
            app.on_signal(signal.SIGHUP)
        elif how == "sigcont":
            monkeypatch.setattr(T4oApp, "terminal_alive", staticmethod(lambda: True))
            app.on_signal(signal.SIGCONT)  # a resume with the terminal still there changes nothing
            await pilot.pause(0.2)
            assert app.is_running and not app.stopping
            monkeypatch.setattr(T4oApp, "terminal_alive", staticmethod(lambda: False))
            app.on_signal(signal.SIGCONT)  # the SIGCONT that follows a hang-up
        else:
            monkeypatch.setattr(T4oApp, "terminal_alive", staticmethod(lambda: False))
            app.check_terminal()
        await until(pilot, lambda: app.runtime is not None and app.runtime.stopping, what="engine stopping")
        await until(pilot, lambda: not app.is_running, what="app exit")

    app = scenario(db, db_path, body)
    assert app.return_code == 0
    assert workers_alive(db, time.time()) == []


def test_quit_stops_the_engine(db, db_path):
    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, what="app exit")

    app = scenario(db, db_path, body)
    assert app.return_code == 0
    assert app.runtime is not None and app.runtime.stopping
    assert workers_alive(db, time.time()) == []


def test_what_start_up_built_is_frozen_out_of_the_collector_until_exit(db, db_path, monkeypatch):
    """Frozen, start-up's objects no longer make each full collection stall the screen
    (bench/tui_load.py); unfrozen when the app ends, so that an app run in a process that goes on
    (tests, an embedding) leaves nothing held."""
    monkeypatch.setattr(T4oApp, "_freeze_startup_objects", FREEZE_STARTUP_OBJECTS)
    assert gc.get_freeze_count() == 0
    frozen: list[int] = []

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        await until(pilot, lambda: gc.get_freeze_count() > 0, what="start-up objects frozen")
        frozen.append(gc.get_freeze_count())

    scenario(db, db_path, body)
    assert frozen and frozen[0] > 10_000  # the app's widgets, styles and Textual's own objects
    assert gc.get_freeze_count() == 0
