"""Relays in IOF XML 3.0: lenient readers of TeamEntry, TeamStart, Class/Leg and
TeamCourseAssignment; strict writers of StartList TeamStart and ResultList TeamResult.

Beside iof_read/iof_write (the individual messages) and built from their shared helpers, so the
two grow independently. Readers never touch the network or resolve entities (xmlsafe.parse via
iof_read._load); writers raise ValueError for anything the schema would refuse.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import TypeAlias
from xml.sax.saxutils import escape as xml_escape

from lxml import etree

from t4o_tui.orienteering import iof_read as rd
from t4o_tui.orienteering import iof_write as wr
from t4o_tui.orienteering import relay
from t4o_tui.orienteering.model import (
    Card,
    ClassDef,
    ClassStart,
    Course,
    EventInfo,
    Organisation,
    Person,
    SplitRecord,
)
from t4o_tui.orienteering.punch_check import Status
from t4o_tui.orienteering.ranking import ListType, ResultEntry, rank_class
from t4o_tui.orienteering.xmlsafe import IofError, clean, datetime_of, int_attr, int_value, text_of

El: TypeAlias = etree._Element

# ---- plain data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LegDef:
    """A leg as Class/Leg declares it: how many runners may run it (absent attributes mean 1)."""

    name: str | None = None
    min_runners: int = 1
    max_runners: int = 1


@dataclass(frozen=True)
class RelayClassDef:
    class_def: ClassDef
    legs: tuple[LegDef, ...] = ()


@dataclass(frozen=True)
class TeamMemberRecord:
    """One runner of a team; `leg` None when the file leaves it out (a reader warns)."""

    person: Person | None
    organisation: Organisation | None = None
    leg: int | None = None
    leg_order: int | None = None
    cards: tuple[Card, ...] = ()
    entry_id: str | None = None
    bib: str | None = None
    start_time: dt.datetime | None = None
    course: Course | None = None
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class TeamRecord:
    name: str
    class_name: str | None
    organisations: tuple[Organisation, ...] = ()
    bib: str | None = None
    entry_id: str | None = None
    entry_id_type: str | None = None
    members: tuple[TeamMemberRecord, ...] = ()
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class TeamDoc:
    """The teams of an EntryList (TeamEntry) or a StartList (TeamStart), and the relay classes the
    file declares (EntryList Event/Class with Leg elements)."""

    event: EventInfo
    teams: tuple[TeamRecord, ...]
    classes: tuple[RelayClassDef, ...] = ()
    creator: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class TeamMemberCourse:
    leg: int | None
    leg_order: int | None
    course_name: str | None
    course_family: str | None = None
    bib: str | None = None
    entry_id: str | None = None
    member_name: str | None = None


@dataclass(frozen=True)
class TeamCourseRecord:
    """A team's forking as a CourseData TeamCourseAssignment gives it (by bib, else team name)."""

    bib: str | None
    team_name: str | None
    class_name: str | None
    members: tuple[TeamMemberCourse, ...]
    line: int | None = field(default=None, compare=False)


# ---- readers -------------------------------------------------------------------------------------


def _legs(class_el: El) -> tuple[LegDef, ...]:
    out = []
    for leg in class_el.findall("Leg"):
        lo, hi = int_attr(leg, "minNumberOfCompetitors"), int_attr(leg, "maxNumberOfCompetitors")
        hi = hi if hi is not None else max(lo or 1, 1)
        out.append(LegDef(text_of(leg, "Name"), lo if lo is not None else min(1, hi), hi))
    return tuple(out)


def _relay_class(el: El) -> RelayClassDef:
    return RelayClassDef(rd._class(el), _legs(el))


def read_relay_classes(data: bytes) -> tuple[RelayClassDef, ...]:
    """The classes with their legs from a ClassList, or from an EntryList's Event/Class elements."""
    root, tag, _ = rd._load(data, None)
    if tag == "ClassList":
        return tuple(_relay_class(c) for c in root.findall("Class"))
    event = root.find("Event")
    return tuple(_relay_class(c) for c in event.findall("Class")) if event is not None else ()


