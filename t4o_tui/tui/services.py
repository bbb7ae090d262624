"""The TUI's door to the engine: plain rows, fetched in worker threads, never on the event loop.

Peewee gives each thread its own connection, and a query on the event loop would freeze the
screen; every method here awaits `asyncio.to_thread`. Writes are refused in read-only mode here
too, so that no screen can change the event by mistake.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any, TypeVar

import peewee

from t4o_tui.config import Config, share_base_url
from t4o_tui.engine import runs as run_svc
from t4o_tui.engine import schedules as sched_svc
from t4o_tui.engine import tasks as task_svc
from t4o_tui.engine.clock import SYSTEM_CLOCK, Clock
from t4o_tui.engine.date_sources import SOURCES, DateRow
from t4o_tui.engine.evaluator import scheduler_holder
from t4o_tui.engine.event_status import EventStatus as EventStatusCounts
from t4o_tui.engine.event_status import event_status
from t4o_tui.engine.runs import LogLine, RunRow
from t4o_tui.engine.runtime import Runtime, workers_alive
from t4o_tui.engine.schedule_math import Fire, ScheduleError
from t4o_tui.engine.schedules import OccurrenceRow, ScheduleInput, ScheduleRow
from t4o_tui.engine.tasks import TaskRow
from t4o_tui.share import links as share_svc
from t4o_tui.share import serving as serving_svc
from t4o_tui.share.links import ShareRow
from t4o_tui.share.serving import Serving
from t4o_tui.store.models import Schedule
from t4o_tui.timefmt import local_zone_name

T = TypeVar("T")

FINISHED_SHOWN = 200  # finished runs in the queue view: a DataTable with thousands of rows paints slowly
FAILURES_SHOWN = 8
# The dashboard lists the soonest schedules and the paused ones (up to these many): an event with
# thousands of schedules (one per class or start) must still paint at once, and tick cheaply.
DASHBOARD_SCHEDULES = 40
DASHBOARD_PAUSED = 20
OCCURRENCES_SHOWN = 200
PREVIEW_FIRES = 6


class ReadOnlyError(RuntimeError):
    """A change was attempted in read-only mode."""


# SQLite uses the partial indexes on queued and running runs (run_queued, run_running) only for a
# literal `status = 'queued'`: `status IN (...)` or a bound parameter reads all the finished runs
# too, 7 ms per 100,000 of them, every second.
_ACTIVE_COUNTS = ("SELECT (SELECT count(*) FROM run WHERE status = 'queued'), "
                  "(SELECT count(*) FROM run WHERE status = 'running')")


def active_runs(db: peewee.Database) -> list[RunRow]:
    """Every queued and running run, oldest first (engine.runs.list_runs, through the indexes)."""
    rows = [r for status in ("queued", "running")
            for r in db.execute_sql(run_svc._SELECT + f"WHERE r.status = '{status}'").fetchall()]
    return sorted((run_svc._row(r) for r in rows), key=lambda r: r.id)


class RunWatch:
    """Failed runs since an instant, and the newest failures, without reading every run each second.

    A finished run never changes again: after one full count, a poll reads only the runs above
    the highest id seen and those that were still queued or running. A full recount every minute
    catches deletions (retention, a deleted task).
    """

    RECOUNT = 60.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._max_id: int | None = None
        self._open: set[int] = set()
        self._failed: dict[int, float] = {}  # id -> finished_at, of failures in the window
        self._failures: list[RunRow] = []
        self._counted_at = 0.0

    def failed_since(self, db: peewee.Database, since: float, now: float) -> tuple[int, list[RunRow]]:
        """How many runs failed since `since`, and the newest FAILURES_SHOWN failed runs."""
        with self._lock:
            if self._max_id is None or not 0 <= now - self._counted_at < self.RECOUNT:
                self._recount(db, since, now)
            else:
                self._update(db)
            for rid in [rid for rid, at in self._failed.items() if at < since]:
                del self._failed[rid]
            return len(self._failed), self._failures

    def _recount(self, db: peewee.Database, since: float, now: float) -> None:
        self._failed = dict(db.execute_sql(
            "SELECT id, finished_at FROM run WHERE status = 'failed' AND finished_at >= ?", (since,)).fetchall())
        self._open = {r.id for r in active_runs(db)}
        self._max_id = db.execute_sql("SELECT coalesce(max(id), 0) FROM run").fetchone()[0]
        self._failures = run_svc.list_runs(db, statuses=("failed",), limit=FAILURES_SHOWN)
        self._counted_at = now

    def _update(self, db: peewee.Database) -> None:
        assert self._max_id is not None
        seen = sorted(self._open)
        rows = db.execute_sql(
            "SELECT id, status, finished_at FROM run WHERE id > ? " +
            (f"OR id IN ({','.join('?' * len(seen))})" if seen else ""), [self._max_id, *seen]).fetchall()
        new_failure = False
        self._open -= set(seen)
        for rid, status, finished_at in rows:
            self._max_id = max(self._max_id, rid)
            if status in ("queued", "running"):
                self._open.add(rid)
            elif status == "failed" and finished_at is not None:
                self._failed[rid] = finished_at
                new_failure = True
        if new_failure:
            self._failures = run_svc.list_runs(db, statuses=("failed",), limit=FAILURES_SHOWN)


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
    event: EventStatusCounts | None = None  # None: no event tables or no entries


@dataclass(frozen=True)
class _ScheduleSnapshot:
    """The dashboard's schedules as last loaded, and what says whether they still hold."""

    key: tuple[Any, ...]
    checked_at: float
    valid_until: float  # the next start, expiry or pause end: states change by time alone then
    rows: list[ScheduleRow]
    counts: dict[str, int]
    run_ids: list[int]
    run_statuses: list[tuple[int, str]]


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
    occurrences: list[OccurrenceRow]


