"""Relays in the database: load relay classes and teams as relay.py's plain data, import teams
(IOF TeamEntry / TeamStart / CSV) and relay course assignments, prepare bibs, forking and starts.

Glue only: the rules are in orienteering/relay.py. Every writer here runs inside the caller's
transaction and raises RelayImportError before writing anything when the input is bad, so the
database is unchanged on error.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from t4o_tui.jobs.event_data import name_key
from t4o_tui.jobs.steps import StepWriter
from t4o_tui.orienteering import relay
from t4o_tui.orienteering.iof_relay import (
    RelayClassDef,
    TeamCourseRecord,
    TeamMemberRecord,
    TeamRecord,
)
from t4o_tui.orienteering.model import ClassCourseAssignment, CourseData, Person
from t4o_tui.orienteering.punch_check import StartSource
from t4o_tui.store.backend_sqlite import backend_of

Log = Callable[[str, str], None]
"""(level, message): the run's log."""


class RelayImportError(ValueError):
    """Bad relay input: `problems` lists every one, each naming the team and the leg."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)


# ---- loading ---------------------------------------------------------------------------------------


@dataclass
class RelayClassInfo:
    id: int
    name: str
    settings: relay.RelayClass
    leg_ids: dict[int, int]  # leg number -> relay_leg id
    bib_start: int | None
    result_type: str


@dataclass
class TeamInfo:
    id: int
    class_id: int
    name: str
    bib: str | None
    clubs: list[str]
    status: str
    team: relay.Team
    forking: dict[relay.Slot, str]  # position -> course name
    position_ids: dict[relay.Slot, int]  # position -> team_member id
    entries: dict[relay.Slot, int]  # position -> entry id


@dataclass
class RelayRace:
    race_id: int
    classes: dict[int, RelayClassInfo] = field(default_factory=dict)
    teams: dict[int, TeamInfo] = field(default_factory=dict)
    course_ids: dict[str, int] = field(default_factory=dict)  # name -> id
    course_names: dict[int, str] = field(default_factory=dict)
    member_of: dict[int, tuple[int, relay.Slot]] = field(default_factory=dict)  # entry -> (team, position)

    def by_class(self, class_id: int) -> list[TeamInfo]:
        return sorted((t for t in self.teams.values() if t.class_id == class_id), key=lambda t: bib_order(t.bib, t.name))


def bib_order(bib: str | None, name: str) -> tuple[int, int, str, str]:
    """Teams by bib, numerically where the bib is a number, teams without a bib last."""
    if bib is None or bib == "":
        return (2, 0, "", name.casefold())
    return (0, int(bib), "", name.casefold()) if bib.isdigit() else (1, 0, bib, name.casefold())


def relay_class_ids(conn: sqlite3.Connection, race_id: int) -> set[int]:
    """The race's relay classes: those with legs."""
    return {r[0] for r in conn.execute(
        "SELECT DISTINCT l.class_id FROM relay_leg l JOIN class c ON c.id = l.class_id WHERE c.race_id=?", (race_id,))}


