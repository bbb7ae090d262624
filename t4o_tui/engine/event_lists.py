"""The event's lists as the screens show them, one race at a time: classes, entries, courses,
result classes (the races themselves: event_setup.list_races). Plain dataclasses; the UI holds no SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import peewee

from t4o_tui.engine.event_setup import RaceInfo
from t4o_tui.store.backend_sqlite import backend_of


@dataclass(frozen=True)
class ClassLine:
    id: int
    name: str
    course: str
    entries: int  # not withdrawn
    starts: int
    first_start: float | None
    start_interval: float | None
    max_time: float | None


@dataclass(frozen=True)
class EntryLine:
    id: int
    bib: str
    name: str
    club: str
    class_name: str
    cards: str  # the entry's card numbers, space-separated
    start_time: float | None
    status: str  # the result's status, else the entry's


@dataclass(frozen=True)
class CourseLine:
    id: int
    name: str
    length: float | None
    climb: float | None
    controls: int


@dataclass(frozen=True)
class EntryForEdit:
    """An entry as the hand-edit form shows it, with the classes of its race to choose from."""

    id: int
    name: str
    class_id: int | None
    bib: str | None
    card: str | None
    status: str
    classes: list[tuple[str, int]]  # (name, id)


@dataclass(frozen=True)
class ResultClass:
    id: int
    name: str
    result_type: str  # normal | unsorted | no_times


def event_today(db: peewee.Database, now: float) -> str:
    """Today's ISO date in the event's time zone (the machine's when the event names none)."""
    row = db.execute_sql("SELECT timezone FROM event WHERE timezone IS NOT NULL ORDER BY id LIMIT 1").fetchone()
    try:
        tz = ZoneInfo(row[0]) if row else None
    except (ZoneInfoNotFoundError, ValueError):
        tz = None
    return datetime.fromtimestamp(now, tz).date().isoformat() if tz else datetime.fromtimestamp(now).date().isoformat()


def pick_race(choices: Sequence[RaceInfo], wanted: int | None, today: str) -> RaceInfo | None:
    """The race a view shows: the one asked for while it exists, else today's, else the first."""
    if not choices:
        return None
    for c in choices:
        if c.id == wanted:
            return c
    return next((c for c in choices if c.date == today), choices[0])


def class_lines(db: peewee.Database, race_id: int) -> list[ClassLine]:
    rows = db.execute_sql(
        "SELECT c.id, c.name, COALESCE(co.name, ''), "
        "(SELECT count(*) FROM entry e WHERE e.class_id = c.id AND e.status != 'withdrawn'), "
        "(SELECT count(*) FROM start s WHERE s.class_id = c.id), c.first_start, c.start_interval, c.max_time "
        "FROM class c LEFT JOIN course co ON co.id = c.course_id WHERE c.race_id = ? ORDER BY c.name, c.id",
        (race_id,)).fetchall()
    return [ClassLine(*r) for r in rows]


def entry_lines(db: peewee.Database, race_id: int) -> list[EntryLine]:
    cards = backend_of(db.connection()).group_concat("cd.number", "' '")
    rows = db.execute_sql(
        "SELECT e.id, COALESCE(s.bib, e.bib, ''), TRIM(COALESCE(p.given, '') || ' ' || COALESCE(p.family, '')), "
        "COALESCE(o.name, ''), COALESCE(c.name, ''), "
        f"COALESCE((SELECT {cards} FROM entry_card ec JOIN card cd ON cd.id = ec.card_id "
        "WHERE ec.entry_id = e.id), ''), s.start_time, COALESCE(r.status, e.status) "
        "FROM entry e LEFT JOIN person p ON p.id = e.person_id LEFT JOIN organisation o ON o.id = e.organisation_id "
        "LEFT JOIN class c ON c.id = e.class_id LEFT JOIN start s ON s.entry_id = e.id "
        # NULLs (no class, no start) first on both backends: PostgreSQL sorts them last unless told.
        "LEFT JOIN result r ON r.entry_id = e.id WHERE e.race_id = ? "
        "ORDER BY c.name IS NOT NULL, c.name, s.start_time IS NOT NULL, s.start_time, e.id",
        (race_id,)).fetchall()
    return [EntryLine(r[0], str(r[1]), r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows]


def course_lines(db: peewee.Database, race_id: int) -> list[CourseLine]:
    rows = db.execute_sql(
        "SELECT co.id, co.name, co.length, co.climb, "
        "(SELECT count(*) FROM course_control cc WHERE cc.course_id = co.id AND cc.kind = 'control') "
        "FROM course co WHERE co.race_id = ? ORDER BY co.name, co.id", (race_id,)).fetchall()
    return [CourseLine(*r) for r in rows]


def entry_for_edit(db: peewee.Database, entry_id: int) -> EntryForEdit | None:
    r = db.execute_sql(
        "SELECT e.id, TRIM(COALESCE(p.given, '') || ' ' || COALESCE(p.family, '')), e.class_id, "
        "COALESCE((SELECT s.bib FROM start s WHERE s.entry_id = e.id), e.bib), "
        "(SELECT cd.number FROM entry_card ec JOIN card cd ON cd.id = ec.card_id WHERE ec.entry_id = e.id LIMIT 1), "
        "e.status, e.race_id FROM entry e LEFT JOIN person p ON p.id = e.person_id WHERE e.id = ?",
        (entry_id,)).fetchone()
    if r is None:
        return None
    classes = [(str(name), int(cid)) for cid, name in db.execute_sql(
        "SELECT id, name FROM class WHERE race_id = ? ORDER BY name, id", (r[6],)).fetchall()]
    return EntryForEdit(r[0], r[1], r[2], r[3], r[4], r[5], classes)


def result_classes(db: peewee.Database, race_id: int) -> list[ResultClass]:
    rows = db.execute_sql("SELECT id, name, result_type FROM class WHERE race_id = ? ORDER BY name, id",
                          (race_id,)).fetchall()
    return [ResultClass(r[0], r[1], r[2] or "normal") for r in rows]
