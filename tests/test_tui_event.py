"""The event views on a simulated race: dashboard counts, event lists, results, station data."""

from __future__ import annotations

from test_timing_jobs import build_race
from test_tui import in_thread, plain, scenario, table, until
from textual.pilot import Pilot
from textual.widgets import Input

from t4o_tui.store.models import Entry, StationData
from t4o_tui.tui.app import T4oApp
from t4o_tui.tui.screens.entry_edit import EntryEditScreen
from t4o_tui.tui.screens.event import EventScreen
from t4o_tui.tui.screens.results import ResultsScreen
from t4o_tui.tui.screens.station_data import StationDataScreen

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
        app.screen.query_one("#bib", Input).value = "999"
        await pilot.click("#yes")
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
