"""Shared fixtures: a real SQLite file per test, the CLI and headless workers as real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import peewee
import pytest

from t4o_tui.engine.job import install_jobs
from t4o_tui.jobs.registry import REGISTRY
from t4o_tui.store.db import open_database

# The tests are an entry point like the CLI: the engine runs (and tasks are checked against) the
# jobs it is handed.
install_jobs(REGISTRY)

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def pytest_configure(config: pytest.Config) -> None:
    # Hundreds of tests start `python -m t4o_tui` from the checkout. Where bytecode is not written
    # (PYTHONDONTWRITEBYTECODE, as some shells and CI images set), each of those processes would
    # compile the package from source again (~0.2 s of CPU each); compiled once here (the
    # controller, before the xdist workers start), every process reads the cached bytecode.
    # Silent: a read-only tree just keeps compiling per process, and a syntax error fails the tests.
    if not hasattr(config, "workerinput"):
        import compileall

        compileall.compile_dir(ROOT / "t4o_tui", quiet=2)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers per core (at most 16). About half of the suite's wall time is spent
    waiting on real processes, servers and timers, not on the CPU: on 2 cores, 4 workers took the
    suite from 479 s to 290 s, and three runs beside a CPU burner passed (287-312 s, issue 12)."""
    return min(16, 2 * (os.cpu_count() or 1))


# The longest tests (measured with --durations), each first in its own worker's share, so that no
# long test starts late and runs alone at the end while the other workers idle. A name here that no
# longer exists costs nothing; the other `slow` tests follow them, then the rest in file order.
LONGEST = (
    "test_two_day_event.py::test_two_day_event_from_the_cli",
    "test_two_day_event.py::test_bad_setup_input_is_one_line_naming_the_field_and_changes_nothing",
    "test_two_day_event.py::test_deleting_a_race_names_the_tasks_that_named_it",
    "test_long_jobs.py::test_a_large_start_file_is_parsed_while_schedules_runs_and_leases_go_on",
    "test_quality.py::test_clean[mypy]",
    "test_scheduler_processes.py::test_two_evaluators_for_ten_simulated_minutes_fire_each_time_once",
    "test_share_address.py::test_links_use_the_serving_process_port_and_a_second_process_names_it",
    "test_share_server.py::test_share_cli",
    "test_cli_edges.py::test_read_only_file_system",
    "test_disk_full.py::test_disk_full_fails_the_run_and_task_add_with_the_real_cause",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    if workers < 2:
        return

    def weight(item: pytest.Item) -> int:
        # LONGEST in its order (the first weighs most), then `slow`, then the rest.
        name = f"{item.path.name}::{item.name}"
        for rank, longest in enumerate(LONGEST):
            if name == longest or name.startswith(longest + "["):
                return 1 + len(LONGEST) - rank
        return 1 if item.get_closest_marker("slow") else 0

    heavy = sorted((i for i in items if weight(i)), key=weight, reverse=True)
    light = [i for i in items if not weight(i)]
    # `--dist worksteal` first hands worker k the next len(left) // (workers - k) tests in this
    # order (idle workers then steal from the end of the others' shares): each share starts with
    # its turn of the heavy tests.
    shares: list[list[pytest.Item]] = [heavy[k::workers] for k in range(workers)]
    left = len(items)
    for k, share in enumerate(shares):
        size = left // (workers - k)
        left -= size
        take = max(0, size - len(share))
        share.extend(light[:take])
        del light[:take]
    shares[-1].extend(light)
    items[:] = [item for share in shares for item in share]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "event.sqlite"


@pytest.fixture
def db(db_path: Path) -> Iterator[peewee.Database]:
    database = open_database(db_path)
    yield database
    database.close()


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("T4O_TUI_")}
    # A config file of the test's own, so the developer's real one never leaks in.
    env["T4O_TUI_CONFIG"] = str(tmp_path / "config.toml")
    env.update(extra)
    return env


