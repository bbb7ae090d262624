"""Results: one class's result list (place, name, club, time, behind, status); `,` and `.` change
class, `r` the race when the event has several."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import peewee
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from t4o_tui.engine import event_lists
from t4o_tui.engine.event_lists import ResultClass
from t4o_tui.engine.event_setup import RaceInfo
from t4o_tui.jobs import relay_timing
from t4o_tui.jobs.event_data import event_zone
from t4o_tui.jobs.relay_store import relay_class_ids
from t4o_tui.jobs.result_list import clock, load_runners, rank
from t4o_tui.store.models import Race
from t4o_tui.tui.format import clip
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.race_view import RaceViewScreen, choose_race
from t4o_tui.tui.widgets.live_table import Column, LiveTable, Row

COLUMNS = [Column("place", "Pl"), Column("bib", "Bib"), Column("name", "Name"), Column("club", "Club"),
           Column("time", "Time"), Column("behind", "Behind"), Column("status", "Status")]
STATUS_STYLE = {"OK": "green", "MissingPunch": "red", "DidNotFinish": "red", "Disqualified": "red bold",
                "DidNotStart": "dim", "Inactive": "dim"}


@dataclass(frozen=True)
class ResultsData:
    races: list[RaceInfo]
    race: RaceInfo | None
    classes: list[ResultClass]
    class_id: int | None
    rows: list[tuple[str, ...]]  # key, place, bib, name, club, time, behind, status


def load_results(db: peewee.Database, wanted_race: int | None, class_id: int | None, now: float) -> ResultsData:
    """The chosen race's classes and one class's ranked results (in a worker thread)."""
    races, race = choose_race(db, wanted_race, now)
    if race is None:
        return ResultsData(races, None, [], None, [])
    classes = event_lists.result_classes(db, race.id)
    if not classes:
        return ResultsData(races, race, [], None, [])
    chosen = class_id if class_id is not None and class_id in {c.id for c in classes} else classes[0].id
    conn = db.connection()
    if chosen in relay_class_ids(conn, race.id):
        # A relay class: each team with its legs (runner, leg time and place, changeover, place after).
        zone = event_zone(Race.get_by_id(race.id))
        return ResultsData(races, race, classes, chosen, relay_timing.result_rows(conn, race.id, chosen, zone))
    list_type = next(c.result_type for c in classes if c.id == chosen)
    runners = load_runners(db.connection(), race.id).get(chosen, [])
    rows: list[tuple[str, ...]] = []
    for ranked, runner in rank(runners, list_type):
        rows.append((str(runner.entry_id), "" if ranked.place is None else f"{ranked.place}.", runner.bib or "",
                     runner.name, runner.club, clock(ranked.time) if ranked.time is not None else "",
                     f"+{clock(ranked.behind)}" if ranked.behind else "", ranked.status.value))
    return ResultsData(races, race, classes, chosen, rows)


class ResultsScreen(RaceViewScreen):
    VIEW = "results"
    CSS_PATH = "results.tcss"
    HELP_TITLE = "Results"
    POLL_SECONDS = 3.0
    FILTERABLE = True
    BINDINGS: ClassVar = bindings("results.prev", "results.next", "results.race")

    def __init__(self) -> None:
        super().__init__()
        self.class_id: int | None = None
        self._data: ResultsData | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield LiveTable(COLUMNS, id="results-table")
            yield Static("No classes yet: import entries first.", id="empty", classes="empty")

    def on_mount(self) -> None:
        self.query_one(LiveTable).focus()

    async def load(self) -> ResultsData:
        race_id, class_id, now = self.t4o.race_id, self.class_id, self.services.now()
        return await self.services.query(load_results, race_id, class_id, now)

    def apply(self, data: ResultsData) -> None:
        if not self.show_races(data.races, data.race):
            return
        if self.class_id is not None and data.class_id != self.class_id and \
                self.class_id in {c.id for c in data.classes}:
            self.poll_now()  # the class changed while loading
            return
        self._data = data
        self.class_id = data.class_id
        self._show()

    def on_filter_changed(self) -> None:
        if self._data is not None:
            self._show()

    def action_cycle_class(self, step: int) -> None:
        if self._data is None or not self._data.classes:
            return
        ids = [c.id for c in self._data.classes]
        i = ids.index(self.class_id) if self.class_id in ids else 0
        self.class_id = ids[(i + step) % len(ids)]
        self.query_one(LiveTable).sync([])
        self.poll_now()

    def race_changed(self) -> None:
        # Class ids belong to a race: the new race starts at its first class.
        self.class_id = None
        self._data = None
        self.query_one(LiveTable).sync([])

    def _show(self) -> None:
        assert self._data is not None
        data = self._data
        rows = []
        for i, (key, *cells) in enumerate(data.rows):
            if not self.filter_matches(" ".join(cells)):
                continue
            texts = [Text(c) for c in cells]
            texts[2] = Text(clip(cells[2], 30))
            texts[3] = Text(clip(cells[3], 24))
            texts[6] = Text(cells[6], style=STATUS_STYLE.get(cells[6], ""))
            rows.append(Row(key, tuple(texts), (i,)))
        self.query_one(LiveTable).sync(rows)
        self.query_one("#empty").display = not data.classes
        name = next((c.name for c in data.classes if c.id == data.class_id), "–")
        n = len(data.classes)
        pos = next((i + 1 for i, c in enumerate(data.classes) if c.id == data.class_id), 0)
        title = f"{self.race_title()}{name} · class {pos}/{n} · {len(data.rows)} runners"
        if len(rows) != len(data.rows):
            title += f" · {len(rows)} shown"
        self.set_status_line(title)
