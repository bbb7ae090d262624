"""What the screens show, read and changed through plain functions that return dataclasses, one
module per area (runs, schedules, event); the event's lists and readouts are engine.event_lists
and engine.readouts, the shares share.links. The TUI holds no SQL: it calls these in threads."""
