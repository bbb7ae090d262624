"""Relay jobs: Import Relay Entries, Prepare Relay, Relay List (start and result lists).

The rules are in orienteering/relay.py; the database glue in relay_store and relay_timing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any, cast

from t4o_tui import __version__
from t4o_tui.engine.job import Job, JobError, RunContext
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.jobs.create_starts import CLASSES
from t4o_tui.jobs.event_data import (
    FILE,
    FORMAT_CHOICES,
    FORMAT_FILES,
    RACE,
    event_zone,
    fill_race_data,
    name_key,
    read_input,
    resolve_race,
)
from t4o_tui.jobs.relay_store import (
    RelayImportError,
    TeamImporter,
    apply_relay_courses,
    load_relay,
    number_teams,
    parse_leg_courses,
    parse_leg_numbers,
    relay_class_ids,
    save_forking,
    set_up_legs,
)
from t4o_tui.jobs.relay_timing import ClassStanding, standings
from t4o_tui.jobs.result_list import STATUS_WORDS, clock
from t4o_tui.jobs.steps import StepWriter, StopReport, long_lived_rows
from t4o_tui.orienteering import html_lists, iof, relay
from t4o_tui.orienteering import iof_relay as ir
from t4o_tui.orienteering.entry_table import CellError, TableError, parse_start_time
from t4o_tui.orienteering.iof_write import SplitOut
from t4o_tui.orienteering.model import (
    Card,
    ClassDef,
    Course,
    CourseControl,
    EventInfo,
    Organisation,
    Person,
    RaceInfo,
)
from t4o_tui.orienteering.punch_check import Status
from t4o_tui.orienteering.ranking import at_resolution
from t4o_tui.orienteering.relay_csv import read_team_csv


def _fail(ctx: RunContext, problems: list[str]) -> JobError:
    """Every problem in the log, the first (and how many more) as the run's one-line error."""
    for p in problems[:500]:
        ctx.warning(p)
    more = f" (and {len(problems) - 1} more: see the log)" if len(problems) > 1 else ""
    return JobError(f"{ctx.settings.get('file') or 'relay'}: {problems[0]}{more}; nothing was changed")


def _root(data: bytes) -> str | None:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"\xff\xfe") or head.startswith(b"\xfe\xff"):
        head = data[:8192].decode("utf-16", "ignore").encode()
    if not head.startswith(b"<"):
        return None
    for tag in ("EntryList", "StartList", "ClassList", "CourseData", "ResultList"):
        if f"<{tag}".encode() in head or f":{tag}".encode() in head:
            return tag
    return "?"


class _Quiet:
    """A run context that leaves out log lines containing `drop` (another job's note that does
    not apply when this job runs it); everything else goes to the run."""

    def __init__(self, ctx: RunContext, drop: str) -> None:
        self._ctx, self._drop = ctx, drop

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    def log(self, level: str, message: str) -> None:
        if self._drop not in message:
            self._ctx.log(level, message)

    def info(self, message: str) -> None:
        self.log("info", message)

    def warning(self, message: str) -> None:
        self.log("warning", message)


TEAM_STEP = 50  # teams per committed step: each writes its team, runners, persons and cards


