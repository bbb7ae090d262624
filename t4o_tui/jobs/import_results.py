"""Import Results: an IOF XML 3.0 ResultList from another program as the results of a named race.

For multi-day totals with stages timed elsewhere, and to compare with this program's own timing.
The runners become entries as an entry import makes them (the same matching: entry id, person id,
card number and name, name, club and class), and each gets its result: status, start, finish,
time (tenths kept when the file has them) and split times. Results of entries that have station
data here are this program's own and are never overwritten. The file is read and parsed before
anything is written (a file with a problem changes nothing); the writes then go in committed steps
(jobs/steps.py): a run stopped mid-way keeps them and says how many, and the same import run again
finishes it without doubles.

Relay classes (TeamResult): the teams and their runners are written as the relay entry import
writes them (relay_store.TeamImporter: same matching, so a second import changes nothing), each
runner's leg as the runner's result, and the team's legs as the relay timing stores them
(team_result: each leg's status, start, changeover and time, and the team's standing after it).
The file's own values win: a leg's time is the runner's Time, the standing after a leg the file's
OverallResult (computed by the relay rules only where the file has none), so the relay result
list written back gives the file's times and places.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from t4o_tui.engine.job import Job, JobError, RunContext
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.jobs import relay_timing
from t4o_tui.jobs.event_data import FILE, RACE, event_zone, name_key, read_input, resolve_race
from t4o_tui.jobs.import_entries import _Importer
from t4o_tui.jobs.relay_store import RelayImportError, TeamImporter, load_relay
from t4o_tui.jobs.steps import StepWriter, StopReport, long_lived_rows
from t4o_tui.orienteering import iof, relay
from t4o_tui.orienteering import iof_relay as ir
from t4o_tui.orienteering.entry_table import ABSENT, EntryRow
from t4o_tui.orienteering.model import ClassResultRecord, PersonResultRecord
from t4o_tui.orienteering.punch_check import Status
from t4o_tui.orienteering.ranking import ResultEntry, rank_class

DIFFER_SHOWN = 10  # places that differ from the file's, named in the log


def _row(r: PersonResultRecord, cls: ClassResultRecord, line: int, id_type: str) -> EntryRow:
    p = r.person
    cards: dict[str | None, Any] = {}
    if r.card is not None and r.card.number.isdigit():
        cards[r.card.system] = int(r.card.number)
    return EntryRow(
        line=line,
        entry_identifiers={id_type: r.entry_id} if r.entry_id else {},
        person_identifiers={k or id_type: v for k, v in p.ids.items()},
        given_name=p.given or ABSENT, family_name=p.family or ABSENT, sex=p.sex or ABSENT,
        birth_year=p.birth_year if p.birth_year is not None else ABSENT,
        birth_date=p.birth_date or ABSENT,
        class_name=cls.class_def.name,
        organisation_name=r.organisation.name if r.organisation else ABSENT,
        cards=cards,
        bib=int(r.bib) if r.bib and r.bib.isdigit() else ABSENT,
    )


RESULT_STEP = 2000  # results written per committed step
# One result per entry: a second import of the same runner updates it (a re-run after a stop too).
_UPSERT_RESULT = (
    "INSERT INTO result(entry_id, status, start_time, finish_time, time, splits, missing, station_data_id, "
    "computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?) ON CONFLICT(entry_id) DO UPDATE SET "
    "status=excluded.status, start_time=excluded.start_time, finish_time=excluded.finish_time, "
    "time=excluded.time, splits=excluded.splits, missing=excluded.missing, station_data_id=NULL, "
    "computed_at=excluded.computed_at")


class ImportResultsJob(Job):
    id = "import-results"
    title = "Import Results"
    category = "Results"
    description = (
        "Imports an IOF XML 3.0 ResultList from another program as the results of a race (the 'race' "
        "setting): for multi-day totals with stages timed elsewhere, and to compare. Runners become "
        "entries as an entry import makes them; times keep their tenths. Relay classes (team results) "
        "become teams with their runners, leg times and standings after each leg, as the relay list "
        "shows them. Lenient: decimal commas, no namespace, windows-1252 are read with a warning."
    )
    settings = Schema((
        FILE,
        RACE,
        Setting("id_type", "text", "Identifier type", "Identifier type for ids without one (e.g. Eventor).", default="Eventor"),
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
        try:
            # Clock times without an offset are the event's (as the other importers read them).
            doc = iof.read_result_list(data, tz=event_zone())
        except iof.IofError as exc:
            raise JobError(f"{ctx.settings['file']}: {exc}") from None
        for w in doc.warnings:
            ctx.warning(w)
        race = resolve_race(ctx, create=True, event_name=doc.event.name or None, race_date=doc.event.date)
        number = race.race_number
        id_type = str(ctx.settings.get("id_type") or "Eventor")
        teams: ir.TeamResultDoc | None = None
        if doc.team_results:
            try:
                teams = ir.read_team_results(data, tz=event_zone(race), race_number=number)
            except iof.IofError as exc:
                raise JobError(f"{ctx.settings['file']}: {exc}") from None
            for w in teams.warnings:
                ctx.warning(w)
        # A ResultList of several races marks each Result with its race number: this race's only.
        picked: list[tuple[ClassResultRecord, PersonResultRecord, EntryRow]] = []
        other_races = 0
        for cls in doc.classes:
            for r in cls.results:
                if r.race_number is not None and number is not None and r.race_number != number:
                    other_races += 1
                    continue
                line = r.line if r.line is not None else len(picked) + 1
                picked.append((cls, r, _row(r, cls, line, id_type)))
        individual = sum(1 for c in doc.classes if c.results)
        relay_part = f" and {len(teams.teams)} relay teams in {len(teams.classes)} classes" if teams is not None else ""
        ctx.info(f"IOF XML ResultList with {len(picked)} results in {individual} classes{relay_part}"
                 + (f" from {doc.creator}" if doc.creator else "") + f", into race {number or race.id} '{race.name}'")
        if other_races:
            ctx.info(f"{other_races} results of other races in the file left out")
        resolution = float(race.event.time_resolution or 1.0)
        finer = sorted({c.time_resolution for c in doc.classes if c.time_resolution < resolution}
                       | {r for r in (teams.resolutions.values() if teams else ()) if r < resolution})
        if finer:
            ctx.warning(f"the file's times have a resolution of {finer[0]:g} s; the event ranks at {resolution:g} s "
                        f"(set the event's time resolution to {finer[0]:g} to rank as the file does)")
        importer = _Importer(ctx, race.id, id_type)
        counts = {"created": 0, "updated": 0, "unchanged": 0, "kept": 0}
        now = time.time()
        # Written in committed steps (jobs/steps.py): the relay teams first, in one step (their import
        # checks the file as it writes: a problem there must find nothing written yet), then the runners
        # as Import Entries writes them, then the results worked out in memory (no lock held).
        with StopReport(StepWriter(ctx)) as writer:
            relay: list[Any] = []
            if teams and teams.teams:
                writer.step(lambda c: relay.append(_import_teams(ctx, c, race.id, teams, id_type, now)))
            relay_done = relay[0] if relay else None
            entry_of = importer.rows_in_steps([row for _, _, row in picked], writer)
            conn = ctx.db.connection()
            timed_here = {e for (e,) in conn.execute(
                "SELECT DISTINCT sd.entry_id FROM station_data sd JOIN entry e ON e.id = sd.entry_id "
                "WHERE e.race_id=? AND sd.active=1", (race.id,))}
            old = {r[0]: r[1:] for r in conn.execute(
                "SELECT r.entry_id, r.status, r.start_time, r.finish_time, r.time, r.splits FROM result r "
                "JOIN entry e ON e.id = r.entry_id WHERE e.race_id=?", (race.id,))}
            upserts: list[tuple[Any, ...]] = []
            for (_, r, row), eid in zip(picked, entry_of, strict=True):
                ctx.check()
                if eid is None:
                    continue  # not imported as an entry (ambiguous): said in the log by line
                if eid in timed_here:
                    counts["kept"] += 1
                    importer.note("warning", f"line {row.line}: {r.person.name} has station data here: "
                                             "the result is computed from it and not overwritten")
                    continue
                splits = json.dumps([[s.code, s.time if s.status != "Missing" else None]
                                     for s in r.splits if s.status != "Additional"])
                missing = " ".join(s.code for s in r.splits if s.status == "Missing") or None
                new = (r.status, r.start_time.timestamp() if r.start_time else None,
                       r.finish_time.timestamp() if r.finish_time else None, r.time, splits)
                if old.get(eid) == new:
                    counts["unchanged"] += 1
                    continue
                counts["updated" if eid in old else "created"] += 1
                upserts.append((eid, *new[:4], splits, missing, now))
                old[eid] = new
            writer.write("results", upserts, RESULT_STEP, lambda c, chunk: c.executemany(_UPSERT_RESULT, chunk))
        if picked:
            importer.report()
            ctx.info(f"results: {counts['created']} created, {counts['updated']} updated, {counts['unchanged']} unchanged, "
                     f"{counts['kept']} kept (timed here)")
            self._compare(ctx, picked, resolution)
        if relay_done is not None:
            _compare_teams(ctx, race.id, relay_done, resolution)

    @staticmethod
    def _compare(ctx: RunContext, picked: list[tuple[ClassResultRecord, PersonResultRecord, EntryRow]],
                 resolution: float) -> None:
        """The file's places against this program's ranking of the same times at the event's resolution."""
        by_class: dict[str, list[tuple[int, int, PersonResultRecord]]] = {}
        for i, (cls, r, row) in enumerate(picked):
            by_class.setdefault(cls.class_def.name, []).append((i, row.line, r))
        with_place = agree = 0
        differ: list[str] = []
        unplaced = [name for name, results in by_class.items() if all(r.position is None for _, _, r in results)]
        if unplaced:
            # A list without places (some programs leave them out) has nothing to compare.
            ctx.info(f"the file gives no places in {len(unplaced)} classes ({', '.join(unplaced[:5])}"
                     f"{' …' if len(unplaced) > 5 else ''}): not compared")
        for name, results in by_class.items():
            if name in unplaced:
                continue
            known = {s.value for s in Status}
            ranked = rank_class([ResultEntry(i, r.person.name, Status(r.status) if r.status in known else Status.INACTIVE,
                                             r.time) for i, _, r in results], resolution=resolution)
            ours = {row.key: row.place for row in ranked}
            for i, line, r in results:
                if r.position is None and ours[i] is None:
                    continue
                with_place += 1
                if r.position == ours[i]:
                    agree += 1
                elif len(differ) < DIFFER_SHOWN:
                    differ.append(f"line {line}: {r.person.name} ({name}) is {r.position or 'unplaced'} in the file, "
                                  f"{ours[i] or 'unplaced'} here")
        if with_place:
            ctx.info(f"places as the file: {agree} of {with_place} agree at {resolution:g} s resolution")
        for d in differ:
            ctx.warning(d)


