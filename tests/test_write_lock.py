"""File imports never hold the write lock for long: they write in committed steps of a bounded size
(jobs/steps.py), other writers get the lock between steps, and a run stopped mid-way (cancel, a
killed worker) leaves what its log says and is finished by running it again, with nothing doubled.

No wall-clock bound is asserted: each transaction's rows are counted (sqlite3's total_changes
before and after it), and another connection's writes are seen landing between the steps.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from t4o_tui.engine import executor
from t4o_tui.engine.runs import enqueue_run, get_run
from t4o_tui.engine.tasks import create_task
from t4o_tui.jobs import create_starts, import_entries
from t4o_tui.orienteering.synthetic import entry_list_xml, make_event
from t4o_tui.store.models import Event, Race, Run, RunLog, Start

from conftest import run_job, wait_for, write_config


def _start_file(path: Path, rows: int) -> Path:
    with path.open("w") as fh:
        fh.write("CLASS NAME;BIB NO;START TIME\n")
        for i in range(rows):
            fh.write(f"H{i % 40};{i + 1};{10 + i // 36000:02d}:{(i // 600) % 60:02d}:{(i // 10) % 60:02d}\n")
    return path


def _race() -> None:
    event = Event.create(name="Big", timezone="UTC")
    Race.create(event=event, name="Day 1", race_number=1, date="2027-06-12")


@pytest.fixture
def rows_per_transaction(monkeypatch) -> Iterator[list[int]]:
    """Rows each run transaction changed (its connection's total_changes after minus before)."""
    counted: list[int] = []
    plain = executor.EngineRunContext.transaction

    @contextmanager
    def counting(self):  # type: ignore[no-untyped-def]
        with plain(self) as tx:
            conn = self.db.connection()
            before = conn.total_changes
            try:
                yield tx
            finally:
                counted.append(conn.total_changes - before)

    monkeypatch.setattr(executor.EngineRunContext, "transaction", counting)
    yield counted


class Probe(threading.Thread):
    """Another writer: takes the write lock again and again while a run imports, and notes how many
    starts it saw each time it held it."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.conn = sqlite3.connect(path, timeout=120, isolation_level=None, check_same_thread=False)
        self.stop = threading.Event()
        self.seen: list[int] = []

    def run(self) -> None:
        while not self.stop.is_set():
            self.conn.execute("BEGIN IMMEDIATE")
            self.seen.append(self.conn.execute("SELECT count(*) FROM start").fetchone()[0])
            self.conn.execute("ROLLBACK")
            self.stop.wait(0.002)


def test_a_large_start_file_is_written_in_bounded_steps_and_other_writers_get_the_lock_between(
        db, db_path, tmp_path, rows_per_transaction):
    _race()
    rows = 30_000
    big = _start_file(tmp_path / "starts.csv", rows)
    probe = Probe(db_path)
    probe.start()
    try:
        run = run_job(db, db_path, "create-starts", {"source": "csv", "file": str(big)}, timeout=300)
    finally:
        probe.stop.set()
        probe.join()
    assert run.status == "succeeded", run.error
    assert Start.select().count() == rows
    step = create_starts.START_STEP
    # The classes' step (40 new classes), then the starts, START_STEP rows at most per transaction.
    assert max(rows_per_transaction) <= step, rows_per_transaction
    assert sum(1 for n in rows_per_transaction if n == step) == rows // step
    # Another writer held the lock while the import was half done, more than once.
    assert len({n for n in probe.seen if 0 < n < rows}) >= 2, sorted(set(probe.seen))


def test_entries_and_the_runners_of_a_start_list_are_written_in_bounded_steps(db, db_path, tmp_path, rows_per_transaction):
    ev = make_event(seed=3, entries=3000)
    f = tmp_path / "entries.xml"
    f.write_bytes(entry_list_xml(ev))
    run = run_job(db, db_path, "import-entries", {"file": str(f)}, timeout=300)
    assert run.status == "succeeded", run.error
    entry_steps = [n for n in rows_per_transaction if n > 0]
    # A row writes its entry, person (and identifier), club and card: a handful of rows each. Steps
    # are matched before their transaction and sized by the time they hold the lock: the first by
    # FIRST_STEP_WRITES statements (a statement writes a row), none over ENTRY_STEP rows of the file.
    assert len(entry_steps) >= 2, entry_steps
    assert entry_steps[0] <= import_entries.FIRST_STEP_WRITES + 10, entry_steps
    assert max(entry_steps) <= import_entries.ENTRY_STEP * 8, entry_steps
    assert sum(entry_steps) >= 3000 * 4  # every entry with its person, identifier and card
    rows_per_transaction.clear()
    again = run_job(db, db_path, "import-entries", {"file": str(f)}, timeout=300)
    assert again.status == "succeeded", again.error
    assert max(rows_per_transaction) <= import_entries.ENTRY_STEP * 8


@pytest.mark.slow
def test_a_cancelled_import_leaves_what_its_log_says_and_a_rerun_finishes_it_without_doubles(db, workers, cli, tmp_path):
    _race()
    rows = 200_000
    big = _start_file(tmp_path / "starts.csv", rows)
    create_task("Big starts", "create-starts", {"source": "csv", "file": str(big)}, timeout=600)
    w = workers()
    w.wait_started()
    rid = enqueue_run(db, "Big starts")
    wait_for(lambda: Start.select().count() > 0, 120, "the first steps written")
    res = cli("cancel", str(rid))
    assert res.returncode == 0, res.stderr
    wait_for(lambda: get_run(db, rid).status not in ("queued", "running"), 60, "the run to stop")
    assert get_run(db, rid).status == "cancelled"
    log = "\n".join(r.message for r in RunLog.select().where(RunLog.run == rid))
    said = re.search(r"stopped after writing (\d+) of (\d+) start rows in (\d+) committed steps", log)
    assert said, log
    written, total = int(said.group(1)), int(said.group(2))
    assert total == rows and 0 < written < rows
    assert Start.select().count() == written  # exactly what the log says: the step under way was undone
    again = enqueue_run(db, "Big starts")
    wait_for(lambda: get_run(db, again).status not in ("queued", "running"), 300, "the re-run")
    assert get_run(db, again).status == "succeeded", get_run(db, again).error
    _no_doubles(db, rows)
    assert w.stop() == 0


@pytest.mark.slow
def test_a_worker_killed_mid_import_is_requeued_and_its_rerun_leaves_no_doubles(db, workers, tmp_path):
    write_config(tmp_path, "[engine]\nlease = 3\ngrace = 1\n")
    _race()
    rows = 200_000
    big = _start_file(tmp_path / "starts.csv", rows)
    create_task("Big starts", "create-starts", {"source": "csv", "file": str(big)}, timeout=600)
    first = workers("first")
    first.wait_started()
    rid = enqueue_run(db, "Big starts")
    wait_for(lambda: Start.select().count() > 0, 120, "the first steps written")
    first.kill()  # SIGKILL in the middle of the writes: no goodbye, no rollback of the committed steps
    left = Start.select().count()
    assert 0 < left < rows
    second = workers("second")
    second.wait_started()
    # The orphan's lease runs out; Create Starts is idempotent, so it is requeued and run again.
    wait_for(lambda: get_run(db, rid).status not in ("queued", "running"), 300, "the requeued run to finish")
    run = Run.get_by_id(rid)
    assert (run.status, run.attempts) == ("succeeded", 2), run.error
    _no_doubles(db, rows)
    assert second.stop() == 0


def _no_doubles(db, rows: int) -> None:
    conn = db.connection()
    total, distinct = conn.execute("SELECT count(*), count(DISTINCT class_id || '/' || bib) FROM start").fetchone()
    assert (total, distinct) == (rows, rows)


def _result_list(n: int) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<ResultList xmlns="http://www.orienteering.org/datastandard/3.0" '
             'iofVersion="3.0" status="Complete"><Event><Name>Big</Name><StartTime><Date>2027-06-12</Date></StartTime></Event>']
    for c in range(10):
        parts.append(f"<ClassResult><Class><Name>H{c}</Name></Class>")
        for j in range(n // 10):
            k, t = c * n + j, 1800 + j
            parts.append(f"<PersonResult><Person><Id>P{k}</Id><Name><Family>F{k}</Family><Given>G{k}</Given></Name></Person>"
                         f"<Organisation><Name>Club {k % 30}</Name></Organisation><Result>"
                         f"<StartTime>2027-06-12T10:00:00+00:00</StartTime><Time>{t}</Time><Position>{j + 1}</Position>"
                         f"<Status>OK</Status><ControlCard>{100000 + k}</ControlCard></Result></PersonResult>")
        parts.append("</ClassResult>")
    return "".join(parts + ["</ResultList>"]).encode()


def test_results_are_written_in_bounded_steps(db, db_path, tmp_path, rows_per_transaction):
    from t4o_tui.jobs import import_results
    from t4o_tui.store.models import Result

    _race()
    f = tmp_path / "results.xml"
    f.write_bytes(_result_list(3000))
    run = run_job(db, db_path, "import-results", {"file": str(f), "race": 1}, timeout=300)
    assert run.status == "succeeded", run.error
    assert Result.select().count() == 3000
    assert max(rows_per_transaction) <= max(import_entries.ENTRY_STEP * 8, import_results.RESULT_STEP)
    assert sum(1 for n in rows_per_transaction if n > 0) >= 1 + 3000 // import_results.RESULT_STEP


def test_relay_teams_are_written_in_bounded_steps_and_again_change_nothing(db, db_path, tmp_path, rows_per_transaction):
    from t4o_tui.jobs import relay_jobs
    from t4o_tui.store.models import Team, TeamMember

    teams = 300
    f = tmp_path / "relay.csv"
    with f.open("w") as fh:
        fh.write("TEAM NAME;BIB NO;ORGANISATION NAME;CLASS NAME;LEG;PERSON NAME;CARD NO\n")
        for t in range(teams):
            for leg in range(1, 8):
                fh.write(f"Club {t} 1;{t + 1};Club {t};Jukola;{leg};Runner{t}x{leg} Fam{t}x{leg};{200000 + t * 10 + leg}\n")
    run = run_job(db, db_path, "import-relay-entries", {"file": str(f)}, timeout=300)
    assert run.status == "succeeded", run.error
    assert (Team.select().count(), TeamMember.select().count()) == (teams, teams * 7)
    # A team of seven writes its team, members, persons, entries, clubs and cards: under 60 rows.
    assert max(rows_per_transaction) <= relay_jobs.TEAM_STEP * 60, rows_per_transaction
    assert sum(1 for n in rows_per_transaction if n > 0) >= teams // relay_jobs.TEAM_STEP
    again = run_job(db, db_path, "import-relay-entries", {"file": str(f)}, timeout=300)
    assert again.status == "succeeded", again.error
    assert (Team.select().count(), TeamMember.select().count()) == (teams, teams * 7)


def test_no_full_garbage_collection_stalls_the_worker_while_an_import_holds_its_rows():
    import gc

    from t4o_tui.jobs.steps import long_lived_rows

    before = gc.get_threshold()
    full: list[int] = []

    def note(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(1)

    gc.callbacks.append(note)
    try:
        with long_lived_rows():
            with long_lived_rows():  # a second import at once (the other lane) leaves the first's rule alone
                pass
            assert gc.get_threshold()[2] > 10**8
            rows = [(i, str(i), [i]) for i in range(300_000)]  # several full collections' worth, plain
            assert len(rows) == 300_000
        assert full == []
    finally:
        gc.callbacks.remove(note)
    assert gc.get_threshold() == before


def test_let_go_empties_large_lists_and_dicts_a_slice_at_a_time():
    from t4o_tui.jobs.steps import LET_GO_SLICE, let_go

    rows = list(range(LET_GO_SLICE * 3 + 7))
    index = {i: str(i) for i in range(1000)}
    kept = rows  # a caller's reference sees the list emptied, not replaced
    let_go(rows, index)
    assert kept == [] and rows == [] and index == {}