def _pos(el: El, name: str) -> int | None:
    """A leg or leg order: a whole number from 1."""
    v = rd.int_of(el, name)
    if v is not None and v < 1:
        raise IofError(f"<{name}> is {v}, expected 1 or more", el.find(name).sourceline)  # type: ignore[union-attr]
    return v


def read_team_entries(data: bytes, *, tz: tzinfo = UTC) -> TeamDoc:
    """The TeamEntry elements of an IOF XML 3.0 EntryList (person entries are iof_read's)."""
    root, _, warnings = rd._load(data, "EntryList")
    teams: list[TeamRecord] = []
    for te in root.findall("TeamEntry"):
        name = text_of(te, "Name")
        if not name:
            warnings.append(f"line {te.sourceline}: a team entry without a name is skipped")
            continue
        classes = [cn for c in te.findall("Class") if (cn := rd._class_name(c))]
        if len(classes) > 1:
            warnings.append(f"line {te.sourceline}: team {name!r} names {len(classes)} classes; "
                            f"{classes[0]!r} is used")
        members = []
        for tp in te.findall("TeamEntryPerson"):
            members.append(TeamMemberRecord(
                person=rd._person(tp.find("Person")), organisation=rd._organisation(tp.find("Organisation")),
                leg=_pos(tp, "Leg"), leg_order=_pos(tp, "LegOrder"), cards=rd._cards(tp),
                entry_id=text_of(tp.find("Person"), "Id") if tp.find("Person") is not None else None,
                line=tp.sourceline))
        id_el = te.find("Id")
        teams.append(TeamRecord(
            name=name, class_name=classes[0] if classes else None,
            organisations=tuple(o for oe in te.findall("Organisation") if (o := rd._organisation(oe))),
            entry_id=clean(id_el.text) if id_el is not None else None,
            entry_id_type=clean(id_el.get("type")) if id_el is not None else None,
            members=tuple(members), line=te.sourceline))
    event_el = root.find("Event")
    return TeamDoc(rd._event(event_el, tz), tuple(teams),
                   tuple(_relay_class(c) for c in event_el.findall("Class")) if event_el is not None else (),
                   clean(root.get("creator")), tuple(warnings))


def read_team_starts(data: bytes, *, tz: tzinfo = UTC, race_number: int | None = None) -> TeamDoc:
    """The TeamStart elements of an IOF XML 3.0 StartList, with each runner's leg, leg order, bib,
    start time (when the file knows it: usually only leg 1's), course and cards."""
    root, _, warnings = rd._load(data, "StartList")
    teams: list[TeamRecord] = []
    classes: list[RelayClassDef] = []
    for cs in root.findall("ClassStart"):
        class_el = cs.find("Class")
        if class_el is None:
            raise IofError("<ClassStart> without <Class>", cs.sourceline)
        rc = _relay_class(class_el)
        if cs.find("TeamStart") is not None:
            classes.append(rc)
        for ts in cs.findall("TeamStart"):
            name = text_of(ts, "Name")
            if not name:
                warnings.append(f"line {ts.sourceline}: a team start without a name is skipped")
                continue
            members = []
            for tm in ts.findall("TeamMemberStart"):
                starts = [s for s in tm.findall("Start") if rd._for_race(s, race_number)]
                if not starts:
                    continue
                for st in starts:
                    members.append(TeamMemberRecord(
                        person=rd._person(tm.find("Person")), organisation=rd._organisation(tm.find("Organisation")),
                        leg=_pos(st, "Leg"), leg_order=_pos(st, "LegOrder"), cards=rd._cards(st),
                        entry_id=text_of(tm, "EntryId") or (text_of(tm.find("Person"), "Id")
                                                            if tm.find("Person") is not None else None),
                        bib=text_of(st, "BibNumber"), start_time=datetime_of(st, "StartTime", tz),
                        course=rd._simple_course(st.find("Course")), line=tm.sourceline))
            teams.append(TeamRecord(
                name=name, class_name=rc.class_def.name,
                organisations=tuple(o for oe in ts.findall("Organisation") if (o := rd._organisation(oe))),
                bib=text_of(ts, "BibNumber"), entry_id=text_of(ts, "EntryId"), members=tuple(members),
                line=ts.sourceline))
    return TeamDoc(rd._event(root.find("Event"), tz), tuple(teams), tuple(classes),
                   clean(root.get("creator")), tuple(warnings))