# ---- relay classes (TeamResult) ----------------------------------------------------------------------

TEAMS_SHOWN = 20  # teams kept or refused, named in the log one by one


def _ts(d: datetime | None) -> float | None:
    return d.timestamp() if d is not None else None


def _status(value: str) -> Status:
    return Status(value) if value in Status._value2member_map_ else Status.INACTIVE


def _named(m: ir.TeamMemberResultRecord) -> bool:
    """A runner on the position (the file may list an empty position with a status only)."""
    return m.person is not None or bool(m.cards)


@dataclass(frozen=True)
class FileLegs:
    """A team's legs from the file's member results, as relay_timing stores them (team_result)."""

    legs: tuple[dict[str, Any], ...]
    status: Status
    start: float | None
    finish: float | None
    time: float | None
    # The runner whose OverallResult is the team's standing after the leg (per leg): for the places.
    deciding: dict[int, ir.TeamMemberResultRecord]


def _deciding(settings: relay.LegSettings, ms: Sequence[ir.TeamMemberResultRecord]) -> ir.TeamMemberResultRecord | None:
    """The runner who closes the leg: the only one, or of parallel runners the first OK finisher
    (ParallelRule.FIRST) or the last finisher when all are OK (ALL)."""
    if len(ms) == 1:
        return ms[0]
    ok = [m for m in ms if m.status == "OK"]

    def finish(m: ir.TeamMemberResultRecord) -> float:
        t = _ts(m.finish_time)
        return t if t is not None else (m.time if m.time is not None else float("inf"))

    if settings.parallel is relay.ParallelRule.FIRST:
        return min(ok, key=finish) if ok else None
    return max(ms, key=finish) if ms and len(ok) == len(ms) else None


