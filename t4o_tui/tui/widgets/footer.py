"""The key line at the bottom of every screen: Textual's Footer, composed without a restyle per key."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer as TextualFooter
from textual.widgets._footer import FooterKey  # not exported by textual.widgets (8.x)


class Footer(TextualFooter):
    """Textual's Footer, whose keys are born in the footer's style.

    A FooterKey starts compact and is then bound to the footer's `compact` (off): the change
    restyles that key and everything under it, for every key, each time the footer is recomposed
    (a new screen, a focus change, a key shown or hidden). That was about a tenth of the CPU of
    switching to a view. Giving each key the footer's value before it is mounted leaves nothing to
    change; the footer looks the same (the snapshot tests compare every screen).
    """

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                widget.set_reactive(FooterKey.compact, self.compact)
                widget.set_class(self.compact, "-compact", update=False)
            yield widget
