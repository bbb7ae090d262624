"""A class's timing in one race (first start, interval, bibs, vacancies, max time, draw, start box),
by keyboard, checked as typed: each field's error shows beside it, from the same checks as
`t4o-tui class set` (engine.event_setup), and nothing is written before ctrl+r."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, cast
from zoneinfo import ZoneInfo

import peewee
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Select, Static

from t4o_tui.engine import event_setup
from t4o_tui.engine.event_setup import (
    CLASS_FIELDS,
    DRAW_METHODS,
    START_TYPES,
    ClassInfo,
    RaceInfo,
    SetupError,
    check_class_field,
    set_class,
)
from t4o_tui.timefmt import format_duration_text
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.dialog import FormScreen
from t4o_tui.tui.screens.race_view import race_label
from t4o_tui.tui.services import ReadOnlyError
from t4o_tui.tui.widgets.fields import Field
from t4o_tui.tui.widgets.footer import Footer
from t4o_tui.tui.widgets.header import AppHeader

if TYPE_CHECKING:
    from t4o_tui.tui.host import T4oHost

CHECK_DELAY = 0.12  # seconds of quiet typing before the form is checked (one check per burst of keys)
# Fields chosen from a list rather than typed; the blank choice clears the field.
CHOICES: dict[str, tuple[str, ...]] = {"draw_method": DRAW_METHODS, "start_type": START_TYPES}
BLANK_PROMPT = {"draw_method": "the draw task decides", "course": "no course"}
PLACEHOLDERS = {"first_start": "e.g. 10:30 or +30m", "start_interval": "e.g. 2m", "max_time": "e.g. 2h30m",
                "bib_start": "e.g. 101", "vacancy_every": "e.g. 10", "draw_order": "e.g. 1", "start_box": "e.g. S1"}


@dataclass(frozen=True)
class ClassTimingData:
    """What the editor opens with: the race, the class as stored, the race's courses."""

    race: RaceInfo
    info: ClassInfo
    courses: list[str]


@dataclass(frozen=True)
class ClassCheck:
    errors: dict[str, str]  # by field
    preview: ClassInfo | None  # the class as saving the changes would make it; None: they do not hold


def check_fields(db: peewee.Database, race_id: int, class_name: str, texts: dict[str, str],
                 changes: dict[str, str]) -> ClassCheck:
    """Each field's error for its text (event_setup.check_class_field), and the class as the
    changes would make it, in a worker thread."""
    errors: dict[str, str] = {}
    for field, text in texts.items():
        error = check_class_field(db, race_id, class_name, field, text)
        if error is not None:
            errors[field] = error
    preview: ClassInfo | None = None
    if not errors:
        try:
            # event_setup has no public preview: set_class's own checks, without the write.
            preview = event_setup._apply(db, race_id, class_name, changes)[0]
        except SetupError as exc:
            errors[exc.field] = exc.message
    return ClassCheck(errors, preview)


def start_window(c: ClassInfo) -> Text:
    """'Starts 11:00:00 – 11:40:00 · 21 starts every 2 min · bibs 201–221' for the class as shown."""
    lo_hi = dataclasses.replace(c, bib_start=c.bib_start or 1).bib_range
    slots = lo_hi[1] - lo_hi[0] + 1 if lo_hi else 1
    zone = ZoneInfo(c.timezone)
    text = Text()
    if c.start_type != "interval":
        text.append(f"{c.start_type.capitalize()} start")
        if c.first_start is not None:
            text.append(f" at {datetime.fromtimestamp(c.first_start, zone):%H:%M:%S}")
    elif c.first_start is None:
        text.append("First start not set: the start box's or the race's", style="yellow")
    elif not c.start_interval:
        text.append(f"Starts from {datetime.fromtimestamp(c.first_start, zone):%H:%M:%S}; no interval",
                    style="yellow")
    else:
        last = c.first_start + (slots - 1) * c.start_interval
        text.append(f"Starts {datetime.fromtimestamp(c.first_start, zone):%H:%M:%S}")
        if slots > 1:
            text.append(f" – {datetime.fromtimestamp(last, zone):%H:%M:%S}")
        text.append(f" · {slots} start{'s' if slots != 1 else ''} every {format_duration_text(c.start_interval)}")
    bibs = c.bib_range
    if bibs is not None:
        text.append(f" · bibs {bibs[0]}–{bibs[1]}" if bibs[1] > bibs[0] else f" · bib {bibs[0]}")
    return text


