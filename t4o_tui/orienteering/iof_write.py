"""Strict IOF XML 3.0 writers: default namespace, schema element order, output that validates.

StartList, EntryList, ClassList, CourseData and ResultList. The element helpers (`add_person`,
`add_organisation`, `add_class`, …) are shared by every writer. Values the schema would refuse (a
naive datetime, an unknown status, a course of fewer than two controls) raise ValueError here,
so a bad file is never written.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Literal, NamedTuple, TypeAlias, cast
from xml.sax.saxutils import escape as xml_escape

from lxml import etree

from t4o_tui.orienteering.model import (
    CLASS_STATUSES,
    CONTROL_TYPES,
    Card,
    ClassDef,
    ClassStart,
    Course,
    CourseData,
    EntryRecord,
    EventInfo,
    Ids,
    Organisation,
    Person,
    StartRecord,
    preferred_id,
)
from t4o_tui.orienteering.punch_check import SplitTime, Status, normalize_code
from t4o_tui.orienteering.ranking import ResultEntry, rank_class
from t4o_tui.orienteering.xmlsafe import IOF_NS

El: TypeAlias = etree._Element

# Characters XML 1.0 cannot carry at all; a stray control character in a name must not break the file.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: object) -> str:
    """Text as XML can hold it: non-XML control characters dropped."""
    text = str(value)
    # Printable text (nearly all of it) needs no scan: a 10,000-runner list writes ~150,000 values.
    return text if text.isprintable() else _NOT_XML.sub("", text)


def xml_datetime(dt: datetime) -> str:
    """xsd:dateTime with its offset; naive datetimes are refused, the reader could not place them."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt.isoformat()} in an IOF export: give it a time zone")
    return dt.isoformat(timespec="seconds")


_QNAMES: dict[str, str] = {}
_sub_element = etree.SubElement
_SPLITS_OPEN = f'<w xmlns="{IOF_NS}">'
# Our own text only (never a file's): a plain, non-resolving parser is enough and safe.
_FRAGMENT_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
_SPLIT_TIME, _CONTROL_CODE, _TIME = (f"{{{IOF_NS}}}{t}" for t in ("SplitTime", "ControlCode", "Time"))


def sub(parent: El, tag: str, text: object | None = None, **attrs: object) -> El:
    """Append an IOF element; None attributes are left out."""
    qname = _QNAMES.get(tag)
    if qname is None:
        qname = _QNAMES[tag] = f"{{{IOF_NS}}}{tag}"
    el = etree.SubElement(parent, qname)
    for k, v in attrs.items():
        if v is not None:
            el.set(k, xml_text(v))
    if text is not None:
        el.text = xml_text(text)
    return el


def message_root(name: str, *, creator: str, create_time: datetime) -> El:
    """The message element with the attributes every IOF 3.0 message carries."""
    root = etree.Element(f"{{{IOF_NS}}}{name}", nsmap={None: IOF_NS})
    root.set("iofVersion", "3.0")
    root.set("createTime", xml_datetime(create_time))
    root.set("creator", xml_text(creator))
    return root


def to_bytes(root: El) -> bytes:
    """UTF-8, indented, with the double-quoted declaration every IOF program's examples use."""
    # lxml's own declaration uses single quotes: valid XML, but hand-rolled readers trip on it.
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + bytes(body)


def add_one_id(parent: El, ids: Ids, tag: str = "Id") -> None:
    """Most IOF elements allow a single Id: the untyped one if any, else the first."""
    if chosen := preferred_id(ids):
        sub(parent, tag, chosen[1], type=chosen[0] or None)


def add_ids(parent: El, ids: Ids) -> None:
    """Every id, typed ones with their type attribute (Person allows several)."""
    for t, v in ids.items():
        sub(parent, "Id", v, type=t or None)


def _date_and_time(parent: El, tag: str, day: date | None, at: datetime | None) -> None:
    if at is not None:
        stamp = xml_datetime(at)
        el = sub(parent, tag)
        sub(el, "Date", stamp[:10])
        sub(el, "Time", stamp[11:])
    elif day is not None:
        sub(sub(parent, tag), "Date", day.isoformat())


