"""A DataTable that is updated in place, so that the admin's selection and scroll stay put."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from t4o_tui.tui.keys import bindings


@dataclass(frozen=True)
class Row:
    key: str
    cells: tuple[Text, ...]
    order: tuple[Any, ...]  # sort key: rows are kept in this order
    heading: bool = False  # a group's heading row: shown, never selected


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int | None = None  # None: as wide as the widest cell


class LiveTable(DataTable[Text]):
    """Rows keyed by id; `sync` removes vanished rows, rewrites changed cells, adds new rows.

    `clear()` would reset the cursor and the scroll position on every refresh, and a rebuilt
    table repaints everything; this touches only what changed.
    """

    BINDINGS = bindings("list.down", "list.up", "list.top", "list.bottom")

    def __init__(self, columns: Sequence[Column], **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._column_defs = list(columns)
        self._rows: dict[str, Row] = {}
        # The cell object of the first column that the table holds for each row: `sort` hands the
        # key function cell values only, and this maps them back to the row (cells are fresh Texts).
        self._first_cell: dict[str, Text] = {}
        self._headings: set[str] = set()

    def on_mount(self) -> None:
        for c in self._column_defs:
            self.add_column(c.label, key=c.key, width=c.width)

    @property
    def selected_key(self) -> str | None:
        if not self._rows or self.row_count == 0:
            return None
        key = self._key_at(self.cursor_row)
        return None if key in self._headings else key

    def row_keys(self) -> list[str | None]:
        """Row keys in the order shown."""
        return [self._key_at(i) for i in range(self.row_count)]

    def text(self, key: str, column: str) -> str:
        """A cell's plain text."""
        return self.get_cell(key, column).plain

    def _key_at(self, row: int) -> str | None:
        try:
            row_key, _ = self.coordinate_to_cell_key(Coordinate(row, 0))
        except Exception:  # the cursor is past the last row for a moment
            return None
        return row_key.value

    def watch_cursor_coordinate(self, old_coordinate: Coordinate, new_coordinate: Coordinate) -> None:
        super().watch_cursor_coordinate(old_coordinate, new_coordinate)
        self._skip_heading(old_coordinate.row, new_coordinate.row)

    def _skip_heading(self, old_row: int, new_row: int) -> None:
        """Headings are not selectable: move on in the direction of travel (or back at an end)."""
        if not self._headings or not 0 <= new_row < self.row_count or self._key_at(new_row) not in self._headings:
            return
        step = 1 if new_row >= old_row else -1
        for direction in (step, -step):
            row = new_row + direction
            while 0 <= row < self.row_count and self._key_at(row) in self._headings:
                row += direction
            if 0 <= row < self.row_count:
                self.move_cursor(row=row)
                return

    def select_key(self, key: str) -> bool:
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return False
        self.move_cursor(row=index)
        return True

    def sync(self, rows: Sequence[Row]) -> None:
        keep = self.selected_key
        wanted = {r.key: r for r in rows}
        reorder = False
        with self.app.batch_update():
            for key in [k for k in self._rows if k not in wanted]:
                self.remove_row(key)
                del self._rows[key]
                del self._first_cell[key]
                self._headings.discard(key)
            for row in rows:
                old = self._rows.get(row.key)
                if old is None:
                    self.add_row(*row.cells, key=row.key)
                    self._first_cell[row.key] = row.cells[0]
                    reorder = True
                else:
                    for i, (new, prev) in enumerate(zip(row.cells, old.cells, strict=True)):
                        if new != prev:
                            self.update_cell(row.key, self._column_defs[i].key, new,
                                             update_width=self._column_defs[i].width is None)
                            if i == 0:
                                self._first_cell[row.key] = new
                    reorder = reorder or row.order != old.order
                self._rows[row.key] = row
                if row.heading:
                    self._headings.add(row.key)
                else:
                    self._headings.discard(row.key)
            if reorder and len(self._rows) > 1:
                order = {id(cell): self._rows[key].order for key, cell in self._first_cell.items()}
                self.sort(self._column_defs[0].key, key=lambda cell: order[id(cell)])
            if keep is not None and keep in self._rows:
                index = self.get_row_index(keep)
                if index != self.cursor_row:
                    self.move_cursor(row=index)
            if self.row_count:
                self._skip_heading(self.cursor_row, self.cursor_row)
