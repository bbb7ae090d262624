"""Schedule validation in the engine, so every caller (CLI, TUI, API) gets the same answer: one
clear error for an unknown task, and no interval or offset longer than a year."""

from __future__ import annotations

import pytest

from t4o_tui.engine.schedules import (
    DURATION_MAX_DAYS,
    ScheduleInput,
    ScheduleInvalid,
    add_schedule,
    validate,
)
from t4o_tui.engine.tasks import create_task
from t4o_tui.store.models import Schedule

DAY = 86400.0


def test_an_unknown_task_is_the_one_error_even_for_a_sub_minute_interval(db):
    _, errors = validate(db, ScheduleInput(task="nosuchtask", kind="interval", every=5, start=0, expiry=3600))
    assert [(e.field, e.message) for e in errors] == [("task", "unknown task 'nosuchtask'")]


def test_a_task_whose_job_is_unknown_is_the_one_error(db):
    task = create_task("Old", "test", {})
    Schedule._meta.database.execute_sql("UPDATE task SET job='gone' WHERE id=?", (task.id,))
    _, errors = validate(db, ScheduleInput(task="Old", kind="interval", every=5, start=0, expiry=3600))
    assert [(e.field, e.message) for e in errors] == [("task", "task 'Old' has an unknown job 'gone'")]


def test_a_known_job_that_may_not_run_sub_minute_still_says_so(db):
    create_task("Starts", "create-starts", {})
    _, errors = validate(db, ScheduleInput(task="Starts", kind="interval", every=5, start=0, expiry=3600))
    assert [e.field for e in errors] == ["every"]
    assert errors[0].message.startswith('Job "Create Starts" may not run more often than once a minute')


@pytest.mark.parametrize("field_name", ["every", "start_offset", "expiry_offset", "row_offset"])
def test_a_duration_longer_than_a_year_is_refused_by_the_engine(db, field_name):
    create_task("A", "test", {})
    data = ScheduleInput(task="A", kind="interval", every=60, start=0, expiry=1000 * DAY)
    setattr(data, field_name, (DURATION_MAX_DAYS + 1) * DAY * (-1 if field_name == "row_offset" else 1))
    _, errors = validate(db, data)
    assert (field_name, f"at most {DURATION_MAX_DAYS} days (got {DURATION_MAX_DAYS + 1:g} days)") in \
        [(e.field, e.message) for e in errors]
    with pytest.raises(ScheduleInvalid):
        add_schedule(db, data)
    assert Schedule.select().count() == 0


def test_a_year_exactly_is_allowed(db):
    create_task("A", "test", {})
    s = add_schedule(db, ScheduleInput(task="A", kind="interval", every=DURATION_MAX_DAYS * DAY, start=0,
                                       expiry=1000 * DAY))
    assert s.every == DURATION_MAX_DAYS * DAY
