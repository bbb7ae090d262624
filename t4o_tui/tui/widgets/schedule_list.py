"""A list of schedules (the dashboard's, or one task's) read like `systemctl list-timers`:
NEXT / LEFT / LAST / PASSED, with the result of the last run; the keys act on the selected row."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message

from t4o_tui.engine.schedules import ScheduleInvalid, ScheduleRow
from t4o_tui.tui.format import (
    OCCURRENCE_STATE,
    SCHEDULE_STATE,
    STATUS_GLYPH,
    STATUS_STYLE,
    ago,
    clip,
    full_stamp,
    stamp,
    state_text,
    status_text,
)
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.services import ReadOnlyError
from t4o_tui.tui.widgets.live_table import Column, Row
from t4o_tui.tui.widgets.record_list import RecordList

# From record_list.WIDE on, the list shows every column (ids, absolute last time, result word, expiry).
NARROW_COLUMNS = [
    Column("task", "Task"), Column("description", "Schedule"), Column("next", "Next", 9), Column("left", "Left", 9),
    Column("last", "Last", 12), Column("state", "State", 10),
]
# Next and Last fit their times: 'Sat 14:02:11' (12) this week, wider only for dates further off.
WIDE_COLUMNS = [
    Column("id", "#", 5), Column("task", "Task"), Column("description", "Schedule"), Column("next", "Next"),
    Column("left", "Left", 9), Column("last", "Last"), Column("passed", "Passed", 10),
    Column("result", "Result", 12), Column("expiry", "Expiry", 10), Column("state", "State"),
]
# Fixed widths plus two cells of padding per column, and the scrollbar.
NARROW_FIXED = 9 + 9 + 12 + 10 + 2 * len(NARROW_COLUMNS) + 1
WIDE_FIXED = 5 + 12 + 9 + 12 + 10 + 12 + 10 + 2 * len(WIDE_COLUMNS) + 1
FIRED = ("fired", "dst-shifted")


def result_text(r: ScheduleRow) -> Text:
    """What the last nominal time led to: the run's status when it fired, else why it did not."""
    if r.last_state is None:
        return Text("– never", style="dim")
    if r.last_state in FIRED and r.last_run_status is not None:
        return status_text(r.last_run_status)
    return state_text(r.last_state, OCCURRENCE_STATE)


def result_glyph(r: ScheduleRow) -> Text:
    if r.last_state is None:
        return Text("–", style="dim")
    if r.last_state in FIRED and r.last_run_status is not None:
        return Text(STATUS_GLYPH.get(r.last_run_status, "?"), style=STATUS_STYLE.get(r.last_run_status, ""))
    glyph, style = OCCURRENCE_STATE.get(r.last_state, ("?", ""))
    return Text(glyph, style=style)


