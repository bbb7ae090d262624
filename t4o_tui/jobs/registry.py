"""The one place where jobs are registered."""

from __future__ import annotations

from t4o_tui.engine.job import Job, JobRegistry
from t4o_tui.jobs.assign_cards import AssignCardsJob
from t4o_tui.jobs.assign_starts import AssignStartsJob
from t4o_tui.jobs.backup import BackupJob
from t4o_tui.jobs.create_starts import CreateStartsJob
from t4o_tui.jobs.event_data import reference_problems
from t4o_tui.jobs.import_card_readouts import ImportCardReadoutsJob
from t4o_tui.jobs.import_cards import ImportCardsJob
from t4o_tui.jobs.import_classes import ImportClassesJob
from t4o_tui.jobs.import_courses import ImportCoursesJob
from t4o_tui.jobs.import_entries import ImportEntriesJob
from t4o_tui.jobs.import_results import ImportResultsJob
from t4o_tui.jobs.live_results import LiveResultsJob
from t4o_tui.jobs.overdue_check import OverdueCheckJob
from t4o_tui.jobs.probe import ProbeJob
from t4o_tui.jobs.process_station_data import ProcessStationDataJob
from t4o_tui.jobs.radio_punches import RadioPunchesJob
from t4o_tui.jobs.relay_jobs import ImportRelayEntriesJob, PrepareRelayJob, RelayListJob
from t4o_tui.jobs.result_list import ResultListJob
from t4o_tui.jobs.si_readout import SIReadoutJob
from t4o_tui.jobs.simulated_timing import SimulatedTimingJob
from t4o_tui.jobs.split_results import SplitResultsJob
from t4o_tui.jobs.split_tickets import SplitTicketsJob
from t4o_tui.jobs.start_list import StartListJob
from t4o_tui.jobs.total_results import TotalResultsJob

JOBS: dict[str, type[Job]] = {
    job.id: job
    for job in (
        ImportClassesJob, ImportCoursesJob, ImportEntriesJob, ImportCardsJob, CreateStartsJob, AssignStartsJob,
        AssignCardsJob, StartListJob, SimulatedTimingJob, ImportCardReadoutsJob, RadioPunchesJob, ProcessStationDataJob,
        ResultListJob, TotalResultsJob, ImportResultsJob, SplitResultsJob, OverdueCheckJob, ProbeJob, BackupJob,
        LiveResultsJob, SIReadoutJob, SplitTicketsJob, ImportRelayEntriesJob, PrepareRelayJob, RelayListJob,
    )
}


#: What the entry points (cli, worker, TUI) hand the engine with t4o_tui.engine.job.install_jobs.
REGISTRY = JobRegistry(JOBS, check_references=reference_problems)
