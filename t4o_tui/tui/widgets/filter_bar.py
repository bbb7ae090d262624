"""The `/` filter of a list: hidden until asked for; Enter keeps it, Esc clears it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label


class FilterInput(Input):
    """The text box of a FilterBar (its events tell the view that the filter changed)."""


class FilterBar(Horizontal):
    DEFAULT_CSS = """
    FilterBar { display: none; height: 1; }
    FilterBar.-shown { display: block; }
    FilterBar Label { width: auto; padding: 0 1; background: $accent; color: $text; text-style: bold; }
    FilterBar FilterInput { width: 1fr; border: none; height: 1; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield Label("/ filter")
        yield FilterInput(placeholder="words to match (Enter keeps the filter, Esc clears it)", compact=True)

    @property
    def input(self) -> FilterInput:
        return self.query_one(FilterInput)

    @property
    def value(self) -> str:
        return self.input.value

    def open(self) -> None:
        self.add_class("-shown")
        self.input.focus()

    def clear(self) -> None:
        self.input.value = ""
        self.remove_class("-shown")

    @property
    def shown(self) -> bool:
        return self.has_class("-shown")

    def matches(self, text: str) -> bool:
        low = text.lower()
        return all(t in low for t in self.value.lower().split())
