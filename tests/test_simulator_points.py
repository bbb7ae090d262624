"""Test Timing (simulated readouts) and Split Results (points from leg times)."""

from __future__ import annotations

import json

from t4o_tui.orienteering.punch_check import ControlKind, CourseControl, Status, check_punches
from t4o_tui.orienteering.simulator import SimEntry, SimSettings, simulate, simulate_runner
from t4o_tui.orienteering.split_points import (
    ClassRace,
    PointsDeduction,
    PointsSeries,
    RunnerLegs,
    leg_points,
    split_points_report,
)

T0 = 1_748_768_400.0  # 2025-06-01 09:00 UTC
COURSE = [
    CourseControl("S1", ControlKind.START),
    CourseControl("31", leg_length=500),
    CourseControl("32", leg_length=1000),
    CourseControl("33", leg_length=500),
    CourseControl("F1", ControlKind.FINISH, leg_length=1000),
]


def entries(n: int, course: list[CourseControl] = COURSE, length: float | None = None) -> list[SimEntry]:
    return [SimEntry(key=i, start=T0 + 60 * i, course=course, length=length) for i in range(n)]


def test_same_seed_same_race_and_independent_of_the_list() -> None:
    s = SimSettings(seed=7, results_per_run=1000)
    late = T0 + 10 * 3600
    a = simulate(entries(30), s, late)
    assert a == simulate(entries(30), s, late)
    # A runner's race does not depend on who else is simulated or in what order.
    alone = simulate(list(reversed(entries(30)))[:5], s, late)
    by_key = {r.key: r for r in a}
    assert all(by_key[r.key] == r for r in alone)
    other_seed = simulate(entries(30), SimSettings(seed=8, results_per_run=1000), late)
    assert [r.card for r in other_seed] != [r.card for r in a]


