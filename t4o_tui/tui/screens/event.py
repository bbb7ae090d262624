"""Event: a race's classes, entries and courses (`t` switches the list, `r` the race when there
are several); `e` edits the selected entry by hand, or the selected class's timing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import peewee
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from t4o_tui.engine import event_lists
from t4o_tui.engine.corrections import short_status
from t4o_tui.engine.event_lists import ClassLine, CourseLine, EntryLine
from t4o_tui.engine.event_setup import RaceInfo, SetupError, find_class
from t4o_tui.tui.format import clip, stamp
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.class_timing import ClassTimingData, ClassTimingScreen
from t4o_tui.tui.screens.correction import correct_entry
from t4o_tui.tui.screens.entry_edit import EntryEditScreen
from t4o_tui.tui.screens.race_view import RaceViewScreen, choose_race
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

Line = ClassLine | EntryLine | CourseLine
LOADERS: dict[str, Callable[[peewee.Database, int], Sequence[Line]]] = {
    "classes": event_lists.class_lines, "entries": event_lists.entry_lines, "courses": event_lists.course_lines,
}


@dataclass(frozen=True)
class EventData:
    tab: str
    races: list[RaceInfo]
    race: RaceInfo | None
    rows: Sequence[Line]


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


class EventScreen(RaceViewScreen):
    VIEW = "event"
    CSS_PATH = "event.tcss"
    HELP_TITLE = "Event"
    POLL_SECONDS = 5.0
    FILTERABLE = True
    BINDINGS: ClassVar = bindings("event.tab", "event.edit", "event.class_timing", "event.correct", "event.race")

    def __init__(self) -> None:
        super().__init__()
        self.tab = "classes"
        self._rows: Sequence[Line] | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield LiveTable(COLUMNS[self.tab], id="event-table")
            yield Static("Nothing here yet: import entries and courses (tasks, 3).", id="empty", classes="empty")

    def on_mount(self) -> None:
        self.query_one(LiveTable).focus()

    async def load(self) -> EventData:
        tab, wanted, now = self.tab, self.t4o.race_id, self.services.now()

        def read(db: peewee.Database) -> EventData:
            races, race = choose_race(db, wanted, now)
            return EventData(tab, races, race, LOADERS[tab](db, race.id) if race is not None else [])

        return await self.services.query(read)

    def apply(self, data: EventData) -> None:
        if data.tab != self.tab:  # switched while loading
            self.poll_now()
            return
        if not self.show_races(data.races, data.race):
            return
        self._rows = data.rows
        self._show()

    def on_filter_changed(self) -> None:
        if self._rows is not None:
            self._show()

    def action_next_tab(self) -> None:
        self.tab = TABS[(TABS.index(self.tab) + 1) % len(TABS)]
        self._reset_rows(columns=True)
        self.refresh_bindings()  # `e` edits what this list holds
        self.poll_now()

    def race_changed(self) -> None:
        self._reset_rows(columns=False)

    def _reset_rows(self, *, columns: bool) -> None:
        self._rows = None
        table = self.query_one(LiveTable)
        if columns:
            table.reset_columns(COLUMNS[self.tab])
        table.sync([])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The keys show only where they work.
        if action == "edit_entry" and self.tab != "entries":
            return False
        if action == "edit_class" and self.tab != "classes":
            return False
        if action == "correct" and self.tab != "entries":
            return False
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
        e = await self.services.query(event_lists.entry_for_edit, entry_id)
        if e is None:
            return
        entry = {"id": e.id, "name": e.name, "class_id": e.class_id, "bib": e.bib, "card": e.card, "status": e.status}
        if await self.app.push_screen_wait(EntryEditScreen(entry, e.classes)):
            self.notify(f"{e.name}: saved, marked as edited by hand.")
            self.poll_now()

    def action_correct(self) -> None:
        key = self.query_one(LiveTable).selected_key
        if self.tab != "entries" or key is None:
            self.notify("Select an entry (t switches to Entries).", severity="warning")
            return
        correct_entry(self, int(key))

    def action_edit_class(self) -> None:
        key = self.query_one(LiveTable).selected_key
        line = next((r for r in self._rows or [] if isinstance(r, ClassLine) and str(r.id) == key), None)
        if self.tab != "classes" or line is None or self.race is None:
            self.notify("Select a class (t switches to Classes).", severity="warning")
            return
        self.t4o.run_safely(self._open_class(self.race, line.name), "Opening the class timing")

    async def _open_class(self, race: RaceInfo, name: str) -> None:
        try:
            info = await self.services.query(find_class, race.id, name)
        except SetupError as exc:  # renamed or deleted meanwhile
            self.notify(exc.message, severity="warning")
            self.poll_now()
            return
        courses = [c.name for c in await self.services.query(event_lists.course_lines, race.id)]
        if await self.app.push_screen_wait(ClassTimingScreen(ClassTimingData(race, info, courses),
                                                             readonly=self.t4o.readonly)):
            self.poll_now()

    def _cells(self, r: Line) -> tuple[str, ...]:
        now, tz = self.services.now(), self.services.tz
        if isinstance(r, ClassLine):
            return (r.name, r.course, str(r.entries), str(r.starts), stamp(r.first_start, now, tz),
                    duration(r.start_interval), duration(r.max_time))
        if isinstance(r, EntryLine):
            # A result's status as its short code (MP, DNF), as Results and Readout show it.
            return (r.bib, clip(r.name, 30), clip(r.club, 24), r.class_name, r.cards, stamp(r.start_time, now, tz),
                    short_status(r.status))
        return (r.name, number(r.length, "m"), number(r.climb, "m"), str(r.controls))

    def _show(self) -> None:
        assert self._rows is not None
        shown: list[Row] = []
        matched = 0
        for i, r in enumerate(self._rows):
            cells = self._cells(r)
            # The whole name and club, not the cells clipped to their columns: a long name typed in full matches.
            extra = f" {r.name} {r.club}" if isinstance(r, EntryLine) else ""
            if not self.filter_matches(" ".join(cells) + extra):
                continue
            matched += 1
            if len(shown) < ROWS_SHOWN:
                shown.append(Row(str(r.id), tuple(Text(c) for c in cells), (i,)))
        self.query_one(LiveTable).sync(shown)
        self.query_one("#empty").display = not self._rows
        tabs = " ".join(f"[{TAB_LABELS[t]}]" if t == self.tab else TAB_LABELS[t] for t in TABS)
        title = f"{self.race_title()}{tabs} · {len(self._rows)}"
        if matched != len(self._rows):
            title += f" · {matched} match"
        if len(shown) < matched:
            title += f" · first {len(shown)} shown"
        self.set_status_line(title)
