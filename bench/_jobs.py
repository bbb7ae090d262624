"""Bench helpers: run a job once through the real runtime and time it (from claim to finish); a
synthetic event imported and drawn through the real jobs."""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from t4o_tui.config import data_dir_for
from t4o_tui.engine.job import install_jobs
from t4o_tui.engine.runs import enqueue_run, get_run
from t4o_tui.engine.runtime import Runtime, RuntimeOptions
from t4o_tui.engine.tasks import create_task, update_task
from t4o_tui.jobs.registry import REGISTRY
from t4o_tui.orienteering import synthetic
from t4o_tui.store.db import open_database
from t4o_tui.store.models import Class, Task

# A bench is an entry point: it hands the engine the jobs it runs.
install_jobs(REGISTRY)
REGISTRY.load_all()  # as the worker does: no job is imported inside a measured run


def run_job(db: Any, db_path: Path, job: str, settings: dict[str, Any], name: str | None = None) -> tuple[Any, float]:
    """(RunRow, seconds the run took as recorded by the engine)."""
    name = name or job
    if Task.get_or_none(Task.name == name) is None:
        create_task(name, job, settings, timeout=3600)
    else:
        update_task(name, settings=settings, replace_settings=True)
    rid = enqueue_run(db, name)

    async def main() -> None:
        rt = Runtime(db, data_dir=data_dir_for(db_path), options=RuntimeOptions(poll=0.01, scheduler=False, retention=10**6))
        await rt.start()
        while (await asyncio.to_thread(get_run, db, rid)).status in ("queued", "running"):
            await asyncio.sleep(0.01)
        await rt.stop()

    asyncio.run(main())
    db.connect(reuse_if_open=True)
    run = get_run(db, rid)
    if run.status != "succeeded":
        raise SystemExit(f"{job} failed: {run.error}")
    return run, (run.finished_at or 0) - (run.started_at or 0)


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def drawn_event(prefix: str, first: datetime, zone: ZoneInfo, *, seed: int, entries: int, start_interval: float,
                max_time: float) -> tuple[Path, Any, Path]:
    """A synthetic event of `entries` in a new temporary folder, imported (entries, courses), every
    class starting at `first` every `start_interval` s with bibs by class, and drawn (create-starts,
    assign-starts) through the real jobs: (the folder, the database, its path)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    ev = synthetic.make_event(seed=seed, entries=entries, date=first.date(), first_start=first, tz=zone)
    (tmp / "entries.xml").write_bytes(synthetic.entry_list_xml(ev))
    (tmp / "courses.xml").write_bytes(synthetic.course_data_xml(ev))
    db_path = tmp / "event.sqlite"
    db = open_database(db_path)
    run_job(db, db_path, "import-entries", {"file": str(tmp / "entries.xml")})
    run_job(db, db_path, "import-courses", {"file": str(tmp / "courses.xml")})
    with db.atomic():
        for i, c in enumerate(Class.select().order_by(Class.name)):
            c.first_start, c.start_interval, c.bib_start, c.max_time = (first.timestamp(), start_interval,
                                                                        10000 * (i + 1), max_time)
            c.save()
    run_job(db, db_path, "create-starts", {})
    run_job(db, db_path, "assign-starts", {"seed": "1"})
    return tmp, db, db_path
