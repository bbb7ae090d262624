"""Station data: the newest readouts and punches as the stations sent them; `a` turns one on or off."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from t4o_tui.tui.format import clip, stamp
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.view import ViewScreen
from t4o_tui.tui.services import ReadOnlyError
from t4o_tui.tui.widgets.live_table import Column, LiveTable, Row

ROWS_SHOWN = 500
COLUMNS = [Column("id", "#"), Column("station", "Station"), Column("card", "Card"), Column("bib", "Bib"),
           Column("runner", "Runner"), Column("read", "Read at"), Column("source", "Source"),
           Column("data", "Data"), Column("active", "Active")]
SQL = (
    "SELECT sd.id, COALESCE(st.name, ''), COALESCE(sd.card_number, ''), COALESCE(sd.bib, ''), "
    "TRIM(COALESCE(p.given, '') || ' ' || COALESCE(p.family, '')), sd.read_at, sd.source, "
    "COALESCE(sd.data_status, ''), sd.active "
    "FROM station_data sd LEFT JOIN station st ON st.id = sd.station_id LEFT JOIN entry e ON e.id = sd.entry_id "
    f"LEFT JOIN person p ON p.id = e.person_id ORDER BY sd.id DESC LIMIT {ROWS_SHOWN}"
)
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
        self._rows: list[tuple[Any, ...]] | None = None
        self.changed = False  # an active flag was toggled here: results need reprocessing

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield LiveTable(COLUMNS, id="station-table")
            yield Static("No station data yet.", id="empty", classes="empty")

    def on_mount(self) -> None:
        self.query_one(LiveTable).focus()

    async def load(self) -> list[tuple[Any, ...]]:
        return await self.services.event_rows(SQL)

    def apply(self, data: list[tuple[Any, ...]]) -> None:
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
            cells = (str(r[0]), r[1], r[2], r[3], clip(r[4], 24), stamp(r[5], now, tz), r[6], r[7],
                     "yes" if r[8] else "no")
            if not self.filter_matches(" ".join(cells)):
                continue
            texts = [Text(c) for c in cells]
            texts[0] = Text(cells[0], justify="right")
            if not r[8]:
                texts[8] = Text("no", style="yellow bold")
            rows.append(Row(str(r[0]), tuple(texts), (-r[0],)))
        self.query_one(LiveTable).sync(rows)
        self.query_one("#empty").display = not self._rows
        title = f"newest {len(self._rows)}" if len(self._rows) >= ROWS_SHOWN else f"{len(self._rows)} rows"
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
