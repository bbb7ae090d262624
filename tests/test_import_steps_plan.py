"""Import Entries matches each step's rows before the step's transaction, which then only checks and
writes (jobs/import_entries._Plan): the same database as matching inside the transaction, and
correct when another writer adds or changes rows between a step's matching and its writing.

Real SQLite files, real runs; the other writer is a second sqlite3 connection that commits while
the import is between a step's matching and its transaction (the step's pause, jobs/steps.py).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from t4o_tui.engine.runs import run_log
from t4o_tui.jobs import import_entries, steps
from t4o_tui.orienteering import iof
from t4o_tui.orienteering.entry_table import EntryRow
from t4o_tui.orienteering.iof_write import write_entry_list
from t4o_tui.orienteering.synthetic import make_event
from t4o_tui.store.db import open_database
from t4o_tui.store.models import Event, Race

from conftest import run_job

TABLES = {  # what an import writes, each table in a fixed order; entry without its timestamps
    "class": "SELECT id, race_id, name FROM class ORDER BY id",
    "organisation": "SELECT * FROM organisation ORDER BY id",
    "person": "SELECT * FROM person ORDER BY id",
    "person_identifier": "SELECT * FROM person_identifier ORDER BY type, value",
    "card": "SELECT * FROM card ORDER BY id",
    "entry": "SELECT id, race_id, class_id, person_id, organisation_id, identifier, identifier_type, status, bib, "
             "hand_edited FROM entry ORDER BY id",
    "entry_card": "SELECT * FROM entry_card ORDER BY entry_id, card_id",
}


def dump(path: Path, *, times: bool = False) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        out = {t: conn.execute(sql).fetchall() for t, sql in TABLES.items()}
        if times:
            out["entry times"] = conn.execute("SELECT id, created_at, updated_at FROM entry ORDER BY id").fetchall()
        return out
    finally:
        conn.close()


def entry_file(path: Path, n: int, seed: int = 5, change: Callable[[list[Any]], None] | None = None) -> list[EntryRow]:
    """A synthetic EntryList of `n` entries written to `path`; its rows as the import reads them."""
    ev = make_event(seed=seed, entries=n)
    records = list(ev.entries)
    if change:
        change(records)
    path.write_bytes(write_entry_list(ev.event, records, creator="test", classes=ev.classes,
                                      create_time=datetime(2026, 5, 1, tzinfo=UTC)))
    return import_entries.rows_from_entry_list(iof.read_entry_list(path.read_bytes()), "Eventor")


def log_of(db, run) -> list[str]:
    return [line.message for line in run_log(db, run.id)]


def assert_as_the_file_says(db_path: Path, rows: list[EntryRow]) -> None:
    """Each row of the file has exactly one entry, found by its entry id, whose person has the row's
    name and person id: nothing doubled, no entry with another runner's person."""
    conn = sqlite3.connect(db_path)
    try:
        total, distinct = conn.execute("SELECT count(*), count(DISTINCT identifier) FROM entry").fetchone()
        assert total == distinct == len(rows)
        assert conn.execute("SELECT count(*) FROM person").fetchone()[0] == len(rows)
        for row in rows:
            (typ, value), = row.person_identifiers.items()
            (etyp, eid), = row.entry_identifiers.items()
            got = conn.execute(
                "SELECT p.given, p.family, pi.type, pi.value FROM entry e JOIN person p ON p.id = e.person_id "
                "JOIN person_identifier pi ON pi.person_id = p.id WHERE e.identifier_type=? AND e.identifier=?",
                (etyp or "Eventor", eid)).fetchall()
            assert got == [(row.given_name, row.family_name, typ, value)], (row.line, got)
    finally:
        conn.close()


@pytest.fixture
def small_steps(monkeypatch) -> None:
    """Steps of at most 100 rows, so that a few hundred rows make several."""
    monkeypatch.setattr(import_entries, "ENTRY_STEP", 100)
    monkeypatch.setattr(import_entries, "FIRST_STEP_WRITES", 200)


