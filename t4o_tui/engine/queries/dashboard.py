"""The dashboard in one read: run counts, recent failures, the schedules that fire next, who
works on the database and who evaluates the schedules, and the event's status counts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import peewee

from t4o_tui.engine.evaluator import scheduler_holder
from t4o_tui.engine.event_status import EventStatus, event_status
from t4o_tui.engine.queries.runs import RunWatch, active_counts
from t4o_tui.engine.queries.schedules import DashboardSchedules, Descriptions
from t4o_tui.engine.runs import RunRow
from t4o_tui.engine.runtime import workers_alive
from t4o_tui.engine.schedules import ScheduleRow


@dataclass(frozen=True)
class SchedulerState:
    holder: str | None  # the process that holds the scheduler lease; None: no process evaluates
    mine: bool  # this process holds it


@dataclass(frozen=True)
class DashboardData:
    now: float
    queued: int
    running: int
    failed_last_hour: int
    workers: list[tuple[str, str]]
    failures: list[RunRow]
    schedules: list[ScheduleRow] = dataclasses.field(default_factory=list)
    schedule_counts: dict[str, int] = dataclasses.field(default_factory=dict)  # by state, ended included
    scheduler: SchedulerState = SchedulerState(None, False)
    event: EventStatus | None = None  # None: no event tables or no entries


class Dashboard:
    """Reads the dashboard; keeps what makes the next second's read cheap (one per app)."""

    def __init__(self, describer: Descriptions | None = None) -> None:
        self._runs = RunWatch()
        self._schedules = DashboardSchedules(describer)

    def load(self, db: peewee.Database, now: float, *, worker_id: str | None = None,
             holds_lease: bool = False) -> DashboardData:
        """`worker_id`: this process's, when it runs an engine; `holds_lease`: its evaluator holds
        the scheduler lease (known before the lease row says so)."""
        queued, running = active_counts(db)
        failed, failures = self._runs.failed_since(db, now - 3600, now)
        schedules, counts = self._schedules.load(db, now)
        holder = scheduler_holder(db, now)
        mine = holds_lease or (holder is not None and worker_id is not None and holder == worker_id)
        return DashboardData(
            now=now, queued=queued, running=running, failed_last_hour=failed, workers=workers_alive(db, now),
            failures=failures, schedules=schedules, schedule_counts=counts, scheduler=SchedulerState(holder, mine),
            event=_event_status(db, now),
        )


def _event_status(db: peewee.Database, now: float) -> EventStatus | None:
    try:
        counts = event_status(db, now=now)
    except peewee.DatabaseError:  # a database without the event tables
        return None
    return counts if counts.entries else None
