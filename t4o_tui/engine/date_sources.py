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
