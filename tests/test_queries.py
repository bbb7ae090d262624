"""The screens' query functions (engine.queries): the dashboard's schedule rows are the lists' rows,
failures are counted without rereading every run, station data and hand edits go through here."""

from __future__ import annotations

from t4o_tui.engine.clock import FakeClock
from t4o_tui.engine.evaluator import Evaluator
from t4o_tui.engine.queries import event as event_q
from t4o_tui.engine.queries import runs as runs_q
from t4o_tui.engine.queries.dashboard import Dashboard
from t4o_tui.engine.schedules import ScheduleInput, add_schedule, list_schedules, pause_schedule
from t4o_tui.engine.tasks import create_task

T0 = 1_780_000_000.0


def _advance(ev: Evaluator, clock: FakeClock, t: float) -> None:
    while clock.now() < t:
        ev._acquire()
        ev.step(clock.now())
        clock.advance(min(1.0, t - clock.now()))


def test_the_dashboard_shows_the_lists_rows_for_the_schedules_it_shows(db):
    """One builder of schedule rows: what the dashboard shows of a schedule is what `schedules`
    lists for it (state, next fire, last occurrence and run, description, an anchored window
    following its record), the ended ones left out."""
    clock = FakeClock(T0)
    for name in ("A", "B", "C", "D"):
        create_task(name, "test", {"seconds": 0})
    conn = db.connection()
    conn.execute("INSERT INTO event(id, name, timezone) VALUES (1, 'Cup', 'Europe/Oslo')")
    conn.execute("INSERT INTO race(id, event_id, name, date, first_start) VALUES (1, 1, 'Day 1', '2026-05-29', ?)",
                 (T0 + 7200,))
    add_schedule(db, ScheduleInput(task="A", kind="interval", every=60, start=T0, expiry=T0 + 3600), clock=clock)
    paused = add_schedule(db, ScheduleInput(task="B", kind="cron", cron="*/5 * * * *", start=T0, expiry=T0 + 7200),
                          clock=clock)
    pause_schedule(db, paused.id, note="course change", clock=clock)
    add_schedule(db, ScheduleInput(task="C", kind="once", at=T0 + 30, start=T0, expiry=T0 + 3600), clock=clock)
    add_schedule(db, ScheduleInput(task="D", kind="window", every=60, source="race.first_start", source_key="1",
                                   start_offset=-1800, expiry_offset=3600), clock=clock)
    ev = Evaluator(db, clock=clock, holder="me")
    _advance(ev, clock, T0 + 200)  # fires, the once schedule ends, runs queue up
    # The race's first start moves after the evaluator's last look: both lists must follow the record.
    conn.execute("UPDATE race SET first_start = ? WHERE id = 1", (T0 + 5400,))
    now = clock.now()
    shown = Dashboard().load(db, now).schedules
    listed = [r for r in list_schedules(db, now=now) if r.state != "ended"]
    assert shown == listed
    assert {r.task: r.state for r in shown} == {"A": "active", "B": "paused", "D": "upcoming"}
    window = next(r for r in shown if r.task == "D")
    assert (window.start, window.expiry, window.next_fire) == (T0 + 3600, T0 + 9000, T0 + 3600)
    assert "C" in {r.task for r in list_schedules(db, now=now)}  # ended: listed, not on the dashboard


def test_failures_are_counted_incrementally_and_new_ones_seen(db):
    clock = FakeClock(T0)
    create_task("T", "test", {"seconds": 0})
    conn = db.connection()
    tid = conn.execute("SELECT id FROM task").fetchone()[0]

    def run(status: str, finished: float | None) -> int:
        return conn.execute("INSERT INTO run(task_id, status, lane, trigger, enqueued_at, finished_at, attempts) "
                            "VALUES (?, ?, 'queue', 'manual', ?, ?, 0)", (tid, status, T0, finished)).lastrowid

    run("failed", T0 - 7200)  # before the hour
    run("failed", T0 - 60)
    queued = run("queued", None)
    watch = runs_q.RunWatch()
    count, failures = watch.failed_since(db, clock.now() - 3600, clock.now())
    assert count == 1 and len(failures) == 2
    # The queued run fails, a new one fails: both seen by the next (incremental) poll.
    conn.execute("UPDATE run SET status = 'failed', finished_at = ? WHERE id = ?", (T0 + 1, queued))
    run("failed", T0 + 2)
    count, failures = watch.failed_since(db, clock.now() - 3600, clock.now() + 5)
    assert count == 3 and len(failures) == 4
    assert runs_q.active_counts(db) == (0, 0)


def test_station_data_lines_and_the_active_toggle(db):
    conn = db.connection()
    conn.execute("INSERT INTO event(id, name) VALUES (1, 'Cup')")
    conn.execute("INSERT INTO race(id, event_id, name) VALUES (1, 1, 'Day 1')")
    readout = conn.execute("SELECT id FROM station WHERE role = 'readout'").fetchone()[0]
    for n in range(3):
        conn.execute("INSERT INTO station_data(race_id, station_id, card_number, read_at, punches, source, created_at, "
                     "twelve_hour, active) VALUES (1, ?, ?, ?, '[]', 'test', ?, 0, 1)", (readout, str(100 + n), T0 + n, T0))
    lines = event_q.station_data_lines(db, limit=2)
    assert [(line.card, line.station, line.active) for line in lines] == [("102", "Readout", True),
                                                                          ("101", "Readout", True)]
    assert event_q.toggle_station_data(db, lines[0].id) is False
    assert event_q.toggle_station_data(db, lines[0].id) is True
