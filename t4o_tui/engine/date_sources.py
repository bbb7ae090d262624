"""Date sources for the date-field schedule modes: a small registry the domain adds to.

An anchored window takes its start and expiry from one record's date (e.g. race 1's first
start − 1 h … + 5 h); a per-row schedule fires once for each row at its date + an offset (e.g.
each start time + the class's max time). Each source reads its rows from the event database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import peewee


@dataclass(frozen=True)
class DateRow:
    """One record of a source: its key, its date (UTC epoch, None when not set), and the context a run gets."""

    key: str
    at: float | None
    label: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DateSource:
    id: str
    label: str
    fetch: Callable[[peewee.Database], list[DateRow]]
    #: Offered for anchored windows (one record) and/or per-row schedules (every row).
    window: bool = True
    per_row: bool = True


SOURCES: dict[str, DateSource] = {}


class UnknownSource(LookupError):
    def __init__(self, source_id: str) -> None:
        known = ", ".join(sorted(SOURCES)) or "none"
        super().__init__(f"unknown date source '{source_id}' (known: {known})")


def register(source: DateSource) -> DateSource:
    SOURCES[source.id] = source
    return source


def get_source(source_id: str) -> DateSource:
    try:
        return SOURCES[source_id]
    except KeyError:
        raise UnknownSource(source_id) from None


def find_row(source: DateSource, db: peewee.Database, key: str) -> DateRow | None:
    return next((r for r in source.fetch(db) if r.key == key), None)


def _race_first_starts(db: peewee.Database) -> list[DateRow]:
    rows = db.execute_sql("SELECT id, name, first_start FROM race ORDER BY id").fetchall()
    return [DateRow(str(rid), first, name, {"race_id": rid, "race": name}) for rid, name, first in rows]


register(DateSource("race.first_start", "Race first start", _race_first_starts))


def _class_first_starts(db: peewee.Database) -> list[DateRow]:
    rows = db.execute_sql(
        "SELECT c.id, c.name, c.first_start, r.name FROM class c JOIN race r ON r.id = c.race_id ORDER BY c.id"
    ).fetchall()
    return [DateRow(str(cid), first, f"{name} ({race})", {"class_id": cid, "class": name, "race": race})
            for cid, name, first, race in rows]


_START_SQL = (
    "SELECT s.id, s.start_time, s.bib, c.name, c.max_time, p.given, p.family, s.entry_id, s.race_id "
    "FROM start s JOIN class c ON c.id = s.class_id LEFT JOIN entry e ON e.id = s.entry_id "
    "LEFT JOIN person p ON p.id = e.person_id WHERE s.start_time IS NOT NULL ORDER BY s.id"
)


def _start_rows(db: peewee.Database, *, plus_max_time: bool) -> list[DateRow]:
    out = []
    for sid, at, bib, cls, max_time, given, family, entry_id, race_id in db.execute_sql(_START_SQL).fetchall():
        if plus_max_time:
            if max_time is None:
                continue
            at = at + max_time
        name = f"{given or ''} {family or ''}".strip() or "vacant"
        out.append(DateRow(str(sid), at, f"{cls} {bib or ''} {name}".strip(),
                           {"start_id": sid, "class": cls, "bib": bib, "name": name, "entry_id": entry_id, "race_id": race_id}))
    return out


def _entry_created(db: peewee.Database) -> list[DateRow]:
    rows = db.execute_sql(
        "SELECT e.id, e.created_at, p.given, p.family, e.race_id FROM entry e LEFT JOIN person p ON p.id = e.person_id ORDER BY e.id"
    ).fetchall()
    return [DateRow(str(eid), created, f"{given or ''} {family or ''}".strip(), {"entry_id": eid, "race_id": race_id})
            for eid, created, given, family, race_id in rows]


register(DateSource("class.first_start", "Class first start", _class_first_starts))
register(DateSource("start.start_time", "Start time", lambda db: _start_rows(db, plus_max_time=False), window=False))
register(DateSource("start.max_time", "Start time + class max time", lambda db: _start_rows(db, plus_max_time=True), window=False))
register(DateSource("entry.created", "Entry creation", _entry_created, window=False))
