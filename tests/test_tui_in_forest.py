"""In forest (key 9, and f on the dashboard): the runners out, longest out first, with time out and
max time left, overdue marked; a runner disappears once read out and processed; `t` shows those
not started yet (the dashboard's counts, the same rule)."""

from __future__ import annotations

import time

import pytest
from test_timing_jobs import build_race
from test_tui import until
from test_tui_corrections import SIZES, make_app, run
from textual.pilot import Pilot

from t4o_tui.engine.event_status import event_status
from t4o_tui.engine.forest import forest
from t4o_tui.engine.runs import enqueue_run
from t4o_tui.store.models import Class, Person, Result, Station, StationData
from t4o_tui.tui.screens.dashboard import DashboardScreen
from t4o_tui.tui.screens.in_forest import InForestScreen
from t4o_tui.tui.widgets.live_table import LiveTable

from conftest import run_job


def prepare(db, db_path, tmp_path, started_ago: float) -> None:
    build_race(db, db_path, tmp_path, runners=30, started_ago=started_ago)
    assert run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": 1000}).status == "succeeded"
    assert run_job(db, db_path, "process-station-data", {}, name="process").status == "succeeded"


def test_the_lists_follow_the_dashboard_counts(db, db_path, tmp_path):
    prepare(db, db_path, tmp_path, started_ago=8 * 60)
    now = time.time()
    counts, data = event_status(db, now=now), forest(db, now=now)
    assert len(data.in_forest) == counts.in_forest > 0 and len(data.not_started) == counts.not_started > 0
    starts = [r.start_time for r in data.in_forest]
    assert starts == sorted(starts)  # longest out first
    assert all(r.start_time is not None and r.start_time > now for r in data.not_started)
    # A max time shorter than the time out makes a runner overdue.
    Class.update(max_time=60).execute()
    first = forest(db, now=now).in_forest[0]
    assert first.overdue(now) and first.time_left(now) is not None and first.time_left(now) < 0


@pytest.mark.parametrize("size", SIZES)
def test_a_runner_read_out_leaves_the_list(db, db_path, tmp_path, size):
    prepare(db, db_path, tmp_path, started_ago=8 * 60)
    Class.update(max_time=5 * 60).execute()  # the first starters are past it: overdue
    # Names longer than the column: the filter must match the whole name, not the clipped cell.
    Person.update(family=Person.family.concat("-Lindqvist-Johansson")).execute()
    app = make_app(db, db_path)

    async def body(pilot: Pilot[int]) -> None:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen._data is not None
                    and app.screen._data.event is not None, what="the dashboard's event counts")
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, InForestScreen), what="the In forest view", timeout=60)
        screen = app.screen
        table = screen.query_one(LiveTable)
        expected = forest(db, now=time.time()).in_forest
        await until(pilot, lambda: len(table.row_keys()) == len(expected), what="the runners out", timeout=60)
        assert table.row_keys()[0] == str(expected[0].entry_id)
        assert "OVERDUE" in table.text(str(expected[0].entry_id), "left")
        assert "In forest" in screen.status_line and "overdue" in screen.status_line
        # The runner longest out with a card is read out now: gone after processing.
        runner = next(r for r in expected if r.card)
        readout = Station.get(Station.role == "readout")
        StationData.create(race=1, station=readout, card_number=runner.card, read_at=time.time(),
                           finish_time=time.time(), punches=[], source="readout at the finish", created_at=time.time())
        enqueue_run(db, "process")
        await until(pilot, lambda: str(runner.entry_id) not in table.row_keys(), what="the runner to leave the list", timeout=60)
        assert Result.get(Result.entry == runner.entry_id).finish_time is not None
        # The filter narrows the list; t shows the runners not started.
        other = next(r for r in expected if r.entry_id != runner.entry_id)
        before = len(table.row_keys())
        await pilot.press("slash", *other.name)
        assert len(other.name) > 24
        await until(pilot, lambda: 0 < len(table.row_keys()) < before, what="the filtered list", timeout=60)
        assert str(other.entry_id) in table.row_keys()
        await pilot.press("escape", "escape")
        await pilot.press("t")
        waiting = forest(db, now=time.time()).not_started
        await until(pilot, lambda: len(table.row_keys()) == len(waiting), what="the runners not started", timeout=60)
        assert "[Not started" in screen.status_line

    run(app, size, body)