class ImportRelayEntriesJob(Job):
    id = "import-relay-entries"
    title = "Import Relay Entries"
    category = "Entries"
    description = (
        "Imports relay teams: an IOF XML 3.0 EntryList (TeamEntry) or StartList (TeamStart), or a CSV with "
        "TEAM NAME, BIB NO, ORGANISATION NAME, CLASS NAME, LEG (2, 2.1 or 2b for parallel runners), PERSON NAME, "
        "CARD NO. Also reads a ClassList (the legs of relay classes) and a relay CourseData (courses, the "
        "courses of each leg, and each team's forking). Importing again changes nothing; a team with a leg "
        "the class does not have, or a card used twice in one team, stops the import with nothing changed. "
        f"The teams are written in committed steps of {TEAM_STEP}: a run stopped mid-way keeps the steps it "
        "wrote and its log says how many; run it again to finish."
    )
    settings = Schema((
        FILE, RACE,
        Setting("id_type", "text", "Identifier type", "The type of team and person ids without one in the file.", default="IOF"),
        Setting("card_type", "text", "Card type", "The type of cards without one in the file.", default="SI"),
        Setting("race_number", "integer", "Race in file", "For a file with several races: which one.", min=1),
    ))
    timeout = 600.0

    def run(self, ctx: RunContext) -> None:
        # A large file's rows: no full garbage collection stalls the worker meanwhile (jobs/steps.py).
        with long_lived_rows():
            self._run(ctx)

    def _run(self, ctx: RunContext) -> None:
        data = read_input(ctx)
        zone = event_zone()
        kind = _root(data)
        try:
            if kind == "CourseData":
                return self._courses(ctx, data)
            if kind == "ClassList":
                declared = ir.read_relay_classes(data)
                return self._classes(ctx, declared)
            if kind == "EntryList":
                doc = ir.read_team_entries(data, tz=zone)
            elif kind == "StartList":
                doc = ir.read_team_starts(data, tz=zone, race_number=ctx.settings.get("race_number"))
            elif kind is None:
                teams, warnings = read_team_csv(data)
                doc = ir.TeamDoc(EventInfo(""), tuple(teams), (), None, tuple(warnings))
            else:
                raise JobError(f"{ctx.settings['file']}: this is not a relay entry file (EntryList, StartList, "
                               "ClassList, CourseData or CSV)")
        except iof.IofError as exc:
            raise JobError(f"{ctx.settings['file']}: {exc}") from None
        except TableError as exc:
            raise _fail(ctx, [str(p) for p in exc.problems]) from None
        for w in doc.warnings:
            ctx.warning(w)
        if not doc.teams:
            ctx.warning("the file holds no teams")
            return
        ctx.info(f"{len(doc.teams)} teams in the file" + (f" from {doc.creator}" if doc.creator else ""))
        race = resolve_race(ctx, create=True, event_name=doc.event.name or None, race_date=doc.event.date)
        if doc.event.name:
            fill_race_data(ctx, race, doc.event)
        # Checked whole before anything is written, then written in committed steps (jobs/steps.py):
        # a large relay (2,000 teams of 7) must not hold the write lock for seconds.
        importer = TeamImporter(ctx.db.connection(), race.id, ctx.log, id_type=str(ctx.settings.get("id_type") or "IOF"),
                                card_type=str(ctx.settings.get("card_type") or "SI"))
        with StopReport(StepWriter(ctx)) as writer:
            try:
                counts = importer.write_in_steps(doc.teams, doc.classes, writer, TEAM_STEP)
            except RelayImportError as exc:
                raise _fail(ctx, exc.problems) from None
            writer.step(lambda conn: self._leg1_starts(ctx, conn, race.id, doc))
        ctx.info(counts.summary())
        # A leg without a course can be entered but not timed: say which, and for how many teams.
        for cname, leg, teams in ctx.db.connection().execute(
                "SELECT c.name, l.leg, (SELECT count(DISTINCT t.id) FROM team t JOIN team_member m ON m.team_id = t.id "
                "WHERE t.class_id = c.id AND m.leg = l.leg AND m.course_id IS NULL) FROM relay_leg l JOIN class c ON "
                "c.id = l.class_id WHERE c.race_id=? AND NOT EXISTS (SELECT 1 FROM relay_leg_course lc WHERE "
                "lc.relay_leg_id = l.id) ORDER BY c.name, l.leg", (race.id,)).fetchall():
            if teams:
                ctx.warning(f"class '{cname}' leg {leg}: no course yet for {teams} teams "
                            "(Prepare Relay leg_courses, or a relay CourseData)")

    def _leg1_starts(self, ctx: RunContext, conn: Any, race_id: int, doc: ir.TeamDoc) -> None:
        # A StartList gives leg 1's start time to every team: that is the class's mass start, set
        # where the class has none yet (what the admin set is kept).
        by_class: dict[str, set[float]] = {}
        for t in doc.teams:
            for m in t.members:
                if m.leg == 1 and m.start_time is not None and t.class_name:
                    by_class.setdefault(name_key(t.class_name), set()).add(m.start_time.timestamp())
        for cid, name, first in conn.execute("SELECT id, name, first_start FROM class WHERE race_id=?", (race_id,)).fetchall():
            times = by_class.get(name_key(name))
            if times and len(times) == 1 and first is None:
                conn.execute("UPDATE class SET first_start=?, start_type='mass' WHERE id=?", (next(iter(times)), cid))
                ctx.info(f"class {name}: mass start {datetime.fromtimestamp(next(iter(times)), event_zone()):%H:%M:%S} from the file")

    def _classes(self, ctx: RunContext, declared: tuple[ir.RelayClassDef, ...]) -> None:
        relays = [c for c in declared if c.legs]
        if not relays:
            ctx.warning("the ClassList has no relay classes (no class with Leg elements)")
            return
        race = resolve_race(ctx, create=True)
        with ctx.transaction():
            conn = ctx.db.connection()
            importer = TeamImporter(conn, race.id, ctx.log)
            for c in relays:
                importer._relay_class(name_key(c.class_def.name), c.class_def.name,
                                      tuple(leg.max_runners for leg in c.legs), c)
        ctx.info(f"{len(relays)} relay classes: " + ", ".join(f"{c.class_def.name} ({len(c.legs)} legs)" for c in relays))

    def _courses(self, ctx: RunContext, data: bytes) -> None:
        from t4o_tui.jobs.import_courses import ImportCoursesJob

        number = ctx.settings.get("race_number")
        cd = iof.read_course_data(data, race_number=number, tz=event_zone())
        teams = ir.read_team_course_assignments(data, race_number=number)
        race = resolve_race(ctx, create=True, event_name=cd.event.name or None, race_date=cd.event.date)
        problems = apply_relay_courses(ctx.db.connection(), race.id, cd, teams, ctx.log, check_only=True)
        if problems:
            raise _fail(ctx, problems)
        # Controls and courses as Import Courses makes them, then the relay parts on top (its note
        # that team forking is not imported is not true here: this job imports it).
        ImportCoursesJob().run(cast(RunContext, _Quiet(ctx, "relay forking is not imported")))  # duck-typed
        with ctx.transaction():
            problems = apply_relay_courses(ctx.db.connection(), race.id, cd, teams, ctx.log)
            if problems:
                raise _fail(ctx, problems)
        ctx.info(f"relay course data: {sum(1 for a in cd.assignments if a.legs)} leg assignments, "
                 f"{len(teams)} team forkings")


