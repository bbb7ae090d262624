"""Create Starts: start slots from class settings, and the CSV start file (orienteering.md).

Rules of `create_starts`:
- each class gets entries + vacancies starts, in order k = 0, 1, …; bibs bib_start + k (none
  without a bib series start);
- mass-start and free-start classes get starts without times (the mass start time stays the
  class's first start);
- classes are grouped when they share a course or a start box (transitively: A shares a course with
  B, B a start box with C → one group), because two runners of a group must not start together;
- within a group, interval classes follow one another in draw order (no draw order last, then by
  name): a class starts at the group's next free time, which is the previous class's last start +
  the larger of the two intervals. The group's first start is the first start of the earliest class
  in draw order that has one, else the race's first start;
- a class has its *own first start* when its first start is later than the group's next free time:
  it then starts there, leaving a gap. A first start earlier than the next free time would collide
  with the classes before it, so the class follows them instead — with a warning, unless its first
  start is just the group's first start (the common case of every class carrying the race default);
- an interval class with no first start anywhere (class, group, race) gets starts without times.
Deleting existing starts first is the caller's business: this only computes the new ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum

from t4o_tui.orienteering.entry_table import (
    CellError,
    Problem,
    RawTable,
    TableError,
    parse_positive,
    parse_start_time,
    parse_text,
    read_table,
)


class StartType(StrEnum):
    INTERVAL = "interval"
    MASS = "mass"
    FREE = "free"


@dataclass(frozen=True)
class StartClass:
    """A class's start settings and how many entries it has."""

    id: int
    name: str
    entries: int
    start_type: StartType = StartType.INTERVAL
    first_start: datetime | None = None
    interval: int = 0  # seconds
    bib_start: int | None = None
    vacancies: int = 0
    draw_order: int | None = None
    course: str | None = None  # course key; classes sharing one get consecutive times
    start_box: str | None = None


@dataclass(frozen=True)
class StartSlot:
    """A start to create: class, position in the class's start list, bib, time (None: no time)."""

    class_id: int
    order: int
    bib: int | None
    time: datetime | None


@dataclass
class CreatedStarts:
    starts: list[StartSlot]
    warnings: list[str] = field(default_factory=list)


def _class_order(c: StartClass) -> tuple[bool, int, str, int]:
    return (c.draw_order is None, c.draw_order or 0, c.name.casefold(), c.id)