def load_relay(conn: sqlite3.Connection, race_id: int, *, class_ids: Iterable[int] | None = None) -> RelayRace:
    """The race's relay classes, courses and teams (all, or of `class_ids`) in a handful of queries."""
    rr = RelayRace(race_id)
    for cid, name in conn.execute("SELECT id, name FROM course WHERE race_id=?", (race_id,)):
        rr.course_ids[name] = cid
        rr.course_names[cid] = name
    wanted = set(class_ids) if class_ids is not None else None
    legs: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    leg_courses: dict[int, list[str]] = defaultdict(list)
    for leg_id, course_id in conn.execute(
            "SELECT lc.relay_leg_id, lc.course_id FROM relay_leg_course lc JOIN relay_leg l ON l.id = lc.relay_leg_id "
            "JOIN class c ON c.id = l.class_id WHERE c.race_id=? ORDER BY lc.relay_leg_id, lc.course_id", (race_id,)):
        leg_courses[leg_id].append(rr.course_names[course_id])
    for row in conn.execute(
            "SELECT l.class_id, l.id, l.leg, l.runners, l.min_runners, l.parallel, l.restart, l.max_time FROM relay_leg l "
            "JOIN class c ON c.id = l.class_id WHERE c.race_id=? ORDER BY l.class_id, l.leg", (race_id,)):
        legs[row[0]].append(row)
    for cid, name, first_start, max_time, start_source, multi, bib_start, result_type in conn.execute(
            "SELECT id, name, first_start, max_time, start_source, relay_multi_leg, bib_start, result_type FROM class "
            "WHERE race_id=?", (race_id,)):
        if cid not in legs or (wanted is not None and cid not in wanted):
            continue
        rows = legs[cid]
        settings = relay.RelayClass(
            name, tuple(relay.LegSettings(tuple(sorted(leg_courses.get(r[1], []))), r[3], r[4],
                                          relay.ParallelRule(r[5]) if r[5] in ("all", "first") else relay.ParallelRule.ALL,
                                          r[6], r[7]) for r in rows),
            mass_start=first_start, max_time=max_time,
            start_source=StartSource.PUNCH if start_source == "punch" else StartSource.DRAWN,
            several_legs_per_runner=bool(multi))
        if len(rows) != rows[-1][2]:
            # Legs are numbered 1..n; a gap would shift every later leg.
            raise RelayImportError([f"class '{name}': legs {[r[2] for r in rows]} are not numbered 1..{len(rows)}"])
        rr.classes[cid] = RelayClassInfo(cid, name, settings, {r[2]: r[1] for r in rows}, bib_start, result_type or "normal")
    if not rr.classes:
        return rr
    marks = ",".join("?" * len(rr.classes))
    clubs: dict[int, list[str]] = defaultdict(list)
    for tid, oname in conn.execute(
            f"SELECT t.id, o.name FROM team_organisation tor JOIN team t ON t.id = tor.team_id "
            f"JOIN organisation o ON o.id = tor.organisation_id WHERE t.class_id IN ({marks}) ORDER BY tor.seq",
            list(rr.classes)):
        clubs[tid].append(oname)
    teams: dict[int, tuple[Any, ...]] = {}
    for row in conn.execute(f"SELECT id, class_id, name, bib, status FROM team WHERE race_id=? AND class_id IN ({marks}) "
                            "AND status != 'withdrawn'", [race_id, *rr.classes]):
        teams[row[0]] = row
    members: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in conn.execute(
            f"SELECT m.team_id, m.id, m.leg, m.leg_order, m.entry_id, m.start_time, m.course_id, e.person_id, "
            f"TRIM(COALESCE(p.given, '') || ' ' || COALESCE(p.family, '')), "
            f"(SELECT cd.number FROM entry_card ec JOIN card cd ON cd.id = ec.card_id WHERE ec.entry_id = e.id "
            f" ORDER BY cd.id LIMIT 1), e.status "
            f"FROM team_member m JOIN team t ON t.id = m.team_id LEFT JOIN entry e ON e.id = m.entry_id "
            f"LEFT JOIN person p ON p.id = e.person_id WHERE t.class_id IN ({marks}) ORDER BY m.leg, m.leg_order",
            list(rr.classes)):
        members[row[0]].append(row)
    for tid, (_, class_id, name, bib, status) in teams.items():
        forking: dict[relay.Slot, str] = {}
        position_ids: dict[relay.Slot, int] = {}
        entries: dict[relay.Slot, int] = {}
        people = []
        for _, mid, leg, order, eid, start, course_id, pid, pname, card, estatus in members.get(tid, []):
            slot = (leg, order)
            position_ids[slot] = mid
            if course_id is not None and course_id in rr.course_names:
                forking[slot] = rr.course_names[course_id]
            if eid is None or estatus == "withdrawn":
                continue
            entries[slot] = eid
            rr.member_of[eid] = (tid, slot)
            people.append(relay.TeamMember(leg, order, pname or "", str(card) if card else None,
                                           ("person", pid) if pid is not None else ("entry", eid), start))
        team = relay.Team(tid, name, bib, ", ".join(clubs.get(tid, [])) or None, tuple(people),
                          not_competing=status == "not_competing")
        rr.teams[tid] = TeamInfo(tid, class_id, name, bib, clubs.get(tid, []), status, team, forking, position_ids, entries)
    return rr


# ---- import ------------------------------------------------------------------------------------------


@dataclass
class ImportCounts:
    teams_created: int = 0
    teams_updated: int = 0
    teams_unchanged: int = 0
    runners_created: int = 0
    runners_updated: int = 0
    classes_created: int = 0
    legs_created: int = 0

    def summary(self) -> str:
        return (f"teams: {self.teams_created} created, {self.teams_updated} updated, {self.teams_unchanged} unchanged; "
                f"runners: {self.runners_created} created, {self.runners_updated} updated"
                + (f"; {self.classes_created} relay classes created" if self.classes_created else "")
                + (f"; {self.legs_created} legs set up" if self.legs_created else ""))


def _team_label(rec: TeamRecord) -> str:
    return f"team '{rec.name}'" + (f" (bib {rec.bib})" if rec.bib else "") + (f" from line {rec.line}" if rec.line else "")


def _person_key(p: Person | None, card: str | None) -> Any:
    if p is None:
        return ("card", card) if card else None
    if p.ids:
        return ("ids", tuple(sorted(p.ids.items())))
    return ("name", p.given.casefold(), p.family.casefold())


