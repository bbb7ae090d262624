"""Punch check: a card's punches against a course, giving status, time and split times.

Pure functions over plain data. Times are float seconds: UTC epoch for instants, plain seconds for
durations. Decisions where orienteering.md is silent are written next to the code that takes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from functools import lru_cache

HALF_DAY = 12 * 3600.0
DAY = 24 * 3600.0
# Station clocks run a little ahead of the readout's own: a punch up to this long after the
# readout time still belongs to that readout's day.
CLOCK_AHEAD = 3600.0


class Status(StrEnum):
    """IOF 3.0 ResultStatus values, plus Time4o's two in-the-forest display statuses."""

    OK = "OK"
    FINISHED = "Finished"
    MISSING_PUNCH = "MissingPunch"
    DISQUALIFIED = "Disqualified"
    DID_NOT_FINISH = "DidNotFinish"
    ACTIVE = "Active"
    INACTIVE = "Inactive"
    OVER_TIME = "OverTime"
    SPORTING_WITHDRAWAL = "SportingWithdrawal"
    NOT_COMPETING = "NotCompeting"
    MOVED = "Moved"
    MOVED_UP = "MovedUp"
    DID_NOT_START = "DidNotStart"
    DID_NOT_ENTER = "DidNotEnter"
    CANCELLED = "Cancelled"
    # Not IOF values: Time4o shows them; written to IOF XML as Active (see iof_status).
    STARTED = "Started"
    CHECKED = "Checked"


def iof_status(status: Status) -> str:
    """The IOF ResultStatus to write: Started and Checked both mean Active (on the course)."""
    return Status.ACTIVE.value if status in (Status.STARTED, Status.CHECKED) else status.value


class DataStatus(StrEnum):
    """Identification problems: station data that gets a data status instead of a result."""

    CARD_NOT_FOUND = "card not found"
    SEVERAL_CARDS = "several cards found"
    START_NOT_FOUND = "start not found"
    SEVERAL_ENTRIES = "several entries found"
    NO_COURSE = "no course"
    NO_PUNCHES = "no punches"
    BEFORE_START = "before start"
    INCOMPLETE_READOUT = "incomplete readout"
    READ_SEVERAL_TIMES = "read out several times"  # a warning only
    SEVERAL_CLEAR_PUNCHES = "several clear punches"


class ControlKind(StrEnum):
    START = "start"
    CONTROL = "control"
    FINISH = "finish"


class StartSource(StrEnum):
    PUNCH = "punch"
    DRAWN = "drawn"


class TimeBase(StrEnum):
    """How a card's times are given: instants, 24-hour times of day, or SI-Card 5 12-hour times."""

    EPOCH = "epoch"
    DAY = "day"
    HALF_DAY = "half_day"


@lru_cache(maxsize=4096)
def normalize_code(code: str | int) -> str:
    """A control code as text; numeric codes lose leading zeros so '031' and 31 match. Cached: a
    race has a few hundred codes, and every punch of every card is normalised."""
    text = str(code).strip()
    return str(int(text)) if text.isdigit() else text


@dataclass(frozen=True)
class CourseControl:
    """One control of a course, in course order; leg_length is metres from the previous control."""

    code: str
    kind: ControlKind = ControlKind.CONTROL
    exempt: bool = False
    leg_length: float | None = None


@dataclass(frozen=True)
class Punch:
    code: str
    time: float | None  # None: the card kept the code but no time (SI-Card 5 punches 31-36)


@dataclass(frozen=True)
class CardData:
    """What a card (or a readout of it) holds; the control punches in the order punched."""

    punches: tuple[Punch, ...] = ()
    start: Punch | None = None
    finish: Punch | None = None
    check: Punch | None = None
    clear: Punch | None = None
    time_base: TimeBase = TimeBase.EPOCH


@dataclass(frozen=True)
class SplitTime:
    """Time since start at one course control; missing controls have no time."""

    code: str
    time: float | None
    missing: bool = False