def read_team_course_assignments(data: bytes, *, race_number: int | None = None) -> tuple[TeamCourseRecord, ...]:
    """The TeamCourseAssignment elements of a CourseData (its courses and class assignments, by
    leg, are iof_read.read_course_data's)."""
    root, _, _ = rd._load(data, "CourseData")
    if root.find("IOFVersion") is not None:
        return ()
    race = rd._race_course_data(root, race_number)
    out = []
    for ta in race.findall("TeamCourseAssignment"):
        members = tuple(
            TeamMemberCourse(
                leg=_pos(m, "Leg"), leg_order=_pos(m, "LegOrder"), course_name=text_of(m, "CourseName"),
                course_family=text_of(m, "CourseFamily"), bib=text_of(m, "BibNumber"),
                entry_id=text_of(m, "EntryId"), member_name=text_of(m, "TeamMemberName"))
            for m in ta.findall("TeamMemberCourseAssignment"))
        out.append(TeamCourseRecord(text_of(ta, "BibNumber"), text_of(ta, "TeamName"), text_of(ta, "ClassName"),
                                    members, ta.sourceline))
    return tuple(out)


@dataclass(frozen=True)
class OverallRecord:
    """A team's standing after a leg as the file gives it (IOF OverallResult)."""

    status: str
    time: float | None = None
    position: int | None = None


@dataclass(frozen=True)
class TeamMemberResultRecord:
    """One runner's leg as another program wrote it (TeamMemberResult/Result); `person` None and
    no card: the file names nobody for the position (a missing leg). Times keep the file's tenths."""

    leg: int | None
    status: str
    leg_order: int | None = None
    person: Person | None = None
    organisation: Organisation | None = None
    bib: str | None = None
    start_time: dt.datetime | None = None
    finish_time: dt.datetime | None = None
    time: float | None = None
    position: int | None = None  # the leg place (Position type="Leg", or untyped)
    overall: OverallRecord | None = None
    course: Course | None = None
    splits: tuple[SplitRecord, ...] = ()
    cards: tuple[Card, ...] = ()
    entry_id: str | None = None
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class TeamResultRecord:
    name: str
    class_name: str
    organisations: tuple[Organisation, ...] = ()
    bib: str | None = None
    entry_id: str | None = None
    members: tuple[TeamMemberResultRecord, ...] = ()
    line: int | None = field(default=None, compare=False)

    def as_team(self, *, with_course: bool = True) -> TeamRecord:
        """The team as the relay entry import writes it (runners, legs, cards; no start times:
        the results carry them, and a runner's own start would win over changeovers if the
        race were ever timed here)."""
        return TeamRecord(
            name=self.name, class_name=self.class_name, organisations=self.organisations, bib=self.bib,
            entry_id=self.entry_id, members=tuple(
                TeamMemberRecord(m.person, m.organisation, m.leg, m.leg_order, m.cards,
                                 course=m.course if with_course else None, line=m.line)
                for m in self.members),
            line=self.line)


@dataclass(frozen=True)
class TeamResultDoc:
    """The TeamResult elements of a ResultList; `resolutions`: class name -> the file's timeResolution."""

    teams: tuple[TeamResultRecord, ...]
    classes: tuple[RelayClassDef, ...] = ()
    resolutions: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def _leg_position(res: El) -> int | None:
    """Position type="Leg" (the IOF default when untyped); type="Course" is another ranking."""
    for el in res.findall("Position"):
        if (clean(el.get("type")) or "Leg") == "Leg":
            return int_value(clean(el.text), "<Position>", el.sourceline)
    return None


def _result_status(el: El, dev: rd._Deviations) -> str:
    status = text_of(el, "Status") or "OK"
    if status not in rd.RESULT_STATUSES:
        dev.add(f"unknown result status {status!r} (read as Inactive)", el.sourceline)
        status = "Inactive"
    return status


