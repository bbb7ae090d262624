"""A schedule's occurrences: what it did with each nominal time, and why; its pauses and resumes
among them (who, when, the note, the end), at the time each happened."""

from __future__ import annotations

from datetime import tzinfo
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from t4o_tui.engine.schedules import HistoryRow, OccurrenceRow, ScheduleEventRow
from t4o_tui.tui.format import (
    OCCURRENCE_STATE,
    SCHEDULE_EVENT,
    SCHEDULE_STATE,
    ago,
    clip,
    full_stamp,
    lateness,
    stamp,
    state_text,
    status_text,
)
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.base import PollingScreen
from t4o_tui.tui.services import OCCURRENCES_SHOWN, OccurrencesData
from t4o_tui.tui.widgets.footer import Footer
from t4o_tui.tui.widgets.header import AppHeader
from t4o_tui.tui.widgets.live_table import Column, LiveTable, Row

COLUMNS = [Column("nominal", "Nominal time"), Column("state", "State", 17), Column("late", "Late", 8),
           Column("run", "Run"), Column("reason", "Reason")]
NOMINAL_W = 24  # 'Sat 14:00 … 14:40 ×240'
FIXED = NOMINAL_W + 17 + 8 + 2 * len(COLUMNS) + 1


def nominal_text(o: OccurrenceRow, now: float, wide: bool, tz: tzinfo | None) -> Text:
    first = stamp(o.nominal, now, tz, wide=wide)
    if o.count > 1 and o.last_nominal is not None:
        # A range stands for many times (240 paused ones are one record): first … last ×count.
        return Text.assemble(first, " … ", stamp(o.last_nominal, now, tz, wide=wide), (f" ×{o.count}", "bold"))
    return Text(first)


def event_cells(e: ScheduleEventRow, now: float, wide: bool, tz: tzinfo | None, reason_w: int) -> tuple[Text, ...]:
    """A pause or a resume as a row: when (dated as the occurrences are), what, who and why."""
    reason = e.reason_text(lambda t: stamp(t, now, tz, wide=wide))
    return (Text(stamp(e.at, now, tz, wide=wide)), state_text(e.kind, SCHEDULE_EVENT), Text(""),
            Text("–", style="dim"), Text(clip(reason, reason_w)))


def run_text(o: OccurrenceRow, wide: bool) -> Text:
    if o.run_id is None:
        return Text("–", style="dim")
    text = Text(f"#{o.run_id} ")
    if o.run_status:
        st = status_text(o.run_status)
        text.append_text(st if wide else Text(st.plain[:1], style=st.style))
    return text


