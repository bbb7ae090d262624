"""Schedules as the admin sees them: validate, add, edit, pause, resume, delete, preview, list.

The evaluator (engine/evaluator.py) fires them; this module only stores what the admin decided,
and computes what the dashboard and the editors show.
"""

from __future__ import annotations

import getpass
import heapq
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import peewee

from t4o_tui.engine import schedule_math as sm
from t4o_tui.engine import schedule_rules as rules
from t4o_tui.engine.clock import SYSTEM_CLOCK, Clock
from t4o_tui.engine.date_sources import (
    SOURCES,
    DateRow,
    DateSource,
    UnknownSource,
    find_row,
    get_source,
)
from t4o_tui.engine.job import installed_jobs
from t4o_tui.engine.tasks import TaskError, TaskRef, find_task, lookup_task
from t4o_tui.store.models import (
    CATCH_UP_POLICIES,
    OVERLAP_POLICIES,
    SCHEDULE_KINDS,
    Schedule,
    ScheduleEvent,
)
from t4o_tui.timefmt import iso, parse_when

CATCH_UP_WINDOW_MAX = 7 * 86400.0
# No interval or offset an event needs is longer than a year: a longer one is a typo (the CLI, the
# TUI and the API all come through validate, so all refuse it).
DURATION_MAX_DAYS = 366
MAX_CATCH_UP_ALL = rules.MAX_CATCH_UP_ALL


