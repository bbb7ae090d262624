"""Schedule arithmetic: fire times, validation and descriptions (pure: no clock, no I/O, no UI).

Contract: docs/semantics.md, section "Schedules". Instants are float epoch seconds (UTC).
A schedule fires at nominal times t with ``start <= t <= expiry`` (both bounds inclusive).

- interval: the grid start, start+N, start+2N... in elapsed time; DST never shifts it.
- once: at ``at`` when start <= at <= expiry.
- cron: matched on the wall clock of ``tz``, then mapped to instants:
  * a wall time inside a DST gap fires at the first instant after the gap (``dst="gap"``);
    several such wall times collapse into one fire, and when a regular match falls on that
    same instant the fire is regular (``dst=None``);
  * a wall time that occurs twice fires on the first pass only, marked ``dst="first"`` (so a
    preview can say which pass fires), except when the hour field is exactly ``*``: then both
    passes fire, the first unmarked (as every other hour), the second marked ``dst="fold"``.

croniter (>=6,<8) only enumerates matching wall times on a naive clock. Its own DST handling is
not used: croniter 7 fires fixed-hour expressions on both passes of a repeated hour, and drops
nonexistent wall times of hour-``*`` expressions (e.g. "30 * * * *" skips 02:30 on the gap day).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cron_descriptor import ExpressionDescriptor, Options
from croniter import CroniterBadDateError, croniter

KINDS = ("interval", "cron", "once")
SUB_MINUTE = 60.0  # fire times closer than this need a job that allows sub-minute schedules


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """What a schedule row says; see the module docstring for the meaning of each kind."""

    kind: str
    start: float
    expiry: float
    tz: str = "UTC"
    every: float | None = None
    cron: str | None = None
    at: float | None = None
    max_runs: int | None = None


@dataclass(frozen=True, slots=True)
class Fire:
    """One nominal fire time; ``dst`` says what daylight saving did to it, else None.

    "gap": its wall time did not exist; it fires at the first instant after the gap.
    "first": its wall time occurs twice; this is the first pass, and the second does not fire.
    "fold": its wall time occurs twice; this is the second pass, which fires too (hour field *).
    """

    nominal: float
    dst: str | None = None


class ScheduleError(ValueError):
    """A problem with one field of a schedule; ``field`` names it for the form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- durations ---------------------------------------------------------------------------------

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_PART = re.compile(rf"\s*({_NUMBER})\s*([dhms])\s*")


def parse_duration(text: str, field: str = "every") -> float:
    """Parse "30s", "5m", "1h30m", "2h", "1.5s", "1d" or bare seconds ("90") into seconds."""
    raw = text.strip().lower()
    if re.fullmatch(_NUMBER, raw):
        value = float(raw)
    else:
        value, pos, last = 0.0, 0, math.inf
        for m in _PART.finditer(raw):
            # Units must be contiguous and descending, so typos like "5s5s" or "5x" are rejected.
            if m.start() != pos or _UNITS[m.group(2)] >= last:
                break
            value += float(m.group(1)) * _UNITS[m.group(2)]
            pos, last = m.end(), _UNITS[m.group(2)]
        if pos != len(raw) or not raw:
            raise ScheduleError(field, f'"{text}" is not a duration (try 30s, 5m, 1h30m or 90)')
    if not math.isfinite(value) or value <= 0:
        raise ScheduleError(field, f'duration "{text}" must be greater than zero')
    return value


def format_duration(seconds: float) -> str:
    """Format seconds compactly: 30 -> "30s", 300 -> "5m", 5400 -> "1h30m", 1.5 -> "1.5s"."""
    rest = round(float(seconds), 3)  # millisecond precision hides float noise such as 0.30000004
    parts: list[str] = []
    for unit, size in _UNITS.items():
        if unit == "s":
            if rest or not parts:
                parts.append(f"{rest:g}s")
        elif rest >= size:
            count, rest = divmod(rest, size)
            parts.append(f"{int(count)}{unit}")
            rest = round(rest, 3)
    return "".join(parts)


# --- time zones and wall clocks ----------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1)


