"""SVG snapshots of the main views, with time frozen: a fixed clock drives the app (relative times,
next fire times), the worker id is fixed, cursors do not blink, and the engine runs no lanes.

The references live in tests/snapshots/ (the SVG for the look, a .txt of the same screen for a
readable diff). After a deliberate change of the look, rewrite them and review the difference:

    T4O_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_tui_snapshots.py
"""

from __future__ import annotations

import asyncio
import difflib
import io
import json
import os
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import peewee
import pytest
from rich.console import Console
from test_tui import until
from textual.pilot import Pilot
from textual.widgets import Input

from t4o_tui.config import Config
from t4o_tui.engine.clock import FakeClock
from t4o_tui.engine.runtime import RuntimeOptions
from t4o_tui.engine.schedules import ScheduleInput, add_schedule, pause_schedule
from t4o_tui.engine.tasks import create_task
from t4o_tui.share.links import create_share, revoke_share, token_hash
from t4o_tui.tui.app import T4oApp
from t4o_tui.tui.screens.base import PollingScreen
from t4o_tui.tui.screens.class_timing import ClassTimingScreen
from t4o_tui.tui.screens.event import EventScreen
from t4o_tui.tui.screens.occurrences import OccurrencesScreen
from t4o_tui.tui.screens.schedule_editor import ScheduleEditorScreen

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = bool(os.environ.get("T4O_UPDATE_SNAPSHOTS"))
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
    return ids


def make_snapshot_app(db: peewee.Database, db_path: Path) -> T4oApp:
    cfg = Config(db=db_path, timezone=ZONE, grace=0.5)
    options = RuntimeOptions(queue_lane=False, direct_lane=False, scheduler=False, share=False, grace=0.5)
    app = T4oApp(cfg, db, options=options, clock=FakeClock(T0), worker_id=ME, watch_terminal=False)
    app.theme = "textual-dark"  # not the SSH default (ansi-dark): the same colours everywhere
    return app


def screen_text(app: T4oApp) -> str:
    w, h = app.size
    console = Console(width=w, height=h, file=io.StringIO(), force_terminal=True, color_system=None, record=True,
                      legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return "\n".join(line.rstrip() for line in console.export_text().splitlines()) + "\n"


def normalise(svg: str) -> str:
    # Rich names the SVG's classes after a hash of the content; the content is what is compared.
    return re.sub(r"terminal-\d+", "terminal", svg)


class Snapshots:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.failures: list[str] = []

    def check(self, app: T4oApp, name: str) -> None:
        for inp in app.screen.query(Input):
            inp.cursor_blink = False
        svg = normalise(app.export_screenshot(title=f"t4o-tui {name}"))
        text = screen_text(app)
        ref_svg, ref_txt = SNAPSHOTS / f"{name}.svg", SNAPSHOTS / f"{name}.txt"
        if UPDATE:
            SNAPSHOTS.mkdir(exist_ok=True)
            ref_svg.write_text(svg)
            ref_txt.write_text(text)
            return
        if not ref_svg.exists() or not ref_txt.exists():
            self.failures.append(f"{name}: no reference in {SNAPSHOTS} (run with T4O_UPDATE_SNAPSHOTS=1)")
            return
        if text != ref_txt.read_text():
            diff = "".join(difflib.unified_diff(ref_txt.read_text().splitlines(True), text.splitlines(True),
                                                f"{name}.txt (reference)", f"{name}.txt (now)"))
            self.failures.append(f"{name}: the screen's text differs\n{diff}")
        elif svg != ref_svg.read_text():
            self.failures.append(f"{name}: same text, other styles (colours, bold…)")
        if self.failures and self.failures[-1].startswith(name):
            actual = self.tmp / f"{name}.svg"
            actual.write_text(svg)
            self.failures[-1] += f"\nthe screen now: {actual}"


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
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_snapshots_of_the_main_views(db, db_path, tmp_path, size, monkeypatch):
    for var in ("NO_COLOR", "SSH_CONNECTION", "SSH_TTY"):
        monkeypatch.delenv(var, raising=False)
    ids = build_event(db)
    app = make_snapshot_app(db, db_path)
    snaps = Snapshots(tmp_path)
    suffix = "" if size == (80, 24) else "-wide"

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await until(pilot, lambda: app.engine_started, what="engine start")
            await settled(pilot, app)
            snaps.check(app, f"dashboard{suffix}")
            await pilot.press("2")
            await settled(pilot, app)
            snaps.check(app, f"queue{suffix}")
            await pilot.press("4")
            await settled(pilot, app)
            snaps.check(app, f"shares{suffix}")
            await pilot.press("5")
            await settled(pilot, app)
            snaps.check(app, f"event{suffix}")
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, ClassTimingScreen), what="class timing editor")
            editor = app.screen
            assert isinstance(editor, ClassTimingScreen)
            await editor.wait_checked()
            await pilot.pause(0.2)
            snaps.check(app, f"class-timing{suffix}")
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, EventScreen), what="back from the editor")
            await pilot.press("1")
            app.open_occurrences(ids["import"])
            await until(pilot, lambda: isinstance(app.screen, OccurrencesScreen), what="history")
            await settled(pilot, app)
            snaps.check(app, f"occurrences{suffix}")
            await pilot.press("escape")
            app.open_schedule_editor(ids["results"])
            await until(pilot, lambda: isinstance(app.screen, ScheduleEditorScreen), what="editor")
            await settled(pilot, app)
            snaps.check(app, f"schedule-editor{suffix}")
            await pilot.press("escape")

    asyncio.run(main())
    assert not snaps.failures, "\n\n".join(snaps.failures)
