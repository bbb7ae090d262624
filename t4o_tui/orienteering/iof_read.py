"""Lenient readers for IOF XML 3.0 ClassList, CourseData, EntryList and StartList (and 2.0.3 CourseData)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, tzinfo
from typing import TypeAlias

from lxml import etree

from t4o_tui.orienteering.model import (
    CONTROL_TYPES,
    Card,
    ClassCourseAssignment,
    ClassDef,
    ClassList,
    ClassResultRecord,
    ClassStart,
    Control,
    ControlType,
    Course,
    CourseControl,
    CourseData,
    EntryList,
    EntryRecord,
    EventInfo,
    Ids,
    IofDocument,
    Organisation,
    Person,
    PersonCourseAssignment,
    PersonResultRecord,
    RaceInfo,
    ResultListDoc,
    Sex,
    SplitRecord,
    StartListDoc,
    StartRecord,
)
from t4o_tui.orienteering.xmlsafe import (
    IOF_NS,
    IofError,
    clean,
    date_and_time,
    date_value,
    datetime_of,
    int_attr,
    int_of,
    int_value,
    metres_of,
    number_of,
    parse,
    text_of,
)

El: TypeAlias = etree._Element

MESSAGE_TYPES = (
    "CompetitorList", "OrganisationList", "EventList", "ClassList", "EntryList",
    "CourseData", "StartList", "ResultList", "ServiceRequestList", "ControlCardList",
)  # fmt: skip
READABLE = ("ClassList", "CourseData", "EntryList", "StartList", "ResultList")
START_CODES = ("S",)
FINISH_CODES = ("F", "M")  # M: "mål", the finish in the Scandinavian programs


# ---- the message: parse, identify, dispatch -------------------------------------------------------


def _a(word: str) -> str:
    return f"{'an' if word[0] in 'AEIOU' else 'a'} {word}"


def _load(data: bytes, expected: str | None) -> tuple[El, str, list[str]]:
    root, warnings = parse(data)
    tag = root.tag
    if tag.startswith("{"):
        local = etree.QName(tag).localname
        if local in MESSAGE_TYPES:
            raise IofError(
                f"<{local}> is in namespace {etree.QName(tag).namespace}, not IOF XML 3.0's",
                root.sourceline,
            )
        raise IofError(f"wrong root element <{local}>: not an IOF XML 3.0 file", root.sourceline)
    if tag not in MESSAGE_TYPES:
        raise IofError(f"wrong root element <{tag}>: not an IOF XML 3.0 file", root.sourceline)
    old = root.find("IOFVersion")
    if old is not None and not (tag == "CourseData" and (old.get("version") or "").startswith("2")):
        raise IofError(
            f"this is an IOF XML {old.get('version') or '2'} {tag}: export IOF XML 3.0 instead",
            root.sourceline,
        )
    if expected is not None and tag != expected:
        raise IofError(f"this is {_a(tag)}, expected {_a(expected)}", root.sourceline)
    if tag not in READABLE:
        raise IofError(
            f"this is {_a(tag)}; the readable IOF XML files are {', '.join(READABLE)}",
            root.sourceline,
        )
    return root, tag, warnings


def read_iof(
    data: bytes,
    *,
    tz: tzinfo = UTC,
    race_number: int | None = None,
    start_codes: Sequence[str] = START_CODES,
    finish_codes: Sequence[str] = FINISH_CODES,
) -> IofDocument:
    """Read any supported IOF XML message, chosen by its root element."""
    root, tag, warnings = _load(data, None)
    if tag == "ClassList":
        return _class_list(root, warnings)
    if tag == "CourseData":
        return _course_data(root, warnings, race_number, start_codes, finish_codes, tz)
    if tag == "EntryList":
        return _entry_list(root, warnings, tz)
    if tag == "ResultList":
        return _result_list(root, warnings, race_number, tz)
    return _start_list(root, warnings, race_number, tz)


def read_class_list(data: bytes) -> ClassList:
    """Read an IOF XML 3.0 ClassList."""
    root, _, warnings = _load(data, "ClassList")
    return _class_list(root, warnings)


def read_course_data(
    data: bytes,
    *,
    race_number: int | None = None,
    start_codes: Sequence[str] = START_CODES,
    finish_codes: Sequence[str] = FINISH_CODES,
    tz: tzinfo = UTC,
) -> CourseData:
    """Read CourseData (3.0, or 2.0.3); unmarked codes beginning with a start/finish code (any case) are starts/finishes."""
    root, _, warnings = _load(data, "CourseData")
    return _course_data(root, warnings, race_number, start_codes, finish_codes, tz)


def read_entry_list(data: bytes, *, tz: tzinfo = UTC) -> EntryList:
    """Read an IOF XML 3.0 EntryList; `tz` places times written without an offset."""
    root, _, warnings = _load(data, "EntryList")
    return _entry_list(root, warnings, tz)


def read_start_list(
    data: bytes, *, race_number: int | None = None, tz: tzinfo = UTC
) -> StartListDoc:
    """Read an IOF XML 3.0 StartList; with `race_number`, only that race's starts (multi-race files)."""
    root, _, warnings = _load(data, "StartList")
    return _start_list(root, warnings, race_number, tz)


