"""The Results view ranks and shows times at the event's time resolution (issue 16): two runners
0.2 s apart at 0.1 s resolution take different places and show their tenths; at 1 s they tie."""

from __future__ import annotations

import pytest
from test_tui import until
from test_tui_races import make_app, run, title
from textual.pilot import Pilot

from t4o_tui.store.models import Event
from t4o_tui.tui.screens.results import ResultsScreen
from t4o_tui.tui.widgets.live_table import LiveTable

ZONE = "Europe/Oslo"


def build(db, resolution: float) -> None:
    conn = db.connection()
    conn.execute("INSERT INTO event(id, name, timezone, time_resolution) VALUES (1, 'Tenths', ?, ?)", (ZONE, resolution))
    conn.execute("INSERT INTO race(id, event_id, name, date, race_number) VALUES (1, 1, 'Day 2', '2026-07-02', 1)")
    cid = conn.execute("INSERT INTO class(race_id, name, start_type, vacancies, result_type, start_source, ids) "
                       "VALUES (1, 'D21', 'interval', 0, 'normal', 'drawn', '{}')").lastrowid
    for given, t in (("Kari", 978.5), ("Åse", 978.3), ("Mia", 1001.0)):
        pid = conn.execute("INSERT INTO person(given, family) VALUES (?, 'Lien')", (given,)).lastrowid
        eid = conn.execute("INSERT INTO entry(race_id, class_id, person_id, status, hand_edited, created_at, updated_at) "
                           "VALUES (1, ?, ?, 'entered', 0, 0, 0)", (cid, pid)).lastrowid
        conn.execute("INSERT INTO result(entry_id, status, time, splits, overdue, computed_at) VALUES (?, 'OK', ?, '[]', 0, 0)",
                     (eid, t))
    conn.commit()


def cells(app) -> dict[str, tuple[str, str, str]]:
    table = app.screen.query_one(LiveTable)
    return {table.text(str(k), "name"): (table.text(str(k), "place"), table.text(str(k), "time"),
                                          table.text(str(k), "behind")) for k in table.row_keys()}


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_results_view_ranks_and_shows_tenths_at_the_events_resolution(db, db_path, size):
    build(db, 0.1)
    app = make_app(db, db_path)

    async def body(pilot: Pilot[int]) -> None:
        await pilot.press("6")
        assert isinstance(app.screen, ResultsScreen)
        await until(pilot, lambda: len(cells(app)) == 3, what="the class's results")
        shown = cells(app)
        assert shown["Åse Lien"] == ("1.", "16:18.3", "")
        assert shown["Kari Lien"] == ("2.", "16:18.5", "+0:00.2")
        assert shown["Mia Lien"] == ("3.", "16:41.0", "+0:22.7")
        assert "tenths" in title(app)
        # The event back at whole seconds: 978.3 and 978.5 are both 16:18 and share the place.
        Event.update(time_resolution=1.0).execute()
        await pilot.press("full_stop")  # the one class again: reloads
        await until(pilot, lambda: cells(app).get("Kari Lien", ("",))[0] == "1.", what="places at 1 s")
        shown = cells(app)
        assert shown["Åse Lien"] == ("1.", "16:18", "") and shown["Kari Lien"] == ("1.", "16:18", "")
        assert shown["Mia Lien"] == ("3.", "16:41", "+0:23")
        assert "tenths" not in title(app)

    run(app, size, body)


def test_imported_relay_results_show_in_the_results_view_at_tenths(db, db_path, tmp_path):
    """A relay ResultList from another program (import-results) in the Results view: team places
    and times at the event's 0.1 s, each leg's runner, leg time and leg place below the team."""
    from test_import_results import oe_relay_result_list

    from conftest import run_job

    Event.create(name="Stafettløpet", timezone=ZONE, time_resolution=0.1)
    f = tmp_path / "oe-relay.xml"
    f.write_bytes(oe_relay_result_list())
    assert run_job(db, db_path, "import-results", {"file": str(f)}).status == "succeeded"
    app = make_app(db, db_path)

    async def body(pilot: Pilot[int]) -> None:
        await pilot.press("6")
        await until(pilot, lambda: "Tyrving 1" in cells(app), what="the relay class's teams")
        shown = cells(app)
        assert shown["Tyrving 1"] == ("1.", "1:15:00.5", "")
        assert shown["Halden 1"] == ("2.", "1:15:00.7", "+0:00.2")
        assert shown["Bækkelaget 1"][0] == ""  # mispunched: no place
        assert shown["  Mia Ødegård"][1] == "23:20.2 (2.)"  # leg time and leg place
        assert "H21 stafett" in title(app) and "tenths" in title(app)

    run(app, (160, 50), body)