@dataclass(frozen=True)
class SharesData:
    now: float
    shares: list[ShareRow]
    base_url: str
    server: str  # one line on who serves the links: this process, another one, or none
    server_ok: bool
    elsewhere: bool = False  # another process serves the links, not this one

    def url(self, share: ShareRow) -> str:
        return share_svc.share_url(self.base_url, share.token)


@dataclass(frozen=True)
class QueueData:
    now: float
    active: list[RunRow]  # queued and running, all of them
    finished: list[RunRow]  # the newest FINISHED_SHOWN


class Services:
    """Queries and changes for the screens; one per app."""

    def __init__(self, db: peewee.Database, *, readonly: bool, tz: tzinfo | None,
                 runtime: Runtime | None = None, clock: Clock = SYSTEM_CLOCK, cfg: Config | None = None) -> None:
        self.db = db
        self.readonly = readonly
        self.tz = tz
        self.runtime = runtime
        self.clock = clock
        self.cfg = cfg
        # The zone new schedules get: the event's, else the machine's.
        self.tz_name = (cfg.timezone if cfg and cfg.timezone else None) or local_zone_name()
        # Descriptions by schedule rule: cron-descriptor is slow, and the dashboard asks every second.
        self._descriptions: dict[tuple[Any, ...], str] = {}
        self._runs = RunWatch()
        self._schedules: _ScheduleSnapshot | None = None

    def now(self) -> float:
        """The engine's time (a rehearsal clock may run it ahead), for relative times on screen."""
        return self.clock.now()

    async def _read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def _write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.readonly:
            raise ReadOnlyError("read-only mode: nothing can be changed")
        return await asyncio.to_thread(fn, *args, **kwargs)

    # -- reads --------------------------------------------------------------------------------------
    async def dashboard(self) -> DashboardData:
        def load() -> DashboardData:
            now = self.now()
            queued, running = self.db.execute_sql(_ACTIVE_COUNTS).fetchone()
            failed, failures = self._runs.failed_since(self.db, now - 3600, now)
            schedules, counts = self._dashboard_schedules(now)
            return DashboardData(
                now=now, queued=queued, running=running, failed_last_hour=failed,
                workers=workers_alive(self.db, now), failures=failures,
                schedules=schedules, schedule_counts=counts, scheduler=self._scheduler(now),
                event=self._event_status(now),
            )

        return await self._read(load)

    def _event_status(self, now: float) -> EventStatusCounts | None:
        try:
            counts = event_status(self.db, now=now)
        except peewee.DatabaseError:  # a database without the event tables
            return None
        return counts if counts.entries else None

    # -- the event views: query functions of the engine (engine.event_lists), in threads --------------
    async def query(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(db, *args) in a thread: a read-only query function that returns plain data."""
        return await self._read(fn, self.db, *args)

    async def change(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(db, *args) in a thread: a change function of the engine (refused in read-only mode)."""
        return await self._write(fn, self.db, *args)

    async def event_rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return await self._read(lambda: list(self.db.execute_sql(sql, params).fetchall()))

    async def event_call(self, fn: Callable[[Any], T]) -> T:
        """fn(connection) in a thread: for the jobs' own loaders (result lists)."""
        return await self._read(lambda: fn(self.db.connection()))

    async def edit_entry(self, entry_id: int, *, class_id: int | None, bib: str | None, card: str | None,
                         status: str) -> None:
        """Save an entry edited by hand, and mark it so: imports will not overwrite it."""

        def edit() -> None:
            with self.db.atomic():
                self.db.execute_sql("UPDATE entry SET class_id=?, bib=?, status=?, hand_edited=1, updated_at=? WHERE id=?",
                                    (class_id, bib, status, self.now(), entry_id))
                self.db.execute_sql("UPDATE start SET bib=? WHERE entry_id=?", (bib, entry_id))
                self.db.execute_sql("DELETE FROM entry_card WHERE entry_id=?", (entry_id,))
                if card:
                    self.db.execute_sql("INSERT OR IGNORE INTO card(number, card_type) VALUES (?, 'SI')", (card,))
                    self.db.execute_sql("INSERT INTO entry_card(entry_id, card_id) SELECT ?, id FROM card "
                                        "WHERE number=? AND card_type='SI'", (entry_id, card))

        await self._write(edit)

    async def toggle_station_data(self, row_id: int) -> bool:
        def toggle() -> bool:
            with self.db.atomic():
                self.db.execute_sql("UPDATE station_data SET active = NOT active WHERE id = ?", (row_id,))
                row = self.db.execute_sql("SELECT active FROM station_data WHERE id = ?", (row_id,)).fetchone()
            return bool(row and row[0])

        return await self._write(toggle)

    def _scheduler(self, now: float) -> SchedulerState:
        holder = scheduler_holder(self.db, now)
        ev = self.runtime.evaluator if self.runtime is not None else None
        mine = ev.is_holder if ev is not None else False
        return SchedulerState(holder, mine or (holder is not None and self.runtime is not None
                                               and holder == self.runtime.worker_id))

    # The dashboard's schedules without engine's list_schedules: that one loads every schedule,
    # groups the whole occurrence table and describes each rule, which takes seconds with 10,000
    # schedules. This reads the counts with one aggregate, then only the rows shown.
    _STATE_SQL = sched_svc.STATE_SQL  # the rule of engine.schedules.schedule_state, for counting in SQL

    def _dashboard_schedules(self, now: float) -> tuple[list[ScheduleRow], dict[str, int]]:
        # What changes the list: an admin's change (schedule_rev, bumped by a trigger), the
        # evaluator passing a nominal time (a new or merged occurrence, and evaluated_until
        # moving on), a run of a listed schedule finishing, and time itself (a start or an
        # expiry passing). Checking that costs ~1 ms; reloading costs ~15 ms with 10,000 schedules.
        key = self.db.execute_sql(
            "SELECT (SELECT value FROM meta WHERE key = 'schedule_rev'), (SELECT max(id) FROM occurrence), "
            "(SELECT max(evaluated_until) FROM schedule), (SELECT count(*) FROM schedule)").fetchone()
        snap = self._schedules
        if snap is not None and snap.key == key and snap.checked_at <= now < snap.valid_until \
                and self._run_statuses(snap.run_ids) == snap.run_statuses:
            return snap.rows, snap.counts
        counts: dict[str, int] = {}
        for state, n in self.db.execute_sql(
                f"SELECT {self._STATE_SQL} AS st, count(*) FROM schedule GROUP BY st", (now, now)).fetchall():
            counts[state] = n
        # The next instant at which a state changes by time alone.
        turns = self.db.execute_sql(
            "SELECT min(CASE WHEN start > ? THEN start END), min(CASE WHEN expiry >= ? THEN expiry END), "
            "min(CASE WHEN paused_until > ? THEN paused_until END) FROM schedule", (now, now, now)).fetchone()
        live = (Schedule.expiry >= now) & (Schedule.max_runs.is_null() | (Schedule.fired_count < Schedule.max_runs)) \
            & ~(Schedule.next_fire.is_null() & Schedule.kind.in_(("interval", "cron", "once")))  # no time left: ended
        order = (Schedule.next_fire.is_null(), Schedule.next_fire, Schedule.id)
        soonest = list(Schedule.select().where(live).order_by(*order).limit(DASHBOARD_SCHEDULES))
        paused = list(Schedule.select().where(live & (Schedule.paused == True)).order_by(*order)  # noqa: E712
                      .limit(DASHBOARD_PAUSED)) if counts.get("paused") else []
        seen = {s.id for s in soonest}
        chosen = soonest + [s for s in paused if s.id not in seen]
        rows, run_ids = self._schedule_rows(chosen, now)
        rows.sort(key=lambda r: (r.next_fire is None, r.next_fire or 0.0, r.id))
        self._schedules = _ScheduleSnapshot(key, now, min([t for t in turns if t is not None] + [now + 60.0]),
                                            rows, counts, run_ids, self._run_statuses(run_ids))
        return rows, counts

    def _run_statuses(self, run_ids: list[int]) -> list[tuple[int, str]]:
        if not run_ids:
            return []
        return self.db.execute_sql(
            f"SELECT id, status FROM run WHERE id IN ({','.join('?' * len(run_ids))}) ORDER BY id", run_ids).fetchall()

    def _schedule_rows(self, schedules: list[Schedule], now: float) -> tuple[list[ScheduleRow], list[int]]:
        """ScheduleRows (as engine.schedules.list_schedules makes them) for these schedules only,
        and the ids of their last runs."""
        if not schedules:
            return [], []
        ids = [s.id for s in schedules]
        marks = ",".join("?" * len(ids))
        last = {r[0]: r[1:] for r in self.db.execute_sql(
            "SELECT schedule_id, nominal, last_nominal, state FROM occurrence WHERE id IN "
            f"(SELECT max(id) FROM occurrence WHERE schedule_id IN ({marks}) GROUP BY schedule_id)", ids).fetchall()}
        last_run = {r[0]: (r[1], r[2]) for r in self.db.execute_sql(
            "SELECT o.schedule_id, r.id, r.status FROM occurrence o JOIN run r ON r.id = o.run_id WHERE o.id IN "
            f"(SELECT max(id) FROM occurrence WHERE schedule_id IN ({marks}) AND run_id IS NOT NULL "
            "GROUP BY schedule_id)", ids).fetchall()}
        task_ids = sorted({s.task_id for s in schedules})
        tasks = {r[0]: (r[1], r[2]) for r in self.db.execute_sql(
            f"SELECT id, name, job FROM task WHERE id IN ({','.join('?' * len(task_ids))})", task_ids).fetchall()}
        out = []
        source_rows: dict[str, list[DateRow]] = {}  # each date source read once
        for s in schedules:
            state = sched_svc.schedule_state(s, now)
            nominal, last_nominal, last_state = last.get(s.id, (None, None, None))
            name, job = tasks.get(s.task_id, ("?", "?"))
            next_fire = s.next_fire if state != "ended" else None
            if s.kind == "per_row" and next_fire is None and state != "ended" and s.source in SOURCES:
                # The evaluator keeps no single next time for a per-row schedule: its next row's.
                if s.source not in source_rows:
                    source_rows[s.source] = SOURCES[s.source].fetch(self.db)
                upcoming = self._row_fires(s, now, 1, source_rows[s.source])
                next_fire = upcoming[0][0] if upcoming else None
            out.append(ScheduleRow(
                id=s.id, task_id=s.task_id, task=name, job=job, kind=s.kind, description=self._describe(s), tz=s.tz,
                start=s.start, expiry=s.expiry, next_fire=next_fire,
                paused=s.paused, pause_note=s.pause_note, paused_until=s.paused_until, fired_count=s.fired_count,
                max_runs=s.max_runs, catch_up=s.catch_up, overlap=s.overlap, state=state,
                last_nominal=last_nominal or nominal, last_state=last_state,
                last_run_status=last_run.get(s.id, (None, None))[1],
            ))
        return out, sorted(rid for rid, _ in last_run.values())

    def _describe(self, s: Schedule) -> str:
        key = (s.kind, s.tz, s.every, s.cron, s.at, s.source, s.source_key, s.start_offset, s.expiry_offset,
               s.row_offset)
        text = self._descriptions.get(key)
        if text is None:
            if len(self._descriptions) > 20_000:
                self._descriptions.clear()
            text = self._descriptions[key] = sched_svc.describe(self.db, s)
        return text

    async def queue(self) -> QueueData:
        def load() -> QueueData:
            now = self.now()
            active = active_runs(self.db)
            finished = run_svc.list_runs(self.db, statuses=("succeeded", "failed", "cancelled"), limit=FINISHED_SHOWN)
            return QueueData(now, active, finished)

        return await self._read(load)

    async def tasks(self) -> list[TaskRow]:
        return await self._read(task_svc.list_tasks, self.db)

    async def task_names(self) -> list[str]:
        return [t.name for t in await self.tasks()]

    async def task_runs(self, task_name: str, limit: int = 50) -> list[RunRow]:
        return await self._read(run_svc.list_runs, self.db, task=task_name, limit=limit)

    async def run(self, run_id: int) -> RunRow:
        return await self._read(run_svc.get_run, self.db, run_id)

    async def log(self, run_id: int, after: int = 0) -> list[LogLine]:
        return await self._read(run_svc.run_log, self.db, run_id, after=after)

    async def log_tail(self, run_id: int, after: int) -> tuple[RunRow, list[LogLine]]:
        """The run, then its log lines after `after`: read in this order, a finished run's last
        lines (written when it finished) are always in the answer."""

        def load() -> tuple[RunRow, list[LogLine]]:
            run = run_svc.get_run(self.db, run_id)
            return run, run_svc.run_log(self.db, run_id, after=after)

        return await self._read(load)

    # -- schedules ----------------------------------------------------------------------------------
    async def task_schedules(self, task_name: str) -> tuple[float, list[ScheduleRow]]:
        """Every schedule of a task, ended ones too (the task editor's Schedules tab)."""

        def load() -> tuple[float, list[ScheduleRow]]:
            now = self.now()
            return now, sched_svc.list_schedules(self.db, now=now, task=task_name)

        return await self._read(load)

    async def schedule(self, schedule_id: int) -> ScheduleDetails:
        def load() -> ScheduleDetails:
            s = sched_svc.get_schedule(schedule_id)
            data = sched_svc.to_input(s)
            task = task_svc.find_task(s.task_id)
            data.task = str(task.name)
            return ScheduleDetails(s.id, str(task.name), data, bool(s.paused), s.pause_note, s.paused_until,
                                   s.fired_count)

        return await self._read(load)

    async def check_schedule(self, data: ScheduleInput, *, fired: int = 0) -> ScheduleCheck:
        """Validate as the admin types, and say what the schedule would do (nothing is saved)."""

        def check() -> ScheduleCheck:
            now = self.now()
            spec, errors = sched_svc.validate(self.db, data)
            try:
                description: str | None = sched_svc.describe(self.db, data)
            except Exception:  # a half-typed rule the describer chokes on: the errors say why
                description = None
            bounds = sched_svc.window_bounds(self.db, data) if data.kind == "window" else None
            fires: list[Fire] = []
            labels: list[str] = []
            if not errors:
                try:
                    if data.kind == "per_row":
                        labelled = self._row_fires(data, now)
                        fires, labels = [Fire(t) for t, _ in labelled], [label for _, label in labelled]
                    else:
                        fires = sched_svc.preview(self.db, data, after=now, k=PREVIEW_FIRES)
                except Exception:
                    fires, labels = [], []
                # A saved schedule that already fired has fewer runs left before max runs.
                if data.max_runs is not None:
                    fires = fires[: max(data.max_runs - fired, 0)]
            return ScheduleCheck(errors, description, fires, bounds, labels[: len(fires)])

        return await self._read(check)

    def _row_fires(self, s: ScheduleInput | Schedule, after: float, k: int = PREVIEW_FIRES,
                   rows: list[DateRow] | None = None) -> list[tuple[float, str]]:
        """A per-row schedule's next times with the row each is for: engine.schedules.preview's
        rule (each row's date + offset, after `after`, inside start and expiry), with labels."""
        source = SOURCES.get(s.source or "")
        if source is None:
            return []
        off, start, expiry = s.row_offset or 0.0, s.start or 0.0, s.expiry or 0.0
        times = sorted((r.at + off, r.label) for r in (rows if rows is not None else source.fetch(self.db))
                       if r.at is not None)
        return [(t, label) for t, label in times if t > after and start <= t <= expiry][:k]

    async def save_schedule(self, schedule_id: int | None, data: ScheduleInput, *, paused: bool,
                            note: str | None, until: float | None) -> int:
        """Add or change a schedule and its pause in one transaction; ScheduleInvalid names the fields."""

        def save() -> int:
            with self.db.atomic():
                if schedule_id is None:
                    s = sched_svc.add_schedule(self.db, data, clock=self.clock)
                    was_paused, old_note, old_until = False, None, None
                else:
                    before = sched_svc.get_schedule(schedule_id)
                    was_paused, old_note, old_until = bool(before.paused), before.pause_note, before.paused_until
                    changes = {f.name: getattr(data, f.name) for f in dataclasses.fields(data) if f.name != "extra"}
                    s = sched_svc.edit_schedule(self.db, schedule_id, changes, clock=self.clock)
                if paused and (not was_paused or note != old_note or until != old_until):
                    sched_svc.pause_schedule(self.db, s.id, note=note, until=until, clock=self.clock)
                elif not paused and was_paused:
                    sched_svc.resume_schedule(self.db, s.id, clock=self.clock)
                return int(s.id)

        return await self._write(save)

    async def pause_schedule(self, schedule_id: int, *, note: str | None, until: float | None) -> None:
        await self._write(sched_svc.pause_schedule, self.db, schedule_id, note=note, until=until, clock=self.clock)

    async def resume_schedule(self, schedule_id: int) -> None:
        await self._write(sched_svc.resume_schedule, self.db, schedule_id, clock=self.clock)

    async def delete_schedule(self, schedule_id: int) -> None:
        await self._write(sched_svc.delete_schedule, self.db, schedule_id)

    async def occurrences(self, schedule_id: int) -> OccurrencesData:
        def load() -> OccurrencesData:
            now = self.now()
            s = Schedule.get_or_none(Schedule.id == schedule_id)
            if s is None:
                return OccurrencesData(now, None, [])
            rows, _ = self._schedule_rows([s], now)
            return OccurrencesData(now, rows[0], sched_svc.list_occurrences(
                self.db, schedule_id=schedule_id, limit=OCCURRENCES_SHOWN))

        return await self._read(load)

    async def date_rows(self, source_id: str) -> list[DateRow]:
        """The records of a date source (an anchored window's choices)."""
        source = SOURCES.get(source_id)
        if source is None:
            return []
        return await self._read(source.fetch, self.db)

    # -- shares -------------------------------------------------------------------------------------
    def share_server_state(self, elsewhere: Serving | None = None) -> tuple[str, bool]:
        """One line on who serves the links (this process, or `elsewhere`), and whether they are served."""
        rt = self.runtime
        server = rt.share_server if rt is not None else None
        if server is not None and server.listening:
            return f"listening on {server.host}:{server.port}", True
        if elsewhere is not None:
            mine = "" if server is None or not server.error else " (this process could not listen)"
            return f"links served by {elsewhere.describe()}{mine}", True
        if rt is None:
            return "read-only: this TUI serves no links, and no worker serves them now", False
        if server is None:
            if not rt.opt.share:
                return "share server off in this process, and no worker serves the links now", False
            return "share server starting…", False
        return server.error or "share server not listening", False

    def share_base(self, elsewhere: Serving | None = None) -> str:
        """Where links point: the configured public URL, else this process's listening address,
        else the address of the process that serves them (share.serving)."""
        cfg = self.cfg or Config(db=Path("event.sqlite"))
        server = self.runtime.share_server if self.runtime is not None else None
        if server is not None and server.listening and not cfg.share_public_url:
            # Port 0 in the config means "any free port": the real one is the server's.
            cfg = dataclasses.replace(cfg, share_port=server.port)
            return share_base_url(cfg)
        return serving_svc.base_url(cfg, elsewhere)

    async def shares(self, task_name: str | None = None) -> SharesData:
        def load() -> SharesData:
            now = self.now()
            rows = share_svc.list_shares(self.db, task=task_name)
            elsewhere = serving_svc.current(self.db, now)
            server, ok = self.share_server_state(elsewhere)
            mine = self.runtime is not None and self.runtime.share_server is not None \
                and self.runtime.share_server.listening
            return SharesData(now, rows, self.share_base(elsewhere), server, ok, elsewhere is not None and not mine)

        return await self._read(load)

    async def create_share(self, task: str, *, run_task: bool, cache_window: float, expires_at: float | None,
                           label: str | None) -> tuple[int, str]:
        """A new link; its id and its token."""
        s = await self._write(share_svc.create_share, self.db, task, run_task=run_task, cache_window=cache_window,
                              expires_at=expires_at, label=label, clock=self.clock)
        return int(s.id), str(s.token)

    async def update_share(self, share_id: int, **changes: Any) -> None:
        await self._write(share_svc.update_share, self.db, share_id, **changes)

    async def revoke_share(self, share_id: int) -> None:
        await self._write(share_svc.revoke_share, self.db, share_id)

    # -- changes ------------------------------------------------------------------------------------
    async def enqueue(self, task_name: str) -> int:
        run_id = await self._write(run_svc.enqueue_run, self.db, task_name, trigger="manual")
        if self.runtime is not None:
            self.runtime.notify()  # wake this process's lanes now rather than at their next poll
        return run_id

    async def cancel(self, run_id: int) -> str:
        return await self._write(run_svc.cancel_run, self.db, run_id, by="admin (tui)")

    async def create_task(self, name: str, job: str, settings: dict[str, Any], *, direct: bool,
                          timeout: float | None, on_orphan: str | None) -> str:
        t = await self._write(task_svc.create_task, name, job, settings, direct=direct, timeout=timeout,
                              on_orphan=on_orphan)
        return str(t.name)

    async def update_task(self, old_name: str, *, name: str, settings: dict[str, Any], direct: bool,
                          timeout: float | None, on_orphan: str | None) -> str:
        t = await self._write(task_svc.update_task, old_name, name=name, settings=settings,
                              replace_settings=True, direct=direct, timeout=timeout, on_orphan=on_orphan)
        return str(t.name)

    async def duplicate_task(self, name: str) -> str:
        t = await self._write(task_svc.duplicate_task, name)
        return str(t.name)

    async def delete_task(self, name: str) -> int:
        return await self._write(task_svc.delete_task, name)