def read_result_list(
    data: bytes, *, race_number: int | None = None, tz: tzinfo = UTC
) -> ResultListDoc:
    """Read an IOF XML 3.0 ResultList (individual results); with `race_number`, only that race's.

    Lenient as other programs write them: decimal commas (OE writes `978,3`) and clock times
    (`16:18.3`) in times, no namespace, windows-1252; one warning per kind of deviation."""
    root, _, warnings = _load(data, "ResultList")
    return _result_list(root, warnings, race_number, tz)


# ---- IOF values ----------------------------------------------------------------------------------


def _kids(el: El) -> dict[str, list[El]]:
    """An element's children by tag, in one pass: a dozen find() calls per entry (each through
    lxml's ElementPath) cost more than parsing the file."""
    out: dict[str, list[El]] = {}
    for child in el:
        same = out.get(child.tag)
        if same is None:
            out[child.tag] = [child]
        else:
            same.append(child)
    return out


def _text(kids: dict[str, list[El]], name: str) -> str | None:
    """text_of over _kids: the first child `name`'s text, cleaned."""
    found = kids.get(name)
    return clean(found[0].text) if found else None


def _first(kids: dict[str, list[El]], name: str) -> El | None:
    found = kids.get(name)
    return found[0] if found else None


def _ids(el: El, name: str = "Id") -> Ids:
    return _ids_of(el.iterchildren(name))


def _ids_of(children: Iterable[El]) -> Ids:
    out: Ids = {}
    for child in children:
        value = clean(child.text)
        if value:
            out.setdefault(clean(child.get("type")) or "", value)
    return out


def _sex(s: str | None) -> Sex | None:
    s = (s or "").strip().upper()
    return "M" if s in ("M", "H") else "F" if s in ("F", "W", "K", "D") else None


# ---- shared elements ------------------------------------------------------------------------------


def _event(el: El | None, tz: tzinfo) -> EventInfo:
    if el is None:
        return EventInfo(name="")
    d, first = date_and_time(el.find("StartTime"), tz)
    races: list[RaceInfo] = []
    for r in el.findall("Race"):
        rd, rfirst = date_and_time(r.find("StartTime"), tz)
        races.append(
            RaceInfo(
                number=int_of(r, "RaceNumber") or len(races) + 1,
                name=text_of(r, "Name") or "",
                date=rd,
                first_start=rfirst,
            )
        )
    return EventInfo(
        name=text_of(el, "Name") or "", date=d, first_start=first, races=tuple(races), ids=_ids(el)
    )


