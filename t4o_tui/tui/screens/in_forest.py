"""In forest (key 9): the runners started and not home yet — class, name, club, start, time out,
max time left, overdue marked — longest out first; `t` switches to the runners not started yet
(the start crew's list, next start first). The same rule as the dashboard's counts
(engine.forest); `/` filters, `c` corrects the selected runner (a DNS, a lost card)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from t4o_tui.engine.forest import ForestData, OutRunner, forest
from t4o_tui.jobs.result_list import clock
from t4o_tui.tui.format import clip, stamp
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.correction import correct_entry
from t4o_tui.tui.screens.view import ViewScreen
from t4o_tui.tui.widgets.live_table import Column, LiveTable, Row

ROWS_SHOWN = 2000
FOREST_COLUMNS = [Column("class", "Class"), Column("bib", "Bib"), Column("name", "Name"), Column("club", "Club"),
                  Column("start", "Start"), Column("out", "Out"), Column("left", "Max left")]
WAITING_COLUMNS = [Column("class", "Class"), Column("bib", "Bib"), Column("name", "Name"), Column("club", "Club"),
                   Column("card", "Card"), Column("start", "Start"), Column("in", "Starts in")]


def duration(seconds: float | None) -> str:
    return "–" if seconds is None else clock(abs(seconds))


class InForestScreen(ViewScreen):
    VIEW = "forest"
    CSS_PATH = "in_forest.tcss"
    HELP_TITLE = "In forest"
    POLL_SECONDS = 2.0
    FILTERABLE = True
    BINDINGS: ClassVar = bindings("forest.not_started", "results.correct")

    def __init__(self) -> None:
        super().__init__()
        self.list = "forest"  # forest | waiting (not started)
        self._data: ForestData | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield LiveTable(FOREST_COLUMNS, id="forest-table")
            yield Static("", id="empty", classes="empty")

    def on_mount(self) -> None:
        self.query_one(LiveTable).focus()

    async def load(self) -> ForestData:
        now = self.services.now()
        return await self.services.query(lambda db: forest(db, now=now))

    def apply(self, data: ForestData) -> None:
        self._data = data
        self._show()

    def tick(self) -> None:
        # Time out and time left move every second.
        if self._data is not None:
            self._show()

    def on_filter_changed(self) -> None:
        if self._data is not None:
            self._show()

    def action_toggle_list(self) -> None:
        self.list = "waiting" if self.list == "forest" else "forest"
        table = self.query_one(LiveTable)
        table.reset_columns(FOREST_COLUMNS if self.list == "forest" else WAITING_COLUMNS)
        table.sync([])
        if self._data is not None:
            self._show()

    def action_correct(self) -> None:
        key = self.query_one(LiveTable).selected_key
        if key is None:
            self.notify("Select a runner to correct.", severity="warning")
            return
        correct_entry(self, int(key))

    def _class(self, r: OutRunner) -> str:
        assert self._data is not None
        return f"{r.class_name} · {r.race}" if self._data.races > 1 else r.class_name

    def _forest_row(self, i: int, r: OutRunner, now: float) -> tuple[tuple[Text, ...], str] | None:
        tz = self.services.tz
        left = r.time_left(now)
        cells = (self._class(r), r.bib, clip(r.name, 24), clip(r.club, 14), stamp(r.start_time, now, tz),
                 duration(r.time_out(now)))
        if r.overdue(now):
            left_text = Text(f"⚠ OVERDUE {duration(left)}" if left is not None else "⚠ OVERDUE", style="red bold")
        else:
            left_text = Text(duration(left), style="yellow" if left is not None and left < 900 else "")
        # The filter reads the whole name and club, not the clipped cells: a long name typed in full still matches.
        text = " ".join((*cells, r.name, r.club)) + " " + left_text.plain
        return (*(Text(c) for c in cells), left_text), text

    def _waiting_row(self, r: OutRunner, now: float) -> tuple[tuple[Text, ...], str]:
        tz = self.services.tz
        cells = (self._class(r), r.bib, clip(r.name, 24), clip(r.club, 14), r.card or "–",
                 stamp(r.start_time, now, tz), duration(None if r.start_time is None else r.start_time - now))
        return tuple(Text(c) for c in cells), " ".join((*cells, r.name, r.club))

    def _show(self) -> None:
        assert self._data is not None
        now, d = self.services.now(), self._data
        runners = d.in_forest if self.list == "forest" else d.not_started
        rows: list[Row] = []
        matched = 0
        for i, r in enumerate(runners):
            if self.list == "forest":
                got = self._forest_row(i, r, now)
                assert got is not None
                texts, plain = got
            else:
                texts, plain = self._waiting_row(r, now)
            if not self.filter_matches(plain):
                continue
            matched += 1
            if len(rows) < ROWS_SHOWN:
                rows.append(Row(str(r.entry_id), texts, (i,)))
        self.query_one(LiveTable).sync(rows)
        empty = self.query_one("#empty", Static)
        empty.display = not runners
        empty.update("Nobody in the forest." if self.list == "forest" else "Nobody left to start.")
        overdue = sum(1 for r in d.in_forest if r.overdue(now))
        title = (f"[In forest {len(d.in_forest)}] Not started {len(d.not_started)}" if self.list == "forest"
                 else f"In forest {len(d.in_forest)} [Not started {len(d.not_started)}]")
        if overdue:
            title += f" · ⚠ overdue {overdue}"
        if matched != len(runners):
            title += f" · {matched} match"
        self.set_status_line(title)
