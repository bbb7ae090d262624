"""What the main views share: header with the view names, view keys, the `/` filter, polling."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.widgets import Input

from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.base import PollingScreen
from t4o_tui.tui.widgets.filter_bar import FilterBar, FilterInput
from t4o_tui.tui.widgets.footer import Footer
from t4o_tui.tui.widgets.header import AppHeader
from t4o_tui.tui.widgets.live_table import LiveTable


class ViewScreen(PollingScreen):
    """A main view (a mode of the app). Subclasses set VIEW and implement compose_body, load, apply."""

    VIEW: ClassVar[str]
    FILTERABLE: ClassVar[bool] = False
    BINDINGS = bindings("view.dashboard", "view.queue", "view.tasks", "view.shares", "view.event",
                        "view.results", "view.station", "view.prev", "view.next",
                        "view.back", "list.filter")

    def __init__(self) -> None:
        super().__init__()
        self.status_line = ""  # beside the view names: counts, how many rows the filter shows
        self._filter_bar: FilterBar | None = None

    def compose(self) -> ComposeResult:
        yield AppHeader(self.VIEW, self.status_line)
        yield from self.compose_body()
        if self.FILTERABLE:
            yield FilterBar()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        raise NotImplementedError
        yield

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # False hides the key (footer, help) and disables it.
        if action == "filter" and not self.FILTERABLE:
            return False
        return not (action == "switch_view" and parameters and not self.t4o.has_view(str(parameters[0])))

    def show_error(self, message: str | None) -> None:
        self.query_one(AppHeader).set_title(f"⚠ {message}" if message else self.status_line)

    def set_status_line(self, text: str) -> None:
        self.status_line = text
        if self.last_error is None:
            self.query_one(AppHeader).set_title(text)

    # -- actions ------------------------------------------------------------------------------------
    def action_switch_view(self, mode: str) -> None:
        self.t4o.switch_view(mode)

    def action_cycle_view(self, step: int) -> None:
        self.t4o.cycle_view(step)

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def action_back(self) -> None:
        if self.FILTERABLE:
            bar = self.query_one(FilterBar)
            if bar.shown:
                bar.clear()
                self.on_filter_changed()
                self.focus_list()

    def on_input_changed(self, event: Input.Changed) -> None:
        if isinstance(event.input, FilterInput):
            event.stop()
            self.on_filter_changed()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if isinstance(event.input, FilterInput):
            event.stop()
            if not event.value:
                self.query_one(FilterBar).clear()
            self.focus_list()

    def on_filter_changed(self) -> None:
        """The filter text changed: show the matching rows of the last data."""

    def filter_matches(self, text: str) -> bool:
        # Called for every row of every refresh: one lookup of the bar, none when it is empty.
        if not self.FILTERABLE:
            return True
        if self._filter_bar is None:
            self._filter_bar = self.query_one(FilterBar)
        return not self._filter_bar.value or self._filter_bar.matches(text)

    def focus_list(self) -> None:
        tables = self.query(LiveTable)
        if tables:
            tables.first().focus()