def _person(el: El | None) -> Person | None:
    """None when there is no name: programs write nameless persons for vacant starts."""
    if el is None:
        return None
    kids = _kids(el)
    name = _first(kids, "Name")
    names = _kids(name) if name is not None else {}
    given, family = _text(names, "Given") or "", _text(names, "Family") or ""
    if not given and not family:
        return None
    birth, year = None, None
    raw = _text(kids, "BirthDate")
    if raw is not None and raw.isdigit() and len(raw) == 4:
        year = int(raw)  # a bare year is not xsd:date, but programs write it
    else:
        birth = date_value(raw, el.sourceline)
        year = birth.year if birth else None
    nat = _first(kids, "Nationality")
    nationality = (clean(nat.get("code")) or clean(nat.text)) if nat is not None else None
    return Person(
        given=given,
        family=family,
        sex=_sex(el.get("sex")),
        birth_date=birth,
        birth_year=year,
        nationality=nationality,
        ids=_ids_of(kids.get("Id", ())),
    )


def _organisation(el: El | None) -> Organisation | None:
    if el is None:
        return None
    kids = _kids(el)
    name, short = _text(kids, "Name"), _text(kids, "ShortName")
    if not (name or short):
        return None
    country = _first(kids, "Country")
    code = (clean(country.get("code")) or clean(country.text)) if country is not None else None
    return Organisation(name=name or short or "", short_name=short, country=code, ids=_ids_of(kids.get("Id", ())))


def _class(el: El) -> ClassDef:
    name, short = text_of(el, "Name"), text_of(el, "ShortName")
    if not (name or short):
        raise IofError("<Class> without <Name>", el.sourceline)
    return ClassDef(
        name=name or short or "",
        short_name=short,
        ids=_ids(el),
        sex=_sex(el.get("sex")),
        min_age=int_attr(el, "minAge"),
        max_age=int_attr(el, "maxAge"),
        status=text_of(el, "Status") or "Normal",
        legs=len(el.findall("Leg")),
        number_of_competitors=int_attr(el, "numberOfCompetitors"),
    )


def _class_name(el: El) -> str | None:
    kids = _kids(el)
    return _text(kids, "Name") or _text(kids, "ShortName")


def _cards(el: El) -> tuple[Card, ...]:
    return _cards_of(el.iterchildren("ControlCard"))


def _cards_of(children: Iterable[El]) -> tuple[Card, ...]:
    out = []
    for c in children:
        number = clean(c.text)
        if number and number.strip("0"):  # "0" and empty mean "no card" in several programs
            out.append(Card(number=number, system=clean(c.get("punchingSystem"))))
    return tuple(out)


def _simple_course(el: El | None) -> Course | None:
    if el is None:
        return None
    return Course(
        name=text_of(el, "Name") or "",
        length=metres_of(el, "Length"),
        climb=metres_of(el, "Climb"),
        family=text_of(el, "CourseFamily") or text_of(el, "CourseGroup"),  # CourseGroup: OCAD 11
        ids=_ids(el),
    )


def _unique_courses(found: list[tuple[El, Course]]) -> list[Course]:
    """Each course once, in file order. One repeated as it is (OCAD nests a copy in each assignment) is
    one course; one name for two different courses is refused, naming both lines: which one the
    runners of that name run cannot be told."""
    seen: dict[str, tuple[int | None, Course]] = {}
    out: list[Course] = []
    for el, course in found:
        if course.name in seen:
            line, first = seen[course.name]
            if first != course:
                raise IofError(f"course {course.name!r} is defined twice, differently (first on line {line})",
                               el.sourceline)
            continue
        seen[course.name] = (el.sourceline, course)
        out.append(course)
    return out


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# ---- ClassList ------------------------------------------------------------------------------------


def _class_list(root: El, warnings: list[str]) -> ClassList:
    return ClassList(
        classes=tuple(_class(c) for c in root.findall("Class")),
        creator=clean(root.get("creator")),
        warnings=tuple(warnings),
    )


# ---- EntryList ------------------------------------------------------------------------------------


