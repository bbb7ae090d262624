"""A ClassList's per-race class data (IOF XML 3.0 `Class/RaceClass`): which race, its first start.

Read apart from the ClassList reader because only the class import needs it; the file is parsed
by the same safe parser (no entities, no network). Pure: no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from t4o_tui.orienteering.xmlsafe import clean, datetime_of, int_attr, parse, text_of


@dataclass(frozen=True)
class RaceClassInfo:
    """One `RaceClass` of a class: `race_number` None when the file names no race (one-race events)."""

    class_name: str
    race_number: int | None
    first_start: datetime | None
    status: str | None = None


def read_race_classes(data: bytes, tz: tzinfo) -> list[RaceClassInfo]:
    """Every Class/RaceClass of a ClassList, in file order; IofError (with the line) on a bad value."""
    root, _ = parse(data)
    out: list[RaceClassInfo] = []
    for cls in root.findall("Class"):
        name = text_of(cls, "Name") or text_of(cls, "ShortName")
        if not name:
            continue  # the ClassList reader reports a class without a name
        for rc in cls.findall("RaceClass"):
            out.append(RaceClassInfo(name, int_attr(rc, "raceNumber"), datetime_of(rc, "FirstStart", tz),
                                     clean(text_of(rc, "Status"))))
    return out


def for_race(infos: list[RaceClassInfo], race_number: int) -> dict[str, RaceClassInfo]:
    """Per class name, the RaceClass of this race; a class's only RaceClass without a number counts
    for any race (a one-race file)."""
    out: dict[str, RaceClassInfo] = {}
    by_class: dict[str, list[RaceClassInfo]] = {}
    for i in infos:
        by_class.setdefault(i.class_name, []).append(i)
    for name, items in by_class.items():
        exact = next((i for i in items if i.race_number == race_number), None)
        if exact is not None:
            out[name] = exact
        elif len(items) == 1 and items[0].race_number is None:
            out[name] = items[0]
    return out