def add_event(parent: El, event: EventInfo, *, classes: Sequence[ClassDef] = ()) -> El:
    """Event: Id, Name, StartTime, the event's classes (entry lists), then Race elements."""
    el = sub(parent, "Event")
    add_one_id(el, event.ids)
    sub(el, "Name", event.name)
    _date_and_time(el, "StartTime", event.date, event.first_start)
    for cls in classes:
        add_class(el, cls)
    for race in event.races:
        r = sub(el, "Race")
        sub(r, "RaceNumber", race.number)
        sub(r, "Name", race.name)
        _date_and_time(r, "StartTime", race.date, race.first_start)
    return el


def add_person(parent: El, person: Person, tag: str = "Person") -> El:
    """Person: Id*, Name (Family, Given), BirthDate, Nationality; a bare birth year has no place."""
    el = sub(parent, tag, sex=person.sex)
    add_ids(el, person.ids)
    name = sub(el, "Name")
    sub(name, "Family", person.family)
    sub(name, "Given", person.given)
    if person.birth_date is not None:
        sub(el, "BirthDate", person.birth_date.isoformat())
    if person.nationality:
        sub(el, "Nationality", person.nationality, code=person.nationality)
    return el


def add_organisation(parent: El, org: Organisation, tag: str = "Organisation") -> El:
    """Organisation: Id, Name, ShortName, Country (the code doubles as the country name)."""
    el = sub(parent, tag)
    add_one_id(el, org.ids)
    sub(el, "Name", org.name)
    if org.short_name:
        sub(el, "ShortName", org.short_name)
    if org.country:
        sub(el, "Country", org.country, code=org.country)
    return el


def add_class(parent: El, cls: ClassDef, tag: str = "Class") -> El:
    """Class: Id, Name, ShortName, one empty Leg per relay leg, Status when not Normal."""
    if cls.status not in CLASS_STATUSES:
        raise ValueError(
            f"class {cls.name!r}: status {cls.status!r} is not one of {', '.join(CLASS_STATUSES)}"
        )
    el = sub(
        parent,
        tag,
        minAge=cls.min_age,
        maxAge=cls.max_age,
        sex=cls.sex,
        numberOfCompetitors=cls.number_of_competitors,
    )
    add_one_id(el, cls.ids)
    sub(el, "Name", cls.name)
    if cls.short_name:
        sub(el, "ShortName", cls.short_name)
    for _ in range(cls.legs):
        sub(el, "Leg")
    if cls.status != "Normal":
        sub(el, "Status", cls.status)
    return el


def add_simple_course(parent: El, course: Course, tag: str = "Course", **attrs: object) -> El:
    """SimpleCourse: Id, Name, CourseFamily, Length, Climb, NumberOfControls (when controls are known)."""
    el = sub(parent, tag, **attrs)
    add_one_id(el, course.ids)
    if course.name:
        sub(el, "Name", course.name)
    if course.family:
        sub(el, "CourseFamily", course.family)
    if course.length is not None:
        sub(el, "Length", course.length)
    if course.climb is not None:
        sub(el, "Climb", course.climb)
    if course.controls:
        sub(el, "NumberOfControls", sum(1 for c in course.controls if c.type == "Control"))
    return el


def add_card(parent: El, card: Card) -> El:
    return sub(parent, "ControlCard", card.number, punchingSystem=card.system)


def start_datetime(dt: datetime, resolution: float = 1.0) -> str:
    """A start time as xsd:dateTime: whole seconds, or with its tenth at 0.1 s resolution when it
    has one (truncated as ranking truncates; 50 µs of slack for float timestamps like x.2999999)."""
    tenth = (dt.microsecond + 50) // 100_000
    if resolution >= 1 or tenth == 0:
        return xml_datetime(dt)
    text = xml_datetime(dt.replace(microsecond=0))
    return f"{text[:19]}.{tenth}{text[19:]}"


