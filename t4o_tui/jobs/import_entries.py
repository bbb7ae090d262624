"""Import Entries: IOF XML 3.0 EntryList, or a CSV/Excel table with column titles.

Both become rows of one shape (entry_table.EntryRow: value, CLEAR or ABSENT per field) and go
through one matcher, so a re-import never duplicates and the two formats behave alike. The file is
read, parsed and checked before anything is written: a broken file leaves the database as it was.
The entries are then written in committed steps (jobs/steps.py), so a large file never holds the
write lock for long: on SQLite each step's rows are matched before its transaction, which only checks
that what they were matched against still holds and writes them (_Plan); a run stopped mid-way says
how many rows it wrote, and the same import run again finishes it (the matcher finds what was
written; nothing is doubled).
"""

from __future__ import annotations

import codecs
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache, partial
from typing import Any

from t4o_tui.engine.job import Job, JobError, RunContext
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.jobs.event_data import (
    FILE,
    RACE,
    Progress,
    event_zone,
    fill_race_data,
    name_key,
    read_input,
    read_table,
    resolve_race,
)
from t4o_tui.jobs.steps import StepDiscarded, StepWriter, StopReport, long_lived_rows
from t4o_tui.orienteering import iof
from t4o_tui.orienteering.cards import MAX_CARD_DIGITS
from t4o_tui.orienteering.entry_table import (
    ABSENT,
    CLEAR,
    EntryRow,
    EntryTable,
    NoValue,
    read_entry_table,
)
from t4o_tui.orienteering.model import EntryList, EntryRecord
from t4o_tui.store.db import is_postgres

LOG_DETAIL_MAX = 2000  # per-entry log lines; the rest is counted in the summary
# Rows of the file per committed step when each row is matched inside the step's transaction
# (PostgreSQL; rows with start times or courses, whose matching reads the start table as it
# writes): each row may write an entry, its person, club, cards and start. With the step's rows
# written by executemany (_Writes), 500 of them hold the write lock for a few tens of milliseconds
# (about 30 ms for 250 on a loaded 2-core machine, 10k-entry file).
LOCKED_STEP = 500
# Otherwise the rows are matched before each step, no lock held (_Plan), and the step only checks
# and writes: about 3 µs a statement (a new entry makes 5), so a step is sized to hold the lock
# about STEP_HOLD_S by the statements it queues (from how long the last step held it a statement;
# the first FIRST_STEP_WRITES), and has at most ENTRY_STEP rows: 10,000 new entries in 5-6 steps of
# 30-45 ms on a 2-core machine. Few steps, few pauses for other writers (jobs/steps.py).
ENTRY_STEP = 5000
STEP_HOLD_S = 0.03
FIRST_STEP_WRITES = 2000
MIN_STEP_WRITES = 500
# Withdrawals a step (one UPDATE of this many ids: under SQLite's 32,766 variables).
WITHDRAW_STEP = 5000


def _present(v: Any) -> bool:
    return not isinstance(v, NoValue)


def rows_from_entry_list(el: EntryList, id_type: str, warnings: list[str] | None = None) -> list[EntryRow]:
    """IOF records as table rows: what the file does not say is ABSENT (kept), never cleared. Each
    row's line is its <PersonEntry>'s line in the file (else its place in the list), for the log."""
    said = warnings if warnings is not None else []
    return [_row_from_record(rec.line or i, rec, id_type, said) for i, rec in enumerate(el.entries, 1)]


def _row_from_record(line: int, rec: EntryRecord, id_type: str, warnings: list[str]) -> EntryRow:
    p = rec.person
    cards: dict[str | None, int | NoValue] = {}
    for c in rec.cards:
        number = c.number.replace(" ", "")  # "8 123 456": digits grouped as printed on the card
        if number.isdigit() and len(number) <= MAX_CARD_DIGITS:
            cards[c.system] = int(number)
        else:
            warnings.append(f"line {line}: card {c.number!r} is not a card number (up to {MAX_CARD_DIGITS} digits): left out")
    return EntryRow(
        line=line,
        entry_identifiers={rec.entry_id_type or id_type: rec.entry_id} if rec.entry_id else {},
        person_identifiers={k or id_type: v for k, v in p.ids.items()},
        given_name=p.given or ABSENT, family_name=p.family or ABSENT, sex=p.sex or ABSENT,
        birth_year=p.birth_year if p.birth_year is not None else (p.birth_date.year if p.birth_date else ABSENT),
        birth_date=p.birth_date or ABSENT,
        class_name=rec.class_names[0] if rec.class_names else ABSENT,
        organisation_name=rec.organisation.name if rec.organisation else ABSENT,
        cards=cards,
    )


@dataclass
class _Index:
    """What the race already holds, loaded once so that 10,000 rows need no query each."""

    classes: dict[str, int] = field(default_factory=dict)  # name key -> id
    orgs: dict[str, int] = field(default_factory=dict)  # casefolded name -> id
    person_ids: dict[tuple[str, str], int] = field(default_factory=dict)  # (type, value) -> person
    person_names: dict[tuple[str, str, int | None], int] = field(default_factory=dict)
    entries_by_id: dict[tuple[str, str], int] = field(default_factory=dict)  # (type, value) -> entry
    entries_by_person: dict[int, int] = field(default_factory=dict)
    entry_rows: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # entry -> (class, org, person, status, bib, hand)
    cards: dict[tuple[str, str], int] = field(default_factory=dict)  # (number, type) -> card
    entry_cards: dict[int, set[int]] = field(default_factory=dict)
    card_types: dict[int, str] = field(default_factory=dict)
    rental: set[int] = field(default_factory=set)  # the register's rental cards (Import Cards, rental)
    # For matching entries that carry no usable id (see MATCH_RULES):
    entry_ident: dict[int, tuple[str, str]] = field(default_factory=dict)  # entry -> its (type, value)
    person_idents: dict[int, dict[str, str]] = field(default_factory=dict)  # person -> {type: value}
    person_name: dict[int, tuple[str, str]] = field(default_factory=dict)  # person -> casefolded (given, family)
    person_year: dict[int, int] = field(default_factory=dict)  # person -> birth year, where known
    by_name: dict[tuple[str, str], set[int]] = field(default_factory=dict)  # casefolded name -> entries
    card_entries: dict[int, set[int]] = field(default_factory=dict)  # card -> entries of the race
    org_names: dict[int, str] = field(default_factory=dict)  # club -> casefolded name

    def name_of_entry(self, eid: int) -> tuple[str, str] | None:
        pid = self.entry_rows[eid][2]
        return self.person_name.get(pid) if pid is not None else None

    def index_name(self, eid: int) -> None:
        if (key := self.name_of_entry(eid)) is not None:
            self.by_name.setdefault(key, set()).add(eid)

    def unindex_name(self, eid: int) -> None:
        if (key := self.name_of_entry(eid)) is not None:
            self.by_name.get(key, set()).discard(eid)


