"""Write the SVG screenshots in screenshots/ from the demo event: `python scripts/screenshots.py`.

Builds and prepares the race-day demo in a temporary folder (imports, draw, start list), opens it
with the engine running inside the app (the demo schedules fire, the share server serves), runs
a failing test task, and saves each main view, the schedule editor, a schedule's history, a
run's log, the task editor and the class timing editor at 100x30. Takes about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import peewee
from textual.pilot import Pilot
from textual.widgets import Input

from t4o_tui.config import Config, data_dir_for
from t4o_tui.demo import build_demo, prepare_demo
from t4o_tui.engine.job import install_jobs
from t4o_tui.engine.runs import enqueue_run, get_run
from t4o_tui.engine.runtime import RuntimeOptions
from t4o_tui.engine.schedules import list_occurrences
from t4o_tui.engine.tasks import find_task
from t4o_tui.jobs.registry import REGISTRY
from t4o_tui.store.db import open_database
from t4o_tui.store.models import Schedule
from t4o_tui.timefmt import local_zone_name
from t4o_tui.tui.app import T4oApp
from t4o_tui.tui.screens.class_timing import ClassTimingScreen
from t4o_tui.tui.screens.confirm import ConfirmScreen
from t4o_tui.tui.screens.event import EventScreen
from t4o_tui.tui.screens.occurrences import OccurrencesScreen
from t4o_tui.tui.screens.run_log import RunLogScreen
from t4o_tui.tui.screens.schedule_editor import ScheduleEditorScreen
from t4o_tui.tui.screens.task_editor import TaskEditorScreen
from t4o_tui.tui.widgets.live_table import LiveTable

ROOT = Path(__file__).resolve().parent.parent
SIZE = (100, 30)


async def until(pilot: Pilot[int], predicate: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        await pilot.pause(0.05)
    raise SystemExit(f"screenshots: timed out waiting for {what}")


def free_port() -> int:
    """The share server's port: 8470 as in a real setup when it is free, else any free one."""
    for port in (8470, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise SystemExit("screenshots: no free port")


def schedule_of(task: str) -> int:
    return int(Schedule.get(Schedule.task == find_task(task).id).id)


async def shoot(out: Path, db: peewee.Database, db_path: Path) -> list[Path]:
    port = free_port()
    cfg = Config(db=db_path, grace=0.5, share_port=port, timezone=local_zone_name())
    app = T4oApp(cfg, db, options=RuntimeOptions(poll=0.05, grace=0.5, share=True, share_port=port),
                 watch_terminal=False)
    ticking, overdue = schedule_of("Test timing"), schedule_of("Overdue check")
    written: list[Path] = []

    def save(name: str) -> None:
        for inp in app.screen.query(Input):
            inp.cursor_blink = False  # the same picture on every run
        written.append(Path(app.save_screenshot(f"{name}.svg", str(out))))

    async def finished(run_id: int) -> bool:
        return (await asyncio.to_thread(get_run, db, run_id)).status not in ("queued", "running")

    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.engine_started, "the engine")
        # A failure for the dashboard, and a result list now rather than at its next half minute.
        first = [await asyncio.to_thread(enqueue_run, db, name) for name in ("Test that fails", "Result list")]
        for run_id in first:
            while not await finished(run_id):
                await pilot.pause(0.1)
        # The demo's every-5-seconds schedules have fired a few times: histories and results exist.
        while len(await asyncio.to_thread(list_occurrences, db, schedule_id=ticking)) < 3:
            await pilot.pause(0.2)
        await pilot.pause(1.2)
        save("dashboard")

        app.open_occurrences(ticking)
        await until(pilot, lambda: isinstance(app.screen, OccurrencesScreen) and app.screen.data is not None,
                    "the history")
        await pilot.pause(0.6)
        save("occurrences")
        await pilot.press("escape")

        app.open_schedule_editor(overdue)
        await until(pilot, lambda: isinstance(app.screen, ScheduleEditorScreen) and app.screen.checks > 0,
                    "the schedule editor")
        await pilot.pause(0.8)
        save("schedule-editor")
        await pilot.press("escape")

        await pilot.press("2")
        await pilot.pause(1.2)
        save("queue")

        app.open_run_log(first[1])
        await until(pilot, lambda: isinstance(app.screen, RunLogScreen) and app.screen.lines > 0, "the log")
        await pilot.pause(0.6)
        save("run-log")
        await pilot.press("escape")

        await pilot.press("3")
        await pilot.pause(1.0)
        task = await asyncio.to_thread(find_task, "Result list")
        app.screen.query_one(LiveTable).select_key(str(task.id))
        await pilot.pause(0.2)
        save("tasks")

        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, TaskEditorScreen), "the editor")
        await pilot.pause(0.5)
        save("task-editor")
        await pilot.press("escape")

        await pilot.press("4")
        await pilot.pause(1.5)
        save("shares")

        await pilot.press("5")
        await pilot.pause(1.5)
        save("event")
        # The class timing editor on the first class, a change typed: checked, its start window shown.
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ClassTimingScreen), "the class timing editor")
        editor = app.screen
        assert isinstance(editor, ClassTimingScreen)
        await editor.wait_checked()
        await pilot.press("tab", "tab", *"90s")
        await editor.wait_checked()
        await pilot.pause(0.3)
        save("class-timing")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the discard question")
        await pilot.click("#yes")
        await until(pilot, lambda: isinstance(app.screen, EventScreen), "the Event view again")
        await pilot.press("6")
        await pilot.pause(2.0)
        save("results")
        await pilot.press("7")
        await pilot.pause(1.5)
        save("station-data")
        await pilot.press("9")  # In forest: the runners out, longest out first
        await pilot.pause(1.5)
        save("in-forest")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    install_jobs(REGISTRY)  # an entry point: the engine runs the jobs it is handed
    with tempfile.TemporaryDirectory(prefix="t4o-screenshots-") as tmp:
        db_path = Path(tmp) / "demo.sqlite"
        db = open_database(db_path)
        build_demo(db, data_dir_for(db_path))
        if not prepare_demo(db, data_dir_for(db_path), say=lambda line: None):
            raise SystemExit("screenshots: the demo's preparation failed")
        for path in asyncio.run(shoot(args.out, db, db_path)):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        db.close()


if __name__ == "__main__":
    main()
