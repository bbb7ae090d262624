"""Helpers for the IOF XML tests: where the shared schema and examples are, and small files built in code."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from t4o_tui.orienteering.model import (
    Card,
    ClassDef,
    ClassStart,
    Course,
    EventInfo,
    Organisation,
    Person,
    RaceInfo,
    StartRecord,
)

IOF_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "iof"
EXAMPLES = IOF_DIR / "examples"
XSD = IOF_DIR / "IOF.xsd"
IOF_NS = "http://www.orienteering.org/datastandard/3.0"

# On a user's machine without ../shared the tests that need it skip; in CI (CI=true) the data must
# be there, so they run and fail on the missing files instead of passing unseen.
needs_iof = pytest.mark.skipif(
    not (XSD.is_file() and EXAMPLES.is_dir()) and os.environ.get("CI") != "true",
    reason=f"the IOF XML 3.0 schema and official examples are not at {IOF_DIR} (../shared/iof beside the project)",
)

# The official examples and the message each holds (the file names do not always say).
EXAMPLE_KINDS = {
    "ClassList.xml": "ClassList",
    "ClassList_Individual_Step1.xml": "ClassList",
    "ClassList_Relay_Step1.xml": "ClassList",
    "CompetitorList.xml": "CompetitorList",
    "CourseData_Individual_Step2.xml": "CourseData",
    "CourseData_Individual_Step4.xml": "CourseData",
    "CourseData_Relay_Step2.xml": "CourseData",
    "CourseData_Relay_Step4.xml": "CourseData",
    "EntryList1.xml": "EntryList",
    "EntryList2.xml": "EntryList",
    "Event_name_and_start_time.xml": "EventList",
    "OrganisationList.xml": "OrganisationList",
    "ResultList1.xml": "ResultList",
    "ResultList2.xml": "ResultList",
    "ResultList3.xml": "ResultList",
    "ResultList4.xml": "ResultList",
    "StartList1.xml": "StartList",
    "StartList2.xml": "StartList",
    "StartList3.xml": "StartList",
    "StartList4.xml": "StartList",
    "StartList_Individual_Step3.xml": "StartList",
    "StartList_Relay_Step3.xml": "StartList",
}
START_LISTS = [n for n, k in EXAMPLE_KINDS.items() if k == "StartList"]


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def iof_xml(
    root: str,
    body: str,
    *,
    namespace: bool = True,
    encoding: str | None = "UTF-8",
    prolog: str = "",
) -> str:
    """A message as text: XML declaration (with `encoding` unless None), `prolog`, root element, body."""
    decl = f'<?xml version="1.0" encoding="{encoding}"?>' if encoding else '<?xml version="1.0"?>'
    ns = f' xmlns="{IOF_NS}"' if namespace else ""
    return f'{decl}\n{prolog}<{root}{ns} iofVersion="3.0" creator="test">\n{body}\n</{root}>\n'


def billion_laughs() -> bytes:
    """The classic entity expansion bomb: a few hundred bytes that expand to gigabytes."""
    ents = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    body = "<Event><Name>&lol9;</Name></Event>"
    return iof_xml(
        "StartList", body, prolog="<!DOCTYPE StartList [\n" + "\n".join(ents) + "\n]>\n"
    ).encode()


def sample_start_list() -> tuple[EventInfo, list[ClassStart]]:
    """A start list with what a real one holds: ids of several types, æøå, a vacant start, a free start."""
    oslo = ZoneInfo("Europe/Oslo")
    first = datetime(2025, 6, 1, 10, 0, tzinfo=oslo)
    event = EventInfo(
        name="Vårløpet – sprint",
        date=date(2025, 6, 1),
        first_start=first,
        races=(RaceInfo(number=1, name="Dag 1", date=date(2025, 6, 1), first_start=first),),
        ids={"Norway": "18000"},
    )
    club = Organisation(name="Bækkelagets SK", short_name="BSK", country="NOR", ids={"Norway": "9"})
    h21 = ClassStart(
        class_def=ClassDef(name="H21", short_name="H21", ids={"Norway": "55"}, sex="M", min_age=21),
        course=Course(name="A", length=4200, climb=120, ids={"": "1"}),
        start_name="Start 1",
        starts=(
            StartRecord(
                person=Person(
                    given="Åse",
                    family="Ødegård",
                    sex="F",
                    birth_date=date(1990, 5, 17),
                    birth_year=1990,
                    nationality="NOR",
                    ids={"Norway": "1001", "IOF": "77"},
                ),
                organisation=club,
                bib="101",
                start_time=first,
                course=Course(name="A2", length=4300, climb=125),
                card=Card(number="123456", system="SI"),
                entry_id="E1",
                race_number=1,
            ),
            StartRecord(
                bib="102", start_time=datetime(2025, 6, 1, 10, 2, tzinfo=oslo), race_number=1
            ),
            StartRecord(
                person=Person(given="Ola", family="Nordmann", ids={"Norway": "1002"}),
                organisation=Organisation(name="IL Tyrving"),
                bib="103",
                card=Card(number="7000001", system="emiTag"),
                race_number=1,
            ),
        ),
    )
    open_class = ClassStart(class_def=ClassDef(name="Åpen 3 km", status="Invalidated"), starts=())
    return event, [h21, open_class]
