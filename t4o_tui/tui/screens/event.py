"""Event: the race's classes, entries and courses, read from the database (`t` switches the list)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from t4o_tui.tui.format import clip, stamp
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.entry_edit import EntryEditScreen
from t4o_tui.tui.screens.view import ViewScreen
from t4o_tui.tui.widgets.live_table import Column, LiveTable, Row

ROWS_SHOWN = 2000  # a DataTable with more rows paints slowly; the filter narrows the list

TABS = ("classes", "entries", "courses")
TAB_LABELS = {"classes": "Classes", "entries": "Entries", "courses": "Courses"}

COLUMNS = {
    "classes": [Column("name", "Class"), Column("course", "Course"), Column("entries", "Entries"),
                Column("starts", "Starts"), Column("first", "First start"), Column("interval", "Interval"),
                Column("max", "Max time")],
    "entries": [Column("bib", "Bib"), Column("name", "Name"), Column("club", "Club"), Column("class", "Class"),
                Column("card", "Card"), Column("start", "Start"), Column("status", "Status")],
    "courses": [Column("name", "Course"), Column("length", "Length"), Column("climb", "Climb"),
                Column("controls", "Controls")],
}

SQL = {
    "classes": (
        "SELECT c.id, c.name, COALESCE(co.name, ''), "
        "(SELECT count(*) FROM entry e WHERE e.class_id = c.id AND e.status != 'withdrawn'), "
        "(SELECT count(*) FROM start s WHERE s.class_id = c.id), c.first_start, c.start_interval, c.max_time "
        "FROM class c LEFT JOIN course co ON co.id = c.course_id ORDER BY c.name, c.id"),
    "entries": (
        "SELECT e.id, COALESCE(s.bib, e.bib, ''), TRIM(COALESCE(p.given, '') || ' ' || COALESCE(p.family, '')), "
        "COALESCE(o.name, ''), COALESCE(c.name, ''), "
        "COALESCE((SELECT group_concat(cd.number, ' ') FROM entry_card ec JOIN card cd ON cd.id = ec.card_id "
        "WHERE ec.entry_id = e.id), ''), s.start_time, COALESCE(r.status, e.status) "
        "FROM entry e LEFT JOIN person p ON p.id = e.person_id LEFT JOIN organisation o ON o.id = e.organisation_id "
        "LEFT JOIN class c ON c.id = e.class_id LEFT JOIN start s ON s.entry_id = e.id "
        "LEFT JOIN result r ON r.entry_id = e.id ORDER BY c.name, s.start_time, e.id"),
    "courses": (
        "SELECT co.id, co.name, co.length, co.climb, "
        "(SELECT count(*) FROM course_control cc WHERE cc.course_id = co.id AND cc.kind = 'control') "
        "FROM course co ORDER BY co.name, co.id"),
}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s % 60:
        return f"{s // 60}:{s % 60:02d}"
    return f"{s // 60} min"


def number(value: float | None, unit: str) -> str:
    return "–" if value is None else f"{value:g} {unit}"


class EventScreen(ViewScreen):
    VIEW = "event"
    CSS_PATH = "event.tcss"
    HELP_TITLE = "Event"
    POLL_SECONDS = 5.0
    FILTERABLE = True
    BINDINGS: ClassVar = bindings("event.tab", "event.edit")

    def __init__(self) -> None:
        super().__init__()
        self.tab = "classes"
        self._rows: list[tuple[Any, ...]] | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield LiveTable(COLUMNS[self.tab], id="event-table")
            yield Static("Nothing here yet: import entries and courses (tasks, 3).", id="empty", classes="empty")

    def on_mount(self) -> None:
        self.query_one(LiveTable).focus()

    async def load(self) -> tuple[str, list[tuple[Any, ...]]]:
        tab = self.tab
        return tab, await self.services.event_rows(SQL[tab])

    def apply(self, data: tuple[str, list[tuple[Any, ...]]]) -> None:
        tab, rows = data
        if tab != self.tab:  # switched while loading
            self.poll_now()
            return
        self._rows = rows
        self._show()

    def on_filter_changed(self) -> None:
        if self._rows is not None:
            self._show()

    def action_next_tab(self) -> None:
        self.tab = TABS[(TABS.index(self.tab) + 1) % len(TABS)]
        self._rows = None
        table = self.query_one(LiveTable)
        table.reset_columns(COLUMNS[self.tab])
        table.sync([])
        self.poll_now()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "edit_entry" and self.tab != "entries":
            return False  # the key shows only where it works
        return super().check_action(action, parameters)

    def action_edit_entry(self) -> None:
        key = self.query_one(LiveTable).selected_key
        if self.tab != "entries" or key is None:
            self.notify("Select an entry (t switches to Entries).", severity="warning")
            return
        if self.t4o.refuse_readonly("edit entries"):
            return
        self.t4o.run_safely(self._edit(int(key)), "Editing the entry")

    async def _edit(self, entry_id: int) -> None:
        rows = await self.services.event_rows(
            "SELECT e.id, TRIM(COALESCE(p.given, '') || ' ' || COALESCE(p.family, '')), e.class_id, "
            "COALESCE((SELECT s.bib FROM start s WHERE s.entry_id = e.id), e.bib), "
            "(SELECT cd.number FROM entry_card ec JOIN card cd ON cd.id = ec.card_id WHERE ec.entry_id = e.id LIMIT 1), "
            "e.status FROM entry e LEFT JOIN person p ON p.id = e.person_id WHERE e.id = ?", (entry_id,))
        if not rows:
            return
        r = rows[0]
        classes = [(str(name), int(cid)) for cid, name in await self.services.event_rows("SELECT id, name FROM class ORDER BY name")]
        entry = {"id": r[0], "name": r[1], "class_id": r[2], "bib": r[3], "card": r[4], "status": r[5]}
        if await self.app.push_screen_wait(EntryEditScreen(entry, classes)):
            self.notify(f"{r[1]}: saved, marked as edited by hand.")
            self.poll_now()

    def _cells(self, r: tuple[Any, ...]) -> tuple[str, ...]:
        now, tz = self.services.now(), self.services.tz
        if self.tab == "classes":
            return (r[1], r[2], str(r[3]), str(r[4]), stamp(r[5], now, tz), duration(r[6]), duration(r[7]))
        if self.tab == "entries":
            return (str(r[1]), clip(r[2], 30), clip(r[3], 24), r[4], r[5], stamp(r[6], now, tz), r[7])
        return (r[1], number(r[2], "m"), number(r[3], "m"), str(r[4]))

    def _show(self) -> None:
        assert self._rows is not None
        shown: list[Row] = []
        matched = 0
        for i, r in enumerate(self._rows):
            cells = self._cells(r)
            if not self.filter_matches(" ".join(cells)):
                continue
            matched += 1
            if len(shown) < ROWS_SHOWN:
                shown.append(Row(str(r[0]), tuple(Text(c) for c in cells), (i,)))
        self.query_one(LiveTable).sync(shown)
        self.query_one("#empty").display = not self._rows
        tabs = " ".join(f"[{TAB_LABELS[t]}]" if t == self.tab else TAB_LABELS[t] for t in TABS)
        title = f"{tabs} · {len(self._rows)}"
        if matched != len(self._rows):
            title += f" · {matched} match"
        if len(shown) < matched:
            title += f" · first {len(shown)} shown"
        self.set_status_line(title)
