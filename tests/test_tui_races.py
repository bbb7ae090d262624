"""Race selection in the Event and Results views: a three-day event, the race of the day first,
`r` goes to the next race in both views (remappable), and one race changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import peewee
import pytest
from test_tui import until
from textual.pilot import Pilot

from t4o_tui.config import Config
from t4o_tui.engine.clock import FakeClock
from t4o_tui.engine.runtime import RuntimeOptions
from t4o_tui.tui.app import T4oApp
from t4o_tui.tui.screens.event import EventScreen
from t4o_tui.tui.screens.results import ResultsScreen
from t4o_tui.tui.widgets.header import NavLine
from t4o_tui.tui.widgets.live_table import LiveTable

ZONE = "Europe/Oslo"
# Race day 2 of 3, mid-morning in the event's zone: the views open on day 2.
NOW = datetime(2026, 7, 2, 10, 0, tzinfo=ZoneInfo(ZONE)).timestamp()
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 50), id="160x50")]


def build_event(db: peewee.Database, days: int = 3) -> None:
    """An event of `days` races; each race has its own classes ("<class> D<n>"), entries and results:
    on day n, runner k of a class runs in (30 + k + n) minutes, so the winner is runner 1."""
    conn = db.connection()
    conn.execute("INSERT INTO event(id, name, timezone) VALUES (1, 'Summer 3-days', ?)", (ZONE,))
    for n in range(1, days + 1):
        conn.execute("INSERT INTO race(id, event_id, name, date, race_number) VALUES (?, 1, ?, ?, ?)",
                     (n, f"Day {n}", f"2026-07-0{n}", n))
        for cname in ("Men", "Women"):
            cur = conn.execute("INSERT INTO class(race_id, name, start_type, vacancies, result_type, start_source, ids) "
                               "VALUES (?, ?, 'interval', 0, 'normal', 'drawn', '{}')", (n, f"{cname} D{n}"))
            class_id = cur.lastrowid
            bib = n * 1000 + (0 if cname == "Men" else 500)
            for k in range(1, 4):
                person = conn.execute("INSERT INTO person(given, family) VALUES (?, ?)",
                                      (f"{cname}{k}", f"Day{n}")).lastrowid
                entry = conn.execute(
                    "INSERT INTO entry(race_id, class_id, person_id, status, bib, hand_edited, created_at, updated_at) "
                    "VALUES (?, ?, ?, 'entered', ?, 0, 0, 0)", (n, class_id, person, str(bib + k))).lastrowid
                conn.execute("INSERT INTO result(entry_id, status, time, splits, overdue, computed_at) "
                             "VALUES (?, 'OK', ?, '[]', 0, 0)", (entry, (30 + k + n) * 60.0))
    conn.commit()


def make_app(db: peewee.Database, db_path: Path, keys: dict[str, str] | None = None, *,
             readonly: bool = False) -> T4oApp:
    """The app on the event's clock (day 2, 10:00), its notifications kept in app.notes."""
    cfg = Config(db=db_path, timezone=ZONE, grace=0.5, keys=keys or {})
    options = RuntimeOptions(poll=0.2, grace=0.5, queue_lane=False, direct_lane=False, scheduler=False, share=False)
    app = T4oApp(cfg, db, options=options, clock=FakeClock(NOW), watch_terminal=False, readonly=readonly)
    app.notes = []  # type: ignore[attr-defined]
    notify = app.notify

    def recording_notify(message: str, **kwargs: Any) -> None:
        app.notes.append(str(message))  # type: ignore[attr-defined]
        notify(message, **kwargs)

    app.notify = recording_notify  # type: ignore[method-assign]
    return app


def run(app: T4oApp, size: tuple[int, int], body: Callable[[Pilot[int]], Awaitable[None]]) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            if not app.readonly:
                await until(pilot, lambda: app.engine_started, what="engine start")
            await body(pilot)

    asyncio.run(main())


def title(app: T4oApp) -> str:
    return app.screen.query_one(NavLine).title


def first_column(app: T4oApp) -> list[str]:
    table = app.screen.query_one(LiveTable)
    column = table.columns_shown[0].key
    return [table.text(str(k), column) for k in table.row_keys()]


def shown_binding_ids(app: T4oApp) -> set[str]:
    return {b.binding.id for b in app.screen.active_bindings.values() if b.binding.id}


