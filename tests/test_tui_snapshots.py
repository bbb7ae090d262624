"""SVG snapshots (pytest-textual-snapshot) of every screen and dialog at 80x24 and 160x50, with time
frozen: a fixed clock drives the app (relative times, next fire times), the worker id is fixed,
cursors do not blink, the engine runs no lanes, and each screenshot is taken once the screen has
shown its data and stopped changing.

The references are tests/__snapshots__/test_tui_snapshots/*.svg. A failure writes
snapshot_report.html (each screen now, beside its reference). After a deliberate change of the
look, rewrite them and review the difference (`git diff --stat`, then the report or the SVGs):

    python -m pytest tests/test_tui_snapshots.py --snapshot-update
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import peewee
import pytest
from rich.console import Console
from test_tui import until
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from t4o_tui.config import Config
from t4o_tui.engine.clock import FakeClock
from t4o_tui.engine.runtime import RuntimeOptions
from t4o_tui.engine.schedules import ScheduleInput, add_schedule, pause_schedule
from t4o_tui.engine.tasks import create_task
from t4o_tui.share.links import create_share, revoke_share, token_hash
from t4o_tui.tui.app import T4oApp
from t4o_tui.tui.screens.base import PollingScreen
from t4o_tui.tui.screens.card_desk import CardDeskScreen
from t4o_tui.tui.screens.class_timing import ClassTimingScreen
from t4o_tui.tui.screens.confirm import ConfirmScreen
from t4o_tui.tui.screens.correction import CorrectionScreen
from t4o_tui.tui.screens.entry_edit import EntryEditScreen
from t4o_tui.tui.screens.help import HelpScreen
from t4o_tui.tui.screens.occurrences import OccurrencesScreen
from t4o_tui.tui.screens.pause import PauseScreen
from t4o_tui.tui.screens.run_details import RunDetailsScreen
from t4o_tui.tui.screens.run_log import RunLogScreen
from t4o_tui.tui.screens.schedule_editor import ScheduleEditorScreen
from t4o_tui.tui.screens.share_editor import ShareEditorScreen
from t4o_tui.tui.screens.share_link import ShareLinkScreen
from t4o_tui.tui.screens.task_editor import TaskEditorScreen

ZONE = "Europe/Oslo"
T0 = datetime(2030, 6, 1, 10, 0, 0, tzinfo=ZoneInfo(ZONE)).timestamp()
ME = "timing-pc:4100:a1b2c3"
OTHER = "timing-srv:2200:d4e5f6"


def build_event(db: peewee.Database) -> dict[str, int]:
    """A small event at 10:00 on race day: tasks, runs in every state, schedules of every kind,
    occurrences (fired, missed, a coalesced range, skipped), two share links."""
    clock = FakeClock(T0 - 3 * 3600)
    for name, settings in (("Import entries", {"seconds": 0}), ("Result list", {"seconds": 0, "write_file": True}),
                           ("Start list", {"seconds": 0}), ("Speaker feed", {"seconds": 0})):
        create_task(name, "test", settings)
    create_task("Backup", "backup", {})
    tid = {r[1]: r[0] for r in db.execute_sql("SELECT id, name FROM task").fetchall()}
    conn = db.connection()
    conn.execute("INSERT INTO event(id, name, timezone) VALUES (1, 'Sprint Cup', ?)", (ZONE,))
    conn.execute("INSERT INTO race(id, event_id, name, date, first_start) VALUES (1, 1, 'Middle', '2030-06-01', ?)",
                 (T0 + 3600,))
    # A second race (the Event view names the race shown) and race 1's classes with their timing.
    conn.execute("INSERT INTO race(id, event_id, name, date, first_start) VALUES (2, 1, 'Long', '2030-06-02', ?)",
                 (T0 + 86400,))
    for name, first, interval, bib, max_time, vacancies, draw, box in (
            ("D21", T0 + 3600, 120.0, 201, 7200.0, 0, None, "S1"), ("H16", T0 + 5400, 60.0, None, 5400.0, 0, None, None),
            ("H21", T0 + 3600, 120.0, 101, 7200.0, 2, "club-separation", "S1")):
        conn.execute("INSERT INTO class(race_id, name, start_type, first_start, start_interval, bib_start, max_time, "
                     "vacancies, draw_method, start_box, result_type, start_source, ids) "
                     "VALUES (1, ?, 'interval', ?, ?, ?, ?, ?, ?, ?, 'normal', 'drawn', '{}')",
                     (name, first, interval, bib, max_time, vacancies, draw, box))
    ids = {
        "import": add_schedule(db, ScheduleInput(task="Import entries", kind="interval", every=300.0, start=T0 - 7200,
                                                 expiry=T0 + 8 * 3600, tz=ZONE), clock=clock).id,
        "results": add_schedule(db, ScheduleInput(task="Result list", kind="cron", cron="*/2 * * * *",
                                                  start=T0 - 3600, expiry=T0 + 10 * 3600, tz=ZONE), clock=clock).id,
        "backup": add_schedule(db, ScheduleInput(task="Backup", kind="interval", every=900.0, start=T0 - 3600,
                                                 expiry=T0 + 12 * 3600, tz=ZONE), clock=clock).id,
        "start": add_schedule(db, ScheduleInput(task="Start list", kind="once", at=T0 + 3 * 3600, start=T0 + 2 * 3600,
                                                expiry=T0 + 4 * 3600, tz=ZONE, max_runs=1), clock=clock).id,
        "speaker": add_schedule(db, ScheduleInput(task="Speaker feed", kind="window", every=60.0, source="race.first_start",
                                                  source_key="1", start_offset=-3600.0, expiry_offset=5 * 3600.0,
                                                  tz=ZONE), clock=clock).id,
    }
    pause_schedule(db, ids["backup"], note="course change", until=T0 + 3600, clock=FakeClock(T0 - 60))
    # The evaluator is not running here: the next fire times it would have stored.
    for key, nxt in (("import", T0 + 120), ("results", T0 + 120), ("backup", T0 + 900), ("speaker", T0 + 60)):
        conn.execute("UPDATE schedule SET next_fire=?, evaluated_until=? WHERE id=?", (nxt, T0, ids[key]))
    # Runs: finished ones (the schedule's, a failure, a cancel), one running elsewhere, two queued.
    runs = [
        (tid["Import entries"], "succeeded", "schedule", T0 - 1200, T0 - 1199.9, T0 - 1198, None),
        (tid["Import entries"], "succeeded", "schedule", T0 - 900, T0 - 899.9, T0 - 897, None),
        (tid["Import entries"], "failed", "schedule", T0 - 300, T0 - 299.9, T0 - 296, "Eventor answered 503"),
        (tid["Result list"], "cancelled", "manual", T0 - 700, T0 - 690, T0 - 650, "cancelled by admin"),
        (tid["Result list"], "running", "schedule", T0 - 20, T0 - 19, None, None),
        (tid["Start list"], "queued", "manual", T0 - 5, None, None, None),
        (tid["Speaker feed"], "queued", "schedule", T0 - 2, None, None, None),
    ]
    for task_id, status, trigger, enq, started, finished, error in runs:
        conn.execute(
            "INSERT INTO run(task_id, status, lane, trigger, enqueued_at, started_at, finished_at, worker, lease_until, "
            "error, attempts, progress) VALUES (?, ?, 'queue', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (task_id, status, trigger, enq, started, finished, OTHER if started else None,
             T0 + 3600 if status == "running" else None, error, 1 if started else 0,
             0.4 if status == "running" else None))
    occurrences = [
        (T0 - 1800, None, 3, None, "coalesced", None, "catch-up 'latest': an older missed time"),
        (T0 - 1500, None, 1, None, "missed", None, "missed: the scheduler was down"),
        (T0 - 1200, None, 1, T0 - 1199.996, "fired", 1, None),
        (T0 - 900, None, 1, T0 - 899.997, "fired", 2, None),
        (T0 - 600, None, 1, None, "skipped-overlap", None, "overlap 'buffer_one': a run is already queued"),
        (T0 - 300, None, 1, T0 - 299.995, "fired", 3, None),
    ]
    for nominal, _last, count, actual, state, run_id, reason in occurrences:
        last = nominal + 240 if count > 1 else None
        conn.execute("INSERT INTO occurrence(schedule_id, nominal, last_nominal, count, actual, state, run_id, reason) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (ids["import"], nominal, last, count, actual, state, run_id, reason))
    # Links with fixed tokens, so that their URLs are the same on every run.
    live = create_share(db, "Result list", run_task=True, label="speaker", cache_window=120.0, clock=clock)
    old = create_share(db, "Start list", label="old club page", clock=clock)
    revoke_share(db, old.id)
    for share, token in ((live, "RESULTS-speaker-link-0123456789abcdefghijk"), (old, "START-old-link-0123456789abcdefghijklmnopq")):
        conn.execute("UPDATE share SET token=?, token_hash=?, hits=?, last_access=? WHERE id=?",
                     (token, token_hash(token), 42 if share is live else 3, T0 - 75 if share is live else T0 - 86400,
                      share.id))
    # Another process: a headless worker that holds the scheduler lease.
    for name, holder, info in ((f"worker:{OTHER}", OTHER, "worker"), ("scheduler", OTHER, None)):
        conn.execute("INSERT INTO lease(name, holder, acquired_at, expires_at, info) VALUES (?, ?, ?, ?, ?)",
                     (name, holder, T0 - 3600, T0 + 3600, info))
    # ... and serves the share links (share.serving), on the default port.
    conn.execute("INSERT INTO meta(key, value) VALUES ('share_server', ?)", (json.dumps(
        {"worker": OTHER, "role": "worker", "host": "127.0.0.1", "port": 8470, "since": T0 - 3600}),))
    add_runners(conn)
    return ids


def add_runners(conn: Any) -> None:
    """Race 1's first starters: entries with clubs, cards and starts, a course, three readouts (OK,
    a missing punch, a card on no entry), their results, and a station readout task that is connected."""
    clazz = {r[1]: r[0] for r in conn.execute("SELECT id, name FROM class WHERE race_id = 1").fetchall()}
    conn.execute("INSERT INTO course(id, race_id, name, length, climb) VALUES (1, 1, 'A', 4200, 120)")
    for seq, code in enumerate((31, 33, 41, 100), start=1):
        conn.execute("INSERT INTO control(id, race_id, code, kind, exempt) VALUES (?, 1, ?, 'control', 0)", (seq, str(code)))
        conn.execute("INSERT INTO course_control(course_id, seq, control_id, kind) VALUES (1, ?, ?, 'control')", (seq, seq))
    conn.execute("INSERT INTO organisation(id, name, ids) VALUES (1, 'Fana IL', '{}'), (2, 'Bækkelagets SK', '{}')")
    readout = conn.execute("SELECT id FROM station WHERE role = 'readout'").fetchone()[0]
    runners = [("Kari", "Nordmann", "D21", 1, "201", "2001001", T0 - 3600, "OK", 1834.0, None),
               ("Ola", "Nordmann", "H21", 2, "101", "2001002", T0 - 3480, "MissingPunch", 1900.0, "41"),
               ("Per", "Hansen", "H21", 1, "102", "2001003", T0 - 3360, None, None, None),
               ("Åse", "Berg", "H16", 2, None, "2001004", T0 + 5400, None, None, None)]
    for i, (given, family, cls, club, bib, card, start, status, secs, missing) in enumerate(runners, start=1):
        conn.execute("INSERT INTO person(id, given, family) VALUES (?, ?, ?)", (i, given, family))
        conn.execute("INSERT INTO entry(id, race_id, class_id, person_id, organisation_id, status, bib, hand_edited, "
                     "created_at, updated_at) VALUES (?, 1, ?, ?, ?, 'entered', ?, 0, ?, ?)",
                     (i, clazz[cls], i, club, bib, T0 - 86400, T0 - 86400))
        conn.execute("INSERT INTO card(id, number, card_type, rental) VALUES (?, ?, 'SI', 0)", (i, card))
        conn.execute("INSERT INTO entry_card(entry_id, card_id) VALUES (?, ?)", (i, i))
        conn.execute("INSERT INTO start(race_id, class_id, bib, start_time, course_id, entry_id, hand_set) "
                     "VALUES (1, ?, ?, ?, 1, ?, 0)", (clazz[cls], bib, start, i))
        if status is not None:
            conn.execute("INSERT INTO station_data(id, race_id, station_id, card_number, card_type, read_at, punches, "
                         "source, entry_id, processed_at, created_at, twelve_hour, active) "
                         "VALUES (?, 1, ?, ?, 'SI8', ?, '[]', 'SI station 42 on /dev/ttyUSB0 (SI8)', ?, ?, ?, 0, 1)",
                         (i, readout, card, T0 - 600 + 60 * i, i, T0 - 500, T0 - 500))
            conn.execute("INSERT INTO result(entry_id, status, start_time, finish_time, time, splits, missing, "
                         "station_data_id, overdue, computed_at) VALUES (?, ?, ?, ?, ?, '[]', ?, ?, 0, ?)",
                         (i, status, start, start + secs, secs, missing, i, T0 - 500))
    conn.execute("INSERT INTO station_data(id, race_id, station_id, card_number, card_type, read_at, punches, source, "
                 "data_status, processed_at, created_at, twelve_hour, active) VALUES (9, 1, ?, '7777777', 'SI10', ?, "
                 "'[]', 'SI station 42 on /dev/ttyUSB0 (SI10)', 'card not found', ?, ?, 0, 1)",
                 (readout, T0 - 120, T0 - 100, T0 - 100))
    task_id = conn.execute("INSERT INTO task(name, job, settings, direct, created_at, updated_at) VALUES "
                           "('Finish readout', 'si-readout', '{\"port\": \"/dev/ttyUSB0\"}', 1, ?, ?)",
                           (T0 - 86400, T0 - 86400)).lastrowid
    conn.execute("INSERT INTO task_state(task_id, key, value) VALUES (?, 'station', ?)", (task_id, json.dumps(
        {"state": "connected", "port": "/dev/ttyUSB0", "station": 42, "message": "station 42 at 38400 baud",
         "since": T0 - 3600, "readouts": 3})))


def make_snapshot_app(db: peewee.Database, db_path: Path) -> T4oApp:
    cfg = Config(db=db_path, timezone=ZONE, grace=0.5)
    options = RuntimeOptions(queue_lane=False, direct_lane=False, scheduler=False, share=False, grace=0.5)
    app = T4oApp(cfg, db, options=options, clock=FakeClock(T0), worker_id=ME, watch_terminal=False)
    app.theme = "textual-dark"  # not the SSH default (ansi-dark): the same colours everywhere
    return app


def screen_text(app: T4oApp) -> str:
    """The screen as plain text, one line per row (for tests that read what the admin sees)."""
    w, h = app.size
    console = Console(width=w, height=h, file=io.StringIO(), force_terminal=True, color_system=None, record=True,
                      legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return "\n".join(line.rstrip() for line in console.export_text().splitlines()) + "\n"


async def settled(pilot: Pilot[int], app: T4oApp) -> None:
    """The screen on top has shown its data, and nothing is left to paint."""
    screen = app.screen
    if isinstance(screen, PollingScreen):
        # A poll of its own, after the engine announced itself: the first may have come before.
        await until(pilot, lambda: len(screen.poll_timings) > 0, what=f"{type(screen).__name__} data")
        polls = len(screen.poll_timings)
        screen.poll_now()
        await until(pilot, lambda: len(screen.poll_timings) > polls, what=f"{type(screen).__name__} fresh data")
    if isinstance(screen, ScheduleEditorScreen):
        await until(pilot, lambda: screen.checks > 0 and screen._check_timer is None, what="editor checked")
    if isinstance(screen, ClassTimingScreen):
        await screen.wait_checked()
    for inp in screen.query(Input):
        inp.cursor_blink = False
    # Loads that are not polls (a dialog's fields, a list inside a tab): the same picture three
    # times in a row, 0.1 s apart, or 5 s at most.
    await pilot.pause(0.1)
    last, same, deadline = app.export_screenshot(), 0, time.monotonic() + 5.0
    while same < 2 and time.monotonic() < deadline:
        await pilot.pause(0.1)
        now = app.export_screenshot()
        same = same + 1 if now == last else 0
        last = now


Steps = Callable[[Pilot[int], T4oApp, dict[str, int]], Awaitable[None]]


def keys(*pressed: str, then: type[Screen[Any]] | None = None) -> Steps:
    """Press these keys, waiting for the data of each screen on the way (and for `then` on top)."""

    async def steps(pilot: Pilot[int], app: T4oApp, ids: dict[str, int]) -> None:
        for n, key in enumerate(pressed):
            await pilot.press(key)
            if n < len(pressed) - 1:  # the last screen is settled before the screenshot
                await settled(pilot, app)
        if then is not None:
            await until(pilot, lambda: isinstance(app.screen, then), what=then.__name__)

    return steps


def occurrences(pilot: Pilot[int], app: T4oApp, ids: dict[str, int]) -> Awaitable[None]:
    app.open_occurrences(ids["import"])
    return until(pilot, lambda: isinstance(app.screen, OccurrencesScreen), what="occurrences")


def schedule_editor(pilot: Pilot[int], app: T4oApp, ids: dict[str, int]) -> Awaitable[None]:
    app.open_schedule_editor(ids["results"])
    return until(pilot, lambda: isinstance(app.screen, ScheduleEditorScreen), what="schedule editor")


# Every screen and dialog of t4o_tui/tui/screens, reached as an admin reaches it.
SCREENS: dict[str, Steps] = {
    "dashboard": keys("1"),
    "queue": keys("2"),
    "tasks": keys("3"),
    "shares": keys("4"),
    "event-classes": keys("5"),
    "event-entries": keys("5", "t"),
    "event-courses": keys("5", "t", "t"),
    "results": keys("6"),
    "station-data": keys("7"),
    "readout": keys("8"),
    "in-forest": keys("9"),
    "not-started": keys("9", "t"),
    "help": keys("1", "question_mark", then=HelpScreen),
    "pause": keys("1", "p", then=PauseScreen),
    "occurrences": occurrences,
    "schedule-editor": schedule_editor,
    "run-details": keys("2", "d", then=RunDetailsScreen),
    "run-log": keys("2", "l", then=RunLogScreen),
    "task-editor": keys("3", "e", then=TaskEditorScreen),
    "task-editor-runs": keys("3", "e", "ctrl+t", then=TaskEditorScreen),
    "task-editor-schedules": keys("3", "e", "ctrl+t", "ctrl+t", then=TaskEditorScreen),
    "confirm-delete-task": keys("3", "delete", then=ConfirmScreen),
    "share-editor": keys("4", "n", then=ShareEditorScreen),
    "share-link": keys("4", "d", then=ShareLinkScreen),
    "class-timing": keys("5", "e", then=ClassTimingScreen),
    "entry-edit": keys("5", "t", "e", then=EntryEditScreen),
    "correction": keys("6", "c", then=CorrectionScreen),
    "card-desk": keys("8", "a", then=CardDeskScreen),
    "card-desk-new-entry": keys("8", "n", then=CardDeskScreen),
}


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
@pytest.mark.parametrize("name", list(SCREENS))
def test_snapshot(name, size, snap_compare, db, db_path, monkeypatch):
    for var in ("NO_COLOR", "SSH_CONNECTION", "SSH_TTY"):
        monkeypatch.delenv(var, raising=False)
    ids = build_event(db)
    app = make_snapshot_app(db, db_path)

    async def run_before(pilot: Pilot[int]) -> None:
        await until(pilot, lambda: app.engine_started, what="engine start")
        await SCREENS[name](pilot, app, ids)
        await settled(pilot, app)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