class ScheduleList(RecordList[ScheduleRow]):
    """Schedules with their keys. Posts `ScheduleList.Changed` after a change so the screen reloads."""

    DEFAULT_CSS = """
    ScheduleList { height: auto; }
    ScheduleList LiveTable { height: auto; scrollbar-size-vertical: 1; }
    ScheduleList .detail { height: auto; max-height: 2; padding: 0 1; color: $text-muted; }
    ScheduleList .empty { color: $text-muted; padding: 0 1; }
    """
    BINDINGS = bindings("schedules.pause", "schedules.run", "schedules.history", "schedules.new", "schedules.edit",
                        "schedules.delete")
    NARROW_COLUMNS, WIDE_COLUMNS = NARROW_COLUMNS, WIDE_COLUMNS
    NOUN = "schedule"

    class Changed(Message):
        """A schedule was added, changed, paused, resumed or deleted from this list."""

    def __init__(self, *, task: str | None = None, empty: str = "No schedules.", id: str | None = None) -> None:
        super().__init__(task=task, empty=empty, id=id)  # task None: any task (the dashboard)
        self._fixed: dict[tuple[object, ...], tuple[Text, Text, Text]] = {}

    def show(self, rows: list[ScheduleRow], now: float) -> None:
        if rows is self.rows and int(now) == int(self.now):
            return  # the same rows (the services' cache) within the same second: nothing to redo
        self.rows = rows
        self.now = now
        self._refresh_rows()

    def _table_rows(self, width: int, wide: bool) -> list[Row]:
        flex = max(width - (WIDE_FIXED if wide else NARROW_FIXED), 20)
        if wide:
            task_w, desc_w = max(flex * 3 // 10, 8), max(flex * 9 // 20, 10)
            state_w = max(flex - task_w - desc_w, 10)
        else:
            task_w = max(flex * 2 // 5, 8)
            desc_w, state_w = max(flex - task_w, 10), 0
        return [Row(str(r.id), self._cells(r, wide, task_w, desc_w, state_w), (i,)) for i, r in enumerate(self.rows)]

    def _cells(self, r: ScheduleRow, wide: bool, task_w: int, desc_w: int, state_w: int) -> tuple[Text, ...]:
        now, tz = self.now, self.t4o.services.tz
        dim = "dim" if r.state == "paused" else ""
        if r.state == "paused":
            # A paused schedule fires nothing: no countdown to a fire that will not happen.
            nxt, left = Text("–", style=dim), Text("paused", style=dim)
        else:
            nxt = Text(stamp(r.next_fire, now, tz, wide=wide))
            left = Text(ago(r.next_fire, now) if r.next_fire is not None else "–")
        # Cells that only change with the row: made once, not at every one-second tick.
        fixed_key = (r, wide, task_w, desc_w, state_w)
        fixed = self._fixed.get(fixed_key)
        if fixed is None:
            if len(self._fixed) > 4 * len(self.rows) + 100:
                self._fixed.clear()
            fixed = self._fixed[fixed_key] = (Text(clip(r.task, task_w)), Text(clip(r.description, desc_w)),
                                              self._state_cell(r, wide, state_w))
        task, desc, state = fixed
        if not wide:
            last = Text.assemble(result_glyph(r), " ", ago(r.last_nominal, now)) if r.last_nominal else Text("–", style="dim")
            return task, desc, nxt, left, last, state
        return (Text(str(r.id), justify="right"), task, desc, nxt, left, Text(stamp(r.last_nominal, now, tz, wide=True)),
                Text(ago(r.last_nominal, now)), result_text(r), Text(ago(r.expiry, now)), state)

    @staticmethod
    def _state_cell(r: ScheduleRow, wide: bool, state_w: int) -> Text:
        state = state_text(r.state, SCHEDULE_STATE)
        if wide and r.state == "paused" and r.pause_note:
            state.append(clip(f": {r.pause_note}", max(state_w - len(state.plain), 0)), style="yellow")
        return state

    def _detail_text(self, r: ScheduleRow | None) -> Text | None:
        if r is None:
            return None
        now, tz = self.now, self.t4o.services.tz
        # The table shows next and last; this line adds what it cuts or leaves out. Wide
        # terminals get full dates, narrow ones compact times so that it stays within two lines.
        when = (lambda ts: full_stamp(ts, tz)) if self._wide else (lambda ts: stamp(ts, now, tz, wide=True))
        text = Text.assemble((f"#{r.id} ", "bold"), (r.task, "bold"), f" · {r.description}")
        if r.next_fire is not None and self._wide and r.state != "paused":
            text.append(f" · next {when(r.next_fire)} ({ago(r.next_fire, now)})")
        if r.last_nominal is not None:
            text.append(" · last ")
            text.append_text(result_text(r))
            text.append(f" {ago(r.last_nominal, now)}")
        text.append(f" · {'expired' if r.expiry < now else 'expires'} {when(r.expiry)}")
        if r.max_runs is not None:
            text.append(f" · {r.fired_count}/{r.max_runs} runs")
        if r.state == "paused":
            text.append(" · ")
            text.append("⊖ paused", style="yellow bold")
            if r.pause_note:
                text.append(f": “{r.pause_note}”", style="yellow")
            if r.paused_until is not None:
                text.append(f" until {when(r.paused_until)}", style="yellow")
        return text

    def open_selected(self) -> None:
        self.action_history()

    # -- actions ------------------------------------------------------------------------------------
    def action_history(self) -> None:
        if r := self._need_selection():
            self.t4o.open_occurrences(r.id)

    def action_run_now(self) -> None:
        if r := self._need_selection():
            self.t4o.run_task_now(r.task, on_done=self.changed)

    def action_new(self) -> None:
        if self.t4o.refuse_readonly("add schedules"):
            return
        self.t4o.open_schedule_editor(None, task=self.task_name, on_saved=self._saved)

    def action_edit(self) -> None:
        if r := self._need_selection():
            self.t4o.open_schedule_editor(r.id, task=r.task, on_saved=self._saved)

    def action_pause(self) -> None:
        r = self._need_selection()
        if r is None or self.t4o.refuse_readonly("pause or resume schedules"):
            return
        if r.state == "ended":
            self.notify(f"Schedule #{r.id} has ended: nothing to pause.", severity="warning")
        elif r.paused:
            self.t4o.run_safely(self._resume(r), f"Resuming schedule #{r.id}")
        else:
            self.t4o.open_pause_dialog(r, on_done=self.changed)

    async def _resume(self, r: ScheduleRow) -> None:
        try:
            await self.t4o.services.resume_schedule(r.id)
        except (LookupError, ReadOnlyError) as exc:
            self.notify(str(exc.args[0] if exc.args else exc), severity="warning", title="Not resumed")
            return
        self.notify(f"Schedule #{r.id} of '{r.task}' resumed.")
        self.changed()

    def action_delete(self) -> None:
        r = self._need_selection()
        if r is None or self.t4o.refuse_readonly("delete schedules"):
            return

        async def delete() -> None:
            try:
                await self.t4o.services.delete_schedule(r.id)
            except (LookupError, ReadOnlyError, ScheduleInvalid) as exc:
                self.notify(str(exc.args[0] if exc.args else exc), severity="warning", title="Not deleted")
                return
            self.notify(f"Deleted schedule #{r.id} of '{r.task}'.")
            self.changed()

        self.t4o.confirm(f"Delete schedule #{r.id} of '{r.task}' ({r.description}) with its occurrences? "
                         "This cannot be undone.", yes="Delete schedule", no="Keep it",
                         on_yes=lambda: self.t4o.run_safely(delete(), f"Deleting schedule #{r.id}"))
