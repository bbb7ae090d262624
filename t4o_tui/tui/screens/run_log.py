"""A run's log, following new lines while the run runs; scrolling up stops following, `f` resumes."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import RichLog, Static

from t4o_tui.engine.runs import LogLine, RunRow
from t4o_tui.tui.format import ACTIVE, LEVEL_STYLE, progress_bar, status_text
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.base import PollingScreen
from t4o_tui.tui.widgets.footer import Footer
from t4o_tui.tui.widgets.header import AppHeader

MAX_LINES = 20000


def log_line(line: LogLine, tz: tzinfo | None) -> Table:
    """Time and level, then the message; wrapped lines of the message stay in its column."""
    t = datetime.fromtimestamp(line.ts, tz)
    stamp = t.strftime("%H:%M:%S") + f".{t.microsecond // 1000:03}"
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(no_wrap=True, width=12)
    grid.add_column(no_wrap=True, width=7)
    grid.add_column(ratio=1, overflow="fold")
    grid.add_row(Text(stamp, style="dim"), Text(line.level.upper(), style=LEVEL_STYLE.get(line.level, "")),
                 Text(line.message))
    return grid


class RunLogScreen(PollingScreen):
    CSS_PATH = "run_log.tcss"
    HELP_TITLE = "Run log"
    POLL_SECONDS = 0.5
    BINDINGS: ClassVar = bindings("log.follow", "log.cancel", "log.down", "log.up", "log.top", "log.bottom", "log.back")

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.run: RunRow | None = None
        self.last_id = 0
        self.lines = 0
        self.following = True

    def compose(self) -> ComposeResult:
        yield AppHeader(None, f"Log of run #{self.run_id}")
        with Horizontal(id="status"):
            yield Static(id="run-status")
            yield Static(id="badge")
        yield RichLog(id="log", wrap=True, auto_scroll=True, max_lines=MAX_LINES, markup=False)
        yield Footer()

    def on_mount(self) -> None:
        log = self.query_one(RichLog)
        log.focus()
        self.watch(log, "scroll_y", self._scrolled, init=False)
        self._show_badge()

    async def load(self) -> tuple[RunRow, list[LogLine]]:
        return await self.services.log_tail(self.run_id, self.last_id)

    def apply(self, data: tuple[RunRow, list[LogLine]]) -> None:
        run, lines = data
        self.run = run
        log = self.query_one(RichLog)
        for line in lines:
            log.write(log_line(line, self.services.tz), expand=True, scroll_end=self.following)
            self.last_id = line.id
            self.lines += 1
        self.query_one(AppHeader).set_title(f"Log of run #{run.id} · {run.task}")
        # Assembled, so that the status's colour stays on the status word.
        status = Text.assemble(status_text(run.status, cancelling=run.cancel_requested))
        if run.status == "running":
            status.append("  ")
            status.append_text(progress_bar(run.progress))
            if run.progress_msg:
                status.append(f"  {run.progress_msg}", style="dim")
        elif run.error:
            status.append(f"  {run.error}")
        self.query_one("#run-status", Static).update(status)
        self._show_badge()
        if run.status not in ACTIVE:
            self.refresh_bindings()  # x goes once the run has ended

    def keep_polling(self) -> bool:
        return self.run is None or self.run.status in ACTIVE

    def show_error(self, message: str | None) -> None:
        if message:
            self.query_one("#run-status", Static).update(Text(f"⚠ {message}", style="red"))

    def _scrolled(self, old: float, new: float) -> None:
        log = self.query_one(RichLog)
        # Only a move up that leaves the bottom is the admin's: writes only ever move down, and a
        # re-wrap after a resize clamps to the (new) bottom.
        if self.following and new < old and new < log.max_scroll_y:
            self.following = False
            self._show_badge()

    def _show_badge(self) -> None:
        badge = self.query_one("#badge", Static)
        if self.run is not None and self.run.status not in ACTIVE:
            badge.update(Text(f" END · {self.lines} lines ", style="reverse"))
        elif self.following:
            badge.update(Text(" ● FOLLOW ", style="reverse bold green"))
        else:
            badge.update(Text(" PAUSED · f follows ", style="reverse yellow"))
        badge.set_class(self.following, "-following")

    # -- actions ------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # x shows while the run can still be cancelled.
        if action == "cancel":
            return self.run is None or self.run.status in ACTIVE
        return True

    def action_cancel(self) -> None:
        if self.run is not None:
            self.t4o.request_cancel(self.run, on_done=self.poll_now)

    def action_follow(self) -> None:
        self.following = True
        self.query_one(RichLog).scroll_end(animate=False)
        self._show_badge()

    def action_scroll_down_line(self) -> None:
        self.query_one(RichLog).scroll_down(animate=False)

    def action_scroll_up_line(self) -> None:
        self.query_one(RichLog).scroll_up(animate=False)

    def action_scroll_to_top(self) -> None:
        self.query_one(RichLog).scroll_home(animate=False)

    def action_back(self) -> None:
        self.dismiss(None)
