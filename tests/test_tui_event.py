"""The event views on a simulated race: dashboard counts, event lists, results, station data."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from test_timing_jobs import build_race
from test_tui import in_thread, plain, scenario, table, until
from test_tui_races import ZONE, build_event
from test_tui_races import make_app as make_race_app
from test_tui_races import run as run_race_app
from textual.pilot import Pilot
from textual.widgets import Input

from t4o_tui.store.models import Class, Entry, StationData
from t4o_tui.tui.app import T4oApp
from t4o_tui.tui.screens.class_timing import ClassTimingScreen
from t4o_tui.tui.screens.confirm import ConfirmScreen
from t4o_tui.tui.screens.entry_edit import EntryEditScreen
from t4o_tui.tui.screens.event import EventScreen
from t4o_tui.tui.screens.results import ResultsScreen
from t4o_tui.tui.screens.station_data import StationDataScreen
from t4o_tui.tui.widgets.fields import Field

from conftest import run_job


def simulated_race(db, db_path, tmp_path) -> None:
    build_race(db, db_path, tmp_path, runners=20)
    assert run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": 1000, "seed": 3}).status == "succeeded"
    assert run_job(db, db_path, "process-station-data", {}).status == "succeeded"


def header(app: T4oApp) -> str:
    from t4o_tui.tui.widgets.header import NavLine
    return app.screen.query_one(NavLine).title


def test_event_views_on_a_simulated_race(db, db_path, tmp_path):
    simulated_race(db, db_path, tmp_path)

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        # The dashboard's event area: one line of counts.
        await until(pilot, lambda: bool(app.screen.query("#event-counts"))
                    and "Runners 20" in plain(app.screen.query_one("#event-counts")), what="event counts")
        line = plain(app.screen.query_one("#event-counts"))
        assert "home 20" in line and "OK" in line

        await pilot.press("5")
        assert isinstance(app.screen, EventScreen)
        await until(pilot, lambda: table(app).row_count == 2, what="classes")
        await pilot.press("t")
        await until(pilot, lambda: table(app).row_count == 20, what="entries")
        await pilot.press("slash", *"200013")  # a card number: no clock time can contain it
        await until(pilot, lambda: table(app).row_count == 1, what="filtered entries")
        await pilot.press("escape")
        await until(pilot, lambda: table(app).row_count == 20, what="filter cleared")
        # Edit an entry by hand: it is marked, so imports leave it alone.
        entry_key = table(app).selected_key
        assert entry_key is not None
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EntryEditScreen), what="entry editor")
        app.screen.query_one("#field-bib Input", Input).value = "999"
        await pilot.press("ctrl+r")  # the dialogs' save key
        await until(pilot, lambda: isinstance(app.screen, EventScreen), what="back from the editor")
        entry = await in_thread(lambda: Entry.get_by_id(int(entry_key)))
        assert entry.hand_edited and entry.bib == "999"
        await pilot.press("t")
        await until(pilot, lambda: table(app).row_count > 0 and "[Courses]" in header(app), what="courses")

        await pilot.press("6")
        assert isinstance(app.screen, ResultsScreen)
        await until(pilot, lambda: "1." in [table(app).text(str(k), "place") for k in table(app).row_keys()],
                    what="a winner")
        first = header(app)
        await pilot.press("full_stop")
        await until(pilot, lambda: header(app).split(" · ")[0] != first.split(" · ")[0], what="next class")

        await pilot.press("7")
        assert isinstance(app.screen, StationDataScreen)
        await until(pilot, lambda: table(app).row_count == 20, what="station data")
        key = table(app).selected_key
        assert key is not None
        await pilot.press("a")
        await until(pilot, lambda: table(app).text(key, "active") == "no", what="deactivated")
        assert not (await in_thread(lambda: StationData.get_by_id(int(key)).active))
        assert "Process Station Data" in header(app)

    scenario(db, db_path, body)


def test_station_data_and_entries_filters_match_a_long_name_typed_in_full(db, db_path, tmp_path):
    """The runner and name cells are clipped to their columns; the filters read the whole name."""
    simulated_race(db, db_path, tmp_path)
    entry = Entry.select().where(Entry.person.is_null(False)).first()
    person = entry.person
    person.given, person.family = "Anne Kristine Margrethe", "Solberg-Haugland"
    person.save()

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        await pilot.press("7")
        await until(pilot, lambda: table(app).row_count == 20, what="station data")
        await pilot.press("slash", *"Margrethe Solberg-Haugland")
        await until(pilot, lambda: table(app).row_count == 1, what="the long name found")
        await pilot.press("escape", "escape")
        # The Event view's entries clip the name at 30 characters: the same filter finds it there.
        await pilot.press("5")
        await until(pilot, lambda: table(app).row_count == 2, what="classes")
        await pilot.press("t")
        await until(pilot, lambda: table(app).row_count == 20, what="entries")
        await pilot.press("slash", *"Margrethe Solberg-Haugland")
        await until(pilot, lambda: table(app).row_count == 1, what="the long name found among the entries")

    scenario(db, db_path, body)


def test_station_data_toggle_refused_when_readonly(db, db_path, tmp_path):
    simulated_race(db, db_path, tmp_path)

    async def body(app: T4oApp, pilot: Pilot[int]) -> None:
        await pilot.press("7")
        await until(pilot, lambda: table(app).row_count == 20, what="station data")
        await pilot.press("a")
        await pilot.pause(0.2)
        assert any("Read-only" in n for n in app.notes)  # type: ignore[attr-defined]
        assert StationData.select().where(StationData.active == False).count() == 0  # noqa: E712

    scenario(db, db_path, body, readonly=True)


# -- the class timing editor (Event view, Classes, `e`) ------------------------------------------------

@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_class_timing_editor_checks_as_typed_saves_and_asks_before_discarding(db, db_path, size):
    build_event(db)  # three days; the app's clock is on day 2, so the view opens on day 2
    db.execute_sql("UPDATE class SET bib_start = 100 WHERE name = 'Women D2'")  # bibs 100-102
    app = make_race_app(db, db_path)

    def stored(name: str) -> tuple[float | None, float | None, int | None]:
        c = Class.get(Class.name == name)
        return c.first_start, c.start_interval, c.bib_start

    async def type_into(pilot: Pilot[int], editor: ClassTimingScreen, text: str) -> None:
        await pilot.press("ctrl+u", *text)  # the field's text goes, the new text comes
        await editor.wait_checked()

    async def body(pilot: Pilot[int]) -> None:
        await pilot.press("5")
        await until(pilot, lambda: table(app).row_count == 2 and table(app).text(str(table(app).selected_key), "name")
                    == "Men D2", what="day 2's classes")
        assert "event.class_timing" in {b.binding.id for b in app.screen.active_bindings.values()}
        before = await in_thread(stored, "Men D2")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ClassTimingScreen), what="class timing editor")
        editor = app.screen
        assert isinstance(editor, ClassTimingScreen)
        await editor.wait_checked()
        assert app.focused is None  # no field is taken on open: a stray key changes nothing
        assert "Men D2" in header(app) and "Day 2" in header(app)

        # A bad value shows its error beside the field as it is typed; the text stays.
        await pilot.press("tab")
        assert app.focused is editor.query_one("#field-first_start Input")
        await type_into(pilot, editor, "25:00")
        assert "not a time of day" in (editor.field_error("first_start") or "")
        assert editor.query_one("#field-first_start Input", Input).value == "25:00"
        await pilot.press("ctrl+r")  # refused: nothing is written
        await until(pilot, lambda: any("Not saved" in n for n in app.notes), what="refused")  # type: ignore[attr-defined]
        assert isinstance(app.screen, ClassTimingScreen)
        assert await in_thread(stored, "Men D2") == before
        await type_into(pilot, editor, "10:30")
        assert editor.field_error("first_start") is None

        await pilot.press("tab")
        await type_into(pilot, editor, "-2m")
        assert "more than 0" in (editor.field_error("start_interval") or "")
        await type_into(pilot, editor, "2m")
        assert editor.field_error("start_interval") is None

        await pilot.press("tab")
        await type_into(pilot, editor, "99")  # 99-101 against Women D2's 100-102
        assert "overlap" in (editor.field_error("bib_start") or "")
        await type_into(pilot, editor, "1")
        assert editor.field_error("bib_start") is None
        assert set(editor.changes()) == {"first_start", "start_interval", "bib_start"}
        # The class's start window as saving would make it: 3 entries, one every 2 minutes.
        assert "Starts 10:30:00 – 10:34:00 · 3 starts every 2m · bibs 1–3" in plain(editor.query_one("#summary"))

        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, EventScreen), what="saved and back")
        first, interval, bib = await in_thread(stored, "Men D2")
        assert first == datetime(2026, 7, 2, 10, 30, tzinfo=ZoneInfo(ZONE)).timestamp()
        assert (interval, bib) == (120.0, 1)
        await until(pilot, lambda: table(app).text(str(table(app).selected_key), "first") == "10:30:00",
                    what="the list shows the new first start")

        # Esc with changes asks first; keeping them keeps the text, discarding writes nothing.
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ClassTimingScreen), what="editor again")
        editor = app.screen
        assert isinstance(editor, ClassTimingScreen)
        await editor.wait_checked()
        assert editor.query_one("#field-first_start Input", Input).value == "10:30:00"
        await pilot.press("tab")
        await type_into(pilot, editor, "11:00")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="asks before discarding")
        await pilot.press("escape")  # keep editing
        await until(pilot, lambda: app.screen is editor, what="back in the editor")
        assert editor.query_one("#field-first_start Input", Input).value == "11:00"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="asks again")
        await pilot.click("#yes")
        await until(pilot, lambda: isinstance(app.screen, EventScreen), what="discarded")
        assert (await in_thread(stored, "Men D2"))[0] == first
        # Without changes Esc closes at once.
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ClassTimingScreen), what="editor once more")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, EventScreen), what="closed without asking")

    run_race_app(app, size, body)


def test_class_timing_editor_is_read_only_in_readonly_mode(db, db_path):
    build_event(db)
    app = make_race_app(db, db_path, readonly=True)

    async def body(pilot: Pilot[int]) -> None:
        await pilot.press("5")
        await until(pilot, lambda: table(app).row_count == 2, what="classes")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ClassTimingScreen), what="editor")
        assert "read-only" in header(app)
        assert all(f.control.disabled for f in app.screen.query(Field))
        await pilot.press("ctrl+r")
        await until(pilot, lambda: any("Read-only" in n for n in app.notes), what="refused")  # type: ignore[attr-defined]

    run_race_app(app, (80, 24), body)
