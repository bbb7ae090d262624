"""Add or change a schedule: every kind's fields, validated as typed, with the plain-language
description and the next fire times (daylight-saving ones marked) updating beside the form."""

from __future__ import annotations

import asyncio
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Input, Select, Static, Switch

from t4o_tui.engine.date_sources import SOURCES, DateRow
from t4o_tui.engine.schedule_math import Fire, ScheduleError, format_duration
from t4o_tui.engine.schedules import ScheduleInput, ScheduleInvalid, parse_pause_until, pause_note
from t4o_tui.engine.tasks import TaskError
from t4o_tui.timefmt import WHEN_HINT, parse_when
from t4o_tui.tui.format import DST_WORDS, ago
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.parsing import (
    format_instant,
    format_offset,
    parse_duration_field,
    parse_max_runs,
    parse_offset,
    zone,
)
from t4o_tui.tui.services import ReadOnlyError, ScheduleCheck, ScheduleDetails, Services
from t4o_tui.tui.widgets.fields import Field, input_field, select_field, switch_field
from t4o_tui.tui.widgets.footer import Footer
from t4o_tui.tui.widgets.header import AppHeader

if TYPE_CHECKING:
    from t4o_tui.tui.host import T4oHost

KINDS = [("every … (interval)", "interval"), ("cron expression", "cron"), ("once, at a time", "once"),
         ("window around a record's date", "window"), ("once per row of a table", "per_row")]
REPEATS = [("every … (interval)", "every"), ("cron expression", "cron")]
CATCH_UPS = [("latest: the newest missed time", "latest"), ("skip: record them missed", "skip"),
             ("all: each missed time (≤ 100)", "all")]
OVERLAPS = [("buffer one behind the running", "buffer_one"), ("skip while one is queued/running", "skip"),
            ("allow: run alongside", "allow")]
CHECK_DELAY = 0.12  # seconds of quiet typing before the form is checked (one check per burst of keys)
# Which fields each kind uses. The others are hidden, never cleared: switching kinds loses nothing.
KIND_FIELDS = {
    "interval": {"every", "start", "expiry"},
    "cron": {"cron", "start", "expiry"},
    "once": {"at", "start", "expiry"},
    "window": {"repeat", "source", "source_key", "start_offset", "expiry_offset"},
    "per_row": {"source", "row_offset", "start", "expiry"},
}
ALWAYS = {"task", "kind", "tz", "max_runs", "catch_up", "overlap", "paused"}
# The fields the description is made of.
RULE_FIELDS = {"kind", "every", "cron", "at", "tz", "repeat", "source", "source_key", "start_offset", "expiry_offset",
               "row_offset"}


