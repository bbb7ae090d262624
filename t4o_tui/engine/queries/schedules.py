"""Schedules as the dashboard, the schedule editor and the occurrences view show them. The rows
themselves come from engine.schedules.schedule_rows, the builder the CLI's lists use too."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

import peewee

from t4o_tui.engine import schedules as sched_svc
from t4o_tui.engine import tasks as task_svc
from t4o_tui.engine.clock import Clock
from t4o_tui.engine.date_sources import SOURCES, DateRow
from t4o_tui.engine.queries.runs import run_statuses
from t4o_tui.engine.schedule_math import Fire, ScheduleError
from t4o_tui.engine.schedules import HistoryRow, ScheduleInput, ScheduleRow
from t4o_tui.store.models import Schedule

# The dashboard lists the soonest schedules and the paused ones (up to these many): an event with
# thousands of schedules (one per class or start) must still paint at once, and tick cheaply.
DASHBOARD_SCHEDULES = 40
DASHBOARD_PAUSED = 20
OCCURRENCES_SHOWN = 200
PREVIEW_FIRES = 6


@dataclass(frozen=True)
class ScheduleDetails:
    """A saved schedule as the editor shows it."""

    id: int
    task: str
    data: ScheduleInput
    paused: bool
    pause_note: str | None
    paused_until: float | None
    fired_count: int


@dataclass(frozen=True)
class ScheduleCheck:
    """What the schedule editor shows as the admin types: every error, the words, the next times."""

    errors: list[ScheduleError]
    description: str | None
    fires: list[Fire]
    bounds: tuple[float, float] | None  # an anchored window's start and expiry, from its record
    labels: list[str] = dataclasses.field(default_factory=list)  # per row: the row each fire is for


@dataclass(frozen=True)
class OccurrencesData:
    now: float
    schedule: ScheduleRow | None  # None: the schedule was deleted meanwhile
    occurrences: list[HistoryRow]  # with its pauses and resumes, newest first


@dataclass(frozen=True)
class _Snapshot:
    """The dashboard's schedules as last loaded, and what says whether they still hold."""

    key: tuple[Any, ...]
    checked_at: float
    valid_until: float  # the next start, expiry or pause end: states change by time alone then
    rows: list[ScheduleRow]
    counts: dict[str, int]
    run_ids: list[int]
    run_statuses: list[tuple[int, str]]


class Descriptions:
    """Schedule descriptions by rule: cron-descriptor is slow, and the dashboard asks every second."""

    def __init__(self) -> None:
        self._texts: dict[tuple[Any, ...], str] = {}

    def __call__(self, db: peewee.Database, s: Schedule) -> str:
        key = (s.kind, s.tz, s.every, s.cron, s.at, s.source, s.source_key, s.start_offset, s.expiry_offset,
               s.row_offset)
        text = self._texts.get(key)
        if text is None:
            if len(self._texts) > 20_000:
                self._texts.clear()
            text = self._texts[key] = sched_svc.describe(db, s)
        return text


class DashboardSchedules:
    """The dashboard's schedules (the soonest, and the paused ones) and the counts by state.

    Not engine.schedules.list_schedules over everything: that loads every schedule and describes
    each, seconds with 10,000 of them. This counts with one aggregate, then builds only the rows
    shown (with schedule_rows, as the lists do), and reloads only when something changed.
    """

    def __init__(self, describer: Descriptions | None = None) -> None:
        self.describer = describer or Descriptions()
        self._lock = threading.Lock()
        self._snap: _Snapshot | None = None

    def load(self, db: peewee.Database, now: float) -> tuple[list[ScheduleRow], dict[str, int]]:
        with self._lock:
            return self._load(db, now)

    def _load(self, db: peewee.Database, now: float) -> tuple[list[ScheduleRow], dict[str, int]]:
        # What changes the list: an admin's change (schedule_rev, bumped by a trigger), the
        # evaluator passing a nominal time (a new or merged occurrence, and evaluated_until
        # moving on), a run of a listed schedule finishing, and time itself (a start or an
        # expiry passing). Checking that costs ~1 ms; reloading costs ~15 ms with 10,000 schedules.
        key = tuple(db.execute_sql(
            "SELECT (SELECT value FROM meta WHERE key = 'schedule_rev'), (SELECT max(id) FROM occurrence), "
            "(SELECT max(evaluated_until) FROM schedule), (SELECT count(*) FROM schedule)").fetchone())
        snap = self._snap
        if snap is not None and snap.key == key and snap.checked_at <= now < snap.valid_until \
                and run_statuses(db, snap.run_ids) == snap.run_statuses:
            return snap.rows, snap.counts
        counts: dict[str, int] = {}
        for state, n in db.execute_sql(
                f"SELECT {sched_svc.STATE_SQL} AS st, count(*) FROM schedule GROUP BY st", (now, now)).fetchall():
            counts[state] = n
        # The next instant at which a state changes by time alone.
        turns = db.execute_sql(
            "SELECT min(CASE WHEN start > ? THEN start END), min(CASE WHEN expiry >= ? THEN expiry END), "
            "min(CASE WHEN paused_until > ? THEN paused_until END) FROM schedule", (now, now, now)).fetchone()
        live = (Schedule.expiry >= now) & (Schedule.max_runs.is_null() | (Schedule.fired_count < Schedule.max_runs)) \
            & ~(Schedule.next_fire.is_null() & Schedule.kind.in_(("interval", "cron", "once")))  # no time left: ended
        order = (Schedule.next_fire.is_null(), Schedule.next_fire, Schedule.id)
        soonest = list(Schedule.select().where(live).order_by(*order).limit(DASHBOARD_SCHEDULES))
        paused = list(Schedule.select().where(live & (Schedule.paused == True)).order_by(*order)  # noqa: E712
                      .limit(DASHBOARD_PAUSED)) if counts.get("paused") else []
        seen = {s.id for s in soonest}
        rows, run_ids = sched_svc.schedule_rows(db, soonest + [s for s in paused if s.id not in seen], now,
                                                describer=self.describer)
        # A window that follows its record may have ended by it (the record moved): not on the dashboard.
        rows = [r for r in rows if r.state != "ended"]
        self._snap = _Snapshot(key, now, min([t for t in turns if t is not None] + [now + 60.0]),
                               rows, counts, run_ids, run_statuses(db, run_ids))
        return rows, counts