def add_person_start(parent: El, start: StartRecord, resolution: float = 1.0) -> El:
    """PersonStart: EntryId, Person, Organisation, Start (BibNumber, StartTime, Course, ControlCard)."""
    el = sub(parent, "PersonStart")
    if start.entry_id:
        sub(el, "EntryId", start.entry_id)
    if start.person is not None:
        add_person(el, start.person)
        if start.organisation is not None:
            add_organisation(el, start.organisation)
    st = sub(el, "Start", raceNumber=start.race_number)
    if start.bib:
        sub(st, "BibNumber", start.bib)
    if start.start_time is not None:
        sub(st, "StartTime", start_datetime(start.start_time, resolution))
    if start.course is not None:
        add_simple_course(st, start.course)
    if start.card is not None:
        add_card(st, start.card)
    return el


def write_start_list(
    event: EventInfo, classes: Sequence[ClassStart], *, creator: str, create_time: datetime,
    time_resolution: float = 1.0,
) -> bytes:
    """An IOF XML 3.0 StartList; a start without a person is written as a vacant PersonStart.

    `time_resolution` is the event's (1 s, or 0.1 s): as the ResultList writer does on ClassResult,
    a resolution other than the default 1 is written as `timeResolution` on every ClassStart (the
    only place IOF XML 3.0 allows it in a StartList; Start has no such attribute), and start times
    keep their tenths."""
    if not math.isfinite(time_resolution) or time_resolution <= 0:
        raise ValueError(f"time resolution {time_resolution!r}: expected seconds (1 or 0.1)")
    res_attr = f"{time_resolution:g}" if time_resolution != 1 else None
    root = message_root("StartList", creator=creator, create_time=create_time)
    add_event(root, event)
    texts: list[bytes] = []
    orgs: dict[object, str] = {}  # each club's and course's text once
    for cs in classes:
        el = sub(root, "ClassStart", timeResolution=res_attr)
        add_class(el, cs.class_def)
        if cs.course is not None:
            add_simple_course(el, cs.course)
        if cs.start_name:
            sub(el, "StartName", cs.start_name)
        if cs.starts:
            # As for the ResultList: a marker now, the class's PersonStarts as text after serialising.
            el.append(etree.Comment(f"t4o-starts-{len(texts)}"))
            texts.append("".join(person_start_xml(s, time_resolution, orgs) for s in cs.starts).encode("utf-8"))
    return _filled(to_bytes(root), "t4o-starts", texts)


# ---- EntryList, ClassList, CourseData -------------------------------------------------------------


def add_person_entry(parent: El, entry: EntryRecord, class_ids: dict[str, Ids]) -> El:
    """PersonEntry: Id, Person, Organisation, ControlCard*, Class* (Id when known, Name), RaceNumber*."""
    el = sub(parent, "PersonEntry")
    if entry.entry_id:
        sub(el, "Id", entry.entry_id)
    add_person(el, entry.person)
    if entry.organisation is not None:
        add_organisation(el, entry.organisation)
    for card in entry.cards:
        add_card(el, card)
    for name in entry.class_names:
        cls = sub(el, "Class")
        add_one_id(cls, class_ids.get(name, {}))
        sub(cls, "Name", name)
    for n in entry.race_numbers:
        sub(el, "RaceNumber", n)
    return el


def write_entry_list(
    event: EventInfo,
    entries: Sequence[EntryRecord],
    *,
    creator: str,
    create_time: datetime,
    classes: Sequence[ClassDef] = (),
) -> bytes:
    """An IOF XML 3.0 EntryList; `classes` go into the Event (importers create them from there).

    IOF entries carry no bib, start time or entry status: those EntryRecord fields are not written.
    """
    root = message_root("EntryList", creator=creator, create_time=create_time)
    add_event(root, event, classes=classes)
    class_ids = {c.name: c.ids for c in classes}
    for entry in entries:
        add_person_entry(root, entry, class_ids)
    return to_bytes(root)


def write_class_list(classes: Sequence[ClassDef], *, creator: str, create_time: datetime) -> bytes:
    """An IOF XML 3.0 ClassList."""
    root = message_root("ClassList", creator=creator, create_time=create_time)
    for cls in classes:
        add_class(root, cls)
    return to_bytes(root)