def read_team_results(data: bytes, *, tz: tzinfo = UTC, race_number: int | None = None) -> TeamResultDoc:
    """The TeamResult elements of an IOF XML 3.0 ResultList (individual results are
    iof_read.read_result_list's), as leniently: decimal commas and clock times in times, unknown
    statuses, TeamMemberResults without Leg (taken in file order when no runner of the team has
    one); one warning per kind, prefixed 'team results:' (the file's encoding and namespace are
    the individual reader's warnings). With `race_number`, only that race's results."""
    root, _, _ = rd._load(data, "ResultList")
    dev = rd._Deviations()
    teams: list[TeamResultRecord] = []
    classes: list[RelayClassDef] = []
    resolutions: dict[str, float] = {}
    for cr in root.findall("ClassResult"):
        if cr.find("TeamResult") is None:
            continue
        class_el = cr.find("Class")
        if class_el is None:
            raise IofError("<ClassResult> without <Class>", cr.sourceline)
        rc = _relay_class(class_el)
        raw = clean(cr.get("timeResolution"))
        try:
            resolutions[rc.class_def.name] = float(raw.replace(",", ".")) if raw else 1.0
        except ValueError:
            raise IofError(f"timeResolution={raw!r}, expected seconds (1 or 0.1)", cr.sourceline) from None
        for tr in cr.findall("TeamResult"):
            name = text_of(tr, "Name")
            if not name:
                dev.add("team results without a team name (skipped)", tr.sourceline)
                continue
            members: list[TeamMemberResultRecord] = []
            for tm in tr.findall("TeamMemberResult"):
                person, org = rd._person(tm.find("Person")), rd._organisation(tm.find("Organisation"))
                for res in tm.findall("Result"):
                    if not rd._for_race(res, race_number):
                        continue
                    ov = res.find("OverallResult")
                    overall = None if ov is None else OverallRecord(
                        _result_status(ov, dev), rd._seconds(ov, "Time", dev), rd.int_of(ov, "Position"))
                    splits = []
                    for sp in res.findall("SplitTime"):
                        code = text_of(sp, "ControlCode")
                        if code is None:
                            raise IofError("<SplitTime> without <ControlCode>", sp.sourceline)
                        splits.append(SplitRecord(code, rd._seconds(sp, "Time", dev), clean(sp.get("status")) or "OK"))
                    members.append(TeamMemberResultRecord(
                        leg=_pos(res, "Leg"), status=_result_status(res, dev), leg_order=_pos(res, "LegOrder"),
                        person=person, organisation=org, bib=text_of(res, "BibNumber"),
                        start_time=datetime_of(res, "StartTime", tz), finish_time=datetime_of(res, "FinishTime", tz),
                        time=rd._seconds(res, "Time", dev), position=_leg_position(res), overall=overall,
                        course=rd._simple_course(res.find("Course")), splits=tuple(splits), cards=rd._cards(res),
                        entry_id=text_of(tm, "EntryId"), line=tm.sourceline))
            if not members:
                # Another race's team (left out as the individual results are), or a team listed
                # without its runners' results: nothing to import.
                if tr.find("TeamMemberResult/Result") is None:
                    dev.add("teams without runners' results (skipped)", tr.sourceline)
                continue
            if all(m.leg is None for m in members):
                # Programs that write one runner per leg in leg order sometimes leave Leg out.
                dev.add("team members without <Leg> (legs taken in file order)", members[0].line)
                members = [replace(m, leg=i) for i, m in enumerate(members, 1)]
            for leg in {m.leg for m in members if m.leg is not None}:
                on_leg = [i for i, m in enumerate(members) if m.leg == leg]
                if len(on_leg) > 1 and all(members[i].leg_order is None for i in on_leg):
                    # Parallel runners without LegOrder would all claim position 1 of the leg.
                    dev.add("parallel runners without <LegOrder> (numbered in file order)", members[on_leg[0]].line)
                    for k, i in enumerate(on_leg, 1):
                        members[i] = replace(members[i], leg_order=k)
            teams.append(TeamResultRecord(
                name=name, class_name=rc.class_def.name,
                organisations=tuple(o for oe in tr.findall("Organisation") if (o := rd._organisation(oe))),
                bib=text_of(tr, "BibNumber"), entry_id=text_of(tr, "EntryId"), members=tuple(members),
                line=tr.sourceline))
            if not classes or classes[-1] is not rc:
                classes.append(rc)
    return TeamResultDoc(tuple(teams), tuple(classes), resolutions,
                         tuple(f"team results: {w}" for w in dev.warnings()))


