"""The readout desk's dialog for an unknown card (Readout view, key a or n): give the card to an entry
of its race, found by name, bib, club or class as the admin types, or make a new entry for it (name,
class, club optional). The card's readouts are processed at once (Process Station Data's own code,
jobs.card_desk), so the runner's result shows in the Readout view. A card on another entry is moved
only after a y/n question that names that entry. A FormDialog: nothing focused on open, Esc asks
when something changed, ctrl+r saves (Enter on an entry too)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Input, Select, Static

from t4o_tui.engine import card_desk
from t4o_tui.engine.card_desk import CardDesk, CardDeskError, CardTaken, Given
from t4o_tui.tui.format import clip
from t4o_tui.tui.screens.correction import who_am_i
from t4o_tui.tui.screens.dialog import CheckError, FormDialog
from t4o_tui.tui.widgets.fields import Field
from t4o_tui.tui.widgets.live_table import Column, LiveTable, Row

COLUMNS = [Column("name", "Name"), Column("class", "Class"), Column("club", "Club"), Column("bib", "Bib"),
           Column("card", "Card")]
ENTRIES_SHOWN = 300  # as the admin types the list narrows; a whole big race need not paint at once


def _name(value: Any, *, field: str, required: bool) -> str:
    try:
        return card_desk.check_name(str(value or ""), field, required=required)
    except CardDeskError as exc:
        raise ValueError(exc.message) from None


class CardDeskScreen(FormDialog[bool]):
    """mode 'assign' (an entry of the race) or 'new' (a new entry). Dismissed with True once done."""

    HELP_TITLE = "Unknown card"
    DEFAULT_CSS = """
    CardDeskScreen > #dialog { width: 100; }
    CardDeskScreen #entries { height: 12; margin-top: 1; }
    CardDeskScreen #card-line { height: auto; }
    CardDeskScreen Field .field-label { width: 8; }
    CardDeskScreen Field .field-message { padding-left: 9; }
    """

    def __init__(self, data: CardDesk, mode: str) -> None:
        super().__init__()
        self.data = data
        self.mode = mode
        self.WHAT = f"card {data.card}"

    @property
    def cancelled(self) -> bool:
        return False

    def dialog_title(self) -> str:
        what = "Assign card" if self.mode == "assign" else "New entry for card"
        return clip(f"{what} {self.data.card} · {self.data.race_name}", 96)

    def compose_form(self) -> ComposeResult:
        if self.mode == "assign":
            yield Static(Text("Choose the runner (↑↓), then ctrl+r or Enter. The card's readouts are processed "
                              "at once.", style="dim"), id="card-line")
            yield Field("filter", "Find", Input(placeholder="name, bib, club or class", compact=True),
                        parse=lambda v: str(v or ""))
            yield LiveTable(COLUMNS, id="entries")
        else:
            yield Static(Text("A new entry of the race with this card; its readouts are processed at once.",
                              style="dim"), id="card-line")
            yield Field("given", "Given", Input(placeholder="given name", compact=True),
                        parse=lambda v: _name(v, field="given", required=False))
            yield Field("family", "Family", Input(placeholder="family name (required)", compact=True),
                        parse=lambda v: _name(v, field="family", required=True))
            klass: Select[str] = Select([(n, str(i)) for i, n in self.data.classes], allow_blank=True,
                                        prompt="choose a class", compact=True)
            yield Field("class", "Class", klass, parse=self._parse_class)
            yield Field("club", "Club", Input(placeholder="club (optional)", compact=True),
                        parse=lambda v: _name(v, field="club", required=False))

    def on_mount(self) -> None:
        super().on_mount()
        if self.mode == "assign":
            self._show_entries()

    @staticmethod
    def _parse_class(value: Any) -> int:
        if value is Select.NULL or value is None:
            raise ValueError("choose the runner's class")
        return int(str(value))

    # -- the entries, as the admin types ------------------------------------------------------------
    def _show_entries(self) -> None:
        text = self.texts().get("filter", "")
        rows = []
        for i, e in enumerate(self.data.entries):
            if not e.matches(text):
                continue
            rows.append(Row(str(e.entry_id), (Text(clip(e.name, 30)), Text(e.class_name), Text(clip(e.club, 20)),
                                              Text(e.bib), Text(e.card, style="yellow" if e.card else "")), (i,)))
            if len(rows) >= ENTRIES_SHOWN:
                break
        self.query_one("#entries", LiveTable).sync(rows)

    def form_changed(self) -> None:
        if self.mode == "assign" and self.is_mounted:
            self._show_entries()

    @on(Input.Submitted, "#field-filter Input")
    def _to_list(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#entries", LiveTable).focus()

    @on(DataTable.RowSelected, "#entries")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_save()

    def selected(self) -> int | None:
        """The runner chosen: the one match of what was typed, or the row under the cursor once the
        admin is in the list. Never the first row by default: ctrl+r right after opening gives the
        card to nobody."""
        table = self.query_one("#entries", LiveTable)
        keys = table.row_keys()
        key = keys[0] if len(keys) == 1 else table.selected_key if table.has_focus else None
        return int(key) if key is not None else None

    # -- saving -------------------------------------------------------------------------------------
    async def save(self, values: dict[str, Any]) -> bool:
        if self.mode == "assign":
            entry_id = self.selected()
            if entry_id is None:
                raise CheckError("form", "choose the runner: type to find them, Enter to the list, ↑↓, then ctrl+r")
            return await self._assign(entry_id, move=False)
        services = self.t4o.services
        try:
            made, warnings = await services.create_entry_for_card(
                self.data.card, given=values["given"], family=values["family"], class_id=values["class"],
                club=values["club"], who=who_am_i())
        except CardDeskError as exc:
            raise CheckError(exc.field, exc.message) from None
        self._done(made, warnings, "new entry")
        return True

    async def _assign(self, entry_id: int, *, move: bool) -> bool:
        try:
            given, warnings = await self.t4o.services.assign_card(self.data.card, entry_id, move=move, who=who_am_i())
        except CardTaken as exc:
            name = next((e.label() for e in self.data.entries if e.entry_id == entry_id), f"entry {entry_id}")
            self.t4o.confirm(f"Card {self.data.card} is on {exc.holder.label()}. Move it to {name}?",
                             yes="Move the card", no="Keep it there",
                             on_yes=lambda: self.t4o.run_safely(self._move(entry_id), "Moving the card"))
            raise CheckError("form", f"card {self.data.card} is on {exc.holder.label()}: not moved") from None
        except CardDeskError as exc:
            raise CheckError("form" if exc.field in ("card", "entry") else exc.field, exc.message) from None
        self._done(given, warnings, "given")
        return True

    async def _move(self, entry_id: int) -> None:
        try:
            await self._assign(entry_id, move=True)
        except CheckError as exc:
            self.show_error(exc.field, exc.message)
            return
        if self.is_current:
            self.dismiss(True)

    def _done(self, given: Given, warnings: list[str], how: str) -> None:
        moved = f" (moved from {given.moved_from.label()})" if given.moved_from else ""
        text = (f"Card {self.data.card}: {how} to {given.name or 'the runner'}{moved}; "
                f"{given.readouts} readout{'s' if given.readouts != 1 else ''} processed.")
        if warnings:
            self.notify(text + " Processing: " + clip(warnings[0], 120), severity="warning", title="Card")
        else:
            self.notify(text, title="Card")


async def open_card_desk(app: Any, card: str, mode: str) -> bool:
    """Load the card's race and open the dialog (in a worker: push_screen_wait); True once done."""
    try:
        data = await app.services.query(card_desk.desk, card)
    except CardDeskError as exc:  # processed meanwhile (another desk, a run)
        app.notify(exc.message, severity="warning")
        return False
    if mode == "new" and not data.classes:
        app.notify(f"The race has no classes: import or add classes before a new entry for card {card}.",
                   severity="warning")
        return False
    return bool(await app.push_screen_wait(CardDeskScreen(data, mode)))
