"""Tasks: named, saved configurations of a job. Create, edit, delete (with runs), duplicate, list."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import peewee

from t4o_tui.engine.clock import SYSTEM_CLOCK, Clock
from t4o_tui.engine.job import UnknownJob, installed_jobs
from t4o_tui.engine.settings import SettingError, masked
from t4o_tui.store.models import (
    ORPHAN_POLICIES,
    Artifact,
    Run,
    Schedule,
    Share,
    Task,
    database_proxy,
)

NAME_MAX = 100
TIMEOUT_MAX = 7 * 86400.0


class TaskError(ValueError):
    """A task cannot be saved or found; the message says which field and why."""


@dataclass(frozen=True)
class TaskRow:
    id: int
    name: str
    job: str
    job_title: str
    category: str
    settings: dict[str, Any]
    direct: bool
    timeout: float | None
    on_orphan: str | None
    effective_timeout: float
    effective_on_orphan: str
    last_run_id: int | None
    last_status: str | None
    last_finished_at: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "job": self.job, "category": self.category,
            "settings": masked(self.settings), "direct": self.direct, "timeout": self.effective_timeout,
            "on_orphan": self.effective_on_orphan, "last_run": self.last_run_id, "last_status": self.last_status,
        }


@dataclass(frozen=True)
class TaskRef:
    """What a schedule or a run needs to know of a task: no settings, no model instance."""

    id: int
    name: str
    job: str
    direct: bool


# The task's columns in the model's order, for building a Task without Peewee's query builder.
_TASK_FIELDS = Task._meta.sorted_fields
_TASK_SQL = "SELECT " + ", ".join(f.column_name for f in _TASK_FIELDS) + " FROM task WHERE "


def _task_row(name_or_id: str | int, columns: str) -> tuple[Any, ...] | None:
    """The task's row by exact name, or by id when given a number that is not some task's name.

    Plain SQL: building the query through Peewee cost about 0.3 ms per lookup, most of the time
    of adding a schedule (issue 19); this is two index look-ups at most.
    """
    db = database_proxy.obj if database_proxy.obj is not None else Task._meta.database
    row = db.execute_sql(columns + "name = ?", (str(name_or_id),)).fetchone()
    if row is None and str(name_or_id).isdigit():
        row = db.execute_sql(columns + "id = ?", (int(name_or_id),)).fetchone()
    return tuple(row) if row is not None else None


def find_task(name_or_id: str | int) -> Task:
    """A task by exact name, or by id when given a number that is not some task's name."""
    row = _task_row(name_or_id, _TASK_SQL)
    if row is None:
        raise TaskError(f"unknown task '{name_or_id}'")
    # As Peewee builds a model from a query's row: its values converted, nothing dirty.
    task = Task(__no_default__=1, **{f.name: f.python_value(v) for f, v in zip(_TASK_FIELDS, row, strict=True)})
    task._dirty.clear()  # type: ignore[attr-defined]
    return task


def lookup_task(name_or_id: str | int) -> TaskRef:
    """find_task's answer without the model (and without parsing the settings)."""
    row = _task_row(name_or_id, "SELECT id, name, job, direct FROM task WHERE ")
    if row is None:
        raise TaskError(f"unknown task '{name_or_id}'")
    return TaskRef(id=int(row[0]), name=str(row[1]), job=str(row[2]), direct=bool(row[3]))


def _check_name(name: str, *, exclude_id: int | None = None) -> str:
    clean = " ".join(name.split())
    if not clean:
        raise TaskError("name: is required")
    if len(clean) > NAME_MAX:
        raise TaskError(f"name: at most {NAME_MAX} characters")
    q = Task.select().where(Task.name == clean)
    if exclude_id is not None:
        q = q.where(Task.id != exclude_id)
    if q.exists():
        raise TaskError(f"name: a task named '{clean}' already exists")
    return clean


def _check_common(timeout: float | None, on_orphan: str | None) -> None:
    if timeout is not None and not 0 < timeout <= TIMEOUT_MAX:
        raise TaskError(f"timeout: must be between 1s and {int(TIMEOUT_MAX // 86400)} days")
    if on_orphan is not None and on_orphan not in ORPHAN_POLICIES:
        raise TaskError(f"on_orphan: must be one of {', '.join(ORPHAN_POLICIES)}")


