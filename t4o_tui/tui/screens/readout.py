"""Readout: the cards read at the stations as they come (runner, status, time, missing controls),
the cards on no entry, and each station's connection. The data comes from engine.readouts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import peewee
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from t4o_tui.engine.corrections import short_status
from t4o_tui.engine.readouts import (
    ReadoutRow,
    StationState,
    UnknownCard,
    recent_readouts,
    station_states,
    unknown_cards,
)
from t4o_tui.orienteering.split_ticket import clock
from t4o_tui.tui.format import clip, stamp
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.card_desk import open_card_desk
from t4o_tui.tui.screens.view import ViewScreen
from t4o_tui.tui.widgets.live_table import Column, LiveTable, Row

ROWS_SHOWN = 200
COLUMNS = [Column("read", "Read at"), Column("card", "Card"), Column("type", "Type"), Column("name", "Runner"),
           Column("class", "Class"), Column("status", "Status"), Column("time", "Time"), Column("missing", "Missing")]
UNKNOWN_COLUMNS = [Column("card", "Card"), Column("read", "Last read"), Column("times", "Readouts")]
STATE_STYLE = {"connected": "green bold", "waiting": "yellow bold", "disconnected": "red bold", "stopped": "dim"}
STATUS_STYLE = {"OK": "green", "MissingPunch": "red bold", "DidNotFinish": "red", "Disqualified": "red",
                "OverTime": "yellow", "card not found": "yellow bold"}


@dataclass(frozen=True)
class ReadoutData:
    readouts: list[ReadoutRow]
    unknown: list[UnknownCard]
    stations: list[StationState]


def _load(db: peewee.Database) -> ReadoutData:
    return ReadoutData(recent_readouts(db, ROWS_SHOWN), unknown_cards(db), station_states(db))


class ReadoutScreen(ViewScreen):
    VIEW = "readout"
    CSS_PATH = "readout.tcss"
    HELP_TITLE = "Readout"
    POLL_SECONDS = 1.0
    FILTERABLE = True
    BINDINGS: ClassVar = bindings("readout.assign", "readout.new_entry", "readout.next_table")

    def __init__(self) -> None:
        super().__init__()
        self._data: ReadoutData | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield Static("No station readout task has run yet (job si-readout, a Direct task).", id="stations")
            yield LiveTable(COLUMNS, id="readout-table")
            yield Static("No cards read from a station yet.", id="empty", classes="empty")
            yield Static("Unknown cards", id="unknown-title")
            yield LiveTable(UNKNOWN_COLUMNS, id="unknown-table")

    def on_mount(self) -> None:
        self.query_one("#readout-table", LiveTable).focus()

    async def load(self) -> ReadoutData:
        return await self.services.query(_load)

    def apply(self, data: ReadoutData) -> None:
        had = self._data is not None and bool(self._data.unknown)
        self._data = data
        self._show()
        if had != bool(data.unknown):
            self.refresh_bindings()  # a and n show only while there are unknown cards

    def on_filter_changed(self) -> None:
        if self._data is not None:
            self._show()

    def _show(self) -> None:
        assert self._data is not None
        now, tz = self.services.now(), self.services.tz
        d = self._data
        if d.stations:
            line = Text()
            for s in d.stations:
                if line:
                    line.append("   ")
                line.append(f"{s.task}: ")
                line.append(s.state, style=STATE_STYLE.get(s.state, ""))
                line.append(f" {s.port} · {s.message} · since {stamp(s.since, now, tz)} · {s.readouts} readouts")
            self.query_one("#stations", Static).update(line)
        rows = []
        for r in d.readouts:
            # Short codes (MP, DNF), as the Results view: an 80-column row has no room for "MissingPunch".
            cells = (stamp(r.read_at, now, tz), r.card, r.card_type or "", clip(r.name, 28), r.class_name,
                     short_status(r.status), clock(r.time) if r.time is not None else "",
                     ", ".join(r.missing.split()) if r.missing else "")  # "45, 46", as the issue reads
            # "MissingPunch" finds MP rows too; the whole name, not the clipped cell, so a long name typed in full matches.
            if not self.filter_matches(" ".join(cells) + " " + r.status + " " + r.name):
                continue
            texts = [Text(c) for c in cells]
            texts[5] = Text(cells[5], style=STATUS_STYLE.get(r.status, ""))
            texts[6] = Text(cells[6], justify="right")
            if r.missing:
                texts[7] = Text(cells[7], style="red")
            rows.append(Row(str(r.station_data_id), tuple(texts), (-r.station_data_id,)))
        self.query_one("#readout-table", LiveTable).sync(rows)
        self.query_one("#empty").display = not d.readouts
        unknown = [Row(u.card, (Text(u.card, style="yellow bold"), Text(stamp(u.read_at, now, tz)), Text(str(u.times))),
                       (-u.station_data_id,)) for u in d.unknown]
        self.query_one("#unknown-table", LiveTable).sync(unknown)
        self.query_one("#unknown-title", Static).update(
            f"Unknown cards: {len(d.unknown)} (on no entry) · a assign to a runner · n new entry"
            if d.unknown else "Unknown cards: none")
        title = f"{len(d.readouts)} readouts" + (f" · {len(rows)} shown" if len(rows) != len(d.readouts) else "")
        if d.unknown:
            title += f" · {len(d.unknown)} unknown cards"
        self.set_status_line(title)

    # -- the readout desk: unknown cards --------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("assign_card", "new_entry"):
            # Shown (and acting) only while there is an unknown card.
            return self._data is not None and bool(self._data.unknown)
        return super().check_action(action, parameters)

    def selected_card(self) -> str | None:
        """The unknown card the admin means: the one selected in Unknown cards, or the readout row
        selected above when it is an unknown card's, else the newest unknown card."""
        if self._data is None or not self._data.unknown:
            return None
        unknown = {u.card for u in self._data.unknown}
        table = self.query_one("#unknown-table", LiveTable)
        readouts = self.query_one("#readout-table", LiveTable)
        if readouts.has_focus and readouts.selected_key is not None:
            row = next((r for r in self._data.readouts if str(r.station_data_id) == readouts.selected_key), None)
            if row is not None and row.entry_id is None and row.card in unknown:
                return row.card
        if table.selected_key in unknown:
            return table.selected_key
        return self._data.unknown[0].card

    def action_assign_card(self) -> None:
        self._open_desk("assign")

    def action_new_entry(self) -> None:
        self._open_desk("new")

    def _open_desk(self, mode: str) -> None:
        card = self.selected_card()
        if card is None:
            self.notify("No unknown cards.", severity="information")
            return
        if self.t4o.refuse_readonly("assign cards"):
            return

        async def desk() -> None:
            if await open_card_desk(self.t4o, card, mode):
                self.poll_now()

        self.t4o.run_safely(desk(), "Assigning the card")
