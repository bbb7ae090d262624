"""A list of shares (all of them, or one task's) with the keys that create, copy and revoke them."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message

from t4o_tui.engine.schedule_math import format_duration
from t4o_tui.share.links import ShareError, ShareRow
from t4o_tui.tui.format import SHARE_STATE, ago, clip, full_stamp, state_text
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.services import ReadOnlyError, SharesData
from t4o_tui.tui.widgets.live_table import Column, Row
from t4o_tui.tui.widgets.record_list import RecordList

NARROW_COLUMNS = [
    Column("task", "Task"), Column("label", "Label"), Column("state", "State", 10), Column("mode", "Mode", 8),
    Column("expires", "Expires", 10), Column("hits", "Hits", 5), Column("access", "Last access", 11),
]
WIDE_COLUMNS = [
    Column("id", "#", 4), Column("task", "Task"), Column("label", "Label"), Column("state", "State", 10),
    Column("mode", "Mode", 8), Column("cache", "Cache", 6), Column("expires", "Expires", 10), Column("hits", "Hits", 5),
    Column("access", "Last access", 11), Column("url", "URL"),
]
NARROW_FIXED = 10 + 8 + 10 + 5 + 11 + 2 * len(NARROW_COLUMNS) + 1
WIDE_FIXED = 4 + 10 + 8 + 6 + 10 + 5 + 11 + 2 * len(WIDE_COLUMNS) + 1


def mode_text(s: ShareRow) -> Text:
    # Run task: a visit enqueues a run and waits for a fresh file; plain: the latest file as it is.
    return Text("run-task", style="bold") if s.run_task else Text("plain")


class ShareList(RecordList[ShareRow]):
    """Shares with their keys. Posts `ShareList.Changed` after a change so the screen reloads."""

    DEFAULT_CSS = """
    ShareList { height: 1fr; }
    ShareList LiveTable { height: 1fr; scrollbar-size-vertical: 1; }
    ShareList .detail { height: auto; max-height: 3; padding: 0 1; }
    ShareList .empty { color: $text-muted; padding: 0 1; }
    """
    BINDINGS = bindings("shares.new", "shares.copy", "shares.revoke", "shares.run_task", "shares.edit", "shares.show")
    NARROW_COLUMNS, WIDE_COLUMNS = NARROW_COLUMNS, WIDE_COLUMNS
    NOUN = "share"

    class Changed(Message):
        """A share was created, changed or revoked from this list."""

    def __init__(self, *, task: str | None = None, empty: str = "No share links.", id: str | None = None) -> None:
        super().__init__(task=task, empty=empty, id=id)  # task None: every task (the Shares view)
        self.data: SharesData | None = None

    def show(self, data: SharesData, rows: list[ShareRow] | None = None) -> None:
        """Show `rows` (the filtered shares) of `data`, or all of them."""
        self.data = data
        self.rows = data.shares if rows is None else rows
        self.now = data.now
        self._refresh_rows()

    def _table_rows(self, width: int, wide: bool) -> list[Row]:
        flex = max(width - (WIDE_FIXED if wide else NARROW_FIXED), 20)
        if wide:
            task_w, label_w = max(flex // 5, 8), max(flex // 6, 6)
            url_w = max(flex - task_w - label_w, 12)
        else:
            task_w = max(flex // 2, 8)
            label_w, url_w = max(flex - task_w, 6), 0
        return [Row(str(s.id), self._cells(s, wide, task_w, label_w, url_w), (-s.id,)) for s in self.rows]

    def _cells(self, s: ShareRow, wide: bool, task_w: int, label_w: int, url_w: int) -> tuple[Text, ...]:
        now = self.now
        state = s.state(now)
        task = Text(clip(s.task, task_w))
        label = Text(clip(s.label or "", label_w))
        expires = Text(ago(s.expires_at, now) if s.expires_at is not None else "never",
                       style="" if s.expires_at is not None else "dim")
        access = Text(ago(s.last_access, now) if s.last_access else "never", style="" if s.last_access else "dim")
        cells = [task, label, state_text(state, SHARE_STATE), mode_text(s)]
        if wide:
            cells.append(Text(format_duration(s.cache_window) if s.cache_window else "0s"))
        cells += [expires, Text(str(s.hits), justify="right"), access]
        if wide:
            assert self.data is not None
            cells = [Text(str(s.id), justify="right"), *cells,
                     Text(clip(self.data.url(s), url_w), style="dim" if state != "active" else "")]
        return tuple(cells)

    def _detail_text(self, s: ShareRow | None) -> Text | None:
        if s is None or self.data is None:
            return None
        state = s.state(self.now)
        text = Text.assemble((self.data.url(s), "bold" if state == "active" else "dim strike"))
        if state == "active":
            text.append("  c copies it", style="dim")
        else:
            text.append(f"  {state}: its URL answers 404", style="magenta")
        extra = [f"#{s.id} {s.task}", f"cache {format_duration(s.cache_window) if s.cache_window else '0s'}"]
        if s.expires_at is not None:
            extra.append(f"{'expired' if state == 'expired' else 'expires'} {full_stamp(s.expires_at, self.t4o.services.tz)}")
        if s.last_access:
            extra.append(f"last access {full_stamp(s.last_access, self.t4o.services.tz)}")
        text.append("\n" + " · ".join(extra), style="dim")
        return text

    def open_selected(self) -> None:
        self.action_show()

    # -- actions ------------------------------------------------------------------------------------
    def url(self, s: ShareRow) -> str:
        assert self.data is not None
        return self.data.url(s)

    def action_show(self) -> None:
        if s := self._need_selection():
            self.t4o.show_share_link(self.url(s), s)

    def action_copy(self) -> None:
        if s := self._need_selection():
            self.t4o.copy_link(self.url(s))

    def action_new(self) -> None:
        if self.t4o.refuse_readonly("create shares"):
            return
        self.t4o.open_share_editor(None, task=self.task_name, on_saved=self.changed)

    def action_edit(self) -> None:
        s = self._need_selection()
        if s is None or self.t4o.refuse_readonly("change shares"):
            return
        if s.revoked:
            self.notify(f"Share #{s.id} is revoked; create a new one instead.", severity="warning")
            return
        self.t4o.open_share_editor(s, task=s.task, on_saved=self.changed)

    def action_toggle_run_task(self) -> None:
        s = self._need_selection()
        if s is None or self.t4o.refuse_readonly("change shares"):
            return

        async def toggle() -> None:
            try:
                await self.t4o.services.update_share(s.id, run_task=not s.run_task)
            except (LookupError, ShareError, ReadOnlyError) as exc:
                self.notify(str(exc.args[0] if exc.args else exc), severity="warning", title="Not changed")
                return
            self.notify(f"Share #{s.id}: " + ("plain now — serves the latest file as it is." if s.run_task
                                               else "run-task now — a visit runs the task for a fresh file."))
            self.changed()

        self.t4o.run_safely(toggle(), f"Changing share #{s.id}")

    def action_revoke(self) -> None:
        s = self._need_selection()
        if s is None or self.t4o.refuse_readonly("revoke shares"):
            return
        if s.revoked:
            self.notify(f"Share #{s.id} is already revoked.", severity="warning")
            return

        async def revoke() -> None:
            try:
                await self.t4o.services.revoke_share(s.id)
            except (LookupError, ReadOnlyError) as exc:
                self.notify(str(exc.args[0] if exc.args else exc), severity="warning", title="Not revoked")
                return
            self.notify(f"Share #{s.id} of '{s.task}' revoked: its URL answers 404 from now on.")
            self.changed()

        label = f" ({s.label})" if s.label else ""
        self.t4o.confirm(f"Revoke share #{s.id}{label} of '{s.task}'? Whoever has its URL gets 404 from now on; "
                         "this cannot be undone.", yes="Revoke share", no="Keep it",
                         on_yes=lambda: self.t4o.run_safely(revoke(), f"Revoking share #{s.id}"))
