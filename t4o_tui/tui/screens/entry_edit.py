"""Edit an entry by hand (class, bib, card, status); the entry is then marked as edited by hand,
so later imports leave it alone (they log a warning instead). A FormDialog: nothing focused on
open, each field checked as typed, ctrl+r saves, Esc asks before dropping changes."""

from __future__ import annotations

import re
from typing import Any

from textual.app import ComposeResult
from textual.widgets import Input, Select, Static

from t4o_tui.engine.event_setup import SetupError
from t4o_tui.orienteering.cards import parse_card_number
from t4o_tui.tui.screens.dialog import CheckError, FormDialog
from t4o_tui.tui.widgets.fields import Field

STATUSES = [("entered", "entered"), ("withdrawn", "withdrawn"), ("not competing", "not_competing")]
BIB_DIGITS = 6


def parse_bib(value: Any) -> str | None:
    """A bib is a number (empty: none); letters are refused, leading zeros dropped."""
    text = str(value or "").strip()
    if not text:
        return None
    if not re.fullmatch(r"\d+", text):
        raise ValueError(f"'{text}' is not a bib number (digits only)")
    if len(text.lstrip("0") or "0") > BIB_DIGITS or int(text) < 1:
        raise ValueError(f"'{text}' is not a bib number (1 to {'9' * BIB_DIGITS})")
    return str(int(text))


def parse_card(value: Any) -> str | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return str(parse_card_number(text))
    except ValueError as exc:
        raise ValueError(str(exc).replace("'", "").replace('"', "")) from None


class EntryEditScreen(FormDialog[bool]):
    """Dismissed with True once saved."""

    HELP_TITLE = "Edit entry"
    WHAT = "this entry"
    DEFAULT_CSS = """
    EntryEditScreen > #dialog { width: 64; }
    EntryEditScreen Field .field-label { width: 7; }
    EntryEditScreen Field .field-message { padding-left: 8; }
    """

    def __init__(self, entry: dict[str, Any], classes: list[tuple[str, int]]) -> None:
        super().__init__()
        self.entry = entry
        self.class_options = classes

    @property
    def cancelled(self) -> bool:
        return False

    def dialog_title(self) -> str:
        return f"Edit entry: {self.entry['name'] or '?'}"

    def compose_form(self) -> ComposeResult:
        e = self.entry
        yield Static("Saved changes mark the entry as edited by hand: imports will not overwrite it.", classes="hint")
        klass: Select[int] = Select(self.class_options, value=e["class_id"] if e["class_id"] is not None else Select.NULL,
                                    allow_blank=True, prompt="no class", compact=True)
        yield Field("class", "Class", klass, parse=lambda v: v if isinstance(v, int) else None)
        yield Field("bib", "Bib", Input(e["bib"] or "", placeholder="bib number (empty: none)", compact=True),
                    parse=parse_bib)
        yield Field("card", "Card", Input(e["card"] or "", placeholder="card number (empty: none)", compact=True),
                    parse=parse_card)
        status: Select[str] = Select(STATUSES, value=e["status"], allow_blank=False, compact=True)
        yield Field("status", "Status", status, parse=str)

    async def save(self, values: dict[str, Any]) -> bool:
        try:
            await self.t4o.services.edit_entry(self.entry["id"], class_id=values["class"], bib=values["bib"],
                                               card=values["card"], status=values["status"])
        except SetupError as exc:  # the bib or card is another runner's: said beside the field
            raise CheckError(exc.field, exc.message) from None
        return True
