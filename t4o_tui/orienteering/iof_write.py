"""Strict IOF XML 3.0 writers: default namespace, schema element order, output that validates.

The element helpers (`add_person`, `add_organisation`, `add_class`, …) are shared by every writer;
a ResultList writer builds on `message_root`, `add_event` and them the same way `write_start_list` does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TypeAlias

from lxml import etree

from t4o_tui.orienteering.model import (
    CLASS_STATUSES,
    Card,
    ClassDef,
    ClassStart,
    Course,
    EventInfo,
    Ids,
    Organisation,
    Person,
    StartRecord,
    preferred_id,
)
from t4o_tui.orienteering.xmlsafe import IOF_NS

El: TypeAlias = etree._Element

# Characters XML 1.0 cannot carry at all; a stray control character in a name must not break the file.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: object) -> str:
    """Text as XML can hold it: non-XML control characters dropped."""
    return _NOT_XML.sub("", str(value))


def xml_datetime(dt: datetime) -> str:
    """xsd:dateTime with its offset; naive datetimes are refused, the reader could not place them."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt.isoformat()} in an IOF export: give it a time zone")
    return dt.isoformat(timespec="seconds")


def sub(parent: El, tag: str, text: object | None = None, **attrs: object) -> El:
    """Append an IOF element; None attributes are left out."""
    el = etree.SubElement(parent, f"{{{IOF_NS}}}{tag}")
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


def add_event(parent: El, event: EventInfo) -> El:
    """Event: Id, Name, StartTime, then Race elements."""
    el = sub(parent, "Event")
    add_one_id(el, event.ids)
    sub(el, "Name", event.name)
    _date_and_time(el, "StartTime", event.date, event.first_start)
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


def add_person_start(parent: El, start: StartRecord) -> El:
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
        sub(st, "StartTime", xml_datetime(start.start_time))
    if start.course is not None:
        add_simple_course(st, start.course)
    if start.card is not None:
        add_card(st, start.card)
    return el


def write_start_list(
    event: EventInfo, classes: Sequence[ClassStart], *, creator: str, create_time: datetime
) -> bytes:
    """An IOF XML 3.0 StartList; a start without a person is written as a vacant PersonStart."""
    root = message_root("StartList", creator=creator, create_time=create_time)
    add_event(root, event)
    for cs in classes:
        el = sub(root, "ClassStart")
        add_class(el, cs.class_def)
        if cs.course is not None:
            add_simple_course(el, cs.course)
        if cs.start_name:
            sub(el, "StartName", cs.start_name)
        for start in cs.starts:
            add_person_start(el, start)
    return to_bytes(root)


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