MATCH_RULES = ("entry id", "person id", "card number and name", "name, club and class")
"""The order in which an entry of the file finds the entry it updates (issue 16). An entry id is
the entry system's own key; when the file has none (or a new one), a person id of any type finds the
person and so the entry; then the card number with the same name; then the same name in the same
club and class. A candidate whose entry id or person id of the same type differs is another runner
and never matched; two candidates are ambiguous: the row is reported by line and not imported."""


class ImportEntriesJob(Job):
    id = "import-entries"
    title = "Import Entries"
    category = "Entries"
    description = (
        "Imports entries from an IOF XML 3.0 EntryList or a CSV/Excel table with column titles "
        "(ENTRY IDENTIFIER, PERSON FIRST NAME, CLASS NAME, CARD NO, ...). Creates classes, persons, "
        "clubs and cards as needed; re-importing updates and never duplicates: an entry is found by its "
        "entry id, else a person id of any type, else card number and name, else name, club and class "
        "(the log says how many by each; a row matching several entries is named and not imported). "
        "Entries edited by hand are left alone. A full import marks entries missing from the file as withdrawn. "
        "A file is read and checked before anything is written (a file with a problem changes nothing), then "
        "written in short committed steps, so schedules and other runs go on meanwhile; a run "
        "stopped mid-way keeps the steps it wrote and its log says how many: run it again to finish."
    )
    settings = Schema((
        FILE,
        RACE,
        Setting("format", "choice", "Format", "File format; auto looks at the content.", default="auto",
                choices=(("auto", "Detect"), ("iof-xml", "IOF XML 3.0 EntryList"), ("table", "CSV or Excel table"))),
        Setting("match_by", "choice", "Match by", "Which key is tried first to find an existing entry to update "
                "(then the others in order: entry id, person id, card number and name, name, club and class); "
                "name and birth year also finds persons of other races.", default="entry-id",
                choices=(("entry-id", "Entry identifier"), ("person-id", "Person identifier"), ("name", "Name and birth year"))),
        Setting("id_type", "text", "Identifier type", "Identifier type for ids without one (e.g. Eventor).", default="Eventor"),
        Setting("full_import", "boolean", "Full import", "Entries of this identifier type missing from the file become withdrawn.", default=False),
        Setting("card_type", "text", "Card type", "Card type for card numbers without one.", default="SI"),
    ))
    idempotent = True
    timeout = 600.0

    def run(self, ctx: RunContext) -> None:
        # A large file's rows: no full garbage collection stalls the worker meanwhile (jobs/steps.py).
        with long_lived_rows():
            self._run(ctx)

    def _run(self, ctx: RunContext) -> None:
        data = read_input(ctx)
        id_type = str(ctx.settings.get("id_type") or "Eventor")
        fmt = ctx.settings.get("format", "auto")
        is_xml = looks_like_xml(data)
        if fmt == "iof-xml" or (fmt == "auto" and is_xml):
            try:
                el = iof.read_entry_list(data)
            except iof.IofError as exc:
                raise JobError(f"{ctx.settings['file']}: {exc}") from None
            for w in el.warnings:
                ctx.warning(w)
            ctx.info(f"IOF XML EntryList with {len(el.entries)} entries" + (f" from {el.creator}" if el.creator else ""))
            race = resolve_race(ctx, create=True, event_name=el.event.name or None, race_date=el.event.date)
            fill_race_data(ctx, race, el.event)
            bad_cards: list[str] = []
            rows = rows_from_entry_list(_entered_in(ctx, el, race.race_number), id_type, bad_cards)
            for w in bad_cards:
                ctx.warning(w)
        else:
            race = resolve_race(ctx, create=True)
            tz = event_zone(race)
            table = read_table(ctx, lambda: read_entry_table(data, race_date=date.fromisoformat(race.date) if race.date else None,
                                                             tz=tz, first_start=race.first_start))
            rows = _identified_rows(ctx, table)
            ctx.info(f"table with {len(rows)} rows; columns: {', '.join(table.columns)}")
        if ctx.settings.get("full_import") and not rows:
            # Most often a failed download or the wrong export: withdrawing every entry of the race
            # on its say-so would be a disaster on race day.
            raise JobError(f"{ctx.settings['file']}: no entries for race {race.race_number or race.id} in the file; a full "
                           "import of it would withdraw every entry: nothing changed")
        _Importer(ctx, race.id, id_type).apply(rows)


def _entered_in(ctx: RunContext, el: EntryList, number: int | None) -> EntryList:
    """The entries taking part in race `number`: an entry's RaceNumbers name its races (IOF: none
    named, every race). The others are left out and counted: a two-day event's EntryList holds the
    runners of both days, and a runner entered for day 2 only is no entry of day 1."""
    if number is None:
        return el
    kept = tuple(e for e in el.entries if not e.race_numbers or number in e.race_numbers)
    if len(kept) < len(el.entries):
        left = len(el.entries) - len(kept)
        ctx.info(f"{left} {'entry' if left == 1 else 'entries'} for other races only (RaceNumber), not in race {number}: left out")
    return replace(el, entries=kept)


