"""Create or change a share: task, label, run-task, cache window, expiry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static, Switch

from t4o_tui.engine.schedule_math import format_duration
from t4o_tui.engine.tasks import TaskError
from t4o_tui.share.links import CACHE_MAX, ShareError, ShareRow
from t4o_tui.timefmt import WHEN_HINT, parse_when
from t4o_tui.tui.keys import bindings
from t4o_tui.tui.parsing import format_instant, parse_duration_field
from t4o_tui.tui.screens.dialog import close_asking, form_texts, texts_changed
from t4o_tui.tui.services import ReadOnlyError
from t4o_tui.tui.widgets.fields import Field, input_field, switch_field
from t4o_tui.tui.widgets.footer import Footer

if TYPE_CHECKING:
    from t4o_tui.tui.host import T4oHost

LABEL_MAX = 100
# ShareError messages start with the name of what is wrong; this is the field that shows it.
ERROR_FIELD = {"cache": "cache_window", "expires": "expires_at", "label": "label", "task": "task"}


class ShareEditorScreen(ModalScreen[tuple[int, str] | None]):
    """Dismissed with (share id, token) once saved; a new share's token is the one to hand out."""

    CSS_PATH = "share_editor.tcss"
    BINDINGS: ClassVar = bindings("editor.save", "dialog.cancel", "form.next", "form.previous")
    # Nothing focused on open: the key that opened the dialog, or a stray one, types nothing.
    AUTO_FOCUS = ""

    def __init__(self, share: ShareRow | None, *, task: str | None) -> None:
        super().__init__()
        self.share = share
        self.task_name = task  # fixed (a task's Shares tab, or an edit); None: chosen here
        self.saving = False
        self.initial: dict[str, str] = {}  # the fields as opened: Esc asks only after a change

    @property
    def t4o(self) -> T4oHost:
        return cast("T4oHost", self.app)

    def compose(self) -> ComposeResult:
        s = self.share
        with Vertical(id="dialog"):
            if s is None:
                title = Text.assemble("New share", (f" for {self.task_name}" if self.task_name else "", "bold"))
            else:
                title = Text.assemble("Share ", (f"#{s.id}", "bold"), " of ", (s.task, "bold"))
            yield Static(title, id="title")
            yield Static("Anyone with its URL gets the task's latest file.", classes="hint")
            if self.task_name is None:
                select: Select[str] = Select([], prompt="choose a task", compact=True)
                yield Field("task", "Task", select, parse=self._parse_task)
            yield input_field("label", "Label", (s.label or "") if s else "", self._parse_label,
                              placeholder="who it is for, e.g. speaker, live results")
            yield switch_field("run_task", "Run task", s.run_task if s else False,
                               help="A visit runs the task and waits for a fresh file (shared by concurrent visits).")
            yield input_field("cache_window", "Cache window", format_duration(s.cache_window if s else 300.0),
                              self._parse_cache, help="With Run task: a file this fresh is served without a run.")
            yield input_field("expires_at", "Expires", format_instant(s.expires_at, self.t4o.services.tz) if s else "",
                              self._parse_expires, placeholder="empty: never", help=f"{WHEN_HINT}.")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="no", compact=True)
                yield Button("Create share" if s is None else "Save", id="yes", variant="primary", compact=True)
        yield Footer()  # the keys: ctrl+r saves, Esc closes

    async def on_mount(self) -> None:
        if self.task_name is None:
            names = await self.t4o.services.task_names()
            select = self.query_one("#field-task Select", Select)
            select.set_options([(n, n) for n in names])
            if len(names) == 1:
                select.value = names[0]
        self.initial = form_texts(self)

    @staticmethod
    def _parse_task(value: Any) -> str:
        if value is Select.NULL or not value:
            raise ValueError("choose the task whose file the share serves")
        return str(value)

    @staticmethod
    def _parse_label(text: str) -> str | None:
        t = " ".join(text.split())
        if len(t) > LABEL_MAX:
            raise ValueError(f"at most {LABEL_MAX} characters")
        return t or None

    @staticmethod
    def _parse_cache(text: str) -> float:
        if text.strip() in ("0", "0s"):
            return 0.0
        seconds = parse_duration_field(text, "cache")
        if seconds > CACHE_MAX:
            raise ValueError("at most 7 days")
        return seconds

    def _parse_expires(self, text: str) -> float | None:
        if not text.strip():
            return None
        now = self.t4o.services.now()
        at = parse_when(text, now, self.t4o.services.tz)
        if at <= now and (self.share is None or at != self.share.expires_at):
            raise ValueError("must be in the future (empty: never)")
        return at

    @on(Input.Changed)
    @on(Switch.Changed)
    @on(Select.Changed)
    def _changed(self, event: Input.Changed | Switch.Changed | Select.Changed) -> None:
        field = next((a for a in event.control.ancestors if isinstance(a, Field)), None)
        if field is not None and field.is_mounted:
            field.check()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input is self.query_one("#field-expires_at Input", Input):
            self.action_save()
        else:
            self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "yes":
            self.action_save()
        else:
            self.dismiss(None)

    def has_unsaved_changes(self) -> bool:
        """What typed would be lost: the app's quit (Ctrl+C, q) asks first, as Esc does."""
        return texts_changed(self, self.initial)

    def action_dismiss_safe(self) -> None:
        close_asking(self, self.initial, "this share", None)

    def action_save(self) -> None:
        if self.saving or self.t4o.refuse_readonly("create or change shares"):
            return
        values: dict[str, Any] = {}
        bad: list[Field] = []
        for f in self.query(Field):
            ok, value = f.check()
            if ok:
                values[f.key] = value
            else:
                bad.append(f)
        if bad:
            bad[0].control.focus()
            return
        self.saving = True
        self.t4o.run_safely(self._save(values), "Saving the share")

    async def _save(self, values: dict[str, Any]) -> None:
        services = self.t4o.services
        try:
            if self.share is None:
                task = values.get("task") or self.task_name
                assert task is not None
                result = await services.create_share(task, run_task=values["run_task"], label=values["label"],
                                                     cache_window=values["cache_window"], expires_at=values["expires_at"])
            else:
                await services.update_share(self.share.id, label=values["label"], run_task=values["run_task"],
                                            cache_window=values["cache_window"], expires_at=values["expires_at"])
                result = (self.share.id, self.share.token)
        except ShareError as exc:
            head, _, rest = str(exc).partition(": ")
            fields = self.query(f"#field-{ERROR_FIELD.get(head, head)}")
            if fields and rest:
                cast(Field, fields.first()).set_error(rest)
            else:
                self.notify(str(exc), severity="error", title="Not saved")
            return
        except (TaskError, LookupError, ReadOnlyError) as exc:
            self.notify(str(exc.args[0] if exc.args else exc), severity="error", title="Not saved")
            return
        finally:
            self.saving = False
        self.dismiss(result)
