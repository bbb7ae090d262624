"""Bench helper: run a job once through the real runtime and time it (from claim to finish)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from t4o_tui.config import data_dir_for
from t4o_tui.engine.job import install_jobs
from t4o_tui.engine.runs import enqueue_run, get_run
from t4o_tui.engine.runtime import Runtime, RuntimeOptions
from t4o_tui.engine.tasks import create_task, update_task
from t4o_tui.jobs.registry import REGISTRY
from t4o_tui.store.models import Task

# A bench is an entry point: it hands the engine the jobs it runs.
install_jobs(REGISTRY)


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
