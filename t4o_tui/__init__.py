"""t4o-tui: tasks, queue, schedules and share links for an orienteering timing server."""

__version__ = "0.1.0"