def _groups(classes: Sequence[StartClass]) -> list[list[StartClass]]:
    """Classes joined by a shared course or start box, each group in draw order."""
    parent = list(range(len(classes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[tuple[str, str], int] = {}
    for i, c in enumerate(classes):
        for key in (("course", c.course), ("box", c.start_box)):
            if key[1] is None:
                continue
            k = (key[0], key[1])
            if k in first_with:
                parent[find(i)] = find(first_with[k])
            else:
                first_with[k] = i
    groups: dict[int, list[StartClass]] = {}
    for i, c in enumerate(classes):
        groups.setdefault(find(i), []).append(c)
    return [sorted(g, key=_class_order) for g in groups.values()]


def create_starts(
    classes: Sequence[StartClass], race_first_start: datetime | None = None,
) -> CreatedStarts:
    """Start slots for the given classes (see the module docstring for the rules)."""
    warnings: list[str] = []
    times: dict[int, list[datetime | None]] = {}
    for group in _groups(classes):
        _time_group(group, race_first_start, times, warnings)
    starts: list[StartSlot] = []
    for c in sorted(classes, key=_class_order):
        count = c.entries + c.vacancies
        for k, t in enumerate(times.get(c.id, [None] * count)):
            bib = c.bib_start + k if c.bib_start is not None else None
            starts.append(StartSlot(c.id, k, bib, t))
    warnings.extend(_bib_overlaps(classes))
    return CreatedStarts(starts, warnings)


def _time_group(
    group: list[StartClass], race_first_start: datetime | None,
    times: dict[int, list[datetime | None]], warnings: list[str],
) -> None:
    interval_classes = [c for c in group if c.start_type == StartType.INTERVAL]
    group_start = next((c.first_start for c in interval_classes if c.first_start), race_first_start)
    last: datetime | None = None  # the group's latest start so far
    last_interval = 0
    for c in interval_classes:
        count = c.entries + c.vacancies
        if count <= 0:
            continue
        if c.interval < 0:
            raise ValueError(f"class {c.name}: negative start interval")
        if c.interval == 0 and count > 1:
            warnings.append(f"class {c.name}: start interval 0, all {count} starts at the same time")
        if last is None:
            begin = c.first_start or group_start
        else:
            next_free = last + timedelta(seconds=max(last_interval, c.interval))
            begin = next_free
            if c.first_start is not None and c.first_start > next_free:
                begin = c.first_start
            elif c.first_start is not None and c.first_start not in (next_free, group_start):
                warnings.append(
                    f"class {c.name}: first start {c.first_start:%H:%M:%S} is taken by classes "
                    f"before it on the same course or start box; starts from {begin:%H:%M:%S}"
                )
        if begin is None:
            warnings.append(f"class {c.name}: no first start, starts created without times")
            continue
        step = timedelta(seconds=c.interval)
        times[c.id] = [begin + k * step for k in range(count)]
        last = begin + (count - 1) * step
        last_interval = c.interval


def _bib_overlaps(classes: Sequence[StartClass]) -> list[str]:
    ranges = sorted(
        (c.bib_start, c.bib_start + c.entries + c.vacancies - 1, c.name)
        for c in classes
        if c.bib_start is not None and c.entries + c.vacancies > 0
    )
    return [
        f"bib series of {a[2]} ({a[0]}–{a[1]}) and {b[2]} ({b[0]}–{b[1]}) overlap"
        for a, b in zip(ranges, ranges[1:], strict=False)
        if b[0] <= a[1]
    ]


# --- the CSV start file ------------------------------------------------------------------------

START_COLUMNS: dict[str, bool] = {
    "CLASS NAME": False, "BIB NO": False, "START TIME": False, "COURSE NAME": False,
}


@dataclass(frozen=True)
class StartFileRow:
    """One start of a start file; None where the column is absent or the cell blank."""

    line: int
    class_name: str
    bib: int | None
    time: datetime | None
    course_name: str | None


@dataclass
class StartFile:
    rows: list[StartFileRow]
    warnings: list[str] = field(default_factory=list)


def _needs_class_column(table: RawTable) -> None:
    if not any(c.title == "CLASS NAME" for c in table.columns):
        raise TableError([Problem("a start file needs a CLASS NAME column")])


def read_start_file(
    data: bytes, *, race_date: date | None = None, tz: tzinfo | None = None, first_start: float | None = None,
) -> StartFile:
    """Read a CSV (or .xlsx) start file with CLASS NAME, BIB NO, START TIME, COURSE NAME columns; a
    START TIME of day is on the race's date, or the next day's soon after midnight (entry_table.parse_start_time)."""
    raw = read_table(data, START_COLUMNS, check_header=_needs_class_column)
    by_title = {c.title: c for c in raw.columns}
    warnings = list(raw.warnings)
    if "BIB NO" not in by_title and "START TIME" not in by_title:
        warnings.append("neither BIB NO nor START TIME: starts without bibs and times")
    problems: list[Problem] = []
    rows: list[StartFileRow] = []
    seen_bibs: dict[int, int] = {}
    for line, cells in raw.rows:
        values: dict[str, object] = {}
        bad = False
        for title, column in by_title.items():
            cell = cells[column.index] if column.index < len(cells) else None
            text = parse_text(cell)
            if not text:
                values[title] = None
                continue
            try:
                if title == "BIB NO":
                    values[title] = parse_positive(cell, "bib number")
                elif title == "START TIME":
                    values[title] = parse_start_time(cell, race_date, tz, first_start)
                else:
                    values[title] = text
            except CellError as exc:
                problems.append(Problem(str(exc), line, title, raw.unit))
                bad = True
        if values["CLASS NAME"] is None:
            problems.append(Problem("the class name is missing", line, "CLASS NAME", raw.unit))
        if bad or values["CLASS NAME"] is None:
            continue
        bib = values.get("BIB NO")
        start_time = values.get("START TIME")
        course = values.get("COURSE NAME")
        assert isinstance(bib, int | None) and isinstance(start_time, datetime | None)
        if bib is not None:
            if bib in seen_bibs:
                warnings.append(f"{raw.unit} {line}: bib {bib} repeats {raw.unit} {seen_bibs[bib]}")
            seen_bibs.setdefault(bib, line)
        rows.append(StartFileRow(
            line, str(values["CLASS NAME"]), bib, start_time,
            str(course) if course is not None else None,
        ))
    if problems:
        raise TableError(problems)
    return StartFile(rows, warnings)
