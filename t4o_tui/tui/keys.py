"""Every key binding of the TUI in one table, each with an id that the config's [keys] remaps."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class Key:
    key: str
    action: str
    description: str
    show: bool = True
    priority: bool = False
    key_display: str | None = None


KEYS: dict[str, Key] = {
    # Everywhere.
    "app.quit": Key("q", "quit", "Quit"),
    # Admins press ctrl+c to quit; priority so that a focused Input's copy does not swallow it.
    "app.interrupt": Key("ctrl+c", "quit", "Quit", show=False, priority=True),
    "app.help": Key("question_mark,f1", "help", "Help"),
    "app.palette": Key("colon", "command_palette", "Commands", show=False),
    # Main views: "view.<mode>" with the next number key when a view joins app.VIEWS.
    "view.dashboard": Key("1", "switch_view('dashboard')", "Dashboard", show=False),
    "view.queue": Key("2", "switch_view('queue')", "Queue", show=False),
    "view.tasks": Key("3", "switch_view('tasks')", "Tasks", show=False),
    "view.shares": Key("4", "switch_view('shares')", "Shares", show=False),
    "view.event": Key("5", "switch_view('event')", "Event", show=False),
    "view.results": Key("6", "switch_view('results')", "Results", show=False),
    "view.station": Key("7", "switch_view('station')", "Station data", show=False),
    # Readout (station readout, si-readout) from anywhere: an app key, so the other views need no change.
    "view.readout": Key("8", "switch_mode('readout')", "Readout", show=False),
    # Runners in the forest (started, not home) and not started: the start and finish crews' list.
    "view.forest": Key("9", "switch_mode('forest')", "In forest", show=False),
    "forest.not_started": Key("t", "toggle_list", "In forest/Not started"),
    "view.prev": Key("left_square_bracket", "cycle_view(-1)", "Previous view", show=False),
    "view.next": Key("right_square_bracket", "cycle_view(1)", "Next view", show=False),
    "view.back": Key("escape", "back", "Clear filter", show=False),
    # Lists.
    "list.filter": Key("slash", "filter", "Filter"),
    "list.down": Key("j", "cursor_down", "Down", show=False),
    "list.up": Key("k", "cursor_up", "Up", show=False),
    "list.top": Key("g", "scroll_top", "First row", show=False),
    "list.bottom": Key("G", "scroll_bottom", "Last row", show=False),
    # Dashboard.
    # d and l act on the recent failures; Enter on a failure too (on a schedule: its occurrences).
    "dashboard.details": Key("d", "details", "Failure details", show=False),
    "dashboard.log": Key("l", "log", "Failure log"),
    # The event's "in forest" count opens the list behind it (the In forest view, also key 9).
    "dashboard.forest": Key("f", "forest", "In forest"),
    # Queue.
    "queue.details": Key("d", "details", "Details", show=False, key_display="Enter/d"),
    "queue.log": Key("l", "log", "Log"),
    "queue.cancel": Key("x", "cancel", "Cancel run"),
    "queue.retry": Key("R", "retry", "Retry"),
    # Schedule lists: the dashboard's and the task editor's Schedules tab.
    "schedules.pause": Key("p", "pause", "Pause/resume"),
    "schedules.run": Key("r", "run_now", "Run now"),
    "schedules.history": Key("o", "history", "Occurrences", key_display="Enter/o"),
    "schedules.new": Key("n", "new", "New schedule", show=False),
    "schedules.edit": Key("e", "edit", "Edit schedule", show=False),
    "schedules.delete": Key("delete", "delete", "Delete schedule", show=False),
    # Share link lists: the Shares view and the task editor's Shares tab.
    "shares.new": Key("n", "new", "New share"),
    "shares.copy": Key("c", "copy", "Copy URL"),
    "shares.revoke": Key("delete", "revoke", "Revoke", key_display="Del"),
    "shares.run_task": Key("t", "toggle_run_task", "Run task on/off", show=False),
    "shares.edit": Key("e", "edit", "Edit share", show=False),
    "shares.show": Key("d", "show", "Show URL", show=False, key_display="Enter/d"),
    # Occurrence history of a schedule.
    "occurrences.details": Key("d", "details", "Run details", key_display="Enter/d"),
    "occurrences.log": Key("l", "log", "Run log"),
    "occurrences.edit": Key("e", "edit", "Edit schedule"),
    "occurrences.back": Key("escape", "back", "Back"),
    # Tasks.
    "tasks.run": Key("r", "run", "Run now"),
    "tasks.new": Key("n", "new", "New"),
    "tasks.edit": Key("e", "edit", "Edit", key_display="Enter/e"),
    "tasks.duplicate": Key("c", "duplicate", "Duplicate", show=False),
    "tasks.delete": Key("delete", "delete", "Delete", show=False),
    "tasks.log": Key("l", "log", "Last log", show=False),
    # Event views.
    "event.tab": Key("t", "next_tab", "Classes/Entries/Courses"),
    # One key, the edit of the list shown: an entry by hand, or a class's timing.
    "event.edit": Key("e", "edit_entry", "Edit entry"),
    "event.class_timing": Key("e", "edit_class", "Class timing"),
    # Several races (stages): the Event and Results views show one at a time. Hidden with one race.
    "event.race": Key("r", "next_race", "Race"),
    "results.prev": Key("comma", "cycle_class(-1)", "Previous class", key_display=","),
    "results.next": Key("full_stop", "cycle_class(1)", "Next class", key_display="."),
    "results.race": Key("r", "next_race", "Race"),
    "results.correct": Key("c", "correct", "Correct"),
    "event.correct": Key("c", "correct", "Correct result"),
    "station.active": Key("a", "toggle_active", "Active on/off"),
    # Readout desk: the selected unknown card given to an entry, or to a new entry made for it.
    "readout.assign": Key("a", "assign_card", "Assign card"),
    "readout.new_entry": Key("n", "new_entry", "New entry"),
    # Tab to Unknown cards and back: in the help only, so that a and n keep their place at 80 columns.
    "readout.next_table": Key("tab", "app.focus_next", "Readouts/Unknown cards", show=False, key_display="Tab"),
    # Task editor. Not ctrl+s (flow control in PuTTY) nor ctrl+enter (lost in tmux).
    "editor.save": Key("ctrl+r", "save", "Save", priority=True),
    "editor.tab": Key("ctrl+t", "next_tab", "Tabs"),
    "editor.back": Key("escape", "back", "Back"),
    # Forms without tabs: Tab is the way from field to field, so the footer says so.
    "form.next": Key("tab", "app.focus_next", "Next field", key_display="Tab"),
    "form.previous": Key("shift+tab", "app.focus_previous", "Previous field", show=False),
    # Run details.
    "details.log": Key("l", "log", "Log"),
    "details.cancel": Key("x", "cancel", "Cancel run"),
    "details.retry": Key("R", "retry", "Retry"),
    "details.back": Key("escape", "back", "Back"),
    # Run log.
    "log.follow": Key("f", "follow", "Follow"),
    "log.down": Key("j", "scroll_down_line", "Down", show=False),
    "log.up": Key("k", "scroll_up_line", "Up", show=False),
    "log.top": Key("g", "scroll_to_top", "Top", show=False),
    "log.bottom": Key("G", "follow", "Bottom and follow", show=False),
    "log.back": Key("escape", "back", "Back"),
    # Cancel the run whose log this is (as x in the queue and the run details).
    "log.cancel": Key("x", "cancel", "Cancel run"),
    # Dialogs.
    "dialog.cancel": Key("escape", "dismiss_safe", "Cancel", show=False),
    # Form dialogs (screens.dialog.FormDialog): the class timing editor's keys.
    "dialog.save": Key("ctrl+r", "save", "Save", priority=True),
    "dialog.close": Key("escape", "close", "Close"),
    # Yes/no questions answer to y and n as well as to the buttons.
    "confirm.yes": Key("y", "answer(True)", "Yes"),
    "confirm.no": Key("n", "answer(False)", "No"),
    # Result corrections (status, punches, start/finish) of the selected runner; undo in the dialog.
    "correction.undo": Key("u", "undo", "Undo correction"),
    "dialog.left": Key("left", "app.focus_previous", "Previous", show=False),
    "dialog.right": Key("right", "app.focus_next", "Next", show=False),
    # The link just created (or shown): copy it.
    "link.copy": Key("c", "copy", "Copy URL"),
    "help.close": Key("escape,question_mark,q", "dismiss", "Close"),
}


def bindings(*ids: str) -> list[BindingType]:
    """The Textual bindings for these ids, in this order."""
    out: list[BindingType] = []
    for binding_id in ids:
        k = KEYS[binding_id]
        out.append(Binding(k.key, k.action, k.description, show=k.show, priority=k.priority,
                           key_display=k.key_display, id=binding_id))
    return out


def unknown_ids(keymap: dict[str, str]) -> list[str]:
    """Ids in a config's [keys] table that name no binding (typos the admin should hear about)."""
    return sorted(k for k in keymap if k not in KEYS)
