"""The schedule evaluator on a real SQLite file with a clock the test moves: every decision recorded."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pg_fixtures
import pytest

from t4o_tui.engine import queue
from t4o_tui.engine.clock import FakeClock
from t4o_tui.engine.evaluator import ON_TIME, Evaluator, scheduler_holder
from t4o_tui.engine.schedules import (
    ScheduleInput,
    ScheduleInvalid,
    add_schedule,
    dashboard_schedules,
    edit_schedule,
    list_occurrences,
    pause_schedule,
    resume_schedule,
)
from t4o_tui.engine.tasks import create_task
from t4o_tui.store.models import Event, Race, Run, Schedule

# `db` on SQLite and on PostgreSQL, `backend` says which (tests/pg_fixtures.py).
backend, db, db_target, pg_admin_url, pg_url = (
    pg_fixtures.backend, pg_fixtures.db, pg_fixtures.db_target, pg_fixtures.pg_admin_url, pg_fixtures.pg_url)
only_sqlite = pg_fixtures.only_sqlite

T0 = 1_780_000_000.0  # 2026-05-28T20:26:40Z


@pytest.fixture
def clock():
    return FakeClock(T0)


@pytest.fixture
def ev(db, clock):
    e = Evaluator(db, clock=clock, holder="me")
    e._acquire()
    assert e.is_holder
    return e


def occ(db, sid):
    return list(reversed(list_occurrences(db, schedule_id=sid, limit=None)))


def runs_of(task_id):
    return list(Run.select().where(Run.task == task_id).order_by(Run.id))


def tick(ev, clock):
    """One step as the loop does it after waking: renew the lease, then evaluate."""
    ev._acquire()
    return ev.step(clock.now())


def advance_to(ev, clock, t, step=1.0):
    """Tick the evaluator the way its loop does, once per second (or at each due time) until t."""
    while clock.now() < t:
        ev._acquire()  # the loop renews the lease every 2 s; here every tick
        wake = ev.step(clock.now())
        nxt = clock.now() + step if wake is None else min(max(wake, clock.now()), clock.now() + step)
        clock.t = min(max(nxt, clock.now() + 1e-3), t)
    ev._acquire()
    ev.step(clock.now())


def test_interval_fires_on_its_grid_with_lateness_recorded(db, clock, ev):
    t = create_task("Poll", "test", {"seconds": 0})
    s = add_schedule(db, ScheduleInput(task="Poll", kind="interval", every=10, start=T0 + 5, expiry=T0 + 60, overlap="allow"), clock=clock)
    assert s.next_fire == T0 + 5
    advance_to(ev, clock, T0 + 100)
    fired = [o for o in occ(db, s.id) if o.state == "fired"]
    assert [o.nominal for o in fired] == [T0 + 5 + 10 * i for i in range(6)]
    assert all(o.lateness_ms is not None and 0 <= o.lateness_ms < 1000 for o in fired)
    assert [r.trigger for r in runs_of(t.id)] == ["schedule"] * 6
    assert Schedule.get_by_id(s.id).next_fire is None  # past expiry


def test_scheduled_and_manual_runs_take_turns_without_an_id_clash(db, clock, ev):
    """Issue 14: on PostgreSQL the evaluator's runs and occurrences take their ids from the tables'
    sequences (its step does not lock out other writers), so a manual run queued between its steps,
    which draws from the sequence, never meets an id the evaluator used."""
    t = create_task("Poll", "test", {"seconds": 0})
    s = add_schedule(db, ScheduleInput(task="Poll", kind="interval", every=10, start=T0 + 5, expiry=T0 + 60,
                                       overlap="allow"), clock=clock)
    manual = []
    for until in (T0 + 16, T0 + 36, T0 + 56):
        advance_to(ev, clock, until)
        manual.append(queue.enqueue(db.connection(), t.id, direct=False, trigger="manual", now=clock.now()))
    runs = runs_of(t.id)
    assert [r.trigger for r in runs] == ["schedule", "schedule", "manual", "schedule", "schedule", "manual",
                                         "schedule", "schedule", "manual"]
    assert [r.id for r in runs if r.trigger == "manual"] == manual
    assert [o.run_id for o in occ(db, s.id)] == [r.id for r in runs if r.trigger == "schedule"]


def test_two_standbys_taking_an_expired_lease_at_the_same_moment_one_gets_it(db, clock):
    """Issue 14: on PostgreSQL two processes' lease transactions run side by side; the lease is
    taken by one conditional upsert, so of two standbys that both see it expired only one holds it."""
    import threading

    a, b = Evaluator(db, clock=clock, holder="a"), Evaluator(db, clock=clock, holder="b")
    for round_ in range(20):
        if round_ % 2:
            db.execute_sql("DELETE FROM lease WHERE name = 'scheduler'")
        else:
            db.execute_sql("UPDATE lease SET expires_at = 0 WHERE name = 'scheduler'")
        a.is_holder = b.is_holder = False
        start = threading.Barrier(2)

        def take(ev: Evaluator, start: threading.Barrier) -> None:
            start.wait()
            ev._acquire()
            db.close()  # this thread's connection

        threads = [threading.Thread(target=take, args=(ev, start)) for ev in (a, b)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        holder = db.execute_sql("SELECT holder FROM lease WHERE name = 'scheduler'").fetchone()[0]
        assert [ev.holder for ev in (a, b) if ev.is_holder] == [holder], f"round {round_}"


def test_a_new_schedule_never_fires_for_times_in_the_past(db, clock, ev):
    create_task("T", "test", {"seconds": 0})
    s = add_schedule(db, ScheduleInput(task="T", kind="interval", every=60, start=T0 - 3600, expiry=T0 + 3600), clock=clock)
    once = add_schedule(db, ScheduleInput(task="T", kind="once", at=T0 - 10, start=T0 - 3600, expiry=T0 + 3600), clock=clock)
    advance_to(ev, clock, T0 + 61)
    assert [o.nominal for o in occ(db, s.id)] == [T0 + 60]  # the grid from start, but only after now
    assert occ(db, once.id) == [] and Schedule.get_by_id(once.id).next_fire is None


@pytest.mark.parametrize("policy", ["skip", "latest", "all"])
def test_catch_up_after_downtime(db, clock, ev, policy):
    create_task("T", "test", {"seconds": 0})
    s = add_schedule(db, ScheduleInput(task="T", kind="interval", every=60, start=T0, expiry=T0 + 86400,
                                       catch_up=policy, overlap="allow"), clock=clock)
    advance_to(ev, clock, T0 + 60)  # one normal fire
    clock.advance(30 * 60 + 30)  # the laptop slept for half an hour
    tick(ev, clock)
    records = occ(db, s.id)[1:]
    missed_times = 30  # 120 .. 1860, all more than ON_TIME late
    if policy == "skip":
        assert [(o.state, o.count) for o in records] == [("missed", missed_times)]
        assert "catch-up: skip" in records[0].reason
    elif policy == "latest":
        assert [(o.state, o.count) for o in records] == [("coalesced", missed_times - 1), ("fired", 1)]
        assert records[1].nominal == T0 + 60 * 31 and "catch-up (latest of 30 missed)" in records[1].reason
        assert records[0].last_nominal == T0 + 60 * 30
    else:
        assert [o.state for o in records] == ["fired"] * missed_times
    fired_total = sum(o.count for o in occ(db, s.id) if o.state == "fired")
    assert Run.select().count() == fired_total
    assert sum(o.count for o in occ(db, s.id)) == 31  # every nominal time passed is accounted for


def test_catch_up_latest_outside_the_window_fires_nothing(db, clock, ev):
    create_task("T", "test", {"seconds": 0})
    s = add_schedule(db, ScheduleInput(task="T", kind="interval", every=600, start=T0, expiry=T0 + 86400,
                                       catch_up_window=20), clock=clock)
    clock.advance(1830)
    tick(ev, clock)
    [o] = occ(db, s.id)
    assert (o.state, o.count) == ("missed", 3) and "older than the catch-up window (20s)" in o.reason
    assert Run.select().count() == 0


def test_a_standby_that_takes_over_within_seconds_fires_the_newest_time_late_and_only_that(db, clock, ev):
    create_task("T", "test", {"seconds": 0})
    s = add_schedule(db, ScheduleInput(task="T", kind="interval", every=5, start=T0 + 1, expiry=T0 + 600,
                                       catch_up="skip", overlap="allow"), clock=clock)
    advance_to(ev, clock, T0 + 1)
    clock.advance(ON_TIME - 1)  # the holder died; the standby comes in time
    tick(ev, clock)
    got = occ(db, s.id)
    assert [(o.nominal - T0, o.state) for o in got] == [(1, "fired"), (6, "missed"), (11, "fired")]
    assert got[1].reason == "the scheduler was not running at that time (catch-up: skip)"
    assert got[2].reason == ("late by 4s: the newest time fires within the 15 s grace "
                             "(catch-up: skip; 1 earlier time missed)")
    assert got[2].lateness_ms == 4000


@pytest.mark.parametrize("every", [1, 5])
def test_ninety_seconds_down_fires_at_most_one_late_time_per_schedule(db, clock, ev, every):
    """Issue 18: skip fired 3 and latest 4 after 90 s down (all times < 15 s old fired late)."""
    create_task("T", "test", {"seconds": 0})
    ids = {p: add_schedule(db, ScheduleInput(task="T", kind="interval", every=every, start=T0 + every, expiry=T0 + 3600,
                                             catch_up=p, overlap="allow"), clock=clock).id
           for p in ("skip", "latest", "all")}
    advance_to(ev, clock, T0 + 10)
    before = {p: Run.select().where(Run.id.in_([o.run_id for o in occ(db, sid)])).count() for p, sid in ids.items()}
    assert before == {p: 10 // every for p in ids}  # on time: one run per time
    clock.advance(90)  # the process was down
    tick(ev, clock)
    n = 90 // every  # times that came due while down
    for policy, sid in ids.items():
        got = occ(db, sid)[10 // every:]
        assert sum(o.count for o in got) == n, policy  # every time accounted for, once
        fired = [o for o in got if o.state == "fired"]
        if policy == "skip":
            assert [(o.state, o.count) for o in got] == [("missed", n - 1), ("fired", 1)]
            assert f"catch-up: skip; {n - 1} earlier times missed" in fired[0].reason
            assert fired[0].nominal == T0 + 100 and fired[0].lateness_ms == 0
        elif policy == "latest":
            assert [(o.state, o.count) for o in got] == [("coalesced", n - 1), ("fired", 1)]
            assert fired[0].reason == f"catch-up (latest of {n} missed)" and fired[0].nominal == T0 + 100
        else:
            assert [o.reason for o in fired] == [f"catch-up ({i} of {n} missed)" for i in range(1, n + 1)]
    assert Run.select().count() == 3 * (10 // every) + 1 + 1 + n


@pytest.mark.parametrize(("policy", "states"), [
    ("allow", ["fired", "fired", "fired"]),
    ("buffer_one", ["fired", "fired", "coalesced"]),
    ("skip", ["fired", "skipped-overlap", "skipped-overlap"]),
])
def test_overlap_policies(db, clock, ev, policy, states):
    t = create_task("Slow", "test", {"seconds": 100})
    s = add_schedule(db, ScheduleInput(task="Slow", kind="interval", every=10, start=T0 + 10, expiry=T0 + 600,
                                       overlap=policy), clock=clock)
    advance_to(ev, clock, T0 + 10)
    queue.claim_queue(db.connection(), worker="w", now=clock.now(), lease=600)  # the first run is running
    advance_to(ev, clock, T0 + 30)
    got = occ(db, s.id)
    assert [o.state for o in got] == states[:2] + (states[2:] if policy != "skip" else [])
    if policy == "skip":
        assert (got[1].count, got[1].state) == (2, "skipped-overlap")  # one record for the same reason
        assert got[1].reason == "run 1 still running (overlap: skip)"
    if policy == "buffer_one":
        assert "run 2 is already waiting in the queue" in got[2].reason
    assert [r.status for r in runs_of(t.id)] == ["running"] + ["queued"] * (states.count("fired") - 1)


def test_pause_with_a_note_records_paused_times_and_resumes_by_itself(db, clock, ev):
    create_task("T", "test", {"seconds": 0})
    s = add_schedule(db, ScheduleInput(task="T", kind="interval", every=10, start=T0 + 10, expiry=T0 + 600, overlap="allow"), clock=clock)
    pause_schedule(db, s.id, note="course change", until=T0 + 45, clock=clock)
    [row] = dashboard_schedules(db, now=clock.now())
    assert (row.state, row.pause_note) == ("paused", "course change")
    advance_to(ev, clock, T0 + 60)
    got = occ(db, s.id)
    assert [(o.state, o.count) for o in got] == [("paused", 4), ("fired", 1), ("fired", 1)]
    assert (got[0].nominal, got[0].last_nominal) == (T0 + 10, T0 + 40)
    assert not Schedule.get_by_id(s.id).paused
    pause_schedule(db, s.id, clock=clock)
    resume_schedule(db, s.id, clock=clock)
    assert dashboard_schedules(db, now=clock.now())[0].state == "active"


def test_max_runs_counts_fires_only(db, clock, ev):
    create_task("T", "test", {"seconds": 0})
    s = add_schedule(db, ScheduleInput(task="T", kind="interval", every=10, start=T0 + 10, expiry=T0 + 600,
                                       max_runs=2, overlap="buffer_one"), clock=clock)
    advance_to(ev, clock, T0 + 100)
    got = occ(db, s.id)
    # Nothing runs the queue here: the second fire finds run 1 queued and coalesces; max runs counts fires.
    assert sum(1 for o in got if o.state == "fired") == 1
    queue.request_cancel(db.connection(), 1, now=clock.now())
    advance_to(ev, clock, T0 + 200)
    assert sum(1 for o in occ(db, s.id) if o.state == "fired") == 2
    assert Schedule.get_by_id(s.id).fired_count == 2 and Schedule.get_by_id(s.id).next_fire is None
    assert dashboard_schedules(db, now=clock.now()) == []  # ended: not on the dashboard


def test_editing_recomputes_from_now_and_never_fires_the_past(db, clock, ev):
    create_task("T", "test", {"seconds": 0})
    s = add_schedule(db, ScheduleInput(task="T", kind="interval", every=3600, start=T0 + 3600, expiry=T0 + 86400), clock=clock)
    advance_to(ev, clock, T0 + 100)
    s = edit_schedule(db, s.id, {"every": 60.0, "start": T0 - 86400}, clock=clock)
    assert s.next_fire == T0 - 86400 + 60 * ((100 + 86400) // 60 + 1)
    advance_to(ev, clock, T0 + 130)
    assert [o.nominal for o in occ(db, s.id)] == [s.next_fire]


def test_cron_in_oslo_on_the_spring_gap_is_marked_dst_shifted(db, clock):
    oslo = ZoneInfo("Europe/Oslo")
    clock.t = datetime(2027, 3, 28, 0, 0, tzinfo=oslo).timestamp()
    ev = Evaluator(db, clock=clock, holder="me")
    ev._acquire()
    create_task("T", "test", {"seconds": 0})
    s = add_schedule(db, ScheduleInput(task="T", kind="cron", cron="30 2 * * *", tz="Europe/Oslo", overlap="allow",
                                       start=clock.now(), expiry=clock.now() + 3 * 86400), clock=clock)
    advance_to(ev, clock, clock.now() + 2 * 86400, step=600)
    got = occ(db, s.id)
    assert [o.state for o in got] == ["dst-shifted", "fired"]
    assert datetime.fromtimestamp(got[0].nominal, oslo).strftime("%H:%M") == "03:00"
    assert "did not exist" in got[0].reason


def test_anchored_window_follows_the_race_first_start(db, clock, ev):
    event = Event.create(name="Demo")
    race = Race.create(event=event, name="Day 1", first_start=T0 + 7200)
    create_task("Radio", "test", {"seconds": 0})
    s = add_schedule(db, ScheduleInput(task="Radio", kind="window", every=60, source="race.first_start", source_key=str(race.id),
                                       start_offset=-3600, expiry_offset=3600, overlap="allow"), clock=clock)
    assert (s.start, s.expiry) == (T0 + 3600, T0 + 10800)
    race.first_start = T0 + 600  # the start was moved forward
    race.save()
    advance_to(ev, clock, T0 + 125)
    got = occ(db, s.id)
    assert [o.nominal for o in got] == [T0 + 60, T0 + 120]  # window now starts at T0 - 3000: grid from there


def test_per_row_fires_each_row_once_at_its_time_and_follows_moves(db, clock, ev):
    event = Event.create(name="Demo")
    r1 = Race.create(event=event, name="Day 1", first_start=T0 + 100)
    Race.create(event=event, name="Day 2", first_start=T0 + 300)
    create_task("After start", "test", {"seconds": 0})
    s = add_schedule(db, ScheduleInput(task="After start", kind="per_row", source="race.first_start", row_offset=60,
                                       start=T0, expiry=T0 + 86400), clock=clock)
    r1.first_start = T0 + 200  # moved before it fired
    r1.save()
    advance_to(ev, clock, T0 + 1000)
    got = occ(db, s.id)
    assert [(o.nominal, o.row_key) for o in got] == [(T0 + 260, "1"), (T0 + 360, "2")]
    ctx = [r.context for r in Run.select().order_by(Run.id)]
    assert ctx[0]["race"] == "Day 1" and ctx[0]["row_key"] == "1"
    r1.first_start = T0 + 2000  # moving a row that already fired does not fire it again
    r1.save()
    advance_to(ev, clock, T0 + 3000)
    assert len(occ(db, s.id)) == 2


def test_only_the_lease_holder_evaluates_and_a_standby_takes_up_where_it_stopped(db, clock, ev):
    create_task("T", "test", {"seconds": 0})
    s = add_schedule(db, ScheduleInput(task="T", kind="interval", every=1, start=T0 + 1, expiry=T0 + 600, overlap="allow"), clock=clock)
    other = Evaluator(db, clock=clock, holder="standby")
    other._acquire()
    assert not other.is_holder and scheduler_holder(db, clock.now()) == "me"
    advance_to(ev, clock, T0 + 3)
    # The holder stalls (e.g. suspended) and its lease expires; the standby takes over.
    clock.advance(7)
    other._acquire()
    assert other.is_holder
    other.step(clock.now())
    # The old holder wakes up and tries to step: fenced, it writes nothing.
    ev.step(clock.now() + 1)
    assert not ev.is_holder
    got = occ(db, s.id)
    # No duplicate, no gap: 1-3 fired by the old holder; 4-9 came due during the takeover and are
    # covered by the one catch-up run for 10 (catch-up latest: at most one late fire).
    assert [(o.nominal - T0, o.last_nominal and o.last_nominal - T0, o.count, o.state) for o in got] == [
        (1, None, 1, "fired"), (2, None, 1, "fired"), (3, None, 1, "fired"), (4, 9, 6, "coalesced"),
        (10, None, 1, "fired")]
    assert got[-1].reason == "catch-up (latest of 7 missed)"
    assert Run.select().count() == 4


@pytest.mark.parametrize(("data", "field", "fragment"), [
    (dict(kind="cron", cron="61 * * * *"), "cron", "not a valid cron"),
    (dict(kind="cron", cron="* * *"), "cron", "5 fields"),
    (dict(kind="cron", cron="every minute please"), "cron", "cron"),
    (dict(kind="cron", cron=""), "cron", ""),
    (dict(kind="interval", every=0), "every", ""),
    (dict(kind="interval", every=-5), "every", ""),
    (dict(kind="interval", every=60, expiry=T0 - 10), "expiry", "after start"),
    (dict(kind="interval", every=60, tz="Mars/Olympus"), "tz", "unknown time zone"),
    (dict(kind="interval", every=60, max_runs=0), "max_runs", "at least 1"),
    (dict(kind="interval", every=60, catch_up="sometimes"), "catch_up", "not one of"),
    (dict(kind="interval", every=60, overlap="never"), "overlap", "not one of"),
    (dict(kind="window", every=60, source="race.first_start", source_key="99", start_offset=-3600, expiry_offset=3600), "source_key", "no record"),
    (dict(kind="per_row", source="nowhere.date"), "source", "unknown date source"),
    (dict(kind="per_row", source="race.first_start", expiry=T0 - 1), "expiry", "after start"),
    (dict(kind="window", every=60, cron="* * * * *", source="race.first_start", source_key="1", start_offset=-60,
          expiry_offset=60), "every", "exactly one"),
    (dict(kind="window", every=60, source="start.start_time", source_key="1", start_offset=-60, expiry_offset=60),
     "source", "per-row schedule"),
    (dict(kind="window", every=60, source="race.first_start", source_key="1", start_offset=60, expiry_offset=-60),
     "expiry_offset", "after the start offset"),
    (dict(kind="window", every=60, source="race.first_start", source_key="1"), "start_offset", "offset"),
    (dict(kind="once", at=T0 + 10, start=None), "start", "required"),
    (dict(kind="sometimes"), "kind", "not one of"),
])
def test_bad_schedules_name_the_field_and_save_nothing(db, clock, data, field, fragment):
    create_task("T", "test", {"seconds": 0})
    base = dict(task="T", start=T0, expiry=T0 + 3600)
    with pytest.raises(ScheduleInvalid) as info:
        add_schedule(db, ScheduleInput(**{**base, **data}), clock=clock)
    fields = [e.field for e in info.value.errors]
    assert field in fields, info.value.errors
    assert fragment.lower() in next(e.message for e in info.value.errors if e.field == field).lower()
    assert Schedule.select().count() == 0


def test_sub_minute_only_for_jobs_that_allow_it(db, clock):
    create_task("B", "backup")
    create_task("T", "test", {"seconds": 0})
    with pytest.raises(ScheduleInvalid) as info:
        add_schedule(db, ScheduleInput(task="B", kind="interval", every=30, start=T0, expiry=T0 + 3600), clock=clock)
    assert info.value.errors[0].field == "every" and 'Job "Backup"' in info.value.errors[0].message
    with pytest.raises(ScheduleInvalid):
        add_schedule(db, ScheduleInput(task="B", kind="cron", cron="*/10 * * * * *", start=T0, expiry=T0 + 3600), clock=clock)
    assert add_schedule(db, ScheduleInput(task="T", kind="interval", every=5, start=T0, expiry=T0 + 3600), clock=clock).id
    assert add_schedule(db, ScheduleInput(task="B", kind="cron", cron="0 * * * * *", start=T0, expiry=T0 + 3600), clock=clock).id


def test_occurrences_are_pruned_with_the_runs(db, clock, ev):
    from t4o_tui.engine.maintenance import prune

    create_task("T", "test", {"seconds": 0})
    s = add_schedule(db, ScheduleInput(task="T", kind="interval", every=1, start=T0 + 1, expiry=T0 + 600, overlap="allow"), clock=clock)
    advance_to(ev, clock, T0 + 30)
    for r in Run.select():
        queue.request_cancel(db.connection(), r.id, now=clock.now())
    assert len(occ(db, s.id)) == 30
    prune(db, keep=10)
    kept = occ(db, s.id)
    assert [o.nominal for o in kept] == [T0 + i for i in range(21, 31)]
    assert Run.select().count() == 10


def test_catch_up_all_with_the_default_overlap_counts_exactly(db, clock, ev):
    """Issue 12: 1 run and 13 coalesced, while the reason said "1 of 7 missed" (14 were missed)."""
    create_task("T", "test", {"seconds": 0})
    s = add_schedule(db, ScheduleInput(task="T", kind="interval", every=5, start=T0 + 5, expiry=T0 + 3600,
                                       catch_up="all"), clock=clock)
    clock.advance(70)  # down: 14 times came due
    tick(ev, clock)
    got = occ(db, s.id)
    assert [(o.state, o.count) for o in got] == [("fired", 1), ("coalesced", 13)]
    assert got[0].reason == "catch-up (1 of 14 missed)"
    assert got[1].reason == "catch-up (all 14 missed): run 1 is already waiting in the queue (overlap: buffer_one)"
    assert (got[1].nominal, got[1].last_nominal) == (T0 + 10, T0 + 70)
    assert Run.select().count() == 1


def test_a_once_schedule_coalesced_into_another_schedules_run_ends(db, clock, ev):
    """Issue 12: its only time was covered by a queued run of its task; it stayed "active" forever."""
    from t4o_tui.engine.schedules import list_schedules

    create_task("T", "test", {"seconds": 0})
    add_schedule(db, ScheduleInput(task="T", kind="interval", every=60, start=T0 + 10, expiry=T0 + 3600), clock=clock)
    once = add_schedule(db, ScheduleInput(task="T", kind="once", at=T0 + 15, start=T0, expiry=T0 + 3600), clock=clock)
    assert [r.state for r in list_schedules(db, now=clock.now()) if r.id == once.id] == ["active"]
    advance_to(ev, clock, T0 + 20)  # nothing runs the queue: the interval's run 1 still waits
    [o] = occ(db, once.id)
    assert o.state == "coalesced"
    assert o.reason == ("run 1 is already waiting in the queue (overlap: buffer_one); "
                        "its last time: the schedule has ended")
    [row] = [r for r in list_schedules(db, now=clock.now()) if r.id == once.id]
    assert (row.state, row.next_fire) == ("ended", None)
    assert once.id not in [r.id for r in dashboard_schedules(db, now=clock.now())]


def test_a_pause_that_ended_during_downtime_records_only_its_own_times_as_paused(db, clock, ev):
    create_task("T", "test", {"seconds": 0})
    s = add_schedule(db, ScheduleInput(task="T", kind="interval", every=10, start=T0 + 10, expiry=T0 + 600,
                                       catch_up="skip", overlap="allow"), clock=clock)
    pause_schedule(db, s.id, note="course change", until=T0 + 35, clock=clock)
    clock.advance(62)  # down across the pause's end
    tick(ev, clock)
    got = occ(db, s.id)
    assert [(o.nominal - T0, o.count, o.state) for o in got] == [
        (10, 3, "paused"), (40, 2, "missed"), (60, 1, "fired")]


@only_sqlite  # holds SQLite's write lock from another connection
def test_times_missed_while_steps_fail_say_so(db, clock, ev, db_path):
    """A long writer holds the database: the evaluator is up but cannot write; reasons say that."""
    import sqlite3

    create_task("T", "test", {"seconds": 0})
    s = add_schedule(db, ScheduleInput(task="T", kind="interval", every=1, start=T0 + 1, expiry=T0 + 600,
                                       catch_up="skip", overlap="allow"), clock=clock)
    advance_to(ev, clock, T0 + 2)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    ev.db.connection().execute("PRAGMA busy_timeout = 10")
    try:
        clock.advance(1)
        assert ev.turn() is None and ev.busy_since == T0 + 2
    finally:
        other.execute("ROLLBACK")
        other.close()
    clock.advance(29)
    ev.turn()
    got = occ(db, s.id)
    assert [(o.nominal - T0, o.count, o.state) for o in got] == [
        (1, 1, "fired"), (2, 1, "fired"), (3, 29, "missed"), (32, 1, "fired")]
    assert got[2].reason == "the scheduler could not write at that time (database is locked) (catch-up: skip)"
    assert ev.busy_since is None


def test_a_moved_window_record_moves_the_listed_start_expiry_and_next_time(db, clock, ev):
    """Issue 12: the fires followed the race's first start, but the lists kept the old window."""
    from t4o_tui.engine.schedules import list_schedules

    event = Event.create(name="Demo")
    race = Race.create(event=event, name="Day 1", first_start=T0 + 7200)
    create_task("Radio", "test", {"seconds": 0})
    s = add_schedule(db, ScheduleInput(task="Radio", kind="window", every=60, source="race.first_start",
                                       source_key=str(race.id), start_offset=-3600, expiry_offset=3600,
                                       overlap="allow"), clock=clock)
    assert (s.start, s.expiry, s.next_fire) == (T0 + 3600, T0 + 10800, T0 + 3600)
    race.first_start = T0 + 600  # moved forward; no evaluator step yet
    race.save()
    [row] = list_schedules(db, now=clock.now())
    assert (row.start, row.expiry, row.next_fire, row.state) == (T0 - 3000, T0 + 4200, T0 + 60, "active")
    advance_to(ev, clock, T0 + 125)
    stored = Schedule.get_by_id(s.id)  # the evaluator keeps the row itself up to date
    assert (stored.start, stored.expiry, stored.next_fire) == (T0 - 3000, T0 + 4200, T0 + 180)
    race.first_start = T0 + 7200  # and back: later than now again
    race.save()
    [row] = list_schedules(db, now=clock.now())
    assert (row.start, row.expiry, row.next_fire, row.state) == (T0 + 3600, T0 + 10800, T0 + 3600, "upcoming")
    tick(ev, clock)
    stored = Schedule.get_by_id(s.id)
    assert (stored.start, stored.expiry, stored.next_fire) == (T0 + 3600, T0 + 10800, T0 + 3600)


def test_the_dashboard_counts_and_hides_an_ended_once_schedule_as_the_lists_do(db, clock, ev):
    import asyncio

    from t4o_tui.engine.schedules import list_schedules
    from t4o_tui.tui.services import Services

    create_task("T", "test", {"seconds": 0})
    every = add_schedule(db, ScheduleInput(task="T", kind="interval", every=60, start=T0 + 10, expiry=T0 + 3600), clock=clock)
    once = add_schedule(db, ScheduleInput(task="T", kind="once", at=T0 + 15, start=T0, expiry=T0 + 3600), clock=clock)
    advance_to(ev, clock, T0 + 20)  # the once time is coalesced into the interval's queued run
    services = Services(db, readonly=True, tz=None, clock=clock)
    data = asyncio.run(services.dashboard())
    db.connect(reuse_if_open=True)
    assert [r.id for r in data.schedules] == [every.id]
    assert data.schedule_counts == {"active": 1, "ended": 1}
    assert {r.id: r.state for r in list_schedules(db, now=clock.now())} == {every.id: "active", once.id: "ended"}
