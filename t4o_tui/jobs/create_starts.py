"""Create Starts: start slots (bib, time) from class settings, or from an IOF StartList / CSV file."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from itertools import groupby
from typing import NamedTuple

from t4o_tui.engine.job import Job, JobError, RunContext
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.jobs.event_data import (
    RACE,
    Progress,
    event_zone,
    file_problems,
    fill_race_data,
    name_key,
    read_input,
    read_table,
    resolve_race,
)
from t4o_tui.jobs.import_entries import _Importer
from t4o_tui.jobs.steps import StepWriter, StopReport, let_go, long_lived_rows
from t4o_tui.orienteering import iof
from t4o_tui.orienteering.entry_table import (
    ABSENT,
    EntryRow,
    decode_text,
    export_aliases,
    read_entry_table,
    sniff_delimiter,
    split_title,
)
from t4o_tui.orienteering.model import StartRecord
from t4o_tui.orienteering.starts import StartClass, StartType, create_starts, read_start_file
from t4o_tui.orienteering.times_of_day import on_race_day
from t4o_tui.store.backend_sqlite import backend_of
from t4o_tui.store.models import Race

START_STEP = 1000  # start rows written per committed step: a few tens of milliseconds of write lock
DELETE_STEP = 5000  # starts deleted per step (delete_existing)
CLASSES = Setting("classes", "multi-choice", "Classes", "Class names, comma separated; empty: all classes.")


def selected_classes(ctx: RunContext, conn: sqlite3.Connection, race_id: int) -> list[tuple]:  # type: ignore[type-arg]
    """The race's classes named in the 'classes' setting (all when empty); unknown names are an error."""
    # Column 7 is every vacant start the class gets: those the draw places, and those kept at fixed
    # places (before, after, one after every N runners: orienteering.vacancies, kept by the draw).
    runners_but_one = ("(SELECT count(*) FROM entry e WHERE e.class_id = class.id AND e.status = 'entered') - 1")
    rows = conn.execute(
        "SELECT id, name, course_id, start_type, first_start, start_interval, bib_start, vacancies + vacancies_before "
        f"+ vacancies_after + CASE WHEN vacancy_every > 0 THEN {backend_of(conn).greatest(runners_but_one, '0')} "
        "/ vacancy_every ELSE 0 END, draw_order, start_box "
        "FROM class WHERE race_id=? ORDER BY COALESCE(draw_order, 1e9), name", (race_id,)).fetchall()
    # Relay classes have their own preparation, timing and lists (the relay jobs): the individual
    # jobs that use this leave them out, and refuse them by name.
    relay = {r[0] for r in conn.execute("SELECT DISTINCT class_id FROM relay_leg")}
    wanted = ctx.settings.get("classes") or []
    if not wanted:
        return [r for r in rows if r[0] not in relay]
    keys = {name_key(r[1]): r for r in rows}
    missing = [w for w in wanted if name_key(w) not in keys]
    if missing:
        raise JobError(f"setting 'classes': no class {', '.join(missing)} (classes: {', '.join(r[1] for r in rows)})")
    relays = [w for w in wanted if keys[name_key(w)][0] in relay]
    if relays:
        raise JobError(f"setting 'classes': {', '.join(relays)} {'is a relay class' if len(relays) == 1 else 'are relay classes'}: "
                       "its starts and results come from Prepare Relay and Relay List")
    return [keys[name_key(w)] for w in wanted]


class FileStart(NamedTuple):
    """One start as a file gives it: class name, bib, time (epoch s), course name, entry id, and
    the runner it names as an entry import's row (None: a vacant start, or a file without names)."""

    class_name: str
    bib: str | None
    time: float | None
    course_name: str | None
    entry_ident: str | None
    runner: EntryRow | None = None


# Columns that name or identify a runner: a CSV start file with one of them carries people.
_RUNNER_COLUMNS = ("ENTRY IDENTIFIER", "PERSON IDENTIFIER", "PERSON NAME", "PERSON FIRST NAME", "PERSON LAST NAME")


