"""Pause a schedule: an optional note (why, shown on the dashboard) and an optional end."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from t4o_tui.engine.schedules import ScheduleInvalid, ScheduleRow, parse_pause_until, pause_note
from t4o_tui.timefmt import WHEN_HINT
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.dialog import close_asking, form_texts, texts_changed
from t4o_tui.tui.services import ReadOnlyError
from t4o_tui.tui.widgets.fields import Field, input_field
from t4o_tui.tui.widgets.footer import Footer

if TYPE_CHECKING:
    from t4o_tui.tui.host import T4oHost


class PauseScreen(ModalScreen[bool]):
    """Dismissed with True once the schedule is paused."""

    CSS_PATH = "pause.tcss"
    BINDINGS: ClassVar = bindings("dialog.save", "dialog.cancel", "form.next", "form.previous")
    # Nothing focused on open: the key that opened the dialog, or a stray one, types nothing.
    AUTO_FOCUS = ""

    def __init__(self, schedule: ScheduleRow) -> None:
        super().__init__()
        self.schedule = schedule
        self.saving = False

    @property
    def t4o(self) -> T4oHost:
        return cast("T4oHost", self.app)

    def compose(self) -> ComposeResult:
        s = self.schedule
        with Vertical(id="dialog"):
            yield Static(Text.assemble("Pause schedule ", (f"#{s.id}", "bold"), " of ", (s.task, "bold"),
                                       f" ({s.description})"), id="question")
            yield Static("Times that pass while it is paused are recorded as 'paused', not run.", classes="hint")
            yield input_field("note", "Note", "", self._parse_note, placeholder="why (shown on the dashboard)")
            yield input_field("until", "Until", "", self._parse_until,
                              placeholder="empty: until resumed (p)", help=f"When to resume by itself: {WHEN_HINT}.")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="no", compact=True)
                yield Button("Pause", id="yes", variant="warning", compact=True)
        yield Footer()  # the keys: ctrl+r pauses, Esc closes

    def on_mount(self) -> None:
        self.initial = form_texts(self)

    _parse_note = staticmethod(pause_note)  # the engine's rule, as for `schedule pause --note`

    def _parse_until(self, text: str) -> float | None:
        return parse_pause_until(text, self.t4o.services.now(), self.t4o.services.tz)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        field = next((a for a in event.input.ancestors if isinstance(a, Field)), None)
        if field is not None:
            field.check()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        field = next((a for a in event.input.ancestors if isinstance(a, Field)), None)
        if field is not None and field.key == "note":
            self.query_one("#field-until Input", Input).focus()
        else:
            self.action_pause()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "yes":
            self.action_pause()
        else:
            self.dismiss(False)

    def has_unsaved_changes(self) -> bool:
        """What typed would be lost: the app's quit (Ctrl+C, q) asks first, as Esc does."""
        return texts_changed(self, self.initial)

    def action_dismiss_safe(self) -> None:
        close_asking(self, self.initial, "the pause", False)

    def action_save(self) -> None:
        self.action_pause()

    def action_pause(self) -> None:
        if self.saving or self.t4o.refuse_readonly("pause schedules"):
            return
        values: dict[str, Any] = {}
        for f in self.query(Field):
            ok, value = f.check()
            if not ok:
                f.control.focus()
                return
            values[f.key] = value
        self.saving = True
        self.t4o.run_safely(self._pause(values["note"], values["until"]), "Pausing the schedule")

    async def _pause(self, note: str | None, until: float | None) -> None:
        try:
            await self.t4o.services.pause_schedule(self.schedule.id, note=note, until=until)
        except ScheduleInvalid as exc:
            for e in exc.errors:
                fields = self.query(f"#field-{e.field}")
                if fields:
                    cast(Field, fields.first()).set_error(e.message)
                else:
                    self.notify(e.message, severity="error", title="Not paused")
            return
        except (LookupError, ReadOnlyError) as exc:
            self.notify(str(exc.args[0] if exc.args else exc), severity="warning", title="Not paused")
            self.dismiss(False)
            return
        finally:
            self.saving = False
        self.notify(f"Schedule #{self.schedule.id} of '{self.schedule.task}' paused" + (f": {note}" if note else "."))
        self.dismiss(True)
