"""The TUI's door to the engine: each call runs a query function of the engine (engine.queries,
engine.event_lists, engine.readouts, share.links…) in a worker thread, never on the event loop.

Peewee gives each thread its own connection, and a query on the event loop would freeze the
screen. Writes are refused in read-only mode here too, so that no screen can change the event by
mistake. No SQL here or in the screens (tests/test_quality.py checks): the queries live by area
outside tui/ and return dataclasses.
"""

from __future__ import annotations

import asyncio
import dataclasses
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
from t4o_tui.engine.card_desk import Given
from t4o_tui.engine.clock import SYSTEM_CLOCK, Clock
from t4o_tui.engine.date_sources import DateRow
from t4o_tui.engine.event_status import EventStatus as EventStatusCounts
from t4o_tui.engine.queries import event as event_q
from t4o_tui.engine.queries import runs as runs_q
from t4o_tui.engine.queries import schedules as schedules_q
from t4o_tui.engine.queries.dashboard import Dashboard, DashboardData, SchedulerState
from t4o_tui.engine.queries.runs import FINISHED_SHOWN, QueueData
from t4o_tui.engine.queries.schedules import (
    OCCURRENCES_SHOWN,
    OccurrencesData,
    ScheduleCheck,
    ScheduleDetails,
)
from t4o_tui.engine.runs import LogLine, RunRow
from t4o_tui.engine.runtime import Runtime
from t4o_tui.engine.schedules import ScheduleInput, ScheduleRow
from t4o_tui.engine.tasks import TaskRow
from t4o_tui.share import links as share_svc
from t4o_tui.share import serving as serving_svc
from t4o_tui.share.links import ShareRow
from t4o_tui.share.serving import Serving
from t4o_tui.timefmt import local_zone_name

# The screens' data types, by the names they import them here.
__all__ = [
    "FINISHED_SHOWN", "OCCURRENCES_SHOWN", "DashboardData", "EventStatusCounts", "OccurrencesData", "QueueData",
    "ReadOnlyError", "ScheduleCheck", "ScheduleDetails", "SchedulerState", "Services", "SharesData",
]

T = TypeVar("T")


class ReadOnlyError(RuntimeError):
    """A change was attempted in read-only mode."""


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