def parse_leg_text(text: str, line: int | None = None) -> tuple[int, int]:
    """A leg as CSV files write it: '2', '2.1' or '2b' (leg 2, runner 1 / 2 of a parallel leg)."""
    s = text.strip().lower()
    if s[-1:].isalpha() and s[:-1].isdigit():
        return int(s[:-1]), ord(s[-1]) - ord("a") + 1
    if "." in s:
        a, _, b = s.partition(".")
        leg, order = int_value(a, "LEG", line), int_value(b, "LEG", line)
    else:
        leg, order = int_value(s, "LEG", line), 1
    if leg is None or order is None or leg < 1 or order < 1:
        raise IofError(f"LEG is {text!r}, expected a leg number like 2, 2.1 or 2b", line)
    return leg, order


# ---- writers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamMemberStartOut:
    leg: int
    leg_order: int | None = None  # written for parallel legs only
    person: Person | None = None
    organisation: Organisation | None = None
    bib: str | None = None
    start_time: datetime | None = None
    course: Course | None = None
    card: Card | None = None
    entry_id: str | None = None


@dataclass(frozen=True)
class TeamStartOut:
    name: str
    bib: str | None = None
    organisations: tuple[Organisation, ...] = ()
    members: tuple[TeamMemberStartOut, ...] = ()
    entry_id: str | None = None


@dataclass(frozen=True)
class TeamClassStart:
    class_def: ClassDef
    teams: tuple[TeamStartOut, ...] = ()
    legs: tuple[LegDef, ...] = ()


def add_class_with_legs(parent: El, cls: ClassDef, legs: Sequence[LegDef]) -> El:
    """Class with its Leg elements carrying min/max runners (iof_write.add_class writes bare ones)."""
    el = wr.add_class(parent, replace(cls, legs=0))
    status = el.find(f"{{{wr.IOF_NS}}}Status")
    for leg in legs:
        leg_el = etree.Element(f"{{{wr.IOF_NS}}}Leg")
        if leg.min_runners != 1:
            leg_el.set("minNumberOfCompetitors", str(leg.min_runners))
        if leg.max_runners != 1:
            leg_el.set("maxNumberOfCompetitors", str(leg.max_runners))
        if leg.name:
            wr.sub(leg_el, "Name", leg.name)
        if status is not None:
            status.addprevious(leg_el)
        else:
            el.append(leg_el)
    return el


def _add_team(parent: El, tag: str, team: TeamStartOut | TeamResultOut) -> El:
    """A TeamStart or TeamResult with what both begin with: entry id, name, clubs, bib."""
    t = wr.sub(parent, tag)
    if team.entry_id:
        wr.sub(t, "EntryId", team.entry_id)
    wr.sub(t, "Name", team.name)
    for org in team.organisations:
        wr.add_organisation(t, org)
    if team.bib:
        wr.sub(t, "BibNumber", team.bib)
    return t


def _add_team_member(parent: El, tag: str, inner: str, m: TeamMemberStartOut | TeamMemberResultOut,
                     resolution: float = 1.0) -> El:
    """A TeamMemberStart/-Result and its Start/Result element, filled as far as both go alike
    (entry id, person, club; leg, leg order, bib, start time); the inner element is returned."""
    el = wr.sub(parent, tag)
    if m.entry_id:
        wr.sub(el, "EntryId", m.entry_id)
    if m.person is not None:
        wr.add_person(el, m.person)
    if m.organisation is not None:
        wr.add_organisation(el, m.organisation)
    leg = wr.sub(el, inner)
    wr.sub(leg, "Leg", m.leg)
    if m.leg_order is not None:
        wr.sub(leg, "LegOrder", m.leg_order)
    if m.bib:
        wr.sub(leg, "BibNumber", m.bib)
    if m.start_time is not None:
        wr.sub(leg, "StartTime", wr.start_datetime(m.start_time, resolution))
    return leg


def _add_team_member_start(parent: El, m: TeamMemberStartOut, resolution: float) -> None:
    st = _add_team_member(parent, "TeamMemberStart", "Start", m, resolution)
    if m.course is not None:
        wr.add_simple_course(st, m.course)
    if m.card is not None:
        wr.add_card(st, m.card)


