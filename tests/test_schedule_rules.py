"""The schedule decisions as pure functions: plain values in, decisions out (no database, no clock)."""

from __future__ import annotations

import math

import pytest

from t4o_tui.engine.schedule_math import Fire
from t4o_tui.engine.schedule_rules import (
    FIRE,
    MAX_CATCH_UP_ALL,
    NOT_RUNNING,
    ON_TIME,
    decide_passed,
    fired_state,
    overlap_decision,
    row_decision,
)

T = 1_800_000_000.0


def grid(first: float, every: float, n: int) -> list[Fire]:
    return [Fire(first + i * every) for i in range(n)]


def shape(decisions) -> list[tuple[str, int]]:
    return [(d.state, len(d.fires)) for d in decisions]


@pytest.mark.parametrize("late", [0.0, 0.004, ON_TIME])
@pytest.mark.parametrize("policy", ["skip", "latest", "all"])
def test_one_time_at_most_the_grace_late_fires_whatever_the_policy(policy, late):
    [d] = decide_passed([Fire(T)], now=T + late, catch_up=policy, window=3600)
    assert (d.state, d.fires, d.reason) == (FIRE, (Fire(T),), None)


def test_one_time_older_than_the_grace_is_missed_and_the_policy_decides():
    old = [Fire(T)]
    now = T + ON_TIME + 0.001
    [d] = decide_passed(old, now=now, catch_up="skip", window=3600)
    assert (d.state, d.reason) == ("missed", f"{NOT_RUNNING} (catch-up: skip)")
    [d] = decide_passed(old, now=now, catch_up="latest", window=3600)
    assert (d.state, d.reason) == (FIRE, "catch-up (latest of 1 missed)")
    [d] = decide_passed(old, now=now, catch_up="latest", window=10)
    assert (d.state, d.reason) == ("missed", f"{NOT_RUNNING}; older than the catch-up window (10s)")
    [d] = decide_passed(old, now=now, catch_up="all", window=3600)
    assert (d.state, d.reason) == (FIRE, "catch-up (1 of 1 missed)")