def _names_runners(data: bytes) -> bool:
    """Does the CSV's header have a column naming the runners? Only the header is looked at."""
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return False  # Excel: the start file reader says what it reads
    head = data[:65536]
    cut = head.find(b"\n", 1)
    text = decode_text(head[:cut] if cut > 0 else head)
    first = next((line for line in text.splitlines() if line.strip()), "")
    titles = [split_title(t.strip().strip('"'))[0] for t in first.split(sniff_delimiter(first))]
    aliases = export_aliases(titles)
    return any(split_title(aliases.get(t, t))[0] in _RUNNER_COLUMNS for t in titles)


def runner_row(st: StartRecord, class_name: str, line: int, id_type: str) -> EntryRow | None:
    """The runner of a StartList's start as an entry import's row: what the file does not say is kept."""
    p = st.person
    if p is None:
        return None
    cards: dict[str | None, object] = {}
    if st.card is not None and st.card.number.isdigit():
        cards[st.card.system] = int(st.card.number)
    return EntryRow(
        line=line,
        entry_identifiers={id_type: st.entry_id} if st.entry_id else {},
        person_identifiers={k or id_type: v for k, v in p.ids.items()},
        given_name=p.given or ABSENT, family_name=p.family or ABSENT, sex=p.sex or ABSENT,
        birth_year=p.birth_year if p.birth_year is not None else ABSENT, birth_date=p.birth_date or ABSENT,
        class_name=class_name,
        organisation_name=st.organisation.name if st.organisation else ABSENT,
        cards=cards,  # type: ignore[arg-type]
        bib=int(st.bib) if st.bib and st.bib.isdigit() else ABSENT,
    )