def looks_like_xml(data: bytes) -> bool:
    """Markup first, after a BOM and blanks: UTF-8 or, as Windows programs save "Unicode", UTF-16 with a BOM."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = data[:400].decode("utf-16", errors="ignore")
        return head.lstrip("\ufeff \t\r\n").startswith("<")
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


IDENTITY_COLUMNS = ("ENTRY IDENTIFIER", "PERSON IDENTIFIER", "PERSON NAME", "PERSON FIRST NAME", "PERSON LAST NAME")


def _identified_rows(ctx: RunContext, table: EntryTable) -> list[EntryRow]:
    """The rows that name or identify their runner. A table without such a column is refused: its
    rows would become nameless entries that no re-import can find again (so each would add them
    anew). Rows left blank in those columns (vacant slots of a start list) are skipped and named."""
    if not any(c.split(":")[0] in IDENTITY_COLUMNS for c in table.columns):
        raise JobError(
            f"{ctx.settings['file']}: no column names or identifies the runners (one of {', '.join(IDENTITY_COLUMNS)} "
            f"is needed); the known columns found: {', '.join(table.columns)}"
        )
    rows: list[EntryRow] = []
    blank: list[EntryRow] = []
    for row in table.rows:
        values = [*row.entry_identifiers.values(), *row.person_identifiers.values(), row.given_name, row.family_name]
        (rows if any(isinstance(v, str) and v for v in values) else blank).append(row)
    if blank:
        lines = ", ".join(str(r.line) for r in blank[:10]) + (f" and {len(blank) - 10} more" if len(blank) > 10 else "")
        ctx.warning(f"{len(blank)} rows without a name or an identifier skipped (lines {lines})")
    return rows


# New rows (tables whose ids the import hands out itself in batched mode), in the order their
# foreign keys need: a class, club and person before their entries, a card before its links.
_NEW_ROW_TABLES = ("class", "organisation", "person", "person_identifier", "card", "entry")
# The tables the matching reads and the import writes. Between steps another writer may change them:
# on SQLite their largest rowids say that rows were added (and which: the ids after those the index
# had), meta.entry_rev that a row was deleted or a column the matching reads was changed (triggers,
# store/migrations._v16_entry_rev). On PostgreSQL entry_rev counts inserts too.
_WATCHED = ("class", "organisation", "person", "person_identifier", "card", "entry", "entry_card")
_STATE = ("SELECT " + ", ".join(f"(SELECT coalesce(max(rowid), 0) FROM {t})" for t in _WATCHED)
          + ", (SELECT value FROM meta WHERE key = 'entry_rev')")
_ID_TABLES = ("class", "organisation", "person", "card", "entry")
# A step that found the event changed under it is dropped and matched again, the index loaded anew
# with no lock held. After this many drops in a row, the step loads it inside its transaction (the
# lock held longer, once, but nothing can change under it): a writer changing entries between
# every step cannot keep the import from ending.
RELOAD_IN_LOCK_AFTER = 3


@lru_cache(maxsize=256)
def _insert_sql(table: str, cols: tuple[str, ...]) -> str:
    return f"INSERT INTO {table}({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


class _Writes:
    """The import's statements. On SQLite they are queued and written at the end of each step
    (flush) by executemany, new rows first (with ids handed out here: INTEGER PRIMARY KEY, max + 1,
    read in the step's own write transaction, or given by a plan), then every other statement in
    the order made; a statement per row cost more than the rest of the import together. On
    PostgreSQL each statement runs at once and a new row's id comes from its sequence, as before."""

    def __init__(self, conn: Any, batched: bool, next_id: dict[str, int] | None = None) -> None:
        self.conn = conn  # a plan's writes get theirs when written
        self.batched = batched
        self.new: dict[str, dict[str, list[tuple[Any, ...]]]] = {}  # table -> statement -> rows
        self.rest: list[tuple[str, tuple[Any, ...]]] = []
        self.next_id: dict[str, int] = dict(next_id or {})
        self.queued = 0  # statements queued (batched)

    def insert(self, table: str, cols: tuple[str, ...], vals: Sequence[Any]) -> int:
        """INSERT a new row; its id."""
        if not self.batched:
            return int(self.conn.execute(_insert_sql(table, cols), tuple(vals)).lastrowid or 0)
        nid = self.next_id.get(table)
        if nid is None:
            nid = int(self.conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0])
        self.next_id[table] = nid + 1
        self.add_new(table, ("id", *cols), (nid, *vals))
        return nid

    def add_new(self, table: str, cols: tuple[str, ...], vals: Sequence[Any]) -> None:
        """INSERT a row nothing else in the step refers to before it (no id needed back)."""
        sql = _insert_sql(table, cols)
        if not self.batched:
            self.conn.execute(sql, tuple(vals))
            return
        self.queued += 1
        self.new.setdefault(table, {}).setdefault(sql, []).append(tuple(vals))

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        if self.batched:
            self.queued += 1
            self.rest.append((sql, tuple(params)))
        else:
            self.conn.execute(sql, tuple(params))

    def flush(self) -> None:
        """Write what is queued (before a read of these tables, and at the end of each step)."""
        conn = self.conn
        for table in _NEW_ROW_TABLES:
            for sql, rows in self.new.pop(table, {}).items():
                conn.executemany(sql, rows)
        run_sql: str | None = None
        run: list[tuple[Any, ...]] = []
        for sql, params in self.rest:
            if sql != run_sql and run:
                conn.executemany(run_sql, run)
                run = []
            run_sql = sql
            run.append(params)
        if run:
            conn.executemany(run_sql, run)
        self.rest = []

    def end_step(self) -> None:
        self.flush()
        self.next_id = {}  # another writer may add rows between steps


@dataclass
class _Plan:
    """One step's rows[lo:hi] matched against the index: their writes, to be written in one transaction."""

    lo: int
    hi: int
    writes: _Writes
    found: list[int | None] = field(default_factory=list)  # each row's entry (None: not imported)
    state: tuple[dict[str, int], int] = field(default_factory=lambda: ({}, 0))  # the event's (_Importer.state) once written
    locked = 0.0  # when its step had the write lock (time.monotonic)