def _control_type(value: str, where: str) -> str:
    if value not in CONTROL_TYPES:
        raise ValueError(
            f"{where}: control type {value!r} is not one of {', '.join(CONTROL_TYPES)}"
        )
    return value


def add_course(parent: El, course: Course) -> El:
    """Course of CourseData: Id, Name, CourseFamily, Length, Climb, CourseControl (type, Control+, LegLength)."""
    if not course.name:
        raise ValueError("a course without a name cannot be written to CourseData")
    if len(course.controls) < 2:
        # The schema wants at least a start and a finish; an empty course means the data is incomplete.
        raise ValueError(
            f"course {course.name!r} has {len(course.controls)} controls: at least 2 needed"
        )
    el = sub(parent, "Course")
    add_one_id(el, course.ids)
    sub(el, "Name", course.name)
    if course.family:
        sub(el, "CourseFamily", course.family)
    if course.length is not None:
        sub(el, "Length", course.length)
    if course.climb is not None:
        sub(el, "Climb", course.climb)
    for cc in course.controls:
        # The type is written even for plain controls: readers that guess from the code then agree.
        cel = sub(el, "CourseControl", type=_control_type(cc.type, f"course {course.name!r}"))
        for code in (cc.code, *cc.alternatives):
            sub(cel, "Control", code)
        if cc.leg_length is not None:
            sub(cel, "LegLength", cc.leg_length)
    return el


def write_course_data(data: CourseData, *, creator: str, create_time: datetime) -> bytes:
    """An IOF XML 3.0 CourseData of one race: controls, courses, class and person course assignments."""
    root = message_root("CourseData", creator=creator, create_time=create_time)
    add_event(root, data.event)
    race = sub(root, "RaceCourseData", raceNumber=data.race_number)
    for control in data.controls:
        cel = sub(race, "Control", type=_control_type(control.type, f"control {control.code!r}"))
        sub(cel, "Id", control.code)
    for course in data.courses:
        add_course(race, course)
    for a in data.assignments:
        if a.course_name is None and a.course_family is None:
            raise ValueError(
                f"class {a.class_name!r}: a course assignment needs a course or a family"
            )
        el = sub(race, "ClassCourseAssignment")
        add_one_id(el, a.class_ids, "ClassId")
        sub(el, "ClassName", a.class_name)
        for leg in a.legs:
            sub(el, "AllowedOnLeg", leg)
        if a.course_name is not None:
            sub(el, "CourseName", a.course_name)
        if a.course_family is not None:
            sub(el, "CourseFamily", a.course_family)
    for p in data.person_assignments:
        el = sub(race, "PersonCourseAssignment")
        for tag, value in (
            ("EntryId", p.entry_id),
            ("BibNumber", p.bib),
            ("PersonName", p.person_name),
            ("ClassName", p.class_name),
            ("CourseName", p.course_name),
            ("CourseFamily", p.course_family),
        ):
            if value is not None:
                sub(el, tag, value)
    return to_bytes(root)


# ---- ResultList -----------------------------------------------------------------------------------

RESULT_STATUSES = (
    "OK", "Finished", "MissingPunch", "Disqualified", "DidNotFinish", "Active", "Inactive",
    "OverTime", "SportingWithdrawal", "NotCompeting", "Moved", "MovedUp", "DidNotStart",
    "DidNotEnter", "Cancelled",
)  # fmt: skip
"""IOF 3.0 ResultStatus values, as the schema lists them."""

# Time4o's in-the-forest statuses are not IOF values: on the course means Active (as iof_status).
_STATUS_ALIASES = {"Started": "Active", "Checked": "Active"}

SplitStatus = Literal["OK", "Missing", "Additional"]
ResultListStatus = Literal["Complete", "Delta", "Snapshot"]


class SplitOut(NamedTuple):
    """Time since start at one course control; a Missing control has no time (nor may an OK one whose time is lost).

    A named tuple, not a dataclass: a 10,000-runner result list makes ~150,000 of them.
    """

    code: str
    time: float | None = None
    status: SplitStatus = "OK"


