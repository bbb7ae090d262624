"""The one place where jobs are registered.

Each job by id and where it lives: `JobTable` imports a job's module when the job is first asked
for, so a command that needs one job, or none, does not import all of them (tests/test_quality.py
checks each entry names the job of that id).
"""

from __future__ import annotations

from typing import Any

from t4o_tui.engine.job import JobRegistry, JobTable

JOBS = JobTable({
    "import-classes": "t4o_tui.jobs.import_classes:ImportClassesJob",
    "import-courses": "t4o_tui.jobs.import_courses:ImportCoursesJob",
    "import-entries": "t4o_tui.jobs.import_entries:ImportEntriesJob",
    "import-cards": "t4o_tui.jobs.import_cards:ImportCardsJob",
    "create-starts": "t4o_tui.jobs.create_starts:CreateStartsJob",
    "assign-starts": "t4o_tui.jobs.assign_starts:AssignStartsJob",
    "assign-cards": "t4o_tui.jobs.assign_cards:AssignCardsJob",
    "start-list": "t4o_tui.jobs.start_list:StartListJob",
    "test-timing": "t4o_tui.jobs.simulated_timing:SimulatedTimingJob",
    "import-card-readouts": "t4o_tui.jobs.import_card_readouts:ImportCardReadoutsJob",
    "radio-punches": "t4o_tui.jobs.radio_punches:RadioPunchesJob",
    "process-station-data": "t4o_tui.jobs.process_station_data:ProcessStationDataJob",
    "result-list": "t4o_tui.jobs.result_list:ResultListJob",
    "total-results": "t4o_tui.jobs.total_results:TotalResultsJob",
    "import-results": "t4o_tui.jobs.import_results:ImportResultsJob",
    "split-results": "t4o_tui.jobs.split_results:SplitResultsJob",
    "overdue-check": "t4o_tui.jobs.overdue_check:OverdueCheckJob",
    "test": "t4o_tui.jobs.probe:ProbeJob",
    "backup": "t4o_tui.jobs.backup:BackupJob",
    "live-results": "t4o_tui.jobs.live_results:LiveResultsJob",
    "si-readout": "t4o_tui.jobs.si_readout:SIReadoutJob",
    "split-tickets": "t4o_tui.jobs.split_tickets:SplitTicketsJob",
    "import-relay-entries": "t4o_tui.jobs.relay_jobs:ImportRelayEntriesJob",
    "prepare-relay": "t4o_tui.jobs.relay_jobs:PrepareRelayJob",
    "relay-list": "t4o_tui.jobs.relay_jobs:RelayListJob",
})


def reference_problems(settings: dict[str, Any]) -> list[str]:
    """t4o_tui.jobs.event_data.reference_problems, imported when a task's settings are first checked."""
    from t4o_tui.jobs.event_data import reference_problems as check

    return check(settings)


#: What the entry points (cli, worker, TUI) hand the engine with t4o_tui.engine.job.install_jobs.
REGISTRY = JobRegistry(JOBS, check_references=reference_problems)