def schedule_details(db: peewee.Database, schedule_id: int) -> ScheduleDetails:
    s = sched_svc.get_schedule(schedule_id)
    data = sched_svc.to_input(s)
    task = task_svc.find_task(s.task_id)
    data.task = str(task.name)
    return ScheduleDetails(s.id, str(task.name), data, bool(s.paused), s.pause_note, s.paused_until, s.fired_count)


def task_schedules(db: peewee.Database, task_name: str, now: float) -> tuple[float, list[ScheduleRow]]:
    """Every schedule of a task, ended ones too (the task editor's Schedules tab)."""
    return now, sched_svc.list_schedules(db, now=now, task=task_name)


def check_schedule(db: peewee.Database, data: ScheduleInput, now: float, fired: int = 0) -> ScheduleCheck:
    """Validate as the admin types, and say what the schedule would do (nothing is saved)."""
    _spec, errors = sched_svc.validate(db, data)
    try:
        description: str | None = sched_svc.describe(db, data)
    except Exception:  # a half-typed rule the describer chokes on: the errors say why
        description = None
    bounds = sched_svc.window_bounds(db, data) if data.kind == "window" else None
    fires: list[Fire] = []
    labels: list[str] = []
    if not errors:
        try:
            if data.kind == "per_row":
                labelled = sched_svc.row_fires(db, data, after=now, k=PREVIEW_FIRES)
                fires, labels = [Fire(t) for t, _ in labelled], [label for _, label in labelled]
            else:
                fires = sched_svc.preview(db, data, after=now, k=PREVIEW_FIRES)
        except Exception:
            fires, labels = [], []
        # A saved schedule that already fired has fewer runs left before max runs.
        if data.max_runs is not None:
            fires = fires[: max(data.max_runs - fired, 0)]
    return ScheduleCheck(errors, description, fires, bounds, labels[: len(fires)])


def save_schedule(db: peewee.Database, schedule_id: int | None, data: ScheduleInput, *, paused: bool,
                  note: str | None, until: float | None, clock: Clock) -> int:
    """Add or change a schedule and its pause in one transaction; ScheduleInvalid names the fields."""
    with db.atomic():
        if schedule_id is None:
            s = sched_svc.add_schedule(db, data, clock=clock)
            was_paused, old_note, old_until = False, None, None
        else:
            before = sched_svc.get_schedule(schedule_id)
            was_paused, old_note, old_until = bool(before.paused), before.pause_note, before.paused_until
            changes = {f.name: getattr(data, f.name) for f in dataclasses.fields(data) if f.name != "extra"}
            s = sched_svc.edit_schedule(db, schedule_id, changes, clock=clock)
        if paused and (not was_paused or note != old_note or until != old_until):
            sched_svc.pause_schedule(db, s.id, note=note, until=until, clock=clock)
        elif not paused and was_paused:
            sched_svc.resume_schedule(db, s.id, clock=clock)
        return int(s.id)


def occurrences(db: peewee.Database, schedule_id: int, now: float,
                describer: Descriptions | None = None) -> OccurrencesData:
    """A schedule's row and its newest occurrences, pauses and resumes (the occurrences view)."""
    s = Schedule.get_or_none(Schedule.id == schedule_id)
    if s is None:
        return OccurrencesData(now, None, [])
    rows, _ = sched_svc.schedule_rows(db, [s], now, describer=describer)
    return OccurrencesData(now, rows[0], sched_svc.schedule_history(db, schedule_id=schedule_id,
                                                                    limit=OCCURRENCES_SHOWN))


def date_rows(db: peewee.Database, source_id: str) -> list[DateRow]:
    """The records of a date source (an anchored window's choices)."""
    source = SOURCES.get(source_id)
    return source.fetch(db) if source is not None else []