@dataclass(frozen=True)
class PersonResultOut:
    """One runner's result as a ResultList carries it; `status` is an IOF ResultStatus, `time`s are seconds."""

    person: Person
    status: str
    organisation: Organisation | None = None
    bib: str | None = None
    start_time: datetime | None = None
    finish_time: datetime | None = None
    time: float | None = None
    time_behind: float | None = None
    position: int | None = None
    splits: tuple[SplitOut, ...] = ()
    card: Card | None = None
    course: Course | None = None
    entry_id: str | None = None
    race_number: int | None = None


@dataclass(frozen=True)
class ClassResultOut:
    """The results of one class in list order; `course` is the class's course when all run the same."""

    class_def: ClassDef
    results: tuple[PersonResultOut, ...] = ()
    course: Course | None = None
    time_resolution: float | None = None  # seconds (0.1 for tenths); written when not the default 1


def split_outs(splits: Iterable[SplitTime]) -> tuple[SplitOut, ...]:
    """The punch check's split times as a ResultList writes them."""
    return tuple(
        SplitOut(s.code, None if s.missing else s.time, "Missing" if s.missing else "OK")
        for s in splits
    )


def rank_results(results: Iterable[PersonResultOut], resolution: float = 1.0) -> tuple[PersonResultOut, ...]:
    """Results in list order with Position and TimeBehind filled in by `ranking.rank_class` at
    `resolution` seconds (1, or 0.1 for tenths)."""
    items = list(results)
    entries = []
    for i, r in enumerate(items):
        status = _STATUS_ALIASES.get(r.status, r.status)
        if status not in RESULT_STATUSES:
            raise ValueError(f"{r.person.name}: status {r.status!r} is not an IOF ResultStatus")
        entries.append(ResultEntry(key=i, name=r.person.name, status=Status(status), time=r.time))
    return tuple(
        replace(items[cast(int, row.key)], position=row.place, time_behind=row.behind)
        for row in rank_class(entries, resolution=resolution)
    )


def _seconds(value: float, what: str) -> str:
    """xsd:double seconds: whole seconds without a decimal point, as the IOF examples write them."""
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} is {value!r}: expected a non-negative number of seconds")
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _same_code(a: str, b: str) -> bool:
    return normalize_code(a) == normalize_code(b)


def _check_splits(who: str, splits: Sequence[SplitOut], course: Course | None) -> None:
    for s in splits:
        if s.status not in ("OK", "Missing", "Additional"):
            raise ValueError(f"{who}: split status {s.status!r} is not OK, Missing or Additional")
        if s.status == "Missing" and s.time is not None:
            raise ValueError(f"{who}: control {s.code} is Missing but has a time")
    if course is None or not course.controls or not splits:
        return
    # The schema cannot say it, the IOF rules do: every course control, in course order.
    wanted = [cc for cc in course.controls if cc.type == "Control"]
    listed = [s for s in splits if s.status != "Additional"]
    ok = len(wanted) == len(listed) and all(
        any(_same_code(s.code, c) for c in (cc.code, *cc.alternatives))
        for s, cc in zip(listed, wanted, strict=True)
    )
    if not ok:
        raise ValueError(
            f"{who}: split times {[s.code for s in listed]} do not list course {course.name!r}'s "
            f"controls {[cc.code for cc in wanted]} in order (missing ones with status Missing)"
        )


def _checked_status(r: PersonResultOut, class_course: Course | None) -> str:
    """The IOF status to write, after the checks a result must pass; ValueError otherwise."""
    who = r.person.name or "a runner"
    status = _STATUS_ALIASES.get(r.status, r.status)
    if status not in RESULT_STATUSES:
        raise ValueError(f"{who}: status {r.status!r} is not one of {', '.join(RESULT_STATUSES)}")
    if r.position is not None and status != "OK":
        raise ValueError(
            f"{who}: position {r.position} with status {status}: places are only for OK"
        )
    if r.position is not None and r.position < 1:
        raise ValueError(f"{who}: position {r.position} is not a place")
    _check_splits(who, r.splits, r.course if r.course and r.course.controls else class_course)
    return status