class OccurrencesScreen(PollingScreen):
    CSS_PATH = "occurrences.tcss"
    HELP_TITLE = "Occurrences"
    POLL_SECONDS = 2.0
    BINDINGS: ClassVar = bindings("occurrences.details", "occurrences.log", "occurrences.edit", "occurrences.back")

    def __init__(self, schedule_id: int) -> None:
        super().__init__()
        self.schedule_id = schedule_id
        self.data: OccurrencesData | None = None
        self._by_key: dict[str, HistoryRow] = {}

    def compose(self) -> ComposeResult:
        yield AppHeader(None, f"Occurrences of schedule #{self.schedule_id}")
        with Vertical(id="body"):
            yield Static("Loading…", id="summary")
            yield LiveTable(COLUMNS, id="occurrences")
            yield Static(id="detail")
            yield Static("No occurrences yet: the schedule has not reached a nominal time.", id="empty",
                         classes="empty")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#empty").display = False
        self.query_one(LiveTable).focus()

    async def load(self) -> OccurrencesData:
        return await self.services.occurrences(self.schedule_id)

    def apply(self, data: OccurrencesData) -> None:
        self.data = data
        self._show(data.now)

    def tick(self) -> None:
        if self.data is not None:
            self._show(self.services.now())

    def on_resize(self) -> None:
        if self.data is not None:
            self._show(self.services.now())

    def _show(self, now: float) -> None:
        assert self.data is not None
        if not self.query("#summary"):  # a resize or a last poll while the screen is being taken down
            return
        s = self.data.schedule
        tz = self.services.tz
        summary = Text()
        if s is None:
            title = f"Occurrences of schedule #{self.schedule_id} (deleted)"
            summary.append("This schedule was deleted.", style="yellow")
        else:
            title = f"Occurrences of schedule #{s.id} · {s.task}"
            summary.append_text(state_text(s.state, SCHEDULE_STATE))
            summary.append(f"  {s.description}")
            if s.next_fire is not None:
                summary.append(f" · next {full_stamp(s.next_fire, tz)} ({ago(s.next_fire, now)})", style="dim")
            if s.state == "paused" and s.pause_note:
                summary.append(f" · paused: “{s.pause_note}”", style="yellow")
        self.query_one("#summary", Static).update(summary)
        width = self.app.size.width - 2
        wide = width >= 120
        flex = max(width - FIXED - (10 if wide else 5), 16)
        reason_w = max(flex, 10)
        rows = []
        # Newest first as the engine merged them (pauses and resumes at the time they happened).
        for i, o in enumerate(self.data.occurrences):
            if isinstance(o, ScheduleEventRow):
                key = f"e{o.id}"
                self._by_key[key] = o
                rows.append(Row(key, event_cells(o, now, wide, tz, reason_w), (i,)))
                continue
            self._by_key[str(o.id)] = o
            rows.append(Row(str(o.id), (
                nominal_text(o, now, wide, tz), state_text(o.state, OCCURRENCE_STATE),
                Text(lateness(o.lateness_ms), justify="right"), run_text(o, wide),
                Text(clip(o.reason or "", reason_w), style="dim" if o.state == "fired" else ""),
            ), (i,)))
        table = self.query_one(LiveTable)
        table.sync(rows)
        self.query_one("#empty").display = not rows
        if len(rows) >= OCCURRENCES_SHOWN:
            title += f" · newest {OCCURRENCES_SHOWN}"
        self.query_one(AppHeader).set_title(title)
        self._show_detail()

    def _show_detail(self) -> None:
        o = self.selected()
        detail = self.query_one("#detail", Static)
        if o is None or self.data is None:
            detail.display = False
            return
        tz = self.services.tz
        if isinstance(o, ScheduleEventRow):
            detail.update(self._event_detail(o))
            detail.display = True
            return
        text = Text.assemble(state_text(o.state, OCCURRENCE_STATE), f"  nominal {full_stamp(o.nominal, tz)}")
        if o.count > 1 and o.last_nominal is not None:
            text.append(f" … {full_stamp(o.last_nominal, tz)} ({o.count} times)")
        if o.actual is not None:
            text.append(f" · enqueued {full_stamp(o.actual, tz)} ({lateness(o.lateness_ms)} late)")
        if o.row_key:
            text.append(f" · row {o.row_key}")
        if o.reason:
            text.append(f"\n{o.reason}")
        if o.run_id is not None:
            text.append("\nEnter: the run's details · l: its log", style="dim")
        detail.update(text)
        detail.display = True

    def _event_detail(self, e: ScheduleEventRow) -> Text:
        tz = self.services.tz
        text = Text.assemble(state_text(e.kind, SCHEDULE_EVENT), f"  at {full_stamp(e.at, tz)}")
        if e.who is None:
            text.append(" · by the scheduler: the pause's end passed")
        else:
            text.append(f" · by {e.who}")
        if e.kind == "pause":
            text.append(f" · until {full_stamp(e.paused_until, tz)}" if e.paused_until is not None
                        else " · until resumed")
        if e.note:
            text.append(f"\n“{e.note}”")
        return text

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_details()

    # -- actions ------------------------------------------------------------------------------------
    def selected(self) -> HistoryRow | None:
        key = self.query_one(LiveTable).selected_key
        return self._by_key.get(key) if key else None

    def _selected_run(self) -> int | None:
        o = self.selected()
        if o is None:
            self.notify("No occurrence selected.", severity="warning")
            return None
        if isinstance(o, ScheduleEventRow):
            self.notify(f"This is a {o.kind} of the schedule: it made no run.", severity="warning")
            return None
        if o.run_id is None:
            self.notify(f"This time made no run ({o.state}).", severity="warning")
        return o.run_id

    def action_details(self) -> None:
        if (run_id := self._selected_run()) is not None:
            self.t4o.open_run_details(run_id)

    def action_log(self) -> None:
        if (run_id := self._selected_run()) is not None:
            self.t4o.open_run_log(run_id)

    def action_edit(self) -> None:
        if self.data is not None and self.data.schedule is not None:
            self.t4o.open_schedule_editor(self.schedule_id, task=self.data.schedule.task,
                                          on_saved=lambda _id: self.poll_now())

    def action_back(self) -> None:
        self.dismiss(None)