@pytest.fixture
def between(monkeypatch) -> Iterator[list[Callable[[Any, Any, list[EntryRow]], None]]]:
    """Hooks called as each step is about to take the write lock, its rows matched already:
    hook(importer, the plan of the step (or the last plan made), the rows)."""
    hooks: list[Callable[[Any, Any, list[EntryRow]], None]] = []
    last: dict[str, Any] = {}
    plain_plan, plain_pause = import_entries._Importer._plan, steps.StepWriter._pause

    def plan(self, rows, lo, prog, w, writes_max, rows_max):  # type: ignore[no-untyped-def]
        last.update(importer=self, plan=plain_plan(self, rows, lo, prog, w, writes_max, rows_max), rows=rows)
        return last["plan"]

    def pause(self):  # type: ignore[no-untyped-def]
        plain_pause(self)
        if last:
            for hook in hooks:
                hook(last["importer"], last["plan"], last["rows"])

    monkeypatch.setattr(import_entries._Importer, "_plan", plan)
    monkeypatch.setattr(steps.StepWriter, "_pause", pause)
    yield hooks


class Other:
    """Another writer: its own connection, each statement committed at once."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA foreign_keys=ON")

    def insert(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        return int(self.conn.execute(sql, params).lastrowid or 0)

    def race(self) -> int:
        return int(self.conn.execute("SELECT id FROM race ORDER BY id LIMIT 1").fetchone()[0])


def test_matched_before_the_step_or_inside_it_the_database_is_the_same(db, db_path, tmp_path, monkeypatch):
    f = tmp_path / "entries.xml"
    rows = entry_file(f, 3000)
    run = run_job(db, db_path, "import-entries", {"file": str(f)}, timeout=300)
    assert run.status == "succeeded", run.error
    planned = dump(db_path)
    log = "\n".join(log_of(db, run))
    assert "entries: 3000 created, 0 updated, 0 unchanged" in log
    assert re.search(r"written in \d+ committed steps; the longest", log), log

    # The same file into a new database, each row matched inside the step's transaction (as on
    # PostgreSQL, and as every import did before).
    monkeypatch.setattr(import_entries._Importer, "_plans_ahead", lambda self, rows: False)
    other_path = tmp_path / "locked.sqlite"
    other = open_database(other_path)
    try:
        again = run_job(other, other_path, "import-entries", {"file": str(f)}, timeout=300)
        assert again.status == "succeeded", again.error
        assert "entries: 3000 created" in "\n".join(log_of(other, again))
    finally:
        other.close()
        open_database(db_path)  # the models bound to the test's database again
    locked = dump(other_path)
    assert {t: len(v) for t, v in planned.items()} == {t: len(v) for t, v in locked.items()}
    assert planned == locked  # ids too: handed out in the same order
    assert len(planned["entry"]) == len(planned["person"]) == len(planned["person_identifier"]) == len(rows)
    assert len(planned["card"]) == len(planned["entry_card"]) == sum(1 for r in rows if r.cards)
    assert_as_the_file_says(db_path, rows)


def test_the_same_file_again_changes_nothing(db, db_path, tmp_path):
    f = tmp_path / "entries.xml"
    rows = entry_file(f, 2000)
    first = run_job(db, db_path, "import-entries", {"file": str(f)}, timeout=300)
    assert first.status == "succeeded", first.error
    before = dump(db_path, times=True)
    again = run_job(db, db_path, "import-entries", {"file": str(f)}, timeout=300)
    assert again.status == "succeeded", again.error
    assert dump(db_path, times=True) == before
    log = "\n".join(log_of(db, again))
    assert "entries: 0 created, 0 updated, 2000 unchanged" in log
    assert "new: 0 classes, 0 clubs, 0 persons, 0 cards" in log
    assert_as_the_file_says(db_path, rows)


def test_rows_added_by_another_writer_between_matching_and_writing_are_found_not_doubled(
        db, db_path, tmp_path, small_steps, between):
    f = tmp_path / "entries.xml"
    rows = entry_file(f, 600)
    other = Other(db_path)
    made: dict[str, Any] = {}

    def card_desk(importer: Any, plan: Any, rows: list[EntryRow]) -> None:
        # Before the third step's writes: the runner of a row of that step registered at the card
        # desk meanwhile (a person with the row's person id, an entry, a club, a rental card), taking
        # the ids the step handed out.
        if made or plan.lo < 200:
            return
        row = rows[plan.lo + 1]
        (typ, value), = row.person_identifiers.items()
        made["line"], made["planned ids"] = row.line, dict(importer.state[0])
        made["club"] = other.insert("INSERT INTO organisation(name) VALUES ('Card desk club')")
        made["person"] = other.insert("INSERT INTO person(given, family) VALUES (?, ?)", (row.given_name, row.family_name))
        other.insert("INSERT INTO person_identifier(person_id, type, value) VALUES (?, ?, ?)", (made["person"], typ, value))
        made["card"] = other.insert("INSERT INTO card(number, card_type, rental) VALUES ('9100001', 'SI', 1)")
        made["entry"] = other.insert(
            "INSERT INTO entry(race_id, person_id, organisation_id, status, created_at, updated_at) "
            "VALUES (?, ?, ?, 'entered', ?, ?)", (other.race(), made["person"], made["club"], time.time(), time.time()))

    between.append(card_desk)
    run = run_job(db, db_path, "import-entries", {"file": str(f)}, timeout=300)
    assert run.status == "succeeded", run.error
    assert made, "the other writer never ran"
    # The other writer took ids the plan had handed out: the plan was dropped, not written.
    assert made["person"] == made["planned ids"]["person"] + 1
    assert made["entry"] == made["planned ids"]["entry"] + 1
    lines = log_of(db, run)
    log = "\n".join(lines)
    assert sum("matched again on what it holds now" in line for line in lines) == 1, log
    assert "entries: 599 created, 1 updated, 0 unchanged" in log
    assert "1 by person id" in log
    # Each row's log line once: the dropped plan's lines were not said.
    created = [line for line in lines if line.startswith("created entry: ")]
    assert len(created) == len(set(created)) == 599
    assert_as_the_file_says(db_path, rows)
    conn = sqlite3.connect(db_path)
    try:
        # The card desk's rows are there with their ids: its entry is the row's, now with the file's id.
        line_row = next(r for r in rows if r.line == made["line"])
        (etyp, eid), = line_row.entry_identifiers.items()
        assert conn.execute("SELECT id, person_id FROM entry WHERE identifier=?", (eid,)).fetchone() == (
            made["entry"], made["person"])
        assert conn.execute("SELECT name FROM organisation WHERE id=?", (made["club"],)).fetchone() == ("Card desk club",)
        assert conn.execute("SELECT number, rental FROM card WHERE id=?", (made["card"],)).fetchone() == ("9100001", 1)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


@pytest.fixture
def loads(monkeypatch) -> list[tuple[bool, bool]]:
    """Each load of the importer's index: (whole, inside a step's transaction)."""
    seen: list[tuple[bool, bool]] = []
    in_step: list[bool] = []
    plain_load, plain_step = import_entries._Importer._load, steps.StepWriter.step

    def load(self, ix=None, since=None):  # type: ignore[no-untyped-def]
        seen.append((since is None, bool(in_step)))
        return plain_load(self, ix, since)

    def step(self, write, what=None, rows=0):  # type: ignore[no-untyped-def]
        in_step.append(True)
        try:
            return plain_step(self, write, what, rows)
        finally:
            in_step.pop()

    monkeypatch.setattr(import_entries._Importer, "_load", load)
    monkeypatch.setattr(steps.StepWriter, "step", step)
    return seen


def test_a_writer_that_keeps_adding_rows_costs_each_step_one_retry_and_no_whole_load_in_the_lock(
        db, db_path, tmp_path, small_steps, between, loads, monkeypatch):
    monkeypatch.setattr(import_entries, "LOCKED_STEP", 100)
    f = tmp_path / "entries.xml"
    rows = entry_file(f, 300)
    other = Other(db_path)
    clubs: list[int] = []
    # Before every step: a club added (the card desk registering runners one by one). Each step
    # matched ahead is dropped once; matched again inside its transaction, which loads only the
    # rows added since the index was loaded (never the whole index while it holds the lock).
    between.append(lambda importer, plan, rows: clubs.append(other.insert(
        "INSERT INTO organisation(name) VALUES (?)", (f"Club {len(clubs)}",))))
    run = run_job(db, db_path, "import-entries", {"file": str(f)}, timeout=300)
    assert run.status == "succeeded", run.error
    lines = log_of(db, run)
    log = "\n".join(lines)
    said = re.search(r"written in (\d+) committed steps \((\d+) worked out again", log)
    assert said, log
    assert int(said.group(1)) == 3 and int(said.group(2)) == 3
    assert (True, True) not in loads, loads  # no whole load inside a step
    assert loads.count((False, True)) == 3  # the added rows, in each step
    assert "entries: 300 created, 0 updated" in log
    created = [line for line in lines if line.startswith("created entry: ")]
    assert len(created) == len(set(created)) == 300
    assert_as_the_file_says(db_path, rows)
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute(f"SELECT count(*) FROM organisation WHERE id IN ({','.join(map(str, clubs))}) "
                            "AND name LIKE 'Club %'").fetchone()[0] == len(clubs)
    finally:
        conn.close()


def test_a_writer_that_changes_entries_before_every_step_cannot_keep_the_import_from_ending(
        db, db_path, tmp_path, small_steps, between, loads, monkeypatch):
    monkeypatch.setattr(import_entries, "LOCKED_STEP", 100)
    f = tmp_path / "entries.xml"
    rows = entry_file(f, 300)
    other = Other(db_path)
    bibs: list[int] = []

    def by_hand(importer: Any, plan: Any, rows: list[EntryRow]) -> None:
        # Once the first step is written, before every step: the first entry's bib changed at the TUI.
        if other.conn.execute("SELECT count(*) FROM entry").fetchone()[0]:
            bibs.append(other.conn.execute("UPDATE entry SET bib=? WHERE id=1", (str(900 + len(bibs)),)).rowcount)

    between.append(by_hand)
    run = run_job(db, db_path, "import-entries", {"file": str(f)}, timeout=300)
    assert run.status == "succeeded", run.error
    log = "\n".join(log_of(db, run))
    said = re.search(r"written in (\d+) committed steps \((\d+) worked out again", log)
    assert said, log
    # Each step after the first: dropped RELOAD_IN_LOCK_AFTER times, then the index loaded in the step.
    later = int(said.group(1)) - 1
    assert later >= 2 and int(said.group(2)) == later * import_entries.RELOAD_IN_LOCK_AFTER
    assert loads.count((True, True)) == later
    assert set(bibs) == {1} and len(bibs) == later * (import_entries.RELOAD_IN_LOCK_AFTER + 1)
    assert "entries: 300 created, 0 updated" in log
    assert_as_the_file_says(db_path, rows)
    conn = sqlite3.connect(db_path)
    try:  # the hand's last bib stays
        assert conn.execute("SELECT bib FROM entry WHERE id=1").fetchone() == (str(900 + len(bibs) - 1),)
    finally:
        conn.close()


def test_an_entry_edited_by_hand_between_matching_and_writing_is_not_overwritten(
        db, db_path, tmp_path, small_steps, between):
    f = tmp_path / "entries.xml"
    rows = entry_file(f, 300)
    first = run_job(db, db_path, "import-entries", {"file": str(f)}, timeout=300)
    assert first.status == "succeeded", first.error
    # The file again with the first runner in another class: the import would update that entry.
    first_class = rows[0].class_name
    moved_to = next(r.class_name for r in rows if r.class_name != first_class)

    def move_first(records: list[Any]) -> None:
        records[0] = replace(records[0], class_names=(moved_to,))

    changed = tmp_path / "changed.xml"
    entry_file(changed, 300, change=move_first)
    other = Other(db_path)
    (etyp, eid), = rows[0].entry_identifiers.items()
    edited: list[int] = []

    def by_hand(importer: Any, plan: Any, rows: list[EntryRow]) -> None:
        # Meanwhile at the TUI: the first runner's bib set by hand.
        if not edited and plan.lo == 0:
            edited.append(other.conn.execute("UPDATE entry SET bib='777', hand_edited=1, updated_at=? WHERE identifier=?",
                                             (time.time(), eid)).rowcount)

    between.append(by_hand)
    run = run_job(db, db_path, "import-entries", {"file": str(changed)}, timeout=300)
    assert run.status == "succeeded", run.error
    assert edited == [1]
    log = "\n".join(log_of(db, run))
    assert "matched again on what it holds now" in log
    assert f"{rows[0].given_name} {rows[0].family_name}: edited by hand, not overwritten" in log
    assert "0 created, 0 updated, 299 unchanged, 1 edited by hand (kept)" in log
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("SELECT e.bib, c.name FROM entry e JOIN class c ON c.id = e.class_id WHERE e.identifier=?",
                            (eid,)).fetchone() == ("777", first_class)
    finally:
        conn.close()


def test_a_run_cancelled_while_a_step_is_matched_keeps_its_committed_steps_and_a_rerun_finishes(
        db, db_path, tmp_path, small_steps, between):
    f = tmp_path / "entries.xml"
    rows = entry_file(f, 500)
    at: list[int] = []

    def cancel(importer: Any, plan: Any, rows: list[EntryRow]) -> None:
        # The admin cancels while the step from row 250 on is matched: that step is not written.
        if not at and plan.lo >= 250:
            at.append(plan.lo)
            importer.ctx.request_stop("cancel")

    between.append(cancel)
    run = run_job(db, db_path, "import-entries", {"file": str(f)}, timeout=300)
    assert run.status == "cancelled", run.error
    lines = log_of(db, run)
    said = re.search(r"stopped after writing (\d+) of 500 entries in (\d+) committed steps", "\n".join(lines))
    assert said, lines
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("SELECT count(*) FROM entry").fetchone()[0] == int(said.group(1)) == at[0]
    finally:
        conn.close()
    # Only the committed rows' log lines were said.
    assert sum(line.startswith("created entry: ") for line in lines) == at[0]
    between.clear()
    again = run_job(db, db_path, "import-entries", {"file": str(f)}, timeout=300)
    assert again.status == "succeeded", again.error
    assert f"entries: {500 - at[0]} created, 0 updated, {at[0]} unchanged" in "\n".join(log_of(db, again))
    assert_as_the_file_says(db_path, rows)


class _Clock:
    """A run context on a clock of its own: records its sleeps (what StepWriter leaves the lock free)."""

    def __init__(self, db) -> None:  # type: ignore[no-untyped-def]
        self.db, self.now, self.slept = db, 100.0, list[float]()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds

    def transaction(self):  # type: ignore[no-untyped-def]
        return self.db.atomic()


def test_the_lock_is_left_free_as_long_as_the_step_held_it_counting_work_done_meanwhile(db, monkeypatch):
    ctx = _Clock(db)
    monkeypatch.setattr(steps, "time", ctx)
    writer = steps.StepWriter(ctx)  # type: ignore[arg-type]

    def hold(seconds: float) -> Callable[[Any], None]:
        return lambda conn: setattr(ctx, "now", ctx.now + seconds)

    writer.step(hold(0.06))  # a step holding the lock 60 ms
    writer.step(hold(0.01))  # right after: the lock left free 60 ms first
    assert ctx.slept == [0.06]
    ctx.now += 0.045  # 45 ms of work without the lock (matching the next step): 30 ms are over
    writer.step(hold(0.0))
    ctx.now += 0.01  # 10 ms: the other 20 ms slept
    writer.step(hold(0.0))
    assert ctx.slept == [0.06, 0.0, round(steps.STEP_PAUSE_S - 0.01, 6)]
    assert writer.steps == 4 and writer.discarded == 0 and writer.longest == pytest.approx(0.06)

    def discard(conn: Any) -> None:
        conn.execute("INSERT INTO organisation(name) VALUES ('rolled back')")
        ctx.now += 0.08
        raise steps.StepDiscarded()

    assert writer.step(discard, "rows", 5) is False
    assert writer.steps == 4 and writer.discarded == 1 and writer.done.get("rows") is None
    assert db.execute_sql("SELECT count(*) FROM organisation").fetchone()[0] == 0
    writer.step(hold(0.0))  # a discarded step held the lock too: as long free after it
    assert ctx.slept[-1] == 0.08 and writer.longest == pytest.approx(0.08)


def test_a_table_with_start_times_is_matched_inside_each_step_and_its_starts_written(db, db_path, tmp_path, monkeypatch):
    # A start time's row reads the start table as the rows before it write it: such a file is
    # matched inside each step's transaction (LOCKED_STEP rows a step), classes and clubs with it.
    monkeypatch.setattr(import_entries, "LOCKED_STEP", 40)
    planned: list[bool] = []
    plain = import_entries._Importer._plans_ahead
    monkeypatch.setattr(import_entries._Importer, "_plans_ahead", lambda self, rows: planned.append(plain(self, rows)) or planned[-1])
    Race.create(event=Event.create(name="Cup", timezone="UTC"), name="Day 1", race_number=1, date="2027-06-12")
    f = tmp_path / "entries.csv"
    f.write_text("ENTRY IDENTIFIER;PERSON FIRST NAME;PERSON LAST NAME;CLASS NAME;ORGANISATION NAME;START TIME\n" + "".join(
        f"E{i};Given{i};Family{i};H{i % 7};Club {i % 11};10:{i // 60:02d}:{i % 60:02d}\n" for i in range(100)), encoding="utf-8")
    run = run_job(db, db_path, "import-entries", {"file": str(f)}, timeout=300)
    assert run.status == "succeeded", run.error
    assert planned == [False]
    log = "\n".join(log_of(db, run))
    assert "entries: 100 created" in log and "new: 7 classes, 11 clubs, 100 persons" in log
    assert re.search(r"written in 3 committed steps", log), log
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("SELECT count(*), count(DISTINCT entry_id), min(hand_set) FROM start").fetchone() == (100, 100, 1)
        assert conn.execute("SELECT count(*) FROM start s JOIN entry e ON e.id = s.entry_id "
                            "WHERE s.class_id IS NOT e.class_id").fetchone()[0] == 0
    finally:
        conn.close()
    before = dump(db_path, times=True)
    again = run_job(db, db_path, "import-entries", {"file": str(f)}, timeout=300)
    assert again.status == "succeeded", again.error
    assert "entries: 0 created, 0 updated, 100 unchanged" in "\n".join(log_of(db, again))
    assert dump(db_path, times=True) == before


def entry_table(path: Path, n: int, *, start_times: bool, moved: dict[int, str] | None = None) -> None:
    """A CSV of `n` runners without ids (found again by name, club and class), row i in class H{i % 7}
    unless `moved` gives another; with a START TIME column when asked (matched inside each step)."""
    moved = moved or {}
    head = "PERSON FIRST NAME;PERSON LAST NAME;CLASS NAME;ORGANISATION NAME" + (";START TIME" if start_times else "")
    path.write_text(head + "\n" + "".join(
        f"Given{i};Family{i};{moved.get(i, f'H{i % 7}')};Club {i % 11}"
        + (f";10:{i // 60:02d}:{i % 60:02d}" if start_times else "") + "\n" for i in range(n)), encoding="utf-8")


@pytest.mark.parametrize("start_times", [False, True], ids=["matched ahead", "matched in the step"])
def test_an_entry_moved_by_hand_while_an_import_runs_is_found_where_it_is_now_not_doubled(
        db, db_path, tmp_path, small_steps, between, monkeypatch, start_times):
    monkeypatch.setattr(import_entries, "LOCKED_STEP", 40)
    Race.create(event=Event.create(name="Cup", timezone="UTC"), name="Day 1", race_number=1, date="2027-06-12")
    first = tmp_path / "first.csv"
    entry_table(first, 100, start_times=start_times)
    run = run_job(db, db_path, "import-entries", {"file": str(first)}, timeout=300)
    assert run.status == "succeeded", run.error
    # The entries office sends a corrected file: runner 60 in H5 (was H4). Before it reaches that
    # row, the admin has already moved the runner to H5 at the TUI (an UPDATE: no row added).
    second = tmp_path / "second.csv"
    entry_table(second, 100, start_times=start_times, moved={60: "H5"})
    other = Other(db_path)
    moved: list[int] = []

    def move(importer: Any, plan: Any, rows: list[EntryRow]) -> None:
        if not moved and plan.lo == 0:
            moved.append(other.conn.execute(
                "UPDATE entry SET class_id=(SELECT id FROM class WHERE name='H5'), hand_edited=1 "
                "WHERE person_id=(SELECT id FROM person WHERE given='Given60')").rowcount)

    between.append(move)
    run = run_job(db, db_path, "import-entries", {"file": str(second)}, timeout=300)
    assert run.status == "succeeded", run.error
    assert moved == [1]
    log = "\n".join(log_of(db, run))
    assert "0 created, 0 updated, 99 unchanged, 1 edited by hand (kept)" in log, log
    assert "matched again on what it holds now" in log
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("SELECT count(*) FROM entry").fetchone()[0] == 100
        assert conn.execute("SELECT c.name FROM entry e JOIN class c ON c.id = e.class_id JOIN person p ON p.id = e.person_id "
                            "WHERE p.given='Given60'").fetchall() == [("H5",)]
    finally:
        conn.close()


def test_a_card_deleted_and_another_added_in_its_place_is_not_taken_for_the_old_one(
        db, db_path, tmp_path, small_steps, between):
    # The file's only card is the last runner's, already in the event as its newest card (a rental
    # of the pool). Before the import's last step the pool's admin deletes that card and adds
    # another: SQLite gives the new card the same rowid, so the largest rowids are as they were;
    # the delete is what says that the index no longer holds.
    f = tmp_path / "entries.xml"

    def one_card(records: list[Any]) -> None:
        records[:-1] = [replace(r, cards=()) for r in records[:-1]]

    rows = entry_file(f, 300, change=one_card)
    late = rows[-1]
    (ctype, number), = late.cards.items()
    Race.create(event=Event.create(name="Pool", timezone="UTC"), name="Other race", race_number=1, date="2027-01-01")
    other = Other(db_path)
    pooled = other.insert("INSERT INTO card(number, card_type, rental) VALUES (?, ?, 1)", (str(number), ctype or "SI"))
    swapped: list[int] = []

    def swap(importer: Any, plan: Any, rows: list[EntryRow]) -> None:
        if swapped or plan.hi < len(rows):
            return
        other.conn.execute("DELETE FROM card WHERE id=?", (pooled,))
        swapped.append(other.insert("INSERT INTO card(number, card_type, rental) VALUES ('8800002', 'SI', 1)"))

    between.append(swap)
    run = run_job(db, db_path, "import-entries", {"file": str(f)}, timeout=300)
    assert run.status == "succeeded", run.error
    assert swapped == [pooled]  # the same rowid
    conn = sqlite3.connect(db_path)
    try:
        got = conn.execute("SELECT c.number, c.card_type FROM entry e JOIN entry_card ec ON ec.entry_id = e.id "
                           "JOIN card c ON c.id = ec.card_id WHERE e.identifier=?",
                           (next(iter(late.entry_identifiers.values())),)).fetchall()
        assert got == [(str(number), ctype or "SI")]
        assert conn.execute("SELECT count(*) FROM entry_card WHERE card_id=?", (pooled,)).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM entry").fetchone() == (300,)
    finally:
        conn.close()


def test_a_full_import_leaves_an_entry_edited_by_hand_after_its_list_was_read(db, db_path, tmp_path, between):
    f = tmp_path / "entries.xml"
    rows = entry_file(f, 40)
    first = run_job(db, db_path, "import-entries", {"file": str(f)}, timeout=300)
    assert first.status == "succeeded", first.error
    # The next file lacks the last three runners: a full import withdraws them, unless meanwhile
    # (after the import listed them, before its withdrawal step) one is edited by hand.
    shorter = tmp_path / "shorter.xml"
    entry_file(shorter, 40, change=lambda records: records.__delitem__(slice(37, None)))
    other = Other(db_path)
    kept = next(iter(rows[38].entry_identifiers.values()))
    pauses: list[int] = []

    def edit(importer: Any, plan: Any, rows: list[EntryRow]) -> None:
        pauses.append(plan.hi)
        if len(pauses) == 2:  # the pause before the withdrawals (the first: before the only entries step)
            other.conn.execute("UPDATE entry SET hand_edited=1, bib='5' WHERE identifier=?", (kept,))

    between.append(edit)
    run = run_job(db, db_path, "import-entries", {"file": str(shorter), "full_import": True}, timeout=300)
    assert run.status == "succeeded", run.error
    assert len(pauses) == 2
    log = "\n".join(log_of(db, run))
    assert "37 unchanged, 0 edited by hand (kept), 2 withdrawn" in log, log
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("SELECT status, bib FROM entry WHERE identifier=?", (kept,)).fetchone() == ("entered", "5")
        assert conn.execute("SELECT count(*) FROM entry WHERE status='withdrawn'").fetchone() == (2,)
    finally:
        conn.close()
