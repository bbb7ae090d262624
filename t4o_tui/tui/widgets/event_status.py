"""The dashboard's area for the event's status counts (entries, starts, results…).

The event views fill it: `dashboard.query_one(EventStatus).mount(widget)`. It shows itself, framed
apart from the engine's areas, while any child is displayed, and takes no room while empty.
"""

from __future__ import annotations

from typing import Any

from textual.containers import Vertical
from textual.widget import AwaitMount, Widget


class EventStatus(Vertical):
    DEFAULT_CSS = """
    EventStatus { height: auto; border: round $accent; border-title-color: $text-accent; padding: 0 1; }
    EventStatus.-empty { display: none; }
    """

    def on_mount(self) -> None:
        self.border_title = "Event"
        self.update_shown()

    def mount(self, *widgets: Widget, **kwargs: Any) -> AwaitMount:
        # Textual's :empty is not looked at again when children arrive: say it ourselves.
        awaiting = super().mount(*widgets, **kwargs)
        self.call_after_refresh(self.update_shown)
        return awaiting

    def update_shown(self) -> None:
        """Also called by the dashboard at every refresh: children may hide or go."""
        self.set_class(self.is_empty, "-empty")
