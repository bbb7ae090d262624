"""Details of one run: settings used, times (relative and absolute), worker, attempts, reason, file."""

from __future__ import annotations

import json
from datetime import tzinfo
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from t4o_tui.engine.runs import RunRow
from t4o_tui.jobs.registry import JOBS
from t4o_tui.tui.format import ACTIVE, elapsed, progress_bar, status_text, when
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.base import PollingScreen
from t4o_tui.tui.widgets.footer import Footer
from t4o_tui.tui.widgets.header import AppHeader


def details_table(r: RunRow, now: float, tz: tzinfo | None) -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column()
    t.add_row("Task", f"{r.task}  (job {r.job})")
    # Assembled, so that the status's colour stays on the status word.
    status = Text.assemble(status_text(r.status, cancelling=r.cancel_requested))
    if r.error:
        status.append(f"  {r.error}", style="red" if r.status == "failed" else "")
    t.add_row("Status", status)
    if r.status == "running":
        prog = progress_bar(r.progress, 10)
        if r.progress_msg:
            prog.append(f"  {r.progress_msg}", style="dim")
        t.add_row("Progress", prog)
    t.add_row("Lane", f"{r.lane}   trigger: {r.trigger}")
    t.add_row("Enqueued", when(r.enqueued_at, now, tz))
    t.add_row("Started", when(r.started_at, now, tz))
    if r.finished_at is not None:
        t.add_row("Finished", when(r.finished_at, now, tz))
    if r.started_at is not None:
        end = r.finished_at if r.finished_at is not None else now
        t.add_row("Duration" if r.finished_at else "Elapsed", elapsed(end - r.started_at))
    t.add_row("Worker", r.worker or "–")
    t.add_row("Attempts", str(r.attempts))
    t.add_row("Output file", r.output or "none")
    t.add_row("Settings used", _settings(r))
    return t


def _settings(r: RunRow) -> Text:
    if r.settings is None:
        return Text("taken from the task when the run starts", style="dim")
    if not r.settings:
        return Text("none", style="dim")
    job = JOBS.get(r.job)
    order = [f.key for f in job.settings.fields] if job else []
    items = sorted(r.settings.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0]))
    out = Text()
    for i, (key, value) in enumerate(items):
        field = job.settings.get(key) if job else None
        shown = field.format(value) if field else json.dumps(value)
        out.append(("\n" if i else "") + f"{key} = ")
        out.append(shown, style="bold")
    return out


class RunDetailsScreen(PollingScreen):
    CSS_PATH = "run_details.tcss"
    HELP_TITLE = "Run details"
    POLL_SECONDS = 1.0
    BINDINGS: ClassVar = bindings("details.log", "details.cancel", "details.retry", "details.back")

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.run: RunRow | None = None

    def compose(self) -> ComposeResult:
        yield AppHeader(None, f"Run #{self.run_id}")
        with VerticalScroll(id="body"):
            yield Static("Loading…", id="details")
        yield Footer()

    async def load(self) -> RunRow:
        return await self.services.run(self.run_id)

    def apply(self, data: RunRow) -> None:
        if self.run is None or self.run.status != data.status:
            self.refresh_bindings()  # cancel is offered only while the run can still be cancelled
        self.run = data
        self.query_one(AppHeader).set_title(f"Run #{data.id} · {data.task} · {data.status}")
        self._show()

    def keep_polling(self) -> bool:
        return self.run is None or self.run.status in ACTIVE

    def tick(self) -> None:
        if self.run is not None:
            self._show()

    def show_error(self, message: str | None) -> None:
        if message:
            self.query_one("#details", Static).update(Text(f"⚠ {message}", style="red"))

    def _show(self) -> None:
        assert self.run is not None
        self.query_one("#details", Static).update(details_table(self.run, self.services.now(), self.services.tz))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "cancel" and self.run is not None and self.run.status not in ACTIVE)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_log(self) -> None:
        self.t4o.open_run_log(self.run_id)

    def action_cancel(self) -> None:
        if self.run is not None:
            self.t4o.request_cancel(self.run, on_done=self.poll_now)

    def action_retry(self) -> None:
        if self.run is not None:
            self.t4o.run_task_now(self.run.task)
