"""Correct a runner's result by keyboard (from Results and Event, key c): set a status with a note,
add or remove a punch, change the start or finish time; `u` undoes the selected correction. Each
correction is an override with who, when and why (engine.corrections); the result changes when
Process Station Data has run, which the dialog starts."""

from __future__ import annotations

import getpass
import os
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Select, Static

from t4o_tui.engine import corrections
from t4o_tui.engine.corrections import (
    STATUS_CHOICES,
    STATUS_NAMES,
    CorrectionError,
    RunnerCorrections,
    short_status,
)
from t4o_tui.jobs.result_list import clock
from t4o_tui.tui.format import clip, stamp
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.base import PollingScreen
from t4o_tui.tui.screens.dialog import CheckError, FormDialog
from t4o_tui.tui.widgets.fields import Field
from t4o_tui.tui.widgets.live_table import Column, LiveTable, Row

KIND_OPTIONS = [("Status (with a note)", "status"), ("Add a punch", "add_punch"), ("Remove a punch", "remove_punch"),
                ("Start time", "start_time"), ("Finish time", "finish_time")]
# The fields each kind of correction uses (the note always).
FIELDS_OF = {"status": ("status",), "add_punch": ("control", "time"), "remove_punch": ("control", "time"),
             "start_time": ("time",), "finish_time": ("time",)}
COLUMNS = [Column("when", "When"), Column("who", "Who"), Column("what", "Correction"), Column("why", "Why"),
           Column("state", "State")]


def who_am_i() -> str:
    """The admin's name on this machine: written with each correction."""
    try:
        return os.environ.get("T4O_USER") or getpass.getuser()
    except (KeyError, OSError):
        return "admin"