@dataclass(frozen=True)
class PunchResult:
    status: Status
    start: float | None
    finish: float | None
    time: float | None
    splits: tuple[SplitTime, ...]
    legs: tuple[float | None, ...]  # one per split, then the leg to the finish
    missing: tuple[str, ...]
    extra: tuple[Punch, ...]
    messages: tuple[str, ...] = field(default=())
    computed_status: Status | None = None  # what the punches say, when an override won


# --- 12-hour and time-of-day resolution -------------------------------------------------------


def wall_clock(day: date, seconds: float, tz: tzinfo) -> float:
    """The instant `seconds` into `day` by the wall clock of `tz`."""
    # Build the wall-clock time, not midnight + seconds, so DST change days land right.
    naive = datetime.combine(day, datetime.min.time()) + timedelta(seconds=seconds)
    return naive.replace(tzinfo=tz).timestamp()


def _pick(seconds: float, period: float, reference: float, tz: tzinfo, before: float) -> float:
    ref_day = datetime.fromtimestamp(reference, tz).date()
    steps = int(DAY // period)
    candidates = [
        wall_clock(ref_day + timedelta(days=d), seconds + k * period, tz)
        for d in (-1, 0, 1)
        for k in range(steps)
    ]
    # The one candidate inside [reference - before, reference - before + period): the period
    # spacing makes it unique; the closest one stands in if DST bends the window.
    lo = reference - before
    inside = [c for c in candidates if lo <= c < lo + period]
    if inside:
        return min(inside)
    return min(candidates, key=lambda c: abs(c - reference))


def latest_at_or_before(seconds: float, limit: float, tz: tzinfo, weekday: int | None = None) -> float:
    """The latest instant at this 24-hour time of day (on this weekday, 0 = Sunday, when given) that
    is not after `limit`: a card read out holds no punch from after its readout, so a night race's
    23:45 punch on a card read at 00:30 is the evening before."""
    day = datetime.fromtimestamp(limit, tz).date()
    for back in range(8):  # eight days hold every weekday
        d = day - timedelta(days=back)
        if weekday is not None and d.isoweekday() % 7 != weekday:
            continue
        instant = wall_clock(d, seconds % DAY, tz)
        if instant <= limit:
            return instant
    raise ValueError("no day fits the time")  # cannot happen: see the range


def resolve_12h(raw: float, reference: float, tz: tzinfo, *, before: float = 2 * 3600.0) -> float:
    """The instant of an SI-Card 5 time (no AM/PM) in the 12 hours starting `before` s ahead of reference.

    A raw value of 12:00 or more cannot be AM, so it is read as a 24-hour time of day.
    """
    if raw >= HALF_DAY:
        return resolve_day_time(raw, reference, tz)
    return _pick(raw, HALF_DAY, reference, tz, before)


def resolve_day_time(seconds: float, reference: float, tz: tzinfo) -> float:
    """The instant of a 24-hour time of day closest to reference (across midnight too)."""
    return _pick(seconds % DAY, DAY, reference, tz, DAY / 2)


def _resolved_card(card: CardData, reference: float, tz: tzinfo) -> CardData:
    if card.time_base is TimeBase.EPOCH:
        return card

    def fix(p: Punch | None) -> Punch | None:
        if p is None or p.time is None:
            return p
        if card.time_base is TimeBase.HALF_DAY:
            return Punch(p.code, resolve_12h(p.time, reference, tz))
        return Punch(p.code, resolve_day_time(p.time, reference, tz))

    punches = tuple(fix(p) for p in card.punches)
    return CardData(
        punches=tuple(p for p in punches if p is not None),
        start=fix(card.start), finish=fix(card.finish), check=fix(card.check), clear=fix(card.clear),
        time_base=TimeBase.EPOCH,
    )


# --- data-status helpers ------------------------------------------------------------------------


def has_no_punches(card: CardData) -> bool:
    """True when the card holds nothing a result could come from (no controls, no start, no finish)."""
    return not card.punches and card.start is None and card.finish is None


def read_before_start(read_at: float | None, start: float | None) -> bool:
    """True when the card was read out before its start time: the station option 'before start'."""
    return read_at is not None and start is not None and read_at < start


def card_data_status(card: CardData, *, read_at: float | None = None, start: float | None = None,
                     check_before_start: bool = False) -> DataStatus | None:
    """The data status a card earns on its own (no punches, before start), or None."""
    if has_no_punches(card):
        return DataStatus.NO_PUNCHES
    if check_before_start and read_before_start(read_at, start):
        return DataStatus.BEFORE_START
    return None


# --- the check ---------------------------------------------------------------------------------


def _fmt(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _punched_start_finish(course: Sequence[CourseControl], card: CardData,
                          punches: list[Punch], used: set[int]) -> tuple[float | None, float | None]:
    """The card's start and finish times; punches with the course's start/finish code stand in.

    Some systems store start/finish as ordinary punches with the start/finish code: the first
    such start punch and the last such finish punch are taken and marked used.
    """
    start = card.start.time if card.start is not None else None
    finish = card.finish.time if card.finish is not None else None
    start_codes = {normalize_code(c.code) for c in course if c.kind is ControlKind.START}
    finish_codes = {normalize_code(c.code) for c in course if c.kind is ControlKind.FINISH}
    if start is None and start_codes:
        i = next((i for i, p in enumerate(punches) if p.code in start_codes and p.time is not None), None)
        if i is not None:
            start = punches[i].time
            used.add(i)
    if finish is None and finish_codes:
        i = next((i for i in range(len(punches) - 1, -1, -1)
                  if punches[i].code in finish_codes and punches[i].time is not None), None)
        if i is not None:
            finish = punches[i].time
            used.add(i)
    return start, finish


def _chosen_start(start_source: StartSource, start_punch: float | None, drawn_start: float | None,
                  messages: list[str]) -> float | None:
    """The start time by the class's start source, the other one standing in (said in a message)."""
    if start_source is StartSource.PUNCH:
        first, fallback, note = start_punch, drawn_start, "no start punch: drawn start time used"
    else:
        first, fallback, note = drawn_start, start_punch, "no drawn start time: start punch used"
    start = first
    if start is None and fallback is not None:
        start = fallback
        messages.append(note)
    if start is None:
        messages.append("no start time")
    return start


def _matched_controls(course: Sequence[CourseControl], punches: list[Punch], used: set[int],
                      start: float | None) -> tuple[list[SplitTime], list[str]]:
    """Splits and missing codes: each course control matched to the next unused punch of its code."""
    splits: list[SplitTime] = []
    missing: list[str] = []
    pointer = 0
    codes = [p.code for p in punches]
    for control in course:
        if control.kind is not ControlKind.CONTROL or control.exempt:
            continue
        code = normalize_code(control.code)
        found = _next_unused(codes, code, pointer, used)
        if found is None:
            # The pointer stays put: a control punched in the wrong order counts as missing.
            missing.append(code)
            splits.append(SplitTime(code, None, missing=True))
            continue
        used.add(found)
        pointer = found + 1
        t = punches[found].time
        splits.append(SplitTime(code, t - start if t is not None and start is not None else None))
    return splits, missing


def _next_unused(codes: list[str], code: str, pointer: int, used: set[int]) -> int | None:
    """The first punch at or after `pointer` with this code and not used yet (list.index scans in C)."""
    try:
        j = codes.index(code, pointer)
        while j in used:
            j = codes.index(code, j + 1)
    except ValueError:
        return None
    return j


def _legs(splits: Sequence[SplitTime], time: float | None) -> list[float | None]:
    """Leg times: one per split, then the leg to the finish; None where an end is unknown."""
    legs: list[float | None] = []
    previous: float | None = 0.0
    for s in splits:
        legs.append(s.time - previous if s.time is not None and previous is not None else None)
        previous = s.time
    legs.append(time - previous if time is not None and previous is not None else None)
    return legs


def _computed_status(missing: Sequence[str], start: float | None, finish: float | None, time: float | None,
                     max_time: float | None, messages: list[str]) -> Status:
    """What the punches say: missing punch before did not finish before over time."""
    if missing or start is None:
        return Status.MISSING_PUNCH
    if finish is None:
        return Status.DID_NOT_FINISH
    if max_time is not None and time is not None and time > max_time:
        messages.append(f"over max time {_fmt(max_time)} by {_fmt(time - max_time)}")
        return Status.OVER_TIME
    return Status.OK


def check_punches(
    course: Sequence[CourseControl],
    card: CardData,
    *,
    start_source: StartSource = StartSource.DRAWN,
    drawn_start: float | None = None,
    max_time: float | None = None,
    zero_time: float | None = None,
    tz: tzinfo = UTC,
    override_status: Status | None = None,
) -> PunchResult:
    """Check a card against a course; the same inputs always give the same result.

    override_status (a status set through the override station, e.g. Disqualified, or OK after a
    backup-label check) wins over what the punches say; times and splits are still computed.
    """
    messages: list[str] = []
    if card.time_base is not TimeBase.EPOCH:
        reference = drawn_start if drawn_start is not None else zero_time
        if reference is None:
            raise ValueError("a card with times of day needs a drawn start time or a zero time")
        card = _resolved_card(card, reference, tz)

    punches = [p if (code := normalize_code(p.code)) == p.code else replace(p, code=code) for p in card.punches]
    used: set[int] = set()
    start_punch, finish = _punched_start_finish(course, card, punches, used)
    start = _chosen_start(start_source, start_punch, drawn_start, messages)
    splits, missing = _matched_controls(course, punches, used, start)
    extra = tuple(p for i, p in enumerate(punches) if i not in used)
    time = finish - start if finish is not None and start is not None else None

    if missing:
        messages.append("missing " + ", ".join(missing))
    if finish is None:
        messages.append("no finish punch")
    computed = _computed_status(missing, start, finish, time, max_time, messages)

    status = computed
    if override_status is not None:
        status = override_status
        if override_status is not computed:
            messages.append(f"status {override_status.value} set by override (punches say {computed.value})")

    return PunchResult(
        status=status, start=start, finish=finish, time=time, splits=tuple(splits), legs=tuple(_legs(splits, time)),
        missing=tuple(missing), extra=extra, messages=tuple(messages),
        computed_status=computed if override_status is not None else None,
    )


# --- station priority ------------------------------------------------------------------------


class StationRole(StrEnum):
    OVERRIDE = "override"
    READOUT = "readout"
    FINISH = "finish"
    RADIO = "radio"
    START_CHECK = "start_check"
    CARD_CHECK = "card_check"


# Lowest wins: override > readout > finish > start check > card check. A radio punch proves the
# runner started, so it ranks with start check.
DEFAULT_PRIORITY: dict[StationRole, int] = {
    StationRole.OVERRIDE: 0,
    StationRole.READOUT: 10,
    StationRole.FINISH: 20,
    StationRole.RADIO: 30,
    StationRole.START_CHECK: 30,
    StationRole.CARD_CHECK: 40,
}


@dataclass(frozen=True)
class StationReading:
    """One piece of station data for a runner; status is what an override or a readout carries."""

    role: StationRole
    status: Status | None = None
    priority: int | None = None  # the station's own priority; None takes the role's default
    received: float = 0.0
    active: bool = True


def reading_status(reading: StationReading) -> Status | None:
    """The status a reading gives on its own; None when it says nothing about status."""
    match reading.role:
        case StationRole.OVERRIDE | StationRole.READOUT:
            return reading.status
        case StationRole.FINISH:
            return Status.FINISHED
        case StationRole.RADIO | StationRole.START_CHECK:
            return Status.STARTED
        case StationRole.CARD_CHECK:
            return Status.CHECKED
    return None


def merge_station_statuses(readings: Iterable[StationReading]) -> Status:
    """The effective status: the best-priority active reading wins; the later one on a tie.

    No readings at all means Inactive (potentially in the forest).
    """
    best: tuple[int, float] | None = None
    result = Status.INACTIVE
    for r in readings:
        status = reading_status(r)
        if not r.active or status is None:
            continue
        prio = r.priority if r.priority is not None else DEFAULT_PRIORITY[r.role]
        key = (prio, -r.received)
        if best is None or key < best:
            best, result = key, status
    return result