class TeamImporter:
    """Writes teams of one file into a race; `check` first (no writes), then `write`."""

    def __init__(self, conn: sqlite3.Connection, race_id: int, log: Log, *, id_type: str = "IOF",
                 card_type: str = "SI", now: float | None = None) -> None:
        self.conn, self.race_id, self.log, self.id_type, self.card_type = conn, race_id, log, id_type, card_type
        self.now = now if now is not None else time.time()
        self.counts = ImportCounts()
        self.mass_classes: set[str] = set()
        self.classes = {name_key(n): (cid, n) for cid, n in conn.execute("SELECT id, name FROM class WHERE race_id=?", (race_id,))}
        self.legs: dict[int, list[tuple[int, int, int]]] = defaultdict(list)  # class -> [(leg, runners, min)]
        for cid, leg, runners, low in conn.execute(
                "SELECT l.class_id, l.leg, l.runners, l.min_runners FROM relay_leg l JOIN class c ON c.id = l.class_id "
                "WHERE c.race_id=? ORDER BY l.leg", (race_id,)):
            self.legs[cid].append((leg, runners, low))

    # -- the plan: classes and legs as they will be, every team checked -----------------------------

    def plan_legs(self, teams: Sequence[TeamRecord], declared: Sequence[RelayClassDef]) -> dict[str, tuple[int, ...]]:
        """Class name -> max runners per leg as the import will leave it: the database's legs when the
        class has some, else the file's Class/Leg, else what the teams use (most legs, most runners)."""
        out: dict[str, tuple[int, ...]] = {}
        decl = {name_key(c.class_def.name): c for c in declared if c.legs}
        used: dict[str, dict[int, int]] = defaultdict(dict)
        for t in teams:
            if t.class_name is None:
                continue
            for m in t.members:
                if m.leg is not None:
                    d = used[name_key(t.class_name)]
                    d[m.leg] = max(d.get(m.leg, 1), m.leg_order or 1)
        for t in teams:
            if t.class_name is None:
                continue
            key = name_key(t.class_name)
            if key in out:
                continue
            known = self.classes.get(key)
            if known is not None and self.legs.get(known[0]):
                out[key] = tuple(r for _, r, _ in self.legs[known[0]])
            elif key in decl:
                out[key] = tuple(leg.max_runners for leg in decl[key].legs)
            else:
                u = used.get(key, {})
                out[key] = tuple(u.get(i, 1) for i in range(1, max(u, default=0) + 1))
        return out

    def check(self, teams: Sequence[TeamRecord], declared: Sequence[RelayClassDef]) -> list[str]:
        """Every problem of the file's teams, each naming the team and the leg; nothing is written."""
        problems: list[str] = []
        legs = self.plan_legs(teams, declared)
        by_class: dict[str, list[relay.Team]] = defaultdict(list)
        labels: dict[object, str] = {}
        for i, t in enumerate(teams):
            if t.class_name is None:
                problems.append(f"{_team_label(t)}: no class")
                continue
            for m in t.members:
                if m.leg is None:
                    problems.append(f"{_team_label(t)}: a runner without a leg"
                                    + (f" (line {m.line})" if m.line else ""))
            key = name_key(t.class_name)
            members = tuple(
                relay.TeamMember(m.leg, m.leg_order or 1, m.person.name if m.person else "",
                                 m.cards[0].number if m.cards else None, _person_key(m.person, None),
                                 line=m.line if m.line != t.line else None)  # the team's own line is said already
                for m in t.members if m.leg is not None and (m.person is not None or m.cards))
            by_class[key].append(relay.Team(i, t.name, t.bib, members=members))
            labels[i] = _team_label(t)
        multi = {name_key(n): bool(v) for n, v in self.conn.execute(
            "SELECT name, relay_multi_leg FROM class WHERE race_id=?", (self.race_id,))}
        for key, class_teams in by_class.items():
            name = next(r.class_name for r in teams if r.class_name and name_key(r.class_name) == key)
            rc = relay.RelayClass(name, tuple(relay.LegSettings(("?",), runners=r) for r in legs[key]),
                                  several_legs_per_runner=multi.get(key, False))
            for team in class_teams:
                p = relay.team_problems(rc, team)
                problems += [msg.replace(team.label(), labels[team.key], 1) for msg in p.errors]
                for w in p.warnings:
                    self.log("warning", w.replace(team.label(), labels[team.key], 1))
            if not legs[key]:
                problems.append(f"class '{name}': no legs (neither the database nor the file says how many)")
        seen: dict[tuple[str, str], str] = {}
        for t in teams:
            if t.bib and t.class_name:
                k = (name_key(t.class_name), t.bib)
                if k in seen:
                    problems.append(f"{_team_label(t)}: bib {t.bib} is also {seen[k]}'s")
                seen.setdefault(k, _team_label(t))
        return problems

    # -- writing ---------------------------------------------------------------------------------------

    def write(self, teams: Sequence[TeamRecord], declared: Sequence[RelayClassDef]) -> ImportCounts:
        problems = self.check(teams, declared)
        if problems:
            raise RelayImportError(problems)
        self._classes(teams, declared)
        for t in teams:
            self._team(t)
        return self.counts

    def write_in_steps(self, teams: Sequence[TeamRecord], declared: Sequence[RelayClassDef], writer: StepWriter,
                       size: int) -> ImportCounts:
        """As `write`, in committed steps (jobs/steps.py): every team checked first (no lock held; a
        problem stops the import with nothing written), then the classes and legs in one step, then
        `size` teams a step. The same file again finds what was written: nothing is doubled."""
        problems = self.check(teams, declared)
        if problems:
            raise RelayImportError(problems)
        writer.step(lambda conn: self._classes(teams, declared))

        def write(conn: Any, chunk: Sequence[TeamRecord]) -> None:
            for t in chunk:
                self._team(t)

        writer.write("teams", teams, size, write)
        return self.counts

    def _classes(self, teams: Sequence[TeamRecord], declared: Sequence[RelayClassDef]) -> None:
        """The relay classes and their legs as the file needs them; which classes start together."""
        legs = self.plan_legs(teams, declared)
        decl = {name_key(c.class_def.name): c for c in declared}
        for key, runners in legs.items():
            name = next(t.class_name for t in teams if t.class_name and name_key(t.class_name) == key)
            self._relay_class(key, name, runners, decl.get(key))
        # One leg-1 start time for every team of a class is the mass start (the class's, set by the
        # job): kept per runner it would hide a later change of the mass start. Different times
        # (a chasing or handicap start) are each runner's own.
        leg1: dict[str, set[float]] = defaultdict(set)
        for t in teams:
            for m in t.members:
                if m.leg == 1 and m.start_time is not None and t.class_name:
                    leg1[name_key(t.class_name)].add(m.start_time.timestamp())
        self.mass_classes = {k for k, v in leg1.items() if len(v) == 1}

    def _relay_class(self, key: str, name: str, runners: tuple[int, ...], declared: RelayClassDef | None) -> int:
        q = self.conn.execute
        known = self.classes.get(key)
        if known is None:
            cid = int(q("INSERT INTO class(race_id, name, start_type) VALUES (?, ?, 'mass')", (self.race_id, name)).lastrowid or 0)
            self.classes[key] = (cid, name)
            self.counts.classes_created += 1
            self.log("info", f"created relay class {name}")
        else:
            cid = known[0]
        if not self.legs.get(cid):
            lows = [leg.min_runners for leg in declared.legs] if declared and len(declared.legs) == len(runners) else []
            for i, r in enumerate(runners, 1):
                low = lows[i - 1] if lows else 1
                q("INSERT INTO relay_leg(class_id, leg, runners, min_runners) VALUES (?, ?, ?, ?)", (cid, i, r, min(low, r)))
                self.legs[cid].append((i, r, low))
            self.counts.legs_created += len(runners)
            q("UPDATE class SET start_type='mass' WHERE id=? AND start_type != 'mass'", (cid,))
            self.log("info", f"class {name}: {len(runners)} legs" + (
                f" (runners per leg {', '.join(map(str, runners))})" if any(r > 1 for r in runners) else ""))
        return cid

    def _org(self, name: str) -> int:
        b = backend_of(self.conn)
        row = self.conn.execute(f"SELECT id FROM organisation WHERE {b.nocase('name')} = {b.nocase('?')} ORDER BY id LIMIT 1",
                                (name,)).fetchone()
        if row:
            return int(row[0])
        return int(self.conn.execute("INSERT INTO organisation(name) VALUES (?)", (name,)).lastrowid or 0)

    def existing(self, rec: TeamRecord) -> tuple[int, bool] | None:
        """The race's team a record would update, as (team id, edited by hand); None: it would be new."""
        known = self.classes.get(name_key(rec.class_name)) if rec.class_name else None
        row = self._find_team(rec, known[0]) if known is not None else None
        return (int(row[0]), bool(row[5])) if row else None

    def _find_team(self, rec: TeamRecord, class_id: int) -> tuple[Any, ...] | None:
        q = self.conn.execute
        cols = "SELECT id, name, bib, identifier, identifier_type, hand_edited, class_id FROM team WHERE race_id=? "
        if rec.entry_id:
            row = q(cols + "AND identifier=? AND COALESCE(identifier_type, '')=?",
                    (self.race_id, rec.entry_id, rec.entry_id_type or self.id_type)).fetchone()
            if row:
                return tuple(row)
        if rec.bib:
            row = q(cols + "AND class_id=? AND bib=?", (self.race_id, class_id, rec.bib)).fetchone()
            if row:
                return tuple(row)
        b = backend_of(self.conn)
        row = q(cols + f"AND class_id=? AND {b.nocase('name')} = {b.nocase('?')}", (self.race_id, class_id, rec.name)).fetchone()
        return tuple(row) if row else None

    def _team(self, rec: TeamRecord) -> None:
        q = self.conn.execute
        assert rec.class_name is not None
        class_id = self.classes[name_key(rec.class_name)][0]
        found = self._find_team(rec, class_id)
        ident_type = (rec.entry_id_type or self.id_type) if rec.entry_id else None
        label = _team_label(rec)
        changed = False
        if found is None:
            tid = int(q("INSERT INTO team(race_id, class_id, name, bib, identifier, identifier_type, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (self.race_id, class_id, rec.name, rec.bib, rec.entry_id,
                                                           ident_type, self.now, self.now)).lastrowid or 0)
            self.counts.teams_created += 1
        else:
            tid, name, bib, ident, itype, hand, old_class = found
            if hand:
                self.log("warning", f"{label}: edited by hand, not overwritten")
                self.counts.teams_unchanged += 1
                return
            want = (rec.name, rec.bib if rec.bib else bib, rec.entry_id or ident, ident_type or itype, class_id)
            if want != (name, bib, ident, itype, old_class):
                q("UPDATE team SET name=?, bib=?, identifier=?, identifier_type=?, class_id=?, status='entered', updated_at=? "
                  "WHERE id=?", (*want, self.now, tid))
                changed = True
        if rec.organisations or found is None:
            orgs = [self._org(o.name) for o in rec.organisations]
            have = [r[0] for r in q("SELECT organisation_id FROM team_organisation WHERE team_id=? ORDER BY seq", (tid,))]
            if have != orgs:
                q("DELETE FROM team_organisation WHERE team_id=?", (tid,))
                q_many = [(tid, o, i) for i, o in enumerate(dict.fromkeys(orgs))]
                self.conn.executemany("INSERT INTO team_organisation(team_id, organisation_id, seq) VALUES (?, ?, ?)", q_many)
                changed = changed or found is not None
        team_org = self._org(rec.organisations[0].name) if rec.organisations else None
        # A file without bibs keeps the bibs given here (Prepare Relay); runners carry the team's.
        team_bib = rec.bib or (found[2] if found is not None else None)
        positions = {(r[1], r[2]): (r[0], r[3]) for r in q(
            "SELECT id, leg, leg_order, entry_id FROM team_member WHERE team_id=?", (tid,))}
        for m in rec.members:
            assert m.leg is not None
            slot = (m.leg, m.leg_order or 1)
            changed = self._member(tid, class_id, rec, slot, m, positions.get(slot), team_org, team_bib) or changed
        if found is not None:
            if changed:
                self.counts.teams_updated += 1
                q("UPDATE team SET updated_at=? WHERE id=?", (self.now, tid))
            else:
                self.counts.teams_unchanged += 1

    def _member(self, tid: int, class_id: int, rec: TeamRecord, slot: relay.Slot, m: TeamMemberRecord,
                position: tuple[int, int | None] | None, team_org: int | None, team_bib: str | None) -> bool:
        q = self.conn.execute
        changed = False
        if position is None:
            mid = int(q("INSERT INTO team_member(team_id, leg, leg_order) VALUES (?, ?, ?)", (tid, *slot)).lastrowid or 0)
            eid: int | None = None
            changed = True
        else:
            mid, eid = position
        start = m.start_time.timestamp() if m.start_time is not None else None
        if slot[0] == 1 and rec.class_name and name_key(rec.class_name) in self.mass_classes:
            start = None  # the mass start: the class's first start
        course_id = None
        if m.course is not None and m.course.name:
            course_id = q("SELECT id FROM course WHERE race_id=? AND name=?", (self.race_id, m.course.name)).fetchone()
            if course_id is None:
                self.log("warning", f"{_team_label(rec)} leg {slot[0]}: course '{m.course.name}' is not known; "
                                    "import the course data first")
            else:
                course_id = course_id[0]
        if m.person is None and not m.cards:
            # The file names nobody for this position: a missing leg (its course stays).
            if eid is not None:
                q("UPDATE team_member SET entry_id=NULL WHERE id=?", (mid,))
                q("UPDATE entry SET status='withdrawn', updated_at=? WHERE id=?", (self.now, eid))
                self.log("info", f"{_team_label(rec)} leg {slot[0]}: runner removed (the file names nobody)")
                changed = True
            return changed
        org = self._org(m.organisation.name) if m.organisation is not None else team_org
        pid = self._person(m.person, eid)
        fields = (class_id, pid, org, team_bib)
        if eid is None:
            eid = int(q("INSERT INTO entry(race_id, class_id, person_id, organisation_id, bib, status, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, 'entered', ?, ?)", (self.race_id, *fields, self.now, self.now)).lastrowid or 0)
            q("UPDATE team_member SET entry_id=? WHERE id=?", (eid, mid))
            self.counts.runners_created += 1
            changed = True
        else:
            old = q("SELECT class_id, person_id, organisation_id, bib, status FROM entry WHERE id=?", (eid,)).fetchone()
            if tuple(old) != (*fields, "entered"):
                q("UPDATE entry SET class_id=?, person_id=?, organisation_id=?, bib=?, status='entered', updated_at=? "
                  "WHERE id=?", (*fields, self.now, eid))
                self.counts.runners_updated += 1
                changed = True
        changed = self._cards(eid, m) or changed
        old_pos = q("SELECT start_time, course_id FROM team_member WHERE id=?", (mid,)).fetchone()
        want_start = start if start is not None else old_pos[0]
        want_course = course_id if course_id is not None else old_pos[1]
        if (want_start, want_course) != tuple(old_pos):
            q("UPDATE team_member SET start_time=?, course_id=? WHERE id=?", (want_start, want_course, mid))
            changed = True
        return changed

    def _person(self, p: Person | None, eid: int | None) -> int | None:
        q = self.conn.execute
        if p is None:
            return None
        for t, v in p.ids.items():
            row = q("SELECT person_id FROM person_identifier WHERE type=? AND value=?", (t or self.id_type, v)).fetchone()
            if row:
                pid = int(row[0])
                self._update_person(pid, p)
                return pid
        if eid is not None:
            row = q("SELECT p.id, p.given, p.family FROM entry e JOIN person p ON p.id = e.person_id WHERE e.id=?", (eid,)).fetchone()
            if row and (row[1].casefold(), row[2].casefold()) == (p.given.casefold(), p.family.casefold()):
                self._update_person(int(row[0]), p)
                self._ids(int(row[0]), p)
                return int(row[0])
        pid = int(q("INSERT INTO person(given, family, sex, birth_date, birth_year, nationality) VALUES (?, ?, ?, ?, ?, ?)",
                    (p.given, p.family, p.sex, p.birth_date.isoformat() if p.birth_date else None, p.birth_year,
                     p.nationality)).lastrowid or 0)
        self._ids(pid, p)
        return pid

    def _ids(self, pid: int, p: Person) -> None:
        for t, v in p.ids.items():
            self.conn.execute("INSERT OR IGNORE INTO person_identifier(person_id, type, value) VALUES (?, ?, ?)",
                              (pid, t or self.id_type, v))

    def _update_person(self, pid: int, p: Person) -> None:
        q = self.conn.execute
        old = q("SELECT given, family, sex, birth_date, birth_year FROM person WHERE id=?", (pid,)).fetchone()
        want = (p.given, p.family, p.sex or old[2], p.birth_date.isoformat() if p.birth_date else old[3],
                p.birth_year or old[4])
        if tuple(old) != want:
            q("UPDATE person SET given=?, family=?, sex=?, birth_date=?, birth_year=? WHERE id=?", (*want, pid))

    def _cards(self, eid: int, m: TeamMemberRecord) -> bool:
        if not m.cards:
            return False
        q = self.conn.execute
        want = []
        for c in m.cards[:1]:
            ctype = c.system or self.card_type
            row = q("SELECT id FROM card WHERE number=? AND card_type=?", (c.number, ctype)).fetchone()
            want.append(int(row[0]) if row else int(q("INSERT INTO card(number, card_type) VALUES (?, ?)",
                                                      (c.number, ctype)).lastrowid or 0))
        have = [r[0] for r in q("SELECT card_id FROM entry_card WHERE entry_id=? ORDER BY card_id", (eid,))]
        if sorted(want) == have:
            return False
        q("DELETE FROM entry_card WHERE entry_id=?", (eid,))
        self.conn.executemany("INSERT INTO entry_card(entry_id, card_id) VALUES (?, ?)", [(eid, c) for c in want])
        return True


