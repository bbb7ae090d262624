"""What a job is, what it may use while it runs (the run context), and the registry of jobs.

The engine runs jobs but imports none: an entry point (cli, worker, TUI, the tests' and benches'
helpers) installs the registry that `t4o_tui.jobs.registry` builds with `install_jobs`, and the
engine looks every job up in it. So `import t4o_tui.engine` loads no job and none of their libraries.
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any, ClassVar

import peewee

from t4o_tui.engine.settings import Schema


class JobError(Exception):
    """A run failed for a reason the admin understands; the message is the run's one-line reason."""


class RunCancelled(Exception):
    """Raised inside a job when its run was cancelled or timed out; the job's transaction rolls back."""


class RunContext(abc.ABC):
    """The engine's side of a run, as a job sees it. Jobs run in a worker thread."""

    run_id: int
    task_name: str
    settings: dict[str, Any]
    #: The record a per-row schedule fired for, or None.
    row: dict[str, Any] | None
    db: peewee.Database
    data_dir: Path

    @abc.abstractmethod
    def log(self, level: str, message: str) -> None:
        """Add a line to the run's log (levels: debug, info, warning, error)."""

    def info(self, message: str) -> None:
        self.log("info", message)

    def warning(self, message: str) -> None:
        self.log("warning", message)

    @abc.abstractmethod
    def progress(self, fraction: float | None, message: str | None = None) -> None:
        """Report progress 0..1 (writes are throttled by the engine)."""

    @property
    @abc.abstractmethod
    def cancelled(self) -> bool:
        """True once the run was cancelled or passed its timeout. Check it at least every second."""

    def check(self) -> None:
        """Raise RunCancelled when the run should stop."""
        if self.cancelled:
            raise RunCancelled()

    @abc.abstractmethod
    def sleep(self, seconds: float) -> None:
        """Sleep, waking early (with RunCancelled) when the run is cancelled."""

    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[Any]:
        """A write transaction; it commits only if the run has not been cancelled meanwhile."""

    @abc.abstractmethod
    def output(self, name: str, media_type: str) -> AbstractContextManager[IO[bytes]]:
        """Write the run's output file atomically (temp file, flush, rename); it becomes the task's file."""

    @abc.abstractmethod
    def register_output(self, path: Path, media_type: str) -> None:
        """Record a file the job wrote itself in a place of the admin's choosing as the run's output."""


class Job(abc.ABC):
    """A kind of work the program knows how to do. Subclasses are registered in `t4o_tui.jobs.registry`."""

    id: ClassVar[str]
    title: ClassVar[str]
    category: ClassVar[str]
    description: ClassVar[str]
    settings: ClassVar[Schema] = Schema()
    #: May its schedules fire more often than once a minute?
    sub_minute: ClassVar[bool] = False
    #: Safe to run twice? Decides the orphan policy default (requeue vs fail "worker lost").
    idempotent: ClassVar[bool] = True
    #: Default timeout of a run in seconds; a task may override it.
    timeout: ClassVar[float] = 3600.0
    #: Media type of the file a run produces, or None when it produces none.
    produces: ClassVar[str | None] = None
    #: On PostgreSQL, keep its files in the database for the other machines' share servers? Not a
    #: copy of the database itself: each backup would carry the one before it.
    files_in_database: ClassVar[bool] = True

    @abc.abstractmethod
    def run(self, ctx: RunContext) -> None:
        """Do the work. Raise JobError for a clear failure; check ctx.cancelled often."""

    @classmethod
    def default_on_orphan(cls) -> str:
        return "requeue" if cls.idempotent else "fail"

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {
            "id": cls.id,
            "title": cls.title,
            "category": cls.category,
            "description": cls.description,
            "sub_minute": cls.sub_minute,
            "idempotent": cls.idempotent,
            "timeout": cls.timeout,
            "produces": cls.produces,
            "settings": [f.as_dict() for f in cls.settings.fields],
        }



class UnknownJob(LookupError):
    def __init__(self, job_id: str, known: list[str]) -> None:
        super().__init__(f"unknown job '{job_id}' (known: {', '.join(sorted(known))})")
        self.job_id = job_id


class JobTable(MutableMapping[str, type[Job]]):
    """Jobs by id, each imported where it lives when first asked for: a command that needs one job
    (`task add --job backup`) or none (`race list`, `log`) does not import all of them and their
    libraries (~0.15 s of every such command's start). Iterating yields ids and loads nothing;
    `values()` loads every job."""

    def __init__(self, where: Mapping[str, str]) -> None:
        """`where`: job id -> "module:ClassName"."""
        self._jobs: dict[str, str | type[Job]] = dict(where)

    def __getitem__(self, job_id: str) -> type[Job]:
        job = self._jobs[job_id]
        if isinstance(job, str):
            module, _, name = job.partition(":")
            job = self._jobs[job_id] = getattr(importlib.import_module(module), name)
        return job

    def __setitem__(self, job_id: str, job: type[Job]) -> None:  # a test's job of its own
        self._jobs[job_id] = job

    def __delitem__(self, job_id: str) -> None:
        del self._jobs[job_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._jobs)

    def __len__(self) -> int:
        return len(self._jobs)


class JobRegistry(Mapping[str, type[Job]]):
    """The jobs a process knows, by id, and the check of their settings against the event."""

    def __init__(self, jobs: Mapping[str, type[Job]],
                 check_references: Callable[[dict[str, Any]], list[str]] | None = None) -> None:
        # Kept by reference: a test may add a job of its own to the mapping.
        self.jobs = jobs
        #: Settings that name what the event lacks (a race, a class), one line each; run when a task is saved.
        self.check_references = check_references or (lambda settings: [])

    def __getitem__(self, job_id: str) -> type[Job]:
        return self.jobs[job_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.jobs)

    def __len__(self) -> int:
        return len(self.jobs)

    def job(self, job_id: str) -> type[Job]:
        """The job with this id; UnknownJob listing the known ones."""
        try:
            return self.jobs[job_id]
        except KeyError:
            raise UnknownJob(job_id, list(self.jobs)) from None

    def load_all(self) -> None:
        """Import every job now: a long-lived process (worker, TUI) then imports none mid-event,
        in the thread of a run."""
        for _ in self.jobs.values():
            pass


_installed: JobRegistry | None = None


def install_jobs(registry: JobRegistry) -> None:
    """Hand the engine the jobs this process runs; entry points call it before anything else."""
    global _installed
    _installed = registry


def installed_jobs() -> JobRegistry:
    """The registry an entry point installed."""
    if _installed is None:
        raise RuntimeError("no jobs installed: the entry point calls "
                           "t4o_tui.engine.job.install_jobs(t4o_tui.jobs.registry.REGISTRY) first")
    return _installed
