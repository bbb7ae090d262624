"""One share's URL in full, to copy: the URL is long, and table cells cut it."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from t4o_tui.share.links import ShareRow
from t4o_tui.tui.keys import bindings

if TYPE_CHECKING:
    from t4o_tui.tui.host import T4oHost


class ShareLinkScreen(ModalScreen[None]):
    CSS_PATH = "share_link.tcss"
    BINDINGS: ClassVar = bindings("dialog.cancel", "link.copy")

    def __init__(self, url: str, *, title: str, note: str = "") -> None:
        super().__init__()
        self.url = url
        self.title_text = title
        self.note = note

    @classmethod
    def for_share(cls, url: str, share: ShareRow, now: float, *, created: bool = False) -> ShareLinkScreen:
        label = f" ({share.label})" if share.label else ""
        title = f"{'New share' if created else 'Share'} #{share.id}{label} of '{share.task}'"
        state = share.state(now)
        note = "" if state == "active" else f"This share is {state}: its URL answers 404."
        return cls(url, title=title, note=note)

    @property
    def t4o(self) -> T4oHost:
        return cast("T4oHost", self.app)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.title_text, style="bold"), id="title")
            # The whole URL, wrapped rather than cut: an admin may also copy it with the mouse.
            yield Static(Text(self.url, style="bold underline", overflow="fold"), id="url")
            if self.note:
                yield Static(Text(self.note, style="magenta"), id="note")
            yield Static("c copies it to the clipboard (through the terminal, also over SSH; "
                         "some terminals do not allow it).", classes="hint")
            with Horizontal(id="buttons"):
                yield Button("Close", id="no", compact=True)
                yield Button("Copy URL", id="yes", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "yes":
            self.action_copy()
        else:
            self.dismiss(None)

    def action_copy(self) -> None:
        self.t4o.copy_link(self.url)

    def action_dismiss_safe(self) -> None:
        self.dismiss(None)