def _entry_list(root: El, warnings: list[str], tz: tzinfo) -> EntryList:
    event_el = root.find("Event")
    entries = []
    for pe in root.iterchildren("PersonEntry"):
        kids = _kids(pe)
        person = _person(_first(kids, "Person"))
        if person is None:
            warnings.append(f"line {pe.sourceline}: an entry without a person name is skipped")
            continue
        races = tuple(
            n
            for r in kids.get("RaceNumber", ())
            if (n := int_value(clean(r.text), "<RaceNumber>", r.sourceline)) is not None
        )
        entries.append(
            EntryRecord(
                person=person,
                organisation=_organisation(_first(kids, "Organisation")),
                class_names=tuple(cn for c in kids.get("Class", ()) if (cn := _class_name(c))),
                cards=_cards_of(kids.get("ControlCard", ())),
                entry_id=_text(kids, "Id"),
                entry_id_type=clean(id_el.get("type")) if (id_el := _first(kids, "Id")) is not None else None,
                race_numbers=races,
                line=pe.sourceline,
            )
        )
    if teams := len(root.findall("TeamEntry")):
        warnings.append(
            f"{_count(teams, 'team entry', 'team entries')} skipped: relay teams are imported by Import Relay Entries"
        )
    return EntryList(
        event=_event(event_el, tz),
        entries=tuple(entries),
        classes=tuple(_class(c) for c in event_el.findall("Class")) if event_el is not None else (),
        creator=clean(root.get("creator")),
        warnings=tuple(warnings),
    )


# ---- StartList ------------------------------------------------------------------------------------


def _for_race(el: El, race_number: int | None) -> bool:
    n = int_attr(el, "raceNumber")
    return race_number is None or n is None or n == race_number


def _start_list(root: El, warnings: list[str], race_number: int | None, tz: tzinfo) -> StartListDoc:
    classes, teams = [], 0
    for cs in root.findall("ClassStart"):
        class_el = cs.find("Class")
        if class_el is None:
            raise IofError("<ClassStart> without <Class>", cs.sourceline)
        starts = []
        for ps in cs.findall("PersonStart"):
            person, org, entry_id = (
                _person(ps.find("Person")),
                _organisation(ps.find("Organisation")),
                text_of(ps, "EntryId"),
            )
            for st in ps.findall("Start"):
                if not _for_race(st, race_number):
                    continue
                cards = _cards(st)
                starts.append(
                    StartRecord(
                        person=person,
                        organisation=org if person is not None else None,
                        bib=text_of(st, "BibNumber"),
                        start_time=datetime_of(st, "StartTime", tz),
                        course=_simple_course(st.find("Course")),
                        card=cards[0] if cards else None,
                        entry_id=entry_id,
                        race_number=int_attr(st, "raceNumber"),
                        line=ps.sourceline,
                    )
                )
        teams += len(cs.findall("TeamStart"))
        course = next((c for c in cs.findall("Course") if _for_race(c, race_number)), None)
        start_name = next(
            (clean(s.text) for s in cs.findall("StartName") if _for_race(s, race_number)), None
        )
        classes.append(
            ClassStart(
                class_def=_class(class_el),
                starts=tuple(starts),
                course=_simple_course(course),
                start_name=start_name,
            )
        )
    if teams:
        warnings.append(
            f"{_count(teams, 'team', 'teams')} skipped: relay teams are imported by Import Relay Entries"
        )
    return StartListDoc(
        event=_event(root.find("Event"), tz),
        classes=tuple(classes),
        creator=clean(root.get("creator")),
        warnings=tuple(warnings),
    )


# ---- ResultList -----------------------------------------------------------------------------------

RESULT_STATUSES = (
    "OK", "Finished", "MissingPunch", "Disqualified", "DidNotFinish", "Active", "Inactive",
    "OverTime", "SportingWithdrawal", "NotCompeting", "Moved", "MovedUp", "DidNotStart",
    "DidNotEnter", "Cancelled",
)  # fmt: skip


