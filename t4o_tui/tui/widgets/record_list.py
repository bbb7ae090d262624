"""What the schedule and share lists have in common: a live table of records with an id, narrow and
wide column sets, a detail line for the selected record, and the keys acting on the selection."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from t4o_tui.tui.widgets.live_table import Column, LiveTable, Row

if TYPE_CHECKING:
    from t4o_tui.tui.host import T4oHost

# From this width on, a list shows every column.
WIDE = 140


class _Record(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=_Record)


class RecordList(Vertical, Generic[R]):
    """A subclass names its columns, makes the rows and the detail line, and defines its `Changed`
    message (posted by `changed()` after an action, so the screen reloads) and its actions."""

    NARROW_COLUMNS: list[Column] = []
    WIDE_COLUMNS: list[Column] = []
    NOUN = "record"  # for "No … selected."

    class Changed(Message):
        """A record was changed from this list (each list defines its own, for its handler name)."""

    def __init__(self, *, task: str | None = None, empty: str, id: str | None = None) -> None:
        super().__init__(id=id)
        self.task_name = task  # the task whose records these are; None: every task
        self.empty_text = empty
        self.rows: list[R] = []
        self.now = 0.0
        self._by_key: dict[str, R] = {}
        self._wide: bool | None = None
        self._shown = False  # show() was called: there is something to lay out again on resize
        self._detail: Text | None = None
        self._select_id: int | None = None  # a record just saved here: selected once it shows up

    @property
    def t4o(self) -> T4oHost:
        return cast("T4oHost", self.app)

    @property
    def table(self) -> LiveTable:
        return self.query_one(LiveTable)

    def compose(self) -> ComposeResult:
        yield LiveTable(self.NARROW_COLUMNS)
        yield Static(classes="detail")
        yield Static(self.empty_text, classes="empty")

    def on_mount(self) -> None:
        self.query_one(".detail").display = False

    # -- showing ------------------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        """Relative times move on between polls."""
        if self.rows:
            self.now = now
            self._refresh_rows()

    def on_resize(self) -> None:
        if self._shown:
            self._refresh_rows()

    def _refresh_rows(self) -> None:
        self._shown = True
        width = self.size.width or self.app.size.width - 2
        wide = width >= WIDE
        table = self.table
        if wide != self._wide:
            self._wide = wide
            table.reset_columns(self.WIDE_COLUMNS if wide else self.NARROW_COLUMNS)
        self._by_key = {str(r.id): r for r in self.rows}
        rows = self._table_rows(width, wide)
        table.sync(rows)
        if self._select_id is not None and table.select_key(str(self._select_id)):
            self._select_id = None
        # The table stays even when empty: focused, it is where n (new) works.
        self.query_one(".empty").display = not rows
        self._set_detail(self._detail_text(self.selected))

    def _table_rows(self, width: int, wide: bool) -> list[Row]:
        raise NotImplementedError  # every list makes its own rows

    def _detail_text(self, record: R | None) -> Text | None:
        raise NotImplementedError  # every list says what its detail line shows

    def _set_detail(self, text: Text | None) -> None:
        detail = self.query_one(".detail", Static)
        if text is None:
            detail.display = False
            return
        if text != self._detail:  # rewritten every second by the tick: repaint only on change
            self._detail = text
            detail.update(text)
        detail.display = True

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._set_detail(self._detail_text(self.selected))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_selected()

    def open_selected(self) -> None:
        """Enter on a row."""

    # -- the selection ------------------------------------------------------------------------------
    @property
    def selected(self) -> R | None:
        key = self.table.selected_key if self.rows else None
        return self._by_key.get(key) if key else None

    def _need_selection(self) -> R | None:
        r = self.selected
        if r is None:
            self.notify(f"No {self.NOUN} selected.", severity="warning")
        return r

    def changed(self) -> None:
        self.post_message(self.Changed())

    def _saved(self, record_id: int) -> None:
        self._select_id = record_id
        self.changed()
