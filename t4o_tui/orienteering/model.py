"""Plain data that IOF XML (and CSV) imports produce and exports consume: no XML, no database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

Ids = dict[str, str]
"""Identifiers by type, e.g. {"Norway": "123", "IOF": "4"}; an <Id> without a type attribute has type ""."""

UNTYPED = ""

Sex = Literal["M", "F"]
ControlType = Literal["Start", "Control", "Finish", "CrossingPoint", "EndOfMarkedRoute"]
EntryStatus = Literal["entered", "withdrawn", "not_competing"]
CONTROL_TYPES: tuple[ControlType, ...] = ("Start", "Control", "Finish", "CrossingPoint", "EndOfMarkedRoute")  # fmt: skip
CLASS_STATUSES = ("Normal", "Divided", "Joined", "Invalidated", "InvalidatedNoFee")


def preferred_id(ids: Ids, *types: str) -> tuple[str, str] | None:
    """The (type, value) of the first of `types` present, else the untyped id, else any; None if no ids."""
    for t in (*types, UNTYPED):
        if t in ids:
            return t, ids[t]
    return next(iter(ids.items()), None)


# Frozen records hold `ids` dicts, so they compare by value but are not hashable; key by name or id.


@dataclass(frozen=True)
class Organisation:
    """A club (or federation, school…): `country` is the IOC code, e.g. "NOR"."""

    name: str
    short_name: str | None = None
    country: str | None = None
    ids: Ids = field(default_factory=dict)


@dataclass(frozen=True)
class Person:
    """A runner; `birth_year` is filled from `birth_date` when that is known."""

    given: str
    family: str
    sex: Sex | None = None
    birth_date: dt.date | None = None
    birth_year: int | None = None
    nationality: str | None = None
    ids: Ids = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.given} {self.family}".strip()


@dataclass(frozen=True)
class Card:
    """A control card: number as written, `system` the punching system ("SI", "Emit"…) when given."""

    number: str
    system: str | None = None


@dataclass(frozen=True)
class ClassDef:
    """A class as IOF files describe it; `legs` is 0 for individual classes."""

    name: str
    short_name: str | None = None
    ids: Ids = field(default_factory=dict)
    sex: Sex | None = None
    min_age: int | None = None
    max_age: int | None = None
    status: str = "Normal"
    legs: int = 0
    number_of_competitors: int | None = None


@dataclass(frozen=True)
class Control:
    """A control, start or finish known to the course data."""

    code: str
    type: ControlType = "Control"


@dataclass(frozen=True)
class CourseControl:
    """One visit in a course; `leg_length` in metres from the previous one; `alternatives` are other accepted codes."""

    code: str
    type: ControlType = "Control"
    leg_length: int | None = None
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class Course:
    """A course; `controls` is empty where a file only names the course (start lists)."""

    name: str
    length: int | None = None
    climb: int | None = None
    controls: tuple[CourseControl, ...] = ()
    family: str | None = None
    ids: Ids = field(default_factory=dict)


@dataclass(frozen=True)
class ClassCourseAssignment:
    """Class → course (by name) or → every course of a family; `legs` limits it to relay legs."""

    class_name: str
    course_name: str | None = None
    course_family: str | None = None
    legs: tuple[int, ...] = ()
    class_ids: Ids = field(default_factory=dict)


@dataclass(frozen=True)
class PersonCourseAssignment:
    """A course for one runner (individual forking), found by bib, entry id or name."""

    course_name: str | None
    course_family: str | None = None
    bib: str | None = None
    entry_id: str | None = None
    person_name: str | None = None
    class_name: str | None = None


@dataclass(frozen=True)
class RaceInfo:
    """One race (stage) of a multi-race event."""

    number: int
    name: str
    date: dt.date | None = None
    first_start: dt.datetime | None = None


@dataclass(frozen=True)
class EventInfo:
    """The event: `first_start` is timezone-aware; `races` only for multi-race files."""

    name: str
    date: dt.date | None = None
    first_start: dt.datetime | None = None
    races: tuple[RaceInfo, ...] = ()
    ids: Ids = field(default_factory=dict)


@dataclass(frozen=True)
class ClassList:
    """An IOF ClassList."""

    classes: tuple[ClassDef, ...]
    creator: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CourseData:
    """The course data of one race: controls (starts and finishes included), courses and assignments."""

    event: EventInfo
    controls: tuple[Control, ...]
    courses: tuple[Course, ...]
    assignments: tuple[ClassCourseAssignment, ...] = ()
    person_assignments: tuple[PersonCourseAssignment, ...] = ()
    race_number: int | None = None
    creator: str | None = None
    warnings: tuple[str, ...] = ()

    def courses_for_class(self) -> dict[str, tuple[str, ...]]:
        """Class name → course names, families expanded, in file order; relay legs are not told apart."""
        out: dict[str, list[str]] = {}
        for a in self.assignments:
            names = out.setdefault(a.class_name, [])
            if a.course_name is not None:
                names.append(a.course_name)  # kept even when missing from the file: the job logs it
            elif a.course_family is not None:
                names.extend(c.name for c in self.courses if c.family == a.course_family)
        return {k: tuple(dict.fromkeys(v)) for k, v in out.items()}


@dataclass(frozen=True)
class EntryRecord:
    """One entry of a person; empty `race_numbers` means every race. IOF entry lists carry no bib,
    start or status: those fields serve CSV imports and stay at their defaults here."""

    person: Person
    organisation: Organisation | None = None
    class_names: tuple[str, ...] = ()
    cards: tuple[Card, ...] = ()
    entry_id: str | None = None
    entry_id_type: str | None = None  # the Id's type attribute (IOF, an Eventor…); None: the import's default
    bib: str | None = None
    start_time: dt.datetime | None = None
    status: EntryStatus = "entered"
    race_numbers: tuple[int, ...] = ()
    line: int | None = field(default=None, compare=False)  # where it is in its file, for the log


@dataclass(frozen=True)
class EntryList:
    """An IOF EntryList: the event, the classes it defines and the person entries."""

    event: EventInfo
    entries: tuple[EntryRecord, ...]
    classes: tuple[ClassDef, ...] = ()
    creator: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class StartRecord:
    """One start: no person means a vacant start; no start time means a free or mass start."""

    person: Person | None = None
    organisation: Organisation | None = None
    bib: str | None = None
    start_time: dt.datetime | None = None
    course: Course | None = None
    card: Card | None = None
    entry_id: str | None = None
    race_number: int | None = None
    line: int | None = field(default=None, compare=False)  # where it is in its file, for the log


@dataclass(frozen=True)
class ClassStart:
    """The starts of one class; `course` is the class's course when all share one."""

    class_def: ClassDef
    starts: tuple[StartRecord, ...] = ()
    course: Course | None = None
    start_name: str | None = None