class ScheduleInvalid(ValueError):
    """A schedule cannot be saved; `errors` name each field and what is wrong."""

    def __init__(self, errors: list[sm.ScheduleError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


@dataclass
class ScheduleInput:
    """What an admin typed into the schedule form or the CLI, already parsed into values."""

    task: str | int
    kind: str
    start: float | None = None
    expiry: float | None = None
    tz: str = "UTC"
    every: float | None = None
    cron: str | None = None
    at: float | None = None
    max_runs: int | None = None
    catch_up: str = "latest"
    catch_up_window: float = 3600.0
    overlap: str = "buffer_one"
    source: str | None = None
    source_key: str | None = None
    start_offset: float | None = None
    expiry_offset: float | None = None
    row_offset: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _zone_ok(tz: str) -> bool:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def repeat_kind(kind: str, every: float | None, cron: str | None) -> str:
    """The math kind behind a schedule kind: a window repeats by interval or by cron."""
    if kind == "window":
        return "interval" if every is not None else "cron"
    return kind


def window_bounds(db: peewee.Database, s: Schedule | ScheduleInput) -> tuple[float, float] | None:
    """Start and expiry of an anchored window from its record's date, or None when not set."""
    try:
        source = get_source(s.source or "")
    except UnknownSource:
        return None
    row = find_row(source, db, str(s.source_key))
    if row is None or row.at is None:
        return None
    return row.at + (s.start_offset or 0.0), row.at + (s.expiry_offset or 0.0)


def follow_record(db: peewee.Database, s: Schedule) -> Schedule:
    """An anchored window as its record says now: start, expiry and next fire (in memory only).

    The evaluator writes them into the row when it sees the record move; this is for the lists
    when no evaluator has yet (or none runs): they must not show the old window ("next: 14
    seconds ago") once the race's first start was edited.
    """
    if s.kind != "window":
        return s
    bounds = window_bounds(db, s)
    if bounds is None or bounds == (s.start, s.expiry):
        return s
    s.start, s.expiry = bounds
    nxt = sm.next_fire(spec_of(s, bounds), s.evaluated_until, fired=s.fired_count)
    due = nxt.nominal if nxt else None
    if s.paused and s.paused_until is not None and (due is None or s.paused_until < due):
        due = s.paused_until  # as the evaluator keeps it: the pause's end is the next thing to happen
    s.next_fire = due
    return s


def spec_of(s: Schedule | ScheduleInput, bounds: tuple[float, float] | None = None) -> sm.ScheduleSpec:
    start, expiry = bounds if bounds else (s.start or 0.0, s.expiry or 0.0)
    return sm.ScheduleSpec(
        kind=repeat_kind(s.kind, s.every, s.cron), start=start, expiry=expiry, tz=s.tz,
        every=s.every, cron=s.cron, at=s.at, max_runs=s.max_runs,
    )


# -- validation: one small check per concern, and one per kind --------------------------------------
Errors = list[sm.ScheduleError]
Bounds = tuple[float, float]


def _job_of(data: ScheduleInput, errors: Errors) -> tuple[str, bool]:
    """The task's job title and whether it allows sub-minute schedules.

    Without a task or a job, the task error is the one error about it: the job's own rule (how
    often it may run) cannot be checked, so it is not reported as broken (no second, wrong
    'Job "?" may not run more often than once a minute').
    """
    try:
        task = lookup_task(data.task)
    except TaskError as exc:
        errors.append(sm.ScheduleError("task", str(exc)))
        return "?", True
    job = installed_jobs().get(task.job)
    if job is None:
        errors.append(sm.ScheduleError("task", f"task '{task.name}' has an unknown job '{task.job}'"))
        return "?", True
    return job.title, job.sub_minute


def _one_of(field_name: str, value: str, allowed: tuple[str, ...]) -> sm.ScheduleError | None:
    return None if value in allowed else sm.ScheduleError(field_name, f"'{value}' is not one of: {', '.join(allowed)}")


# Fields every kind has: (check, or None when the value is fine).
_COMMON_CHECKS: tuple[Callable[[ScheduleInput], sm.ScheduleError | None], ...] = (
    lambda d: None if _zone_ok(d.tz) else sm.ScheduleError(
        "tz", f"unknown time zone '{d.tz}' (use an IANA name like Europe/Oslo)"),
    lambda d: _one_of("catch_up", d.catch_up, CATCH_UP_POLICIES),
    lambda d: None if 0 < d.catch_up_window <= CATCH_UP_WINDOW_MAX else sm.ScheduleError(
        "catch_up_window", "must be more than 0 and at most 7 days"),
    lambda d: _one_of("overlap", d.overlap, OVERLAP_POLICIES),
    lambda d: None if d.max_runs is None or d.max_runs >= 1 else sm.ScheduleError(
        "max_runs", f"must be at least 1 (got {d.max_runs})"),
    *(lambda d, f=f: _at_most_a_year(f, getattr(d, f)) for f in ("every", "start_offset", "expiry_offset", "row_offset")),
)


def _at_most_a_year(field_name: str, seconds: float | None) -> sm.ScheduleError | None:
    """An interval or offset longer than DURATION_MAX_DAYS (either sign) is refused, naming its field."""
    if seconds is None or not abs(seconds) > DURATION_MAX_DAYS * 86400:  # NaN: the math check says so
        return None
    return sm.ScheduleError(field_name, f"at most {DURATION_MAX_DAYS} days (got {abs(seconds) / 86400:g} days)")


def _source_for(data: ScheduleInput, errors: Errors) -> DateSource | None:
    """The date source a window or per-row schedule names, if it exists and suits the kind."""
    if not data.source:
        errors.append(sm.ScheduleError("source", f"a date source is required (one of: {', '.join(sorted(SOURCES))})"))
        return None
    try:
        source = get_source(data.source)
    except UnknownSource as exc:
        errors.append(sm.ScheduleError("source", str(exc)))
        return None
    if data.kind == "window" and not source.window:
        errors.append(sm.ScheduleError("source", f"{source.label} has many rows: use it for a per-row schedule"))
        return None
    if data.kind == "per_row" and not source.per_row:
        errors.append(sm.ScheduleError("source", f"{source.label} is one record's date: use it for a window"))
        return None
    return source


def _timed_bounds(db: peewee.Database, data: ScheduleInput, errors: Errors) -> Bounds | None:
    """interval, cron, once: start and expiry as given (both required)."""
    errors.extend(sm.ScheduleError(name, "is required") for name in ("start", "expiry") if getattr(data, name) is None)
    if data.start is None or data.expiry is None:
        return None
    return data.start, data.expiry


def _window_bounds(db: peewee.Database, data: ScheduleInput, errors: Errors) -> Bounds | None:
    """An anchored window: one repeat rule, offsets in order, and a record whose date is set."""
    if (data.every is None) == (data.cron is None):
        errors.append(sm.ScheduleError("every", "an anchored window repeats by interval (every) or by cron: give exactly one"))
    source = _source_for(data, errors)
    if source is None:
        return None
    if data.start_offset is None or data.expiry_offset is None:
        errors.append(sm.ScheduleError("start_offset", "an anchored window needs a start offset and an expiry offset"))
    elif data.expiry_offset <= data.start_offset:
        errors.append(sm.ScheduleError("expiry_offset", "must be after the start offset"))
    row = find_row(source, db, str(data.source_key)) if data.source_key is not None else None
    if row is None:
        errors.append(sm.ScheduleError("source_key", f"no record '{data.source_key}' in {source.label}"))
        return None
    if row.at is None:
        errors.append(sm.ScheduleError("source_key", f"{source.label} of '{row.label}' is not set"))
        return None
    return window_bounds(db, data)


def _per_row_bounds(db: peewee.Database, data: ScheduleInput, errors: Errors) -> Bounds | None:
    """A per-row schedule: a per-row source, and start and expiry in order. No spec: rows are its times."""
    _source_for(data, errors)
    if data.start is None or data.expiry is None:
        errors.append(sm.ScheduleError("start", "a per-row schedule needs a start and an expiry"))
    elif data.expiry <= data.start:
        errors.append(sm.ScheduleError("expiry", "must be after start"))
    return None


# kind -> its own checks, returning the start and expiry to check the fire-time math with (None:
# no math to check, because a field is missing or the kind has no fire-time rule).
_KIND_CHECKS: dict[str, Callable[[peewee.Database, ScheduleInput, Errors], Bounds | None]] = {
    "interval": _timed_bounds, "cron": _timed_bounds, "once": _timed_bounds,
    "window": _window_bounds, "per_row": _per_row_bounds,
}


def validate(db: peewee.Database, data: ScheduleInput) -> tuple[sm.ScheduleSpec | None, list[sm.ScheduleError]]:
    """Every problem with a schedule, each naming its field; and its spec when the math is valid."""
    errors: Errors = []
    job_title, sub_minute = _job_of(data, errors)
    kind_checks = _KIND_CHECKS.get(data.kind)
    if kind_checks is None:
        errors.append(sm.ScheduleError("kind", f"'{data.kind}' is not one of: {', '.join(SCHEDULE_KINDS)}"))
        return None, errors
    errors += [e for e in (check(data) for check in _COMMON_CHECKS) if e is not None]
    bounds = kind_checks(db, data, errors)
    if bounds is None:
        if data.kind in ("interval", "cron"):
            # The repeat rule is checked on its own too, so one try names a wrong expression as
            # well as a missing start (the bounds here only stand in for the missing ones).
            rule_field = "every" if data.kind == "interval" else "cron"
            rule = sm.validate(replace(spec_of(data, (0.0, 1.0)), tz=data.tz if _zone_ok(data.tz) else "UTC"),
                               job_title=job_title, allows_sub_minute=sub_minute)
            errors.extend(e for e in rule if e.field == rule_field)
        return None, errors
    spec = spec_of(data, bounds)
    if not _zone_ok(data.tz):
        spec = replace(spec, tz="UTC")  # the zone is reported already; check the rest as if UTC
    math_errors = sm.validate(spec, job_title=job_title, allows_sub_minute=sub_minute)
    errors.extend(math_errors)
    return (spec if not math_errors else None), errors


def _check(db: peewee.Database, data: ScheduleInput) -> sm.ScheduleSpec | None:
    spec, errors = validate(db, data)
    if errors:
        raise ScheduleInvalid(errors)
    return spec


_INPUT_COLUMNS = tuple(f.name for f in fields(ScheduleInput) if f.name not in ("task", "extra"))


def _columns(data: ScheduleInput) -> dict[str, Any]:
    # Its fields are plain values: no deep copy (dataclasses.asdict) needed.
    return {name: getattr(data, name) for name in _INPUT_COLUMNS}


# Every column of a new schedule, in the model's order: one plain INSERT per schedule. Peewee's
# query building was most of the 2.5 ms an add took (issue 19); this way an add is about 0.1 ms.
_NEW_FIELDS = [f for f in Schedule._meta.sorted_fields if f.name != "id"]
_INSERT_SQL = (
    "INSERT INTO schedule(" + ", ".join(f.column_name for f in _NEW_FIELDS) + ") VALUES ("
    + ", ".join("?" * len(_NEW_FIELDS)) + ") RETURNING id"
)


class SchedulesInvalid(ScheduleInvalid):
    """Some schedules of a batch cannot be saved (none is): `problems` are (position from 1, task,
    errors) of each bad one, and the message names each by its position and task."""

    SHOWN = 5  # problems spelled out in the message; the rest are counted

    def __init__(self, problems: list[tuple[int, str, list[sm.ScheduleError]]], total: int) -> None:
        super().__init__([e for _, _, errs in problems for e in errs])
        self.problems = problems
        parts = [
            f"schedule {pos} of {total} (task '{task}'): " + "; ".join(f"{e.field}: {e.message}" for e in errs)
            for pos, task, errs in problems[: self.SHOWN]
        ]
        if len(problems) > self.SHOWN:
            parts.append(f"and {len(problems) - self.SHOWN} more invalid schedule(s)")
        self.args = (" | ".join(parts),)

    def __str__(self) -> str:
        return str(self.args[0])


# (cron, zone, start when later than now) -> (after, the first fire after `after`). That fire is
# also the first after any later instant before it: new schedules of one expression, created
# one by one, share the croniter walk (0.4 ms each) for as long as their next fire lies ahead.
_CRON_NEXT: dict[tuple[str | None, str, float | None], tuple[float, sm.Fire | None]] = {}
_CRON_NEXT_MAX = 1024


@dataclass
class _Batch:
    """Look-ups that schedules created together share: their tasks, and cron fires after `now`."""

    now: float
    tasks: dict[str, TaskRef] = field(default_factory=dict)

    def task(self, ref: str | int) -> TaskRef:
        got = self.tasks.get(str(ref))
        if got is None:
            got = self.tasks[str(ref)] = lookup_task(ref)
        return got

    def next_fire(self, spec: sm.ScheduleSpec) -> sm.Fire | None:
        """sm.next_fire(spec, now) for a new schedule (nothing fired yet).

        A cron schedule's first fire after now depends on its expression, zone and start (when
        that is later than now) only, up to its expiry: schedules of one expression share it.
        """
        if spec.kind != "cron":
            return sm.next_fire(spec, self.now)
        key = (spec.cron, spec.tz, spec.start if spec.start > self.now else None)
        known = _CRON_NEXT.get(key)
        if known is not None and known[0] <= self.now and (known[1] is None or self.now < known[1].nominal):
            nxt = known[1]
        else:
            nxt = sm.next_fire(replace(spec, expiry=math.inf, max_runs=None), self.now)
            if len(_CRON_NEXT) >= _CRON_NEXT_MAX:
                _CRON_NEXT.clear()
            _CRON_NEXT[key] = (self.now, nxt)
        return nxt if nxt is not None and nxt.nominal <= spec.expiry else None


def _new_row(db: peewee.Database, data: ScheduleInput, batch: _Batch, errors: Errors) -> dict[str, Any] | None:
    """The column values of a new schedule (None when invalid: `errors` then say why)."""
    spec, found = validate(db, data)
    if found:
        errors.extend(found)
        return None
    now = batch.now
    ref = batch.task(data.task)
    cols = _columns(data)
    if spec is not None:
        cols["start"], cols["expiry"] = spec.start, spec.expiry
    nxt = batch.next_fire(spec) if spec is not None else None
    cols.update(task=ref.id, armed_at=now, evaluated_until=now, fired_count=0, paused=False, pause_note=None,
                paused_until=None, next_fire=nxt.nominal if nxt else None, created_at=now, updated_at=now)
    return cols


def _insert(db: peewee.Database, cols: dict[str, Any]) -> int:
    # A column the input does not set (added by a later schema) gets the model's default.
    values = [f.db_value(cols[f.name] if f.name in cols else f.default() if callable(f.default) else f.default)
              for f in _NEW_FIELDS]
    return int(db.execute_sql(_INSERT_SQL, values).fetchone()[0])


def add_schedule(db: peewee.Database, data: ScheduleInput, *, clock: Clock = SYSTEM_CLOCK) -> Schedule:
    """Save a new schedule; it fires only for times after now."""
    errors: Errors = []
    cols = _new_row(db, data, _Batch(clock.now()), errors)
    if cols is None:
        raise ScheduleInvalid(errors)
    with db.atomic():
        sid = _insert(db, cols)
    # The saved row as Peewee would have read it back (its values are the ones just written).
    s = Schedule(__no_default__=1, id=sid, **cols)
    s._dirty.clear()  # type: ignore[attr-defined]
    return s


def add_schedules(db: peewee.Database, inputs: Sequence[ScheduleInput], *, clock: Clock = SYSTEM_CLOCK) -> list[int]:
    """Save many new schedules in one transaction, all or none; returns their ids in input order.

    Every input is checked before anything is written; SchedulesInvalid names each bad one by
    its position (from 1) and task. For an admin creating schedules by the hundred (a file, the
    demo): 10,000 take about a second, where separate add_schedule calls each pay a commit.
    """
    batch = _Batch(clock.now())
    rows: list[dict[str, Any]] = []
    problems: list[tuple[int, str, list[sm.ScheduleError]]] = []
    for pos, data in enumerate(inputs, 1):
        errors: Errors = []
        cols = _new_row(db, data, batch, errors)
        if cols is None:
            problems.append((pos, str(data.task), errors))
        else:
            rows.append(cols)
    if problems:
        raise SchedulesInvalid(problems, len(inputs))
    with db.atomic():
        return [_insert(db, cols) for cols in rows]


def edit_schedule(db: peewee.Database, schedule_id: int, changes: dict[str, Any], *, clock: Clock = SYSTEM_CLOCK) -> Schedule:
    """Change a schedule; the next fire is recomputed from now, and nothing in the past fires."""
    with db.atomic():
        s = get_schedule(schedule_id)
        data = to_input(s)
        for key, value in changes.items():
            if not hasattr(data, key):
                raise ScheduleInvalid([sm.ScheduleError(key, "unknown field")])
            setattr(data, key, value)
        spec = _check(db, data)
        now = clock.now()
        for key, value in _columns(data).items():
            setattr(s, key, value)
        if spec is not None:
            s.start, s.expiry = spec.start, spec.expiry
        s.task = find_task(data.task)
        nxt = sm.next_fire(spec, now, fired=s.fired_count) if spec is not None else None
        s.next_fire = nxt.nominal if nxt else None
        s.armed_at = s.evaluated_until = now
        s.updated_at = now
        s.save()
        return s


def to_input(s: Schedule) -> ScheduleInput:
    return ScheduleInput(
        task=s.task_id, kind=s.kind, start=s.start, expiry=s.expiry, tz=s.tz, every=s.every, cron=s.cron,
        at=s.at, max_runs=s.max_runs, catch_up=s.catch_up, catch_up_window=s.catch_up_window,
        overlap=s.overlap, source=s.source, source_key=s.source_key, start_offset=s.start_offset,
        expiry_offset=s.expiry_offset, row_offset=s.row_offset,
    )


def get_schedule(schedule_id: int) -> Schedule:
    s = Schedule.get_or_none(Schedule.id == schedule_id)
    if s is None:
        raise LookupError(f"unknown schedule {schedule_id}")
    return s


# -- a pause: its note and its end, as every form and command reads them --------------------------------
PAUSE_NOTE_MAX = 200


def pause_note(text: str | None) -> str | None:
    """A pause note as stored: whitespace runs made one space, at most PAUSE_NOTE_MAX characters,
    None when empty. ValueError says what is wrong."""
    t = " ".join((text or "").split())
    if len(t) > PAUSE_NOTE_MAX:
        raise ValueError(f"at most {PAUSE_NOTE_MAX} characters (got {len(t)})")
    return t or None


def pause_until(at: float | None, now: float, *, keep: float | None = None) -> float | None:
    """When a pause ends by itself: an instant in the future, or None (until resumed). `keep` is
    the end already set, accepted as it is (a form saved again unchanged). ValueError says why not."""
    if at is not None and at <= now and at != keep:
        raise ValueError("must be in the future (empty: until resumed)")
    return at


def parse_pause_until(text: str, now: float, tz: tzinfo | None, *, keep: float | None = None) -> float | None:
    """A pause's end as typed in a form (ISO 8601, 'now', '+10m', a clock time; empty: until resumed), held to pause_until's rule."""
    if not text.strip():
        return None
    return pause_until(parse_when(text, now, tz), now, keep=keep)


def operator_name() -> str:
    """Who changes a schedule from this process: T4O_USER, else the login (written with each pause)."""
    try:
        return os.environ.get("T4O_USER") or getpass.getuser()
    except (KeyError, OSError):
        return "admin"


def pause_schedule(db: peewee.Database, schedule_id: int, *, note: str | None = None, until: float | None = None,
                   clock: Clock = SYSTEM_CLOCK, who: str | None = None) -> Schedule:
    """Pause: times passed while paused are recorded as 'paused', not run. `until` resumes by itself.

    Each pause is kept in the schedule's history (schedule_event) with who, when, the note and the
    end; pausing again with another note or end is a new record, the same pause again is none.
    """
    with db.atomic():
        s = get_schedule(schedule_id)
        now = clock.now()
        errors = []
        for field_name, check in (("note", lambda: pause_note(note)), ("until", lambda: pause_until(until, now))):
            try:
                check()
            except ValueError as exc:
                errors.append(sm.ScheduleError(field_name, str(exc)))
        if errors:
            raise ScheduleInvalid(errors)
        same = bool(s.paused) and s.pause_note == pause_note(note) and s.paused_until == until
        s.paused, s.pause_note, s.paused_until, s.updated_at = True, pause_note(note), until, now
        s.save()
        if not same:
            ScheduleEvent.create(schedule=s.id, kind="pause", at=now, who=who or operator_name(),
                                 note=s.pause_note, paused_until=until)
        return s


def resume_schedule(db: peewee.Database, schedule_id: int, *, clock: Clock = SYSTEM_CLOCK,
                    who: str | None = None) -> Schedule:
    """Resume now; recorded in the history when the schedule was paused (a resume of a running
    schedule changes nothing). The scheduler's own resume, at a pause's end, is the evaluator's."""
    with db.atomic():
        s = get_schedule(schedule_id)
        was_paused, now = bool(s.paused), clock.now()
        s.paused, s.paused_until, s.updated_at = False, None, now
        s.save()
        if was_paused:
            ScheduleEvent.create(schedule=s.id, kind="resume", at=now, who=who or operator_name())
        return s


def delete_schedule(db: peewee.Database, schedule_id: int) -> None:
    with db.atomic():
        get_schedule(schedule_id).delete_instance()


# -- what the screens show ------------------------------------------------------------------------------
def describe(db: peewee.Database, s: Schedule | ScheduleInput) -> str:
    """Plain language, including the date-field modes."""
    if s.kind == "per_row":
        source = SOURCES.get(s.source or "")
        label = source.label.lower() if source else s.source
        off = s.row_offset or 0.0
        when = "at" if off == 0 else f"{sm.format_duration(abs(off))} {'after' if off > 0 else 'before'}"
        return f"once for each row, {when} its {label}"
    if s.kind == "window":
        source = SOURCES.get(s.source or "")
        label = source.label.lower() if source else s.source
        inner = spec_of(s, (0.0, 1.0))
        rule = sm.describe(inner) if (s.every or s.cron) else "?"
        so, eo = s.start_offset or 0.0, s.expiry_offset or 0.0
        return f"{rule}, from {_signed(so)} to {_signed(eo)} around {label} ({s.source_key})"
    return sm.describe(spec_of(s))


def _signed(seconds: float) -> str:
    return ("−" if seconds < 0 else "+") + sm.format_duration(abs(seconds)) if seconds else "±0"


def preview(db: peewee.Database, s: Schedule | ScheduleInput, *, after: float, k: int = 5) -> list[sm.Fire]:
    """The next `k` fire times (DST-affected ones carry `dst`)."""
    if s.kind == "per_row":
        return [sm.Fire(t) for t, _ in row_fires(db, s, after=after, k=k)]
    bounds = window_bounds(db, s) if s.kind == "window" else None
    if s.kind == "window" and bounds is None:
        return []
    fired = s.fired_count if isinstance(s, Schedule) else 0
    return sm.next_fires(spec_of(s, bounds), after, k, fired=fired)


def row_fires(db: peewee.Database, s: Schedule | ScheduleInput, *, after: float, k: int = 5,
              rows: list[DateRow] | None = None) -> list[tuple[float, str]]:
    """A per-row schedule's next `k` times with the row each is for: each row's date + offset,
    after `after`, inside start and expiry. `rows`: the source's rows when already read."""
    source = SOURCES.get(s.source or "")
    if source is None:
        return []
    off, start, expiry = s.row_offset or 0.0, s.start or 0.0, s.expiry or 0.0
    times = sorted((r.at + off, r.label) for r in (rows if rows is not None else source.fetch(db))
                   if r.at is not None)
    return [(t, label) for t, label in times if t > after and start <= t <= expiry][:k]


@dataclass(frozen=True)
class ScheduleRow:
    id: int
    task_id: int
    task: str
    job: str
    kind: str
    description: str
    tz: str
    start: float
    expiry: float
    next_fire: float | None
    paused: bool
    pause_note: str | None
    paused_until: float | None
    fired_count: int
    max_runs: int | None
    catch_up: str
    overlap: str
    state: str  # active | upcoming | paused | ended
    last_nominal: float | None
    last_state: str | None
    last_run_status: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "task": self.task, "job": self.job, "kind": self.kind, "description": self.description,
            "timezone": self.tz, "start": iso(self.start), "expiry": iso(self.expiry), "next": iso(self.next_fire),
            "state": self.state, "paused": self.paused, "pause_note": self.pause_note,
            "paused_until": iso(self.paused_until), "fired": self.fired_count, "max_runs": self.max_runs,
            "catch_up": self.catch_up, "overlap": self.overlap, "last_occurrence": iso(self.last_nominal),
            "last_state": self.last_state, "last_run_status": self.last_run_status,
        }


def schedule_state(s: Schedule, now: float) -> str:
    """active = not paused, now inside [start, expiry], max runs not reached, a time still to come.

    ended: past expiry, max runs reached, or no time left to fire: the evaluator (or the add or
    edit that armed the schedule) found no fire after the last instant it evaluated, e.g. a once
    schedule whose time was coalesced into another schedule's queued run of its task.
    """
    if s.max_runs is not None and s.fired_count >= s.max_runs:
        return "ended"
    if now > s.expiry:
        return "ended"
    if s.next_fire is None and s.kind in ("interval", "cron", "once"):
        return "ended"
    if s.paused:
        return "paused"
    if now < s.start:
        return "upcoming"
    return "active"


# schedule_state in SQL, for counting by state without loading rows; its two ? are both `now`.
STATE_SQL = (
    "CASE WHEN max_runs IS NOT NULL AND fired_count >= max_runs THEN 'ended' WHEN ? > expiry THEN 'ended' "
    "WHEN next_fire IS NULL AND kind IN ('interval', 'cron', 'once') THEN 'ended' "
    "WHEN paused <> 0 THEN 'paused' WHEN ? < start THEN 'upcoming' ELSE 'active' END"
)


def list_schedules(db: peewee.Database, *, now: float, task: str | int | None = None,
                   states: tuple[str, ...] | None = None) -> list[ScheduleRow]:
    """Schedules with their next fire, last occurrence and last run; ordered by next fire."""
    q = Schedule.select().order_by(Schedule.id)
    if task is not None:
        q = q.where(Schedule.task == find_task(task).id)
    rows, _ = schedule_rows(db, list(q), now)
    return [r for r in rows if not states or r.state in states]


# Above this many schedules, schedule_rows reads the last occurrences of all of them in one
# aggregate rather than naming each id (SQLite caps the parameters of a statement).
_BY_ID_UP_TO = 500


def schedule_rows(db: peewee.Database, schedules: list[Schedule], now: float, *,
                  describer: Callable[[peewee.Database, Schedule], str] | None = None,
                  ) -> tuple[list[ScheduleRow], list[int]]:
    """ScheduleRows for these schedules, soonest next fire first, and the ids of their last runs
    (whose status the rows show). The one builder of schedule rows: the CLI's lists and the
    dashboard (which passes only the rows it shows and a caching `describer`) agree by construction."""
    if not schedules:
        return [], []
    words = describer or describe
    schedules = [follow_record(db, s) for s in schedules]
    ids = [s.id for s in schedules]
    where, params = ("WHERE schedule_id IN (" + ",".join("?" * len(ids)) + ")", ids) \
        if len(ids) <= _BY_ID_UP_TO else ("", [])
    last = {r[0]: r[1:] for r in db.execute_sql(
        "SELECT schedule_id, nominal, last_nominal, state FROM occurrence WHERE id IN "
        f"(SELECT max(id) FROM occurrence {where} GROUP BY schedule_id)", params).fetchall()}
    last_run = {r[0]: (r[1], r[2]) for r in db.execute_sql(
        "SELECT o.schedule_id, r.id, r.status FROM occurrence o JOIN run r ON r.id = o.run_id WHERE o.id IN "
        f"(SELECT max(id) FROM occurrence {where or 'WHERE 1'} AND run_id IS NOT NULL GROUP BY schedule_id)",
        params).fetchall()}
    task_ids = sorted({s.task_id for s in schedules})
    task_where = f"WHERE id IN ({','.join('?' * len(task_ids))})" if len(task_ids) <= _BY_ID_UP_TO else ""
    tasks = {r[0]: (r[1], r[2]) for r in db.execute_sql(
        f"SELECT id, name, job FROM task {task_where}", task_ids if task_where else []).fetchall()}
    out = []
    source_rows: dict[str, list[DateRow]] = {}  # each date source read once
    for s in schedules:
        state = schedule_state(s, now)
        nominal, last_nominal, last_state = last.get(s.id, (None, None, None))
        name, job = tasks.get(s.task_id, ("?", "?"))
        next_fire = s.next_fire if state != "ended" else None
        if s.kind == "per_row" and next_fire is None and state != "ended" and s.source in SOURCES:
            # The evaluator keeps no single next time for a per-row schedule: its next row's.
            if s.source not in source_rows:
                source_rows[s.source] = SOURCES[s.source].fetch(db)
            upcoming = row_fires(db, s, after=now, k=1, rows=source_rows[s.source])
            next_fire = upcoming[0][0] if upcoming else None
        out.append(ScheduleRow(
            id=s.id, task_id=s.task_id, task=name, job=job, kind=s.kind, description=words(db, s), tz=s.tz,
            start=s.start, expiry=s.expiry, next_fire=next_fire,
            paused=s.paused, pause_note=s.pause_note, paused_until=s.paused_until, fired_count=s.fired_count,
            max_runs=s.max_runs, catch_up=s.catch_up, overlap=s.overlap, state=state,
            last_nominal=last_nominal or nominal, last_state=last_state,
            last_run_status=last_run.get(s.id, (None, None))[1],
        ))
    out.sort(key=lambda r: (r.next_fire is None, r.next_fire or 0.0, r.id))
    return out, sorted(rid for rid, _ in last_run.values())


def dashboard_schedules(db: peewee.Database, *, now: float) -> list[ScheduleRow]:
    """Active and upcoming schedules (and paused ones, which an admin must see), soonest first."""
    return list_schedules(db, now=now, states=("active", "upcoming", "paused"))


@dataclass(frozen=True)
class OccurrenceRow:
    id: int
    schedule_id: int
    task: str
    nominal: float
    last_nominal: float | None
    count: int
    actual: float | None
    state: str
    run_id: int | None
    run_status: str | None
    reason: str | None
    row_key: str | None

    @property
    def lateness_ms(self) -> float | None:
        return None if self.actual is None else round((self.actual - self.nominal) * 1000.0, 3)

    @property
    def sort_time(self) -> float:
        return self.nominal

    def as_json(self) -> dict[str, Any]:
        """The fixed JSON shape of `t4o-tui occurrences --json` (plus count/last_nominal for ranges;
        the pause and resume keys, null here, are a ScheduleEventRow's)."""
        return {
            "schedule": self.schedule_id, "nominal": iso(self.nominal), "actual": iso(self.actual),
            "lateness_ms": self.lateness_ms, "state": self.state, "run": self.run_id, "reason": self.reason,
            "count": self.count, "last_nominal": iso(self.last_nominal), **dict.fromkeys(EVENT_KEYS),
        }


def list_occurrences(db: peewee.Database, *, schedule_id: int | None = None, limit: int | None = 200) -> list[OccurrenceRow]:
    sql = (
        "SELECT o.id, o.schedule_id, t.name, o.nominal, o.last_nominal, o.count, o.actual, o.state, o.run_id, "
        "r.status, o.reason, o.row_key FROM occurrence o JOIN schedule s ON s.id = o.schedule_id "
        "JOIN task t ON t.id = s.task_id LEFT JOIN run r ON r.id = o.run_id"
    )
    params: list[Any] = []
    if schedule_id is not None:
        get_schedule(schedule_id)
        sql += " WHERE o.schedule_id = ?"
        params.append(schedule_id)
    sql += " ORDER BY o.id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [OccurrenceRow(*r) for r in db.execute_sql(sql, params).fetchall()]


# -- a schedule's pauses and resumes, and its history (occurrences and those, newest first) --------------
EVENT_KEYS = ("event", "at", "who", "note", "until")


@dataclass(frozen=True)
class ScheduleEventRow:
    """A pause or a resume (the schedule_event table). `who` None: the scheduler resumed it when
    the pause's end passed (`paused_until` is that end)."""

    id: int
    schedule_id: int
    task: str
    kind: str  # pause | resume
    at: float
    who: str | None
    note: str | None
    paused_until: float | None

    @property
    def state(self) -> str:
        return self.kind

    @property
    def sort_time(self) -> float:
        return self.at

    def reason_text(self, when: Callable[[float], str] = lambda t: iso(t) or "") -> str:
        """One line: who, the note, and the end ('paused by anna: course change · until 15:00');
        `when` writes the end's time (ISO by default; the TUI writes it as its other times)."""
        if self.kind == "resume" and self.who is None:
            return "resumed by the scheduler: the pause's end passed"
        text = f"{'paused' if self.kind == 'pause' else 'resumed'} by {self.who}"
        if self.note:
            text += f": {self.note}"
        if self.kind == "pause":
            text += f" · until {when(self.paused_until)}" if self.paused_until is not None else " · until resumed"
        return text

    def as_json(self) -> dict[str, Any]:
        """An occurrence's keys (`nominal`: when it happened, `state`: pause or resume), and the
        event's own: `event`, `at`, `who` (null: by the scheduler), `note`, `until`."""
        return {
            "schedule": self.schedule_id, "nominal": iso(self.at), "actual": None, "lateness_ms": None,
            "state": self.kind, "run": None, "reason": self.reason_text(), "count": 1, "last_nominal": None,
            "event": self.kind, "at": iso(self.at), "who": self.who, "note": self.note,
            "until": iso(self.paused_until),
        }


HistoryRow = OccurrenceRow | ScheduleEventRow


def list_schedule_events(db: peewee.Database, *, schedule_id: int | None = None,
                         limit: int | None = 200) -> list[ScheduleEventRow]:
    """Pauses and resumes, newest first."""
    sql = ("SELECT e.id, e.schedule_id, t.name, e.kind, e.at, e.who, e.note, e.paused_until FROM schedule_event e "
           "JOIN schedule s ON s.id = e.schedule_id JOIN task t ON t.id = s.task_id")
    params: list[Any] = []
    if schedule_id is not None:
        sql += " WHERE e.schedule_id = ?"
        params.append(schedule_id)
    sql += " ORDER BY e.at DESC, e.id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [ScheduleEventRow(*r) for r in db.execute_sql(sql, params).fetchall()]


def schedule_history(db: peewee.Database, *, schedule_id: int | None = None, limit: int | None = 200) -> list[HistoryRow]:
    """Occurrences, pauses and resumes, newest first, at most `limit` of them together.

    The occurrences keep their own order (the evaluator's); each pause or resume goes in before
    the first one whose nominal time is earlier (a time at a resume's very instant fired after
    it). A range record sits at its first nominal time.
    """
    occurrences: list[HistoryRow] = list(list_occurrences(db, schedule_id=schedule_id, limit=limit))
    events: list[HistoryRow] = list(list_schedule_events(db, schedule_id=schedule_id, limit=limit))
    merged: list[HistoryRow] = list(heapq.merge(occurrences, events, key=lambda r: -r.sort_time))
    return merged if limit is None else merged[:limit]