def write_team_start_list(event: EventInfo, classes: Sequence[TeamClassStart], *, creator: str,
                          create_time: datetime, individual: Sequence[ClassStart] = (),
                          time_resolution: float = 1.0) -> bytes:
    """An IOF XML 3.0 StartList: individual classes (PersonStart) first, then relay classes with a
    TeamStart per team and a TeamMemberStart per runner (leg, leg order, start time when known).

    As in the individual StartList, a resolution other than 1 s is written as `timeResolution` on
    each ClassStart (the only place IOF XML 3.0 allows it) and start times keep their tenths."""
    res_attr = f"{time_resolution:g}" if time_resolution != 1 else None
    root = wr.message_root("StartList", creator=creator, create_time=create_time)
    wr.add_event(root, event)
    for cs in individual:
        el = wr.sub(root, "ClassStart", timeResolution=res_attr)
        wr.add_class(el, cs.class_def)
        if cs.course is not None:
            wr.add_simple_course(el, cs.course)
        for start in cs.starts:
            wr.add_person_start(el, start, time_resolution)
    for tc in classes:
        el = wr.sub(root, "ClassStart", timeResolution=res_attr)
        add_class_with_legs(el, tc.class_def, tc.legs)
        for team in tc.teams:
            t = _add_team(el, "TeamStart", team)
            for m in team.members:
                _add_team_member_start(t, m, time_resolution)
    return wr.to_bytes(root)


@dataclass(frozen=True)
class OverallOut:
    """The team's standing after a leg (IOF OverallResult)."""

    status: str
    time: float | None = None
    time_behind: float | None = None
    position: int | None = None


@dataclass(frozen=True)
class TeamMemberResultOut:
    leg: int
    status: str
    leg_order: int | None = None
    person: Person | None = None
    organisation: Organisation | None = None
    bib: str | None = None
    start_time: datetime | None = None
    finish_time: datetime | None = None
    time: float | None = None
    time_behind: float | None = None  # behind the leg's best (type="Leg")
    position: int | None = None  # the leg place (type="Leg")
    overall: OverallOut | None = None
    course: Course | None = None
    splits: tuple[wr.SplitOut, ...] = ()
    card: Card | None = None
    entry_id: str | None = None


@dataclass(frozen=True)
class TeamResultOut:
    name: str
    members: tuple[TeamMemberResultOut, ...] = ()
    bib: str | None = None
    organisations: tuple[Organisation, ...] = ()
    entry_id: str | None = None


@dataclass(frozen=True)
class TeamClassResult:
    class_def: ClassDef
    teams: tuple[TeamResultOut, ...] = ()
    legs: tuple[LegDef, ...] = ()
    time_resolution: float | None = None


def _status(value: str, who: str) -> str:
    status = wr._STATUS_ALIASES.get(value, value)
    if status not in wr.RESULT_STATUSES:
        raise ValueError(f"{who}: status {value!r} is not one of {', '.join(wr.RESULT_STATUSES)}")
    return status


def _position(position: int | None, status: str, who: str) -> None:
    if position is not None and (status != "OK" or position < 1):
        raise ValueError(f"{who}: position {position} with status {status}: places are only for OK")


