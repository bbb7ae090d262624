"""The strict EntryList, ClassList, CourseData and ResultList writers: schema-valid output, round trips
through the lenient readers, and the ResultList rules (Status always, Position only for OK, splits)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from iof_util import IOF_NS, XSD, example, needs_iof
from lxml import etree

from t4o_tui.orienteering.iof_read import read_class_list, read_course_data, read_entry_list
from t4o_tui.orienteering.iof_write import (
    ClassResultOut,
    PersonResultOut,
    ResultListStatus,
    SplitOut,
    rank_results,
    split_outs,
    validate,
    write_class_list,
    write_course_data,
    write_entry_list,
    write_result_list,
)
from t4o_tui.orienteering.model import (
    Card,
    ClassCourseAssignment,
    ClassDef,
    Control,
    Course,
    CourseControl,
    CourseData,
    EntryRecord,
    EventInfo,
    Organisation,
    Person,
    PersonCourseAssignment,
    RaceInfo,
)
from t4o_tui.orienteering.punch_check import SplitTime

OSLO = ZoneInfo("Europe/Oslo")
CREATED = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
FIRST = datetime(2025, 6, 1, 10, 0, tzinfo=OSLO)
EVENT = EventInfo(
    name="Vårløpet – sprint", date=date(2025, 6, 1), first_start=FIRST, ids={"Norway": "18000"}
)
CLUB = Organisation(name="Bækkelagets SK", short_name="BSK", country="NOR", ids={"Norway": "9"})
H21 = ClassDef(name="H21", ids={"Norway": "55"}, sex="M", min_age=21)
D16 = ClassDef(name="D16", short_name="D 16", sex="F", max_age=16, number_of_competitors=12)
CREATOR = "t4o-tui test"

ENTRIES = [
    EntryRecord(
        person=Person(
            "Åse", "Ødegård", "F", date(2009, 5, 17), 2009, "NOR", {"Norway": "1001", "IOF": "77"}
        ),
        organisation=CLUB,
        class_names=("D16",),
        cards=(Card("7123456", "SI"), Card("501234", "emiTag")),
        entry_id="900001",
    ),
    EntryRecord(person=Person("Ola", "Nordmann", "M"), class_names=("H21",)),  # rental, no club
    EntryRecord(
        person=Person("Kari", "Nordmann", ids={"Norway": "1003"}),
        organisation=Organisation("IL Tyrving"),
        class_names=("H21", "D16"),
        entry_id="900003",
        race_numbers=(1, 2),
    ),
]

COURSE_A = Course(
    name="A",
    length=4200,
    climb=120,
    ids={"": "1"},
    controls=(
        CourseControl("S1", "Start"),
        CourseControl("31", "Control", 300),
        CourseControl("32", "Control", 450, alternatives=("132",)),
        CourseControl("31", "Control", 350),  # a control visited twice
        CourseControl("F1", "Finish", 120),
    ),
)
COURSE_DATA = CourseData(
    event=EVENT,
    controls=(
        Control("S1", "Start"),
        Control("31"),
        Control("32"),
        Control("132"),
        Control("F1", "Finish"),
    ),
    courses=(
        COURSE_A,
        Course(
            name="B1",
            family="B",
            length=2500,
            controls=(
                CourseControl("S1", "Start"),
                CourseControl("32"),
                CourseControl("F1", "Finish"),
            ),
        ),
    ),
    assignments=(
        ClassCourseAssignment("H21", "A", class_ids={"": "55"}),
        ClassCourseAssignment("D16", course_family="B", legs=(1, 3)),
    ),
    person_assignments=(
        PersonCourseAssignment("B1", entry_id="900001", bib="101", class_name="D16"),
    ),
    race_number=1,
    creator="t4o-tui test",
)


def runner(given: str, family: str, status: str, time: float | None, **kw: Any) -> PersonResultOut:
    return PersonResultOut(person=Person(given, family), status=status, time=time, **kw)


def parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def find_all(root: etree._Element, path: str) -> list[etree._Element]:
    """Elements at `path` below the message root, e.g. "/ClassResult/PersonResult" (IOF namespace)."""
    xpath = "/".join(f"i:{step}" for step in path.strip("/").split("/"))
    return list(root.xpath(xpath, namespaces={"i": IOF_NS}))


# ---- EntryList ------------------------------------------------------------------------------------


@needs_iof
def test_entry_list_validates() -> None:
    xml = write_entry_list(EVENT, ENTRIES, classes=[H21, D16], creator=CREATOR, create_time=CREATED)
    assert validate(xml, XSD) == []
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<EntryList xmlns="{IOF_NS}" iofVersion="3.0"'
    assert xml.startswith(head.encode())
    assert b'creator="t4o-tui test"' in xml and b'createTime="2025-06-01T08:00:00+00:00"' in xml


def test_entry_list_round_trip() -> None:
    xml = write_entry_list(EVENT, ENTRIES, classes=[H21, D16], creator=CREATOR, create_time=CREATED)
    doc = read_entry_list(xml)
    assert doc.event == EVENT
    assert list(doc.entries) == ENTRIES
    assert doc.classes == (H21, D16)
    assert doc.creator == "t4o-tui test" and doc.warnings == ()
    # The entry's class carries the class's id when the class is known
    ids = [e.text for e in find_all(parse(xml), "/PersonEntry/Class/Id")]
    assert ids == ["55", "55"]


def test_entry_list_without_classes() -> None:
    doc = read_entry_list(
        write_entry_list(EVENT, ENTRIES[:1], creator=CREATOR, create_time=CREATED)
    )
    assert doc.classes == () and list(doc.entries) == ENTRIES[:1]


@needs_iof
@pytest.mark.parametrize("name", ["EntryList1.xml", "EntryList2.xml"])
def test_entry_list_examples_rewritten(name: str) -> None:
    doc = read_entry_list(example(name))
    xml = write_entry_list(
        doc.event, doc.entries, classes=doc.classes, creator=CREATOR, create_time=CREATED
    )
    assert validate(xml, XSD) == []
    again = read_entry_list(xml)
    assert (again.event, again.entries, again.classes) == (doc.event, doc.entries, doc.classes)


# ---- ClassList ------------------------------------------------------------------------------------


@needs_iof
def test_class_list_validates_and_round_trips() -> None:
    relay = ClassDef(name="Stafett", legs=3, status="Invalidated", ids={"": "7"})
    classes = [H21, D16, relay]
    xml = write_class_list(classes, creator=CREATOR, create_time=CREATED)
    assert validate(xml, XSD) == []
    assert list(read_class_list(xml).classes) == classes


@needs_iof
@pytest.mark.parametrize(
    "name", ["ClassList.xml", "ClassList_Individual_Step1.xml", "ClassList_Relay_Step1.xml"]
)
def test_class_list_examples_rewritten(name: str) -> None:
    doc = read_class_list(example(name))
    xml = write_class_list(doc.classes, creator=CREATOR, create_time=CREATED)
    assert validate(xml, XSD) == []
    assert read_class_list(xml).classes == doc.classes


# ---- CourseData -----------------------------------------------------------------------------------


@needs_iof
def test_course_data_validates() -> None:
    xml = write_course_data(COURSE_DATA, creator=CREATOR, create_time=CREATED)
    assert validate(xml, XSD) == []
    root = parse(xml)
    first = find_all(root, "/RaceCourseData/Course/CourseControl")[:2]
    assert [c.get("type") for c in first] == ["Start", "Control"]
    assert find_all(root, "/RaceCourseData")[0].get("raceNumber") == "1"


def test_course_data_round_trip() -> None:
    doc = read_course_data(write_course_data(COURSE_DATA, creator=CREATOR, create_time=CREATED))
    assert doc == COURSE_DATA


def test_course_data_control_types_survive_guessing() -> None:
    # A plain control coded "F5" must not come back as a finish: the type is always written.
    data = CourseData(
        event=EVENT,
        controls=(Control("S1", "Start"), Control("F5"), Control("M1", "Finish")),
        courses=(
            Course(
                "X",
                controls=(
                    CourseControl("S1", "Start"),
                    CourseControl("F5"),
                    CourseControl("M1", "Finish"),
                ),
            ),
        ),
    )
    doc = read_course_data(write_course_data(data, creator=CREATOR, create_time=CREATED))
    assert doc.controls == data.controls and doc.courses == data.courses


@needs_iof
@pytest.mark.parametrize(
    "name",
    [
        "CourseData_Individual_Step2.xml",
        "CourseData_Individual_Step4.xml",
        "CourseData_Relay_Step2.xml",
        "CourseData_Relay_Step4.xml",
    ],
)
def test_course_data_examples_rewritten(name: str) -> None:
    doc = read_course_data(example(name))
    xml = write_course_data(doc, creator=CREATOR, create_time=CREATED)
    assert validate(xml, XSD) == []
    again = read_course_data(xml)
    assert (again.controls, again.courses, again.assignments, again.person_assignments) == (
        doc.controls,
        doc.courses,
        doc.assignments,
        doc.person_assignments,
    )


def test_course_data_writer_is_strict() -> None:
    short = CourseData(EVENT, (), (Course("Kort", controls=(CourseControl("S1", "Start"),)),))
    with pytest.raises(ValueError, match="at least 2"):
        write_course_data(short, creator=CREATOR, create_time=CREATED)
    nameless = CourseData(EVENT, (), (Course("", controls=COURSE_A.controls),))
    with pytest.raises(ValueError, match="without a name"):
        write_course_data(nameless, creator=CREATOR, create_time=CREATED)
    bad_type = CourseData(EVENT, (Control("31", "Radio"),), ())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="control type 'Radio'"):
        write_course_data(bad_type, creator=CREATOR, create_time=CREATED)
    nowhere = CourseData(EVENT, (), (), assignments=(ClassCourseAssignment("H21"),))
    with pytest.raises(ValueError, match="needs a course or a family"):
        write_course_data(nowhere, creator=CREATOR, create_time=CREATED)


# ---- ResultList -----------------------------------------------------------------------------------

A_SPLITS_OK = (SplitOut("31", 120), SplitOut("32", 300.5), SplitOut("31", 540))


def sample_results() -> list[ClassResultOut]:
    start = FIRST
    results = [
        runner("Per", "Berg", "OK", 1500.0, splits=A_SPLITS_OK, bib="101", start_time=start,
               finish_time=start + timedelta(seconds=1500), organisation=CLUB,
               card=Card("7123456", "SI"), entry_id="900001", race_number=1),
        runner("Ola", "Dahl", "OK", 1500.9, splits=A_SPLITS_OK),  # ties 1500 s: whole seconds
        runner("Jon", "Aas", "OK", 1400.0, splits=A_SPLITS_OK),
        runner("Nils", "Lie", "OK", 1600.0),  # no splits: allowed
        runner("Eva", "Moe", "MissingPunch", 1300.0,
               splits=(SplitOut("31", 100), SplitOut("32", status="Missing"), SplitOut("31", 500))),
        runner("Liv", "Ek", "NotCompeting", 1450.0),
        runner("Kai", "Ås", "DidNotStart", None),
        runner("Tor", "Vik", "Started", None),  # Time4o's in-the-forest status
        runner("Siv", "Holm", "OK", 1700.0, course=Course("A2", 4300, 125),
               splits=(SplitOut("31", 100), SplitOut("99", 200, "Additional"), SplitOut("32", 400), SplitOut("31", 600))),
    ]  # fmt: skip
    return [
        ClassResultOut(class_def=H21, course=COURSE_A, results=rank_results(results)),
        ClassResultOut(class_def=D16),  # a class with no results yet
    ]


def test_rank_results_places_ties_and_order() -> None:
    (h21, _) = sample_results()
    rows = [(r.person.given, r.status, r.position, r.time_behind) for r in h21.results]
    assert rows == [
        ("Jon", "OK", 1, 0.0),
        ("Liv", "NotCompeting", None, 50.0),  # listed at its time, takes no place
        ("Ola", "OK", 2, 100.0),  # equal whole seconds: same place, by name
        ("Per", "OK", 2, 100.0),
        ("Nils", "OK", 4, 200.0),
        ("Siv", "OK", 5, 300.0),
        ("Eva", "MissingPunch", None, None),
        ("Kai", "DidNotStart", None, None),
        ("Tor", "Started", None, None),
    ]


@needs_iof
@pytest.mark.parametrize("status", ["Complete", "Snapshot"])
def test_result_list_validates(status: ResultListStatus) -> None:
    xml = write_result_list(
        EVENT, sample_results(), status=status, creator=CREATOR, create_time=CREATED
    )
    assert validate(xml, XSD) == []
    root = parse(xml)
    assert root.get("status") == status and root.get("iofVersion") == "3.0"


def test_result_list_position_only_for_ok_and_status_always() -> None:
    root = parse(write_result_list(EVENT, sample_results(), creator=CREATOR, create_time=CREATED))
    results = find_all(root, "/ClassResult/PersonResult/Result")
    assert len(results) == 9
    ns = {"i": IOF_NS}
    for r in results:
        status = r.xpath("string(i:Status)", namespaces=ns)
        assert status, "every Result has a Status"
        has_position = bool(r.xpath("i:Position", namespaces=ns))
        assert has_position == (status == "OK")
    statuses = [r.xpath("string(i:Status)", namespaces=ns) for r in results]
    assert statuses[-1] == "Active"  # Started is written as the IOF status Active
    positions = [r.xpath("string(i:Position)", namespaces=ns) for r in results]
    assert positions[:6] == ["1", "", "2", "2", "4", "5"]
    first = results[0]
    assert [c.tag.split("}")[1] for c in first] == [
        "Time",
        "TimeBehind",
        "Position",
        "Status",
        "SplitTime",
        "SplitTime",
        "SplitTime",
    ]
    per = results[3]
    order = [c.tag.split("}")[1] for c in per]
    assert order == [
        "BibNumber",
        "StartTime",
        "FinishTime",
        "Time",
        "TimeBehind",
        "Position",
        "Status",
        "SplitTime",
        "SplitTime",
        "SplitTime",
        "ControlCard",
    ]
    assert per.get("raceNumber") == "1"


def test_result_list_split_times() -> None:
    root = parse(write_result_list(EVENT, sample_results(), creator=CREATOR, create_time=CREATED))
    ns = {"i": IOF_NS}
    people = find_all(root, "/ClassResult/PersonResult")

    def splits(i: int) -> list[tuple[str, str | None, str]]:
        return [
            (
                s.xpath("string(i:ControlCode)", namespaces=ns),
                s.get("status"),
                s.xpath("string(i:Time)", namespaces=ns),
            )
            for s in people[i].xpath("i:Result/i:SplitTime", namespaces=ns)
        ]

    jon = splits(0)
    assert jon == [("31", None, "120"), ("32", None, "300.5"), ("31", None, "540")]
    eva = next(i for i, p in enumerate(people) if "Moe" in etree.tostring(p).decode())
    assert splits(eva) == [("31", None, "100"), ("32", "Missing", ""), ("31", None, "500")]
    siv = next(i for i, p in enumerate(people) if "Holm" in etree.tostring(p).decode())
    assert [s[:2] for s in splits(siv)] == [
        ("31", None),
        ("99", "Additional"),
        ("32", None),
        ("31", None),
    ]


def test_split_outs_from_punch_check() -> None:
    got = split_outs(
        [SplitTime("31", 60.0), SplitTime("32", None, missing=True), SplitTime("33", None)]
    )
    assert got == (
        SplitOut("31", 60.0),
        SplitOut("32", None, "Missing"),
        SplitOut("33", None, "OK"),
    )


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (runner("A", "B", "MissingPunch", 100.0, position=3), "places are only for OK"),
        (runner("A", "B", "OK", 100.0, position=0), "not a place"),
        (runner("A", "B", "Lost", 100.0), "'Lost' is not one of"),
        (runner("A", "B", "OK", -5.0), "non-negative"),
        (runner("A", "B", "OK", float("nan")), "non-negative"),
        (
            runner("A", "B", "OK", 9.0, splits=(SplitOut("31", 1, "Missing"),)),
            "Missing but has a time",
        ),
        (
            runner(
                "A",
                "B",
                "OK",
                9.0,
                splits=(SplitOut("32", 1), SplitOut("31", 2), SplitOut("31", 3)),
            ),
            "in order",
        ),
        (runner("A", "B", "OK", 9.0, splits=(SplitOut("31", 1), SplitOut("31", 3))), "in order"),
        (runner("A", "B", "OK", 9.0, start_time=datetime(2025, 6, 1, 10, 0)), "naive datetime"),
    ],
)
def test_result_writer_is_strict(result: PersonResultOut, message: str) -> None:
    classes = [ClassResultOut(H21, (result,), course=COURSE_A)]
    with pytest.raises(ValueError, match=message):
        write_result_list(EVENT, classes, creator=CREATOR, create_time=CREATED)


def test_result_list_status_and_alternative_codes() -> None:
    with pytest.raises(ValueError, match="Complete, Delta or Snapshot"):
        write_result_list(EVENT, [], status="Final", creator=CREATOR, create_time=CREATED)  # type: ignore[arg-type]
    # An accepted alternative code counts as the course control, "031" as "31".
    alt = runner(
        "A", "B", "OK", 9.0, splits=(SplitOut("031", 1), SplitOut("132", 2), SplitOut("31", 3))
    )
    assert b"<ControlCode>132</ControlCode>" in write_result_list(
        EVENT, [ClassResultOut(H21, (alt,), course=COURSE_A)], creator=CREATOR, create_time=CREATED
    )


@needs_iof
def test_multi_race_event_header_validates() -> None:
    event = EventInfo(
        name="3-dagers",
        date=date(2025, 6, 1),
        races=(
            RaceInfo(1, "Dag 1", date(2025, 6, 1), FIRST),
            RaceInfo(2, "Dag 2", date(2025, 6, 2)),
        ),
    )
    for xml in (
        write_entry_list(event, ENTRIES, classes=[H21, D16], creator=CREATOR, create_time=CREATED),
        write_result_list(event, sample_results(), creator=CREATOR, create_time=CREATED),
        write_course_data(
            CourseData(event, COURSE_DATA.controls, COURSE_DATA.courses),
            creator=CREATOR,
            create_time=CREATED,
        ),
    ):
        assert validate(xml, XSD) == []


def test_the_text_writer_gives_the_same_person_results_as_the_element_writer():
    """write_result_list writes PersonResults as text for speed; it must be the same XML."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from lxml import etree

    from t4o_tui.orienteering import iof_write as w
    from t4o_tui.orienteering.model import Card, Course, Organisation, Person

    tz = ZoneInfo("Europe/Oslo")
    start = dt.datetime(2026, 6, 6, 10, 0, tzinfo=tz)
    results = [
        w.PersonResultOut(person=Person("Åse & Co", "<Ødegård>", "F", dt.date(1990, 1, 2), None, "NOR", {"Norway": "12", "": "x"}),
                          status="OK", organisation=Organisation('IL "Tyrving"', "ILT", "NOR", {"Norway": "5"}), bib="101",
                          start_time=start, finish_time=start + dt.timedelta(seconds=1800.5), time=1800.5, time_behind=0,
                          position=1, splits=(w.SplitOut("31", 100), w.SplitOut("32", None, "Missing"), w.SplitOut("99", 300.25, "Additional")),
                          card=Card("1234567", "SI"), course=Course("A", 3200, 120), entry_id="E1", race_number=1),
        w.PersonResultOut(person=Person("Bo", "B"), status="MissingPunch", time=2000),
        w.PersonResultOut(person=Person("Cy", "C"), status="Started"),
    ]
    for r in results:
        wrapper = etree.Element(f"{{{w.IOF_NS}}}w", nsmap={None: w.IOF_NS})
        w.add_person_result(wrapper, r)
        parsed = etree.fromstring(f'<w xmlns="{w.IOF_NS}">{w.person_result_xml(r)}</w>')
        assert etree.tostring(wrapper, method="c14n") == etree.tostring(parsed, method="c14n")


