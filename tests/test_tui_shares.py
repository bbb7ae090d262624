"""Pilot tests of share links in the terminal UI (create, see and copy the URL, toggle, revoke),
and of read-only mode refusing every schedule and share change."""

from __future__ import annotations

import time

from test_tui import LARGE, SMALL, in_thread, plain, scenario, until
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from t4o_tui.engine.schedules import ScheduleInput, add_schedule, get_schedule
from t4o_tui.engine.tasks import create_task
from t4o_tui.share.links import create_share, get_share, list_shares
from t4o_tui.store.models import Schedule, Share
from t4o_tui.tui.app import T4oApp
from t4o_tui.tui.screens.confirm import ConfirmScreen
from t4o_tui.tui.screens.dashboard import DashboardScreen
from t4o_tui.tui.screens.schedule_editor import ScheduleEditorScreen
from t4o_tui.tui.screens.share_editor import ShareEditorScreen
from t4o_tui.tui.screens.share_link import ShareLinkScreen
from t4o_tui.tui.screens.shares import SharesScreen
from t4o_tui.tui.screens.tasks import TasksScreen
from t4o_tui.tui.widgets.header import NavLine
from t4o_tui.tui.widgets.schedule_list import ScheduleList
from t4o_tui.tui.widgets.share_list import ShareList


def shares(app: T4oApp) -> ShareList:
    return app.screen.query_one(ShareList)


def share_cell(app: T4oApp, share_id: int, column: str) -> str:
    t = shares(app).table
    return t.text(str(share_id), column) if str(share_id) in t.row_keys() else ""


def test_create_share_see_and_copy_its_url_toggle_and_revoke(db, db_path):
    create_task("Results", "test", {"seconds": 0, "write_file": True})

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        await pilot.press("4")
        assert isinstance(app.screen, SharesScreen)
        await until(pilot, lambda: "off in this process" in app.screen.query_one(NavLine).title,
                    what="share server state in the header line")
        # Cut at 80 columns, so said in full on a line of its own too.
        assert "off in this process" in plain(app.screen.query_one("#server", Static))
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ShareEditorScreen), what="new link dialog")
        dialog = app.screen
        await until(pilot, lambda: dialog.query_one("#field-task").query_one("Select").value == "Results",
                    what="the only task chosen")
        dialog.query_one("#field-label Input", Input).focus()
        await pilot.press(*"speaker")
        dialog.query_one("#field-expires_at Input", Input).value = "yesterday"
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.screen is dialog  # a bad expiry refuses, beside its field
        assert "not a time" in plain(dialog.query_one("#field-expires_at .field-message", Static))
        dialog.query_one("#field-expires_at Input", Input).value = "+2h"
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ShareLinkScreen), what="the new link shown")
        rows = await in_thread(list_shares, app.db)
        assert len(rows) == 1 and rows[0].label == "speaker" and rows[0].expires_at is not None
        share = rows[0]
        url = plain(app.screen.query_one("#url", Static)).strip()
        assert url.endswith(f"/s/{share.token}") and url.startswith("http://")
        await pilot.press("c")
        assert app.clipboard == url
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, SharesScreen), what="back to the list")
        await until(pilot, lambda: "active" in share_cell(app, share.id, "state"), what="link listed")
        assert share_cell(app, share.id, "mode") == "plain"
        assert url in plain(shares(app).query_one(".detail", Static)).replace("\n", "")

        await pilot.press("t")  # run-task on
        await until(pilot, lambda: share_cell(app, share.id, "mode") == "run-task", what="run-task")
        assert (await in_thread(get_share, share.id)).run_task

        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="revoke question")
        assert app.focused is not None and app.focused.id == "no"  # the safe choice has the focus
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SharesScreen), what="kept")
        assert not (await in_thread(get_share, share.id)).revoked
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="revoke question")
        await pilot.press("right")
        assert isinstance(app.focused, Button) and app.focused.id == "yes"
        await pilot.press("enter")
        await until(pilot, lambda: "revoked" in share_cell(app, share.id, "state"), what="revoked in the list")
        assert (await in_thread(get_share, share.id)).revoked
        assert "404" in plain(shares(app).query_one(".detail", Static))

    scenario(db, db_path, body)


def test_task_editor_shares_tab_creates_a_link_for_its_task(db, db_path):
    create_task("Start list", "test", {"seconds": 0})
    create_task("Other", "test", {"seconds": 0})

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        app.edit_task_by_name("Start list")
        await until(pilot, lambda: app.screen.query(ShareList), what="task editor")
        await pilot.press("ctrl+t", "ctrl+t", "ctrl+t")  # Settings → Runs → Schedules → Shares
        await until(pilot, lambda: shares(app).table.has_focus, what="shares tab")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ShareEditorScreen), what="dialog")
        assert not app.screen.query("#field-task")  # the tab's task: nothing to choose
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ShareLinkScreen), what="link shown")
        await pilot.press("escape")
        rows = await in_thread(list_shares, app.db)
        assert [r.task for r in rows] == ["Start list"]
        await until(pilot, lambda: str(rows[0].id) in shares(app).table.row_keys(), what="listed in the tab")

    scenario(db, db_path, body, size=LARGE)


