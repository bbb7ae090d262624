"""Issue 17's small things: cron errors name the field and its range."""

from __future__ import annotations

import pytest

from t4o_tui.engine.schedule_math import ScheduleError, _compile


@pytest.mark.parametrize(("expr", "said"), [
    ("61 * * * *", "minute: 61 is out of range 0–59"),
    ("0 24 * * *", "hour: 24 is out of range 0–23"),
    ("0 0 0 * *", "day of month: 0 is out of range 1–31"),
    ("0 0 1 13 *", "month: 13 is out of range 1–12"),
    ("0 0 * * 8", "day of week: 8 is out of range 0–7"),
    ("75 * * * * *", "second: 75 is out of range 0–59"),
    ("*/0 * * * *", "minute: step '0' must be a whole number from 1"),
    ("0 1-30 * * *", "hour: 30 is out of range 0–23"),
])
def test_cron_errors_name_the_field(expr, said):
    with pytest.raises(ScheduleError) as err:
        _compile(expr, "UTC")
    assert said in str(err.value) and err.value.field == "cron"


@pytest.mark.parametrize("expr", ["*/5 * * * *", "0 9 * * mon-fri", "0 0 L * *", "30 2 * * 7", "0 0 1 jan *",
                                  "*/10 * * * * *"])
def test_good_cron_expressions_still_pass(expr):
    _compile(expr, "UTC")


def test_a_share_on_a_task_that_writes_no_file_is_refused(db):
    from t4o_tui.engine.tasks import create_task
    from t4o_tui.share.links import ShareError, create_share
    from t4o_tui.store.models import Share

    create_task("Process", "process-station-data", {})
    create_task("Results page", "result-list", {})
    with pytest.raises(ShareError) as err:
        create_share(db, "Process")
    assert str(err.value).startswith("task: 'Process' runs Process Station Data, which writes no file")
    assert Share.select().count() == 0
    assert create_share(db, "Results page").token