def _add_team_member_result(parent: El, team: TeamResultOut, m: TeamMemberResultOut) -> None:
    who = f"team {team.name!r} leg {m.leg}"
    status = _status(m.status, who)
    _position(m.position, status, who)
    wr._check_splits(who, m.splits, m.course)
    res = _add_team_member(parent, "TeamMemberResult", "Result", m)
    if m.finish_time is not None:
        wr.sub(res, "FinishTime", wr.xml_datetime(m.finish_time))
    if m.time is not None:
        wr.sub(res, "Time", wr._seconds(m.time, f"{who}: time"))
    if m.time_behind is not None:
        wr.sub(res, "TimeBehind", wr._seconds(m.time_behind, f"{who}: time behind"), type="Leg")
    if m.position is not None:
        wr.sub(res, "Position", m.position, type="Leg")
    wr.sub(res, "Status", status)
    if m.overall is not None:
        o_status = _status(m.overall.status, f"{who} overall")
        _position(m.overall.position, o_status, f"{who} overall")
        ov = wr.sub(res, "OverallResult")
        if m.overall.time is not None:
            wr.sub(ov, "Time", wr._seconds(m.overall.time, f"{who}: overall time"))
        if m.overall.time_behind is not None:
            wr.sub(ov, "TimeBehind", wr._seconds(m.overall.time_behind, f"{who}: overall time behind"))
        if m.overall.position is not None:
            wr.sub(ov, "Position", m.overall.position)
        wr.sub(ov, "Status", o_status)
    if m.course is not None:
        wr.add_simple_course(res, m.course)
    if m.splits:
        # As iof_write does for PersonResult: split times (most of a result list's elements) as
        # escaped text parsed by libxml2 in one go per runner, instead of three SubElement calls each.
        parts = [wr._SPLITS_OPEN]
        for s in m.splits:
            attr = "" if s.status == "OK" else f' status="{s.status}"'
            code = xml_escape(wr.xml_text(s.code))
            t = "" if s.time is None else f"<Time>{wr._seconds(s.time, f'{who}: split time at {s.code}')}</Time>"
            parts.append(f"<SplitTime{attr}><ControlCode>{code}</ControlCode>{t}</SplitTime>")
        parts.append("</w>")
        res.extend(etree.fromstring("".join(parts), wr._FRAGMENT_PARSER))
    if m.card is not None:
        wr.add_card(res, m.card)


def _check_every_leg(tc: TeamClassResult, team: TeamResultOut) -> None:
    """IOF XML 3.0 (TeamResult/TeamMemberResult): "one element per relay leg must be included, even
    if the team has not assigned any team member to the leg" -- else another program reads a team
    that did not finish as a team of fewer legs."""
    have = {m.leg for m in team.members}
    for leg in range(1, len(tc.legs) + 1):
        if leg not in have:
            raise ValueError(f"team {team.name!r}: no TeamMemberResult for leg {leg} of class "
                             f"{tc.class_def.name!r} (an empty position is written without a person, "
                             "status DidNotStart)")


def write_team_result_list(event: EventInfo, classes: Sequence[TeamClassResult], *, creator: str,
                           create_time: datetime, status: wr.ResultListStatus = "Complete") -> bytes:
    """An IOF XML 3.0 ResultList of relay classes: a TeamResult per team in list order, a
    TeamMemberResult per runner position with the runner's time, leg place and OverallResult (see
    position_standings; the team's time, place and status are the last leg's OverallResult).
    With the class's legs given, every leg must have a TeamMemberResult (empty_positions)."""
    if status not in ("Complete", "Delta", "Snapshot"):
        raise ValueError(f"result list status {status!r} is not Complete, Delta or Snapshot")
    root = wr.message_root("ResultList", creator=creator, create_time=create_time)
    root.set("status", status)
    wr.add_event(root, event)
    for tc in classes:
        res = tc.time_resolution
        el = wr.sub(root, "ClassResult", timeResolution=f"{res:g}" if res is not None and res != 1 else None)
        add_class_with_legs(el, tc.class_def, tc.legs)
        for team in tc.teams:
            _check_every_leg(tc, team)
            t = _add_team(el, "TeamResult", team)
            for m in team.members:
                _add_team_member_result(t, team, m)
    return wr.to_bytes(root)


# ---- what each runner position's TeamMemberResult says -----------------------------------------------


def empty_positions(cls: relay.RelayClass, team: relay.Team) -> list[relay.Slot]:
    """The positions a TeamResult lists although nobody runs them: IOF XML 3.0 wants a
    TeamMemberResult on every leg, without a Person when the team has nobody there (the official
    relay ResultList: Status DidNotStart, the team's OverallResult DidNotFinish). Per leg, the
    lowest free leg orders until the leg has its minimum of runners (at least one): a parallel
    leg every runner must run misses the runner who is not there; an optional parallel position
    left free is not listed (the example's teams of one runner on the 1-3 runner leg)."""
    out: list[relay.Slot] = []
    for leg_no, leg in enumerate(cls.legs, 1):
        taken = {m.order for m in team.members if m.leg == leg_no and 1 <= m.order <= leg.runners}
        missing = max(leg.min_runners, 1) - len(taken)
        free = (k for k in range(1, leg.runners + 1) if k not in taken)
        out += [(leg_no, k) for k in itertools.islice(free, max(missing, 0))]
    return out