class _Importer:
    def __init__(self, ctx: RunContext, race_id: int, id_type: str) -> None:
        self.ctx, self.race_id, self.id_type = ctx, race_id, id_type
        self.match_by = ctx.settings.get("match_by", "entry-id")
        self.card_type = str(ctx.settings.get("card_type") or "SI")
        self.now = time.time()
        self.pg = is_postgres(ctx.db)
        self.counts = {"created": 0, "updated": 0, "unchanged": 0, "hand-edited": 0, "withdrawn": 0,
                       "classes": 0, "clubs": 0, "persons": 0, "cards": 0}
        self.matched = dict.fromkeys(MATCH_RULES + (("name and birth year",) if self.match_by == "name" else ()), 0)
        self.ambiguous: list[int] = []  # lines of rows that matched several entries: not imported
        self.claimed: dict[int, int] = {}  # entry -> the line of this file that matched or made it
        self.details = 0
        self.held: list[tuple[str, str]] | None = None  # a plan's log lines, said once it is written
        # What the index was loaded from (or kept up to date with): the watched tables' largest
        # rowids (SQLite) and meta.entry_rev.
        self.state: tuple[dict[str, int], int] = ({}, 0)

    def note(self, level: str, message: str) -> None:
        self.details += 1
        if self.details <= LOG_DETAIL_MAX:
            if self.held is not None:
                self.held.append((level, message))
            else:
                self.ctx.log(level, message)

    def apply(self, rows: list[EntryRow]) -> None:
        """Import Entries' own run: the rows written in committed steps, then the withdrawals."""
        ctx = self.ctx
        with StopReport(StepWriter(ctx)) as writer:
            self.rows_in_steps(rows, writer)
            if ctx.settings.get("full_import"):
                self._withdraw_missing(set(self.claimed), writer)
        self.report()

    def rows_in_steps(self, rows: list[EntryRow], writer: StepWriter) -> list[int | None]:
        """Create or update the entry of each row, in committed steps (jobs/steps.py): the entry ids in
        row order (None: not imported).

        The race's index is loaded with no lock held. On SQLite, rows without start times or courses
        are matched before each step's transaction (those read the start table as the rows before
        them write it), which then only checks that the event is as the index has it and writes; else
        each step's rows are matched inside its transaction, which first brings the index up to date.
        Rows another writer added meanwhile are loaded into the index in the step (SQLite: few, from
        their rowids); a deleted row or a changed matched column (meta.entry_rev) drops the step: its
        counts and log lines are undone and it is matched again on the index loaded anew, outside the
        lock. The queue lane runs one import at a time."""
        prog = Progress(self.ctx, len(rows), "entries")
        ahead = self._plans_ahead(rows)
        out: list[int | None] = []
        writer.expect("entries", len(rows))
        self._sync()
        budget, lo, drops = FIRST_STEP_WRITES, 0, 0
        per: float | None = None  # seconds of write lock a statement, averaged over the last steps
        while lo < len(rows):
            mark = self._mark(prog)
            held: list[_Plan] = []
            if ahead and drops == 0:
                held.append(self._plan(rows, lo, prog, _Writes(None, batched=True, next_id=self._next_ids()),
                                       budget, ENTRY_STEP))
                done = writer.step(partial(self._write_plan, plan=held[0]), "entries", held[0].hi - lo)
            else:
                n = min(LOCKED_STEP, len(rows) - lo)
                done = writer.step(partial(self._locked_step, held=held, rows=rows, lo=lo, n=n, prog=prog,
                                           reload=drops >= RELOAD_IN_LOCK_AFTER), "entries", n)
            if not done:
                self._rewind(mark, prog)
                hi = held[0].hi if held else min(lo + LOCKED_STEP, len(rows))
                self.ctx.info(f"lines {rows[lo].line}-{rows[hi - 1].line}: another writer changed the event's "
                              "persons, entries, cards, clubs or classes meanwhile: matched again on what it holds now")
                drops += 1
                self._sync()
                continue
            plan = held[0]
            self.state = plan.state
            for level, message in self.held or ():
                self.ctx.log(level, message)
            self.held = None
            out.extend(plan.found)
            lo, drops = plan.hi, 0
            # The next step's size from the time a statement held the lock (to the end of COMMIT, which
            # writes the pages and now and then checkpoints), averaged: one slow commit does not halve it.
            if ahead and (held_s := (writer.ended or 0.0) - plan.locked) > 0 and plan.writes.queued:
                per = held_s / plan.writes.queued if per is None else (per + held_s / plan.writes.queued) / 2
                budget = min(max(int(STEP_HOLD_S / per), MIN_STEP_WRITES), 2 * budget)
        return out

    def _plans_ahead(self, rows: Sequence[EntryRow]) -> bool:
        """Whether each step's rows can be matched before its transaction: on SQLite (PostgreSQL runs
        each statement at once, ids from sequences), rows without start times or courses."""
        return not self.pg and all(r.start_time is ABSENT and r.course_name is ABSENT for r in rows)

    def _next_ids(self) -> dict[str, int] | None:
        """The ids new rows get (SQLite: after the largest the index knows; PostgreSQL: from sequences)."""
        return None if self.pg else {t: self.state[0][t] + 1 for t in _ID_TABLES}

    def _locked_step(self, conn: Any, held: list[_Plan], rows: list[EntryRow], lo: int, n: int, prog: Progress,
                     reload: bool) -> None:
        """Inside the step's transaction: the index brought up to date, rows[lo:lo+n] matched and written."""
        self._catch_up(conn, reload)
        held.append(self._plan(rows, lo, prog, _Writes(conn, batched=not self.pg, next_id=self._next_ids()),
                               sys.maxsize, n))
        held[0].locked = time.monotonic()
        held[0].writes.end_step()
        held[0].state = self._state(conn)

    def _write_plan(self, conn: Any, plan: _Plan) -> None:
        """Inside the step's transaction: check that the event is as the plan's index had it
        (StepDiscarded if not), then write the plan."""
        plan.locked = time.monotonic()
        if self._state(conn) != self.state:
            raise StepDiscarded("another writer changed the event since the index was read")
        plan.writes.conn = conn
        plan.writes.flush()
        plan.state = self._state(conn)

    def _state(self, conn: Any, lock: bool = True) -> tuple[dict[str, int], int]:
        """The watched tables' largest rowids (SQLite) and meta.entry_rev. On PostgreSQL inside a step
        (`lock`), entry_rev's row is locked: other writers of these tables wait until the step ends."""
        if self.pg:
            got = conn.execute("SELECT value FROM meta WHERE key = 'entry_rev'" + (" FOR UPDATE" if lock else "")).fetchone()
            return {}, int(got[0]) if got else 0
        *ids, rev = conn.execute(_STATE).fetchone()
        return dict(zip(_WATCHED, ids, strict=True)), int(rev or 0)

    def _sync(self) -> None:
        """Load the index and what it was loaded from, with no write lock held: on SQLite from one
        read snapshot; on PostgreSQL entry_rev is read first (a change committed meanwhile is then
        found again by the next step, never missed)."""
        if self.pg:
            self.conn = self.ctx.db.connection()
            self.state = self._state(self.conn, lock=False)
            self.ix = self._load()
            return
        with self.ctx.db.atomic("DEFERRED"):
            self.conn = self.ctx.db.connection()
            self.state = self._state(self.conn)
            self.ix = self._load()

    def _catch_up(self, conn: Any, reload: bool) -> None:
        """Inside a step's transaction: the index brought up to what the event holds now. Rows only
        added (SQLite) are loaded into it; else it is loaded anew (`reload`) or the step dropped."""
        self.conn = conn
        state = self._state(conn)
        if state == self.state:
            return
        if not self.pg and state[1] == self.state[1]:
            self._load(self.ix, since=self.state[0])
        elif reload:
            self.ix = self._load()
        else:
            raise StepDiscarded("another writer changed or deleted rows the index holds")
        self.state = state

    def _plan(self, rows: list[EntryRow], lo: int, prog: Progress, w: _Writes, writes_max: int, rows_max: int) -> _Plan:
        """Match rows from `lo` on, against the index alone, until they make about `writes_max`
        statements or `rows_max` rows, their writes made by `w`; their log lines held."""
        plan = _Plan(lo, lo, w)
        self.w, self.held = w, []
        end = min(len(rows), lo + rows_max)
        while plan.hi < end and (w.queued < writes_max or plan.hi == lo):
            prog.step()
            plan.found.append(self._one(rows[plan.hi]))
            plan.hi += 1
        return plan

    def _mark(self, prog: Progress) -> tuple[Any, ...]:
        """What a plan changes besides the index: to go back to when it is dropped."""
        return dict(self.counts), dict(self.matched), len(self.ambiguous), len(self.claimed), self.details, prog.n

    def _rewind(self, mark: tuple[Any, ...], prog: Progress) -> None:
        counts, matched, ambiguous, claimed, details, n = mark
        self.counts.update(counts)
        self.matched.update(matched)
        del self.ambiguous[ambiguous:]
        while len(self.claimed) > claimed:  # a plan only adds entries, at the end
            self.claimed.popitem()
        self.details, prog.n = details, n
        self.held = None

    def report(self) -> None:
        ctx, c = self.ctx, self.counts
        if self.details > LOG_DETAIL_MAX:
            ctx.info(f"… {self.details - LOG_DETAIL_MAX} more detail lines not shown")
        matched = ", ".join(f"{n} by {rule}" for rule, n in self.matched.items())
        ctx.info(f"matched to existing entries: {matched} (in that order)")
        if self.ambiguous:
            lines = ", ".join(str(n) for n in self.ambiguous[:20]) + (
                f" and {len(self.ambiguous) - 20} more" if len(self.ambiguous) > 20 else "")
            ctx.warning(f"{len(self.ambiguous)} entries matched several existing entries and were not imported "
                        f"(lines {lines}): give them entry ids, person ids or card numbers to tell them apart "
                        "(or, where a line's warning says so, one entry id each)")
        self._shared_cards()
        ctx.info(
            f"entries: {c['created']} created, {c['updated']} updated, {c['unchanged']} unchanged, "
            f"{c['hand-edited']} edited by hand (kept), {c['withdrawn']} withdrawn; new: {c['classes']} classes, "
            f"{c['clubs']} clubs, {c['persons']} persons, {c['cards']} cards"
        )
        ctx.progress(1.0)

    def _shared_cards(self) -> None:
        """Warn of cards that two or more entered runners of the race hold: a readout of one would be
        taken for either (each such card once, with its runners)."""
        held: dict[tuple[str, str], list[str]] = {}
        for ctype, number, given, family in self.ctx.db.connection().execute(
            "SELECT c.card_type, c.number, p.given, p.family FROM entry_card ec JOIN entry e ON e.id = ec.entry_id "
            "JOIN card c ON c.id = ec.card_id LEFT JOIN person p ON p.id = e.person_id "
            "WHERE e.race_id = ? AND e.status = 'entered' AND ec.card_id IN (SELECT ec2.card_id FROM entry_card ec2 "
            "JOIN entry e2 ON e2.id = ec2.entry_id WHERE e2.race_id = ? AND e2.status = 'entered' "
            "GROUP BY ec2.card_id HAVING count(*) > 1) ORDER BY c.card_type, c.number, e.id", (self.race_id, self.race_id)):
            held.setdefault((ctype, number), []).append(f"{given or ''} {family or ''}".strip())
        for (ctype, number), names in list(held.items())[:20]:
            self.ctx.warning(f"{ctype} card {number} is held by several runners of this race: {', '.join(names)}")
        if len(held) > 20:
            self.ctx.warning(f"… and {len(held) - 20} more cards held by several runners")

    # -- loading ----------------------------------------------------------------------------------
    def _load(self, ix: _Index | None = None, since: dict[str, int] | None = None) -> _Index:
        """The race's index; with `since` (SQLite: the watched tables' largest rowids it was loaded
        at), the rows added after those into `ix`."""
        ix = ix if ix is not None else _Index()
        race = self.race_id

        def q(sql: str, table: str, params: tuple[Any, ...] = ()) -> Any:
            if since is not None:
                sql += (" AND " if " WHERE " in sql else " WHERE ") + f"{table}.rowid > ?"
                params = (*params, since[table])
            return self.conn.execute(sql, params)

        for cid, name in q("SELECT id, name FROM class WHERE race_id=?", "class", (race,)):
            ix.classes[name_key(name)] = cid
        for oid, name in q("SELECT id, name FROM organisation", "organisation"):
            ix.orgs.setdefault(name.strip().casefold(), oid)
            ix.org_names[oid] = name.strip().casefold()
        for pid, typ, val in q("SELECT person_id, type, value FROM person_identifier", "person_identifier"):
            ix.person_ids[(typ, val)] = pid
            ix.person_idents.setdefault(pid, {})[typ] = val
        for pid, given, family, year in q("SELECT id, given, family, birth_year FROM person", "person"):
            ix.person_names.setdefault((given.casefold(), family.casefold(), year), pid)
            ix.person_name[pid] = (given.casefold(), family.casefold())
            if year is not None:
                ix.person_year[pid] = year
        for eid, typ, ident, pid, cid, oid, status, bib, hand in q(
            "SELECT id, identifier_type, identifier, person_id, class_id, organisation_id, status, bib, hand_edited "
            "FROM entry WHERE race_id=?", "entry", (race,)
        ):
            if ident is not None:
                ix.entries_by_id[(typ or "", ident)] = eid
                ix.entry_ident[eid] = (typ or "", ident)
            if pid is not None:
                ix.entries_by_person.setdefault(pid, eid)
            ix.entry_rows[eid] = (cid, oid, pid, status, bib, hand)
            ix.index_name(eid)
        for card_id, number, ctype, rental in q("SELECT id, number, card_type, rental FROM card", "card"):
            if rental:
                ix.rental.add(card_id)
            ix.cards[(number, ctype)] = card_id
            ix.card_types[card_id] = ctype
        for eid, card_id in q("SELECT entry_card.entry_id, entry_card.card_id FROM entry_card "
                              "JOIN entry e ON e.id = entry_card.entry_id WHERE e.race_id=?", "entry_card", (race,)):
            ix.entry_cards.setdefault(eid, set()).add(card_id)
            ix.card_entries.setdefault(card_id, set()).add(eid)
        return ix

    # -- one row ----------------------------------------------------------------------------------
    def _one(self, row: EntryRow) -> int | None:
        ix = self.ix
        name = " ".join(v for v in (row.given_name, row.family_name) if isinstance(v, str)) or f"line {row.line}"
        entry_ids = {(k or self.id_type): v for k, v in row.entry_identifiers.items() if isinstance(v, str)}
        person_ids = {(k or self.id_type): v for k, v in row.person_identifiers.items() if isinstance(v, str)}
        eid, pid, rule, candidates = self._match(row, entry_ids, person_ids)
        if (known := self._other_name(row, person_ids)) is not None:
            # Another given and another family name under one person id: most often ids of another
            # system read with this import's identifier type (MeOS's own numbers taken for Eventor's).
            # Taking the person over would give this runner the other's entries and results.
            self.ambiguous.append(row.line)
            self.note("warning", f"line {row.line}: {name} has the person id of {known}: not imported, nothing changed "
                                 "(if the file's ids are another system's, set 'Identifier type')")
            return None
        if candidates:
            self.ambiguous.append(row.line)
            self.note("warning", f"line {row.line}: {name}{self._where(row)} matches {len(candidates)} entries by {rule}: "
                                 "not imported, nothing changed")
            return None
        runner_change = rule == "entry id" and eid is not None and self._other_person(ix.entry_rows[eid][2], person_ids)
        if runner_change and eid in self.claimed:
            # Two records of this file with one entry id but different persons: which is the entry's
            # runner cannot be told, and merging them would give one runner the other's ids and cards.
            self.ambiguous.append(row.line)
            self.note("warning", f"line {row.line}: {name} has the entry id of line {self.claimed[eid]} but another "
                                 "person's id: not imported, nothing changed")
            return None
        if runner_change:
            # The entry system gave the entry to another runner (the entry keeps its id): that
            # person, found by their id or made anew, takes it; the previous runner is left as a person.
            pid = next((ix.person_ids[k] for k in person_ids.items() if k in ix.person_ids), None)
            self.note("info", f"{name}: entry {next(iter(entry_ids.values()), '')} now has another runner (person id)")
        if eid is not None and rule is not None:
            self.matched[rule] += 1
            if eid in self.claimed:
                self.note("warning", f"line {row.line}: {name} is the same entry as line {self.claimed[eid]} "
                                     f"(by {rule}): one entry, the later line's values kept")
        if pid is None and eid is not None and not runner_change:
            pid = ix.entry_rows[eid][2]  # the entry's own person: update it rather than make another
        if eid is not None and ix.entry_rows[eid][5]:
            self.counts["hand-edited"] += 1
            self.claimed.setdefault(eid, row.line)
            self.note("warning", f"{name}: edited by hand, not overwritten")
            return eid
        pid = self._save_person(pid, row, person_ids, name)
        cid = self._class(row)
        oid = self._org(row)
        created = eid is None
        if eid is None:
            ident = next(iter(entry_ids.items()), None)
            eid = self.w.insert(
                "entry", ("race_id", "class_id", "person_id", "organisation_id", "identifier", "identifier_type", "status",
                          "bib", "created_at", "updated_at"),
                (self.race_id, cid if _present(cid) else None, pid, oid if _present(oid) else None,
                 ident[1] if ident else None, ident[0] if ident else None, "entered",
                 str(row.bib) if isinstance(row.bib, int) else None, self.now, self.now))
            ix.entry_rows[eid] = (cid if _present(cid) else None, oid if _present(oid) else None, pid, "entered",
                                  str(row.bib) if isinstance(row.bib, int) else None, 0)
            if ident:
                ix.entries_by_id[ident] = eid
                ix.entry_ident[eid] = ident
            ix.entries_by_person.setdefault(pid, eid)
            ix.index_name(eid)
            self.counts["created"] += 1
            self.note("info", f"created entry: {name}" + (f" ({row.class_name})" if isinstance(row.class_name, str) else ""))
            changed = True
        else:
            old = ix.entry_rows[eid]
            new_cid = old[0] if isinstance(cid, NoValue) and cid is ABSENT else (None if cid is CLEAR else cid)
            new_oid = old[1] if isinstance(oid, NoValue) and oid is ABSENT else (None if oid is CLEAR else oid)
            new_bib = old[4] if row.bib is ABSENT else (None if row.bib is CLEAR else str(row.bib))
            changed = (new_cid, new_oid, pid, "entered", new_bib) != old[:5]
            if changed:
                ix.unindex_name(eid)
                self.w.execute("UPDATE entry SET class_id=?, organisation_id=?, person_id=?, status='entered', bib=?, "
                               "updated_at=? WHERE id=?", (new_cid, new_oid, pid, new_bib, self.now, eid))
                if old[3] == "withdrawn":
                    self.note("info", f"{name}: back from withdrawn")
                ix.entry_rows[eid] = (new_cid, new_oid, pid, "entered", new_bib, 0)
                ix.index_name(eid)
                if old[2] != pid:  # another runner: the entry is found by their person id now
                    if old[2] is not None and ix.entries_by_person.get(old[2]) == eid:
                        del ix.entries_by_person[old[2]]
                    ix.entries_by_person.setdefault(pid, eid)
            if eid not in ix.entry_ident and entry_ids:
                # Found by a weaker rule: the entry now carries the file's id, so the next import finds it by id.
                ident = next(iter(entry_ids.items()))
                self.w.execute("UPDATE entry SET identifier=?, identifier_type=?, updated_at=? WHERE id=?",
                               (ident[1], ident[0], self.now, eid))
                ix.entry_ident[eid] = ident
                changed = True
            for typ, val in entry_ids.items():
                ix.entries_by_id.setdefault((typ, val), eid)
        self.claimed.setdefault(eid, row.line)
        changed = self._cards(eid, row) or changed
        changed = self._start(eid, row, name) or changed
        if not created:
            if changed:
                self.counts["updated"] += 1
                self.note("info", f"updated entry: {name}")
            else:
                self.counts["unchanged"] += 1
        return eid

    @staticmethod
    def _where(row: EntryRow) -> str:
        parts = [v for v in (row.class_name, row.organisation_name) if isinstance(v, str)]
        return f" ({', '.join(parts)})" if parts else ""

    def _match(self, row: EntryRow, entry_ids: dict[str, str], person_ids: dict[str, str],
               ) -> tuple[int | None, int | None, str | None, list[int]]:
        """(entry, person, rule that found it, ambiguous candidates) by MATCH_RULES; the "match by"
        setting may put the person id first, or find persons by name and birth year as well."""
        ix = self.ix
        pid: int | None = None
        order = ("person id", "entry id") if self.match_by in ("person-id", "name") else ("entry id", "person id")
        for rule in order:
            if rule == "entry id":
                eid = next((ix.entries_by_id[k] for k in entry_ids.items() if k in ix.entries_by_id), None)
                if eid is not None:
                    return eid, pid, rule, []
            else:
                pid = next((ix.person_ids[k] for k in person_ids.items() if k in ix.person_ids), pid)
                if pid is not None and (eid := ix.entries_by_person.get(pid)) is not None:
                    return eid, pid, rule, []
        if pid is not None:
            return None, pid, None, []  # a known person without an entry in this race: a new entry for them
        if not (isinstance(row.given_name, str) or isinstance(row.family_name, str)):
            return None, None, None, []
        key = (row.given_name.casefold() if isinstance(row.given_name, str) else "",
               row.family_name.casefold() if isinstance(row.family_name, str) else "")
        if self.match_by == "name":
            year = row.birth_year if isinstance(row.birth_year, int) else None
            pid = ix.person_names.get((*key, year))
            if pid is not None and (eid := ix.entries_by_person.get(pid)) is not None:
                return eid, pid, "name and birth year", []
        year = row.birth_year if isinstance(row.birth_year, int) else None
        found = [e for e in sorted(self._card_holders(row))
                 if ix.name_of_entry(e) == key and self._compatible(e, entry_ids, person_ids, year)]
        if len(found) == 1:
            return found[0], pid, "card number and name", []
        if len(found) > 1:
            return None, None, "card number and name", found
        found = [e for e in sorted(ix.by_name.get(key, ())) if self._same_club_and_class(e, row)
                 and self._compatible(e, entry_ids, person_ids, year)]
        if len(found) == 1:
            return found[0], pid, "name, club and class", []
        if len(found) > 1:
            return None, None, "name, club and class", found
        return None, pid, None, []

    def _card_holders(self, row: EntryRow) -> set[int]:
        """The race's entries holding one of the row's cards."""
        out: set[int] = set()
        for typ, number in row.cards.items():
            if isinstance(number, int):
                card_id = self.ix.cards.get((str(number), typ or self.card_type))
                if card_id is not None:
                    out |= self.ix.card_entries.get(card_id, set())
        return out

    def _compatible(self, eid: int, entry_ids: dict[str, str], person_ids: dict[str, str], year: int | None) -> bool:
        """False when an entry id or person id of the same type, or a birth year, says the entry is
        another runner's (two Per Hansens of one club and class, born 1962 and 1990)."""
        ix = self.ix
        ident = ix.entry_ident.get(eid)
        if ident is not None and ident[0] in entry_ids and entry_ids[ident[0]] != ident[1]:
            return False
        pid = ix.entry_rows[eid][2]
        if pid is not None and year is not None and ix.person_year.get(pid, year) != year:
            return False
        return not self._other_person(pid, person_ids)

    def _other_name(self, row: EntryRow, person_ids: dict[str, str]) -> str | None:
        """The name of the person the row's person id finds, when both their given and family names
        differ from the row's (a changed family name alone is a runner who married)."""
        ix = self.ix
        pid = next((ix.person_ids[k] for k in person_ids.items() if k in ix.person_ids), None)
        if pid is None or not (isinstance(row.given_name, str) and isinstance(row.family_name, str)):
            return None
        given, family = ix.person_name.get(pid, ("", ""))
        if not (given and family) or given == row.given_name.casefold() or family == row.family_name.casefold():
            return None
        return f"{given.title()} {family.title()}"

    def _other_person(self, pid: int | None, person_ids: dict[str, str]) -> bool:
        """Whether a person id of the same type says person `pid` is not the row's runner."""
        theirs = self.ix.person_idents.get(pid, {}) if pid is not None else {}
        return any(t in theirs and theirs[t] != v for t, v in person_ids.items())

    def _same_club_and_class(self, eid: int, row: EntryRow) -> bool:
        """Club and class as the row gives them; a column the file does not have matches any."""
        cid, oid = self.ix.entry_rows[eid][:2]
        if row.class_name is not ABSENT:
            want = self.ix.classes.get(name_key(row.class_name)) if isinstance(row.class_name, str) else None
            if want != cid or (want is None and isinstance(row.class_name, str)):
                return False
        if row.organisation_name is not ABSENT:
            club = row.organisation_name.strip().casefold() if isinstance(row.organisation_name, str) else None
            if club != (self.ix.org_names.get(oid) if oid is not None else None):
                return False
        return True

    def _save_person(self, pid: int | None, row: EntryRow, person_ids: dict[str, str], name: str) -> int:
        ix = self.ix
        fields = {"given": row.given_name, "family": row.family_name, "sex": row.sex, "birth_year": row.birth_year,
                  "birth_date": row.birth_date.isoformat() if hasattr(row.birth_date, "isoformat") else row.birth_date,
                  "seeding": row.seeding, "points": row.points}
        present = {k: (None if v is CLEAR else v) for k, v in fields.items() if v is not ABSENT}
        for k in ("given", "family"):
            if k in present and present[k] is None:
                present[k] = ""
        if pid is None:
            cols = ["given", "family", *[k for k in present if k not in ("given", "family")]]
            vals = [present.get("given", ""), present.get("family", ""), *[present[k] for k in cols[2:]]]
            pid = self.w.insert("person", tuple(cols), vals)
            self.counts["persons"] += 1
            year = present.get("birth_year")
            ix.person_names.setdefault((str(present.get("given", "")).casefold(), str(present.get("family", "")).casefold(),
                                        year if isinstance(year, int) else None), pid)
            ix.person_name[pid] = (str(present.get("given", "")).casefold(), str(present.get("family", "")).casefold())
        elif present:
            self.w.execute(f"UPDATE person SET {', '.join(f'{k}=?' for k in present)} WHERE id=?", (*present.values(), pid))
            old = ix.person_name.get(pid, ("", ""))
            new = (str(present["given"]).casefold() if "given" in present else old[0],
                   str(present["family"]).casefold() if "family" in present else old[1])
            if new != old:  # renamed: the name index follows (the person's entries of this race)
                mine = [e for e, r in ix.entry_rows.items() if r[2] == pid]
                for e in mine:
                    ix.unindex_name(e)
                ix.person_name[pid] = new
                for e in mine:
                    ix.index_name(e)
        if isinstance(year := present.get("birth_year"), int):
            ix.person_year[pid] = year
        elif "birth_year" in present:
            ix.person_year.pop(pid, None)
        for key in person_ids.items():
            owner = ix.person_ids.get(key)
            if owner is None:
                self.w.add_new("person_identifier", ("person_id", "type", "value"), (pid, key[0], key[1]))
                ix.person_ids[key] = pid
                ix.person_idents.setdefault(pid, {}).setdefault(key[0], key[1])
            elif owner != pid:
                self.note("warning", f"{name}: person identifier {key[0]} {key[1]} belongs to another person; not moved")
        return pid

    def _class(self, row: EntryRow) -> int | NoValue:
        if not isinstance(row.class_name, str):
            return row.class_name  # ABSENT or CLEAR
        key = name_key(row.class_name)
        cid = self.ix.classes.get(key)
        if cid is None:
            cid = self.w.insert("class", ("race_id", "name"), (self.race_id, row.class_name.strip()))
            self.ix.classes[key] = cid
            self.counts["classes"] += 1
            self.note("info", f"created class {row.class_name}")
        return cid

    def _org(self, row: EntryRow) -> int | NoValue:
        if not isinstance(row.organisation_name, str):
            return row.organisation_name
        key = row.organisation_name.strip().casefold()
        oid = self.ix.orgs.get(key)
        if oid is None:
            oid = self.w.insert("organisation", ("name",), (row.organisation_name.strip(),))
            self.ix.orgs[key] = oid
            self.ix.org_names[oid] = key
            self.counts["clubs"] += 1
        return oid

    def _cards(self, eid: int, row: EntryRow) -> bool:
        if not row.cards:
            return False
        ix = self.ix
        linked = ix.entry_cards.setdefault(eid, set())
        changed = False
        for typ, number in row.cards.items():
            ctype = typ or self.card_type
            of_type = {c for c in linked if ix.card_types.get(c) == ctype}
            if number is ABSENT:
                continue
            # A blank cell clears the runner's own card, not a rental card handed out here (Assign
            # Cards): the entry system never knew of it, so its file is blank there on every import.
            want: set[int] = {c for c in of_type if c in ix.rental} if number is CLEAR else set()
            if isinstance(number, int):
                key = (str(number), ctype)
                card_id = ix.cards.get(key)
                if card_id is None:
                    card_id = self.w.insert("card", ("number", "card_type"), key)
                    ix.cards[key] = card_id
                    ix.card_types[card_id] = ctype
                    self.counts["cards"] += 1
                want = {card_id}
            for gone in of_type - want:
                self.w.execute("DELETE FROM entry_card WHERE entry_id=? AND card_id=?", (eid, gone))
                linked.discard(gone)
                ix.card_entries.get(gone, set()).discard(eid)
                changed = True
            for new in want - of_type:
                self.w.execute("INSERT OR IGNORE INTO entry_card(entry_id, card_id) VALUES (?, ?)", (eid, new))
                linked.add(new)
                ix.card_entries.setdefault(new, set()).add(eid)
                changed = True
        return changed

    def _start(self, eid: int, row: EntryRow, name: str) -> bool:
        if row.start_time is ABSENT and row.course_name is ABSENT:
            return False
        self.w.flush()  # the entry and what it refers to are written before its start is read
        q = self.conn.execute
        cid = self.ix.entry_rows[eid][0]
        existing = q("SELECT id, start_time, course_id FROM start WHERE entry_id=?", (eid,)).fetchone()
        course_id = None
        if isinstance(row.course_name, str):
            found = q("SELECT id FROM course WHERE race_id=? AND name=?", (self.race_id, row.course_name.strip())).fetchone()
            if found is None:
                self.note("warning", f"{name}: no course named {row.course_name}")
            else:
                course_id = found[0]
        when = row.start_time.timestamp() if not isinstance(row.start_time, NoValue) else None
        if existing is None:
            if when is None or cid is None:
                return False
            q("INSERT INTO start(race_id, class_id, bib, start_time, course_id, entry_id, hand_set) VALUES (?, ?, ?, ?, ?, ?, 1)",
              (self.race_id, cid, self.ix.entry_rows[eid][4], when, course_id, eid))
            return True
        new_time = existing[1] if row.start_time is ABSENT else when
        new_course = existing[2] if row.course_name is ABSENT else course_id
        if (new_time, new_course) == (existing[1], existing[2]):
            return False
        # A start time from the file counts as set by hand: a redraw leaves it alone.
        q("UPDATE start SET start_time=?, course_id=?, hand_set=1 WHERE id=?", (new_time, new_course, existing[0]))
        return True

    def _withdraw_missing(self, seen: set[int], writer: StepWriter) -> None:
        rows = self.ctx.db.connection().execute(
            "SELECT e.id, p.given, p.family FROM entry e LEFT JOIN person p ON p.id = e.person_id "
            "WHERE e.race_id=? AND e.identifier_type=? AND e.status='entered' AND e.hand_edited=0",
            (self.race_id, self.id_type)).fetchall()
        gone = [r for r in rows if r[0] not in seen]

        def write(conn: Any, chunk: Sequence[tuple[int, str | None, str | None]]) -> None:
            # Checked again as each is written: an entry edited by hand, withdrawn or moved to another
            # race since the list above was read is left alone and not counted.
            done = {r[0] for r in conn.execute(
                "UPDATE entry SET status='withdrawn', updated_at=? WHERE race_id=? AND identifier_type=? "
                f"AND status='entered' AND hand_edited=0 AND id IN ({','.join('?' * len(chunk))}) RETURNING id",
                (self.now, self.race_id, self.id_type, *(r[0] for r in chunk)))}
            for eid, given, family in chunk:
                if eid in done:
                    self.counts["withdrawn"] += 1
                    self.note("info", f"withdrawn (not in the file): {given or ''} {family or ''}".rstrip())

        # A withdrawal is one row: many to a step. A re-run finds them withdrawn already.
        writer.write("withdrawals", gone, WITHDRAW_STEP, write)
