"""The two top lines: the event database, this process's worker id, and the views or the screen title."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static


class TitleLine(Static):
    """'t4o-tui  event.sqlite' on the left, the engine's state on the right."""

    DEFAULT_CSS = """
    TitleLine { height: 1; background: $primary; color: $text; text-style: bold; }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "engine_state", self._engine_changed, init=False)

    def _engine_changed(self) -> None:
        self.refresh()

    def render(self) -> Text:
        app = self.app
        left = Text.assemble(" t4o-tui ", (str(getattr(app, "db_name", "")), "not bold"))
        right = Text(f"{getattr(app, 'engine_state', '')} ")
        gap = max(self.size.width - left.cell_len - right.cell_len, 1)
        if left.cell_len + right.cell_len + 1 > self.size.width:
            right.truncate(max(self.size.width - left.cell_len - 1, 0), overflow="ellipsis")
        return Text.assemble(left, " " * gap, right)


TITLE_ROOM = 40  # columns kept for a view's status text at least, before it has one


class NavLine(Static):
    """The main views with their number keys, the current one highlighted; or a screen's title."""

    DEFAULT_CSS = """
    NavLine { height: 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, current: str | None, title: str = "") -> None:
        super().__init__()
        self.current = current
        self.title = title

    def render(self) -> Text:
        if self.current is None:
            return Text(f" {self.title}", style="bold")
        views = getattr(self.app, "VIEWS", ())
        parts: list[Text | str] = [" "]
        # All views are named when that leaves the status text its room; else only the current
        # one is (the others by number): the race, class and counts are not cut for the names.
        full = 1 + sum(len(label) + 4 for _, label in views)
        compact = full + max(len(self.title) + 2, TITLE_ROOM) > self.size.width
        for n, (mode, label) in enumerate(views, start=1):
            current = mode == self.current
            style = "reverse bold" if current else ""
            text = f" {n} {label} " if current or not compact else f"{n}"
            parts.extend([Text(text, style=style), " "])
        if self.title:
            parts.append(Text(f"  {self.title}", style="italic"))
        return Text.assemble(*parts)

    def set_title(self, title: str) -> None:
        if title != self.title:  # polls set it every second; repaint only on change
            self.title = title
            self.refresh()


class AppHeader(Vertical):
    DEFAULT_CSS = """
    AppHeader { height: 2; dock: top; }
    """

    def __init__(self, current: str | None = None, title: str = "") -> None:
        super().__init__()
        self._current = current
        self._title = title

    def compose(self) -> ComposeResult:
        yield TitleLine()
        yield NavLine(self._current, self._title)

    def set_title(self, title: str) -> None:
        self.query_one(NavLine).set_title(title)
