"""Schedules across real processes on one database: two evaluators, kill -9 takeover, catch-up, overlap."""

from __future__ import annotations

import time

import pytest

from t4o_tui.engine.clock import SpeedClock
from t4o_tui.engine.schedules import ScheduleInput, add_schedule, list_occurrences
from t4o_tui.engine.tasks import create_task
from t4o_tui.store.models import Occurrence, Run

from conftest import wait_for

pytestmark = pytest.mark.slow  # real processes: `-m 'not slow'` leaves them out


def speed_env(speed: float, start: float, anchor: float | None = None) -> tuple[dict[str, str], SpeedClock]:
    anchor = time.time() if anchor is None else anchor
    return {"T4O_TUI_CLOCK": f"start={start},anchor={anchor},speed={speed}"}, SpeedClock(start, anchor, speed)


def covered(db, sid: int) -> list[float]:
    """Every nominal time the schedule's occurrences account for (ranges expanded on the grid)."""
    db.connect(reuse_if_open=True)
    out: list[float] = []
    for o in sorted(list_occurrences(db, schedule_id=sid, limit=None), key=lambda o: o.nominal):
        if o.count == 1:
            out.append(o.nominal)
        else:
            step = (o.last_nominal - o.nominal) / (o.count - 1)
            out.extend(o.nominal + i * step for i in range(o.count))
    return out


def test_two_evaluators_for_ten_simulated_minutes_fire_each_time_once(db, workers):
    env, clock = speed_env(20, time.time())
    create_task("Poll", "test", {"seconds": 0})
    a, b = workers("a", env), workers("b", env)
    a.wait_started()
    b.wait_started()
    # The grid begins once both evaluate: times that come due while a process boots are a
    # downtime, which the catch-up rule covers (and the next test checks).
    start = clock.now()
    s = add_schedule(db, ScheduleInput(task="Poll", kind="interval", every=10, start=start + 10, expiry=start + 610,
                                       overlap="allow"), clock=clock)
    wait_for(lambda: clock.now() > start + 620 and len(covered(db, s.id)) >= 61, 60, "ten simulated minutes")
    assert a.stop() == 0 and b.stop() == 0
    grid = [start + 10 + 10 * i for i in range(61)]
    times = covered(db, s.id)
    assert len(times) == len(set(times)), "a nominal time was handled twice"
    assert [round(t, 3) for t in times] == [round(t, 3) for t in grid], "a nominal time was lost"
    occ = sorted(list_occurrences(db, schedule_id=s.id, limit=None), key=lambda o: o.nominal)
    fired = [o for o in occ if o.state in ("fired", "dst-shifted")]
    assert Run.select().count() == len(fired) >= len(grid) // 2
    assert len({o.run_id for o in fired}) == len(fired)
    # A step late by more than an interval (a takeover, a loaded machine) is never silent: the
    # times it passed follow the catch-up rule (latest: one run for the newest, the older ones
    # recorded as covered by it, counted exactly).
    backlog = 0
    for o in occ:
        if o.state == "coalesced":
            assert "covered by the catch-up run for" in o.reason, o
            backlog += o.count
        else:
            assert o.state == "fired", o
            if backlog:
                assert o.reason == f"catch-up (latest of {backlog + 1} missed)", o
            backlog = 0
    assert backlog == 0
    assert "scheduler lease taken" in a.output + b.output


def test_kill_9_of_the_lease_holder_the_standby_takes_over_and_fires_the_next_time(db, workers):
    create_task("Poll", "test", {"seconds": 0})
    now = time.time()
    s = add_schedule(db, ScheduleInput(task="Poll", kind="interval", every=2, start=now + 1, expiry=now + 3600,
                                       overlap="allow", catch_up="skip"))
    first = workers("first")
    wait_for(lambda: Occurrence.select().count() >= 2, 20, "first holder fires")
    second = workers("second")
    second.wait_started()
    first.kill()
    killed_at = time.time()
    n = Occurrence.select().count()
    wait_for(lambda: Occurrence.select().count() >= n + 3, 30, "standby fires")
    assert "scheduler lease taken from" in second.output
    assert second.stop() == 0
    times = covered(db, s.id)
    assert len(times) == len(set(times))
    assert times == [times[0] + 2 * i for i in range(len(times))]  # no gap, no duplicate
    after = sorted((o for o in list_occurrences(db, schedule_id=s.id, limit=None) if o.nominal > killed_at),
                   key=lambda o: o.nominal)
    # The times that came due during the takeover: catch-up skip fires only the newest, late
    # (within the 15 s grace), and records the older ones as missed. Each missed record is
    # followed by that one late fire; everything else fires.
    assert after and after[-1].state == "fired"
    for i, o in enumerate(after):
        assert o.state in ("fired", "missed"), o
        if o.state == "missed":
            assert o.reason == "the scheduler was not running at that time (catch-up: skip)"
            nxt = after[i + 1]
            assert nxt.state == "fired" and "within the 15 s grace" in nxt.reason
            assert f"{o.count} earlier time" in nxt.reason
    assert max(o.lateness_ms for o in after if o.state == "fired") < 15_000