class CorrectionScreen(FormDialog[bool]):
    """Dismissed with True once a correction was saved or undone (the caller refreshes)."""

    HELP_TITLE = "Correct result"
    WHAT = "this correction"
    BINDINGS: ClassVar = bindings("correction.undo")
    DEFAULT_CSS = """
    CorrectionScreen > #dialog { width: 100; }
    CorrectionScreen #now, CorrectionScreen #card { height: auto; }
    CorrectionScreen #corrections { height: auto; max-height: 6; margin-top: 1; }
    CorrectionScreen Field .field-label { width: 9; }
    CorrectionScreen Field .field-message { padding-left: 10; }
    """

    def __init__(self, data: RunnerCorrections) -> None:
        super().__init__()
        self.data = data
        self.changed_any = False  # something was saved or undone: the caller refreshes

    def dialog_title(self) -> str:
        d = self.data
        return clip(f"Correct result: {d.name or '?'} · {d.class_name or 'no class'}"
                    + (f" · bib {d.bib}" if d.bib else ""), 96)

    def compose_form(self) -> ComposeResult:
        yield Static(self._now(), id="now")
        yield Static(self._card(), id="card", classes="hint")
        kind: Select[str] = Select(KIND_OPTIONS, value="status", allow_blank=False, compact=True)
        yield Field("kind", "What", kind, parse=lambda v: v)
        status: Select[str] = Select([(f"{code} · {STATUS_NAMES[s]}", code) for code, s in STATUS_CHOICES],
                                     allow_blank=True, prompt="choose a status", compact=True)
        yield Field("status", "Status", status, parse=self._parse_status)
        yield Field("control", "Control", Input(placeholder="code, e.g. 45", compact=True), parse=self._parse_control)
        yield Field("time", "Time", Input(placeholder="HH:MM:SS (time of day)", compact=True), parse=self._parse_time)
        yield Field("note", "Note", Input(placeholder="why (required), e.g. confirmed by the marshal", compact=True),
                    parse=self._parse_note)
        yield LiveTable(COLUMNS, id="corrections")

    def on_mount(self) -> None:
        super().on_mount()
        self.form_changed()
        self._show_corrections()

    # -- the runner now -----------------------------------------------------------------------------
    def _now(self) -> Text:
        d, tz = self.data, self.data.tz
        now = self.t4o.services.now()
        text = Text("Now: ")
        text.append(short_status(d.status) if d.status else "no result", style="bold")
        if d.start_time is not None:
            text.append(f" · start {stamp(d.start_time, now, tz)}")
        if d.finish_time is not None:
            text.append(f" · finish {stamp(d.finish_time, now, tz)}")
        if d.time is not None:
            text.append(f" · {clock(d.time)}")
        if d.missing:
            text.append(f" · missing {', '.join(d.missing.split())}", style="red")
        if d.corrected:
            text.append(" · corrected", style="yellow")
        return text

    def _card(self) -> str:
        d = self.data
        if not d.punches:
            return "Card: no punches read" + (f" · course {' '.join(d.controls)}" if d.controls else "")
        punches = " ".join(f"{c} {datetime.fromtimestamp(t, d.tz):%H:%M:%S}" if t is not None else c
                           for c, t in d.punches)
        return clip(f"Card: {punches}", 190)

    def _show_corrections(self) -> None:
        table = self.query_one("#corrections", LiveTable)
        now, tz = self.t4o.services.now(), self.data.tz
        rows = []
        for i, c in enumerate(self.data.corrections):
            state = "active" if c.active else f"undone by {c.undone_by}"
            rows.append(Row(str(c.id), (Text(stamp(c.created_at, now, tz)), Text(c.who), Text(c.what(tz)),
                                        Text(clip(c.note, 30)),
                                        Text(state, style="yellow" if c.active else "dim")), (i,)))
        table.sync(rows)
        table.display = bool(rows)

    # -- fields -------------------------------------------------------------------------------------
    def kind(self) -> str:
        value = self.query_one("#field-kind", Field).raw
        return str(value) if isinstance(value, str) else "status"

    def relevant(self, field: Field) -> bool:
        return field.key in ("kind", "note") or field.key in FIELDS_OF[self.kind()]

    def form_changed(self) -> None:
        for f in self.fields():
            f.display = self.relevant(f)
        time_input = self.query_one("#field-time", Field).control
        if isinstance(time_input, Input):
            time_input.placeholder = ("HH:MM:SS (only when the code is on the card twice)"
                                      if self.kind() == "remove_punch" else "HH:MM:SS (time of day)")

    def changed(self) -> bool:
        # Choosing what to correct is no change; typing a value or a note is.
        return any(t.strip() for k, t in self.texts().items() if k != "kind" and self.relevant_key(k))

    def relevant_key(self, key: str) -> bool:
        return key == "note" or key in FIELDS_OF[self.kind()]

    @staticmethod
    def _parse_status(value: Any) -> str:
        if value is Select.NULL or value is None:
            raise ValueError("choose a status")
        return str(value)

    def _parse_control(self, value: Any) -> str:
        try:
            return corrections.check_control(str(value), self.data.controls if self.kind() == "add_punch" else ())
        except CorrectionError as exc:
            raise ValueError(exc.message) from None

    def _parse_time(self, value: Any) -> float | None:
        try:
            return corrections.check_time(str(value), "time", self.data, required=self.kind() != "remove_punch")
        except CorrectionError as exc:
            raise ValueError(exc.message) from None

    @staticmethod
    def _parse_note(value: Any) -> str:
        try:
            return corrections.check_note(str(value))
        except CorrectionError as exc:
            raise ValueError(exc.message) from None

    # -- saving and undo ----------------------------------------------------------------------------
    async def save(self, values: dict[str, Any]) -> bool:
        texts = self.texts()
        kind, eid, who, now = self.kind(), self.data.entry_id, who_am_i(), self.t4o.services.now()
        change = self.t4o.services.change
        try:
            if kind == "status":
                await change(corrections.set_status, eid, texts["status"], texts["note"], who=who, now=now)
            elif kind == "add_punch":
                await change(corrections.add_punch, eid, texts["control"], texts["time"], texts["note"], who=who, now=now)
            elif kind == "remove_punch":
                await change(corrections.remove_punch, eid, texts["control"], texts["time"], texts["note"], who=who,
                             now=now)
            else:
                await change(corrections.set_time, eid, kind.removesuffix("_time"), texts["time"], texts["note"],
                             who=who, now=now)
        except CorrectionError as exc:
            raise CheckError(exc.field, exc.message) from None
        label = dict((v, k) for k, v in KIND_OPTIONS)[kind].split(" (")[0].lower()
        self.notify(f"{self.data.name}: {label} saved as a correction by {who}. {await self._process()}")
        return True

    async def _process(self) -> str:
        """Start processing, so the result shows the correction."""
        names = await self.t4o.services.query(corrections.processing_tasks, self.data.race_id)
        if not names:
            return "No Process Station Data task: the result changes when station data is processed."
        for name in names:
            await self.t4o.services.enqueue(name)
        return f"Processing queued ({', '.join(names)})."

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # u shows in the footer only while there is something to undo.
        return action != "undo" or any(c.undoable for c in self.data.corrections)

    def action_undo(self) -> None:
        key = self.query_one("#corrections", LiveTable).selected_key
        c = next((c for c in self.data.corrections if str(c.id) == key), None)
        if c is None:
            c = next((c for c in self.data.corrections if c.undoable), None)
        if c is None or not c.active:
            self.notify("That correction is already undone.", severity="warning")
            return
        if self.t4o.refuse_readonly("undo corrections"):
            return
        what = c.what(self.data.tz)
        self.t4o.confirm(f"Undo '{what}' by {c.who} ({clip(c.note, 40)})? The result goes back to what the "
                         "station data says.", yes="Undo", no="Keep",
                         on_yes=lambda: self.t4o.run_safely(self._undo(c.id, what), "Undoing the correction"))

    async def _undo(self, correction_id: int, what: str) -> None:
        who = who_am_i()
        await self.t4o.services.change(corrections.undo, correction_id, "", who=who, now=self.t4o.services.now())
        self.changed_any = True
        self.notify(f"{self.data.name}: '{what}' undone by {who}. {await self._process()}")
        self.data = await self.t4o.services.query(corrections.runner, self.data.entry_id)
        if self.is_attached:
            self.query_one("#now", Static).update(self._now())
            self.query_one("#card", Static).update(self._card())
            self._show_corrections()
            self.refresh_bindings()

    @property
    def cancelled(self) -> bool:
        return self.changed_any


async def open_correction(app: Any, entry_id: int) -> bool:
    """Load the runner and open the dialog (in a worker: push_screen_wait); True once something
    was saved or undone."""
    try:
        data = await app.services.query(corrections.runner, entry_id)
    except CorrectionError as exc:  # the entry was deleted meanwhile
        app.notify(exc.message, severity="warning")
        return False
    return bool(await app.push_screen_wait(CorrectionScreen(data)))


def correct_entry(screen: PollingScreen, entry_id: int) -> None:
    """The correction dialog for a runner picked in a list screen (Event, Results, In forest);
    the list refreshes once something was saved or undone."""
    if screen.t4o.refuse_readonly("correct results"):
        return

    async def correct() -> None:
        if await open_correction(screen.t4o, entry_id):
            screen.poll_now()

    screen.t4o.run_safely(correct(), "Correcting the result")
