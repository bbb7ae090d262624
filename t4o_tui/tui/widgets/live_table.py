"""A DataTable that is updated in place, so that the admin's selection and scroll stay put."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, RowDoesNotExist, RowKey

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


class Cells:
    """Cells by what they show: the same Text object for the same content, so that `sync` sees an
    unchanged cell at once (by identity) and the table keeps its render. Never mutate a cell."""

    def __init__(self, limit: int = 20_000) -> None:
        self._cells: dict[Hashable, Text] = {}
        self._limit = limit

    def text(self, plain: str, style: str = "", justify: Any = None) -> Text:
        return self.get(("text", plain, style, justify), lambda: Text(plain, style=style, justify=justify))

    def get(self, key: Hashable, make: Callable[[], Text]) -> Text:
        cell = self._cells.get(key)
        if cell is None:
            if len(self._cells) >= self._limit:
                self._cells.clear()
            cell = self._cells[key] = make()
        return cell


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
        self._keep_after_reset: str | None = None
        # (row key, column key, look) -> (the cell, its row index, its rendered lines); see _render_cell.
        self._rendered: dict[tuple[Any, ...], tuple[object, int, list[list[Segment]]]] = {}

    def on_mount(self) -> None:
        for c in self._column_defs:
            self.add_column(c.label, key=c.key, width=c.width)

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> list[list[Segment]]:
        # Textual caches a cell's render under a counter that every change anywhere in the table
        # bumps: one ticking clock re-renders every visible cell through Rich (~0.4 ms each,
        # ~100 ms for a screenful), every second. Here a render is kept while the cell object is
        # the same (`sync` replaces only changed cells), and a row that merely moved gets its
        # new position (the mouse's row/column meta) stamped onto the kept lines.
        row_key = self._row_locations.get_key(row_index) if row_index >= 0 else None
        column_key = self._column_locations.get_key(column_index) if column_index >= 0 else None
        if row_key is None or column_key is None:  # the header
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        cell = self._data[row_key][column_key]
        key = (row_key, column_key, base_style, width, cursor, hover, self.show_cursor, self._show_hover_cursor,
               self._pseudo_class_state, self.app.theme)
        kept = self._rendered.get(key)
        if kept is not None and kept[0] is cell:
            if kept[1] == row_index:
                return kept[2]
            meta = Style.from_meta({"row": row_index, "column": column_index})
            lines = [[Segment(text, style + meta if style else meta, control) for text, style, control in line]
                     for line in kept[2]]
        else:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        if len(self._rendered) > 8 * (len(self._column_defs) * max(len(self._rows), 1)) + 1000:
            self._rendered.clear()
        self._rendered[key] = (cell, row_index, lines)
        return lines

    @property
    def columns_shown(self) -> list[Column]:
        return list(self._column_defs)

    def reset_columns(self, columns: Sequence[Column]) -> None:
        """Another set of columns (a list that shows more when the terminal is wide): the rows
        are dropped, and the next `sync` adds them back with the selection it finds."""
        self._keep_after_reset = self.selected_key
        self.clear(columns=True)
        self._column_defs = list(columns)
        self._rows.clear()
        self._first_cell.clear()
        self._headings.clear()
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

    def _remove_rows(self, keys: list[str]) -> None:
        """DataTable.remove_row for many rows at once. remove_row rebuilds the row positions and
        asks for a new layout for each row it removes (~1.5 ms with 200 rows): a queue view with
        20 runs a second finishing removes a dozen rows every refresh."""
        if len(keys) == 1:
            self.remove_row(keys[0])
            return
        drop = {RowKey(k) for k in keys}
        self._require_update_dimensions = True
        self.check_idle()
        kept = sorted((self._row_locations.get(key), key) for key in self._row_locations if key not in drop)
        self._row_locations = TwoWayDict({key: i for i, (_, key) in enumerate(kept)})
        for key in drop:
            for column_key in self._data.get(key, {}):
                self._updated_cells.discard(CellKey(key, column_key))
            self.rows.pop(key, None)
            self._data.pop(key, None)
        self.cursor_coordinate = self.cursor_coordinate
        self.hover_coordinate = self.hover_coordinate
        self._update_count += 1
        self.refresh(layout=True)

    def sync(self, rows: Sequence[Row]) -> None:
        keep = self.selected_key if self._keep_after_reset is None else self._keep_after_reset
        self._keep_after_reset = None
        wanted = {r.key: r for r in rows}
        reorder = False
        with self.app.batch_update():
            gone = [k for k in self._rows if k not in wanted]
            if gone:
                self._remove_rows(gone)
            for key in gone:
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
                        if new is not prev and new != prev:
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