def test_a_runtime_stopped_for_a_while_catches_up_per_policy(db, workers):
    """Down for a minute (a clock jump, not a sleep): skip and latest fire one run, all fires each."""
    start = time.time() + 1
    env, clock = speed_env(10, start)
    create_task("T", "test", {"seconds": 0})
    ids = {}
    for policy in ("skip", "latest", "all"):
        ids[policy] = add_schedule(db, ScheduleInput(task="T", kind="interval", every=5, start=start, expiry=start + 3600,
                                                     catch_up=policy, overlap="allow"), clock=clock).id
    w = workers("first", env)
    wait_for(lambda: clock.now() > start + 20, 20, "some fires")
    assert w.stop() == 0
    db.connect(reuse_if_open=True)
    last_id = max(o.id for sid in ids.values() for o in list_occurrences(db, schedule_id=sid, limit=None))
    # The second process's clock is 60 simulated seconds ahead of the first's: 12 more times
    # came due while nothing ran, whatever the time the processes take to stop and start.
    env2, clock2 = speed_env(10, clock.start + 60, clock.anchor)
    w2 = workers("second", env2)
    down_until = clock2.now()
    wait_for(lambda: clock2.now() > down_until + 30, 20, "back up")
    assert w2.stop() == 0
    db.connect(reuse_if_open=True)
    for policy, sid in ids.items():
        occ = sorted(list_occurrences(db, schedule_id=sid, limit=None), key=lambda o: o.id)
        times = covered(db, sid)
        assert len(times) == len(set(times))
        assert times == [times[0] + 5 * i for i in range(len(times))], policy
        # The second process's first step handles the whole backlog: its records come first.
        first = [o for o in occ if o.id > last_id]
        n = first[0].count + 1 if policy != "all" else None
        if policy == "skip":
            assert [(o.state, o.count) for o in first[:2]] == [("missed", n - 1), ("fired", 1)]
            assert n - 1 >= 11 and f"catch-up: skip; {n - 1} earlier times missed" in first[1].reason
        elif policy == "latest":
            assert [(o.state, o.count) for o in first[:2]] == [("coalesced", n - 1), ("fired", 1)]
            assert n - 1 >= 11 and first[1].reason == f"catch-up (latest of {n} missed)"
        else:
            n = int(first[0].reason.split(" of ")[1].split()[0])
            assert n >= 12 and all(o.state == "fired" for o in first[:n])
            assert [o.reason for o in first[:n]] == [f"catch-up ({i} of {n} missed)" for i in range(1, n + 1)]


def test_overlap_with_a_slow_task(db, workers):
    create_task("Slow", "test", {"seconds": 3})
    now = time.time()
    skip = add_schedule(db, ScheduleInput(task="Slow", kind="interval", every=1, start=now + 1, expiry=now + 3600,
                                          overlap="skip"))
    w = workers()
    wait_for(lambda: Run.select().where(Run.status == "succeeded").count() >= 1, 30, "a slow run finished")
    assert w.stop() == 0
    occ = list_occurrences(db, schedule_id=skip.id, limit=None)
    skipped = [o for o in occ if o.state == "skipped-overlap"]
    assert skipped and "still running (overlap: skip)" in skipped[0].reason
    assert sum(o.count for o in skipped) >= 2
    # Never two runs of the task at once with overlap skip.
    assert Run.select().where(Run.status.in_(("queued",))).count() == 0
