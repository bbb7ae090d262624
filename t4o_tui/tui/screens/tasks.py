"""Tasks: the saved configurations of jobs, grouped by the job's category, with their last run."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from t4o_tui.engine.tasks import TaskError, TaskRow
from t4o_tui.tui.format import ago, clip, status_text
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.view import ViewScreen
from t4o_tui.tui.widgets.live_table import Column, LiveTable, Row

COLUMNS = [
    Column("name", "Task"), Column("job", "Job", 12), Column("lane", "Lane", 6),
    Column("last", "Last run", 11), Column("when", "When", 10),
]
# Fixed columns plus cell padding: what is left of the width goes to the task name.
OTHER_COLUMNS_WIDTH = 14 + 8 + 13 + 12 + 2 + 3


class TasksScreen(ViewScreen):
    VIEW = "tasks"
    CSS_PATH = "tasks.tcss"
    HELP_TITLE = "Tasks"
    POLL_SECONDS = 1.5
    FILTERABLE = True
    BINDINGS: ClassVar = bindings("tasks.run", "tasks.new", "tasks.edit", "tasks.duplicate", "tasks.delete",
                                  "tasks.log")

    def __init__(self) -> None:
        super().__init__()
        self._tasks: list[TaskRow] | None = None
        self._by_key: dict[str, TaskRow] = {}
        self._select_name: str | None = None  # select this task once it shows up (after new/duplicate)

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield LiveTable(COLUMNS, id="tasks")
            yield Static("No tasks yet. Press n to create one.", id="empty", classes="empty")

    async def load(self) -> list[TaskRow]:
        return await self.services.tasks()

    def apply(self, data: list[TaskRow]) -> None:
        self._tasks = data
        self._show(self.services.now())

    def tick(self) -> None:
        if self._tasks is not None:
            self._show(self.services.now())

    def on_filter_changed(self) -> None:
        if self._tasks is not None:
            self._show(self.services.now())

    def _show(self, now: float) -> None:
        assert self._tasks is not None
        name_width = max(self.app.size.width - OTHER_COLUMNS_WIDTH, 12)
        self._by_key = {str(t.id): t for t in self._tasks}
        shown = sorted(
            (t for t in self._tasks
             if self.filter_matches(f"{t.category} {t.name} {t.job} {t.job_title} {t.last_status or 'never'}")),
            key=lambda t: (t.category.lower(), t.name.lower()),
        )
        rows = []
        previous = None
        for t in shown:
            if t.category != previous:
                # Each job category opens with a heading row that the cursor skips.
                previous = t.category
                rows.append(Row(f"category:{t.category}", (Text(t.category, style="bold underline"),
                                *(Text("") for _ in COLUMNS[1:])), (t.category.lower(), 0, ""), heading=True))
            rows.append(Row(str(t.id), (
                Text("  " + clip(t.name, name_width - 2)), Text(clip(t.job_title, 12)),
                Text("direct", style="bold") if t.direct else Text("queue"),
                status_text(t.last_status), Text(ago(t.last_finished_at, now)),
            ), (t.category.lower(), 1, t.name.lower())))
        table = self.query_one(LiveTable)
        table.sync(rows)
        self.query_one("#empty").display = not self._tasks
        if self._select_name is not None:
            target = next((t for t in self._tasks if t.name == self._select_name), None)
            if target is not None:
                self._select_name = None
                table.select_key(str(target.id))
        title = f"{len(self._tasks)} tasks"
        if len(shown) != len(self._tasks):
            title += f" · {len(shown)} shown"
        self.set_status_line(title)

    def select_task(self, name: str) -> None:
        self._select_name = name
        self.poll_now()

    # -- actions ------------------------------------------------------------------------------------
    def selected(self) -> TaskRow | None:
        key = self.query_one(LiveTable).selected_key
        return self._by_key.get(key) if key else None

    def _need_selection(self) -> TaskRow | None:
        task = self.selected()
        if task is None:
            self.notify("No task selected.", severity="warning")
        return task

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit()

    def action_run(self) -> None:
        if task := self._need_selection():
            self.t4o.run_task_now(task.name, on_done=self.poll_now)

    def action_new(self) -> None:
        if self.t4o.refuse_readonly("create tasks"):
            return
        self.t4o.open_task_editor(None, on_saved=self.select_task)

    def action_edit(self) -> None:
        if task := self._need_selection():
            self.t4o.open_task_editor(task, on_saved=self.select_task)

    def action_log(self) -> None:
        if task := self._need_selection():
            if task.last_run_id is None:
                self.notify(f"'{task.name}' has not run yet.", severity="warning")
            else:
                self.t4o.open_run_log(task.last_run_id)

    def action_duplicate(self) -> None:
        task = self._need_selection()
        if task is None or self.t4o.refuse_readonly("duplicate tasks"):
            return
        self.t4o.run_safely(self._duplicate(task.name), "Duplicating the task")

    async def _duplicate(self, name: str) -> None:
        try:
            new_name = await self.services.duplicate_task(name)
        except TaskError as exc:
            self.notify(str(exc), severity="error", title="Not duplicated")
            return
        self.notify(f"Created '{new_name}' as a copy of '{name}'.")
        self.select_task(new_name)

    def action_delete(self) -> None:
        task = self._need_selection()
        if task is None or self.t4o.refuse_readonly("delete tasks"):
            return
        self.t4o.run_safely(self._ask_delete(task.name), "Deleting the task")

    async def _ask_delete(self, name: str) -> None:
        # The question names everything that goes with the task: its schedules stop, and its share
        # links' URLs (perhaps on a speaker's screen or the arena display) stop working.
        try:
            gone = await self.services.task_dependents(name)
        except TaskError as exc:
            self.notify(str(exc), severity="error", title="Not deleted")
            return
        self.t4o.confirm(
            f"Delete task '{name}' together with its {gone.text()}? This cannot be undone.",
            yes="Delete task", no="Keep it",
            on_yes=lambda: self.t4o.run_safely(self._delete(name), "Deleting the task"),
        )

    async def _delete(self, name: str) -> None:
        try:
            n = await self.services.delete_task(name)
        except TaskError as exc:
            self.notify(str(exc), severity="error", title="Not deleted")
            return
        self.notify(f"Deleted task '{name}' with {n} run(s).")
        self.poll_now()
