"""Punch check and station priority: every case orienteering.md names, plus properties."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from t4o_tui.orienteering.punch_check import (
    CardData,
    ControlKind,
    CourseControl,
    DataStatus,
    Punch,
    StartSource,
    StationReading,
    StationRole,
    Status,
    TimeBase,
    card_data_status,
    check_punches,
    iof_status,
    merge_station_statuses,
    resolve_12h,
    resolve_day_time,
)

OSLO = ZoneInfo("Europe/Oslo")


def at(text: str) -> float:
    """An instant from local Oslo wall-clock text."""
    return datetime.fromisoformat(text).replace(tzinfo=OSLO).timestamp()


T0 = at("2025-06-01 11:00:00")  # drawn start


def course(*codes: str, exempt: tuple[str, ...] = ()) -> list[CourseControl]:
    return [
        CourseControl("S1", ControlKind.START),
        *(CourseControl(c, exempt=c in exempt) for c in codes),
        CourseControl("F1", ControlKind.FINISH),
    ]


def card(*punches: tuple[str, float], finish: float | None = None, start: float | None = None) -> CardData:
    return CardData(
        punches=tuple(Punch(c, T0 + t) for c, t in punches),
        finish=Punch("F1", T0 + finish) if finish is not None else None,
        start=Punch("S1", T0 + start) if start is not None else None,
    )


def test_all_controls_in_order_is_ok_with_splits_and_legs() -> None:
    r = check_punches(course("31", "32", "33"), card(("31", 60), ("32", 150), ("33", 300), finish=400),
                      drawn_start=T0)
    assert r.status is Status.OK
    assert r.start == T0 and r.finish == T0 + 400 and r.time == 400
    assert [(s.code, s.time) for s in r.splits] == [("31", 60), ("32", 150), ("33", 300)]
    assert r.legs == (60, 90, 150, 100)
    assert r.missing == () and r.extra == ()


def test_extra_punches_are_ignored_and_listed() -> None:
    r = check_punches(course("31", "32"),
                      card(("99", 10), ("31", 60), ("77", 100), ("32", 150), ("31", 170), finish=200),
                      drawn_start=T0)
    assert r.status is Status.OK
    assert [p.code for p in r.extra] == ["99", "77", "31"]


def test_wrong_order_counts_as_missing_and_pointer_does_not_skip() -> None:
    r = check_punches(course("31", "32", "33"), card(("32", 60), ("31", 150), ("33", 300), finish=400),
                      drawn_start=T0)
    assert r.status is Status.MISSING_PUNCH
    assert r.missing == ("32",)
    assert [s.missing for s in r.splits] == [False, True, False]
    assert r.splits[1].time is None
    assert [p.code for p in r.extra] == ["32"]
    assert r.legs == (150, None, None, 100)
    assert any("missing 32" in m for m in r.messages)


def test_missing_control_is_missing_punch() -> None:
    r = check_punches(course("31", "32", "33"), card(("31", 60), ("33", 300), finish=400), drawn_start=T0)
    assert r.status is Status.MISSING_PUNCH
    assert r.missing == ("32",)
    assert r.time == 400  # the time is still known, shown by lists that want it


def test_missing_finish_is_did_not_finish() -> None:
    r = check_punches(course("31", "32"), card(("31", 60), ("32", 150)), drawn_start=T0)
    assert r.status is Status.DID_NOT_FINISH
    assert r.finish is None and r.time is None
    assert r.legs[-1] is None


def test_missing_control_wins_over_missing_finish() -> None:
    r = check_punches(course("31", "32"), card(("31", 60)), drawn_start=T0)
    assert r.status is Status.MISSING_PUNCH


def test_exempt_control_is_skipped_and_has_no_split() -> None:
    c = course("31", "32", "33", exempt=("32",))
    r = check_punches(c, card(("31", 60), ("33", 300), finish=400), drawn_start=T0)
    assert r.status is Status.OK
    assert [s.code for s in r.splits] == ["31", "33"]
    # Punched anyway: still no split, and the punch is an extra one.
    r2 = check_punches(c, card(("31", 60), ("32", 100), ("33", 300), finish=400), drawn_start=T0)
    assert r2.status is Status.OK and [p.code for p in r2.extra] == ["32"]


def test_butterfly_duplicate_codes_need_separate_punches() -> None:
    c = course("31", "32", "31", "33")
    ok = check_punches(c, card(("31", 60), ("32", 120), ("31", 180), ("33", 240), finish=300), drawn_start=T0)
    assert ok.status is Status.OK
    assert [s.time for s in ok.splits] == [60, 120, 180, 240]
    once = check_punches(c, card(("31", 60), ("32", 120), ("33", 240), finish=300), drawn_start=T0)
    assert once.status is Status.MISSING_PUNCH and once.missing == ("31",)
    twice_first = check_punches(c, card(("31", 60), ("31", 70), ("32", 120), ("33", 240), finish=300),
                                drawn_start=T0)
    assert twice_first.status is Status.MISSING_PUNCH and twice_first.missing == ("31",)


def test_max_time() -> None:
    c = course("31")
    over = check_punches(c, card(("31", 60), finish=3601), drawn_start=T0, max_time=3600)
    assert over.status is Status.OVER_TIME
    exact = check_punches(c, card(("31", 60), finish=3600), drawn_start=T0, max_time=3600)
    assert exact.status is Status.OK


def test_override_status_is_kept_on_reprocessing() -> None:
    c = course("31", "32")
    good = card(("31", 60), ("32", 120), finish=200)
    dsq = check_punches(c, good, drawn_start=T0, override_status=Status.DISQUALIFIED)
    assert dsq.status is Status.DISQUALIFIED and dsq.computed_status is Status.OK
    assert dsq.time == 200 and len(dsq.splits) == 2
    assert check_punches(c, good, drawn_start=T0, override_status=Status.DISQUALIFIED) == dsq
    # OK after a backup-label check, though the card misses a punch.
    bad = card(("31", 60), finish=200)
    ok = check_punches(c, bad, drawn_start=T0, override_status=Status.OK)
    assert ok.status is Status.OK and ok.computed_status is Status.MISSING_PUNCH
    assert ok.missing == ("32",)


def test_punched_start_and_fallbacks() -> None:
    c = course("31")
    punched = check_punches(c, card(("31", 60), finish=200, start=10), start_source=StartSource.PUNCH,
                            drawn_start=T0)
    assert punched.start == T0 + 10 and punched.time == 190
    no_punch = check_punches(c, card(("31", 60), finish=200), start_source=StartSource.PUNCH, drawn_start=T0)
    assert no_punch.start == T0 and any("drawn start time used" in m for m in no_punch.messages)
    nothing = check_punches(c, card(("31", 60), finish=200), start_source=StartSource.PUNCH)
    assert nothing.status is Status.MISSING_PUNCH and nothing.start is None
    drawn = check_punches(c, card(("31", 60), finish=200, start=10), drawn_start=T0)
    assert drawn.start == T0


def test_start_and_finish_as_ordinary_punches() -> None:
    c = course("31")
    r = check_punches(c, card(("S1", 5), ("31", 60), ("F1", 200)), start_source=StartSource.PUNCH)
    assert r.status is Status.OK and r.start == T0 + 5 and r.finish == T0 + 200 and r.extra == ()


def test_codes_match_with_leading_zeros() -> None:
    r = check_punches(course("031"), card(("31", 60), finish=100), drawn_start=T0)
    assert r.status is Status.OK


def test_punch_without_time_is_present_not_missing() -> None:
    c = course("31", "32")
    r = check_punches(c, CardData(punches=(Punch("31", T0 + 60), Punch("32", None)), finish=Punch("F1", T0 + 99)),
                      drawn_start=T0)
    assert r.status is Status.OK and r.splits[1].time is None and not r.splits[1].missing


# --- SI-Card 5: 12-hour times ----------------------------------------------------------------


def h(hh: int, mm: int, ss: int = 0) -> float:
    return hh * 3600 + mm * 60 + ss


def test_si5_twelve_hour_times_around_noon() -> None:
    start = at("2025-06-01 11:30:00")
    c = course("31", "32")
    raw = CardData(punches=(Punch("31", h(11, 50)), Punch("32", h(0, 10))), finish=Punch("F1", h(0, 40)),
                   time_base=TimeBase.HALF_DAY)
    r = check_punches(c, raw, drawn_start=start, zero_time=at("2025-06-01 10:00:00"), tz=OSLO)
    assert r.status is Status.OK
    assert [s.time for s in r.splits] == [20 * 60, 40 * 60]
    assert r.finish == at("2025-06-01 12:40:00") and r.time == 70 * 60


def test_si5_twelve_hour_times_around_midnight() -> None:
    start = at("2025-06-01 23:30:00")
    c = course("31", "32")
    raw = CardData(punches=(Punch("31", h(11, 50)), Punch("32", h(0, 20))), finish=Punch("F1", h(0, 45)),
                   check=Punch("", h(11, 10)), time_base=TimeBase.HALF_DAY)
    r = check_punches(c, raw, drawn_start=start, tz=OSLO)
    assert r.status is Status.OK
    assert r.finish == at("2025-06-02 00:45:00") and r.time == 75 * 60
    assert [s.time for s in r.splits] == [20 * 60, 50 * 60]


def test_si5_punched_start_resolves_against_zero_time() -> None:
    raw = CardData(punches=(Punch("31", h(1, 5)),), start=Punch("S1", h(0, 55)), finish=Punch("F1", h(1, 30)),
                   time_base=TimeBase.HALF_DAY)
    r = check_punches(course("31"), raw, start_source=StartSource.PUNCH, zero_time=at("2025-06-01 12:00:00"),
                      tz=OSLO)
    assert r.start == at("2025-06-01 12:55:00") and r.time == 35 * 60


def test_twelve_hour_card_without_reference_is_refused() -> None:
    with pytest.raises(ValueError, match="zero time"):
        check_punches(course("31"), CardData(time_base=TimeBase.HALF_DAY))


def test_resolve_12h_candidates() -> None:
    ref = at("2025-06-01 10:00:00")
    assert resolve_12h(h(9, 0), ref, OSLO) == at("2025-06-01 09:00:00")  # a check punch before
    assert resolve_12h(h(7, 0), ref, OSLO) == at("2025-06-01 19:00:00")  # 3 h before is too far
    assert resolve_12h(h(1, 0), ref, OSLO) == at("2025-06-01 13:00:00")
    assert resolve_12h(h(14, 0), ref, OSLO) == at("2025-06-01 14:00:00")  # already 24-hour


def test_resolve_12h_across_a_dst_change() -> None:
    # Oslo springs forward 2025-03-30 02:00 → 03:00: 03:30 is 1.5 h after 01:00, not 2.5 h.
    ref = at("2025-03-30 01:00:00")
    assert resolve_12h(h(3, 30), ref, OSLO) - ref == 1.5 * 3600


def test_resolve_day_time_crosses_midnight() -> None:
    ref = at("2025-06-01 23:00:00")
    assert resolve_day_time(h(0, 30), ref, OSLO) == at("2025-06-02 00:30:00")
    assert resolve_day_time(h(22, 0), ref, OSLO) == at("2025-06-01 22:00:00")


def test_day_clock_card() -> None:
    raw = CardData(punches=(Punch("31", h(11, 10)),), finish=Punch("F1", h(11, 20)), time_base=TimeBase.DAY)
    r = check_punches(course("31"), raw, drawn_start=T0, tz=OSLO)
    assert r.status is Status.OK and r.time == 20 * 60


# --- data status helpers ----------------------------------------------------------------------


def test_data_status_helpers() -> None:
    assert card_data_status(CardData()) is DataStatus.NO_PUNCHES
    full = card(("31", 60), finish=100)
    assert card_data_status(full) is None
    assert card_data_status(full, read_at=T0 - 10, start=T0, check_before_start=True) is DataStatus.BEFORE_START
    assert card_data_status(full, read_at=T0 - 10, start=T0) is None


# --- station priority -------------------------------------------------------------------------


def test_runner_goes_checked_started_finished_ok() -> None:
    seen: list[StationReading] = []
    assert merge_station_statuses(seen) is Status.INACTIVE
    seen.append(StationReading(StationRole.CARD_CHECK, received=1))
    assert merge_station_statuses(seen) is Status.CHECKED
    seen.append(StationReading(StationRole.START_CHECK, received=2))
    assert merge_station_statuses(seen) is Status.STARTED
    seen.append(StationReading(StationRole.FINISH, received=3))
    assert merge_station_statuses(seen) is Status.FINISHED
    seen.append(StationReading(StationRole.READOUT, Status.OK, received=4))
    assert merge_station_statuses(seen) is Status.OK
    # Order of arrival does not matter, priority does.
    assert merge_station_statuses(reversed(seen)) is Status.OK


def test_override_outranks_and_can_be_deactivated() -> None:
    readings = [
        StationReading(StationRole.READOUT, Status.MISSING_PUNCH, received=5),
        StationReading(StationRole.OVERRIDE, Status.OK, received=1),
    ]
    assert merge_station_statuses(readings) is Status.OK
    readings[1] = StationReading(StationRole.OVERRIDE, Status.OK, received=1, active=False)
    assert merge_station_statuses(readings) is Status.MISSING_PUNCH


def test_station_priority_number_and_ties() -> None:
    # A finish station configured to outrank readout.
    readings = [StationReading(StationRole.READOUT, Status.OK), StationReading(StationRole.FINISH, priority=1)]
    assert merge_station_statuses(readings) is Status.FINISHED
    tie = [StationReading(StationRole.READOUT, Status.MISSING_PUNCH, received=1),
           StationReading(StationRole.READOUT, Status.OK, received=2)]
    assert merge_station_statuses(tie) is Status.OK  # the later readout wins
    assert merge_station_statuses([StationReading(StationRole.OVERRIDE)]) is Status.INACTIVE


def test_iof_status_maps_display_statuses() -> None:
    assert iof_status(Status.STARTED) == "Active" and iof_status(Status.CHECKED) == "Active"
    assert iof_status(Status.MISSING_PUNCH) == "MissingPunch"


# --- properties -------------------------------------------------------------------------------

codes = st.sampled_from(["31", "32", "33", "34", "35", "031", "S1", "F1", "99"])
punch_lists = st.lists(st.tuples(codes, st.one_of(st.none(), st.floats(-1e4, 1e5))), max_size=25)
courses = st.lists(st.tuples(st.sampled_from(["31", "32", "33", "34", "35"]), st.booleans()), max_size=10)


@settings(max_examples=200, deadline=None)
@given(courses, punch_lists, st.one_of(st.none(), st.floats(0, 1e5)), st.booleans(),
       st.one_of(st.none(), st.floats(0, 1e5)))
def test_never_crashes_and_is_repeatable(
    course_spec: list[tuple[str, bool]], punches: list[tuple[str, float | None]], finish: float | None,
    punched_start: bool, max_time: float | None,
) -> None:
    c = [CourseControl(code, exempt=ex) for code, ex in course_spec]
    data = CardData(punches=tuple(Punch(code, None if t is None else T0 + t) for code, t in punches),
                    finish=None if finish is None else Punch("F1", T0 + finish))
    source = StartSource.PUNCH if punched_start else StartSource.DRAWN
    r = check_punches(c, data, start_source=source, drawn_start=T0, max_time=max_time)
    assert r == check_punches(c, data, start_source=source, drawn_start=T0, max_time=max_time)
    assert len(r.splits) == sum(1 for _, ex in course_spec if not ex)
    assert len(r.legs) == len(r.splits) + 1
    assert len(r.extra) + sum(1 for s in r.splits if not s.missing) <= len(punches)
    assert (r.status is Status.OK) <= (not r.missing and r.finish is not None)
    assert tuple(s.code for s in r.splits if s.missing) == r.missing


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["31", "32", "33", "34"]), min_size=1, max_size=12),
       st.lists(st.integers(1, 300), min_size=12, max_size=12))
def test_punching_the_course_exactly_is_ok(codes_: list[str], gaps: list[int]) -> None:
    times = [sum(gaps[: i + 1]) for i in range(len(codes_))]
    data = CardData(punches=tuple(Punch(cd, T0 + t) for cd, t in zip(codes_, times, strict=False)),
                    finish=Punch("F1", T0 + times[-1] + 30))
    r = check_punches([CourseControl(cd) for cd in codes_], data, drawn_start=T0)
    assert r.status is Status.OK and r.extra == ()
    assert [s.time for s in r.splits] == times