def add_person_result(parent: El, r: PersonResultOut, class_course: Course | None = None) -> El:
    """PersonResult: EntryId, Person, Organisation, Result (BibNumber … Status, Course, SplitTime*, ControlCard)."""
    who = r.person.name or "a runner"
    status = _checked_status(r, class_course)
    el = sub(parent, "PersonResult")
    if r.entry_id:
        sub(el, "EntryId", r.entry_id)
    add_person(el, r.person)
    if r.organisation is not None:
        add_organisation(el, r.organisation)
    res = sub(el, "Result", raceNumber=r.race_number)
    if r.bib:
        sub(res, "BibNumber", r.bib)
    if r.start_time is not None:
        sub(res, "StartTime", xml_datetime(r.start_time))
    if r.finish_time is not None:
        sub(res, "FinishTime", xml_datetime(r.finish_time))
    if r.time is not None:
        sub(res, "Time", _seconds(r.time, f"{who}: time"))
    if r.time_behind is not None:
        sub(res, "TimeBehind", _seconds(r.time_behind, f"{who}: time behind"))
    if r.position is not None:
        sub(res, "Position", r.position)
    sub(res, "Status", status)
    if r.course is not None:
        add_simple_course(res, r.course)
    if r.splits:
        # Split times are most of a result list's elements (~150,000 for 10,000 runners): they are
        # written as escaped text and parsed by libxml2 in one go per runner, instead of three
        # Python-level SubElement calls each. Codes are escaped; times are formatted numbers.
        parts = [_SPLITS_OPEN]
        for s in r.splits:
            t = s.time
            attr = "" if s.status == "OK" else f' status="{s.status}"'
            code = xml_escape(xml_text(s.code))
            if t is None:
                parts.append(f"<SplitTime{attr}><ControlCode>{code}</ControlCode></SplitTime>")
            else:
                text = (str(int(t)) if t >= 0 and math.isfinite(t) and t == int(t)
                        else _seconds(t, f"{who}: split time at {s.code}"))
                parts.append(f"<SplitTime{attr}><ControlCode>{code}</ControlCode><Time>{text}</Time></SplitTime>")
        parts.append("</w>")
        res.extend(etree.fromstring("".join(parts), _FRAGMENT_PARSER))
    if r.card is not None:
        add_card(res, r.card)
    return el


def _t(value: object) -> str:
    text = value if type(value) is str else str(value)
    # Codes, numbers and one-word names (most values) need no escaping at all.
    return text if text.isalnum() else xml_escape(xml_text(text))


def _q(value: object) -> str:
    text = value if type(value) is str else str(value)
    if text.isalnum():  # a type, a code, a sex: nothing to escape (as in _t)
        return f'"{text}"'
    return '"' + xml_escape(xml_text(text), {'"': "&quot;"}) + '"'


def _id_xml(ids: Ids) -> str:
    chosen = preferred_id(ids)
    if not chosen:
        return ""
    return f"<Id type={_q(chosen[0])}>{_t(chosen[1])}</Id>" if chosen[0] else f"<Id>{_t(chosen[1])}</Id>"


def _course_xml(c: Course, cache: dict[object, str] | None = None) -> str:
    # Courses without controls (as lists give them) repeat for every runner of a course: by value.
    key = (c.name, c.family, c.length, c.climb, tuple(c.ids.items())) if cache is not None and not c.controls else None
    if cache is not None and key is not None and (done := cache.get(key)) is not None:
        return done
    out = ["<Course>", _id_xml(c.ids)]
    if c.name:
        out.append(f"<Name>{_t(c.name)}</Name>")
    if c.family:
        out.append(f"<CourseFamily>{_t(c.family)}</CourseFamily>")
    if c.length is not None:
        out.append(f"<Length>{_t(c.length)}</Length>")
    if c.climb is not None:
        out.append(f"<Climb>{_t(c.climb)}</Climb>")
    if c.controls:
        out.append(f"<NumberOfControls>{sum(1 for cc in c.controls if cc.type == 'Control')}</NumberOfControls>")
    out.append("</Course>")
    text = "".join(out)
    if cache is not None and key is not None:
        cache[key] = text
    return text


