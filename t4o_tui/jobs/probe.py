"""Test (id `test`): a probe job for trying the engine — sleeps while reporting progress, may fail, may write a file."""

from __future__ import annotations

import time

from t4o_tui.engine.job import Job, JobError, RunContext
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.store.models import TestMark


class ProbeJob(Job):
    id = "test"
    title = "Test"
    category = "Other"
    description = (
        "Tries the engine: sleeps for the given seconds while reporting progress, then optionally "
        "fails, writes a small text file, or leaves a mark row in the database (rolled back when "
        "the run fails or is cancelled)."
    )
    settings = Schema(
        (
            Setting("seconds", "number", "Seconds", "How long the run takes.", default=1.0, min=0, max=86400),
            Setting("fail", "boolean", "Fail", "Fail at the end with a clear reason.", default=False),
            Setting("write_file", "boolean", "Write file", "Produce a small text file.", default=False),
            Setting("mark", "boolean", "Leave a mark", "Write a mark row in the run's transaction.", default=False),
        )
    )
    sub_minute = True
    idempotent = True
    timeout = 3600.0
    produces = "text/plain"

    def run(self, ctx: RunContext) -> None:
        seconds = float(ctx.settings.get("seconds", 1.0))
        if seconds > 0:
            ctx.info(f"sleeping {seconds:g} s")
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                ctx.sleep(min(left, 0.1))
                ctx.progress(1 - max(left - 0.1, 0) / seconds, f"{max(left - 0.1, 0):.1f} s left")
        ctx.progress(1.0)
        if ctx.settings.get("mark"):
            with ctx.transaction():
                TestMark.create(run_id=ctx.run_id, created_at=time.time())
                ctx.info("mark row written")
                if ctx.settings.get("fail"):
                    raise JobError("Test failure requested (setting 'fail')")
        if ctx.settings.get("fail"):
            raise JobError("Test failure requested (setting 'fail')")
        if ctx.settings.get("write_file"):
            with ctx.output(f"test-run-{ctx.run_id}.txt", "text/plain") as fh:
                fh.write(f"Test run {ctx.run_id} of task {ctx.task_name} at {time.time():.3f}\n".encode())
            ctx.info("wrote the test file")