def test_the_text_writer_gives_the_same_person_starts_as_the_element_writer():
    """write_start_list writes PersonStarts as text for speed (issue 19); it must be the same XML."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from lxml import etree

    from t4o_tui.orienteering import iof_write as w
    from t4o_tui.orienteering.model import Card, Course, Organisation, Person, StartRecord

    tz = ZoneInfo("Europe/Oslo")
    at = dt.datetime(2026, 6, 6, 10, 0, 12, 300_000, tzinfo=tz)
    club = Organisation('IL "Tyrving" & <Co>', "ILT", "NOR", {"Norway": "5"})
    starts = [
        StartRecord(person=Person("Åse & Co", "<Ødegård>", "F", dt.date(1990, 1, 2), None, "NOR", {"Norway": "12", "": "x"}),
                    organisation=club, bib="101", start_time=at, course=Course("A", 3200, 120, ids={"": "7"}),
                    card=Card("1234567", "SI"), entry_id="E1", race_number=1),
        StartRecord(person=Person("Bo", "B"), organisation=club, start_time=at),
        StartRecord(person=None, bib="999", start_time=at),  # a vacant start
        StartRecord(person=Person("Cy", "C\x01"), card=Card("7")),
    ]
    orgs: dict[int, str] = {}
    for resolution in (1.0, 0.1):
        for s in starts:
            wrapper = etree.Element(f"{{{w.IOF_NS}}}w", nsmap={None: w.IOF_NS})
            w.add_person_start(wrapper, s, resolution)
            parsed = etree.fromstring(f'<w xmlns="{w.IOF_NS}">{w.person_start_xml(s, resolution, orgs)}</w>')
            assert etree.tostring(wrapper, method="c14n") == etree.tostring(parsed, method="c14n")


# ---- StartList: the event's time resolution (issue 16) ------------------------------------------


@needs_iof
def test_start_list_at_tenths_writes_time_resolution_on_class_start_and_keeps_tenths():
    from iof_util import sample_start_list

    from t4o_tui.orienteering.iof_read import read_start_list
    from t4o_tui.orienteering.iof_write import write_start_list
    from t4o_tui.orienteering.model import StartRecord

    event, classes = sample_start_list()
    # A chasing start at 10:04:07.3 (a start list from a program timing to tenths).
    chase = StartRecord(person=Person("Kari", "Lien"), bib="104",
                        start_time=datetime(2025, 6, 1, 10, 4, 7, 300_000, tzinfo=OSLO))
    h21 = replace(classes[0], starts=(*classes[0].starts, chase))
    xml = write_start_list(event, [h21, classes[1]], creator=CREATOR, create_time=CREATED, time_resolution=0.1)
    assert validate(xml, XSD) == []
    root = etree.fromstring(xml)
    class_starts = root.findall(f"{{{IOF_NS}}}ClassStart")
    # The schema allows timeResolution on ClassStart only (as on ClassResult): every class carries it.
    assert [cs.get("timeResolution") for cs in class_starts] == ["0.1", "0.1"]
    assert root.findall(f".//{{{IOF_NS}}}Start[@timeResolution]") == []
    times = [t.text for t in root.iter(f"{{{IOF_NS}}}StartTime")]
    assert "2025-06-01T10:04:07.3+02:00" in times and "2025-06-01T10:00:00+02:00" in times  # whole ones stay whole
    back = read_start_list(xml)
    assert back.classes[0].starts[-1].start_time == chase.start_time

    # At the default 1 s: no attribute (the schema's default) and whole seconds, as before.
    plain = write_start_list(event, [h21, classes[1]], creator=CREATOR, create_time=CREATED)
    assert validate(plain, XSD) == []
    assert b"timeResolution" not in plain and b"10:04:07+02:00" in plain
    with pytest.raises(ValueError, match="time resolution"):
        write_start_list(event, classes, creator=CREATOR, create_time=CREATED, time_resolution=0)


@needs_iof
def test_start_list_job_writes_the_event_resolution(db, db_path):
    from t4o_tui.store.models import Event

    from conftest import run_job

    conn = db.connection()
    conn.execute("INSERT INTO event(id, name, timezone, time_resolution) VALUES (1, 'Tenths', 'Europe/Oslo', 0.1)")
    conn.execute("INSERT INTO race(id, event_id, name, date, race_number) VALUES (1, 1, 'Day 1', '2025-06-01', 1)")
    cid = conn.execute("INSERT INTO class(race_id, name, start_type, vacancies, result_type, start_source, ids) "
                       "VALUES (1, 'H21', 'interval', 0, 'normal', 'drawn', '{}')").lastrowid
    pid = conn.execute("INSERT INTO person(given, family) VALUES ('Ola', 'Nordmann')").lastrowid
    eid = conn.execute("INSERT INTO entry(race_id, class_id, person_id, status, bib, hand_edited, created_at, updated_at) "
                       "VALUES (1, ?, ?, 'entered', '7', 0, 0, 0)", (cid, pid)).lastrowid
    start = FIRST.timestamp() + 0.5
    conn.execute("INSERT INTO start(race_id, class_id, entry_id, bib, start_time) VALUES (1, ?, ?, '7', ?)",
                 (cid, eid, start))
    conn.commit()
    run = run_job(db, db_path, "start-list", {"format": "iof-xml"})
    assert run.status == "succeeded", run.error
    xml = Path(run.output).read_bytes()
    assert validate(xml, XSD) == []
    assert b'<ClassStart timeResolution="0.1">' in xml and b"<StartTime>2025-06-01T10:00:00.5+02:00</StartTime>" in xml
    Event.update(time_resolution=1.0).execute()
    again = run_job(db, db_path, "start-list", {"format": "iof-xml"})
    xml = Path(again.output).read_bytes()
    assert b"timeResolution" not in xml and b"<StartTime>2025-06-01T10:00:00+02:00</StartTime>" in xml
