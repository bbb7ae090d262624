"""Tests for t4o_tui.engine.schedule_math: grids, cron, DST in Europe/Oslo, validation, descriptions.

No real clock: every instant is built from fixed calendar values.
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim
from hypothesis import given
from hypothesis import strategies as st

from t4o_tui.engine.schedule_math import (
    Fire,
    ScheduleError,
    ScheduleSpec,
    describe,
    fires_between,
    format_duration,
    min_gap,
    next_fire,
    next_fires,
    parse_duration,
    validate,
)

OSLO_NAME = "Europe/Oslo"
OSLO = ZoneInfo(OSLO_NAME)
# Europe/Oslo in 2026/2027: spring forward 02:00 -> 03:00, fall back 03:00 -> 02:00.
SPRING = [(2026, 3, 29), (2027, 3, 28)]
FALL = [(2026, 10, 25), (2027, 10, 31)]


def oslo(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, fold: int = 0) -> float:
    """Epoch seconds of an Oslo wall time (fold=1: second pass of a repeated hour)."""
    return datetime(y, mo, d, h, mi, s, tzinfo=OSLO, fold=fold).timestamp()


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> float:
    """Epoch seconds of a UTC time."""
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC).timestamp()


def wall(t: float) -> str:
    """An instant as Oslo wall time with offset, for readable assertions."""
    return datetime.fromtimestamp(t, OSLO).isoformat()


def walls(fires: list[Fire]) -> list[tuple[str, str | None]]:
    """Fires as (Oslo wall time, dst mark) pairs."""
    return [(wall(f.nominal), f.dst) for f in fires]


def cron(expr: str, start: float | None = None, expiry: float | None = None, tz: str = OSLO_NAME,
         max_runs: int | None = None) -> ScheduleSpec:
    """A cron spec with a wide default window."""
    return ScheduleSpec("cron", utc(2020, 1, 1) if start is None else start,
                        utc(2030, 1, 1) if expiry is None else expiry, tz, cron=expr, max_runs=max_runs)


def interval(every: float, start: float, expiry: float, max_runs: int | None = None) -> ScheduleSpec:
    """An interval spec in Oslo."""
    return ScheduleSpec("interval", start, expiry, OSLO_NAME, every=every, max_runs=max_runs)


# --- durations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30), ("5m", 300), ("1h30m", 5400), ("2h", 7200), ("90", 90), ("1.5s", 1.5),
    ("1d", 86400), (" 1h 30m ", 5400), ("2H", 7200), ("0.5", 0.5),
])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "0", "0s", "-5m", "5x", "5s5s", "30s1m", "1h-", "m", "inf"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ScheduleError) as exc:
        parse_duration(text)
    assert exc.value.field == "every"


@pytest.mark.parametrize(("seconds", "text"), [
    (30, "30s"), (300, "5m"), (5400, "1h30m"), (7200, "2h"), (1.5, "1.5s"), (90, "1m30s"),
    (86400 + 60, "1d1m"), (0.1 + 0.2, "0.3s"),
])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds)


# --- interval ----------------------------------------------------------------------------------

START = utc(2026, 6, 1, 10)
END = utc(2026, 6, 1, 11)


def test_interval_before_start_fires_at_start() -> None:
    spec = interval(300, START, END)
    assert next_fire(spec, START - 1e6) == Fire(START)
    assert next_fire(spec, START - 0.001) == Fire(START)


def test_interval_grid_is_anchored_at_start() -> None:
    spec = interval(300, START + 7, END)  # an odd anchor: the grid keeps it
    assert next_fire(spec, START + 7) == Fire(START + 307)  # exactly on a grid point: the next one
    assert next_fire(spec, START + 100) == Fire(START + 307)
    assert next_fire(spec, START + 306.999) == Fire(START + 307)
    assert [f.nominal - START for f in next_fires(spec, START, k=3)] == [7, 307, 607]


def test_interval_expiry_is_inclusive() -> None:
    spec = interval(600, START, END)  # END is exactly start + 6 * 600
    assert next_fire(spec, END - 1) == Fire(END)
    assert next_fire(spec, END) is None
    assert len(fires_between(spec, START - 1, END + 3600)) == 7


def test_interval_max_runs() -> None:
    spec = interval(60, START, END, max_runs=3)
    assert next_fire(spec, START, fired=2) == Fire(START + 60)
    assert next_fire(spec, START, fired=3) is None
    assert len(next_fires(spec, START - 1, k=10, fired=1)) == 2
    assert len(fires_between(spec, START - 1, END, fired=0)) == 3
    assert fires_between(spec, START - 1, END, fired=5) == []


def test_interval_far_after_start_is_arithmetic() -> None:
    spec = interval(1, 0.0, 1e12)
    assert next_fire(spec, 5e11 + 0.5) == Fire(5e11 + 1)  # 5e11 steps: only arithmetic can do it


@given(
    start=st.floats(min_value=0, max_value=4e9, allow_nan=False),
    every=st.floats(min_value=0.001, max_value=1e6, allow_nan=False),
    delta=st.floats(min_value=-1e6, max_value=1e9, allow_nan=False),
)
def test_interval_next_is_first_grid_point_after(start: float, every: float, delta: float) -> None:
    spec = interval(every, start, math.inf)
    after = start + delta
    fire = next_fire(spec, after)
    assert fire is not None and fire.nominal > after and fire.nominal >= start
    k = round((fire.nominal - start) / every)
    assert fire.nominal == start + k * every
    assert k == 0 or start + (k - 1) * every <= after


@pytest.mark.parametrize(("y", "mo", "d"), SPRING[:1] + FALL[:1])
def test_interval_ignores_dst(y: int, mo: int, d: int) -> None:
    start = oslo(y, mo, d - 1, 22, 0)
    spec = interval(3600, start, start + 86400)
    fires = fires_between(spec, start, start + 8 * 3600)
    assert [b.nominal - a.nominal for a, b in zip(fires, fires[1:], strict=False)] == [3600] * 7
    assert all(f.dst is None for f in fires)
    local = [wall(f.nominal)[11:16] for f in fires]
    if mo == 3:  # the wall clock skips 02:00; elapsed time does not
        assert local == ["23:00", "00:00", "01:00", "03:00", "04:00", "05:00", "06:00", "07:00"]
    else:  # 02:00 is seen twice on the wall clock, an hour apart
        assert local == ["23:00", "00:00", "01:00", "02:00", "02:00", "03:00", "04:00", "05:00"]


# --- cron basics -------------------------------------------------------------------------------


def test_cron_five_fields_weekdays() -> None:
    spec = cron("15 8 * * 1-5")
    fires = next_fires(spec, oslo(2026, 6, 5, 9), k=3)  # Friday 09:00
    assert walls(fires) == [
        ("2026-06-08T08:15:00+02:00", None), ("2026-06-09T08:15:00+02:00", None),
        ("2026-06-10T08:15:00+02:00", None),
    ]


def test_cron_six_fields_seconds_first() -> None:
    spec = cron("*/10 * * * * *")
    base = oslo(2026, 6, 1, 12)
    assert [f.nominal - base for f in next_fires(spec, base, k=3)] == [10, 20, 30]
    # "5 0 * * * *" is second 5 of minute 0 of every hour (croniter's own default would read
    # it as minute 5 of hour 0).
    hourly = cron("5 0 * * * *")
    assert walls(next_fires(hourly, base, k=2)) == [
        ("2026-06-01T12:00:05+02:00", None), ("2026-06-01T13:00:05+02:00", None),
    ]


def test_cron_is_evaluated_in_its_zone() -> None:
    assert next_fire(cron("0 9 * * *", tz="UTC"), utc(2026, 6, 1)) == Fire(utc(2026, 6, 1, 9))
    assert next_fire(cron("0 9 * * *"), utc(2026, 6, 1)) == Fire(utc(2026, 6, 1, 7))


def test_cron_start_inclusive_expiry_inclusive() -> None:
    start, expiry = oslo(2026, 6, 1, 10), oslo(2026, 6, 1, 11)
    spec = cron("*/30 * * * *", start=start, expiry=expiry)
    assert next_fire(spec, start - 3600) == Fire(start)
    assert [f.nominal for f in fires_between(spec, 0, 2e9)] == [start, start + 1800, expiry]
    assert next_fire(spec, expiry) is None
    late = cron("*/30 * * * *", start=start + 1, expiry=expiry)  # start between matches
    assert next_fire(late, 0) == Fire(start + 1800)


def test_cron_max_runs() -> None:
    spec = cron("0 * * * *", max_runs=2)
    base = oslo(2026, 6, 1, 10, 30)
    assert next_fire(spec, base, fired=1) == Fire(oslo(2026, 6, 1, 11))
    assert next_fire(spec, base, fired=2) is None
    assert len(next_fires(spec, base, k=5)) == 2


def test_fires_between_is_half_open_with_limit() -> None:
    spec = cron("0 * * * *")
    a, b = oslo(2026, 6, 1, 10), oslo(2026, 6, 1, 15)
    assert [wall(f.nominal)[11:16] for f in fires_between(spec, a, b)] == [
        "11:00", "12:00", "13:00", "14:00", "15:00"]
    assert len(fires_between(spec, a, b, limit=2)) == 2
    assert fires_between(spec, a, b, limit=0) == []
    assert fires_between(spec, b, a) == []


def test_once() -> None:
    at = oslo(2026, 6, 1, 10)
    spec = ScheduleSpec("once", at - 3600, at + 3600, OSLO_NAME, at=at)
    assert next_fire(spec, 0) == Fire(at)
    assert next_fire(spec, at) is None
    assert next_fire(spec, 0, fired=1) == Fire(at)  # no max_runs: only the window limits it
    assert fires_between(spec, at - 1, at) == [Fire(at)]
    assert next_fire(ScheduleSpec("once", at + 1, at + 3600, at=at), 0) is None
    assert next_fire(ScheduleSpec("once", at, at + 1, at=at), 0) == Fire(at)  # start inclusive
    assert next_fire(ScheduleSpec("once", at - 1, at, at=at), 0) == Fire(at)  # expiry inclusive


def test_next_fire_on_invalid_spec_raises() -> None:
    with pytest.raises(ScheduleError) as exc:
        next_fire(cron("0 * * * *", tz="Nowhere/City"), 0)
    assert exc.value.field == "tz"
    with pytest.raises(ScheduleError) as exc:
        next_fire(ScheduleSpec("interval", 0, 10), 0)
    assert exc.value.field == "every"


# --- DST in Europe/Oslo ------------------------------------------------------------------------


def test_dst_fixed_time_gap_fires_once_at_gap_end() -> None:
    spec = cron("30 2 * * *")
    fires = fires_between(spec, oslo(2026, 3, 28, 12), oslo(2026, 3, 30, 12))
    assert walls(fires) == [("2026-03-29T03:00:00+02:00", "gap"), ("2026-03-30T02:30:00+02:00", None)]
    assert fires[0].nominal == utc(2026, 3, 29, 1)  # the transition instant itself


def test_dst_fixed_time_fold_fires_on_first_pass_only() -> None:
    spec = cron("30 2 * * *")
    fires = fires_between(spec, oslo(2026, 10, 24, 12), oslo(2026, 10, 26, 12))
    # The first pass is marked (a preview says which pass fires); the second does not fire.
    assert walls(fires) == [("2026-10-25T02:30:00+02:00", "first"), ("2026-10-26T02:30:00+01:00", None)]
    # Even from inside the repeated hour the second pass does not fire.
    assert next_fire(spec, oslo(2026, 10, 25, 2, 40)) == Fire(oslo(2026, 10, 26, 2, 30))
    assert next_fire(spec, oslo(2026, 10, 25, 2, 10, fold=1)) == Fire(oslo(2026, 10, 26, 2, 30))


def test_dst_hour_star_gap_has_no_fires_inside() -> None:
    spec = cron("*/15 * * * *")
    fires = fires_between(spec, oslo(2026, 3, 29, 1, 30), oslo(2026, 3, 29, 3, 30))
    assert walls(fires) == [
        ("2026-03-29T01:45:00+01:00", None), ("2026-03-29T03:00:00+02:00", None),
        ("2026-03-29T03:15:00+02:00", None), ("2026-03-29T03:30:00+02:00", None),
    ]
    assert [b.nominal - a.nominal for a, b in zip(fires, fires[1:], strict=False)] == [900] * 3


def test_dst_hour_star_fold_fires_on_both_passes() -> None:
    spec = cron("*/15 * * * *")
    fires = fires_between(spec, oslo(2026, 10, 25, 1, 45), oslo(2026, 10, 25, 3, 0))
    assert walls(fires) == [
        ("2026-10-25T02:00:00+02:00", None), ("2026-10-25T02:15:00+02:00", None),
        ("2026-10-25T02:30:00+02:00", None), ("2026-10-25T02:45:00+02:00", None),
        ("2026-10-25T02:00:00+01:00", "fold"), ("2026-10-25T02:15:00+01:00", "fold"),
        ("2026-10-25T02:30:00+01:00", "fold"), ("2026-10-25T02:45:00+01:00", "fold"),
        ("2026-10-25T03:00:00+01:00", None),
    ]
    assert [b.nominal - a.nominal for a, b in zip(fires, fires[1:], strict=False)] == [900] * 8
    # From inside the first pass, the rest of it comes first, then the whole second pass.
    assert walls(next_fires(spec, oslo(2026, 10, 25, 2, 40), k=2)) == [
        ("2026-10-25T02:45:00+02:00", None), ("2026-10-25T02:00:00+01:00", "fold")]
    assert walls(next_fires(spec, oslo(2026, 10, 25, 2, 20, fold=1), k=2)) == [
        ("2026-10-25T02:30:00+01:00", "fold"), ("2026-10-25T02:45:00+01:00", "fold")]


def test_dst_fixed_hour_with_minute_step() -> None:
    # Hour field is not "*": the four gap times collapse into one fire, the fold fires once.
    spec = cron("*/15 2 * * *")
    spring = fires_between(spec, oslo(2026, 3, 29), oslo(2026, 3, 29, 12))
    assert walls(spring) == [("2026-03-29T03:00:00+02:00", "gap")]
    fall = fires_between(spec, oslo(2026, 10, 25), oslo(2026, 10, 25, 12))
    assert walls(fall) == [(f"2026-10-25T02:{m:02d}:00+02:00", "first") for m in (0, 15, 30, 45)]


def test_dst_gap_fire_merges_with_regular_fire_at_gap_end() -> None:
    spec = cron("0 1-3 * * *")
    assert walls(fires_between(spec, oslo(2026, 3, 29), oslo(2026, 3, 29, 12))) == [
        ("2026-03-29T01:00:00+01:00", None), ("2026-03-29T03:00:00+02:00", None)]


def test_dst_hour_star_gap_shift_follows_contract() -> None:
    # semantics.md: every nonexistent wall time fires once at the gap end, hour "*" included
    # (croniter and cronsim skip these). Pinned, including the tight spacing it can cause.
    hourly = cron("30 * * * *")
    assert walls(fires_between(hourly, oslo(2026, 3, 29, 1), oslo(2026, 3, 29, 3, 30))) == [
        ("2026-03-29T01:30:00+01:00", None), ("2026-03-29T03:00:00+02:00", "gap"),
        ("2026-03-29T03:30:00+02:00", None)]
    sixfield = cron("30 */20 * * * *")
    fires = fires_between(sixfield, oslo(2026, 3, 29, 1, 41), oslo(2026, 3, 29, 3, 1))
    assert walls(fires) == [("2026-03-29T03:00:00+02:00", "gap"), ("2026-03-29T03:00:30+02:00", None)]


@pytest.mark.parametrize("expr", ["30 2 * * *", "*/15 * * * *", "*/15 2 * * *", "30 * * * *",
                                  "0 1-3 * * *", "0,30 */20 * * * *"])
@pytest.mark.parametrize("day", SPRING[:1] + FALL[:1])
def test_dst_chained_next_fire_equals_fires_between(expr: str, day: tuple[int, int, int]) -> None:
    # The evaluator chains next_fire(after=previous nominal); that must give the same sequence.
    spec = cron(expr)
    a, b = oslo(*day) - 3600, oslo(*day) + 6 * 3600
    expected = fires_between(spec, a, b)
    chained, t = [], a
    while (fire := next_fire(spec, t)) is not None and fire.nominal <= b:
        chained.append(fire)
        t = fire.nominal
    assert chained == expected
    assert all(x.nominal < y.nominal for x, y in zip(expected, expected[1:], strict=False))


def test_dst_utc_zone_has_no_marks() -> None:
    spec = cron("*/15 * * * *", tz="UTC")
    fires = fires_between(spec, utc(2026, 3, 29), utc(2026, 3, 30))
    assert len(fires) == 96 and all(f.dst is None for f in fires)


# --- cross-check against cronsim ----------------------------------------------------------------

XSTART, XEND = oslo(2026, 1, 1), oslo(2028, 1, 1)


def _gap_ends() -> set[float]:
    """Transition instants of both spring-forward nights (03:00 CEST)."""
    return {oslo(y, m, d, 3) for y, m, d in SPRING}


def _second_passes(minutes: range) -> set[float]:
    """02:MM on the second pass of both fall-back nights."""
    return {oslo(y, mo, d, 2, mi, fold=1) for y, mo, d in FALL for mi in minutes}


def _first_passes(minutes: list[int]) -> set[float]:
    """02:MM on the first pass of both fall-back nights."""
    return {oslo(y, mo, d, 2, mi) for y, mo, d in FALL for mi in minutes}


# expr -> (only ours, only cronsim's): the documented DST exceptions, nothing else.
CROSS = {
    "0 * * * *": (set(), set()),
    "30 2 * * *": (set(), set()),
    "*/15 * * * *": (set(), set()),
    "0 0 1 * *": (set(), set()),
    "15 8 * * 1-5": (set(), set()),
    "0 9,17 * * *": (set(), set()),
    # cronsim (Debian cron) skips nonexistent times of wildcard-minute/hour expressions; the
    # contract shifts them to the gap end.
    "30 * * * *": (_gap_ends(), set()),
    # cronsim treats a "*/15" minute as wildcard and fires both passes; the contract only
    # repeats expressions whose hour is "*".
    "*/15 2 * * *": (_gap_ends(), _second_passes(range(0, 60, 15))),
    "30 10 * * * *": (_gap_ends(), set()),  # six fields, seconds first
}


@functools.cache
def _ours(expr: str) -> tuple[Fire, ...]:
    """Our fires over the two cross-check years (shared by the tests below)."""
    return tuple(fires_between(cron(expr), XSTART, XEND))


@pytest.mark.parametrize("expr", list(CROSS))
def test_cross_check_with_cronsim(expr: str) -> None:
    ours = {f.nominal for f in _ours(expr)}
    theirs: set[float] = set()
    for dt in CronSim(expr, datetime.fromtimestamp(XSTART, OSLO)):
        t = dt.timestamp()
        if t > XEND:
            break
        theirs.add(t)
    only_ours, only_theirs = CROSS[expr]
    assert ours - theirs == only_ours
    assert theirs - ours == only_theirs
    assert len(ours) > 20


def test_cross_check_marks() -> None:
    marked = {(wall(f.nominal), f.dst) for f in _ours("*/15 * * * *") if f.dst}
    assert marked == {(wall(t), "fold") for t in _second_passes(range(0, 60, 15))}
    gaps = {(wall(f.nominal), f.dst) for f in _ours("30 2 * * *") if f.dst == "gap"}
    assert gaps == {(wall(t), "gap") for t in _gap_ends()}
    firsts = {wall(f.nominal) for f in _ours("30 2 * * *") if f.dst == "first"}
    assert firsts == {wall(t) for t in _first_passes([30])}
    assert {f.dst for f in _ours("30 2 * * *")} == {None, "gap", "first"}


# --- sub-minute rule -----------------------------------------------------------------------------


def test_sub_minute_interval_rejected_naming_job() -> None:
    spec = interval(30, START, END)
    errors = validate(spec, job_title="Backup", allows_sub_minute=False)
    assert [e.field for e in errors] == ["every"]
    assert str(errors[0]) == (
        'Job "Backup" may not run more often than once a minute (every 30s is 30 seconds apart)')
    assert validate(spec, job_title="Backup", allows_sub_minute=True) == []
    assert validate(interval(60, START, END), job_title="Backup", allows_sub_minute=False) == []


def test_sub_minute_six_field_cron_rejected() -> None:
    spec = cron("*/10 * * * * *")
    errors = validate(spec, job_title="Import", allows_sub_minute=False)
    assert [e.field for e in errors] == ["cron"]
    assert 'Job "Import"' in str(errors[0]) and "once a minute" in str(errors[0])
    assert "10 seconds" in str(errors[0])
    assert validate(spec, job_title="Import", allows_sub_minute=True) == []


@pytest.mark.parametrize(("expr", "gap"), [
    ("0 * * * * *", 60), ("* * * * *", 60), ("*/10 * * * * *", 10), ("0,30 * * * * *", 30),
    ("0,45 * * * * *", 15), ("0,45 0,30 * * * *", 45), ("0,45 * * * *", 900),
    ("0 9,17 * * *", 8 * 3600), ("0 * * * *", 3600), ("30 2 * * *", 86400), ("0 0 1 * *", 86400),
])
def test_min_gap_cron(expr: str, gap: float) -> None:
    assert min_gap(cron(expr)) == gap
    sub = validate(cron(expr), job_title="J", allows_sub_minute=False)
    assert bool(sub) == (gap < 60)


def test_min_gap_other_kinds() -> None:
    assert min_gap(interval(45, START, END)) == 45
    assert min_gap(ScheduleSpec("once", START, END, at=START)) == math.inf


# --- validation --------------------------------------------------------------------------------


def _fields(spec: ScheduleSpec) -> list[str]:
    """Fields named by the validation errors of ``spec``."""
    return [e.field for e in validate(spec, job_title="Backup", allows_sub_minute=False)]


@pytest.mark.parametrize("expr", [
    "", "   ", "* * * *", "* * * * * * *", "61 * * * *", "0 24 * * *", "0 0 32 * *",
    "0 0 * 13 *", "0 0 * * 8", "a b c d e", "@hourly", "0 0 30 2 *", "60 * * * * *",
])
def test_invalid_cron_names_cron(expr: str) -> None:
    errors = validate(cron(expr), job_title="Backup", allows_sub_minute=False)
    assert [e.field for e in errors] == ["cron"]
    assert errors[0].message


def test_missing_cron_names_cron() -> None:
    assert _fields(ScheduleSpec("cron", START, END)) == ["cron"]


def test_cron_error_messages_are_specific() -> None:
    def msg(expr: str) -> str:
        return validate(cron(expr), job_title="B", allows_sub_minute=False)[0].message
    assert "5 fields" in msg("* * * *") and "has 4" in msg("* * * *")
    assert "never matches" in msg("0 0 30 2 *")
    assert "not a valid cron expression" in msg("61 * * * *")


@pytest.mark.parametrize(("spec", "fields"), [
    (interval(300, START, START), ["expiry"]),
    (interval(300, START, START - 60), ["expiry"]),
    (interval(300, START, math.nan), ["expiry"]),
    (interval(0, START, END), ["every"]),
    (interval(-5, START, END), ["every"]),
    (ScheduleSpec("interval", START, END), ["every"]),
    (ScheduleSpec("interval", START, END, "Nowhere/City", every=300), ["tz"]),
    (ScheduleSpec("interval", START, END, "", every=300), ["tz"]),
    (ScheduleSpec("interval", START, END, "../etc/passwd", every=300), ["tz"]),
    (interval(300, START, END, max_runs=0), ["max_runs"]),
    (ScheduleSpec("once", START, END, at=START - 1), ["at"]),
    (ScheduleSpec("once", START, END, at=END + 1), ["at"]),
    (ScheduleSpec("once", START, END), ["at"]),
    (ScheduleSpec("weekly", START, END), ["kind"]),
    (ScheduleSpec("cron", START, END, "Nowhere/City", cron="0 * * * *"), ["tz"]),
])
def test_validation_names_field(spec: ScheduleSpec, fields: list[str]) -> None:
    assert _fields(spec) == fields


def test_validation_reports_every_problem() -> None:
    spec = ScheduleSpec("cron", START, START - 1, "Nowhere/City", cron="61 * * * *", max_runs=0)
    assert sorted(_fields(spec)) == ["cron", "expiry", "max_runs", "tz"]
    sub = ScheduleSpec("interval", START, START, every=30)
    assert sorted(_fields(sub)) == ["every", "expiry"]


def test_valid_specs_have_no_errors() -> None:
    for spec in [interval(300, START, END), cron("*/5 * * * *"),
                 ScheduleSpec("once", START, END, OSLO_NAME, at=START), cron("0 0 L * *")]:
        assert validate(spec, job_title="Backup", allows_sub_minute=False) == []


def test_schedule_error_is_value_error() -> None:
    err = ScheduleError("cron", "bad")
    assert isinstance(err, ValueError) and err.field == "cron" and str(err) == "bad"


# --- descriptions ------------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "text"), [
    (interval(30, START, END), "every 30 seconds"),
    (interval(300, START, END), "every 5 minutes"),
    (interval(3600, START, END), "every hour"),
    (interval(5400, START, END), "every 90 minutes"),
    (interval(1.5, START, END), "every 1.5 seconds"),
    (cron("1,31 * * * *"), "at minutes 01 and 31 of every hour"),
    (cron("5 * * * *"), "at minute 05 of every hour"),
    (cron("*/5 * * * *"), "every 5 minutes"),
    (cron("*/10 * * * * *"), "every 10 seconds"),
    (cron("0 * * * * *"), "every minute"),
    (cron("5 */10 * * * *"), "at 5 seconds past the minute, every 10 minutes"),
    (cron("30 2 * * *"), "at 02:30 (Europe/Oslo)"),
    (cron("0 9,17 * * *"), "at 09:00 and 17:00 (Europe/Oslo)"),
    (cron("15 8 * * 1-5"), "at 08:15, Monday through Friday (Europe/Oslo)"),
    (ScheduleSpec("once", START, END, OSLO_NAME, at=oslo(2026, 6, 1, 10)),
     "once at 2026-06-01 10:00 (Europe/Oslo)"),
])
def test_describe(spec: ScheduleSpec, text: str) -> None:
    assert describe(spec) == text


def test_describe_invalid() -> None:
    assert describe(cron("61 * * * *")).startswith("invalid schedule:")
    assert describe(ScheduleSpec("weekly", START, END)).startswith("invalid schedule:")


def test_cron_rare_match_and_expiry() -> None:
    # Feb 29: 2100 is not a leap year, so after 2097 the next one is 2104.
    spec = cron("0 0 29 2 *", expiry=utc(2100, 1, 1))
    assert next_fire(spec, utc(2097, 1, 1)) is None
    later = cron("0 0 29 2 *", expiry=utc(2105, 1, 1))
    fire = next_fire(later, utc(2097, 1, 1))
    assert fire is not None and wall(fire.nominal) == "2104-02-29T00:00:00+01:00"
