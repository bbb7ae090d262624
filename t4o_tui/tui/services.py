"""The TUI's door to the engine: plain rows, fetched in worker threads, never on the event loop.

Peewee gives each thread its own connection, and a query on the event loop would freeze the
screen; every method here awaits `asyncio.to_thread`. Writes are refused in read-only mode here
too, so that no screen can change the event by mistake.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, TypeVar

import peewee

from t4o_tui.engine import runs as run_svc
from t4o_tui.engine import tasks as task_svc
from t4o_tui.engine.clock import SYSTEM_CLOCK, Clock
from t4o_tui.engine.runs import LogLine, RunRow
from t4o_tui.engine.runtime import Runtime, workers_alive
from t4o_tui.engine.tasks import TaskRow

T = TypeVar("T")

FINISHED_SHOWN = 200  # finished runs in the queue view: a DataTable with thousands of rows paints slowly
FAILURES_SHOWN = 8


class ReadOnlyError(RuntimeError):
    """A change was attempted in read-only mode."""


@dataclass(frozen=True)
class DashboardData:
    now: float
    queued: int
    running: int
    failed_last_hour: int
    workers: list[tuple[str, str]]
    failures: list[RunRow]


@dataclass(frozen=True)
class QueueData:
    now: float
    active: list[RunRow]  # queued and running, all of them
    finished: list[RunRow]  # the newest FINISHED_SHOWN


class Services:
    """Queries and changes for the screens; one per app."""

    def __init__(self, db: peewee.Database, *, readonly: bool, tz: tzinfo | None,
                 runtime: Runtime | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self.db = db
        self.readonly = readonly
        self.tz = tz
        self.runtime = runtime
        self.clock = clock

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
            c = run_svc.counts(self.db, since=now - 3600)
            return DashboardData(
                now=now, queued=c["queued"], running=c["running"], failed_last_hour=c["failed"],
                workers=workers_alive(self.db, now),
                failures=run_svc.list_runs(self.db, statuses=("failed",), limit=FAILURES_SHOWN),
            )

        return await self._read(load)

    async def queue(self) -> QueueData:
        def load() -> QueueData:
            now = self.now()
            active = run_svc.list_runs(self.db, statuses=("queued", "running"), limit=None, newest_first=False)
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
