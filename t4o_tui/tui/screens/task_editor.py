"""Create or edit a task: name, job, Direct, timeout, on-orphan, and the job's settings form;
its runs, its schedules and its shares in the other tabs."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (
    Button,
    DataTable,
    Input,
    Select,
    Static,
    Switch,
    TabbedContent,
    TabPane,
)

from t4o_tui.engine.job import Job
from t4o_tui.engine.runs import RunRow
from t4o_tui.engine.tasks import NAME_MAX, TIMEOUT_MAX, TaskError, TaskRow
from t4o_tui.jobs.registry import JOBS
from t4o_tui.timefmt import format_duration_text, parse_duration_text
from t4o_tui.tui.format import ago, clip, status_text
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.screens.base import PollingScreen
from t4o_tui.tui.services import ReadOnlyError, SharesData
from t4o_tui.tui.widgets.fields import Field, input_field, select_field, setting_field, switch_field
from t4o_tui.tui.widgets.footer import Footer
from t4o_tui.tui.widgets.header import AppHeader
from t4o_tui.tui.widgets.live_table import Column, LiveTable, Row
from t4o_tui.tui.widgets.schedule_list import ScheduleList
from t4o_tui.tui.widgets.share_list import ShareList

RUN_COLUMNS = [Column("id", "#"), Column("status", "Status", 11), Column("when", "When", 10),
               Column("trigger", "Trigger", 8), Column("reason", "Reason")]
_SETTING_ERROR = re.compile(r"setting '([^']+)': (.*?)(?=; setting '|$)")
TABS = ["settings-tab", "runs-tab", "schedules-tab", "shares-tab"]


def parse_name(text: str) -> str:
    clean = " ".join(str(text).split())
    if not clean:
        raise ValueError("is required")
    if len(clean) > NAME_MAX:
        raise ValueError(f"at most {NAME_MAX} characters")
    return clean


def parse_timeout(text: str) -> float | None:
    if not str(text).strip():
        return None
    seconds = parse_duration_text(str(text))
    if not 0 < seconds <= TIMEOUT_MAX:
        raise ValueError(f"must be between 1s and {int(TIMEOUT_MAX // 86400)} days")
    return seconds


def jobs_in_order() -> list[type[Job]]:
    return sorted(JOBS.values(), key=lambda j: (j.category, j.title))


class TaskEditorScreen(PollingScreen):
    """Returns (dismisses with) the saved task's name, or None."""

    CSS_PATH = "task_editor.tcss"
    HELP_TITLE = "Task editor"
    POLL_SECONDS = 2.0
    BINDINGS: ClassVar = bindings("editor.save", "editor.tab", "editor.back")
    AUTO_FOCUS = ""  # on_mount decides (see there)

    def __init__(self, task: TaskRow | None, *, readonly: bool = False) -> None:
        super().__init__()
        self.task_row = task
        self.readonly = readonly
        job_id = task.job if task else jobs_in_order()[0].id
        self.job_id = job_id
        # What was typed for each job's settings, so that switching the job back and forth on a
        # new task never loses it.
        self.typed: dict[str, dict[str, Any]] = {}
        self.initial: dict[str, Any] = {}
        self.saving = False

    # -- layout -------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        t = self.task_row
        if t is None:
            title = "New task"
        else:
            title = f"{'View' if self.readonly else 'Edit'} task · {t.name}" + (" (read-only)" if self.readonly else "")
        yield AppHeader(None, title)
        ro = self.readonly
        with TabbedContent(id="tabs"):
            with TabPane("Settings", id="settings-tab"), VerticalScroll(id="form") as form:
                # Not a stop of Tab itself: focus goes from field to field and scrolls them into view.
                form.can_focus = False
                yield input_field("name", "Name", t.name if t else "", parse_name,
                                  placeholder="e.g. Import entries from Eventor", disabled=ro)
                yield select_field(
                    "job", "Job", self._job_options(), self.job_id,
                    help="The job of a saved task cannot change; create a new task instead." if t else "",
                    disabled=ro or t is not None)
                yield Static(id="job-description")
                yield Vertical(id="settings")
                yield Static("Running", id="options-title")
                yield switch_field("direct", "Direct", t.direct if t else False, disabled=ro,
                                   help="Runs skip the queue and start at once.")
                yield input_field("timeout", "Timeout", format_duration_text(t.timeout) if t and t.timeout else "",
                                  parse_timeout, placeholder="job default", disabled=ro)
                yield select_field("on_orphan", "On orphan", self._orphan_options(), (t.on_orphan if t and t.on_orphan else "default"),
                                   help="When the worker running a run is lost: run it again, or fail it.", disabled=ro)
                with Horizontal(id="buttons"):
                    yield Button("Save", id="save", variant="primary", compact=True, disabled=ro)
                    yield Button("Cancel", id="cancel", compact=True)
            with TabPane("Runs", id="runs-tab"):
                if t is None:
                    yield Static("No runs: the task is not saved yet.", classes="empty")
                else:
                    yield LiveTable(RUN_COLUMNS, id="runs")
                    yield Static("No runs yet. Press r on the task list to run it.", id="no-runs", classes="empty")
            with TabPane("Schedules", id="schedules-tab"):
                if t is None:
                    yield Static("No schedules: save the task first.", classes="empty")
                else:
                    yield ScheduleList(task=t.name, id="task-schedules",
                                       empty="No schedules. Press n to make this task run at times.")
            with TabPane("Shares", id="shares-tab"):
                if t is None:
                    yield Static("No shares: save the task first.", classes="empty")
                else:
                    yield ShareList(task=t.name, id="task-shares",
                                    empty="No shares. Press n to publish this task's latest file.")
        yield Footer()

    def _job_options(self) -> list[tuple[str, str]]:
        options = [(f"{j.title} ({j.category})", j.id) for j in jobs_in_order()]
        if self.job_id not in JOBS:  # a task saved by a newer version, or of a job since removed
            options.append((f"unknown job '{self.job_id}'", self.job_id))
        return options

    def _orphan_options(self) -> list[tuple[str, str]]:
        job = JOBS.get(self.job_id)
        default = job.default_on_orphan() if job else "fail"
        return [(f"job default ({default})", "default"), ("requeue", "requeue"), ("fail", "fail")]

    async def on_mount(self) -> None:
        await self._mount_settings(self.task_row.settings if self.task_row else None)
        self._describe_job()
        self.initial = self.snapshot()
        if self.task_row is None:
            # A new task starts with its name; an existing one opens with nothing focused, so a
            # stray key does not replace its name (focus selects an input's text).
            self.query_one("#field-name Input", Input).focus()

    async def _mount_settings(self, values: dict[str, Any] | None) -> None:
        job = JOBS.get(self.job_id)
        box = self.query_one("#settings", Vertical)
        await box.remove_children()
        if job is None:
            await box.mount(Static(f"Unknown job '{self.job_id}': its settings cannot be edited.", classes="empty"))
            return
        fields = []
        typed = self.typed.get(self.job_id, {})
        for s in job.settings.fields:
            value = values.get(s.key) if values is not None else s.default
            f = setting_field(s, value, disabled=self.readonly)
            fields.append(f)
        if not fields:
            await box.mount(Static("This job has no settings.", classes="empty"))
            return
        await box.mount_all(fields)
        for f in fields:  # what was typed for this job before the job was switched away and back
            if f.key in typed:
                self._set_raw(f, typed[f.key])
                f.check()

    @staticmethod
    def _set_raw(field: Field, raw: Any) -> None:
        c = field.control
        if isinstance(c, Input | Switch | Select):
            c.value = raw

    def _describe_job(self) -> None:
        job = JOBS.get(self.job_id)
        self.query_one("#job-description", Static).update(Text(job.description if job else "", style="italic"))
        timeout = self.query_one("#field-timeout Input", Input)
        timeout.placeholder = f"job default: {format_duration_text(job.timeout)}" if job else "job default"

    # -- state --------------------------------------------------------------------------------------
    def fields(self) -> list[Field]:
        return list(self.query(Field))

    def setting_fields(self) -> list[Field]:
        return list(self.query_one("#settings").query(Field))

    def snapshot(self) -> dict[str, Any]:
        return {f.key: f.raw for f in self.fields()}

    def has_unsaved_changes(self) -> bool:
        return not self.readonly and not self.saving and self.snapshot() != self.initial

    @on(Input.Changed)
    @on(Switch.Changed)
    def _field_changed(self, event: Input.Changed | Switch.Changed) -> None:
        field = next((a for a in event.control.ancestors if isinstance(a, Field)), None)
        if field is not None and field.is_mounted:
            field.check()

    @on(Select.Changed)
    async def _select_changed(self, event: Select.Changed) -> None:
        field = next((a for a in event.control.ancestors if isinstance(a, Field)), None)
        if field is None:
            return
        field.check()
        if field.key == "job" and event.value != self.job_id and isinstance(event.value, str):
            self.typed[self.job_id] = {f.key: f.raw for f in self.setting_fields()}
            self.job_id = event.value
            await self._mount_settings(None)
            self._describe_job()
            orphan = self.query_one("#field-on_orphan Select", Select)
            current = orphan.value
            orphan.set_options(self._orphan_options())
            orphan.value = current

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    # -- saving -------------------------------------------------------------------------------------
    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_back()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Save belongs to the Settings tab: elsewhere it would crowd the list's keys off an
        # 80-column footer.
        if action == "save" and self.is_mounted:
            return self.query_one(TabbedContent).active == "settings-tab"
        return True

    def action_save(self) -> None:
        if self.t4o.refuse_readonly("save tasks"):
            return
        values: dict[str, Any] = {}
        bad: list[Field] = []
        for f in self.fields():
            ok, value = f.check()
            if ok:
                values[f.key] = value
            else:
                bad.append(f)
        if bad:
            self.notify(f"Not saved: {', '.join(f.label for f in bad)} {'needs' if len(bad) == 1 else 'need'} attention.",
                        severity="error", title="Not saved")
            bad[0].control.focus()
            return
        settings = {f.key: values[f.key] for f in self.setting_fields() if values[f.key] is not None}
        on_orphan = None if values["on_orphan"] == "default" else values["on_orphan"]
        self.t4o.run_safely(self._save(values["name"], settings, bool(values["direct"]), values["timeout"], on_orphan),
                            "Saving the task")

    async def _save(self, name: str, settings: dict[str, Any], direct: bool, timeout: float | None,
                    on_orphan: str | None) -> None:
        self.saving = True
        try:
            if self.task_row is None:
                saved = await self.services.create_task(name, self.job_id, settings, direct=direct, timeout=timeout,
                                                        on_orphan=on_orphan)
            else:
                saved = await self.services.update_task(self.task_row.name, name=name, settings=settings,
                                                        direct=direct, timeout=timeout, on_orphan=on_orphan)
        except ReadOnlyError as exc:
            self.saving = False
            self.notify(str(exc), severity="warning", title="Refused")
            return
        except TaskError as exc:
            self.saving = False
            self.show_task_error(str(exc))
            return
        except BaseException:
            self.saving = False
            raise
        self.notify(f"Saved task '{saved}'.")
        if self.is_current:  # not left with Esc while the save was under way
            self.dismiss(saved)

    def show_task_error(self, message: str) -> None:
        """Put the service's message at the field it names; anything else in a notification."""
        by_key = {f.key: f for f in self.fields()}
        placed: list[Field] = []
        for key, text in _SETTING_ERROR.findall(message):
            if key in by_key:
                by_key[key].set_error(text)
                placed.append(by_key[key])
        head, sep, rest = message.partition(": ")
        if not placed and sep and head in by_key:
            by_key[head].set_error(rest)
            placed.append(by_key[head])
        if placed:
            placed[0].control.focus()
            self.notify(f"Not saved: {', '.join(f.label for f in placed)} {'needs' if len(placed) == 1 else 'need'} attention.",
                        severity="error", title="Not saved")
        else:
            self.notify(message, severity="error", title="Not saved")

    def action_back(self) -> None:
        if self.has_unsaved_changes():
            self.t4o.confirm("Discard the changes to this task?", yes="Discard changes", no="Keep editing",
                             on_yes=lambda: self.dismiss(None))
        else:
            self.dismiss(None)

    def action_next_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = TABS[(TABS.index(tabs.active) + 1) % len(TABS)] if tabs.active in TABS else TABS[0]
        if tabs.active == "settings-tab":
            # After the pane is shown again: the form may be scrolled down from before, and a field
            # focused out of view would take what is typed unseen (a task renamed by a stray key).
            self.call_after_refresh(self._focus_name)

    def _focus_name(self) -> None:
        name = self.query_one("#field-name Input", Input)
        name.focus()
        name.scroll_visible(animate=False, immediate=True)

    # -- runs, schedules and shares tabs --------------------------------------------------------------
    async def load(self) -> tuple[str, Any] | None:
        # Only the tab on show is polled: the others cost nothing until the admin opens them.
        tab = self.query_one(TabbedContent).active
        if self.task_row is None or tab == "settings-tab":
            return None
        name = self.task_row.name
        if tab == "runs-tab":
            return tab, await self.services.task_runs(name)
        if tab == "schedules-tab":
            return tab, await self.services.task_schedules(name)
        return tab, await self.services.shares(name)

    def apply(self, data: tuple[str, Any] | None) -> None:
        if data is None:
            return
        tab, payload = data
        if tab == "schedules-tab":
            now, schedules = payload
            self.query_one(ScheduleList).show(schedules, now)
        elif tab == "shares-tab":
            shares: SharesData = payload
            self.query_one(ShareList).show(shares)
        else:
            self._show_runs(payload)

    def tick(self) -> None:
        if self.task_row is None:
            return
        tab = self.query_one(TabbedContent).active
        if tab == "schedules-tab":
            self.query_one(ScheduleList).tick(self.services.now())
        elif tab == "shares-tab":
            self.query_one(ShareList).tick(self.services.now())

    def on_schedule_list_changed(self, event: ScheduleList.Changed) -> None:
        event.stop()
        self.poll_now()

    def on_share_list_changed(self, event: ShareList.Changed) -> None:
        event.stop()
        self.poll_now()

    def _show_runs(self, data: list[RunRow]) -> None:
        now = self.services.now()
        rows = [Row(str(r.id), (Text(str(r.id), justify="right"), status_text(r.status),
                                Text(ago(r.finished_at or r.started_at or r.enqueued_at, now)), Text(r.trigger),
                                Text(clip(r.error or "", 60))), (-r.id,)) for r in data]
        self.query_one("#runs", LiveTable).sync(rows)
        self.query_one("#no-runs").display = not rows

    def keep_polling(self) -> bool:
        return self.task_row is not None

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()
        if self.task_row is None or event.pane.id == "settings-tab":
            return
        self.poll_now()
        if event.pane.id == "runs-tab":
            self.query_one("#runs", LiveTable).focus()
        elif event.pane.id == "schedules-tab":
            self.query_one(ScheduleList).table.focus()
        elif event.pane.id == "shares-tab":
            self.query_one(ShareList).table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.t4o.open_run_details(int(event.row_key.value))