# ---- Prepare Relay ---------------------------------------------------------------------------------


class PrepareRelayJob(Job):
    id = "prepare-relay"
    title = "Prepare Relay"
    category = "Starts"
    description = (
        "Gets relay classes ready to start: legs and their courses (1=A,B,C; 2=A,B,C; 3=A,B,C: several courses "
        "on a leg are forking variants), bibs per team, a fair forking per team (every team runs every variant "
        "equally often; generated, or from a key list such as 'ABC BCA CAB'), the first leg's mass start and the "
        "restart time for runners not yet changed over."
    )
    settings = Schema((
        RACE, CLASSES,
        Setting("legs", "integer", "Legs", "Number of legs (creates or trims the legs of the classes).", min=1, max=50),
        Setting("leg_courses", "text", "Leg courses", "Courses per leg: 1=A,B,C; 2=A,B,C; 3=D."),
        Setting("mass_start", "text", "Mass start", "The first leg's start: HH:MM[:SS] on the race's date, or a date and time."),
        Setting("restart", "text", "Restart", "Runners not changed over by then start: HH:MM[:SS] or a date and time."),
        Setting("leg_runners", "text", "Parallel runners", "Legs run by several runners at once: 2=3 (leg 2, up to 3)."),
        Setting("parallel", "choice", "Parallel legs", "Changeover when all parallel runners are in, or the fastest.",
                choices=(("all", "All must finish"), ("first", "The fastest changes over"))),
        Setting("leg_max_time", "duration", "Max leg time", "A leg over this is OverTime (0: none).", min=0),
        Setting("bibs", "choice", "Bibs", "Teams without a bib get one (missing), or every team again (all).",
                default="missing", choices=(("keep", "Keep"), ("missing", "Teams without a bib"), ("all", "Renumber all"))),
        Setting("first_bib", "integer", "First bib", "Default: the class's bib start, else 1.", min=0),
        Setting("forking", "choice", "Forking", "Keep the teams' courses, generate a fair forking, or use the keys.",
                default="generate", choices=(("keep", "Keep"), ("generate", "Generate"), ("keys", "From keys"))),
        Setting("keys", "text", "Forking keys", "One key per team in bib order, e.g. ABC BCA CAB (or A,B,C; B,C,A)."),
        Setting("seed", "integer", "Seed", "Makes a generated forking reproducible; empty: alphabetical order."),
    ))
    timeout = 300.0

    def _instant(self, ctx: RunContext, race: Any, key: str) -> float | None:
        text = ctx.settings.get(key)
        if not text:
            return None
        try:
            day = date.fromisoformat(race.date) if race.date else None
            return parse_start_time(str(text), day, event_zone(race), race.first_start).timestamp()
        except (CellError, ValueError) as exc:
            raise JobError(f"setting '{key}': {exc}") from None

    def run(self, ctx: RunContext) -> None:
        race = resolve_race(ctx)
        mass, restart = self._instant(ctx, race, "mass_start"), self._instant(ctx, race, "restart")
        try:
            leg_courses = parse_leg_courses(str(ctx.settings.get("leg_courses") or ""))
        except ValueError as exc:
            raise JobError(f"setting 'leg_courses': {exc}") from None
        try:
            runners = parse_leg_numbers(str(ctx.settings.get("leg_runners") or ""))
        except ValueError as exc:
            raise JobError(f"setting 'leg_runners': {exc}") from None
        with ctx.transaction():
            conn = ctx.db.connection()
            names = {name_key(n): (cid, n) for cid, n in conn.execute("SELECT id, name FROM class WHERE race_id=?", (race.id,))}
            wanted = ctx.settings.get("classes") or []
            missing = [w for w in wanted if name_key(w) not in names]
            if missing:
                raise JobError(f"setting 'classes': no class {', '.join(missing)} in this race")
            relays = relay_class_ids(conn, race.id)
            if wanted:
                chosen = [names[name_key(w)] for w in wanted]
            else:
                chosen = [v for v in names.values() if v[0] in relays]
            if not chosen:
                raise JobError("no relay class: give 'classes' and 'legs' to make one, or import relay entries")
            for cid, name in chosen:
                if cid not in relays and not ctx.settings.get("legs"):
                    raise JobError(f"class '{name}' has no legs: set 'legs'")
                try:
                    set_up_legs(conn, cid, name, ctx.settings.get("legs"), leg_courses, restart, ctx.log,
                                runners=runners, parallel=ctx.settings.get("parallel"),
                                leg_max_time=ctx.settings.get("leg_max_time"))
                except RelayImportError as exc:
                    raise _fail(ctx, exc.problems) from None
                if mass is not None:
                    conn.execute("UPDATE class SET first_start=?, start_type='mass' WHERE id=?", (mass, cid))
            rr = load_relay(conn, race.id, class_ids=[c for c, _ in chosen])
            for cid, _name in chosen:
                info = rr.classes[cid]
                teams = rr.by_class(cid)
                bibs = ctx.settings.get("bibs", "missing")
                if bibs != "keep":
                    number_teams(conn, info, teams, renumber=bibs == "all", first=ctx.settings.get("first_bib"), log=ctx.log)
                    teams.sort(key=lambda t: (0, int(t.bib)) if t.bib and t.bib.isdigit() else (1, 0))
                problems = relay.class_problems(info.settings)
                for w in problems.warnings:
                    leg_no = int(w.split(" leg ")[1].split(":")[0]) if " leg " in w and w.endswith("no course") else None
                    # A leg without courses of its own is fine where every team has its course (a file's forking).
                    if leg_no is not None and teams and all(any(slot[0] == leg_no for slot in t.forking) for t in teams):
                        continue
                    ctx.warning(w)
                forking = ctx.settings.get("forking", "generate")
                try:
                    if forking == "generate":
                        forks = relay.generate_forking(info.settings, len(teams), seed=ctx.settings.get("seed"))
                    elif forking == "keys":
                        keys = [k for k in str(ctx.settings.get("keys") or "").replace(";", " ").split() if k]
                        forks = relay.assign_forking_keys(info.settings, len(teams), keys)
                    else:
                        forks = []
                except relay.RelayError as exc:
                    raise JobError(f"setting '{'keys' if forking == 'keys' else 'forking'}': {exc}") from None
                if forks:
                    save_forking(conn, rr, info, teams, forks, ctx.log)
                for t in teams:
                    p = relay.team_problems(info.settings, t.team)
                    for w in (*p.errors, *p.warnings):
                        ctx.warning(w)
                start = mass if mass is not None else info.settings.mass_start
                when = datetime.fromtimestamp(start, event_zone(race)).strftime("%H:%M:%S") if start else "not set"
                ctx.info(f"class {info.name}: {len(teams)} teams, {len(info.settings.legs)} legs, mass start {when}"
                         + (f", restart {datetime.fromtimestamp(restart, event_zone(race)):%H:%M:%S}" if restart else ""))


