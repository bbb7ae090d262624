"""Shares: every share with its state, mode, cache window, expiry, hits and URL; the share
server's state on the header line."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from t4o_tui.tui.screens.view import ViewScreen
from t4o_tui.tui.services import SharesData
from t4o_tui.tui.widgets.share_list import ShareList


class SharesScreen(ViewScreen):
    VIEW = "shares"
    CSS_PATH = "shares.tcss"
    HELP_TITLE = "Shares"
    POLL_SECONDS = 2.0  # hits and last access are written by the server every few seconds
    FILTERABLE = True
    BINDINGS: ClassVar = []

    def __init__(self) -> None:
        super().__init__()
        self._data: SharesData | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield Static(id="server")
            yield ShareList(id="shares", empty="No shares yet. Press n to publish a task's latest file.")

    def on_mount(self) -> None:
        self.query_one(ShareList).table.focus()

    async def load(self) -> SharesData:
        return await self.services.shares()

    def apply(self, data: SharesData) -> None:
        self._data = data
        self._show()

    def tick(self) -> None:
        if self._data is not None:
            self.query_one(ShareList).tick(self.services.now())

    def on_filter_changed(self) -> None:
        if self._data is not None:
            self._show()

    def _show(self) -> None:
        assert self._data is not None
        data = self._data
        rows = [s for s in data.shares
                if self.filter_matches(f"{s.id} {s.task} {s.label or ''} {s.state(data.now)} "
                                       f"{'run-task' if s.run_task else 'plain'}")]
        self.query_one(ShareList).show(data, rows)
        active = sum(s.state(data.now) == "active" for s in data.shares)
        title = f"{'●' if data.server_ok else '⚠'} {data.server} · {active}/{len(data.shares)} active"
        # The header line is cut where the terminal ends: a server that does not serve, or
        # another process that serves the links, would not be read in full there: a line of its own.
        views = sum(len(label) + 5 for _, label in self.t4o.VIEWS) + 3
        server = self.query_one("#server", Static)
        server.display = (not data.server_ok or data.elsewhere) and views + len(title) > self.app.size.width
        if server.display:
            server.update(Text(f"⚠ {data.server}", style="yellow") if not data.server_ok
                          else Text(f"● {data.server}"))
        if len(rows) != len(data.shares):
            title += f" · {len(rows)} shown"
        self.set_status_line(title)

    def on_share_list_changed(self, event: ShareList.Changed) -> None:
        event.stop()
        self.poll_now()

    def focus_list(self) -> None:
        self.query_one(ShareList).table.focus()