@dataclass(frozen=True)
class PositionStanding:
    """One runner position's places as its TeamMemberResult gives them: the leg place and time
    behind (Position/TimeBehind type="Leg") and the OverallResult."""

    place: int | None
    behind: float | None
    overall: OverallOut


_NO_DATA = (Status.INACTIVE, Status.DID_NOT_START)


def position_standings(cls: relay.RelayClass, ranking: relay.RelayRanking, *,
                       resolution: float = 1.0) -> dict[tuple[Hashable, relay.Slot], PositionStanding]:
    """(team key, position) -> its standing, for every runner and every empty position
    (empty_positions) of the ranked teams, as the official relay ResultList means them.

    A leg of one runner: the runner's places are the leg's (relay.rank_relay: leg place, the
    team's standing after the leg). A parallel leg (IOF LegOrder): each runner gets their own
    -- the leg place ranks the runner's time among every runner of the leg; the OverallResult is
    the team's standing after the previous leg plus this runner's leg (time: the team's time
    after the previous leg + the runner's time; status: relay._team_status over the earlier
    legs and this runner; place and behind among the teams that have this position -- "teams
    that don't have a Leg 2, LegOrder 2 are excluded from the TimeBehind and Position
    calculation"). The team's standing after the leg stays on the next leg's runners."""
    out: dict[tuple[Hashable, relay.Slot], PositionStanding] = {}
    by_leg: dict[int, list[ResultEntry]] = {}
    by_slot: dict[relay.Slot, list[ResultEntry]] = {}
    for rt in ranking.teams:
        team = rt.result.team
        legs = rt.result.legs
        any_data = any(m.status not in _NO_DATA for leg in legs for m in leg.members)
        empty = empty_positions(cls, team)
        for rl in rt.legs:
            leg = rl.result
            if leg.leg > len(cls.legs):
                continue
            positions: list[tuple[relay.Slot, relay.MemberResult | None]] = [
                ((m.leg, m.order), m) for m in leg.members]
            positions += [(s, None) for s in empty if s[0] == leg.leg]
            if cls.leg(leg.leg).runners == 1:
                for slot, m in positions:
                    placed = m is not None and leg.status is Status.OK and rl.place is not None
                    out[(team.key, slot)] = PositionStanding(
                        rl.place if placed else None, rl.behind if placed else None,
                        OverallOut(leg.overall_status.value, leg.overall_time,
                                   rl.overall_behind if rl.overall_place else None, rl.overall_place))
                continue
            prev = legs[leg.leg - 2] if leg.leg > 1 else None
            before = [(x.status, bool(x.members)) for x in legs[:leg.leg - 1]]
            for slot, m in positions:
                own = m.status if m is not None else Status.DID_NOT_START
                status = relay._team_status([*before, (own, True)], any_data)
                if status is Status.OK and prev is not None and prev.overall_status is not Status.OK:
                    # The stored standing (a file's, or a team over its max time) is not OK: it stands.
                    status = prev.overall_status
                base = prev.overall_time if prev is not None else 0.0
                time = base + m.time if status is Status.OK and m is not None and m.time is not None \
                    and base is not None else None
                key = (team.key, slot)
                by_slot.setdefault(slot, []).append(ResultEntry(key, team.name, status, time, team.not_competing))
                if m is not None:
                    by_leg.setdefault(leg.leg, []).append(ResultEntry(key, team.name, m.status, m.time, team.not_competing))
                out[key] = PositionStanding(None, None, OverallOut(status.value, time))
    leg_rows = {row.key: row for rows in by_leg.values() for row in rank_class(rows, ListType.NORMAL, resolution)}
    for rows in by_slot.values():
        for row in rank_class(rows, ListType.NORMAL, resolution):
            old = out[row.key]  # type: ignore[index]
            leg_row = leg_rows.get(row.key)
            out[row.key] = PositionStanding(  # type: ignore[index]
                leg_row.place if leg_row else None, leg_row.behind if leg_row and leg_row.place else None,
                replace(old.overall, time_behind=row.behind if row.place else None, position=row.place))
    return out