def team_legs(cls: relay.RelayClass, members: Sequence[ir.TeamMemberResultRecord]) -> FileLegs:
    """Each leg's status, start, changeover and time and the team's standing after it, from the
    file's member results: the leg's status and changeover by the relay rules (relay._combine_leg,
    the class's parallel rule), the leg time the closing runner's Time, the standing after the leg
    the file's OverallResult; where the file has no OverallResult, the relay rules compute it
    (relay._team_status, times summed). The team: its standing after the last leg."""
    any_data = any(_named(m) and m.status not in ("DidNotStart", "Inactive") for m in members)
    legs: list[dict[str, Any]] = []
    deciding: dict[int, ir.TeamMemberResultRecord] = {}
    so_far: list[tuple[Status, bool]] = []
    cumulative: float | None = 0.0
    for leg_no, settings in enumerate(cls.legs, 1):
        on_leg = sorted((m for m in members if m.leg == leg_no), key=lambda m: m.leg_order or 1)
        runners = [m for m in on_leg if _named(m)]
        results = [relay.MemberResult(leg_no, m.leg_order or 1, m.person.name if m.person else "", None, None,
                                      _status(m.status), _ts(m.start_time), _ts(m.finish_time), m.time)
                   for m in runners]
        status, start, changeover = relay._combine_leg(leg_no, settings, results)
        if settings.parallel is relay.ParallelRule.FIRST and any(m.status == "OK" for m in runners):
            status = Status.OK  # one OK runner closes the leg, even without finish times in the file
        closer = _deciding(settings, runners) if runners else None
        if closer is not None:
            deciding[leg_no] = closer
        leg_time = None
        if status is Status.OK:
            if closer is not None and closer.time is not None:
                leg_time = closer.time
            elif changeover is not None and start is not None:
                leg_time = changeover - start
        cumulative = cumulative + leg_time if cumulative is not None and leg_time is not None else None
        so_far.append((status, bool(runners)))
        overall_status = relay._team_status(so_far, any_data)
        overall_time = cumulative if overall_status is Status.OK else None
        given = closer.overall if closer is not None and closer.overall is not None else \
            next((m.overall for m in on_leg if m.overall is not None), None)
        if given is not None:
            overall_status = _status(given.status)
            if given.time is not None and overall_status in (Status.OK, Status.OVER_TIME):
                overall_time = cumulative = given.time
            elif overall_status is not Status.OK:
                overall_time = None
        legs.append({"leg": leg_no, "status": status.value, "start": start, "changeover": changeover, "time": leg_time,
                     "overall_status": overall_status.value, "overall_time": overall_time, "restarted": False})
    if not legs:
        return FileLegs((), Status.DID_NOT_START, None, None, None, deciding)
    last = legs[-1]
    team_status = Status(last["overall_status"])
    return FileLegs(tuple(legs), team_status, legs[0]["start"], last["changeover"],
                    last["overall_time"] if team_status in (Status.OK, Status.OVER_TIME) else None, deciding)


