"""Edit an entry by hand (class, bib, card, status); the entry is then marked as edited by hand,
so later imports leave it alone (they log a warning instead)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from t4o_tui.tui.keys import bindings
from t4o_tui.tui.services import ReadOnlyError

if TYPE_CHECKING:
    from t4o_tui.tui.app import T4oApp

STATUSES = [("entered", "entered"), ("withdrawn", "withdrawn"), ("not competing", "not_competing")]


class EntryEditScreen(ModalScreen[bool]):
    """Dismissed with True once saved."""

    CSS_PATH = "entry_edit.tcss"
    BINDINGS: ClassVar = bindings("dialog.cancel")

    def __init__(self, entry: dict[str, Any], classes: list[tuple[str, int]]) -> None:
        super().__init__()
        self.entry = entry
        self.class_options = classes

    @property
    def t4o(self) -> T4oApp:
        return cast("T4oApp", self.app)

    def compose(self) -> ComposeResult:
        e = self.entry
        with Vertical(id="dialog"):
            yield Static(f"Edit entry: {e['name'] or '?'}", id="question")
            yield Static("Saved changes mark the entry as edited by hand: imports will not overwrite it.", classes="hint")
            yield Label("Class")
            yield Select(self.class_options, value=e["class_id"] if e["class_id"] is not None else Select.NULL, id="class",
                         allow_blank=True)
            yield Label("Bib")
            yield Input(e["bib"] or "", id="bib", placeholder="bib number")
            yield Label("Card")
            yield Input(e["card"] or "", id="card", placeholder="card number (empty: none)")
            yield Label("Status")
            yield Select(STATUSES, value=e["status"], id="status", allow_blank=False)
            yield Static("", id="error", classes="error")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="no", compact=True)
                yield Button("Save", id="yes", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#bib", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#yes")
    async def _yes(self) -> None:
        bib = self.query_one("#bib", Input).value.strip()
        card = self.query_one("#card", Input).value.strip()
        if card and not card.isdigit():
            self.query_one("#error", Static).update("Card: digits only")
            return
        cls = self.query_one("#class", Select).value
        status = self.query_one("#status", Select).value
        try:
            await self.t4o.services.edit_entry(self.entry["id"], class_id=cls if isinstance(cls, int) else None,
                                               bib=bib or None, card=card or None, status=str(status))
        except ReadOnlyError as exc:
            self.query_one("#error", Static).update(str(exc))
            return
        self.dismiss(True)