class _Deviations:
    """Ways a file departs from the standard that are read anyway: one warning per kind, with how
    often and the first line, so a file of 5,000 results with decimal commas gives one line."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[int, int | None]] = {}

    def add(self, kind: str, line: int | None) -> None:
        n, first = self.seen.get(kind, (0, line))
        self.seen[kind] = (n + 1, first)

    def warnings(self) -> list[str]:
        return [f"{kind}: {n} (first on line {first}), read anyway" if first is not None else f"{kind}: {n}, read anyway"
                for kind, (n, first) in self.seen.items()]


def _seconds(el: El, name: str, dev: _Deviations) -> float | None:
    """Seconds as xsd:double; a decimal comma or a clock time (m:ss, h:mm:ss, with tenths) is read with a warning."""
    child = el.find(name)
    s = clean(child.text) if child is not None else None
    if s is None or child is None:
        return None
    line = child.sourceline
    if "," in s and ":" not in s:
        dev.add("times with a decimal comma", line)
        s = s.replace(",", ".")
    if ":" in s:
        parts = s.replace(",", ".").split(":")
        try:
            value = 0.0
            for p in parts:
                value = value * 60 + float(p)
        except ValueError:
            raise IofError(f"<{name}> is {s!r}, expected seconds", line) from None
        dev.add("times written as clock times", line)
        return value
    try:
        value = float(s)
    except ValueError:
        raise IofError(f"<{name}> is {s!r}, expected seconds", line) from None
    if value < 0:
        raise IofError(f"<{name}> is {s!r}: a time cannot be negative", line)
    return value


def _result_list(root: El, warnings: list[str], race_number: int | None, tz: tzinfo) -> ResultListDoc:
    dev = _Deviations()
    if IOF_NS not in root.nsmap.values():
        dev.add("no IOF XML 3.0 namespace on the root element", root.sourceline)
    classes, teams = [], 0
    for cr in root.findall("ClassResult"):
        class_el = cr.find("Class")
        if class_el is None:
            raise IofError("<ClassResult> without <Class>", cr.sourceline)
        raw_res = clean(cr.get("timeResolution"))
        resolution = 1.0
        if raw_res is not None:
            try:
                resolution = float(raw_res.replace(",", "."))
            except ValueError:
                raise IofError(f"timeResolution={raw_res!r}, expected seconds (1 or 0.1)", cr.sourceline) from None
        results = []
        for pr in cr.findall("PersonResult"):
            person = _person(pr.find("Person"))
            if person is None:
                dev.add("results without a person name (skipped)", pr.sourceline)
                continue
            org = _organisation(pr.find("Organisation"))
            for res in pr.findall("Result"):
                if not _for_race(res, race_number):
                    continue
                status = text_of(res, "Status") or "OK"
                if status not in RESULT_STATUSES:
                    dev.add(f"unknown result status {status!r} (read as Inactive)", res.sourceline)
                    status = "Inactive"
                splits = []
                for sp in res.findall("SplitTime"):
                    code = text_of(sp, "ControlCode")
                    if code is None:
                        raise IofError("<SplitTime> without <ControlCode>", sp.sourceline)
                    splits.append(SplitRecord(code, _seconds(sp, "Time", dev), clean(sp.get("status")) or "OK"))
                cards = _cards(res)
                results.append(PersonResultRecord(
                    person=person, status=status, organisation=org, bib=text_of(res, "BibNumber"),
                    start_time=datetime_of(res, "StartTime", tz), finish_time=datetime_of(res, "FinishTime", tz),
                    time=_seconds(res, "Time", dev), time_behind=_seconds(res, "TimeBehind", dev),
                    position=int_of(res, "Position"), splits=tuple(splits), card=cards[0] if cards else None,
                    entry_id=text_of(pr, "EntryId"), race_number=int_attr(res, "raceNumber"), line=pr.sourceline,
                ))
        teams += len(cr.findall("TeamResult"))
        classes.append(ClassResultRecord(
            class_def=_class(class_el), results=tuple(results),
            course=_simple_course(cr.find("Course")), time_resolution=resolution,
        ))
    warnings.extend(dev.warnings())
    return ResultListDoc(
        event=_event(root.find("Event"), tz), classes=tuple(classes), team_results=teams,
        creator=clean(root.get("creator")), warnings=tuple(warnings),
    )


# ---- CourseData -----------------------------------------------------------------------------------


class _Types:
    """Control types: what the file says, else the start/finish code settings."""

    def __init__(self, start_codes: Sequence[str], finish_codes: Sequence[str]) -> None:
        self.start = tuple(c.upper() for c in start_codes if c)
        self.finish = tuple(c.upper() for c in finish_codes if c)
        self.declared: dict[str, ControlType] = {}
        self.notes: list[str] = []  # said once the file is read (lengths read as km)

    def course_length(self, el: El, name: str) -> int | None:
        """A course's length in metres. Some programs write kilometres with a decimal comma ("1,8"):
        a length under 100 with a fraction is read as km, and said (as metres it would be 2 m)."""
        v = number_of(el, name)
        if v is None:
            return None
        if v < 100 and v != int(v):
            child = el.find(name)
            line = child.sourceline if child is not None else el.sourceline
            self.notes.append(f"line {line}: course length {text_of(el, name)} read as {v:g} km")
            return round(v * 1000)
        return round(v)

    @staticmethod
    def attr(value: str | None) -> ControlType | None:
        v = (value or "").strip().lower()
        return next((t for t in CONTROL_TYPES if t.lower() == v), None)

    def guess(self, code: str) -> ControlType:
        u = code.upper()
        if u.startswith(self.start):
            return "Start"
        return "Finish" if u.startswith(self.finish) else "Control"


def _code(el: El) -> str | None:
    # Final 3.0 writes <Id>; drafts of 3.0 and some exporters wrote <ControlCode> or <Code>.
    return text_of(el, "Id") or text_of(el, "ControlCode") or text_of(el, "Code")


def _race_course_data(root: El, race_number: int | None) -> El:
    races = root.findall("RaceCourseData")
    if not races:
        if root.find("Course") is not None or root.find("Control") is not None:
            return root  # courses straight under <CourseData>: lenient
        raise IofError("<CourseData> without <RaceCourseData>", root.sourceline)
    if len(races) == 1 and (race_number is None or _for_race(races[0], race_number)):
        return races[0]
    numbers = [int_attr(r, "raceNumber") for r in races]
    if race_number is not None and race_number in numbers:
        return races[numbers.index(race_number)]
    if all(n is None for n in numbers):
        # One element per race and none numbered: they come in the races' order (race 1 first).
        if race_number is not None and 1 <= race_number <= len(races):
            return races[race_number - 1]
        listed = f"{len(races)} unnumbered, in the races' order: 1-{len(races)}"
    else:
        listed = ", ".join(str(n) for n in numbers if n is not None)
    if race_number is None:
        raise IofError(
            f"the file holds course data for several races ({listed}): choose one by its number",
            root.sourceline,
        )
    raise IofError(
        f"the file holds no course data for race {race_number} (only for {listed})", root.sourceline
    )


def _course_data(
    root: El,
    warnings: list[str],
    race_number: int | None,
    start_codes: Sequence[str],
    finish_codes: Sequence[str],
    tz: tzinfo,
) -> CourseData:
    types = _Types(start_codes, finish_codes)
    if root.find("IOFVersion") is not None:
        return _course_data_203(root, warnings, types)
    race = _race_course_data(root, race_number)
    defined: list[str] = []
    for c in race.findall("Control"):
        code = _code(c)
        if code is None:
            raise IofError("<Control> without <Id>", c.sourceline)
        defined.append(code)
        if t := types.attr(c.get("type")):
            types.declared[code] = t
    found = [(c, _course(c, types)) for c in race.findall("Course")]
    assignments = []
    for a in race.findall("ClassCourseAssignment"):
        if (assignment := _class_assignment(a)) is not None:
            assignments.append(assignment)
        else:
            warnings.append(f"line {a.sourceline}: class {text_of(a, 'ClassName')!r} has no course in the file: skipped")
    forked: list[PersonCourseAssignment] = []
    relay_runners = relay_courses = 0
    # <CourseAssignment>: the element of the 3.0 drafts, still written by older OCAD versions
    # (OCAD 11 nests the <Course> itself, with the classes and the runners, by bib and leg, on it).
    for a in race.findall("CourseAssignment"):
        pairs = [(c, _course(c, types)) for c in a.findall("Course")]
        found += pairs
        nested = [course for _, course in pairs]
        names: list[str | None] = [c.name for c in nested] or [text_of(a, "CourseName")]
        family = text_of(a, "CourseFamily")
        runners = a.findall("Person")
        legs = tuple(sorted({leg for p in runners if (leg := int_value(text_of(p, "Leg"), "<Leg>", p.sourceline))}))
        assignments += [
            ClassCourseAssignment(class_name=name, course_name=course, course_family=family, legs=legs)
            for c in a.findall("Class")
            if (name := _class_name(c))
            for course in names
        ]
        for p in runners:
            if text_of(p, "Leg") is None and (bib := text_of(p, "BibNumber")) and names[0]:
                forked.append(PersonCourseAssignment(course_name=names[0], bib=bib))
        if relay := sum(1 for p in runners if text_of(p, "Leg") is not None):
            relay_runners, relay_courses = relay_runners + relay, relay_courses + 1
    if relay_runners:
        warnings.append(
            f"{_count(relay_runners, 'relay runner', 'relay runners')} (bib and leg) on "
            f"{_count(relay_courses, 'course', 'courses')} not given a course: relay forking is not imported"
        )
    courses = _unique_courses(found)
    people = [
        PersonCourseAssignment(
            course_name=text_of(p, "CourseName"),
            course_family=text_of(p, "CourseFamily"),
            bib=text_of(p, "BibNumber"),
            entry_id=text_of(p, "EntryId"),
            person_name=text_of(p, "PersonName"),
            class_name=text_of(p, "ClassName"),
        )
        for p in race.findall("PersonCourseAssignment")
    ] + forked
    if teams := len(race.findall("TeamCourseAssignment")):
        warnings.append(
            f"{_count(teams, 'team course assignment', 'team course assignments')} skipped: relay forking is not imported"
        )
    warnings += types.notes
    return CourseData(
        event=_event(root.find("Event"), tz),
        controls=_controls(defined, courses, types),
        courses=tuple(courses),
        assignments=tuple(assignments),
        person_assignments=tuple(people),
        race_number=int_attr(race, "raceNumber") if race is not root else None,
        creator=clean(root.get("creator")),
        warnings=tuple(warnings),
    )


def _course(el: El, types: _Types) -> Course:
    name = text_of(el, "Name") or text_of(el, "CourseName")
    if name is None:
        raise IofError("<Course> without <Name>", el.sourceline)
    controls = []
    for cc in el.findall("CourseControl"):
        codes = [
            c for x in (cc.findall("Control") or cc.findall("ControlCode")) if (c := clean(x.text))
        ]
        if not codes:
            raise IofError(
                f"a <CourseControl> of course {name!r} has no control code", cc.sourceline
            )
        kind = types.attr(cc.get("type")) or types.declared.get(codes[0]) or types.guess(codes[0])
        controls.append(
            CourseControl(
                code=codes[0],
                type=kind,
                leg_length=metres_of(cc, "LegLength"),
                alternatives=tuple(codes[1:]),
            )
        )
    return Course(
        name=name,
        length=types.course_length(el, "Length"),
        climb=metres_of(el, "Climb"),
        controls=tuple(controls),
        family=text_of(el, "CourseFamily") or text_of(el, "CourseGroup"),  # CourseGroup: OCAD 11
        ids=_ids(el),
    )


def _class_assignment(el: El) -> ClassCourseAssignment | None:
    """The assignment; None when it names no course (a class the course setter left without one)."""
    class_ids = _ids(el, "ClassId")
    name = text_of(el, "ClassName") or next(iter(class_ids.values()), None)
    if name is None:
        raise IofError("<ClassCourseAssignment> without <ClassName>", el.sourceline)
    legs = tuple(
        n
        for x in el.findall("AllowedOnLeg")
        if (n := int_value(clean(x.text), "<AllowedOnLeg>", x.sourceline)) is not None
    )
    course, family = text_of(el, "CourseName"), text_of(el, "CourseFamily")
    if course is None and family is None:
        return None
    return ClassCourseAssignment(class_name=name, course_name=course, course_family=family, legs=legs, class_ids=class_ids)


def _controls(defined: list[str], courses: list[Course], types: _Types) -> tuple[Control, ...]:
    # Definitions first, in file order; then codes only the courses name (Condes may omit definitions).
    used: dict[str, ControlType] = {}
    for course in courses:
        for cc in course.controls:
            for code in (cc.code, *cc.alternatives):
                used.setdefault(code, cc.type if code == cc.code else "Control")
    out: dict[str, ControlType] = {}
    for code in [*defined, *used]:
        if code not in out:
            out[code] = types.declared.get(code) or used.get(code) or types.guess(code)
    return tuple(Control(code=c, type=t) for c, t in out.items())


def _course_data_203(root: El, warnings: list[str], types: _Types) -> CourseData:
    """IOF XML 2.0.3 CourseData, as OCAD, Condes and Purple Pen still offer it."""
    defined: list[str] = []
    points: tuple[tuple[str, str, ControlType], ...] = (
        ("StartPoint", "StartPointCode", "Start"),
        ("Control", "ControlCode", "Control"),
        ("FinishPoint", "FinishPointCode", "Finish"),
    )
    for tag, sub, kind in points:
        for el in root.findall(tag):
            if code := text_of(el, sub):
                defined.append(code)
                types.declared[code] = kind
    courses: list[Course] = []
    assignments: list[ClassCourseAssignment] = []
    for el in root.findall("Course"):
        name = text_of(el, "CourseName")
        if name is None:
            raise IofError("<Course> without <CourseName>", el.sourceline)
        variations = el.findall("CourseVariation")
        single = len(variations) == 1
        for v in variations:
            ccs = sorted(v.findall("CourseControl"), key=lambda c: int_of(c, "Sequence") or 0)
            controls = [
                CourseControl(code=s, type="Start") for s in [text_of(v, "StartPointCode")] if s
            ]
            controls += [
                CourseControl(code=c, type="Control", leg_length=metres_of(cc, "LegLength"))
                for cc in ccs
                if (c := text_of(cc, "ControlCode"))
            ]
            controls += [
                CourseControl(code=f, type="Finish", leg_length=metres_of(v, "DistanceToFinish"))
                for f in [text_of(v, "FinishPointCode")]
                if f
            ]
            label = text_of(v, "Name") or text_of(v, "CourseVariationId") or str(len(courses))
            courses.append(
                Course(
                    name=name if single else f"{name} {label}",
                    length=types.course_length(v, "CourseLength"),
                    climb=metres_of(v, "CourseClimb"),
                    controls=tuple(controls),
                    family=None if single else name,
                )
            )
        for cls in el.findall("ClassShortName"):
            if c := clean(cls.text):
                assignments.append(
                    ClassCourseAssignment(
                        class_name=c,
                        course_name=name if single else None,
                        course_family=None if single else name,
                    )
                )
    return CourseData(
        event=EventInfo(name=""),
        controls=_controls(defined, courses, types),
        courses=tuple(courses),
        assignments=tuple(assignments),
        creator=None,
        warnings=(
            *warnings,
            *types.notes,
            "old IOF XML 2.0.3 format: export IOF XML 3.0 if the program offers it",
        ),
    )
