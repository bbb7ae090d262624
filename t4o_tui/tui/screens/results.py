"""Results: one class's result list (place, name, club, time, behind, status); `,` and `.` change class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from t4o_tui.jobs.result_list import clock, load_runners, rank
from t4o_tui.tui.format import clip
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.view import ViewScreen
from t4o_tui.tui.widgets.live_table import Column, LiveTable, Row

COLUMNS = [Column("place", "Pl"), Column("bib", "Bib"), Column("name", "Name"), Column("club", "Club"),
           Column("time", "Time"), Column("behind", "Behind"), Column("status", "Status")]
STATUS_STYLE = {"OK": "green", "MissingPunch": "red", "DidNotFinish": "red", "Disqualified": "red bold",
                "DidNotStart": "dim", "Inactive": "dim"}


@dataclass(frozen=True)
class ResultsData:
    classes: list[tuple[int, str, str]]  # id, name, result type
    class_id: int | None
    rows: list[tuple[str, ...]]  # key, place, bib, name, club, time, behind, status


def load_results(conn: Any, class_id: int | None) -> ResultsData:
    race = conn.execute("SELECT id FROM race ORDER BY id LIMIT 1").fetchone()
    if race is None:
        return ResultsData([], None, [])
    classes = [(r[0], r[1], r[2] or "normal") for r in conn.execute(
        "SELECT id, name, result_type FROM class WHERE race_id = ? ORDER BY name, id", (race[0],)).fetchall()]
    if not classes:
        return ResultsData([], None, [])
    chosen: int = class_id if class_id is not None and class_id in {c[0] for c in classes} else classes[0][0]
    list_type = next(c[2] for c in classes if c[0] == chosen)
    runners = load_runners(conn, race[0]).get(chosen, [])
    rows: list[tuple[str, ...]] = []
    for ranked, runner in rank(runners, list_type):
        status = ranked.status.value
        rows.append((str(runner.entry_id), "" if ranked.place is None else f"{ranked.place}.", runner.bib or "",
                     runner.name, runner.club, clock(ranked.time) if ranked.time is not None else "",
                     f"+{clock(ranked.behind)}" if ranked.behind else "", status))
    return ResultsData(classes, chosen, rows)


class ResultsScreen(ViewScreen):
    VIEW = "results"
    CSS_PATH = "results.tcss"
    HELP_TITLE = "Results"
    POLL_SECONDS = 3.0
    FILTERABLE = True
    BINDINGS: ClassVar = bindings("results.prev", "results.next")

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
        class_id = self.class_id
        return await self.services.event_call(lambda conn: load_results(conn, class_id))

    def apply(self, data: ResultsData) -> None:
        if self.class_id is not None and data.class_id != self.class_id and \
                self.class_id in {c[0] for c in data.classes}:
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
        ids = [c[0] for c in self._data.classes]
        i = ids.index(self.class_id) if self.class_id in ids else 0
        self.class_id = ids[(i + step) % len(ids)]
        self.query_one(LiveTable).sync([])
        self.poll_now()

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
        name = next((c[1] for c in data.classes if c[0] == data.class_id), "–")
        n = len(data.classes)
        pos = next((i + 1 for i, c in enumerate(data.classes) if c[0] == data.class_id), 0)
        title = f"{name} · class {pos}/{n} · {len(data.rows)} runners"
        if len(rows) != len(data.rows):
            title += f" · {len(rows)} shown"
        self.set_status_line(title)