class ClassTimingScreen(FormScreen[bool]):
    """Dismissed with True once saved; its fields read as FormScreen reads them."""

    CSS_PATH = "class_timing.tcss"
    HELP_TITLE = "Class timing"
    # No field has the focus on open: the key that opened the editor, or the next one, changes
    # nothing; Tab goes to the first field.
    AUTO_FOCUS = ""
    BINDINGS: ClassVar = bindings("editor.save", "editor.back", "form.next", "form.previous")

    def __init__(self, data: ClassTimingData, *, readonly: bool = False) -> None:
        super().__init__()
        self.data = data
        self.readonly = readonly
        # The fields as stored, as the admin would type them: what "changed" compares to.
        self.initial = {key: data.info.text(key) for key in CLASS_FIELDS}
        self.errors: dict[str, str] = {}
        self.preview: ClassInfo | None = data.info  # the class as the form would make it
        self.checks = 0  # checks applied so far
        self._applied = 0  # the generation of the last check applied
        self.saving = False
        self._generation = 0
        self._check_timer: Timer | None = None

    @property
    def t4o(self) -> T4oHost:
        return cast("T4oHost", self.app)

    # -- layout -------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        info, race = self.data.info, self.data.race
        title = f"Class timing · {info.name} · {race_label(race)}" + (" (read-only)" if self.readonly else "")
        yield AppHeader(None, title)
        with Vertical(id="main"):
            yield Static(self._summary(), id="summary")
            yield Static(id="changes")
            with VerticalScroll(id="form") as form:
                form.can_focus = False  # Tab goes from field to field
                for key, (label, help_text) in CLASS_FIELDS.items():
                    if key == "course" and not self.data.courses:
                        help_text = "no courses in this race yet: import courses first"
                    yield Field(key, label, self._control(key), parse=lambda v: v, help=help_text)
                yield Static(id="form-error")
        yield Footer()

    def _control(self, key: str) -> Widget:
        value = self.initial[key]
        choices = list(CHOICES.get(key, ()))
        if key == "course":
            choices = list(self.data.courses) + ([value] if value and value not in self.data.courses else [])
        if choices or key == "course":
            blank = key in BLANK_PROMPT
            select: Select[str] = Select([(c, c) for c in choices], value=value or (Select.NULL if blank else choices[0]),
                                         allow_blank=blank, prompt=BLANK_PROMPT.get(key, "choose"), compact=True,
                                         disabled=self.readonly or (key == "course" and not choices))
            return select
        return Input(value, placeholder=PLACEHOLDERS.get(key, ""), compact=True, disabled=self.readonly)

    def _summary(self) -> Text:
        info = self.data.info
        text = Text()
        text.append(info.name, style="bold")
        text.append(f" · {info.entries} entries · {info.starts} starts · course {info.course or '–'}")
        when = info.race_date or "no date: times need a full date"
        text.append(f"\nTimes of day are on the race's date ({when}) in {info.timezone}.", style="dim")
        text.append("\n")
        text.append_text(start_window(self.preview) if self.preview is not None
                         else Text("Start times show once the fields are right.", style="dim"))
        return text

    def on_mount(self) -> None:
        self.query_one("#form-error").display = False
        self._show_changes()
        self._schedule_check()

    # -- values -------------------------------------------------------------------------------------
    def changes(self) -> dict[str, str]:
        """The fields the admin changed, with their new text."""
        return {k: t for k, t in self.texts().items() if t.strip() != self.initial.get(k, "").strip()}

    def has_unsaved_changes(self) -> bool:
        return not self.readonly and not self.saving and bool(self.changes())

    # -- checking as the admin types ----------------------------------------------------------------
    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        if self.is_mounted:
            self._show_changes()
            self._schedule_check()

    def _schedule_check(self) -> None:
        """Check once typing pauses: one check per burst of keys, the last one always."""
        if self._check_timer is not None:
            self._check_timer.stop()
        self._check_timer = self.set_timer(CHECK_DELAY, self._run_check)

    def _run_check(self) -> None:
        self._check_timer = None
        self._generation += 1
        # The changed fields only: the stored values stand (and each check reads the race's classes).
        changes = self.changes()
        self.run_worker(self._check(self._generation, changes, changes), group="check")

    async def _check(self, generation: int, texts: dict[str, str], changes: dict[str, str]) -> None:
        race_id, name = self.data.race.id, self.data.info.name
        try:
            check = await self.t4o.services.query(check_fields, race_id, name, texts, changes)
        except Exception as exc:  # a locked database: say so, keep the form as it is
            check = ClassCheck({"form": f"cannot check now: {type(exc).__name__}: {exc}"}, None)
        if generation != self._generation or not self.is_attached:
            return  # the admin typed on meanwhile: a newer check is coming
        self.preview = check.preview
        self.show_errors(check.errors)
        self.checks += 1
        self._applied = generation

    def show_errors(self, errors: dict[str, str]) -> None:
        """Each error beside its field; an error of no field goes above the footer."""
        self.errors = dict(errors)
        keys = set()
        for f in self.fields():
            keys.add(f.key)
            message = errors.get(f.key)
            if message != f.error:
                f.set_error(message)
        elsewhere = [f"{k}: {m}" if k != "form" else m for k, m in errors.items() if k not in keys]
        box = self.query_one("#form-error", Static)
        box.update(Text("\n".join(f"✗ {m}" for m in elsewhere), style="red"))
        box.display = bool(elsewhere)
        self._show_changes()

    def _show_changes(self) -> None:
        changed = self.changes()
        labels = [CLASS_FIELDS[k][0] for k in changed if k in CLASS_FIELDS]
        problems = [CLASS_FIELDS[k][0] for k in self.errors if k in CLASS_FIELDS]
        line = Text()
        if problems:
            line.append(f"✗ {len(problems)} to fix: {', '.join(problems)}", style="red")
        if labels:
            line.append(("   " if problems else "") + f"✎ changed: {', '.join(labels)}", style="yellow")
        elif not problems:
            line.append("No changes yet. Tab goes from field to field.", style="dim")
        self.query_one("#changes", Static).update(line)
        self.query_one("#summary", Static).update(self._summary())

    # -- saving -------------------------------------------------------------------------------------
    def action_save(self) -> None:
        if self.t4o.refuse_readonly("change class timing") or self.saving:
            return
        changes = self.changes()
        if not changes:
            self.notify("Nothing to save: no field changed.", severity="warning")
            return
        self.saving = True
        self.t4o.run_safely(self._save(changes), "Saving the class timing")

    async def _save(self, changes: dict[str, str]) -> None:
        race_id, name = self.data.race.id, self.data.info.name
        try:
            await self.t4o.services.change(set_class, race_id, name, changes)
        except SetupError as exc:
            self.saving = False
            self.show_errors({**self.errors, exc.field: exc.message})
            label = CLASS_FIELDS.get(exc.field, (exc.field, ""))[0]
            self.notify(f"Not saved: {label}: {exc.message}", severity="error", title="Not saved")
            self._focus_field(exc.field)
            return
        except ReadOnlyError as exc:
            self.saving = False
            self.notify(str(exc), severity="error", title="Not saved")
            return
        except BaseException:
            self.saving = False
            raise
        labels = ", ".join(CLASS_FIELDS[k][0] for k in changes if k in CLASS_FIELDS)
        self.notify(f"{name} ({self.data.race.name}): saved {labels}.")
        if self.is_current:
            self.dismiss(True)

    def _focus_field(self, key: str) -> None:
        for f in self.fields():
            if f.key == key:
                f.control.focus()
                return

    def action_back(self) -> None:
        if self.has_unsaved_changes():
            self.t4o.confirm(f"Discard the changes to {self.data.info.name}'s timing?", yes="Discard changes",
                             no="Keep editing", on_yes=lambda: self.dismiss(False))
        else:
            self.dismiss(False)

    async def wait_checked(self) -> None:
        """For tests: until the check of what is typed now has been applied."""
        while self._check_timer is not None or self._applied != self._generation or self.checks == 0:
            await asyncio.sleep(0.02)

    def field_error(self, key: str) -> str | None:
        """For tests: the error shown beside a field."""
        return next((f.error for f in self.fields() if f.key == key), None)
