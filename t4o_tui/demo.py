"""The demo event: one place that builds (or tops up) the demo database. Later issues extend it."""

from __future__ import annotations

from typing import Any

import peewee

from t4o_tui.engine.tasks import create_task
from t4o_tui.store.models import Task

# (name, job, settings, direct)
DEMO_TASKS: list[tuple[str, str, dict[str, Any], bool]] = [
    ("Test quick", "test", {"seconds": 2}, False),
    ("Test slow with file", "test", {"seconds": 20, "write_file": True}, False),
    ("Test that fails", "test", {"seconds": 1, "fail": True}, False),
    ("Test direct", "test", {"seconds": 5}, True),
    ("Backup", "backup", {"keep": 5}, False),
]


def build_demo(db: peewee.Database) -> list[str]:
    """Create the demo's tasks that are missing; returns the names created. Safe to run again."""
    created = []
    with db.atomic():
        for name, job, settings, direct in DEMO_TASKS:
            if not Task.select().where(Task.name == name).exists():
                create_task(name, job, settings, direct=direct)
                created.append(name)
    return created
