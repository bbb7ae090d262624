"""The one place where jobs are registered."""

from __future__ import annotations

from t4o_tui.jobs.backup import BackupJob
from t4o_tui.jobs.base import Job
from t4o_tui.jobs.test import TestJob

JOBS: dict[str, type[Job]] = {job.id: job for job in (TestJob, BackupJob)}


class UnknownJob(LookupError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"unknown job '{job_id}' (known: {', '.join(sorted(JOBS))})")
        self.job_id = job_id


def get_job(job_id: str) -> type[Job]:
    try:
        return JOBS[job_id]
    except KeyError:
        raise UnknownJob(job_id) from None
