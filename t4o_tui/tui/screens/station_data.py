"""Station data: the newest readouts and punches as the stations sent them; `a` turns one on or off."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from t4o_tui.engine.queries.event import STATION_DATA_SHOWN, StationDataLine, station_data_lines
from t4o_tui.tui.format import clip, stamp
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.view import ViewScreen
from t4o_tui.tui.services import ReadOnlyError
from t4o_tui.tui.widgets.live_table import Column, LiveTable, Row

COLUMNS = [Column("id", "#"), Column("station", "Station"), Column("card", "Card"), Column("bib", "Bib"),
           Column("runner", "Runner"), Column("read", "Read at"), Column("source", "Source"),
           Column("data", "Data"), Column("active", "Active")]
REPROCESS_HINT = "changed: run Process Station Data with all on to apply"


class StationDataScreen(ViewScreen):
    VIEW = "station"
    CSS_PATH = "station_data.tcss"
    HELP_TITLE = "Station data"
    POLL_SECONDS = 2.0
    FILTERABLE = True
    BINDINGS: ClassVar = bindings("station.active")

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[StationDataLine] | None = None
        self.changed = False  # an active flag was toggled here: results need reprocessing

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield LiveTable(COLUMNS, id="station-table")
            yield Static("No station data yet.", id="empty", classes="empty")

    def on_mount(self) -> None:
        self.query_one(LiveTable).focus()

    async def load(self) -> list[StationDataLine]:
        return await self.services.query(station_data_lines)

    def apply(self, data: list[StationDataLine]) -> None:
        self._rows = data
        self._show()

    def on_filter_changed(self) -> None:
        if self._rows is not None:
            self._show()

    def _show(self) -> None:
        assert self._rows is not None
        now, tz = self.services.now(), self.services.tz
        rows = []
        for r in self._rows:
            cells = (str(r.id), r.station, r.card, r.bib, clip(r.runner, 24), stamp(r.read_at, now, tz), r.source,
                     r.data_status, "yes" if r.active else "no")
            if not self.filter_matches(" ".join(cells) + " " + r.runner):  # the whole name, not the clipped cell
                continue
            texts = [Text(c) for c in cells]
            texts[0] = Text(cells[0], justify="right")
            if not r.active:
                texts[8] = Text("no", style="yellow bold")
            rows.append(Row(str(r.id), tuple(texts), (-r.id,)))
        self.query_one(LiveTable).sync(rows)
        self.query_one("#empty").display = not self._rows
        title = f"newest {len(self._rows)}" if len(self._rows) >= STATION_DATA_SHOWN else f"{len(self._rows)} rows"
        if len(rows) != len(self._rows):
            title += f" · {len(rows)} shown"
        if self.changed:
            title += f" · {REPROCESS_HINT}"
        self.set_status_line(title)

    def action_toggle_active(self) -> None:
        key = self.query_one(LiveTable).selected_key
        if key is None:
            self.notify("No station data selected.", severity="warning")
            return
        if self.t4o.refuse_readonly("change station data"):
            return
        self.t4o.run_safely(self._toggle(int(key)), "Changing the station data")

    async def _toggle(self, row_id: int) -> None:
        try:
            active = await self.services.toggle_station_data(row_id)
        except ReadOnlyError as exc:
            self.notify(str(exc), severity="warning", title="Refused")
            return
        self.changed = True
        self.notify(f"Station data #{row_id} is now {'active' if active else 'inactive'}. "
                    "Run Process Station Data with all on to apply it to the results.")
        self.poll_now()
