"""The one place where jobs are registered."""

from __future__ import annotations

from t4o_tui.jobs.assign_cards import AssignCardsJob
from t4o_tui.jobs.assign_starts import AssignStartsJob
from t4o_tui.jobs.backup import BackupJob
from t4o_tui.jobs.base import Job
from t4o_tui.jobs.create_starts import CreateStartsJob
from t4o_tui.jobs.import_card_readouts import ImportCardReadoutsJob
from t4o_tui.jobs.import_cards import ImportCardsJob
from t4o_tui.jobs.import_classes import ImportClassesJob
from t4o_tui.jobs.import_courses import ImportCoursesJob
from t4o_tui.jobs.import_entries import ImportEntriesJob
from t4o_tui.jobs.import_results import ImportResultsJob
from t4o_tui.jobs.overdue_check import OverdueCheckJob
from t4o_tui.jobs.process_station_data import ProcessStationDataJob
from t4o_tui.jobs.radio_punches import RadioPunchesJob
from t4o_tui.jobs.result_list import ResultListJob
from t4o_tui.jobs.split_results import SplitResultsJob
from t4o_tui.jobs.start_list import StartListJob
from t4o_tui.jobs.test import TestJob
from t4o_tui.jobs.test_timing import TestTimingJob

JOBS: dict[str, type[Job]] = {
    job.id: job
    for job in (
        ImportClassesJob, ImportCoursesJob, ImportEntriesJob, ImportCardsJob, CreateStartsJob, AssignStartsJob,
        AssignCardsJob, StartListJob, TestTimingJob, ImportCardReadoutsJob, RadioPunchesJob, ProcessStationDataJob,
        ResultListJob, ImportResultsJob, SplitResultsJob, OverdueCheckJob, TestJob, BackupJob,
    )
}


class UnknownJob(LookupError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"unknown job '{job_id}' (known: {', '.join(sorted(JOBS))})")
        self.job_id = job_id


def get_job(job_id: str) -> type[Job]:
    try:
        return JOBS[job_id]
    except KeyError:
        raise UnknownJob(job_id) from None
