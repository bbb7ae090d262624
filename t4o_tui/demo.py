"""The demo event: one place that builds (or tops up) the demo database. Later issues extend it."""

from __future__ import annotations

from typing import Any

import peewee

from t4o_tui.engine.clock import SYSTEM_CLOCK, Clock
from t4o_tui.engine.schedules import ScheduleInput, add_schedule
from t4o_tui.engine.tasks import create_task
from t4o_tui.share.links import create_share, share_url
from t4o_tui.store.models import Schedule, Share, Task
from t4o_tui.timefmt import local_zone_name

# (name, job, settings, direct)
DEMO_TASKS: list[tuple[str, str, dict[str, Any], bool]] = [
    ("Test quick", "test", {"seconds": 2}, False),
    ("Test slow with file", "test", {"seconds": 20, "write_file": True}, False),
    ("Test that fails", "test", {"seconds": 1, "fail": True}, False),
    ("Test direct", "test", {"seconds": 5}, True),
    ("Backup", "backup", {"keep": 5}, False),
]


# (task, schedule fields): the engine rehearsing itself; later issues add the race-day story.
DEMO_SCHEDULES: list[tuple[str, dict[str, Any]]] = [
    ("Test quick", {"kind": "interval", "every": 10.0}),
    ("Backup", {"kind": "interval", "every": 15 * 60.0}),
    ("Test slow with file", {"kind": "cron", "cron": "*/2 * * * *"}),
]
DEMO_SCHEDULE_DAYS = 7
# The demo's file-producing task, published through a share link.
DEMO_SHARED_TASK = "Test slow with file"


def build_demo(db: peewee.Database, *, clock: Clock = SYSTEM_CLOCK) -> list[str]:
    """Create the demo's tasks and schedules that are missing; returns what was created. Safe to run again."""
    created = []
    now = clock.now()
    with db.atomic():
        for name, job, settings, direct in DEMO_TASKS:
            if not Task.select().where(Task.name == name).exists():
                create_task(name, job, settings, direct=direct)
                created.append(name)
        for task_name, fields in DEMO_SCHEDULES:
            task = Task.get(Task.name == task_name)
            # A demo reopened days later gets fresh schedules once the old ones have expired.
            if not Schedule.select().where(Schedule.task == task, Schedule.expiry > now).exists():
                add_schedule(db, ScheduleInput(task=task.id, start=now, expiry=now + DEMO_SCHEDULE_DAYS * 86400,
                                               tz=local_zone_name(), **fields), clock=clock)
                created.append(f"schedule for {task_name}")
        shared = Task.get(Task.name == DEMO_SHARED_TASK)
        if not Share.select().where(Share.task == shared, Share.revoked == False).exists():  # noqa: E712
            create_share(db, shared.id, label="demo", clock=clock)
            created.append(f"share link for {DEMO_SHARED_TASK}")
    return created


def demo_share_urls(base: str) -> list[str]:
    """The demo's live share links, to print at start-up."""
    return [share_url(base, s.token) for s in Share.select().where(Share.revoked == False)]  # noqa: E712
