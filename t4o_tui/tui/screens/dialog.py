"""The one behaviour of every form dialog (the class timing editor's, made shared):

- no field has the focus on open, so the key that opened the dialog, or a stray one, changes
  nothing (Tab goes to the first field);
- Esc closes without saving, and asks first (y/n, "keep editing" focused) when something changed;
- ctrl+r saves; the footer shows the keys;
- each field is checked as the admin types, its error beside it, and nothing is saved while a
  field is wrong.

A subclass composes its fields (widgets.fields.Field) in compose_form, says what it started with
(initial_values) and saves in save(); a CheckError from save() lands beside its field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Select, Static, Switch

from t4o_tui.tui.keys import bindings
from t4o_tui.tui.widgets.fields import Field
from t4o_tui.tui.widgets.footer import Footer

if TYPE_CHECKING:
    from t4o_tui.tui.host import T4oHost

T = TypeVar("T")


class CheckError(ValueError):
    """A field the save refused: shown beside the field (or above the footer for "form")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class FormScreen(Screen[T]):
    """A screen of fields (widgets.fields.Field) read as text, Enter going on to the next field:
    the base of the form dialogs and of the full-screen editors (class timing)."""

    def fields(self) -> list[Field]:
        return list(self.query(Field))

    @staticmethod
    def text_of(field: Field) -> str:
        raw = field.raw
        if raw is Select.NULL or raw is None:
            return ""
        return str(raw)

    def texts(self) -> dict[str, str]:
        return {f.key: self.text_of(f) for f in self.fields()}

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()


class FormDialog(ModalScreen[T], FormScreen[T]):
    """A modal form. Dismissed with the subclass's result once saved, with `cancelled` on Esc."""

    AUTO_FOCUS = ""
    BINDINGS: ClassVar = bindings("dialog.save", "dialog.close", "form.next", "form.previous")
    DEFAULT_CSS = """
    FormDialog { align: center middle; }
    FormDialog > #dialog { width: 76; max-width: 100%; height: auto; max-height: 100%; border: round $accent;
                           padding: 0 1; background: $surface; }
    FormDialog #dialog-title { text-style: bold; }
    FormDialog #dialog-error { color: $text-error; height: auto; }
    FormDialog .hint { color: $text-muted; }
    """
    TITLE_TEXT = "Edit"
    # What the dialog does, for the "discard?" question: "the changes to <what>".
    WHAT = "this form"

    def __init__(self) -> None:
        super().__init__()
        self.saving = False
        self.initial: dict[str, str] = {}

    @property
    def t4o(self) -> T4oHost:
        return cast("T4oHost", self.app)

    @property
    def cancelled(self) -> T:
        return cast(T, None)

    # -- for subclasses -----------------------------------------------------------------------------
    def dialog_title(self) -> str:
        return self.TITLE_TEXT

    def compose_form(self) -> ComposeResult:
        yield from ()

    async def save(self, values: dict[str, Any]) -> T:
        raise NotImplementedError

    def relevant(self, field: Field) -> bool:
        """False for a field that does not apply now (hidden): it is neither checked nor saved."""
        return field.display

    # -- layout -------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.dialog_title(), id="dialog-title")
            yield from self.compose_form()
            yield Static(id="dialog-error")
        yield Footer()

    def on_mount(self) -> None:
        self.initial = self.texts()
        self.query_one("#dialog-error").display = False

    # -- values -------------------------------------------------------------------------------------
    def changed(self) -> bool:
        return differs(self.texts(), self.initial)

    def check(self, only: Field | None = None) -> tuple[bool, dict[str, Any]]:
        """Check the relevant fields (or one); (all fine, their values)."""
        ok, values = True, {}
        for f in self.fields():
            if not self.relevant(f):
                f.set_error(None)
                continue
            if only is not None and f is not only:
                continue
            good, value = f.check()
            ok = ok and good
            values[f.key] = value
        return ok, values

    # -- events -------------------------------------------------------------------------------------
    @on(Input.Changed)
    @on(Select.Changed)
    @on(Switch.Changed)
    def _changed(self, event: Input.Changed | Select.Changed | Switch.Changed) -> None:
        field = next((f for f in event.control.ancestors if isinstance(f, Field)), None)
        if field is not None and self.is_mounted:
            self.check(only=field)
        self.form_changed()

    def form_changed(self) -> None:
        """After any change (a subclass shows or hides fields here)."""

    def show_error(self, field: str, message: str) -> None:
        for f in self.fields():
            if f.key == field:
                f.set_error(message)
                f.control.focus()
                return
        box = self.query_one("#dialog-error", Static)
        box.update(Text(f"✗ {message}"))
        box.display = True

    # -- actions ------------------------------------------------------------------------------------
    def action_save(self) -> None:
        if self.saving or self.t4o.refuse_readonly("save this"):
            return
        ok, values = self.check()
        if not ok:
            bad = next(f for f in self.fields() if self.relevant(f) and f.error)
            bad.control.focus()
            self.notify(f"Not saved: {bad.label}: {bad.error}", severity="error", title="Not saved")
            return
        self.saving = True
        self.t4o.run_safely(self._save(values), f"Saving {self.WHAT}")

    async def _save(self, values: dict[str, Any]) -> None:
        from t4o_tui.tui.services import ReadOnlyError

        try:
            result = await self.save(values)
        except CheckError as exc:
            self.show_error(exc.field, exc.message)
            return
        except ReadOnlyError as exc:
            self.show_error("form", str(exc))
            return
        finally:
            self.saving = False
        if self.is_current:
            self.dismiss(result)

    def has_unsaved_changes(self) -> bool:
        """What typed would be lost: Esc and the app's quit (Ctrl+C, q) ask first."""
        return self.changed() and not self.t4o.readonly

    def action_close(self) -> None:
        if self.has_unsaved_changes():
            self.t4o.confirm(f"Discard the changes to {self.WHAT}?", yes="Discard changes", no="Keep editing",
                             on_yes=lambda: self.dismiss(self.cancelled))
        else:
            self.dismiss(self.cancelled)


# -- for the dialogs that keep their own layout (pause, share editor) ------------------------------

def form_texts(screen: ModalScreen[Any]) -> dict[str, str]:
    """Every field's text, to compare with what the dialog opened with."""
    return {f.key: FormDialog.text_of(f) for f in screen.query(Field)}


def differs(now: dict[str, str], initial: dict[str, str]) -> bool:
    """Whether a field's text (blanks at the ends aside) differs from what the dialog opened with."""
    return any(now[k].strip() != initial.get(k, "").strip() for k in now)


def texts_changed(screen: ModalScreen[Any], initial: dict[str, str]) -> bool:
    """Whether a field's text differs from what the dialog opened with (and could be saved)."""
    return differs(form_texts(screen), initial) and not cast("T4oHost", screen.app).readonly


def close_asking(screen: ModalScreen[Any], initial: dict[str, str], what: str, result: Any) -> None:
    """Esc in a dialog: close at once when nothing changed, else ask first (keep editing focused)."""
    app = cast("T4oHost", screen.app)
    if texts_changed(screen, initial):
        app.confirm(f"Discard the changes to {what}?", yes="Discard changes", no="Keep editing",
                    on_yes=lambda: screen.dismiss(result))
    else:
        screen.dismiss(result)