def _parallel_rule(rec_teams: Sequence[ir.TeamResultRecord], leg: int) -> relay.ParallelRule | None:
    """How the file's parallel runners of `leg` changed over: at the first finish (FIRST) or the
    last (ALL), from the next leg's start times; None when the file does not show it."""
    votes: dict[relay.ParallelRule, int] = defaultdict(int)
    for t in rec_teams:
        finishes = [f for m in t.members if m.leg == leg and _named(m) and (f := _ts(m.finish_time)) is not None]
        nexts = [s for m in t.members if m.leg == leg + 1 and (s := _ts(m.start_time)) is not None]
        if len(finishes) < 2 or not nexts:
            continue
        changeover = min(nexts)
        first, last = abs(changeover - min(finishes)) < 1, abs(changeover - max(finishes)) < 1
        if first != last:
            votes[relay.ParallelRule.FIRST if first else relay.ParallelRule.ALL] += 1
    return max(votes, key=lambda k: votes[k]) if votes else None


@dataclass
class TeamsDone:
    """What _import_teams wrote, for the comparison with the file's places."""

    teams: list[tuple[int, ir.TeamResultRecord, FileLegs]]
    class_ids: set[int]


def _import_teams(ctx: RunContext, conn: sqlite3.Connection, race_id: int, doc: ir.TeamResultDoc, id_type: str,
                  now: float) -> TeamsDone:
    """The file's teams, runners and results into the race (inside the caller's transaction)."""
    importer = TeamImporter(conn, race_id, ctx.log, id_type=id_type, card_type=str(ctx.settings.get("card_type") or "SI"),
                            now=now)
    timed_here = {t for (t,) in conn.execute(
        "SELECT DISTINCT m.team_id FROM team_member m JOIN team t ON t.id = m.team_id "
        "JOIN station_data sd ON sd.entry_id = m.entry_id WHERE t.race_id=? AND sd.active=1", (race_id,))}
    kept: list[str] = []
    chosen: list[ir.TeamResultRecord] = []
    for rec in doc.teams:
        found = importer.existing(rec.as_team())
        label = f"line {rec.line}: team '{rec.name}'" if rec.line else f"team '{rec.name}'"
        if found is not None and found[0] in timed_here:
            kept.append(f"{label} has station data here: its results are computed from it and not overwritten")
        elif found is not None and found[1]:
            kept.append(f"{label} was edited by hand: neither the team nor its results are overwritten")
        else:
            chosen.append(rec)
    for k in kept[:TEAMS_SHOWN]:
        ctx.warning(k)
    if len(kept) > TEAMS_SHOWN:
        ctx.warning(f"… and {len(kept) - TEAMS_SHOWN} more teams kept")
    # Courses link a runner to the course data of this race; names of courses this race does not
    # have (the usual case for a list timed elsewhere) are left out in one line, not one per runner.
    courses = {n for (n,) in conn.execute("SELECT name FROM course WHERE race_id=?", (race_id,))}
    unknown = {m.course.name for t in chosen for m in t.members if m.course is not None and m.course.name not in courses}
    if unknown:
        ctx.info(f"courses {', '.join(sorted(unknown)[:10])}{' …' if len(unknown) > 10 else ''} are not in this race: "
                 "the legs are not linked to them (split times are kept with each result)")
    records = [_without_unknown(rec.as_team(), courses) for rec in chosen]
    had_legs = {key for key, (cid, _) in importer.classes.items() if importer.legs.get(cid)}
    try:
        counts = importer.write(records, doc.classes)
    except RelayImportError as exc:
        for p in exc.problems[:500]:
            ctx.warning(p)
        more = f" (and {len(exc.problems) - 1} more: see the log)" if len(exc.problems) > 1 else ""
        raise JobError(f"{ctx.settings['file']}: relay results: {exc.problems[0]}{more}; nothing was changed") from None
    ctx.info("relay " + counts.summary())
    # A relay class this import created has its legs from the file: a parallel leg changes over
    # as the file's times show (the IOF example's fastest runner of three changes over).
    for key in {name_key(t.class_name) for t in chosen} - had_legs:
        cid, cname = importer.classes[key]
        in_class = [t for t in chosen if name_key(t.class_name) == key]
        for leg, runners in [(r[0], r[1]) for r in importer.legs.get(cid, [])]:
            rule = _parallel_rule(in_class, leg) if runners > 1 else None
            if rule is not None:
                conn.execute("UPDATE relay_leg SET parallel=? WHERE class_id=? AND leg=?", (rule.value, cid, leg))
                ctx.info(f"class {cname} leg {leg}: {'the first' if rule is relay.ParallelRule.FIRST else 'the last'} "
                         "of the parallel runners changes over (as the file's times show)")
    rr = load_relay(conn, race_id)
    done = TeamsDone([], set())
    old_team = {r[0]: tuple(r[1:]) for r in conn.execute(
        "SELECT r.team_id, r.status, r.start_time, r.finish_time, r.time, r.legs FROM team_result r "
        "JOIN team t ON t.id = r.team_id WHERE t.race_id=?", (race_id,))}
    old_member = {r[0]: tuple(r[1:]) for r in conn.execute(
        "SELECT r.entry_id, r.status, r.start_time, r.finish_time, r.time, r.splits FROM result r "
        "JOIN team_member m ON m.entry_id = r.entry_id JOIN team t ON t.id = m.team_id WHERE t.race_id=?", (race_id,))}
    tally = {"created": 0, "updated": 0, "unchanged": 0}
    for rec, as_team in zip(chosen, records, strict=True):
        ctx.check()
        found = importer.existing(as_team)
        if found is None or found[0] not in rr.teams:
            continue  # not written (the importer said why)
        info = rr.teams[found[0]]
        legs = team_legs(rr.classes[info.class_id].settings, rec.members)
        done.teams.append((info.id, rec, legs))
        done.class_ids.add(info.class_id)
        for m in rec.members:
            eid = info.entries.get((m.leg or 0, m.leg_order or 1))
            if eid is None or not _named(m):
                continue
            splits = json.dumps([[s.code, s.time if s.status != "Missing" else None]
                                 for s in m.splits if s.status != "Additional"])
            missing = " ".join(s.code for s in m.splits if s.status == "Missing") or None
            new = (m.status, _ts(m.start_time), _ts(m.finish_time), m.time, splits)
            if old_member.get(eid) != new:
                conn.execute(
                    "INSERT INTO result(entry_id, status, start_time, finish_time, time, splits, missing, station_data_id, "
                    "computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?) ON CONFLICT(entry_id) DO UPDATE SET "
                    "status=excluded.status, start_time=excluded.start_time, finish_time=excluded.finish_time, "
                    "time=excluded.time, splits=excluded.splits, missing=excluded.missing, station_data_id=NULL, "
                    "computed_at=excluded.computed_at", (eid, *new[:4], splits, missing, now))
        legs_json = json.dumps(list(legs.legs), separators=(",", ":"))
        new_team = (legs.status.value, legs.start, legs.finish, legs.time, legs_json)
        if old_team.get(info.id) == new_team:
            tally["unchanged"] += 1
            continue
        tally["updated" if info.id in old_team else "created"] += 1
        conn.execute(
            "INSERT INTO team_result(team_id, status, start_time, finish_time, time, legs, computed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(team_id) DO UPDATE SET status=excluded.status, "
            "start_time=excluded.start_time, finish_time=excluded.finish_time, time=excluded.time, legs=excluded.legs, "
            "computed_at=excluded.computed_at", (info.id, *new_team, now))
    ctx.info(f"team results: {tally['created']} created, {tally['updated']} updated, {tally['unchanged']} unchanged, "
             f"{len(kept)} kept")
    return done


