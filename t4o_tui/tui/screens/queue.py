"""Queue: every queued and running run, live, and the most recent finished ones."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from t4o_tui.engine.runs import RunRow
from t4o_tui.tui.format import ago, clip, elapsed, progress_bar, status_text
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.view import ViewScreen
from t4o_tui.tui.services import FINISHED_SHOWN, QueueData
from t4o_tui.tui.widgets.live_table import Cells, Column, LiveTable, Row

COLUMNS = [
    Column("id", "#"), Column("task", "Task"), Column("status", "Status", 12), Column("progress", "Progress", 9),
    Column("time", "Time", 13), Column("lane", "Lane", 6), Column("trigger", "Trigger", 8),
]
# Fixed columns plus cell padding: what is left of the width goes to the task name.
OTHER_COLUMNS_WIDTH = 6 + 14 + 11 + 15 + 8 + 10 + 3


def run_cells(r: RunRow, now: float, task_width: int, cells: Cells | None = None) -> tuple[Text, ...]:
    c = cells or Cells()
    if r.status == "running":
        # The cell says what it counts; the absolute times are in the run's details (Enter).
        time_cell = c.text("running " + elapsed(now - (r.started_at or now)), "yellow")
    elif r.status == "queued":
        time_cell = c.text("waiting " + elapsed(now - r.enqueued_at), "dim")
    else:
        time_cell = c.text(ago(r.finished_at, now))
    status = "cancelling" if r.status == "running" and r.cancel_requested else r.status
    prog = c.get(("progress", round(r.progress or 0.0, 2)), lambda: progress_bar(r.progress, 4)) \
        if r.status == "running" else c.text("")
    return (c.text(str(r.id), justify="right"), c.text(clip(r.task, task_width)),
            c.get(("status", status), lambda: status_text(r.status, cancelling=r.cancel_requested)), prog,
            time_cell, c.text(r.lane, "bold" if r.lane == "direct" else ""), c.text(r.trigger))


def run_order(r: RunRow) -> tuple[int, float, int]:
    # Running first, then queued in the order they will run, then the last to finish first.
    if r.status == "running":
        return (0, 0.0, r.id)
    if r.status == "queued":
        return (1, 0.0, r.id)
    return (2, -(r.finished_at or 0.0), -r.id)


class QueueScreen(ViewScreen):
    VIEW = "queue"
    CSS_PATH = "queue.tcss"
    HELP_TITLE = "Queue"
    POLL_SECONDS = 0.75
    FILTERABLE = True
    BINDINGS: ClassVar = bindings("queue.details", "queue.log", "queue.cancel", "queue.retry")

    def __init__(self) -> None:
        super().__init__()
        self._data: QueueData | None = None
        self._by_key: dict[str, RunRow] = {}
        self._cells = Cells()

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield LiveTable(COLUMNS, id="runs")
            yield Static("No runs yet. Press 3 for the tasks, then r to run one.", id="empty", classes="empty")

    async def load(self) -> QueueData:
        return await self.services.queue()

    def apply(self, data: QueueData) -> None:
        self._data = data
        self._show(data.now)

    def tick(self) -> None:
        if self._data is not None:
            self._show(self.services.now())

    def on_filter_changed(self) -> None:
        if self._data is not None:
            self._show(self.services.now())

    def _show(self, now: float) -> None:
        assert self._data is not None
        task_width = max(self.app.size.width - OTHER_COLUMNS_WIDTH, 12)
        runs = self._data.active + self._data.finished
        self._by_key = {str(r.id): r for r in runs}
        rows = [
            Row(str(r.id), run_cells(r, now, task_width, self._cells), run_order(r))
            for r in runs
            if self.filter_matches(f"{r.id} {r.task} {r.status} {r.lane} {r.trigger} {r.error or ''}")
        ]
        self.query_one(LiveTable).sync(rows)
        self.query_one("#empty").display = not runs
        running = sum(r.status == "running" for r in self._data.active)
        queued = len(self._data.active) - running
        title = f"{running} running · {queued} queued · last {min(len(self._data.finished), FINISHED_SHOWN)} finished"
        if len(rows) != len(runs):
            title += f" · {len(rows)} shown"
        self.set_status_line(title)

    # -- actions ------------------------------------------------------------------------------------
    def selected(self) -> RunRow | None:
        key = self.query_one(LiveTable).selected_key
        return self._by_key.get(key) if key else None

    def _need_selection(self) -> RunRow | None:
        run = self.selected()
        if run is None:
            self.notify("No run selected.", severity="warning")
        return run

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_details()

    def action_details(self) -> None:
        if run := self._need_selection():
            self.t4o.open_run_details(run.id)

    def action_log(self) -> None:
        if run := self._need_selection():
            self.t4o.open_run_log(run.id)

    def action_cancel(self) -> None:
        if run := self._need_selection():
            self.t4o.request_cancel(run, on_done=self.poll_now)

    def action_retry(self) -> None:
        if run := self._need_selection():
            self.t4o.run_task_now(run.task, on_done=self.poll_now)