@pytest.mark.parametrize("every", [1.0, 5.0, 14.0])
def test_ninety_seconds_down_skip_fires_only_the_newest_and_latest_exactly_one(every):
    n = int(90 // every)
    fires = grid(T + every, every, n)
    now = fires[-1].nominal + 0.5
    skip = decide_passed(fires, now=now, catch_up="skip", window=3600)
    assert shape(skip) == [("missed", n - 1), (FIRE, 1)]
    assert skip[1].fires == (fires[-1],)
    assert skip[1].reason == (f"late by 0.5s: the newest time fires within the 15 s grace (catch-up: skip; "
                              f"{n - 1} earlier time{'s' if n - 1 != 1 else ''} missed)")
    latest = decide_passed(fires, now=now, catch_up="latest", window=3600)
    assert shape(latest) == [("coalesced", n - 1), (FIRE, 1)]
    assert latest[1].reason == f"catch-up (latest of {n} missed)"
    assert "covered by the catch-up run for" in (latest[0].reason or "")
    every_one = decide_passed(fires, now=now, catch_up="all", window=3600)
    assert [d.reason for d in every_one] == [f"catch-up ({i} of {n} missed)" for i in range(1, n + 1)]
    assert {d.context for d in every_one} == {f"catch-up (all {n} missed)"}  # overlap records merge


def test_skip_fires_nothing_when_even_the_newest_is_older_than_the_grace():
    fires = grid(T, 60, 30)
    [d] = decide_passed(fires, now=fires[-1].nominal + 30, catch_up="skip", window=3600)
    assert (d.state, len(d.fires)) == ("missed", 30)


def test_all_fires_at_most_the_limit_and_records_the_rest_with_exact_counts():
    fires = grid(T, 1, 250)
    out = decide_passed(fires, now=fires[-1].nominal, catch_up="all", window=3600, earlier=50)
    fired = [d for d in out if d.state == FIRE]
    assert len(fired) == MAX_CATCH_UP_ALL
    assert fired[0].reason == "catch-up (51 of 300 missed)" and fired[-1].reason == "catch-up (150 of 300 missed)"
    [rest] = [d for d in out if d.state != FIRE]
    assert (rest.state, len(rest.fires)) == ("missed", 150) and "catch-up limit" in (rest.reason or "")


def test_latest_counts_the_times_recorded_earlier():
    out = decide_passed(grid(T, 1, 10), now=T + 9, catch_up="latest", window=3600, earlier=10_000)
    assert out[-1].reason == "catch-up (latest of 10010 missed)"


def test_times_before_the_pause_end_are_paused_the_rest_follow_the_rule():
    fires = grid(T, 10, 7)  # T .. T+60
    out = decide_passed(fires, now=T + 62, catch_up="skip", window=3600, pause_end=T + 35)
    assert [(d.state, [f.nominal - T for f in d.fires]) for d in out] == [
        ("paused", [0, 10, 20, 30]), ("missed", [40, 50]), (FIRE, [60])]
    assert out[0].reason == "schedule paused"
    out = decide_passed(fires, now=T + 62, catch_up="latest", window=3600, pause_end=math.inf)
    assert shape(out) == [("paused", 7)]


def test_times_missed_while_the_evaluator_was_busy_say_so_and_older_ones_that_it_was_down():
    fires = grid(T, 1, 6)
    out = decide_passed(fires, now=T + 5, catch_up="skip", window=3600, busy_since=T + 2.5,
                        busy_why="database is locked")
    assert [(d.state, len(d.fires), d.reason) for d in out[:2]] == [
        ("missed", 3, f"{NOT_RUNNING} (catch-up: skip)"),
        ("missed", 2, "the scheduler could not write at that time (database is locked) (catch-up: skip)")]
    assert out[2].state == FIRE


@pytest.mark.parametrize(("policy", "running", "queued", "want"), [
    ("allow", 1, 2, None),
    ("buffer_one", 1, None, None),
    ("buffer_one", 1, 2, ("coalesced", "run 2 is already waiting in the queue (overlap: buffer_one)")),
    ("buffer_one", None, 3, ("coalesced", "run 3 is already waiting in the queue (overlap: buffer_one)")),
    ("skip", None, None, None),
    ("skip", 1, None, ("skipped-overlap", "run 1 still running (overlap: skip)")),
    ("skip", None, 4, ("skipped-overlap", "run 4 still queued (overlap: skip)")),
])
def test_overlap_decisions(policy, running, queued, want):
    assert overlap_decision(policy, running, queued) == want


def test_dst_marks_become_states_and_reasons():
    assert fired_state(None, None) == ("fired", None)
    assert fired_state("gap", "catch-up (1 of 2 missed)") == (
        "dst-shifted", "catch-up (1 of 2 missed); wall time did not exist (DST change); fired at the first instant "
        "after the gap")
    assert fired_state("first", None) == (
        "fired", "first pass of a repeated hour (DST change); the second pass does not fire")
    assert fired_state("fold", None) == ("fired", "second pass of a repeated hour (DST change)")


def test_rows_fire_each_unless_paused_or_missed_per_policy():
    assert row_decision(T, now=T + 1, paused=False, catch_up="skip", window=3600) == (FIRE, None)
    assert row_decision(T, now=T + 1, paused=True, catch_up="latest", window=3600) == ("paused", "schedule paused")
    assert row_decision(T, now=T + 60, paused=False, catch_up="skip", window=3600)[0] == "missed"
    assert row_decision(T, now=T + 60, paused=False, catch_up="latest", window=3600) == (FIRE, None)
    assert row_decision(T, now=T + 60, paused=False, catch_up="all", window=30)[0] == "missed"