@dataclass(frozen=True)
class StartListDoc:
    """An IOF StartList."""

    event: EventInfo
    classes: tuple[ClassStart, ...]
    creator: str | None = None
    warnings: tuple[str, ...] = ()

    def all_starts(self) -> Iterator[tuple[ClassStart, StartRecord]]:
        for cs in self.classes:
            for s in cs.starts:
                yield cs, s


@dataclass(frozen=True)
class SplitRecord:
    """A split time read from a ResultList: seconds since the start, None when not known."""

    code: str
    time: float | None = None
    status: str = "OK"  # OK | Missing | Additional


@dataclass(frozen=True)
class PersonResultRecord:
    """One runner's result as another program wrote it; `time` keeps the file's tenths."""

    person: Person
    status: str
    organisation: Organisation | None = None
    bib: str | None = None
    start_time: dt.datetime | None = None
    finish_time: dt.datetime | None = None
    time: float | None = None
    time_behind: float | None = None
    position: int | None = None
    splits: tuple[SplitRecord, ...] = ()
    card: Card | None = None
    entry_id: str | None = None
    race_number: int | None = None
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ClassResultRecord:
    """The results of one class; `time_resolution` as the file says (IOF default 1 s)."""

    class_def: ClassDef
    results: tuple[PersonResultRecord, ...] = ()
    course: Course | None = None
    time_resolution: float = 1.0


@dataclass(frozen=True)
class ResultListDoc:
    """An IOF ResultList of individual results; `team_results` counts the relay teams not read."""

    event: EventInfo
    classes: tuple[ClassResultRecord, ...]
    team_results: int = 0
    creator: str | None = None
    warnings: tuple[str, ...] = ()


IofDocument = ClassList | CourseData | EntryList | StartListDoc | ResultListDoc
