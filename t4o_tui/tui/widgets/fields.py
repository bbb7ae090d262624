"""Form fields that validate as the admin types: the error shows under the field, the text stays."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static, Switch

from t4o_tui.engine.settings import Setting, SettingError, is_secret

# A parser turns the control's raw value into the value to save, or raises ValueError (whose
# message is shown; SettingError's .message is the part without the key).
Parser = Callable[[Any], Any]


class Field(Vertical):
    """A labelled control with a message line under it: the help, or the error in red."""

    DEFAULT_CSS = """
    Field { height: auto; margin-bottom: 0; }
    Field > .field-row { height: 1; }
    Field .field-label { width: 16; padding-right: 1; text-align: right; color: $text-muted; }
    Field.-invalid .field-label { color: $text-error; }
    Field Input { width: 1fr; max-width: 60; }
    Field Select { width: 1fr; max-width: 60; }
    Field Switch { height: 1; border: none; padding: 0; margin-right: 1; }
    Field .switch-state { width: auto; }
    Field .field-message { height: auto; padding-left: 17; color: $text-muted; }
    Field.-invalid .field-message { color: $text-error; }
    """

    def __init__(self, key: str, label: str, control: Widget, *, parse: Parser, help: str = "") -> None:
        super().__init__(id=f"field-{key}")
        self.key = key
        self.label = label
        self.control = control
        self.parse = parse
        self.help = help
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-row"):
            yield Label(self.label, classes="field-label")
            yield self.control
            if isinstance(self.control, Switch):
                yield Static(classes="switch-state")
        message = Static(self.help, classes="field-message")
        message.display = bool(self.help)
        yield message

    def on_mount(self) -> None:
        self._show_switch_state()

    @property
    def raw(self) -> Any:
        c = self.control
        if isinstance(c, Input):
            return c.value
        if isinstance(c, Switch):
            return c.value
        if isinstance(c, Select):
            return c.value
        raise TypeError(type(c))

    def check(self) -> tuple[bool, Any]:
        """Parse the current value; show the error (or the help again). Returns (ok, value)."""
        try:
            value = self.parse(self.raw)
        except SettingError as exc:
            self.set_error(exc.message)
            return False, None
        except ValueError as exc:
            self.set_error(str(exc))
            return False, None
        self.set_error(None)
        return True, value

    def set_error(self, message: str | None) -> None:
        self.error = message
        self.set_class(message is not None, "-invalid")
        msg = self.query_one(".field-message", Static)
        msg.update(Text(f"✗ {message}") if message else self.help)
        msg.display = bool(message or self.help)
        self._show_switch_state()

    def _show_switch_state(self) -> None:
        if isinstance(self.control, Switch):
            # The slider's side says on or off only to those who see its colour; say it in words.
            self.query_one(".switch-state", Static).update("yes" if self.control.value else "no")

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self._show_switch_state()


def setting_field(setting: Setting, value: Any, *, disabled: bool = False) -> Field:
    """The field for one setting of a job's schema, showing `value` (a stored value or default)."""
    help_text = setting.help or ""
    if setting.default is not None and setting.type != "boolean":
        help_text += f" Default: {setting.format(setting.default)}."
    if setting.type == "boolean":
        switch = Switch(value=bool(value), disabled=disabled)
        return Field(setting.key, setting.label, switch, parse=bool, help=help_text.strip())
    if setting.type == "choice":
        options = [(label, v) for v, label in setting.choices]
        select: Select[str] = Select(options, value=value if value is not None else Select.NULL,
                                     allow_blank=not setting.required, compact=True, disabled=disabled)

        def parse_choice(v: Any) -> Any:
            if v is Select.NULL:
                if setting.required:
                    raise SettingError(setting.key, "is required")
                return None
            return setting.check(v)

        return Field(setting.key, setting.label, select, parse=parse_choice, help=help_text.strip())
    placeholder = setting.describe_type()
    if setting.type == "multi-choice":
        placeholder = "comma-separated: " + ", ".join(c[0] for c in setting.choices)
    elif setting.type == "duration":
        placeholder = "e.g. 30s, 5m, 1h30m"
    elif setting.type == "datetime":
        placeholder = "e.g. 2026-06-01T10:00:00+02:00"
    text = setting.format(value) if value is not None else ""
    inp = Input(text, placeholder=placeholder, compact=True, disabled=disabled, password=is_secret(setting.key))
    return Field(setting.key, setting.label, inp, parse=setting.parse, help=help_text.strip())


def select_field(key: str, label: str, options: Sequence[tuple[str, str]], value: str, *, help: str = "",
                 disabled: bool = False) -> Field:
    select: Select[str] = Select(list(options), value=value, allow_blank=False, compact=True, disabled=disabled)
    return Field(key, label, select, parse=lambda v: v, help=help)


def input_field(key: str, label: str, value: str, parse: Parser, *, placeholder: str = "", help: str = "",
                disabled: bool = False) -> Field:
    return Field(key, label, Input(value, placeholder=placeholder, compact=True, disabled=disabled),
                 parse=parse, help=help)


def switch_field(key: str, label: str, value: bool, *, help: str = "", disabled: bool = False) -> Field:
    return Field(key, label, Switch(value=value, disabled=disabled), parse=bool, help=help)