def _without_unknown(rec: ir.TeamRecord, courses: set[str]) -> ir.TeamRecord:
    return replace(rec, members=tuple(replace(m, course=None) if m.course is not None and m.course.name not in courses
                                      else m for m in rec.members))


def _compare_teams(ctx: RunContext, race_id: int, done: TeamsDone, resolution: float) -> None:
    """The file's team places and leg places against this program's ranking of what was stored,
    at the event's resolution: what the Results view and the relay list show."""
    conn = ctx.db.connection()
    standings = relay_timing.standings(conn, race_id, class_ids=done.class_ids, resolution=resolution)
    ranked = {int(str(rt.result.team.key)): rt for c in standings for rt in c.ranking.teams}
    team_total = team_agree = leg_total = leg_agree = 0
    differ: list[str] = []
    # Files that give no standings (no OverallResult) or no leg places have nothing to compare.
    with_overall = any(m.overall is not None for _, rec, _ in done.teams for m in rec.members)
    with_leg_places = any(m.position is not None for _, rec, _ in done.teams for m in rec.members)
    for tid, rec, legs in done.teams:
        rt = ranked.get(tid)
        if rt is None:
            continue
        last = legs.deciding.get(len(rt.legs)) if rt.legs else None
        file_place = last.overall.position if last is not None and last.overall is not None else None
        if with_overall and (file_place is not None or rt.place is not None):
            team_total += 1
            if file_place == rt.place:
                team_agree += 1
            elif len(differ) < DIFFER_SHOWN:
                differ.append(f"line {rec.line}: team '{rec.name}' ({rec.class_name}) is {file_place or 'unplaced'} "
                              f"in the file, {rt.place or 'unplaced'} here")
        for rl in rt.legs if with_leg_places else ():
            m = legs.deciding.get(rl.result.leg)
            if m is None or len([x for x in rec.members if x.leg == rl.result.leg and _named(x)]) != 1:
                continue  # leg places are for legs of one runner (as the relay list writes them)
            if m.position is None and rl.place is None:
                continue
            leg_total += 1
            if m.position == rl.place:
                leg_agree += 1
            elif len(differ) < DIFFER_SHOWN:
                differ.append(f"line {m.line}: {m.person.name if m.person else '?'} (team '{rec.name}' leg "
                              f"{rl.result.leg}) is {m.position or 'unplaced'} on the leg in the file, "
                              f"{rl.place or 'unplaced'} here")
    if team_total:
        ctx.info(f"team places as the file: {team_agree} of {team_total} agree at {resolution:g} s resolution")
    elif not with_overall:
        ctx.info("the file gives no team standings (OverallResult): computed by the relay rules, not compared")
    if leg_total:
        ctx.info(f"leg places as the file: {leg_agree} of {leg_total} agree")
    for d in differ:
        ctx.warning(d)
    ctx.info("relay results are shown in the Results view and written by Relay List (team and leg places, "
             "standings after each leg); Result List leaves relay classes to Relay List, and Total Results "
             "totals runners, not teams: a relay runner's leg counts there as the runner's stage result")