def test_readonly_refuses_schedule_and_share_changes(db, db_path):
    create_task("Results", "test", {"seconds": 0})
    now = time.time()
    sid = add_schedule(db, ScheduleInput(task="Results", kind="interval", every=600.0, start=now,
                                         expiry=now + 86400)).id
    share_id = create_share(db, "Results", label="speaker").id

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        assert isinstance(app.screen, DashboardScreen)
        schedules = app.screen.query_one(ScheduleList)
        await until(pilot, lambda: schedules.table.row_keys() == [str(sid)], what="schedule shown")
        schedules.table.focus()
        for key in ("p", "n", "delete", "r"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, DashboardScreen), key
        assert sum("Read-only" in n for n in app.notes) == 4
        await pilot.press("e")  # opens to look, and refuses to save
        await until(pilot, lambda: isinstance(app.screen, ScheduleEditorScreen), what="editor")
        assert app.screen.query_one("#field-every Input", Input).disabled
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert sum("Read-only" in n for n in app.notes) == 5
        await pilot.press("escape")

        await pilot.press("4")
        await until(pilot, lambda: shares(app).table.row_keys() == [str(share_id)], what="link shown")
        assert "read-only" in plain(app.screen.query_one("#server", Static))
        for key in ("n", "t", "e", "delete"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, SharesScreen), key
        assert sum("Read-only" in n for n in app.notes) == 9
        await pilot.press("c")  # copying changes nothing: allowed
        assert app.clipboard.endswith("/s/" + (await in_thread(get_share, share_id)).token)

    scenario(db, db_path, body, size=SMALL, readonly=True)
    s = get_schedule(sid)
    assert not s.paused and Schedule.select().count() == 1
    share = get_share(share_id)
    assert not share.revoked and not share.run_task and Share.select().count() == 1


def test_deleting_a_task_names_its_schedules_and_share_links_first(db, db_path):
    """A task's schedules and share links go with it: the question says so before anything goes."""
    create_task("Results", "test", {"seconds": 0})
    create_task("Other", "test", {"seconds": 0})
    now = time.time()
    add_schedule(db, ScheduleInput(task="Results", kind="interval", every=600.0, start=now, expiry=now + 86400))
    create_share(db, "Results", label="speaker")

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        await pilot.press("3")
        assert isinstance(app.screen, TasksScreen)
        screen = app.screen
        screen.select_task("Results")
        await until(pilot, lambda: (t := screen.selected()) is not None and t.name == "Results", what="the task selected")
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="delete question")
        question = plain(app.screen.query_one("#question", Static)).strip()
        assert question == ("Delete task 'Results' together with its 1 schedule and 1 share link? "
                            "This cannot be undone."), question
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, TasksScreen), what="kept")
        assert Schedule.select().count() == 1 and Share.select().count() == 1

    scenario(db, db_path, body, size=LARGE)


def test_ctrl_c_in_a_dialog_with_typed_text_asks_before_quitting(db, db_path):
    """As Esc does in these dialogs, and Ctrl+C does in the editors: what was typed is not lost unasked."""
    create_task("Results", "test", {"seconds": 0})

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        await pilot.press("4")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ShareEditorScreen), what="new link dialog")
        dialog = app.screen
        dialog.query_one("#field-label Input", Input).focus()
        await pilot.press(*"speaker")
        await pilot.press("ctrl+c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="quit question")
        assert plain(app.screen.query_one("#question", Static)).strip() == "Quit and discard the unsaved changes?"
        await pilot.press("n")
        await until(pilot, lambda: app.screen is dialog, what="back in the dialog")
        assert dialog.query_one("#field-label Input", Input).value == "speaker" and not app.stopping

    scenario(db, db_path, body, size=LARGE)


def test_back_on_settings_the_focused_name_is_in_view(db, db_path):
    """The form scrolled down, Ctrl+T round the tabs back to Settings: the Name field has the focus
    and is on screen, so a key typed there is seen (a task was renamed unseen)."""
    create_task("Import relay teams", "import-relay-entries", {"file": "/x.csv"})

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        app.edit_task_by_name("Import relay teams")
        await until(pilot, lambda: app.screen.query("#form"), what="task editor")
        form = app.screen.query_one("#form")
        await until(pilot, lambda: form.max_scroll_y > 0, what="a form taller than the screen")
        form.scroll_end(animate=False, immediate=True)
        await until(pilot, lambda: form.scroll_y > 0, what="scrolled down: the Name field out of view")
        await pilot.press("ctrl+t", "ctrl+t", "ctrl+t", "ctrl+t")  # round to Settings
        name = app.screen.query_one("#field-name Input", Input)
        await until(pilot, lambda: name.has_focus and form.scroll_y == 0, what="Name focused and in view")

    scenario(db, db_path, body)