# ---- relay course data -------------------------------------------------------------------------------


def _expand(cd: CourseData, a: ClassCourseAssignment) -> list[str]:
    if a.course_name is not None:
        return [a.course_name]
    return [c.name for c in cd.courses if c.family == a.course_family]


def apply_relay_courses(conn: sqlite3.Connection, race_id: int, cd: CourseData, teams: Sequence[TeamCourseRecord],
                        log: Log, *, check_only: bool = False) -> list[str]:
    """Leg courses from ClassCourseAssignment (by AllowedOnLeg; no legs: every leg) for relay
    classes, and each team's forking from TeamCourseAssignment. Returns the problems (and writes
    nothing) when there are any, or when `check_only`."""
    q = conn.execute
    problems: list[str] = []
    in_file = {c.name for c in cd.courses}
    known = {n for (n,) in q("SELECT name FROM course WHERE race_id=?", (race_id,))} | in_file
    classes = {name_key(n): cid for cid, n in q("SELECT id, name FROM class WHERE race_id=?", (race_id,))}
    legs: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    for cid, leg, lid, runners in q("SELECT l.class_id, l.leg, l.id, l.runners FROM relay_leg l JOIN class c ON c.id = l.class_id "
                                    "WHERE c.race_id=?", (race_id,)):
        legs[cid][leg] = (lid, runners)
    leg_courses: dict[int, list[str]] = defaultdict(list)
    for a in cd.assignments:
        cid = classes.get(name_key(a.class_name))
        if cid is None or cid not in legs:
            continue
        names = _expand(cd, a)
        if not names:
            problems.append(f"class '{a.class_name}': course family {a.course_family!r} has no course in the file")
        for leg in a.legs or tuple(legs[cid]):
            if leg not in legs[cid]:
                problems.append(f"class '{a.class_name}' leg {leg}: the class has {len(legs[cid])} legs")
                continue
            leg_courses[legs[cid][leg][0]] += names
    team_rows: dict[tuple[int | None, str], list[int]] = defaultdict(list)
    for tid, cid, bib, name in q("SELECT id, class_id, bib, name FROM team WHERE race_id=? AND status != 'withdrawn'", (race_id,)):
        if bib:
            team_rows[(cid, "bib:" + bib)].append(tid)
            team_rows[(None, "bib:" + bib)].append(tid)
        team_rows[(cid, "name:" + name.casefold())].append(tid)
        team_rows[(None, "name:" + name.casefold())].append(tid)
    team_class = {tid: cid for tid, cid in q("SELECT id, class_id FROM team WHERE race_id=?", (race_id,))}
    plan: list[tuple[int, relay.Slot, str]] = []
    for t in teams:
        cid = classes.get(name_key(t.class_name)) if t.class_name else None
        key = "bib:" + t.bib if t.bib else "name:" + (t.team_name or "").casefold()
        found = team_rows.get((cid, key), [])
        label = f"team {'bib ' + t.bib if t.bib else repr(t.team_name)}" + (f" (line {t.line})" if t.line else "")
        if len(found) != 1:
            log("warning", f"{label}: {'no such team' if not found else f'{len(found)} teams match'}; its courses are skipped")
            continue
        tid = found[0]
        class_legs = legs.get(team_class[tid], {})
        for m in t.members:
            course = m.course_name
            if m.leg is None:
                problems.append(f"{label}: a course assignment without a leg")
                continue
            if m.leg not in class_legs:
                problems.append(f"{label} leg {m.leg}: the class has {len(class_legs)} legs")
                continue
            if course is None:
                problems.append(f"{label} leg {m.leg}: no course name")
                continue
            if course not in known:
                problems.append(f"{label} leg {m.leg}: course '{course}' is not in the file nor in the race")
                continue
            orders = [m.leg_order] if m.leg_order else list(range(1, class_legs[m.leg][1] + 1))
            plan += [(tid, (m.leg, o), course) for o in orders]
    if problems or check_only:
        return problems
    ids = {n: i for i, n in q("SELECT id, name FROM course WHERE race_id=?", (race_id,))}
    for lid, names in leg_courses.items():
        want = sorted({ids[n] for n in names if n in ids})
        have = [r[0] for r in q("SELECT course_id FROM relay_leg_course WHERE relay_leg_id=? ORDER BY course_id", (lid,))]
        if want != have:
            q("DELETE FROM relay_leg_course WHERE relay_leg_id=?", (lid,))
            conn.executemany("INSERT INTO relay_leg_course(relay_leg_id, course_id) VALUES (?, ?)", [(lid, c) for c in want])
            leg, cname = q("SELECT l.leg, c.name FROM relay_leg l JOIN class c ON c.id = l.class_id WHERE l.id=?", (lid,)).fetchone()
            log("info", f"class {cname} leg {leg}: courses {', '.join(n for n in sorted(set(names)))}")
    changed = 0
    for tid, slot, course in plan:
        cid = ids[course]
        row = q("SELECT id, course_id FROM team_member WHERE team_id=? AND leg=? AND leg_order=?", (tid, *slot)).fetchone()
        if row is None:
            q("INSERT INTO team_member(team_id, leg, leg_order, course_id) VALUES (?, ?, ?, ?)", (tid, *slot, cid))
            changed += 1
        elif row[1] != cid:
            q("UPDATE team_member SET course_id=? WHERE id=?", (cid, row[0]))
            changed += 1
    if plan:
        log("info", f"forking from the file: {len(plan)} runner positions, {changed} changed")
    return []