class CreateStartsJob(Job):
    id = "create-starts"
    title = "Create Starts"
    category = "Starts"
    description = (
        "Creates start slots for the selected classes: as many as entries plus vacant starts, bibs from "
        "the class's series, times from its first start and interval (classes sharing a course or start "
        "box follow each other in draw order; mass and free start classes get no times). Run again after "
        "late entries: new slots are added after the last start. Or read the starts from an IOF XML 3.0 "
        "StartList or a CSV file (CLASS NAME, BIB NO, START TIME, COURSE NAME). A file is read and checked "
        "before anything is written (a file with a problem changes nothing), then written in steps of "
        f"{START_STEP} starts, each committed, so schedules and other runs go on meanwhile. A run stopped "
        "mid-way (cancel, timeout, crash) keeps the steps it wrote and its log says how many; run it again "
        "with the same file to finish: starts written already are found again, never doubled."
    )
    settings = Schema((
        RACE, CLASSES,
        Setting("source", "choice", "Source", "Where the starts come from.", default="class-settings",
                choices=(("class-settings", "Class settings"), ("iof-xml", "IOF XML StartList"), ("csv", "CSV file"))),
        Setting("file", "file", "File", "StartList or CSV file (for those sources)."),
        Setting("delete_existing", "boolean", "Delete existing", "Delete the selected classes' starts first.", default=False),
        Setting("id_type", "text", "Identifier type", "Identifier type for entry and person ids of the file "
                "without one (as Import Entries).", default="Eventor"),
    ))
    timeout = 300.0

    def run(self, ctx: RunContext) -> None:
        source = ctx.settings.get("source", "class-settings")
        race = resolve_race(ctx, create=source != "class-settings")
        if source == "class-settings":
            with ctx.transaction():
                conn = ctx.db.connection()
                classes = selected_classes(ctx, conn, race.id)
                if ctx.settings.get("delete_existing"):
                    ids = [c[0] for c in classes]
                    marks = ",".join("?" * len(ids))
                    n = conn.execute(f"DELETE FROM start WHERE class_id IN ({marks})", ids).rowcount if ids else 0
                    ctx.info(f"deleted {n} existing starts of {len(ids)} classes")
                self._from_settings(ctx, conn, race, classes)
            return
        # The file is read, parsed and checked before anything is written: a large file must not
        # hold the database (every other writer, the scheduler and the run's own lease wait on it).
        # A large file's rows: no full garbage collection stalls the worker meanwhile (jobs/steps.py).
        with long_lived_rows():
            rows = self._read_file(ctx, race, source)
            try:
                with StopReport(StepWriter(ctx)) as writer:
                    self._write_file_rows(ctx, writer, race, rows)
            finally:
                let_go(rows)

    def _from_settings(self, ctx: RunContext, conn: sqlite3.Connection, race: Race, classes: list[tuple]) -> None:  # type: ignore[type-arg]
        race_id = race.id
        counts = dict(conn.execute("SELECT class_id, count(*) FROM entry WHERE race_id=? AND status='entered' "
                                   "GROUP BY class_id", (race_id,)).fetchall())
        existing = dict(conn.execute("SELECT class_id, count(*) FROM start WHERE race_id=? GROUP BY class_id",
                                     (race_id,)).fetchall())
        fresh = [c for c in classes if not existing.get(c[0])]
        topping = [c for c in classes if existing.get(c[0])]
        inputs = [StartClass(
            id=c[0], name=c[1], entries=counts.get(c[0], 0), start_type=StartType(c[3] or "interval"),
            first_start=datetime.fromtimestamp(c[4], UTC) if c[4] else None, interval=int(c[5] or 0),
            bib_start=c[6], vacancies=c[7] or 0, draw_order=c[8], course=str(c[2]) if c[2] else None, start_box=c[9],
        ) for c in fresh]
        first = race.first_start
        made = create_starts(inputs, datetime.fromtimestamp(first, UTC) if first else None)
        for w in made.warnings:
            ctx.warning(w)
        course_of = {c[0]: c[2] for c in classes}
        conn.executemany("INSERT INTO start(race_id, class_id, bib, start_time, course_id) VALUES (?, ?, ?, ?, ?)",
                         [(race_id, s.class_id, str(s.bib) if s.bib is not None else None,
                           s.time.timestamp() if s.time else None, course_of[s.class_id]) for s in made.starts])
        per_class: dict[int, int] = {}
        for s in made.starts:
            per_class[s.class_id] = per_class.get(s.class_id, 0) + 1
        zone = event_zone(race)
        for c in fresh:
            times = [s.time for s in made.starts if s.class_id == c[0] and s.time]
            when = f", {times[0].astimezone(zone):%H:%M:%S}–{times[-1].astimezone(zone):%H:%M:%S}" if times else ""
            ctx.info(f"class {c[1]}: {per_class.get(c[0], 0)} starts ({counts.get(c[0], 0)} entries + {c[7] or 0} vacant{when})")
        for c in topping:
            self._top_up(ctx, conn, race_id, c)

    @staticmethod
    def _top_up(ctx: RunContext, conn: sqlite3.Connection, race_id: int, c: tuple) -> None:  # type: ignore[type-arg]
        """Late entries: add slots after the class's last start so every entry can get one."""
        without = conn.execute("SELECT count(*) FROM entry e WHERE e.class_id=? AND e.status='entered' AND NOT EXISTS "
                               "(SELECT 1 FROM start s WHERE s.entry_id=e.id)", (c[0],)).fetchone()[0]
        free = conn.execute("SELECT count(*) FROM start WHERE class_id=? AND entry_id IS NULL", (c[0],)).fetchone()[0]
        need = without - free
        if need <= 0:
            ctx.info(f"class {c[1]}: has starts; {free} free for {without} entries without a start")
            return
        last_time, last_bib = conn.execute(f"SELECT max(start_time), max({backend_of(conn).cast_int('bib')}) FROM start WHERE class_id=?",
                                           (c[0],)).fetchone()
        interval = c[5] or 0
        rows = []
        for k in range(1, need + 1):
            t = last_time + k * interval if (last_time is not None and c[3] == "interval") else None
            bib = str(last_bib + k) if last_bib is not None else None
            rows.append((race_id, c[0], bib, t, c[2]))
        conn.executemany("INSERT INTO start(race_id, class_id, bib, start_time, course_id) VALUES (?, ?, ?, ?, ?)", rows)
        ctx.info(f"class {c[1]}: added {need} starts after the last one for late entries")

    @staticmethod
    def _read_file(ctx: RunContext, race: Race, source: str) -> list[FileStart]:
        """The starts the file gives, parsed and checked; no database access."""
        data = read_input(ctx)
        zone = event_zone(race)
        rows: list[FileStart] = []
        if source == "iof-xml":
            try:
                doc = iof.read_start_list(data, race_number=race.race_number, tz=zone)
            except iof.IofError as exc:
                raise JobError(f"{ctx.settings['file']}: {exc}") from None
            for w in doc.warnings:
                ctx.warning(w)
            fill_race_data(ctx, race, doc.event)
            id_type = str(ctx.settings.get("id_type") or "Eventor")
            for cs in doc.classes:
                for st in cs.starts:
                    runner = runner_row(st, cs.class_def.name, st.line or len(rows) + 1, id_type)
                    rows.append(FileStart(cs.class_def.name, st.bib, st.start_time.timestamp() if st.start_time else None,
                                          st.course.name if st.course else (cs.course.name if cs.course else None), st.entry_id,
                                          runner))
        elif _names_runners(data):
            rows = CreateStartsJob._read_table_with_names(ctx, race, data)
        else:
            sf = read_table(ctx, lambda: read_start_file(data, race_date=date.fromisoformat(race.date) if race.date else None,
                                                         tz=zone, first_start=race.first_start))
            rows = [FileStart(r.class_name, str(r.bib) if r.bib is not None else None, r.time.timestamp() if r.time else None,
                              r.course_name, None) for r in sf.rows]
            let_go(sf.rows)
        ctx.info(f"{len(rows)} starts read from the file"
                 + (f", {sum(1 for r in rows if r.runner)} naming their runner" if any(r.runner for r in rows) else ""))
        CreateStartsJob._check_days(ctx, race, [r.time for r in rows if r.time is not None])
        return rows

    @staticmethod
    def _check_days(ctx: RunContext, race: Race, times: list[float]) -> None:
        """Warn when start times fall on another day than the race's (past midnight of a night race
        aside): most often another day's file, which would otherwise go in without a word."""
        if not race.date:
            return
        zone, day = event_zone(race), date.fromisoformat(race.date)
        off = sorted(t for t in times if not on_race_day(t, day, zone, race.first_start))
        if off:
            ctx.warning(f"{len(off)} start time{'s are' if len(off) > 1 else ' is'} not on the race's date {race.date} "
                        f"(the earliest: {datetime.fromtimestamp(off[0], zone):%Y-%m-%d %H:%M}): is the file this race's?")

    @staticmethod
    def _read_table_with_names(ctx: RunContext, race: Race, data: bytes) -> list[FileStart]:
        """A CSV start list that names its runners, read as an entry table (the same columns)."""
        zone = event_zone(race)
        table = read_table(ctx, lambda: read_entry_table(data, race_date=date.fromisoformat(race.date) if race.date else None,
                                                         tz=zone, first_start=race.first_start))
        if not any(c.split(":")[0] == "CLASS NAME" for c in table.columns):
            raise JobError(f"{ctx.settings['file']}: a start file needs a CLASS NAME column")
        rows: list[FileStart] = []
        problems: list[str] = []
        for r in table.rows:
            if not isinstance(r.class_name, str):
                problems.append(f"line {r.line}, column CLASS NAME: a start needs a class")
                continue
            named = any(isinstance(v, str) and v for v in (*r.entry_identifiers.values(), *r.person_identifiers.values(),
                                                           r.given_name, r.family_name))
            # The start's own time and course go to the start, not through the entry import.
            runner = replace(r, start_time=ABSENT, course_name=ABSENT) if named else None
            rows.append(FileStart(r.class_name, str(r.bib) if isinstance(r.bib, int) else None,
                                  r.start_time.timestamp() if isinstance(r.start_time, datetime) else None,
                                  r.course_name if isinstance(r.course_name, str) else None, None, runner))
        if problems:
            raise file_problems(ctx, problems)
        return rows

    def _write_file_rows(self, ctx: RunContext, writer: StepWriter, race: Race, rows: list[FileStart]) -> None:
        """Create or update the file's starts, in committed steps (jobs/steps.py): first the selected
        classes' starts deleted (when asked) and the classes the file brings; then the runners it
        names, as Import Entries writes them; then what the starts need is worked out in memory from
        what the event holds (no lock held), and written START_STEP rows a step."""
        race_id = race.id
        selected = selected_classes(ctx, ctx.db.connection(), race_id)  # the setting checked before any write
        if ctx.settings.get("delete_existing"):
            self._delete_existing(ctx, writer, [c[0] for c in selected])
        classes: dict[str, int] = {}
        created_classes: list[str] = []
        named: dict[str, str] = {}  # the file's classes by key, each as first written, in file order
        for r in rows:
            named.setdefault(name_key(r.class_name), r.class_name)

        def add_classes(conn: sqlite3.Connection) -> None:
            # A start list may be the first thing an event gets: its classes come with it.
            classes.update({name_key(n): cid for cid, n in conn.execute("SELECT id, name FROM class WHERE race_id=?", (race_id,))})
            for key, name in named.items():
                if key not in classes:
                    classes[key] = int(conn.execute(
                        "INSERT INTO class(race_id, name) VALUES (?, ?)", (race_id, name.strip())).lastrowid or 0)
                    created_classes.append(name)

        writer.step(add_classes)
        if created_classes:
            ctx.info(f"classes created from the file: {', '.join(created_classes)}")
        # Starts that name their runner: the entries, persons, clubs, cards and bibs first, created or
        # updated as Import Entries does (the same matching), so that each start links its entry.
        runner_entry: dict[int, int | None] = {}
        importer = None
        if any(r.runner is not None for r in rows):
            importer = _Importer(ctx, race_id, str(ctx.settings.get("id_type") or "Eventor"))
            which = [i for i, r in enumerate(rows) if r.runner is not None]
            found = importer.rows_in_steps([rows[i].runner for i in which], writer)  # type: ignore[misc]
            runner_entry = dict(zip(which, found, strict=True))
        plan = self._plan(ctx, ctx.db.connection(), race_id, rows, classes, runner_entry)
        writer.write("start rows", plan.ops, START_STEP, _run_ops)
        let_go(plan.ops)
        ctx.info(f"starts from the file: {plan.made} created, {plan.updated} already there (time and course updated), "
                 f"{plan.linked} linked to entries; they count as set by hand")
        if importer is not None:
            importer.report()

    @staticmethod
    def _delete_existing(ctx: RunContext, writer: StepWriter, ids: list[int]) -> None:
        """The selected classes' starts deleted, DELETE_STEP a step (a class of a large event may have many)."""
        marks = ",".join("?" * len(ids))
        deleted = [0]

        def delete_some(conn: sqlite3.Connection) -> None:
            deleted[0] = conn.execute(f"DELETE FROM start WHERE id IN (SELECT id FROM start WHERE class_id IN ({marks}) "
                                      f"LIMIT {DELETE_STEP})", ids).rowcount
        n = 0
        while ids:
            writer.step(delete_some)
            n += deleted[0]
            if deleted[0] < DELETE_STEP:
                break
        ctx.info(f"deleted {n} existing starts of {len(ids)} classes")

    @staticmethod
    def _plan(ctx: RunContext, conn: sqlite3.Connection, race_id: int, rows: list[FileStart], classes: dict[str, int],
              runner_entry: dict[int, int | None]) -> _Plan:
        """What the file's starts need written, worked out in memory from what the event holds: every
        read done once, no write lock held. Found again on a re-import: the same start by bib in its
        class, or by its entry, or (with neither) by class and start time."""
        courses = {n: cid for cid, n in conn.execute("SELECT id, name FROM course WHERE race_id=?", (race_id,))}
        entry_by_ident = {i: e for e, i in conn.execute("SELECT id, identifier FROM entry WHERE race_id=? AND identifier IS NOT NULL", (race_id,))}
        entry_by_bib = {(c, b): e for e, c, b in conn.execute("SELECT id, class_id, bib FROM entry WHERE race_id=? AND bib IS NOT NULL", (race_id,))}
        by_bib: dict[tuple[int, str], int] = {}
        by_entry: dict[int, int] = {}
        by_time: dict[tuple[int, float | None], int] = {}
        start_entry: dict[int, int | None] = {}
        for sid, cid, bib, when, eid in conn.execute(
                "SELECT id, class_id, bib, start_time, entry_id FROM start WHERE race_id=? ORDER BY id", (race_id,)):
            if bib:
                by_bib.setdefault((cid, bib), sid)
            else:
                by_time.setdefault((cid, when), sid)
            if eid is not None:
                by_entry.setdefault(eid, sid)
            start_entry[sid] = eid
        relink: dict[int, int] = {}  # start id -> the entry the file names for it
        unlink: list[int] = []  # starts whose runner the file moves to a new start
        taken: set[int] = set()  # entries the file's starts name: one start each
        made = updated = linked = 0
        updates: dict[int, tuple[float | None, int | None, str | None]] = {}  # start id → time, course, bib
        # New starts; a later row for the same start updates its row.
        inserts: list[list[object]] = []
        new_by_bib: dict[tuple[int, str], int] = {}
        new_by_entry: dict[int, int] = {}
        new_by_time: dict[tuple[int, float | None], int] = {}
        progress = Progress(ctx, len(rows), "starts", every=5000)
        for k, (class_name, bib, when, course_name, entry_ident, runner) in enumerate(rows):
            progress.step()
            cid = classes[name_key(class_name)]
            if runner is not None:
                entry = runner_entry.get(k)  # None: the runner was ambiguous (said by line), a vacant start
                if entry is not None and entry in taken:
                    ctx.warning(f"line {runner.line}: this runner has another start earlier in the file: "
                                "this one is left vacant")
                    entry = None
                elif entry is not None:
                    taken.add(entry)
            else:
                entry = entry_by_ident.get(entry_ident) if entry_ident else entry_by_bib.get((cid, bib))
            course = courses.get(course_name or "")
            existing = by_bib.get((cid, bib)) if bib else None
            if existing is None and entry is not None:
                existing = by_entry.get(entry)
            if existing is None and not bib and entry is None:
                existing = by_time.get((cid, when))
            if existing is not None:
                old_course = updates.get(existing, (None, None, None))[1]
                # A start naming its runner is the file's word on the bib too (a runner who moved).
                updates[existing] = (when, course if course is not None else old_course, bib if runner is not None else None)
                if runner is not None and entry is not None and start_entry.get(existing) != entry:
                    relink[existing] = entry
                updated += 1
                continue
            pending = new_by_bib.get((cid, bib)) if bib else None
            if pending is None and entry is not None:
                pending = new_by_entry.get(entry)
            if pending is None and not bib and entry is None:
                pending = new_by_time.get((cid, when))
            if pending is not None:
                inserts[pending][3] = when
                inserts[pending][4] = course if course is not None else inserts[pending][4]
                updated += 1
                continue
            if entry is not None and entry in by_entry:
                if runner is None:
                    entry = None  # already has a start: keep that one
                else:
                    # The file names this runner at another start: the runner moves there.
                    unlink.append(by_entry.pop(entry))
            if bib:
                new_by_bib[(cid, bib)] = len(inserts)
            else:
                new_by_time.setdefault((cid, when), len(inserts))
            if entry is not None:
                new_by_entry[entry] = len(inserts)
            inserts.append([race_id, cid, bib, when, course, entry])
            made += 1
            linked += entry is not None
        # In this order, so that an entry is never on two starts at once (entry_id is unique), even
        # between steps: runners who move leave their old starts, then the starts found again are
        # updated and relinked (an entry's old start made vacant just before it moves), then the new ones.
        ops: list[tuple[str, tuple[object, ...]]] = [(_UNLINK, (sid,)) for sid in unlink]
        ops += [(_UPDATE, (w, c, b, sid)) for sid, (w, c, b) in updates.items()]
        for sid, eid in relink.items():
            ops += [(_VACATE, (eid, sid)), (_LINK, (eid, sid))]
        ops += [(_INSERT, tuple(r)) for r in inserts]
        let_go(inserts, by_bib, by_entry, by_time, start_entry, new_by_bib, new_by_entry, new_by_time, entry_by_ident,
               entry_by_bib, updates)
        return _Plan(ops, made, updated, linked + len(relink))


_UNLINK = "UPDATE start SET entry_id=NULL WHERE id=?"
_UPDATE = "UPDATE start SET start_time=?, course_id=COALESCE(?, course_id), bib=COALESCE(?, bib), hand_set=1 WHERE id=?"
_VACATE = "UPDATE start SET entry_id=NULL WHERE entry_id=? AND id!=?"
_LINK = "UPDATE start SET entry_id=? WHERE id=?"
_INSERT = "INSERT INTO start(race_id, class_id, bib, start_time, course_id, entry_id, hand_set) VALUES (?, ?, ?, ?, ?, ?, 1)"


class _Plan(NamedTuple):
    ops: list[tuple[str, tuple[object, ...]]]  # (statement, parameters), in the order they must run
    made: int
    updated: int
    linked: int


def _run_ops(conn: sqlite3.Connection, ops: Sequence[tuple[str, tuple[object, ...]]]) -> None:
    """One step's statements: runs of the same statement go to executemany together."""
    for sql, group in groupby(ops, key=lambda op: op[0]):
        conn.executemany(sql, [params for _, params in group])