# ---- Relay List ---------------------------------------------------------------------------------------


def _person(row: tuple[Any, ...] | None) -> Person | None:
    if row is None:
        return None
    given, family, sex, birth, year = row
    return Person(given or "", family or "", sex if sex in ("M", "F") else None,
                  date.fromisoformat(birth) if birth else None, year)


class RelayListJob(Job):
    id = "relay-list"
    title = "Relay List"
    category = "Results"
    description = (
        "The relay start list or result list: IOF XML 3.0 (StartList TeamStart / ResultList TeamResult with each "
        "runner's time, leg place and standing after the leg, a parallel runner's own; every leg listed, an "
        "empty one without a runner), an HTML page a speaker can read (team "
        "place and time, every leg's runner, time and place, and the changeover order after each leg), or CSV."
    )
    settings = Schema((
        RACE, CLASSES,
        Setting("list", "choice", "List", "Start list or result list.", default="results",
                choices=(("results", "Results"), ("starts", "Start list"))),
        Setting("format", "choice", "Format", "File format.", default="html", choices=FORMAT_CHOICES),
        Setting("refresh", "integer", "Auto-refresh (s)", "The HTML page reloads itself this often; 0: never.", default=0, min=0, max=3600),
    ))
    sub_minute = True
    timeout = 300.0
    produces = "text/html"

    def run(self, ctx: RunContext) -> None:
        race = resolve_race(ctx)
        zone = event_zone(race)
        conn = ctx.db.connection()
        ids = relay_class_ids(conn, race.id)
        wanted = ctx.settings.get("classes") or []
        if wanted:
            names = {name_key(n): cid for cid, n in conn.execute("SELECT id, name FROM class WHERE race_id=?", (race.id,))}
            bad = [w for w in wanted if names.get(name_key(w)) not in ids]
            if bad:
                raise JobError(f"setting 'classes': {', '.join(bad)} is not a relay class of this race")
            ids = {names[name_key(w)] for w in wanted}
        res = float(race.event.time_resolution or 1.0)
        classes = standings(conn, race.id, class_ids=ids, resolution=res)
        fmt = ctx.settings.get("format", "html")
        kind = ctx.settings.get("list", "results")
        now = datetime.now(UTC)
        ext, media = FORMAT_FILES[fmt]
        if fmt == "iof-xml":
            data = self._xml(conn, race, classes, zone, now, res, starts=kind == "starts")
        elif fmt == "csv":
            data = _starts_csv(classes, zone) if kind == "starts" else _results_csv(classes, zone, res)
        else:
            data = _html(race, classes, zone, now, res, starts=kind == "starts",
                         refresh=int(ctx.settings.get("refresh") or 0) or None)
        name = "relay-starts" if kind == "starts" else "relay-results"
        with ctx.output(f"{name}-race{race.race_number or race.id}.{ext}", media) as fh:
            fh.write(data)
        teams = sum(len(c.ranking.teams) for c in classes)
        placed = sum(1 for c in classes for t in c.ranking.teams if t.place)
        ctx.info(f"relay {'start' if kind == 'starts' else 'result'} list ({fmt}): {len(classes)} classes, {teams} teams"
                 + ("" if kind == "starts" else f", {placed} placed") + f", {len(data)} bytes")

    def _xml(self, conn: Any, race: Any, classes: list[ClassStanding], zone: Any, now: datetime, res: float, *,
             starts: bool) -> bytes:
        day = date.fromisoformat(race.date) if race.date else None
        first = datetime.fromtimestamp(race.first_start, zone) if race.first_start else None
        event = EventInfo(name=race.event.name, date=day, races=(RaceInfo(race.race_number or 1, race.name, day, first),))
        entries = [e for c in classes for t in c.teams.values() for e in t.entries.values()]
        people: dict[int, tuple[Any, ...]] = {}
        cards: dict[int, str] = {}
        clubs: dict[int, str] = {}
        for chunk in (entries[i:i + 500] for i in range(0, len(entries), 500)):
            marks = ",".join("?" * len(chunk))
            for eid, given, family, sex, birth, year, club in conn.execute(
                    f"SELECT e.id, p.given, p.family, p.sex, p.birth_date, p.birth_year, o.name FROM entry e "
                    f"LEFT JOIN person p ON p.id = e.person_id LEFT JOIN organisation o ON o.id = e.organisation_id "
                    f"WHERE e.id IN ({marks})", chunk):
                people[eid] = (given, family, sex, birth, year) if given is not None else None  # type: ignore[assignment]
                if club:
                    clubs[eid] = club
            for eid, number in conn.execute(f"SELECT ec.entry_id, c.number FROM entry_card ec JOIN card c ON c.id = ec.card_id "
                                            f"WHERE ec.entry_id IN ({marks})", chunk):
                cards.setdefault(eid, str(number))
        courses: dict[str, Course] = {}
        for cid, name, length, climb in conn.execute("SELECT id, name, length, climb FROM course WHERE race_id=?", (race.id,)):
            controls = tuple(CourseControl(code, "Control") for (code,) in conn.execute(
                "SELECT c.code FROM course_control cc JOIN control c ON c.id = cc.control_id WHERE cc.course_id=? "
                "AND cc.kind='control' ORDER BY cc.seq", (cid,)))
            courses[name] = Course(name, int(length) if length else None, int(climb) if climb else None, controls)
        orgs: dict[str, Organisation] = {}

        def org(name: str | None) -> Organisation | None:
            return orgs.setdefault(name, Organisation(name)) if name else None

        def legs_of(c: ClassStanding) -> tuple[ir.LegDef, ...]:
            return tuple(ir.LegDef(None, leg.min_runners, leg.runners) for leg in c.info.settings.legs)

        def order(c: ClassStanding, leg: int, o: int) -> int | None:
            return o if c.info.settings.leg(leg).runners > 1 else None

        creator = f"t4o-tui {__version__}"
        if starts:
            out_s = []
            for c in classes:
                mass = c.info.settings.mass_start
                teams = []
                for rt in c.ranking.teams:
                    t = c.teams[int(str(rt.result.team.key))]
                    smembers = []
                    for slot in sorted(set(t.entries) | set(t.forking)):
                        eid = t.entries.get(slot)
                        sm = next((x for x in t.team.members if x.slot == slot), None)
                        start = (sm.start if sm and sm.start else mass) if slot[0] == 1 else (sm.start if sm else None)
                        course = courses.get(t.forking.get(slot, "")) or (courses.get(c.info.settings.leg(slot[0]).variants[0])
                                                                            if len(c.info.settings.leg(slot[0]).variants) == 1 else None)
                        smembers.append(ir.TeamMemberStartOut(
                            slot[0], order(c, *slot), _person(people.get(eid)) if eid else None,
                            org(clubs.get(eid)) if eid and len(t.clubs) > 1 else None, t.bib,
                            datetime.fromtimestamp(start, zone) if start else None,
                            Course(course.name, course.length, course.climb) if course else None,
                            Card(cards[eid]) if eid in cards else None))
                    teams.append(ir.TeamStartOut(t.name, t.bib, tuple(o for n in t.clubs if (o := org(n))), tuple(smembers)))
                out_s.append(ir.TeamClassStart(ClassDef(c.info.name), tuple(sorted(
                    teams, key=lambda x: (0, int(x.bib)) if x.bib and x.bib.isdigit() else (1, 0))), legs_of(c)))
            return ir.write_team_start_list(event, out_s, creator=creator, create_time=now.astimezone(zone),
                                             time_resolution=res)
        out = []
        for c in classes:
            # Each position's own places (a parallel runner's OverallResult is not the leg's), and
            # the empty positions IOF wants listed (a leg the team did not fill).
            standing = ir.position_standings(c.info.settings, c.ranking, resolution=res)
            teams_out = []
            for rt in c.ranking.teams:
                t = c.teams[int(str(rt.result.team.key))]
                empty = ir.empty_positions(c.info.settings, rt.result.team)
                members = []
                for rl in rt.legs:
                    leg = rl.result
                    positions: list[tuple[tuple[int, int], relay.MemberResult | None]] = sorted(
                        [((m.leg, m.order), m) for m in leg.members] + [(s, None) for s in empty if s[0] == leg.leg],
                        key=lambda p: p[0])
                    for slot, m in positions:
                        st = standing[(rt.result.team.key, slot)]
                        overall = replace(st.overall, time=at_resolution(st.overall.time, res)
                                          if st.overall.time is not None else None)
                        if m is None:
                            # Nobody on the position: no person, DidNotStart, the team's standing;
                            # the position's course when the forking (or the leg) gives one.
                            variants = c.info.settings.leg(slot[0]).variants
                            fork = courses.get(t.forking.get(slot, "")) or (
                                courses.get(variants[0]) if len(variants) == 1 else None)
                            members.append(ir.TeamMemberResultOut(
                                slot[0], Status.DID_NOT_START.value, order(c, *slot), bib=t.bib, overall=overall,
                                course=Course(fork.name, fork.length, fork.climb) if fork else None))
                            continue
                        eid = t.entries[slot]
                        has = m.status not in (Status.INACTIVE, Status.STARTED, Status.CHECKED, Status.ACTIVE)
                        course = courses.get(m.course or "")
                        splits = tuple(SplitOut(code, at_resolution(x, res) if x is not None else None,
                                                "OK" if x is not None else "Missing")
                                       for code, x in c.splits.get(eid, [])) if has and course else ()
                        members.append(ir.TeamMemberResultOut(
                            m.leg, m.status.value, order(c, m.leg, m.order), _person(people.get(eid)),
                            org(clubs.get(eid)) if len(t.clubs) > 1 else None, t.bib,
                            datetime.fromtimestamp(m.start, zone) if m.start else None,
                            datetime.fromtimestamp(m.finish, zone) if m.finish else None,
                            at_resolution(m.time, res) if m.time is not None and has else None,
                            st.behind, st.place, overall,
                            Course(course.name, course.length, course.climb, course.controls) if course else None,
                            splits, Card(cards[eid]) if eid in cards else None))
                teams_out.append(ir.TeamResultOut(t.name, tuple(members), t.bib, tuple(o for n in t.clubs if (o := org(n)))))
            out.append(ir.TeamClassResult(ClassDef(c.info.name), tuple(teams_out), legs_of(c), res))
        return ir.write_team_result_list(event, out, creator=creator, create_time=now.astimezone(zone))