# ---- preparation: legs, bibs, forking, starts --------------------------------------------------------

_LEG_SPEC = re.compile(r"^\s*(\d+)\s*[=:]\s*(.+)$")


def parse_leg_courses(text: str) -> dict[int, list[str]]:
    """'1=A,B,C; 2=A,B,C; 3=D' -> {1: [A, B, C], 2: [...], 3: [D]}."""
    out: dict[int, list[str]] = {}
    for part in re.split(r"[;\n]", text):
        if not part.strip():
            continue
        m = _LEG_SPEC.match(part)
        if not m:
            raise ValueError(f"'{part.strip()}' is not leg=courses (like 1=A,B,C)")
        out[int(m.group(1))] = [c.strip() for c in m.group(2).split(",") if c.strip()]
    return out


def parse_leg_numbers(text: str) -> dict[int, int]:
    """'2=3; 4=2' -> {2: 3, 4: 2}: parallel runners per leg."""
    out: dict[int, int] = {}
    for part in re.split(r"[;,\n]", text):
        if not part.strip():
            continue
        m = _LEG_SPEC.match(part)
        if not m or not m.group(2).strip().isdigit() or int(m.group(2)) < 1:
            raise ValueError(f"'{part.strip()}' is not leg=runners (like 2=3)")
        out[int(m.group(1))] = int(m.group(2))
    return out


