"""The Readout view (key 8): readouts from the stations with status and missing controls, unknown
cards, and each station's connection state, from engine.readouts."""

from __future__ import annotations

import json

import pytest
from test_tui import until
from test_tui_races import NOW, make_app, run
from test_tui_snapshots import screen_text
from textual.pilot import Pilot

from t4o_tui.engine.readouts import recent_readouts, station_states, unknown_cards
from t4o_tui.tui.screens.readout import ReadoutScreen
from t4o_tui.tui.widgets.live_table import LiveTable


def build(db) -> None:
    conn = db.connection()
    conn.execute("INSERT INTO event(id, name, timezone) VALUES (1, 'Sprint', 'Europe/Oslo')")
    conn.execute("INSERT INTO race(id, event_id, name, date, race_number) VALUES (1, 1, 'Sprint', '2026-07-02', 1)")
    conn.execute("INSERT INTO class(id, race_id, name, start_type, vacancies, result_type, start_source, ids) "
                 "VALUES (1, 1, 'H21', 'interval', 0, 'normal', 'drawn', '{}')")
    sid = conn.execute("SELECT id FROM station WHERE role='readout'").fetchone()[0]
    for i, (name, status, t, missing) in enumerate([("Kari Nordmann", "OK", 1834.0, None),
                                                     ("Ola Nordmann", "MissingPunch", 1900.0, "33 41")], start=1):
        given, family = name.split()
        conn.execute("INSERT INTO person(id, given, family) VALUES (?, ?, ?)", (i, given, family))
        conn.execute("INSERT INTO entry(id, race_id, class_id, person_id, status, hand_edited, created_at, updated_at) "
                     "VALUES (?, 1, 1, ?, 'entered', 0, 0, 0)", (i, i))
        conn.execute("INSERT INTO station_data(race_id, station_id, card_number, card_type, read_at, punches, source, "
                     "entry_id, processed_at, created_at, twelve_hour, active) "
                     "VALUES (1, ?, ?, 'SI8', ?, '[]', 'SI station 42 on /dev/ttyUSB0 (SI8)', ?, ?, ?, 0, 1)",
                     (sid, str(2000000 + i), NOW - 60 * i, i, NOW, NOW))
        conn.execute("INSERT INTO result(entry_id, status, time, splits, missing, overdue, computed_at) "
                     "VALUES (?, ?, ?, '[]', ?, 0, ?)", (i, status, t, missing, NOW))
    for k in range(2):  # the same stranger card twice
        conn.execute("INSERT INTO station_data(race_id, station_id, card_number, read_at, punches, source, data_status, "
                     "processed_at, created_at, twelve_hour, active) VALUES (1, ?, '7777777', ?, '[]', "
                     "'SI station 42 on /dev/ttyUSB0 (SI10)', 'card not found', ?, ?, 0, 1)", (sid, NOW - k, NOW, NOW))
    # A readout file's station data is not a station readout: not listed here.
    conn.execute("INSERT INTO station_data(race_id, station_id, card_number, read_at, punches, source, created_at, "
                 "twelve_hour, active) VALUES (1, ?, '5', ?, '[]', 'readout file line 2', ?, 0, 1)", (sid, NOW, NOW))
    conn.execute("INSERT INTO task(id, name, job, settings, direct, created_at, updated_at) "
                 "VALUES (1, 'Finish readout', 'si-readout', '{}', 1, 0, 0)")
    conn.execute("INSERT INTO task_state(task_id, key, value) VALUES (1, 'station', ?)", (json.dumps(
        {"state": "connected", "port": "/dev/ttyUSB0", "station": 42, "message": "station 42 at 38400 baud",
         "since": NOW - 300, "readouts": 4}),))
    conn.commit()


def test_queries_return_station_readouts_unknown_cards_and_states(db):
    build(db)
    rows = recent_readouts(db)
    assert [(r.card, r.name, r.status, r.missing) for r in rows] == [
        ("7777777", "", "card not found", None), ("7777777", "", "card not found", None),
        ("2000002", "Ola Nordmann", "MissingPunch", "33 41"), ("2000001", "Kari Nordmann", "OK", None)]
    assert [(u.card, u.times) for u in unknown_cards(db)] == [("7777777", 2)]
    assert [(s.task, s.state, s.station, s.readouts) for s in station_states(db)] == [("Finish readout", "connected", 42, 4)]


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
def test_readout_view_by_number_key(db, db_path, size):
    build(db)
    app = make_app(db, db_path)

    async def body(pilot: Pilot[int]) -> None:
        await pilot.press("8")
        assert isinstance(app.screen, ReadoutScreen)
        table = app.screen.query_one("#readout-table", LiveTable)
        await until(pilot, lambda: len(list(table.row_keys())) == 4, what="the readouts")
        names = {table.text(str(k), "name") for k in table.row_keys()}
        assert {"Kari Nordmann", "Ola Nordmann"} <= names
        mp = next(k for k in table.row_keys() if table.text(str(k), "name") == "Ola Nordmann")
        # Status as its short code (MP, DNF), as the Results view: no cut "MissingPu…" at 80 columns.
        assert table.text(str(mp), "missing") == "33, 41" and table.text(str(mp), "status") == "MP"
        # Missing controls named as the issue reads ("missing 45, 46"), whole at 80 columns too.
        await until(pilot, lambda: "31:40  33, 41" in screen_text(app), what="the Missing column on screen")
        ok = next(k for k in table.row_keys() if table.text(str(k), "name") == "Kari Nordmann")
        assert table.text(str(ok), "time") == "30:34" and table.text(str(ok), "status") == "OK"
        unknown = app.screen.query_one("#unknown-table", LiveTable)
        assert [unknown.text(str(k), "card") for k in unknown.row_keys()] == ["7777777"]
        stations = str(app.screen.query_one("#stations").render())
        assert "connected" in stations and "/dev/ttyUSB0" in stations
        # The filter narrows the readouts; another number key goes back to a listed view.
        await pilot.press("slash")
        await pilot.press(*"Kari")
        await until(pilot, lambda: len(list(table.row_keys())) == 1, what="filtered")
        await pilot.press("escape", "escape")
        await pilot.press("1")
        assert not isinstance(app.screen, ReadoutScreen)

    run(app, size, body)


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
def test_the_readout_filter_matches_a_long_name_typed_in_full(db, db_path, size):
    """The name cell is clipped to its column; the filter reads the whole name, so a name
    longer than the column, typed in full, still finds its readout."""
    build(db)
    conn = db.connection()
    conn.execute("UPDATE person SET given = 'Kari Marie Elisabeth', family = 'Nordmann-Johannessen' WHERE id = 1")
    conn.commit()
    app = make_app(db, db_path)

    async def body(pilot: Pilot[int]) -> None:
        await pilot.press("8")
        table = app.screen.query_one("#readout-table", LiveTable)
        await until(pilot, lambda: len(list(table.row_keys())) == 4, what="the readouts")
        await pilot.press("slash")
        await pilot.press(*"Elisabeth Nordmann-Johannessen")
        await until(pilot, lambda: len(list(table.row_keys())) == 1, what="the long name found")
        key = next(iter(table.row_keys()))
        assert table.text(str(key), "name").startswith("Kari Marie")

    run(app, size, body)
