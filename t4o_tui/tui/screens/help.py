"""`?`: the keys of the screen underneath, as remapped by the config's [keys] table."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from t4o_tui.tui.keys import bindings

GENERAL = ("app.", "view.", "list.")


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar = bindings("help.close")

    def __init__(self, under: Screen[object], title: str) -> None:
        super().__init__()
        self.under = under
        self.title_text = title

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(self._table(), id="keys")
            yield Static(Text("Esc, ? or q closes this help. Any key can be remapped in the config file's "
                              "[keys] table by its id (in grey), e.g. \"queue.cancel\" = \"c\"."), id="hint")

    def _table(self) -> Group:
        here: dict[str, tuple[list[str], str]] = {}
        general: dict[str, tuple[list[str], str]] = {}
        for active in self.under.active_bindings.values():
            b = active.binding
            if not b.id or not b.description:
                continue
            target = general if b.id.startswith(GENERAL) else here
            keys, _ = target.setdefault(b.id, ([], b.description))
            shown = self.app.get_key_display(b)
            if shown not in keys:
                keys.append(shown)
        # Two keys a row, so that the whole list fits an 80x24 terminal.
        parts: list[RenderableType] = [Text(f"Keys — {self.title_text}", style="bold", justify="center")]
        for heading, rows in (("This screen", here), ("Everywhere", general)):
            if not rows:
                continue
            table = Table(show_header=False, box=None, expand=True, padding=(0, 1))
            for _ in range(2):
                table.add_column(style="bold", no_wrap=True, min_width=7)
                table.add_column(ratio=1)
            cells = [(" ".join(keys), Text.assemble(description, (f" {binding_id}", "dim")))
                     for binding_id, (keys, description) in sorted(rows.items())]
            for i in range(0, len(cells), 2):
                left = cells[i]
                right = cells[i + 1] if i + 1 < len(cells) else ("", Text(""))
                table.add_row(left[0], left[1], right[0], right[1])
            parts.extend([Text(heading, style="underline"), table])
        return Group(*parts)

    def action_dismiss(self, result: object = None) -> None:  # type: ignore[override]
        self.dismiss(None)