@pytest.mark.parametrize("size", SIZES)
def test_event_and_results_views_switch_race_by_keyboard(db, db_path, size):
    build_event(db)
    app = make_app(db, db_path)
    wide = size[0] >= 110

    async def body(pilot: Pilot[int]) -> None:
        await pilot.press("5")
        assert isinstance(app.screen, EventScreen)
        # Day 2 is today in the event's zone: the view opens on it.
        await until(pilot, lambda: sorted(first_column(app)) == ["Men D2", "Women D2"], what="day 2's classes")
        assert title(app).startswith("Day 2, 2026-07-02 · race 2/3 · " if wide else "Day 2 (2/3) · ")
        assert "[Classes]" in title(app)
        assert "event.race" in shown_binding_ids(app)
        await pilot.press("r")
        await until(pilot, lambda: sorted(first_column(app)) == ["Men D3", "Women D3"], what="day 3's classes")
        assert title(app).startswith("Day 3, 2026-07-03 · race 3/3" if wide else "Day 3 (3/3)")
        await pilot.press("r")  # round to the first race
        await until(pilot, lambda: sorted(first_column(app)) == ["Men D1", "Women D1"], what="day 1's classes")
        # Entries follow the race too.
        await pilot.press("t")
        await until(pilot, lambda: len(first_column(app)) == 6 and "[Entries]" in title(app), what="day 1's entries")
        assert sorted(first_column(app)) == ["1001", "1002", "1003", "1501", "1502", "1503"]
        assert title(app).startswith("Day 1")

        # The Results view shows the race chosen in the Event view, then goes on by itself.
        await pilot.press("6")
        assert isinstance(app.screen, ResultsScreen)
        await until(pilot, lambda: "Men D1 · class 1/2 · 3 runners" in title(app), what="day 1's results")
        assert title(app).startswith("Day 1")
        table = app.screen.query_one(LiveTable)
        winner = next(k for k in table.row_keys() if table.text(str(k), "place") == "1.")
        assert table.text(str(winner), "name") == "Men1 Day1" and table.text(str(winner), "time") == "32:00"
        await pilot.press("full_stop")
        await until(pilot, lambda: "Women D1 · class 2/2" in title(app), what="next class")
        await pilot.press("r")
        await until(pilot, lambda: "Men D2 · class 1/2 · 3 runners" in title(app), what="day 2's results, first class")
        assert title(app).startswith("Day 2, 2026-07-02 · race 2/3" if wide else "Day 2 (2/3)")
        table = app.screen.query_one(LiveTable)
        winner = next(k for k in table.row_keys() if table.text(str(k), "place") == "1.")
        assert table.text(str(winner), "time") == "33:00"
        # Back in the Event view: the race chosen in Results.
        await pilot.press("5")
        await until(pilot, lambda: title(app).startswith("Day 2"), what="event view on day 2")

    run(app, size, body)


def test_the_race_key_is_remappable(db, db_path):
    build_event(db)
    app = make_app(db, db_path, keys={"event.race": "ctrl+n", "results.race": "ctrl+n"})

    async def body(pilot: Pilot[int]) -> None:
        await pilot.press("5")
        await until(pilot, lambda: sorted(first_column(app)) == ["Men D2", "Women D2"], what="day 2's classes")
        await pilot.press("r")  # the old key does nothing now
        await pilot.pause(0.3)
        assert sorted(first_column(app)) == ["Men D2", "Women D2"]
        await pilot.press("ctrl+n")
        await until(pilot, lambda: sorted(first_column(app)) == ["Men D3", "Women D3"], what="day 3 by ctrl+n")

    run(app, (80, 24), body)


@pytest.mark.parametrize("size", SIZES)
def test_one_race_changes_nothing(db, db_path, size):
    build_event(db, days=1)
    app = make_app(db, db_path)

    async def body(pilot: Pilot[int]) -> None:
        await pilot.press("5")
        await until(pilot, lambda: sorted(first_column(app)) == ["Men D1", "Women D1"], what="the classes")
        assert title(app) == "[Classes] Entries Courses · 2"
        assert "event.race" not in shown_binding_ids(app)
        await pilot.press("r")  # nothing to go to
        await pilot.pause(0.2)
        assert title(app) == "[Classes] Entries Courses · 2"
        await pilot.press("6")
        await until(pilot, lambda: title(app) == "Men D1 · class 1/2 · 3 runners", what="results, no race named")
        assert "results.race" not in shown_binding_ids(app)

    run(app, size, body)