def _clock_of(t: float | None, zone: Any) -> str:
    return datetime.fromtimestamp(t, zone).strftime("%H:%M:%S") if t is not None else ""


def _word(status: Status) -> str:
    return STATUS_WORDS.get(status.value, status.value)


def _results_csv(classes: list[ClassStanding], zone: Any, res: float) -> bytes:
    rows = []
    for c in classes:
        for rt in c.ranking.teams:
            r = rt.result
            t = c.teams[int(str(r.team.key))]
            for rl in rt.legs:
                leg = rl.result
                names = " / ".join(m.name for m in leg.members) or "-"
                rows.append([c.info.name, str(rt.place or ""), t.bib or "", t.name, ", ".join(t.clubs),
                             clock(r.time, res), r.status.value, str(leg.leg), names, clock(leg.time, res),
                             str(rl.place or ""), leg.status.value, _clock_of(leg.changeover, zone),
                             str(rl.overall_place or ""), clock(leg.overall_time, res), "restart" if leg.restarted else ""])
    return html_lists.render_csv(["Class", "Place", "Bib", "Team", "Club", "Team time", "Team status", "Leg", "Runner",
                                  "Leg time", "Leg place", "Leg status", "Changeover", "Place after leg",
                                  "Time after leg", "Note"], rows)