def validate_settings(job_id: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The job's settings, checked and with defaults filled in; TaskError listing every problem."""
    jobs = installed_jobs()
    try:
        job = jobs.job(job_id)
    except UnknownJob as exc:
        raise TaskError(f"job: {exc}") from None
    clean, errors = job.settings.validate(settings)
    if errors:
        raise TaskError("; ".join(str(e) for e in errors))
    # Settings that name a race or classes are checked against the event now, not at the next run.
    problems = jobs.check_references(clean) if database_proxy.obj is not None else []
    if problems:
        raise TaskError("; ".join(problems))
    return clean


def create_task(
    name: str, job: str, settings: dict[str, Any] | None = None, *, direct: bool = False,
    timeout: float | None = None, on_orphan: str | None = None, clock: Clock = SYSTEM_CLOCK,
) -> Task:
    clean_settings = validate_settings(job, settings or {})
    _check_common(timeout, on_orphan)
    now = clock.now()
    db = Task._meta.database
    with db.atomic():
        clean_name = _check_name(name)
        return Task.create(
            name=clean_name, job=job, settings=clean_settings, direct=direct, timeout=timeout,
            on_orphan=on_orphan, created_at=now, updated_at=now,
        )


_UNSET: Any = object()


def update_task(
    name_or_id: str | int, *, name: str | None = None, settings: dict[str, Any] | None = None,
    replace_settings: bool = False, direct: bool | None = None, timeout: float | None = _UNSET,
    on_orphan: str | None = _UNSET, clock: Clock = SYSTEM_CLOCK,
) -> Task:
    """Change a task; `settings` are merged into the current ones unless `replace_settings`."""
    db = Task._meta.database
    with db.atomic():
        task = find_task(name_or_id)
        if name is not None:
            task.name = _check_name(name, exclude_id=task.id)
        if settings is not None:
            merged = dict(settings) if replace_settings else {**task.settings, **settings}
            task.settings = validate_settings(task.job, {k: v for k, v in merged.items() if v is not None})
        if direct is not None:
            task.direct = direct
        if timeout is not _UNSET:
            task.timeout = timeout
        if on_orphan is not _UNSET:
            task.on_orphan = on_orphan
        _check_common(task.timeout, task.on_orphan)
        task.updated_at = clock.now()
        task.save()
        return task


@dataclass(frozen=True)
class TaskDependents:
    """What goes with a task when it is deleted: said before, so that nothing goes unasked."""

    runs: int
    schedules: int
    shares: int  # share links not revoked: their URLs stop working

    def text(self) -> str:
        """'2 runs and their logs, 1 schedule and 1 share link' (only what there is; 'no runs' when nothing)."""
        parts = [f"{n} {one if n == 1 else many}" for n, one, many in (
            (self.runs, "run and its log", "runs and their logs"), (self.schedules, "schedule", "schedules"),
            (self.shares, "share link", "share links")) if n]
        if not parts:
            return "no runs"
        return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


def task_dependents(name_or_id: str | int) -> TaskDependents:
    task = find_task(name_or_id)
    return TaskDependents(
        runs=Run.select().where(Run.task == task).count(),
        schedules=Schedule.select().where(Schedule.task == task).count(),
        shares=Share.select().where(Share.task == task, Share.revoked == False).count(),  # noqa: E712
    )


def delete_task(name_or_id: str | int) -> int:
    """Delete a task with its runs, logs, schedules, share links and files; returns how many runs went."""
    db = Task._meta.database
    with db.atomic():
        task = find_task(name_or_id)
        if Run.select().where(Run.task == task, Run.status == "running").exists():
            raise TaskError(f"task '{task.name}' has a running run; cancel it first")
        runs = Run.select().where(Run.task == task).count()
        files = [a.path for a in Artifact.select(Artifact.path).where(Artifact.task == task, Artifact.managed == True)]  # noqa: E712
        task.delete_instance()
    # Files go after the commit: a failed delete must not lose them.
    for path in files:
        Path(path).unlink(missing_ok=True)
    return runs


def duplicate_task(name_or_id: str | int, new_name: str | None = None, *, clock: Clock = SYSTEM_CLOCK) -> Task:
    src = find_task(name_or_id)
    if new_name is None:
        base, n = f"{src.name} (copy)", 2
        new_name = base
        while Task.select().where(Task.name == new_name).exists():
            new_name, n = f"{base} {n}", n + 1
    return create_task(new_name, src.job, dict(src.settings), direct=src.direct, timeout=src.timeout,
                       on_orphan=src.on_orphan, clock=clock)


def list_tasks(db: peewee.Database) -> list[TaskRow]:
    rows = db.execute_sql(
        "SELECT t.id, t.name, t.job, t.settings, t.direct, t.timeout, t.on_orphan, "
        "r.id, r.status, r.finished_at FROM task t "
        "LEFT JOIN run r ON r.id = (SELECT max(id) FROM run WHERE task_id = t.id) ORDER BY t.name"
    ).fetchall()
    out = []
    jobs = installed_jobs()
    for tid, name, job_id, settings, direct, timeout, on_orphan, rid, status, fin in rows:
        try:
            job = jobs.job(job_id)
            title, category, eff_timeout, eff_orphan = job.title, job.category, job.timeout, job.default_on_orphan()
        except UnknownJob:
            title, category, eff_timeout, eff_orphan = f"unknown job {job_id}", "Unknown", 3600.0, "fail"
        out.append(TaskRow(
            id=tid, name=name, job=job_id, job_title=title, category=category, settings=json.loads(settings),
            direct=bool(direct), timeout=timeout, on_orphan=on_orphan,
            effective_timeout=timeout or eff_timeout, effective_on_orphan=on_orphan or eff_orphan,
            last_run_id=rid, last_status=status, last_finished_at=fin,
        ))
    return out


def parse_settings_text(job_id: str, pairs: list[str]) -> dict[str, Any]:
    """`key=value` strings typed by an admin into typed settings; TaskError when one is wrong."""
    try:
        job = installed_jobs().job(job_id)
    except UnknownJob as exc:
        raise TaskError(f"job: {exc}") from None
    try:
        return job.settings.parse_assignments(pairs)
    except SettingError as exc:
        raise TaskError(str(exc)) from None
