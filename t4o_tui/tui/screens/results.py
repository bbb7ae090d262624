"""Results: one class's result list (place, name, club, time, behind, status); `,` and `.` change
class, `r` the race when the event has several. Places and times at the event's time resolution."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from t4o_tui.engine import corrections
from t4o_tui.engine.corrections import short_status
from t4o_tui.jobs.result_view import ResultsData, load_results
from t4o_tui.tui.format import clip
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.correction import correct_entry
from t4o_tui.tui.screens.race_view import RaceViewScreen
from t4o_tui.tui.widgets.live_table import Column, LiveTable, Row

COLUMNS = [Column("place", "Pl"), Column("bib", "Bib"), Column("name", "Name"), Column("club", "Club"),
           Column("time", "Time"), Column("behind", "Behind"), Column("status", "Status")]
STATUS_STYLE = {"OK": "green", "MissingPunch": "red", "DidNotFinish": "red", "Disqualified": "red bold",
                "DidNotStart": "dim", "Inactive": "dim"}


class ResultsScreen(RaceViewScreen):
    VIEW = "results"
    CSS_PATH = "results.tcss"
    HELP_TITLE = "Results"
    POLL_SECONDS = 3.0
    FILTERABLE = True
    BINDINGS: ClassVar = bindings("results.prev", "results.next", "results.race", "results.correct")

    def __init__(self) -> None:
        super().__init__()
        self.class_id: int | None = None
        self._data: ResultsData | None = None
        self._corrected: dict[int, int] = {}  # entry id -> active corrections (marked * beside the status)

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield LiveTable(COLUMNS, id="results-table")
            yield Static("No classes yet: import entries first.", id="empty", classes="empty")

    def on_mount(self) -> None:
        self.query_one(LiveTable).focus()

    async def load(self) -> ResultsData:
        race_id, class_id, now = self.t4o.race_id, self.class_id, self.services.now()
        data = await self.services.query(load_results, race_id, class_id, now)
        self._corrected = await self.services.query(corrections.corrected_entries, data.race.id) if data.race else {}
        return data

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
            # Short codes (MP, DNF) fit 80 columns; * marks a result corrected by hand.
            mark = "*" if key.isdigit() and int(key) in self._corrected else ""
            texts[6] = Text(short_status(cells[6]) + mark, style=STATUS_STYLE.get(cells[6], ""))
            rows.append(Row(key, tuple(texts), (i,)))
        self.query_one(LiveTable).sync(rows)
        self.query_one("#empty").display = not data.classes
        name = next((c.name for c in data.classes if c.id == data.class_id), "–")
        n = len(data.classes)
        pos = next((i + 1 for i, c in enumerate(data.classes) if c.id == data.class_id), 0)
        title = f"{self.race_title()}{name} · class {pos}/{n} · {len(data.rows)} runners"
        if len(rows) != len(data.rows):
            title += f" · {len(rows)} shown"
        if data.resolution < 1:
            title += " · tenths"  # ranked at the event's 0.1 s resolution (whole seconds say nothing)
        if any(k.isdigit() and int(k) in self._corrected for k, *_ in data.rows):
            title += " · * corrected"
        self.set_status_line(title)

    def action_correct(self) -> None:
        key = self.query_one(LiveTable).selected_key
        if key is None or not key.isdigit():
            self.notify("Select a runner to correct (a relay team's legs are corrected from Event).",
                        severity="warning")
            return
        correct_entry(self, int(key))
