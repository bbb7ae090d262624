"""Creating many schedules at once (issue 19): add_schedules, all or none, errors naming the schedule."""

from __future__ import annotations

import pytest

from t4o_tui.engine import schedule_math as sm
from t4o_tui.engine.clock import FakeClock
from t4o_tui.engine.schedules import (
    ScheduleInput,
    ScheduleInvalid,
    SchedulesInvalid,
    add_schedule,
    add_schedules,
    get_schedule,
)
from t4o_tui.engine.tasks import create_task
from t4o_tui.store.models import Schedule

T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC


def _inputs(n: int, task: str) -> list[ScheduleInput]:
    out = []
    for i in range(n):
        if i % 2:
            out.append(ScheduleInput(task=task, kind="cron", cron="*/5 * * * *", start=T0 - 60, expiry=T0 + 86400))
        else:
            out.append(ScheduleInput(task=task, kind="interval", every=60.0 + i, start=T0 + i, expiry=T0 + 86400))
    return out


def test_add_schedules_saves_all_in_input_order_as_add_schedule_would(db):
    create_task("Import", "test", {"seconds": 0})
    create_task("Export", "test", {"seconds": 0})
    clock = FakeClock(T0)
    inputs = _inputs(6, "Import") + _inputs(3, "Export")
    ids = add_schedules(db, inputs, clock=clock)
    assert len(ids) == 9 and ids == sorted(ids)
    # One by one, the same inputs give the same rows (next fire, bounds, armed at now).
    single = [add_schedule(db, d, clock=clock) for d in inputs]
    for sid, one in zip(ids, single, strict=True):
        got = get_schedule(sid)
        again = get_schedule(one.id)
        for f in ("kind", "every", "cron", "start", "expiry", "next_fire", "armed_at", "evaluated_until", "tz",
                  "overlap", "catch_up", "paused", "fired_count"):
            assert getattr(got, f) == getattr(again, f) == getattr(one, f), f
        assert got.task_id == again.task_id
    first = get_schedule(ids[1])  # cron */5 minutes from 08:00:00: the next is 08:05
    assert first.next_fire == T0 + 300
    assert get_schedule(ids[0]).next_fire == T0 + 60  # interval anchored at T0 every 60 s
    assert sm.next_fire(sm.ScheduleSpec(kind="cron", start=T0 - 60, expiry=T0 + 86400, tz="UTC", cron="*/5 * * * *"),
                        T0 + 301).nominal == T0 + 600


def test_a_shared_cron_fire_is_not_used_past_its_time_or_its_expiry(db):
    create_task("Import", "test", {"seconds": 0})
    clock = FakeClock(T0)
    a = add_schedule(db, ScheduleInput(task="Import", kind="cron", cron="*/5 * * * *", start=T0 - 60, expiry=T0 + 86400),
                     clock=clock)
    # Same expression, but expiring before its next fire: nothing to fire.
    b = add_schedule(db, ScheduleInput(task="Import", kind="cron", cron="*/5 * * * *", start=T0 - 60, expiry=T0 + 200),
                     clock=clock)
    clock.advance(300)  # now exactly at the fire the first one got: the next is 5 minutes later
    c = add_schedule(db, ScheduleInput(task="Import", kind="cron", cron="*/5 * * * *", start=T0 - 60, expiry=T0 + 86400),
                     clock=clock)
    assert (a.next_fire, b.next_fire, c.next_fire) == (T0 + 300, None, T0 + 600)


def test_one_bad_schedule_saves_none_and_the_error_names_it(db):
    create_task("Import", "test", {"seconds": 0})
    before = Schedule.select().count()
    inputs = _inputs(4, "Import")
    inputs[1] = ScheduleInput(task="Import", kind="cron", cron="61 * * * *", start=T0, expiry=T0 + 86400)
    inputs[3] = ScheduleInput(task="Nope", kind="interval", every=60, start=T0, expiry=T0 + 86400)
    with pytest.raises(SchedulesInvalid) as info:
        add_schedules(db, inputs, clock=FakeClock(T0))
    msg = str(info.value)
    assert "schedule 2 of 4 (task 'Import'): cron:" in msg and "61 is out of range" in msg
    assert "schedule 4 of 4 (task 'Nope'): task: unknown task 'Nope'" in msg
    assert [pos for pos, _task, _errs in info.value.problems] == [2, 4]
    assert isinstance(info.value, ScheduleInvalid)  # callers of add_schedule's error catch it too
    assert Schedule.select().count() == before


def test_many_problems_are_counted_after_the_first_few(db):
    create_task("Import", "test", {"seconds": 0})
    bad = [ScheduleInput(task="Import", kind="interval", every=60, start=T0, expiry=T0 - 10) for _ in range(8)]
    with pytest.raises(SchedulesInvalid) as info:
        add_schedules(db, bad, clock=FakeClock(T0))
    assert str(info.value).count("schedule ") >= 5
    assert "and 3 more invalid schedule(s)" in str(info.value)
    assert len(info.value.problems) == 8


def test_add_schedule_keeps_its_single_error_and_returns_the_saved_row(db):
    create_task("Import", "test", {"seconds": 0})
    with pytest.raises(ScheduleInvalid) as info:
        add_schedule(db, ScheduleInput(task="Import", kind="interval", every=60, start=T0), clock=FakeClock(T0))
    assert not isinstance(info.value, SchedulesInvalid)
    assert str(info.value) == "expiry: is required"
    s = add_schedule(db, ScheduleInput(task="Import", kind="interval", every=60, start=T0, expiry=T0 + 3600,
                                       max_runs=3), clock=FakeClock(T0 + 30))
    stored = get_schedule(s.id)
    assert (s.next_fire, s.max_runs, s.task_id, s.armed_at) == (stored.next_fire, 3, stored.task_id, T0 + 30)
    assert s.task.name == "Import" and s.next_fire == T0 + 60


def test_a_missing_start_does_not_hide_a_wrong_repeat_rule(db):
    """One try names every problem: both missing bounds and the cron or interval rule itself."""
    create_task("Import", "test", {"seconds": 0})
    with pytest.raises(ScheduleInvalid) as info:
        add_schedule(db, ScheduleInput(task="Import", kind="cron", cron="61 * * * *"), clock=FakeClock(T0))
    fields = [e.field for e in info.value.errors]
    assert fields == ["start", "expiry", "cron"], info.value.errors
    assert "minute: 61 is out of range 0–59" in str(info.value)
    with pytest.raises(ScheduleInvalid) as info:
        add_schedule(db, ScheduleInput(task="Import", kind="interval", every=0, expiry=T0 + 60), clock=FakeClock(T0))
    assert [e.field for e in info.value.errors] == ["start", "every"]
    # A valid rule adds nothing to the missing bound.
    with pytest.raises(ScheduleInvalid) as info:
        add_schedule(db, ScheduleInput(task="Import", kind="cron", cron="*/5 * * * *", start=T0), clock=FakeClock(T0))
    assert str(info.value) == "expiry: is required"