def _person_xml(p: Person) -> str:
    """add_person as text."""
    out = [f"<Person sex={_q(p.sex)}>" if p.sex is not None else "<Person>"]
    out.extend(f"<Id type={_q(t)}>{_t(v)}</Id>" if t else f"<Id>{_t(v)}</Id>" for t, v in p.ids.items())
    out.append(f"<Name><Family>{_t(p.family)}</Family><Given>{_t(p.given)}</Given></Name>")
    if p.birth_date is not None:
        out.append(f"<BirthDate>{p.birth_date.isoformat()}</BirthDate>")
    if p.nationality:
        out.append(f"<Nationality code={_q(p.nationality)}>{_t(p.nationality)}</Nationality>")
    out.append("</Person>")
    return "".join(out)


def _organisation_xml(org: Organisation, cache: dict[object, str] | None = None) -> str:
    """add_organisation as text; `cache` (one list's writing, by value: jobs build a club per
    runner) serves a club's thousand runners with one text."""
    key = (org.name, org.short_name, org.country, tuple(org.ids.items()))
    if cache is not None and (done := cache.get(key)) is not None:
        return done
    out = ["<Organisation>", _id_xml(org.ids), f"<Name>{_t(org.name)}</Name>"]
    if org.short_name:
        out.append(f"<ShortName>{_t(org.short_name)}</ShortName>")
    if org.country:
        out.append(f"<Country code={_q(org.country)}>{_t(org.country)}</Country>")
    out.append("</Organisation>")
    text = "".join(out)
    if cache is not None:
        cache[key] = text
    return text


def person_start_xml(start: StartRecord, resolution: float = 1.0, orgs: dict[object, str] | None = None) -> str:
    """The same PersonStart as `add_person_start`, as text (no namespace prefix), as
    person_result_xml is for results: a 10,000-start list parsed once instead of ~180,000
    elements built from Python. `tests/test_iof_write_more.py` checks both give the same XML."""
    out = ["<PersonStart>"]
    if start.entry_id:
        out.append(f"<EntryId>{_t(start.entry_id)}</EntryId>")
    if start.person is not None:
        out.append(_person_xml(start.person))
        if start.organisation is not None:
            out.append(_organisation_xml(start.organisation, orgs))
    out.append(f"<Start raceNumber={_q(start.race_number)}>" if start.race_number is not None else "<Start>")
    if start.bib:
        out.append(f"<BibNumber>{_t(start.bib)}</BibNumber>")
    if start.start_time is not None:
        out.append(f"<StartTime>{start_datetime(start.start_time, resolution)}</StartTime>")
    if start.course is not None:
        out.append(_course_xml(start.course, orgs))
    if start.card is not None:
        system = f" punchingSystem={_q(start.card.system)}" if start.card.system is not None else ""
        out.append(f"<ControlCard{system}>{_t(start.card.number)}</ControlCard>")
    out.append("</Start></PersonStart>")
    return "".join(out)


