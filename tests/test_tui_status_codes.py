"""Result statuses read as short codes (MP, DNF, OK) in every status column of the TUI (issue 17,
"80×24 reads"): Readout, Results and Event → Entries all take them from engine.corrections."""

from __future__ import annotations

import pytest
from test_tui import until
from test_tui_races import make_app, run
from test_tui_readout import build
from textual.pilot import Pilot

from t4o_tui.engine.corrections import STATUS_CHOICES, short_status
from t4o_tui.orienteering.punch_check import Status
from t4o_tui.tui.screens.event import EventScreen
from t4o_tui.tui.screens.readout import ReadoutScreen
from t4o_tui.tui.screens.results import ResultsScreen
from t4o_tui.tui.widgets.live_table import LiveTable


def test_the_short_codes_are_the_admins_choices_and_pass_other_words_through():
    assert [short_status(s.value) for _, s in STATUS_CHOICES] == ["OK", "MP", "DNF", "DSQ", "DNS", "NC", "OT"]
    assert short_status(Status.MISSING_PUNCH.value) == "MP"
    assert short_status("card not found") == "card not found"  # a data status, not a result's


def statuses(table: LiveTable) -> dict[str, str]:
    return {table.text(str(k), "name"): table.text(str(k), "status") for k in table.row_keys()}


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_readout_results_and_entries_show_mp_and_ok(db, db_path, size):
    build(db)  # Kari OK, Ola MissingPunch (missing 33 41), a card on no entry
    app = make_app(db, db_path)

    async def body(pilot: Pilot[int]) -> None:
        want = {"Kari Nordmann": "OK", "Ola Nordmann": "MP"}
        await pilot.press("8")
        assert isinstance(app.screen, ReadoutScreen)
        readout = app.screen.query_one("#readout-table", LiveTable)
        await until(pilot, lambda: len(list(readout.row_keys())) == 4, what="the readouts")
        shown = statuses(readout)
        assert {n: shown[n] for n in want} == want and shown[""] == "card not found"
        # The filter still finds a status by its full name.
        await pilot.press("slash", *"MissingPunch")
        await until(pilot, lambda: len(list(readout.row_keys())) == 1, what="filtered by the full word")
        await pilot.press("escape", "escape")

        await pilot.press("6")
        await until(pilot, lambda: isinstance(app.screen, ResultsScreen), what="results")
        results = app.screen.query_one(LiveTable)
        await until(pilot, lambda: len(list(results.row_keys())) >= 2, what="the results")
        assert {n: s.rstrip("*") for n, s in statuses(results).items() if n in want} == want

        await pilot.press("5", "t")  # Event → Entries
        await until(pilot, lambda: isinstance(app.screen, EventScreen), what="event")
        entries = app.screen.query_one(LiveTable)
        await until(pilot, lambda: set(want) <= set(statuses(entries)), what="the entries")
        assert {n: s for n, s in statuses(entries).items() if n in want} == want

    run(app, size, body)