class ScheduleEditorScreen(Screen[int | None]):
    """Dismissed with the saved schedule's id, or None."""

    CSS_PATH = "schedule_editor.tcss"
    HELP_TITLE = "Schedule editor"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS: ClassVar = bindings("editor.save", "editor.back")

    def __init__(self, details: ScheduleDetails | None, *, task: str | None, tasks: list[str],
                 readonly: bool = False) -> None:
        super().__init__()
        self.details = details
        self.readonly = readonly
        self.fixed_task = details.task if details else task
        self.tasks = tasks
        # The form as it stood once filled (set by the first check, when the Select events of
        # filling it have settled): what "unsaved changes" and "changed by the admin" compare to.
        self.initial: dict[str, Any] = {}
        self.saving = False
        self.check: ScheduleCheck | None = None  # the last check's answer (tests read it)
        self.checks = 0  # answers applied so far
        self._generation = 0
        self._check_timer: Timer | None = None
        self._rows: dict[str, list[DateRow]] = {}
        # After a save attempt every empty required field says so; before, only those the admin
        # changed: a fresh form shows hints, not errors.
        self.save_tried = False

    @property
    def t4o(self) -> T4oHost:
        return cast("T4oHost", self.app)

    @property
    def services(self) -> Services:
        return self.t4o.services

    # -- layout -------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        d = self.details
        data = d.data if d else None
        if d is None:
            title = "New schedule" + (f" · {self.fixed_task}" if self.fixed_task else "")
        else:
            title = f"{'Schedule' if self.readonly else 'Edit schedule'} #{d.id} · {d.task}" + \
                (" (read-only)" if self.readonly else "")
        yield AppHeader(None, title)
        ro = self.readonly
        tz_name = data.tz if data else self.services.tz_name
        tz = self._zone_or_local(tz_name)
        with Vertical(id="main"):
            with Vertical(id="preview"):
                yield Static(id="description")
                yield Static(id="fires")
            with VerticalScroll(id="form") as form:
                form.can_focus = False  # Tab goes from field to field
                names = self.tasks if self.fixed_task is None else [self.fixed_task]
                # No task chosen for the admin: a schedule on the wrong task runs the wrong thing.
                task_select: Select[str] = Select([(n, n) for n in names], value=self.fixed_task or Select.NULL,
                                                  prompt="choose a task" if names else "no tasks: create one (3, n)",
                                                  compact=True, disabled=ro or self.fixed_task is not None)
                yield Field("task", "Task", task_select, parse=self._parse_task)
                yield select_field("kind", "Kind", KINDS, data.kind if data else "interval", disabled=ro)
                yield select_field("repeat", "Repeats by", REPEATS,
                                   "cron" if data and data.kind == "window" and data.cron else "every", disabled=ro)
                yield input_field("every", "Every", format_duration(data.every) if data and data.every else "",
                                  lambda t: parse_duration_field(t, "every"), placeholder="e.g. 30s, 5m, 1h30m",
                                  disabled=ro)
                yield input_field("cron", "Cron", (data.cron or "") if data else "", self._parse_cron,
                                  placeholder="e.g. */5 * * * *", disabled=ro,
                                  help="minute hour day month weekday; 6 fields: seconds first")
                yield input_field("at", "At", format_instant(data.at, tz) if data and data.at else "",
                                  self._parse_when, placeholder=WHEN_HINT, disabled=ro)
                sources = self._source_options(data.kind if data else "window")
                chosen = data.source if data and data.source in [v for _, v in sources] else sources[0][1]
                yield select_field("source", "Date source", sources, chosen, disabled=ro)
                key_select: Select[str] = Select([], prompt="choose a record", compact=True, disabled=ro)
                yield Field("source_key", "Record", key_select, parse=self._parse_key)
                yield input_field("start_offset", "From", format_offset(data.start_offset) if data else "-1h",
                                  parse_offset, placeholder="offset from its date, e.g. -1h", disabled=ro)
                yield input_field("expiry_offset", "To", format_offset(data.expiry_offset) if data else "+5h",
                                  parse_offset, placeholder="offset from its date, e.g. +5h", disabled=ro)
                yield input_field("row_offset", "Offset", format_offset(data.row_offset) if data else "0",
                                  parse_offset, placeholder="after each row's date, e.g. +90m", disabled=ro)
                yield input_field("start", "Start", format_instant(data.start, tz) if data and data.start else "now",
                                  self._parse_when, placeholder=WHEN_HINT, disabled=ro)
                yield input_field("expiry", "Expiry",
                                  format_instant(data.expiry, tz) if data and data.expiry else "+1d",
                                  self._parse_when, placeholder=WHEN_HINT, disabled=ro)
                yield input_field("tz", "Time zone", tz_name, self._parse_tz, placeholder="e.g. Europe/Oslo",
                                  disabled=ro)
                yield input_field("max_runs", "Max runs", str(data.max_runs) if data and data.max_runs else "",
                                  parse_max_runs, placeholder="empty: no limit", disabled=ro)
                yield select_field("catch_up", "Catch-up", CATCH_UPS, data.catch_up if data else "latest",
                                   disabled=ro)
                yield input_field("catch_up_window", "Catch-up window",
                                  format_duration(data.catch_up_window if data else 3600.0),
                                  lambda t: parse_duration_field(t, "catch_up_window"), placeholder="e.g. 1h",
                                  disabled=ro)
                yield select_field("overlap", "Overlap", OVERLAPS, data.overlap if data else "buffer_one", disabled=ro)
                yield switch_field("paused", "Paused", d.paused if d else False, disabled=ro,
                                   help="Times passed while paused are recorded 'paused', not run.")
                yield input_field("pause_note", "Pause note", (d.pause_note or "") if d else "", self._parse_note,
                                  placeholder="why (shown on the dashboard)", disabled=ro)
                yield input_field("paused_until", "Paused until",
                                  format_instant(d.paused_until, self.services.tz) if d and d.paused_until else "",
                                  self._parse_until, placeholder="empty: until resumed", disabled=ro)
                yield Static(id="form-error")
                with Horizontal(id="buttons"):
                    yield Button("Save", id="save", variant="primary", compact=True, disabled=ro)
                    yield Button("Cancel", id="cancel", compact=True)
        yield Footer()

    @staticmethod
    def _source_options(kind: str) -> list[tuple[str, str]]:
        ok = [s for s in SOURCES.values() if (s.per_row if kind == "per_row" else s.window)]
        return [(s.label, s.id) for s in ok] or [("no date sources", "")]

    async def on_mount(self) -> None:
        self.query_one("#form-error").display = False
        self._apply_kind()
        await self._load_records(self._value("source"), keep=self.details.data.source_key if self.details else None)
        first = "#field-kind Select" if self.fixed_task is not None else "#field-task Select"
        self.query_one(first).focus()
        self._schedule_check()

    # -- values -------------------------------------------------------------------------------------
    def field(self, key: str) -> Field:
        return self.query_one(f"#field-{key}", Field)

    def _value(self, key: str) -> Any:
        return self.field(key).raw

    def fields(self) -> list[Field]:
        return list(self.query(Field))

    def snapshot(self) -> dict[str, Any]:
        return {f.key: f.raw for f in self.fields()}

    def has_unsaved_changes(self) -> bool:
        if self.readonly or self.saving or not self.initial:
            return False
        # Hidden fields do not count: the form fills some by itself (a record list's only record).
        shown = self.shown_keys()
        now = self.snapshot()
        return any(now.get(k) != self.initial.get(k) for k in shown)

    def touched(self, key: str) -> bool:
        return self.save_tried or (bool(self.initial) and self._value(key) != self.initial.get(key))

    def shown_keys(self) -> set[str]:
        kind = self._value("kind")
        keys = ALWAYS | KIND_FIELDS.get(kind, set())
        if kind == "window":
            keys.add("every" if self._value("repeat") == "every" else "cron")
        if kind == "per_row":
            keys.discard("overlap")  # every row runs, whatever runs already
        if self._value("catch_up") == "latest":
            keys.add("catch_up_window")
        if self._value("paused"):
            keys |= {"pause_note", "paused_until"}
        return keys

    def _apply_kind(self) -> None:
        shown = self.shown_keys()
        for f in self.fields():
            f.display = f.key in shown

    def _zone_or_local(self, name: str) -> tzinfo | None:
        try:
            return zone(name)
        except ValueError:
            return self.services.tz

    def _tz(self) -> tzinfo | None:
        """Times without an offset are in the schedule's zone (as on the command line)."""
        return self._zone_or_local(str(self._value("tz")))

    def _parse_when(self, text: str) -> float:
        if not text.strip():
            raise ValueError("is required")
        return parse_when(text, self.services.now(), self._tz())

    @staticmethod
    def _parse_task(value: Any) -> str:
        if value is Select.NULL or not value:
            raise ValueError("choose the task the schedule runs")
        return str(value)

    @staticmethod
    def _parse_cron(text: str) -> str:
        t = " ".join(text.split())
        if not t:
            raise ValueError("is required, e.g. */5 * * * *")
        return t

    @staticmethod
    def _parse_tz(text: str) -> str:
        return zone(text).key

    @staticmethod
    def _parse_key(value: Any) -> str:
        if value is Select.NULL or value in (None, ""):
            raise ValueError("choose the record whose date anchors the window")
        return str(value)

    _parse_note = staticmethod(pause_note)  # the engine's rule, as for `schedule pause --note`

    def _parse_until(self, text: str) -> float | None:
        keep = self.details.paused_until if self.details is not None else None
        return parse_pause_until(text, self.services.now(), self.services.tz, keep=keep)

    def collect(self) -> tuple[ScheduleInput | None, dict[str, Any], dict[str, str]]:
        """The form as a ScheduleInput, the parsed values, and the fields that do not parse."""
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for f in self.fields():
            if f.key not in self.shown_keys():
                continue
            try:
                values[f.key] = f.parse(f.raw)
            except ValueError as exc:
                errors[f.key] = exc.args[0] if exc.args else str(exc)
        kind = values.get("kind", "interval")
        if not values.get("task"):
            return None, values, errors
        repeat = values.get("repeat") if kind == "window" else None
        data = ScheduleInput(
            task=values["task"], kind=kind, start=values.get("start"), expiry=values.get("expiry"),
            tz=values.get("tz") or str(self._value("tz")).strip() or "UTC",
            every=values.get("every") if kind == "interval" or repeat == "every" else None,
            cron=values.get("cron") if kind == "cron" or repeat == "cron" else None,
            at=values.get("at") if kind == "once" else None,
            max_runs=values.get("max_runs"), catch_up=values.get("catch_up", "latest"),
            catch_up_window=values.get("catch_up_window", 3600.0), overlap=values.get("overlap", "buffer_one"),
            source=values.get("source") or None if kind in ("window", "per_row") else None,
            source_key=values.get("source_key") if kind == "window" else None,
            start_offset=values.get("start_offset") if kind == "window" else None,
            expiry_offset=values.get("expiry_offset") if kind == "window" else None,
            row_offset=values.get("row_offset") if kind == "per_row" else None,
        )
        if kind == "window" and "source_key" not in values:
            errors.setdefault("source_key", "choose the record whose date anchors the window")
        return data, values, errors

    # -- checking as the admin types ----------------------------------------------------------------
    @staticmethod
    def _field_of(event: Input.Changed | Switch.Changed | Select.Changed) -> Field | None:
        return next((a for a in event.control.ancestors if isinstance(a, Field)), None)

    @on(Input.Changed)
    @on(Switch.Changed)
    def _input_changed(self, event: Input.Changed | Switch.Changed) -> None:
        if isinstance(event, Switch.Changed):
            self._apply_kind()
        self._schedule_check()

    @on(Select.Changed)
    async def _select_changed(self, event: Select.Changed) -> None:
        field = self._field_of(event)
        if field is None or not self.is_mounted:
            return
        if field.key == "kind":
            source = self.query_one("#field-source Select", Select)
            keep = source.value
            options = self._source_options(str(event.value))
            source.set_options(options)
            if keep in [v for _, v in options]:
                source.value = keep
        if field.key == "source":
            await self._load_records(str(event.value) if event.value is not Select.NULL else "")
        self._apply_kind()
        self._schedule_check()

    async def _load_records(self, source_id: str, keep: str | None = None) -> None:
        """Fill the record choice from the source's rows (e.g. the races with their first start)."""
        select = self.query_one("#field-source_key Select", Select)
        # Only the saved record is kept: a key of another source would name another record.
        current = keep
        rows = await self.services.date_rows(source_id) if source_id else []
        self._rows[source_id] = rows
        tz = self.services.tz
        options = [(f"{r.label} — " + (datetime.fromtimestamp(r.at, tz).strftime("%Y-%m-%d %H:%M") if r.at is not None
                                      else "date not set"), r.key) for r in rows]
        select.set_options(options)
        if current in [k for _, k in options]:
            select.value = current
        elif len(options) == 1:
            select.value = options[0][1]
        help_text = "" if options else "This source has no records yet."
        f = self.field("source_key")
        f.help = help_text
        f.set_error(f.error)

    def _schedule_check(self) -> None:
        """Check once typing pauses: one check per burst of keys, the last one always."""
        if self._check_timer is not None:
            self._check_timer.stop()
        self._check_timer = self.set_timer(CHECK_DELAY, self._run_check)

    def _run_check(self) -> None:
        self._check_timer = None
        self._generation += 1
        data, _values, local = self.collect()
        self.run_worker(self._check(self._generation, data, local), group="check")

    async def _check(self, generation: int, data: ScheduleInput | None, local: dict[str, str]) -> None:
        check = ScheduleCheck([], None, [], None)
        if data is not None:
            try:
                check = await self.services.check_schedule(data, fired=self.details.fired_count if self.details else 0)
            except Exception as exc:  # a locked database: say so, keep the form as it is
                check = ScheduleCheck([ScheduleError("form", f"cannot check now: {type(exc).__name__}: {exc}")],
                                      None, [], None)
        if generation != self._generation or not self.is_attached:
            return  # the admin typed on meanwhile: a newer check is coming
        if not self.initial:
            self.initial = self.snapshot()
        self.show_errors(local, check.errors)
        self.show_preview(check, local)
        self.check = check
        self.checks += 1

    def show_errors(self, local: dict[str, str], engine: list[ScheduleError]) -> None:
        """Each error next to its field; a field's own parse error comes first, errors of hidden
        or unknown fields go to the line above the buttons."""
        shown = self.shown_keys()
        by_field: dict[str, str] = {}
        elsewhere: list[str] = []
        for e in engine:
            if e.field in shown and e.field not in local:
                by_field.setdefault(e.field, e.message)
            elif e.field not in local:
                elsewhere.append(f"{e.field}: {e.message}")
        for f in self.fields():
            message = local.get(f.key) or by_field.get(f.key) if f.key in shown else None
            if message is not None and not self.touched(f.key) and self._blank(f):
                message = None  # not filled in yet: its placeholder says what goes there
            if message != f.error:
                f.set_error(message)
        box = self.query_one("#form-error", Static)
        box.update(Text("\n".join(f"✗ {m}" for m in elsewhere), style="red"))
        box.display = bool(elsewhere)

    @staticmethod
    def _blank(f: Field) -> bool:
        raw = f.raw
        return raw is Select.NULL or (isinstance(raw, str) and not raw.strip())

    def show_preview(self, check: ScheduleCheck, local: dict[str, str]) -> None:
        bad = set(local) | {e.field for e in check.errors}
        by_key = {f.key: f for f in self.fields()}
        blank = sorted((k for k in bad if k in by_key and not self.touched(k) and self._blank(by_key[k])),
                       key=list(by_key).index)
        problems = len(bad) - len(blank)
        desc = Text()
        # The words of a rule that does not parse would be the describer's complaint: leave them out.
        if check.description and not bad & RULE_FIELDS:
            desc.append(check.description, style="bold")
        if check.bounds is not None:
            tz = self._tz()
            desc.append(f"\nwindow {datetime.fromtimestamp(check.bounds[0], tz):%Y-%m-%d %H:%M} → "
                        f"{datetime.fromtimestamp(check.bounds[1], tz):%Y-%m-%d %H:%M}", style="dim")
        if problems:
            desc.append(("\n" if desc.plain else "") + f"✗ {problems} problem{'s' if problems > 1 else ''}: "
                        "see the fields marked in red", style="red")
        if blank:
            desc.append(("\n" if desc.plain else "") + "To fill in: " + ", ".join(by_key[k].label for k in blank),
                        style="yellow")
        self.query_one("#description", Static).update(desc)
        self.query_one("#fires", Static).update(self._fires(check.fires, problems, bool(blank), check.labels))

    def _fires(self, fires: list[Fire], problems: int, blank: bool, labels: list[str]) -> RenderableType:
        if problems or blank:
            return Text("Fire times show once the form is " + ("right." if problems else "filled in."), style="dim")
        if not fires:
            return Text("It never fires after now (check start, expiry and max runs).", style="yellow")
        tz = self._tz()
        now = self.services.now()
        narrow = self.has_class("-narrow")
        # While paused, times before the pause ends are recorded 'paused' and do not run.
        paused_until: float | None = None
        if self._value("paused"):
            try:
                paused_until = self._parse_until(str(self._value("paused_until"))) or float("inf")
            except ValueError:
                paused_until = float("inf")
        cells: list[Text] = []
        for i, f in enumerate(fires):
            local = datetime.fromtimestamp(f.nominal, tz)
            cell = Text(local.strftime("%a %Y-%m-%d %H:%M:%S %Z" if not narrow else "%a %m-%d %H:%M:%S %Z"))
            cell.append(f"  {ago(f.nominal, now)}", style="dim")
            if i < len(labels):
                cell.append(f"  {labels[i]}", style="italic")
            if paused_until is not None and f.nominal < paused_until:
                cell.append("  ⊖ paused: not run", style="yellow")
            if f.dst:
                word = DST_WORDS.get(f.dst, f.dst) if not narrow else ("DST gap" if f.dst == "gap" else "DST repeat")
                cell.append(f"  ⚠ {word}", style="yellow bold")
            cells.append(cell)
        title = Text(f"Next {len(fires)} times" + (f" ({self._value('tz')})" if not narrow else ""),
                     style="underline")
        if not narrow or labels:
            # A per-row schedule's times come with their rows: one a line, five at most when narrow.
            return Group(*([title] if not narrow else []), *(cells if not narrow else cells[:5]))
        # Two columns: the preview stays small on an 80x24 terminal and the form keeps its room.
        grid = Table.grid(padding=(0, 3))
        grid.add_column()
        grid.add_column()
        half = (len(cells) + 1) // 2
        for i in range(half):
            grid.add_row(cells[i], cells[i + half] if i + half < len(cells) else Text(""))
        return grid

    def on_resize(self) -> None:
        if self.check is not None:
            self.show_preview(self.check, self.collect()[2])

    # -- saving -------------------------------------------------------------------------------------
    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_back()

    def action_save(self) -> None:
        if self.t4o.refuse_readonly("save schedules") or self.saving:
            return
        self.save_tried = True
        data, values, local = self.collect()
        if local or data is None:
            self.show_errors(local, self.check.errors if self.check else [])
            if self.check is not None:
                self.show_preview(self.check, local)
            self._refused(list(local))
            return
        self.saving = True
        self.t4o.run_safely(
            self._save(data, bool(values.get("paused")), values.get("pause_note"), values.get("paused_until")),
            "Saving the schedule")

    def _refused(self, keys: list[str]) -> None:
        by_key = {f.key: f for f in self.fields()}
        labels = [by_key[k].label for k in keys if k in by_key]
        self.notify(f"Not saved: {', '.join(labels) or 'the form'} {'needs' if len(labels) == 1 else 'need'} "
                    "attention.", severity="error", title="Not saved")
        for k in keys:
            if k in by_key and by_key[k].display:
                by_key[k].control.focus()
                break

    async def _save(self, data: ScheduleInput, paused: bool, note: str | None, until: float | None) -> None:
        try:
            saved = await self.services.save_schedule(self.details.id if self.details else None, data,
                                                      paused=paused, note=note, until=until)
        except ScheduleInvalid as exc:
            self.saving = False
            fields = {("paused_until" if e.field == "until" else e.field) for e in exc.errors}
            self.show_errors({}, [ScheduleError("paused_until" if e.field == "until" else e.field, e.message)
                                  for e in exc.errors])
            self._refused(sorted(fields))
            return
        except (ReadOnlyError, TaskError, LookupError) as exc:
            self.saving = False
            self.notify(str(exc.args[0] if exc.args else exc), severity="error", title="Not saved")
            return
        except BaseException:
            self.saving = False
            raise
        self.notify(f"Saved schedule #{saved} of '{data.task}'" +
                    (f": {self.check.description}." if self.check and self.check.description else "."))
        if self.is_current:
            self.dismiss(saved)

    def action_back(self) -> None:
        if self.has_unsaved_changes():
            self.t4o.confirm("Discard the changes to this schedule?", yes="Discard changes",
                                        no="Keep editing", on_yes=lambda: self.dismiss(None))
        else:
            self.dismiss(None)

    async def wait_checked(self) -> None:
        """For tests: until the check of what is typed now has been applied."""
        while self._check_timer is not None or self.checks == 0:
            await asyncio.sleep(0.02)