def person_result_xml(r: PersonResultOut, class_course: Course | None = None, orgs: dict[object, str] | None = None) -> str:
    """The same PersonResult as `add_person_result`, as text (no namespace prefix): a 10,000-runner
    list is written as text per class and parsed once by libxml2, several times faster than building
    ~370,000 elements from Python. `tests/test_iof_write_more.py` checks both give the same XML."""
    who = r.person.name or "a runner"
    status = _checked_status(r, class_course)
    p = r.person
    out = ["<PersonResult>"]
    if r.entry_id:
        out.append(f"<EntryId>{_t(r.entry_id)}</EntryId>")
    out.append(_person_xml(p))
    if r.organisation is not None:
        out.append(_organisation_xml(r.organisation, orgs))
    out.append(f"<Result raceNumber={_q(r.race_number)}>" if r.race_number is not None else "<Result>")
    if r.bib:
        out.append(f"<BibNumber>{_t(r.bib)}</BibNumber>")
    if r.start_time is not None:
        out.append(f"<StartTime>{xml_datetime(r.start_time)}</StartTime>")
    if r.finish_time is not None:
        out.append(f"<FinishTime>{xml_datetime(r.finish_time)}</FinishTime>")
    if r.time is not None:
        out.append(f"<Time>{_seconds(r.time, f'{who}: time')}</Time>")
    if r.time_behind is not None:
        out.append(f"<TimeBehind>{_seconds(r.time_behind, f'{who}: time behind')}</TimeBehind>")
    if r.position is not None:
        out.append(f"<Position>{int(r.position)}</Position>")
    out.append(f"<Status>{status}</Status>")
    if r.course is not None:
        out.append(_course_xml(r.course, orgs))
    for sp in r.splits:
        t = sp.time
        attr = "" if sp.status == "OK" else f" status={_q(sp.status)}"
        if t is None:
            out.append(f"<SplitTime{attr}><ControlCode>{_t(sp.code)}</ControlCode></SplitTime>")
        else:
            text = (str(int(t)) if t >= 0 and math.isfinite(t) and t == int(t)
                    else _seconds(t, f"{who}: split time at {sp.code}"))
            out.append(f"<SplitTime{attr}><ControlCode>{_t(sp.code)}</ControlCode><Time>{text}</Time></SplitTime>")
    if r.card is not None:
        system = f" punchingSystem={_q(r.card.system)}" if r.card.system is not None else ""
        out.append(f"<ControlCard{system}>{_t(r.card.number)}</ControlCard>")
    out.append("</Result></PersonResult>")
    return "".join(out)


def write_result_list(
    event: EventInfo,
    classes: Sequence[ClassResultOut],
    *,
    creator: str,
    create_time: datetime,
    status: ResultListStatus = "Complete",
) -> bytes:
    """An IOF XML 3.0 ResultList; results are written in the order given (see `rank_results`)."""
    if status not in ("Complete", "Delta", "Snapshot"):
        raise ValueError(f"result list status {status!r} is not Complete, Delta or Snapshot")
    root = message_root("ResultList", creator=creator, create_time=create_time)
    root.set("status", status)
    add_event(root, event)
    texts: list[bytes] = []
    orgs: dict[object, str] = {}  # each club's and course's text once
    for cr in classes:
        res = cr.time_resolution
        el = sub(root, "ClassResult", timeResolution=f"{res:g}" if res is not None and res != 1 else None)
        add_class(el, cr.class_def)
        if cr.course is not None:
            add_simple_course(el, cr.course)
        if cr.results:
            # A marker now, the class's PersonResults as text after serialising: parsing 23 MB of
            # our own, already escaped text only to serialise it again would double the work.
            el.append(etree.Comment(f"t4o-results-{len(texts)}"))
            texts.append("".join(person_result_xml(r, cr.course, orgs) for r in cr.results).encode("utf-8"))
    return _filled(to_bytes(root), "t4o-results", texts)


def _filled(skeleton: bytes, marker: str, texts: list[bytes]) -> bytes:
    """The serialised document with its markers <!--{marker}-{i}--> (in document order) replaced by
    texts[i], joined once: a replace() per class copied the whole growing list each time."""
    pieces: list[bytes] = []
    pos = 0
    for i, text in enumerate(texts):
        tag = f"<!--{marker}-{i}-->".encode()
        at = skeleton.index(tag, pos)
        pieces += (skeleton[pos:at], text)
        pos = at + len(tag)
    pieces.append(skeleton[pos:])
    return b"".join(pieces)


@functools.lru_cache(maxsize=4)
def _schema(path: str) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    return etree.XMLSchema(etree.parse(path, parser))


def validate(xml: bytes, xsd_path: str | Path) -> list[str]:
    """Schema errors as "line N: message" (empty when valid); the schema is loaded once per path."""
    schema = _schema(str(Path(xsd_path).resolve()))
    try:
        doc = etree.fromstring(
            xml, etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
        )
    except etree.XMLSyntaxError as e:
        return [f"line {e.lineno}: not well-formed: {e.msg}"]
    if schema.validate(doc):
        return []
    return [f"line {err.line}: {err.message}" for err in schema.error_log]
