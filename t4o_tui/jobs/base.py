"""The job API as the jobs import it. Defined in `t4o_tui.engine.job`, beside the engine that runs
jobs: jobs import the engine, never the reverse."""

from __future__ import annotations

from t4o_tui.engine.job import Job, JobError, RunCancelled, RunContext

__all__ = ["Job", "JobError", "RunCancelled", "RunContext"]
