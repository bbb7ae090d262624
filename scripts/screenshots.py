"""Write the SVG screenshots in screenshots/ from the demo event: `python scripts/screenshots.py`.

Builds the demo database in a temporary folder, lets the engine inside the app run a few demo
runs (one still running, one failed), and saves each main screen at 100x30.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from t4o_tui.config import Config
from t4o_tui.demo import build_demo
from t4o_tui.engine.runs import enqueue_run, get_run
from t4o_tui.engine.runtime import RuntimeOptions
from t4o_tui.engine.tasks import find_task
from t4o_tui.store.db import open_database
from t4o_tui.tui.app import T4oApp
from t4o_tui.tui.screens.run_log import RunLogScreen
from t4o_tui.tui.screens.task_editor import TaskEditorScreen
from t4o_tui.tui.widgets.live_table import LiveTable

ROOT = Path(__file__).resolve().parent.parent
SIZE = (100, 30)


async def until(pilot: Pilot[int], predicate: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        await pilot.pause(0.05)
    raise SystemExit(f"screenshots: timed out waiting for {what}")


async def shoot(out: Path, folder: Path) -> list[Path]:
    db_path = folder / "demo.sqlite"
    db = open_database(db_path)
    build_demo(db)
    first = [enqueue_run(db, name) for name in ("Backup", "Test quick", "Test that fails", "Test direct")]
    app = T4oApp(Config(db=db_path, grace=0.5), db, options=RuntimeOptions(poll=0.05, grace=0.5),
                 watch_terminal=False)
    written: list[Path] = []

    def save(name: str) -> None:
        for inp in app.screen.query(Input):
            inp.cursor_blink = False  # the same picture on every run
        written.append(Path(app.save_screenshot(f"{name}.svg", str(out))))

    async def finished(run_id: int) -> bool:
        return (await asyncio.to_thread(get_run, db, run_id)).status not in ("queued", "running")

    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.engine_started, "the engine")
        for run_id in first:
            while not await finished(run_id):
                await pilot.pause(0.1)
        slow = await asyncio.to_thread(enqueue_run, db, "Test slow with file")
        await asyncio.to_thread(enqueue_run, db, "Test quick")
        while ((await asyncio.to_thread(get_run, db, slow)).progress or 0.0) < 0.3:
            await pilot.pause(0.1)

        await pilot.pause(1.2)
        save("dashboard")

        await pilot.press("2")
        await pilot.pause(1.2)
        app.screen.query_one(LiveTable).select_key(str(slow))
        await pilot.pause(0.2)
        save("queue")

        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, RunLogScreen) and app.screen.lines > 0, "the log")
        await pilot.pause(0.6)
        save("run-log")
        await pilot.press("escape")

        await pilot.press("3")
        await pilot.pause(1.0)
        task = await asyncio.to_thread(find_task, "Test slow with file")
        app.screen.query_one(LiveTable).select_key(str(task.id))
        await pilot.pause(0.2)
        save("tasks")

        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, TaskEditorScreen), "the editor")
        await pilot.pause(0.5)
        save("task-editor")
        await pilot.press("escape")
    db.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="t4o-screenshots-") as tmp:
        for path in asyncio.run(shoot(args.out, Path(tmp))):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
