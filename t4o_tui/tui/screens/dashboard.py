"""Dashboard: how the queue stands, the schedules that fire next (systemctl list-timers style),
who works on the database and evaluates the schedules, and what failed lately."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from t4o_tui.engine.runs import RunRow
from t4o_tui.tui.format import ago, clip
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.view import ViewScreen
from t4o_tui.tui.services import DashboardData, EventStatusCounts
from t4o_tui.tui.widgets.event_status import EventStatus
from t4o_tui.tui.widgets.live_table import Column, LiveTable, Row
from t4o_tui.tui.widgets.schedule_list import ScheduleList

STARTUP_GRACE = 5.0  # seconds before "no scheduler" / "no worker" may show (see _starting)
FAILURE_COLUMNS = [Column("id", "#"), Column("task", "Task"), Column("reason", "Reason"), Column("when", "When", 10)]


def event_line(e: EventStatusCounts) -> Text:
    """'Runners 300 · not started 12 · in forest 41 · home 247 (OK 230, MP 9, DNF 3, DSQ 1) · ⚠ overdue 2'."""
    home = ", ".join(f"{label} {n}" for label, n in (("OK", e.ok), ("MP", e.missing_punch), ("DNF", e.did_not_finish),
                                                     ("DSQ", e.disqualified), ("other", e.other), ("read-out due", e.finished)) if n)
    text = Text.assemble(("Runners ", "bold"), (str(e.entries), "bold"), f" · not started {e.not_started}",
                         f" · in forest {e.in_forest}", f" · home {e.home}" + (f" ({home})" if home else ""))
    if e.did_not_start:
        text.append(f" · DNS {e.did_not_start}")
    if e.overdue:
        text.append(f" · ⚠ overdue {e.overdue}", style="yellow bold")
    return text


class DashboardScreen(ViewScreen):
    VIEW = "dashboard"
    CSS_PATH = "dashboard.tcss"
    HELP_TITLE = "Dashboard"
    POLL_SECONDS = 1.0
    BINDINGS: ClassVar = bindings("dashboard.details", "dashboard.log", "dashboard.forest")

    def __init__(self) -> None:
        super().__init__()
        self._data: DashboardData | None = None
        self._shown_texts: dict[str, Text] = {}
        self._opened = time.monotonic()

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            with Horizontal(id="counts"):
                yield Static(id="count-queued", classes="count")
                yield Static(id="count-running", classes="count")
                yield Static(id="count-failed", classes="count")
            # The event's status counts (entries, starts, results…) are mounted here by the event
            # views; the area is hidden while it has nothing in it.
            yield EventStatus(id="event-status")
            with Horizontal(id="schedules-head", classes="section"):
                yield Static("Schedules", classes="title")
                yield Static(id="schedule-counts")
                yield Static(id="scheduler")
            with Vertical(id="schedules"):
                yield ScheduleList(id="schedule-list", empty="No active or upcoming schedules. Press n to add one, "
                                   "or open a task (3, Enter) and its Schedules tab.")
            yield Static("Workers on this database", classes="section")
            yield Static(id="workers")
            yield Static("Recent failures", classes="section")
            yield LiveTable(FAILURE_COLUMNS, id="failures")
            yield Static("No failed runs.", id="no-failures", classes="empty")

    async def load(self) -> DashboardData:
        return await self.services.dashboard()

    def apply(self, data: DashboardData) -> None:
        if (self._data is None or self._data.event is None) != (data.event is None):
            self.call_after_refresh(self.refresh_bindings)  # f shows once there is an event
        self._data = data
        self._update("#count-queued", Text.assemble(("◦ queued  ", "cyan"), (str(data.queued), "bold")))
        self._update("#count-running", Text.assemble(("▸ running  ", "yellow"), (str(data.running), "bold")))
        self._update("#count-failed", Text.assemble(("✗ failed, last hour  ", "red" if data.failed_last_hour else ""),
                                                    (str(data.failed_last_hour), "bold")))
        self._show_workers(data)
        self._show_failures(data)
        self._show_schedules(data)
        self._show_event(data)
        self.query_one(EventStatus).update_shown()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # f (the in-forest list) shows while the dashboard counts an event's runners.
        if action == "forest":
            return self._data is not None and self._data.event is not None
        return super().check_action(action, parameters)

    def action_forest(self) -> None:
        self.app.switch_mode("forest")

    def on_click(self, event: events.Click) -> None:
        # A click on the event's counts opens the list behind "in forest" (keyboard: f).
        widget = event.widget
        if widget is not None and widget.id == "event-counts":
            self.app.switch_mode("forest")

    def _show_event(self, data: DashboardData) -> None:
        area = self.query_one(EventStatus)
        line = area.query("#event-counts")
        if data.event is None:
            if line:
                line.first().display = False
            return
        if not line:
            area.mount(Static(id="event-counts"))
            self.call_after_refresh(lambda: self._show_event(data))
            return
        line.first().display = True
        self._update("#event-counts", event_line(data.event))

    def _update(self, selector: str, text: Text) -> None:
        # Polled every second: repaint only what changed, so that an idle dashboard costs nothing.
        if self._shown_texts.get(selector) != text:
            self._shown_texts[selector] = text
            self.query_one(selector, Static).update(text)

    def tick(self) -> None:
        if self._data is not None:
            now = self.services.now()
            self._show_failures(self._data, now=now)
            self.query_one(ScheduleList).tick(now)

    def _show_schedules(self, data: DashboardData) -> None:
        self.query_one(ScheduleList).show(data.schedules, data.now)
        c = data.schedule_counts
        counts = Text()
        for state, style in (("active", "green"), ("upcoming", "cyan"), ("paused", "yellow")):
            if counts.plain:
                counts.append(" · ", style="dim")
            counts.append(f"{c.get(state, 0)} {state}", style=style if c.get(state) else "dim")
        live = sum(c.get(st, 0) for st in ("active", "upcoming", "paused"))
        if live > len(data.schedules):
            counts.append(f" · {len(data.schedules)} shown: the soonest and the paused", style="dim")
        self._update("#schedule-counts", counts)
        sch = data.scheduler
        if sch.mine:
            who = Text("● scheduler: this process", style="green")
        elif sch.holder:
            # The full id is in the workers list below; here it gets what the counts leave.
            room = self.app.size.width - 2 - len("Schedules  ") - counts.cell_len - 1 - len("● scheduler: ")
            who = Text.assemble(("● ", "green"), "scheduler: ", (clip(sch.holder, max(room, 8)), "bold"))
        elif self._starting():
            who = Text("… looking for the scheduler", style="dim")
        else:
            who = Text("⚠ no scheduler: schedules do not fire", style="yellow bold")
        self._update("#scheduler", who)

    def _starting(self) -> bool:
        """The first seconds after start-up: the engine may not hold the scheduler lease or have
        announced its worker yet, so 'no scheduler' / 'no worker' would be a false alarm."""
        return time.monotonic() - self._opened < STARTUP_GRACE

    def on_schedule_list_changed(self, event: ScheduleList.Changed) -> None:
        event.stop()
        self.poll_now()

    def on_mount(self) -> None:
        self.query_one(ScheduleList).table.focus()

    def _show_workers(self, data: DashboardData) -> None:
        me = self.t4o.worker_id
        holder = data.scheduler.holder
        lines = Text()
        if not data.workers and self._starting():
            lines.append("… looking for workers", style="dim")
        elif not data.workers:
            lines.append("No worker is running: queued runs wait until a worker or a TUI starts.", style="yellow")
        for i, (worker, role) in enumerate(sorted(data.workers, key=lambda w: (w[0] != me, w[0]))):
            if i:
                lines.append("\n")
            lines.append("● ", style="green")
            lines.append(worker)
            lines.append(f"  {role or '?'}", style="dim")
            if worker == me:
                lines.append("  this process", style="bold")
            if worker == holder:
                lines.append("  evaluates the schedules", style="green")
        if holder is not None and holder not in {w for w, _ in data.workers}:
            lines.append(f"\n● {holder}  holds the scheduler lease", style="green")
        if self.services.readonly:
            lines.append("\nThis TUI is read-only: it runs nothing.", style="dim")
        self._update("#workers", lines)

    def _show_failures(self, data: DashboardData, now: float | None = None) -> None:
        t = now if now is not None else data.now
        rows = [
            Row(str(r.id), (Text(str(r.id), justify="right"), Text(clip(r.task, 24)),
                            Text(clip(r.error or "failed", 60), style="red"), Text(ago(r.finished_at, t))), (-r.id,))
            for r in data.failures
        ]
        self.query_one("#failures", LiveTable).sync(rows)
        self.query_one("#no-failures").display = not rows
        self.query_one("#failures").display = bool(rows)

    # -- actions ------------------------------------------------------------------------------------
    def _selected(self) -> RunRow | None:
        # d and l act on the failures (Enter on a schedule opens its occurrences instead).
        key = self.query_one("#failures", LiveTable).selected_key
        if key is None or self._data is None:
            return None
        return next((r for r in self._data.failures if str(r.id) == key), None)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_details()

    def action_details(self) -> None:
        run = self._selected()
        if run is None:
            self.notify("Select a failed run first.", severity="warning")
            return
        self.t4o.open_run_details(run.id)

    def action_log(self) -> None:
        run = self._selected()
        if run is None:
            self.notify("Select a failed run first.", severity="warning")
            return
        self.t4o.open_run_log(run.id)