def _starts_csv(classes: list[ClassStanding], zone: Any) -> bytes:
    rows = []
    for c in classes:
        for t in sorted(c.teams.values(), key=lambda x: (0, int(x.bib)) if x.bib and x.bib.isdigit() else (1, 0)):
            for slot in sorted(set(t.entries) | set(t.forking) | {(i, 1) for i in range(1, len(c.info.settings.legs) + 1)}):
                m = next((x for x in t.team.members if x.slot == slot), None)
                start = (m.start if m and m.start else c.info.settings.mass_start) if slot[0] == 1 else None
                rows.append([c.info.name, t.bib or "", t.name, ", ".join(t.clubs),
                             f"{slot[0]}" + (f".{slot[1]}" if c.info.settings.leg(slot[0]).runners > 1 else ""),
                             m.name if m else "", m.card or "" if m else "", t.forking.get(slot, ""), _clock_of(start, zone)])
    return html_lists.render_csv(["Class", "Bib", "Team", "Club", "Leg", "Runner", "Card", "Course", "Start"], rows)


def _html(race: Any, classes: list[ClassStanding], zone: Any, now: datetime, res: float, *, starts: bool,
          refresh: int | None) -> bytes:
    sections = []
    legs = max((len(c.info.settings.legs) for c in classes), default=0)
    if starts:
        cols = [html_lists.Column("Bib", numeric=True), html_lists.Column("Team"), html_lists.Column("Club")]
        cols += [html_lists.Column(f"Leg {i}") for i in range(1, legs + 1)]
        for c in classes:
            body = []
            for t in sorted(c.teams.values(), key=lambda x: (0, int(x.bib)) if x.bib and x.bib.isdigit() else (1, 0)):
                cells = [t.bib or "", t.name, ", ".join(t.clubs)]
                for i in range(1, legs + 1):
                    ms = t.team.on_leg(i)
                    course = ", ".join(dict.fromkeys(v for (leg, _), v in sorted(t.forking.items()) if leg == i))
                    cells.append(" / ".join(m.name for m in ms) + (f" ({course})" if course else "") if ms
                                 else ("– no runner" if i <= len(c.info.settings.legs) else ""))
                body.append(cells)
            mass = c.info.settings.mass_start
            sections.append(html_lists.Section(c.info.name, f"{len(c.teams)} teams · mass start {_clock_of(mass, zone) or 'not set'}",
                                               body))
        title = "Relay start list"
    else:
        cols = [html_lists.Column("#", numeric=True), html_lists.Column("Team"), html_lists.Column("Time", numeric=True),
                html_lists.Column("Behind", numeric=True, wide_only=True)]
        cols += [html_lists.Column(f"Leg {i}", wide_only=i > 1) for i in range(1, legs + 1)]
        for c in classes:
            body, dim = [], set()
            for n, rt in enumerate(c.ranking.teams):
                r = rt.result
                t = c.teams[int(str(r.team.key))]
                if r.status is not Status.OK:
                    dim.add(n)
                cells = [str(rt.place or ""), f"{t.bib + ' ' if t.bib else ''}{t.name}",
                         clock(r.time, res) if r.status is Status.OK else _word(r.status) or r.status.value,
                         f"+{clock(rt.behind, res)}" if rt.behind else ""]
                for rl in rt.legs:
                    leg = rl.result
                    who = " / ".join(m.name for m in leg.members) or "–"
                    if leg.time is not None:
                        what = f"{clock(leg.time, res)} ({rl.place or '-'})"
                    else:
                        what = _word(leg.status) or ""
                    after = f" → {rl.overall_place}." if rl.overall_place else ""
                    cells.append(f"{who} {what}{after}" + (" restart" if leg.restarted else ""))
                body.append(cells)
            done = sum(1 for rt in c.ranking.teams if rt.result.status not in (Status.INACTIVE, Status.STARTED, Status.CHECKED,
                                                                                Status.ACTIVE, Status.FINISHED))
            sections.append(html_lists.Section(c.info.name, f"{done}/{len(c.ranking.teams)} teams finished", body, frozenset(dim)))
            # The speaker's view: who changed over when, in order, after each leg but the last.
            for leg_no in range(1, len(c.info.settings.legs)):
                order = [rt for rt in c.ranking.changeovers.get(leg_no, ()) if rt.legs[leg_no - 1].result.changeover]
                if not order:
                    continue
                rows = []
                for rt in order:
                    rl = rt.legs[leg_no - 1]
                    t = c.teams[int(str(rt.result.team.key))]
                    rows.append([str(rl.overall_place or ""), f"{t.bib + ' ' if t.bib else ''}{t.name}",
                                 _clock_of(rl.result.changeover, zone),
                                 f"+{clock(rl.overall_behind, res)}" if rl.overall_behind else ""]
                                + [""] * legs)
                sections.append(html_lists.Section(f"{c.info.name} – changeover {leg_no}→{leg_no + 1}",
                                                   f"{len(order)} teams changed over", rows))
        title = "Relay results"
    meta = f"{race.name} · {race.date or ''} · updated {now.astimezone(zone):%H:%M:%S}"
    return html_lists.render_page(f"{race.event.name} – {title}", meta, cols, sections, refresh_seconds=refresh)