@lru_cache(maxsize=512)
def _zone(tz: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or ScheduleError(field="tz")."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ScheduleError("tz", f'unknown time zone "{tz}" (use an IANA name such as Europe/Oslo)') from None


def _offset(t: float, zone: ZoneInfo) -> float:
    """UTC offset in seconds of ``zone`` at instant ``t``."""
    off = datetime.fromtimestamp(t, zone).utcoffset()
    return off.total_seconds() if off is not None else 0.0


def _instants(wall: float, zone: ZoneInfo) -> tuple[float, float]:
    """Instants of a wall time (naive seconds) with fold=0 and fold=1 (PEP 495).

    Equal: the wall time is unique. fold0 < fold1: it occurs twice. fold0 > fold1: it is in a gap.
    """
    naive = _EPOCH + timedelta(seconds=wall)
    return naive.replace(tzinfo=zone).timestamp(), naive.replace(tzinfo=zone, fold=1).timestamp()


def _transition(lo: float, hi: float, zone: ZoneInfo) -> float:
    """First whole second in (lo, hi] whose offset equals the offset at ``hi`` (binary search)."""
    target = _offset(hi, zone)
    a, b = math.floor(lo), math.ceil(hi)
    while b - a > 1:
        mid = (a + b) // 2
        if _offset(mid, zone) == target:
            b = mid
        else:
            a = mid
    return float(b)


# --- cron --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cron:
    """A parsed cron expression bound to a zone; ``engine`` is only used under ``_LOCK``."""

    fields: tuple[str, ...]
    zone: ZoneInfo
    engine: croniter
    hour_star: bool
    min_gap: float


_LOCK = threading.Lock()  # one cached croniter object is shared, and get_next mutates it


def _values(expanded: list[int | str], size: int) -> list[int]:
    """croniter's expanded field as sorted ints ("*" means the whole range)."""
    return list(range(size)) if expanded == ["*"] else sorted(int(v) for v in expanded)


def _cron_gap(seconds: list[int], minutes: list[int], hours: list[int]) -> float:
    """Smallest nominal spacing: decided by the finest of seconds/minutes/hours matching >1 value."""
    levels = [(seconds, 60, 1.0), (minutes, 60, 60.0), (hours, 24, 3600.0), ([0, 1], 2, 86400.0)]
    for (vals, period, unit), (upper, upper_period, _) in zip(levels, levels[1:], strict=False):
        if len(vals) > 1:
            diffs = [b - a for a, b in zip(vals, vals[1:], strict=False)]
            # Wrapping from the last value to the first only happens when the next coarser field
            # matches two consecutive values (e.g. minutes 4 and 5).
            if any((v + 1) % upper_period in upper for v in upper):
                diffs.append(period - vals[-1] + vals[0])
            return min(diffs) * unit
    return 86400.0


# The fields of a cron expression (seconds only in the 6-field form) and their ranges: an error
# names the field ("minute: 61 is out of range 0–59") rather than croniter's words.
CRON_FIELDS = ("second", "minute", "hour", "day of month", "month", "day of week")
CRON_RANGES = {"second": (0, 59), "minute": (0, 59), "hour": (0, 23), "day of month": (1, 31), "month": (1, 12),
               "day of week": (0, 7)}


def _field_problem(name: str, text: str) -> str | None:
    """What is wrong with one field's numbers (values out of range, a zero step), or None.
    Names (jan, mon), L, W, # and ? are left to croniter."""
    lo, hi = CRON_RANGES[name]
    for item in text.split(","):
        value, _, step = item.partition("/")
        if step and (not step.isdigit() or int(step) < 1):
            return f"{name}: step '{step}' must be a whole number from 1"
        for number in re.findall(r"\d+", value) if re.fullmatch(r"[\d*-]+", value) else []:
            if not lo <= int(number) <= hi:
                return f"{name}: {number} is out of range {lo}–{hi}"
    return None


@lru_cache(maxsize=4096)
def _compile(expr: str, tz: str) -> _Cron:
    """Parse and check a 5-field or 6-field (seconds first) expression; ScheduleError on bad input."""
    zone = _zone(tz)
    fields = tuple(expr.split())
    if len(fields) not in (5, 6):
        raise ScheduleError(
            "cron",
            f"a cron expression has 5 fields (minute hour day month weekday) or 6 with seconds "
            f'first; "{expr}" has {len(fields)}',
        )
    names = CRON_FIELDS[1:] if len(fields) == 5 else CRON_FIELDS
    for name, text in zip(names, fields, strict=True):
        problem = _field_problem(name, text)
        if problem is not None:
            raise ScheduleError("cron", f'"{expr}" is not a valid cron expression: {problem}')
    # croniter's 6-field form puts seconds last; reordering ourselves works on every version.
    order = fields[1:] + fields[:1] if len(fields) == 6 else fields
    try:
        engine = croniter(" ".join(order), 0.0)  # float start: naive arithmetic, no DST at all
        engine.get_next(float, start_time=0.0)
    except CroniterBadDateError:
        raise ScheduleError("cron", f'"{expr}" never matches any date') from None
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ScheduleError("cron", f'"{expr}" is not a valid cron expression ({exc})') from None
    exp = engine.expanded
    seconds = _values(exp[5], 60) if len(fields) == 6 else [0]
    gap = _cron_gap(seconds, _values(exp[0], 60), _values(exp[1], 24))
    return _Cron(fields, zone, engine, fields[-4] == "*", gap)


def _next_wall(c: _Cron, wall: float) -> float | None:
    """First matching wall time strictly after ``wall``, or None if there is none."""
    with _LOCK:
        try:
            # Matches are whole seconds; croniter rounds a fractional start to the microsecond,
            # which can land on the match itself and skip it, so hand it whole seconds only.
            return float(c.engine.get_next(float, start_time=float(math.floor(wall))))
        except CroniterBadDateError:
            return None


def _cron_fires(c: _Cron, after: float) -> Iterator[Fire]:
    """Cron fires with nominal > after, ascending, with the DST rules of the module docstring."""
    zone = c.zone
    cur = after + _offset(after, zone)
    a, b = _instants(cur, zone)
    if a < b:  # `after` is inside a repeated hour: second-pass fires of earlier walls lie ahead
        cur -= b - a
    held: Fire | None = None  # a gap fire waits: a regular match may land on the same instant
    lookahead: float | None = None
    while True:
        wall = lookahead if lookahead is not None else _next_wall(c, cur)
        lookahead = None
        if wall is None:
            break
        cur = wall
        e0, e1 = _instants(wall, zone)
        if e0 == e1:
            batch = [Fire(e0)]
        elif e0 > e1:
            batch = [Fire(_transition(e1, e0, zone), "gap")]
        else:
            # Repeated span [first, end) on the wall clock: all first-pass instants come before
            # all second-pass ones, so collect every match in the span before emitting.
            first = _transition(e0, e1, zone)
            end = first + _offset(first, zone) + (e1 - e0)
            walls = [wall]
            while (nxt := _next_wall(c, cur)) is not None and nxt < end:
                walls.append(nxt)
                cur = nxt
            lookahead = nxt
            pairs = [_instants(w, zone) for w in walls]
            batch = [Fire(p[0], None if c.hour_star else "first") for p in pairs]
            if c.hour_star:
                batch += [Fire(p[1], "fold") for p in pairs]
        for fire in batch:
            if held is not None:
                if fire.nominal == held.nominal:
                    held = fire if fire.dst is None else held
                    continue
                if held.nominal > after:
                    yield held
                held = None
            if fire.dst == "gap":
                held = fire
            elif fire.nominal > after:
                yield fire
    if held is not None and held.nominal > after:
        yield held


# --- public evaluation ---------------------------------------------------------------------------


def _every(spec: ScheduleSpec) -> float:
    """The interval length, or ScheduleError(field="every")."""
    every = spec.every
    if every is None or not math.isfinite(every) or every <= 0:
        raise ScheduleError("every", "an interval schedule needs a positive interval")
    return float(every)


def _grid_index(start: float, every: float, after: float) -> int:
    """Smallest k >= 0 with start + k*every > after, in O(1) (two float-rounding guards)."""
    if after < start:
        return 0
    k = math.floor((after - start) / every) + 1
    if start + k * every <= after:
        k += 1
    elif k > 1 and start + (k - 1) * every > after:
        k -= 1
    return k


def _fires(spec: ScheduleSpec, after: float) -> Iterator[Fire]:
    """All fires in [start, expiry] with nominal > after, ascending (max_runs not applied)."""
    lo = max(after, math.nextafter(spec.start, -math.inf))  # "> lo" now also means ">= start"
    if spec.kind == "interval":
        every = _every(spec)
        k = _grid_index(spec.start, every, lo)
        while (t := spec.start + k * every) <= spec.expiry:  # multiply, never accumulate: no drift
            yield Fire(t)
            k += 1
    elif spec.kind == "cron":
        for fire in _cron_fires(_compile(spec.cron or "", spec.tz), lo):
            if fire.nominal > spec.expiry:
                return
            yield fire
    elif spec.kind == "once":
        if spec.at is None:
            raise ScheduleError("at", "a once schedule needs a time")
        if spec.at > lo and spec.at <= spec.expiry:
            yield Fire(spec.at)
    else:
        raise ScheduleError("kind", f'unknown schedule kind "{spec.kind}"')


def _remaining(spec: ScheduleSpec, fired: int) -> float:
    """How many more fires max_runs allows (inf without a limit)."""
    return math.inf if spec.max_runs is None else max(0, spec.max_runs - fired)


def next_fire(spec: ScheduleSpec, after: float, fired: int = 0) -> Fire | None:
    """First fire strictly after ``after`` within [start, expiry]; None if none or max_runs reached."""
    if spec.max_runs is not None and fired >= spec.max_runs:
        return None
    if spec.kind == "interval":  # fast path: pure arithmetic, no generator
        every = _every(spec)
        t = spec.start + _grid_index(spec.start, every, after) * every
        return Fire(t) if t <= spec.expiry else None
    return next(_fires(spec, after), None)


def next_fires(spec: ScheduleSpec, after: float, k: int = 5, fired: int = 0) -> list[Fire]:
    """The next ``k`` fires after ``after`` (fewer near expiry or max_runs)."""
    cap = min(k, _remaining(spec, fired))
    out: list[Fire] = []
    for fire in _fires(spec, after):
        if len(out) >= cap:
            break
        out.append(fire)
    return out


def fires_between(
    spec: ScheduleSpec, after: float, until: float, limit: int | None = None, fired: int = 0
) -> list[Fire]:
    """Fires with nominal in (after, until], at most ``limit`` and at most max_runs - fired."""
    cap = _remaining(spec, fired) if limit is None else min(limit, _remaining(spec, fired))
    out: list[Fire] = []
    for fire in _fires(spec, after):
        if fire.nominal > until or len(out) >= cap:
            break
        out.append(fire)
    return out


def min_gap(spec: ScheduleSpec) -> float:
    """Smallest nominal spacing of fires (interval: every; cron: from its fields; once: inf).

    For cron this ignores DST: a gap-shifted fire may land closer to the next regular one.
    """
    if spec.kind == "interval":
        return _every(spec)
    if spec.kind == "cron":
        return _compile(spec.cron or "", spec.tz).min_gap
    return math.inf


# --- validation ----------------------------------------------------------------------------------


def _local(t: float, tz: str) -> str:
    """An instant as local "YYYY-MM-DD HH:MM[:SS]" for messages and descriptions."""
    try:
        dt = datetime.fromtimestamp(t, _zone(tz))
    except ScheduleError:
        dt = datetime.fromtimestamp(t, UTC)
    return dt.strftime("%Y-%m-%d %H:%M:%S" if dt.second else "%Y-%m-%d %H:%M")


def validate(spec: ScheduleSpec, *, job_title: str, allows_sub_minute: bool) -> list[ScheduleError]:
    """Every problem with ``spec``, each naming its field; an empty list means valid."""
    errors: list[ScheduleError] = []
    tz_ok = True
    if spec.kind not in KINDS:
        errors.append(ScheduleError("kind", f'unknown schedule kind "{spec.kind}" (use {", ".join(KINDS)})'))
    try:
        _zone(spec.tz)
    except ScheduleError as exc:
        errors.append(exc)
        tz_ok = False
    if not (math.isfinite(spec.start) and math.isfinite(spec.expiry)):
        errors.append(ScheduleError("expiry", "start and expiry must both be set"))
    elif spec.expiry <= spec.start:
        errors.append(ScheduleError(
            "expiry", f"expiry ({_local(spec.expiry, spec.tz)}) must be after start ({_local(spec.start, spec.tz)})"))
    if spec.max_runs is not None and spec.max_runs < 1:
        errors.append(ScheduleError("max_runs", f"max runs must be at least 1 (or empty for no limit), not {spec.max_runs}"))
    field = "every" if spec.kind == "interval" else "cron"
    gap: float | None = None
    try:
        if spec.kind == "interval":
            gap = _every(spec)
            what = f"every {format_duration(gap)} is {gap:g} seconds apart"
        elif spec.kind == "cron":
            if not (spec.cron or "").strip():
                raise ScheduleError("cron", "a cron schedule needs an expression, e.g. */5 * * * *")
            gap = _compile(spec.cron or "", spec.tz if tz_ok else "UTC").min_gap
            what = f'"{spec.cron}" fires as little as {gap:g} seconds apart'
        elif spec.kind == "once":
            if spec.at is None or not math.isfinite(spec.at):
                errors.append(ScheduleError("at", "a once schedule needs a time"))
            elif not spec.start <= spec.at <= spec.expiry:
                errors.append(ScheduleError(
                    "at", f"the time ({_local(spec.at, spec.tz)}) must lie between start and expiry"))
    except ScheduleError as exc:
        errors.append(exc)
    if gap is not None and gap < SUB_MINUTE and not allows_sub_minute:
        errors.append(ScheduleError(
            field, f'Job "{job_title}" may not run more often than once a minute ({what})'))
    return errors


# --- descriptions --------------------------------------------------------------------------------


def _every_words(seconds: float) -> str:
    """ "every 30 seconds", "every 5 minutes", "every hour", "every 90 minutes"."""
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            n = seconds / size
            return f"every {name}" if n == 1 else f"every {n:g} {name}s"
    return "every second" if seconds == 1 else f"every {seconds:g} seconds"


def _describe_cron(expr: str, tz: str) -> str:
    """Plain words for a cron expression; cron-descriptor reads 6 fields as seconds first."""
    fields = expr.split()
    if len(fields) == 5 and fields[1:] == ["*"] * 4 and re.fullmatch(r"\d+(,\d+)*", fields[0]):
        mins = [f"{int(m):02d}" for m in sorted({int(m) for m in fields[0].split(",")})]
        if len(mins) == 1:
            return f"at minute {mins[0]} of every hour"
        return f"at minutes {', '.join(mins[:-1])} and {mins[-1]} of every hour"
    opts = Options()
    opts.use_24hour_time_format = True
    try:
        text = ExpressionDescriptor(expr, opts).get_description()
    except Exception:  # a describer quirk must not break a schedule croniter accepted
        return f"cron {expr} ({tz})"
    text = text[:1].lower() + text[1:]
    # Only time-of-day and calendar fields depend on the zone; "every 5 minutes" does not.
    return text if fields[-4:] == ["*"] * 4 else f"{text} ({tz})"


def describe(spec: ScheduleSpec) -> str:
    """Plain-language description, e.g. "every 30 seconds" or "once at 2026-06-01 10:00 (Europe/Oslo)"."""
    try:
        if spec.kind == "interval":
            return _every_words(_every(spec))
        if spec.kind == "cron":
            _compile(spec.cron or "", spec.tz)
            return _describe_cron(spec.cron or "", spec.tz)
        if spec.kind == "once" and spec.at is not None:
            return f"once at {_local(spec.at, spec.tz)} ({spec.tz})"
    except ScheduleError as exc:
        return f"invalid schedule: {exc.message}"
    return f'invalid schedule: unknown kind "{spec.kind}"'