def write_config(tmp_path: Path, text: str) -> None:
    (tmp_path / "config.toml").write_text(text)


@pytest.fixture
def cli(db_path: Path, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `t4o-tui --db <test db> ARGS` as a real process."""

    def run(*args: str, db: Path | None = None, timeout: float = 60, check: bool = False) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "t4o_tui", "--db", str(db or db_path), *args]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=child_env(tmp_path))
        if check and res.returncode != 0:
            raise AssertionError(f"{cmd} failed ({res.returncode}): {res.stderr}")
        return res

    return run


class Worker:
    """A `t4o-tui --worker` process on the test database."""

    def __init__(self, db_path: Path, tmp_path: Path, name: str, env: dict[str, str] | None = None) -> None:
        self.log_path = tmp_path / f"{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()/kill()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "t4o_tui", "--db", str(db_path), "--worker"],
            stdout=self._log, stderr=subprocess.STDOUT, env=child_env(tmp_path, **(env or {})),
        )

    def wait_started(self, timeout: float = 20) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if "runtime started" in self.log_path.read_text():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.log_path.read_text()}")
            time.sleep(0.05)
        raise AssertionError(f"worker did not start:\n{self.log_path.read_text()}")

    def signal(self, sig: int) -> None:
        self.wait_started()
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            # Signal a worker that is up (its readiness line), never one still starting: a SIGTERM
            # before Python has run a line of the program kills it by signal whatever it does.
            self.wait_started(timeout)
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        self._log.close()

    @property
    def output(self) -> str:
        return self.log_path.read_text()


@pytest.fixture
def workers(db_path: Path, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(name: str = "worker", env: dict[str, str] | None = None) -> Worker:
        w = Worker(db_path, tmp_path, name, env)
        started.append(w)
        return w

    yield start
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait(10)
        # Shown by pytest only when the test failed: what each worker said.
        print(f"--- worker log {w.log_path.name} ---\n{w.output}")


def wait_for(predicate: Callable[[], object], timeout: float = 30, what: str = "condition",
             state: Callable[[], object] | None = None) -> None:
    """Poll `predicate` until true; on timeout fail naming `what` and, if given, `state()` then."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}" + (f" (then: {state()})" if state else ""))


def run_job(db: peewee.Database, db_path: Path, job: str, settings: dict | None = None, *, name: str | None = None,
            timeout: float = 60) -> object:
    """Create (or reuse) a task of `job`, run it once through a real runtime, return its RunRow."""
    import asyncio

    from t4o_tui.config import data_dir_for
    from t4o_tui.engine.runs import enqueue_run, get_run
    from t4o_tui.engine.runtime import Runtime, RuntimeOptions
    from t4o_tui.engine.tasks import create_task, update_task
    from t4o_tui.store.models import Task

    name = name or f"{job} task"
    if Task.get_or_none(Task.name == name) is None:
        create_task(name, job, settings or {})
    elif settings is not None:
        update_task(name, settings=settings, replace_settings=True)
    rid = enqueue_run(db, name)

    async def main() -> None:
        rt = Runtime(db, data_dir=data_dir_for(db_path), options=RuntimeOptions(poll=0.02, scheduler=False))
        await rt.start()
        try:
            end = time.monotonic() + timeout
            while (await asyncio.to_thread(get_run, db, rid)).status in ("queued", "running"):
                if time.monotonic() > end:
                    raise AssertionError(f"run of {job} did not finish")
                await asyncio.sleep(0.02)
        finally:
            await rt.stop()

    asyncio.run(main())
    db.connect(reuse_if_open=True)
    return get_run(db, rid)


def iof_examples() -> Path:
    """The IOF examples folder, or a skip with the reason."""
    folder = SHARED / "iof" / "examples"
    if not folder.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"IOF examples not found at {folder}: CI runs with ../shared beside the project")
        pytest.skip(f"IOF examples not found at {folder} (the project's ../shared/iof)")
    return folder