def set_up_legs(conn: sqlite3.Connection, class_id: int, class_name: str, count: int | None,
                leg_courses: dict[int, list[str]], restart: float | None, log: Log, *,
                runners: dict[int, int] | None = None, parallel: str | None = None,
                leg_max_time: float | None = None) -> None:
    """Legs of a relay class (created or trimmed to `count`), their courses, parallel runners and
    rule, max leg time, and the restart of legs 2..n."""
    q = conn.execute
    have = [r[0] for r in q("SELECT leg FROM relay_leg WHERE class_id=? ORDER BY leg", (class_id,))]
    if count is not None and count != len(have):
        if count < len(have):
            used = q("SELECT count(*) FROM team_member m JOIN team t ON t.id = m.team_id WHERE t.class_id=? AND m.leg>? "
                     "AND m.entry_id IS NOT NULL", (class_id, count)).fetchone()[0]
            if used:
                raise RelayImportError([f"class '{class_name}': {used} runners are on legs after leg {count}"])
            q("DELETE FROM relay_leg WHERE class_id=? AND leg>?", (class_id, count))
        for leg in range(len(have) + 1, count + 1):
            q("INSERT INTO relay_leg(class_id, leg) VALUES (?, ?)", (class_id, leg))
        q("UPDATE class SET start_type='mass' WHERE id=?", (class_id,))
        log("info", f"class {class_name}: {count} legs")
    legs = {leg: lid for lid, leg in q("SELECT id, leg FROM relay_leg WHERE class_id=?", (class_id,))}
    courses = {n: i for i, n in q("SELECT c.id, c.name FROM course c JOIN class k ON k.race_id = c.race_id WHERE k.id=?", (class_id,))}
    problems = []
    for leg, names in leg_courses.items():
        if leg not in legs:
            problems.append(f"class '{class_name}' leg {leg}: the class has {len(legs)} legs")
        problems += [f"class '{class_name}' leg {leg}: course '{n}' is not known" for n in names if n not in courses]
    if problems:
        raise RelayImportError(problems)
    for leg, names in leg_courses.items():
        q("DELETE FROM relay_leg_course WHERE relay_leg_id=?", (legs[leg],))
        conn.executemany("INSERT INTO relay_leg_course(relay_leg_id, course_id) VALUES (?, ?)",
                         [(legs[leg], courses[n]) for n in dict.fromkeys(names)])
        log("info", f"class {class_name} leg {leg}: courses {', '.join(names)}")
    if restart is not None:
        q("UPDATE relay_leg SET restart=? WHERE class_id=? AND leg>1", (restart, class_id))
    for leg, n in (runners or {}).items():
        if leg not in legs:
            raise RelayImportError([f"class '{class_name}' leg {leg}: the class has {len(legs)} legs"])
        used = q("SELECT max(m.leg_order) FROM team_member m JOIN team t ON t.id = m.team_id WHERE t.class_id=? "
                 "AND m.leg=? AND m.entry_id IS NOT NULL", (class_id, leg)).fetchone()[0] or 0
        if used > n:
            raise RelayImportError([f"class '{class_name}' leg {leg}: teams have {used} runners on it, more than {n}"])
        q(f"UPDATE relay_leg SET runners=?, min_runners={backend_of(conn).least('min_runners', '?')} WHERE id=?",
          (n, n, legs[leg]))
        log("info", f"class {class_name} leg {leg}: up to {n} runners in parallel")
    if parallel is not None:
        q("UPDATE relay_leg SET parallel=? WHERE class_id=?", (parallel, class_id))
    if leg_max_time is not None:
        q("UPDATE relay_leg SET max_time=? WHERE class_id=?", (leg_max_time or None, class_id))