def test_only_runners_home_by_now_and_earliest_first() -> None:
    s = SimSettings(seed=1, results_per_run=1000)
    races = [simulate_runner(e, s) for e in entries(40)]
    finishes = sorted(t for r in races if r and r.card.finish and (t := r.card.finish.time) is not None)
    now = finishes[len(finishes) // 2]
    out = simulate(entries(40), s, now)
    assert len(out) == sum(1 for f in finishes if f <= now)
    got = [t for r in out if r.card.finish and (t := r.card.finish.time) is not None]
    assert len(got) == len(out) and got == sorted(got) and all(f <= now for f in got)
    assert all(r.read_at <= now for r in out)
    assert simulate(entries(40), s, T0) == []


def test_results_per_run_bounds_each_call() -> None:
    late = T0 + 10 * 3600
    out = simulate(entries(40), SimSettings(seed=1, results_per_run=5), late)
    everyone = simulate(entries(40), SimSettings(seed=1, results_per_run=1000), late)
    assert len(everyone) == 40 and out == everyone[:5]


def test_pace_and_leg_times_follow_leg_lengths() -> None:
    s = SimSettings(seed=3, missing_probability=0.0)
    for e in entries(50):
        r = simulate_runner(e, s)
        assert r is not None and r.card.finish is not None and r.card.finish.time is not None
        assert 300 <= r.pace <= 720
        running = r.card.finish.time - T0 - 60 * int(str(e.key))
        assert abs(running - 3.0 * r.pace) <= 1  # 3 km at the runner's pace, whole seconds
        t = [p.time for p in r.card.punches]
        assert all(x is not None for x in t)
        legs = [b - a for a, b in zip([e.start, *t], t, strict=False) if a is not None and b is not None]
        assert abs(legs[1] - 2 * legs[0]) <= 2  # 1000 m leg takes twice the 500 m leg


def test_unknown_leg_lengths_share_the_course_length_equally() -> None:
    course = [CourseControl("31"), CourseControl("32"), CourseControl("F1", ControlKind.FINISH)]
    r = simulate_runner(SimEntry("x", T0, course, length=3000), SimSettings(seed=2, missing_probability=0))
    assert r is not None and r.card.finish is not None and r.card.finish.time is not None
    times = [T0, *(p.time for p in r.card.punches), r.card.finish.time]
    legs = [b - a for a, b in zip(times, times[1:], strict=False) if a is not None and b is not None]
    assert max(legs) - min(legs) <= 1


def test_missing_punch_probability_is_roughly_respected_and_checks_as_missing() -> None:
    s = SimSettings(seed=11, missing_probability=0.3, results_per_run=10_000)
    out = simulate(entries(1000), s, T0 + 48 * 3600)
    share = sum(1 for r in out if r.missing) / len(out)
    assert 0.25 <= share <= 0.35
    for r in out[:100]:
        res = check_punches(COURSE, r.card, drawn_start=r.card.start.time if r.card.start else None)
        assert (res.status is Status.MISSING_PUNCH) == bool(r.missing)
        assert res.missing == r.missing


def test_entry_without_start_is_skipped() -> None:
    assert simulate([SimEntry("x", None, COURSE)], SimSettings(), T0 + 1e6) == []


# --- split points ---------------------------------------------------------------------------


def runner(key: str, *legs: float | None, status: str = "OK") -> RunnerLegs:
    return RunnerLegs(key=key, name=key.title(), status=status, legs=list(legs))


DAY1 = ClassRace("Day 1", "H21", ["S-31", "31-F"], [
    runner("ann", 100, 200),
    runner("bob", 110, 190),
    runner("cid", 110, None, status="DidNotFinish"),
    runner("dan", 150, 300),
    runner("eve", 90, 180, status="Disqualified"),
])


def test_points_series_shares_ties_and_gives_the_last_value_to_the_rest() -> None:
    d = leg_points(DAY1, PointsSeries((12, 10, 8)))
    leg1 = [(x["runner"], x["place"], x["points"]) for x in d["legs"][0]["results"]]
    assert leg1 == [("ann", 1, 12), ("bob", 2, 10), ("cid", 2, 10), ("dan", 4, 8)]
    leg2 = [(x["runner"], x["points"]) for x in d["legs"][1]["results"]]
    assert leg2 == [("bob", 12), ("ann", 10), ("dan", 8)]  # cid has no time on leg 2
    assert d["totals"] == {"ann": 22, "bob": 22, "cid": 10, "dan": 16}  # eve is disqualified


def test_points_deduction_rounds_half_up_and_stops_at_zero() -> None:
    d = leg_points(DAY1, PointsDeduction(winner_points=10, seconds_per_point=20))
    leg1 = {x["runner"]: x["points"] for x in d["legs"][0]["results"]}
    assert leg1 == {"ann": 10, "bob": 9, "cid": 9, "dan": 7}  # 10 s → 0.5 → 1; 50 s → 2.5 → 3
    far = ClassRace("R", "H21", ["L"], [runner("a", 10), runner("b", 10_000)])
    assert {x["runner"]: x["points"] for x in leg_points(far, PointsDeduction(5, 10))["legs"][0]["results"]} == {
        "a": 5, "b": 0,
    }


def test_require_ok_counts_ok_runners_only() -> None:
    d = leg_points(DAY1, PointsSeries((3, 2, 1)), require_ok=True)
    assert set(d["totals"]) == {"ann", "bob", "dan"}


def test_best_k_races_and_report_shape() -> None:
    day2 = ClassRace("Day 2", "H21", ["S-F"], [runner("ann", 300), runner("bob", 200), runner("dan", 250)])
    day3 = ClassRace("Day 3", "H21", ["S-F"], [runner("ann", 100), runner("dan", 90)])
    report = split_points_report([DAY1, day2, day3], PointsSeries((12, 10, 8)), best_of=2)
    json.dumps(report)  # JSON-ready
    assert report["races"] == ["Day 1", "Day 2", "Day 3"] and report["best_of"] == 2
    cls = report["classes"][0]
    assert cls["class"] == "H21" and len(cls["races"]) == 3
    table = {s["runner"]: (s["place"], s["total"], [(r["points"], r["counted"]) for r in s["races"]])
             for s in cls["standings"]}
    # ann: 22, 8, 10 → 22 + 10; bob: 22, 12 → 34; dan: 16, 10, 12 → 16 + 12.
    assert table["ann"] == (2, 32, [(22, True), (8, False), (10, True)])
    assert table["bob"] == (1, 34, [(22, True), (12, True)])
    assert table["dan"] == (3, 28, [(16, True), (10, False), (12, True)])
    assert [s["runner"] for s in cls["standings"]][:3] == ["bob", "ann", "dan"]
    everything = split_points_report([DAY1, day2, day3], PointsSeries((12, 10, 8)))
    totals = {s["runner"]: s["total"] for s in everything["classes"][0]["standings"]}
    assert totals["ann"] == 40 and totals["dan"] == 38


def test_equal_totals_share_a_place() -> None:
    report = split_points_report([DAY1], PointsSeries((12, 10, 8)))
    places = {s["runner"]: s["place"] for s in report["classes"][0]["standings"]}
    assert places["ann"] == places["bob"] == 1 and places["dan"] == 3 and places["cid"] == 4