class Services:
    """The screens' calls into the engine, in threads; one per app."""

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
        self._descriptions = schedules_q.Descriptions()
        self._dashboard = Dashboard(self._descriptions)

    def now(self) -> float:
        """The engine's time (a rehearsal clock may run it ahead), for relative times on screen."""
        return self.clock.now()

    async def _read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def _write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.readonly:
            raise ReadOnlyError("read-only mode: nothing can be changed")
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def query(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(db, *args) in a thread: a read-only query function that returns plain data."""
        return await self._read(fn, self.db, *args)

    async def change(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """fn(db, *args) in a thread: a change function of the engine (refused in read-only mode)."""
        return await self._write(fn, self.db, *args, **kwargs)

    # -- runs ---------------------------------------------------------------------------------------
    async def dashboard(self) -> DashboardData:
        rt = self.runtime
        ev = rt.evaluator if rt is not None else None
        return await self._read(self._dashboard.load, self.db, self.now(),
                                worker_id=rt.worker_id if rt is not None else None,
                                holds_lease=ev.is_holder if ev is not None else False)

    async def queue(self) -> QueueData:
        return await self.query(runs_q.queue, self.now())

    async def tasks(self) -> list[TaskRow]:
        return await self.query(task_svc.list_tasks)

    async def task_names(self) -> list[str]:
        return [t.name for t in await self.tasks()]

    async def task_runs(self, task_name: str, limit: int = 50) -> list[RunRow]:
        return await self._read(run_svc.list_runs, self.db, task=task_name, limit=limit)

    async def run(self, run_id: int) -> RunRow:
        return await self.query(run_svc.get_run, run_id)

    async def log(self, run_id: int, after: int = 0) -> list[LogLine]:
        return await self._read(run_svc.run_log, self.db, run_id, after=after)

    async def log_tail(self, run_id: int, after: int) -> tuple[RunRow, list[LogLine]]:
        return await self.query(runs_q.log_tail, run_id, after)

    # -- the event ----------------------------------------------------------------------------------
    async def edit_entry(self, entry_id: int, *, class_id: int | None, bib: str | None, card: str | None,
                         status: str) -> None:
        await self.change(event_q.edit_entry, entry_id, class_id=class_id, bib=bib, card=card, status=status,
                          now=self.now())

    async def toggle_station_data(self, row_id: int) -> bool:
        return await self.change(event_q.toggle_station_data, row_id)

    # -- the readout desk: unknown cards (engine.card_desk; processed at once by jobs.card_desk) ------
    async def assign_card(self, card: str, entry_id: int, *, move: bool, who: str) -> tuple[Given, list[str]]:
        # Imported on first use: the TUI starts without the processing code.
        from t4o_tui.jobs import card_desk as desk_job

        return await self.change(desk_job.assign_and_process, card, entry_id, move=move, who=who, now=self.now())

    async def create_entry_for_card(self, card: str, *, given: str, family: str, class_id: int | None, club: str,
                                    who: str) -> tuple[Given, list[str]]:
        from t4o_tui.jobs import card_desk as desk_job

        return await self.change(desk_job.create_and_process, card, given=given, family=family, class_id=class_id,
                                 club=club, who=who, now=self.now())

    # -- schedules ----------------------------------------------------------------------------------
    async def task_schedules(self, task_name: str) -> tuple[float, list[ScheduleRow]]:
        """Every schedule of a task, ended ones too (the task editor's Schedules tab)."""
        return await self.query(schedules_q.task_schedules, task_name, self.now())

    async def schedule(self, schedule_id: int) -> ScheduleDetails:
        return await self.query(schedules_q.schedule_details, schedule_id)

    async def check_schedule(self, data: ScheduleInput, *, fired: int = 0) -> ScheduleCheck:
        """Validate as the admin types, and say what the schedule would do (nothing is saved)."""
        return await self.query(schedules_q.check_schedule, data, self.now(), fired)

    async def save_schedule(self, schedule_id: int | None, data: ScheduleInput, *, paused: bool,
                            note: str | None, until: float | None) -> int:
        """Add or change a schedule and its pause in one transaction; ScheduleInvalid names the fields."""
        return await self.change(schedules_q.save_schedule, schedule_id, data, paused=paused, note=note,
                                 until=until, clock=self.clock)

    async def pause_schedule(self, schedule_id: int, *, note: str | None, until: float | None) -> None:
        await self.change(sched_svc.pause_schedule, schedule_id, note=note, until=until, clock=self.clock)

    async def resume_schedule(self, schedule_id: int) -> None:
        await self.change(sched_svc.resume_schedule, schedule_id, clock=self.clock)

    async def delete_schedule(self, schedule_id: int) -> None:
        await self.change(sched_svc.delete_schedule, schedule_id)

    async def occurrences(self, schedule_id: int) -> OccurrencesData:
        return await self.query(schedules_q.occurrences, schedule_id, self.now(), self._descriptions)

    async def date_rows(self, source_id: str) -> list[DateRow]:
        """The records of a date source (an anchored window's choices)."""
        return await self.query(schedules_q.date_rows, source_id)

    # -- shares -------------------------------------------------------------------------------------
    def share_server_state(self, elsewhere: Serving | None = None) -> tuple[str, bool]:
        """One line on who serves the shares (this process, or `elsewhere`), and whether they are served."""
        rt = self.runtime
        server = rt.share_server if rt is not None else None
        if server is not None and server.listening:
            return f"listening on {server.host}:{server.port}", True
        if elsewhere is not None:
            mine = "" if server is None or not server.error else " (this process could not listen)"
            return f"shares served by {elsewhere.describe()}{mine}", True
        if rt is None:
            return "read-only: this TUI serves no shares, and no worker serves them now", False
        if server is None:
            if not rt.opt.share:
                return "share server off in this process, and no worker serves the shares now", False
            return "share server starting…", False
        return server.error or "share server not listening", False

    def share_base(self, elsewhere: Serving | None = None) -> str:
        """Where share URLs point: the configured public URL, else this process's listening address,
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
        """A new share; its id and its token."""
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

    async def task_dependents(self, name: str) -> task_svc.TaskDependents:
        return await self._read(task_svc.task_dependents, name)