def number_teams(conn: sqlite3.Connection, info: RelayClassInfo, teams: list[TeamInfo], *, renumber: bool,
                 first: int | None, log: Log) -> int:
    """Bibs per team: teams without one (all with `renumber`) get the next free numbers from the
    class's bib start (or `first`); every runner of a team carries the team's bib."""
    start = first if first is not None else (info.bib_start or 1)
    taken = set() if renumber else {t.bib for t in teams if t.bib}
    n, given = start, 0
    for t in teams:
        if t.bib and not renumber:
            continue
        while str(n) in taken:
            n += 1
        t.bib = str(n)
        taken.add(t.bib)
        conn.execute("UPDATE team SET bib=? WHERE id=?", (t.bib, t.id))
        given += 1
    for t in teams:
        conn.executemany("UPDATE entry SET bib=? WHERE id=? AND COALESCE(bib, '') != ?",
                         [(t.bib, eid, t.bib or "") for eid in t.entries.values()])
    if given:
        log("info", f"class {info.name}: {given} teams given bibs")
    return given


def save_forking(conn: sqlite3.Connection, rr: RelayRace, info: RelayClassInfo, teams: list[TeamInfo],
                 forkings: list[dict[relay.Slot, str]], log: Log) -> None:
    """Each team's forking into its positions (rows are created for positions without a runner)."""
    rows_new, rows_upd = [], []
    for t, fork in zip(teams, forkings, strict=True):
        for slot, course in fork.items():
            cid = rr.course_ids.get(course)
            if cid is None:
                raise RelayImportError([f"class '{info.name}' leg {slot[0]}: course '{course}' is not known"])
            if slot in t.position_ids:
                rows_upd.append((cid, t.position_ids[slot]))
            else:
                rows_new.append((t.id, *slot, cid))
        t.forking = dict(fork)
    conn.executemany("UPDATE team_member SET course_id=? WHERE id=?", rows_upd)
    conn.executemany("INSERT INTO team_member(team_id, leg, leg_order, course_id) VALUES (?, ?, ?, ?)", rows_new)
    problems = relay.forking_problems(info.settings, [(t.team.label(), t.forking) for t in teams])
    for p in problems:
        log("warning", p)
    log("info", f"class {info.name}: forking for {len(teams)} teams"
        + ("" if problems else " (fair: every team runs every variant equally often)"))
