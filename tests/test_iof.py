"""IOF XML 3.0: the lenient readers on the official examples and on what real programs write, the strict
StartList writer against the schema, and the files a reader must refuse."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from iof_util import (
    EXAMPLE_KINDS,
    IOF_NS,
    START_LISTS,
    XSD,
    billion_laughs,
    example,
    iof_xml,
    needs_iof,
    sample_start_list,
)

from t4o_tui.orienteering.iof import (
    IofError,
    read_class_list,
    read_course_data,
    read_entry_list,
    read_iof,
    read_start_list,
    validate,
    write_start_list,
)
from t4o_tui.orienteering.model import (
    Card,
    ClassCourseAssignment,
    ClassDef,
    ClassList,
    ClassStart,
    CourseControl,
    CourseData,
    EntryList,
    EventInfo,
    Organisation,
    Person,
    ResultListDoc,
    StartListDoc,
    StartRecord,
)
from t4o_tui.orienteering.xmlsafe import parse

CET = timezone(timedelta(hours=1))
CREATED = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
DOC_TYPES = {
    "ClassList": ClassList,
    "CourseData": CourseData,
    "EntryList": EntryList,
    "StartList": StartListDoc,
    "ResultList": ResultListDoc,
}


def write(event: EventInfo, classes: list[ClassStart]) -> bytes:
    return write_start_list(event, classes, creator="t4o-tui test", create_time=CREATED)


# ---- the official examples ------------------------------------------------------------------------


@needs_iof
@pytest.mark.parametrize("name", EXAMPLE_KINDS)
def test_every_example_is_read_or_named(name: str) -> None:
    kind = EXAMPLE_KINDS[name]
    if kind in DOC_TYPES:
        assert isinstance(read_iof(example(name)), DOC_TYPES[kind])
    else:
        with pytest.raises(IofError, match=f"this is an? {kind}; the readable"):
            read_iof(example(name))


@needs_iof
def test_class_lists() -> None:
    relay = read_class_list(example("ClassList.xml"))
    assert [(c.name, c.ids, c.legs, c.number_of_competitors) for c in relay.classes] == [
        ("Men Open", {"": "1"}, 3, 35),
        ("Women Open", {"": "2"}, 3, 38),
    ]
    individual = read_class_list(example("ClassList_Individual_Step1.xml"))
    assert [(c.name, c.legs, c.ids) for c in individual.classes] == [
        ("Men Open", 0, {}),
        ("Women Open", 0, {}),
    ]
    assert individual.creator == "Example Software"


@needs_iof
def test_course_data_individual() -> None:
    doc = read_course_data(example("CourseData_Individual_Step2.xml"))
    assert doc.event.name == "Example event"
    assert doc.event.first_start == datetime(2011, 7, 30, 10, 0, tzinfo=CET)
    # The <Control> definitions carry no type: S and F are known as start and finish from the courses.
    assert [(c.code, c.type) for c in doc.controls] == [
        ("S", "Start"), ("31", "Control"), ("32", "Control"), ("33", "Control"),
        ("34", "Control"), ("35", "Control"), ("100", "Control"), ("F", "Finish"),
    ]  # fmt: skip
    a = doc.courses[0]
    assert (a.name, a.family, a.length, a.climb, len(a.controls)) == ("A", "Open long", 2960, 95, 10)  # fmt: skip
    assert a.controls[0] == CourseControl(code="S", type="Start", leg_length=50)
    assert [c.code for c in a.controls[1:-1]] == ["31", "32", "33", "31", "34", "35", "31", "100"]
    assert a.controls[-1] == CourseControl(code="F", type="Finish", leg_length=150)
    assert doc.courses_for_class() == {"Men Open": ("A", "B"), "Women Open": ("A", "B")}
    forked = read_course_data(example("CourseData_Individual_Step4.xml"))
    assert [(p.bib, p.course_name, p.course_family) for p in forked.person_assignments] == [
        ("101", "A", "Open long"),
        ("102", "B", "Open long"),
    ]


@needs_iof
def test_course_data_relay_families_and_legs() -> None:
    doc = read_course_data(example("CourseData_Relay_Step2.xml"))
    assert doc.assignments[0] == ClassCourseAssignment(
        class_name="Men Open", course_family="Open long", legs=(1, 3)
    )
    assert doc.courses_for_class()["Women Open"] == ("A", "B", "C")
    assert doc.warnings == ()
    teams = read_course_data(example("CourseData_Relay_Step4.xml"))
    assert teams.warnings == ("2 team course assignments skipped: relay forking is not imported",)


@needs_iof
def test_entry_lists() -> None:
    doc = read_entry_list(example("EntryList1.xml"))
    assert doc.event.name == "Example event" and doc.event.date == date(2011, 7, 31)
    wood, martin, lawson = doc.entries
    assert wood.person == Person(given="George", family="Wood", ids={"": "1"})
    assert wood.organisation == Organisation(name="OC Back and Forth", country="GBR", ids={"": "5"})
    assert (wood.cards, wood.class_names, wood.status) == (
        (Card("794021"),),
        ("Men Elite",),
        "entered",
    )
    assert martin.cards == () and martin.organisation is not None
    assert lawson.organisation is None and lawson.class_names == ("Open",)
    relay = read_entry_list(example("EntryList2.xml"))
    assert relay.entries == ()
    assert [(c.name, c.legs) for c in relay.classes] == [("Open", 3)]
    assert relay.warnings == ("2 team entries skipped: relay teams are imported by Import Relay Entries",)


@needs_iof
def test_start_lists() -> None:
    doc = read_start_list(example("StartList1.xml"))
    elite, open_ = doc.classes
    assert elite.class_def.name == "Men Elite" and elite.start_name == "Start 1"
    assert (elite.course.name, elite.course.length, elite.course.climb) == ("", 4650, 160)  # type: ignore[union-attr]
    wood = elite.starts[0]
    assert wood.person is not None and wood.person.name == "George Wood"
    assert (wood.bib, wood.entry_id, wood.card) == ("101", "1234", Card("794021"))
    assert wood.start_time == datetime(2011, 7, 30, 10, 0, tzinfo=CET)
    assert open_.course.ids == {"": "3"} and open_.starts[0].bib is None  # type: ignore[union-attr]
    assert sum(1 for _ in doc.all_starts()) == 3
    bom = read_start_list(example("StartList_Individual_Step3.xml"))  # starts with a UTF-8 BOM
    assert [s.bib for _, s in bom.all_starts()] == ["101", "102"]


@needs_iof
def test_multi_race_start_list() -> None:
    every = read_start_list(example("StartList3.xml"))
    assert [(s.bib, s.race_number) for _, s in every.all_starts()] == [
        ("101", 1),
        ("1", 2),
        ("102", 1),
        ("2", 2),
    ]
    assert [r.name for r in every.event.races] == ["Race 1", "Race 2"]
    day2 = read_start_list(example("StartList3.xml"), race_number=2)
    (cs,) = day2.classes
    assert [s.bib for s in cs.starts] == ["1", "2"]
    assert cs.course is not None and cs.course.length == 8600
    assert cs.starts[0].start_time == datetime(2011, 7, 31, 10, 10, tzinfo=CET)


@needs_iof
def test_relay_start_lists_warn() -> None:
    doc = read_start_list(example("StartList2.xml"))
    assert sum(1 for _ in doc.all_starts()) == 0
    assert doc.warnings == ("2 teams skipped: relay teams are imported by Import Relay Entries",)


# ---- the writer -----------------------------------------------------------------------------------


@needs_iof
def test_written_start_list_validates() -> None:
    xml = write(*sample_start_list())
    assert validate(xml, XSD) == []
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<StartList xmlns="{IOF_NS}" iofVersion="3.0"'
    assert xml.startswith(head.encode())
    assert b'createTime="2025-06-01T08:00:00+00:00"' in xml
    assert b'creator="t4o-tui test"' in xml
    assert b"<StartTime>2025-06-01T10:00:00+02:00</StartTime>" in xml


def test_start_list_round_trip() -> None:
    event, classes = sample_start_list()
    doc = read_start_list(write(event, classes))
    assert doc.event == event
    assert list(doc.classes) == classes
    assert doc.creator == "t4o-tui test"


@needs_iof
def test_validate_reports_errors() -> None:
    xml = (
        write(*sample_start_list())
        .replace(b"<Family>", b"<Surname>")
        .replace(b"</Family>", b"</Surname>")
    )
    errors = validate(xml, XSD)
    assert errors and errors[0].startswith("line ") and "Surname" in errors[0]


@needs_iof
@pytest.mark.parametrize("name", START_LISTS)
def test_examples_rewritten_validate(name: str) -> None:
    doc = read_start_list(example(name))
    xml = write(doc.event, list(doc.classes))
    assert validate(xml, XSD) == []
    assert read_start_list(xml).classes == doc.classes


def test_writer_is_strict() -> None:
    event, classes = sample_start_list()
    with pytest.raises(ValueError, match="naive datetime"):
        write(
            event,
            [ClassStart(ClassDef("H21"), (StartRecord(start_time=datetime(2025, 6, 1, 10, 0)),))],
        )
    with pytest.raises(ValueError, match="status 'Cancelled'"):
        write(event, [ClassStart(ClassDef("H21", status="Cancelled"))])
    noisy = ClassStart(ClassDef("H21"), (StartRecord(person=Person("Ola\x01", "Nord\x1bmann")),))
    (start,) = read_start_list(write(event, [noisy])).classes[0].starts
    assert start.person == Person("Ola", "Nordmann")


# ---- what real programs write ---------------------------------------------------------------------


def test_ocad_course_data() -> None:
    # OCAD: untyped <Control> definitions with S1/F1, a <Map>, fractional createTime, the 3.0 draft's
    # <CourseAssignment> beside the final <ClassCourseAssignment>, a map exchange as a second Start.
    body = """<Event><Name>Sprint</Name></Event>
      <RaceCourseData>
        <Map><Scale>4000</Scale><MapPositionTopLeft x="-204.0" y="135.6" unit="mm"/></Map>
        <Control><Id>S1</Id><Position lng="5.79" lat="45.21"/></Control>
        <Control><Id>31</Id></Control><Control><Id>32</Id></Control><Control><Id>S2</Id></Control>
        <Control><Id>F1</Id></Control>
        <Course><Name>Homme</Name><Length>4020</Length><Climb>0</Climb>
          <CourseControl type="Start"><Control>S1</Control></CourseControl>
          <CourseControl type="Control"><Control>31</Control><LegLength>119</LegLength></CourseControl>
          <CourseControl type="Start"><Control>S2</Control><LegLength>0</LegLength></CourseControl>
          <CourseControl type="Control"><Control>32</Control><LegLength>210.6</LegLength></CourseControl>
          <CourseControl type="Finish"><Control>F1</Control><LegLength>38</LegLength></CourseControl>
        </Course>
        <ClassCourseAssignment><ClassName>H21</ClassName><CourseName>Homme</CourseName></ClassCourseAssignment>
        <CourseAssignment><CourseName>Homme</CourseName><Class><Name>H20</Name></Class></CourseAssignment>
      </RaceCourseData>"""
    doc = read_course_data(
        iof_xml("CourseData", body)
        .replace(
            'creator="test"',
            'createTime="2022-06-21T20:25:21.250+02:00" creator="OCAD 2020.6.0.3809"',
        )
        .encode()
    )
    assert doc.creator == "OCAD 2020.6.0.3809"
    assert [(c.code, c.type) for c in doc.controls] == [
        ("S1", "Start"),
        ("31", "Control"),
        ("32", "Control"),
        ("S2", "Start"),
        ("F1", "Finish"),
    ]
    (course,) = doc.courses
    assert [(c.code, c.type, c.leg_length) for c in course.controls] == [
        ("S1", "Start", None), ("31", "Control", 119), ("S2", "Start", 0), ("32", "Control", 211), ("F1", "Finish", 38),
    ]  # fmt: skip
    assert doc.courses_for_class() == {"H21": ("Homme",), "H20": ("Homme",)}


def test_ocad_11_course_assignments_with_their_courses_inside() -> None:
    # OCAD 11 (3.0 beta) nests each <Course> in a <CourseAssignment> with its classes and runners:
    # by bib alone (individual forking) or by bib and leg (relay, not imported: said once).
    body = """<Event><Name>Event</Name></Event>
      <RaceCourseData>
        <Control><Id>S1</Id><MapPosition x="8.9" y="1.7" unit="mm"/></Control>
        <Control><Id>31</Id></Control><Control><Id>32</Id></Control><Control><Id>F1</Id></Control>
        <CourseAssignment>
          <Course><Name>1A</Name><CourseGroup>1</CourseGroup><Length>2070</Length><Climb>0</Climb>
            <CourseControl type="Start"><Control>S1</Control></CourseControl>
            <CourseControl type="Control"><Control>31</Control><LegLength>253</LegLength></CourseControl>
            <CourseControl type="Finish"><Control>F1</Control><LegLength>40</LegLength></CourseControl>
          </Course>
          <Class numberOfCompetitors="2"><Name>H21</Name></Class>
          <Person><BibNumber>1</BibNumber></Person>
        </CourseAssignment>
        <CourseAssignment>
          <Course><Name>1B</Name><CourseGroup>1</CourseGroup><Length>2190</Length>
            <CourseControl type="Start"><Control>S1</Control></CourseControl>
            <CourseControl type="Control"><Control>32</Control></CourseControl>
            <CourseControl type="Finish"><Control>F1</Control></CourseControl>
          </Course>
          <Class><Name>H21</Name></Class>
          <Person><BibNumber>2</BibNumber></Person>
        </CourseAssignment>
        <CourseAssignment>
          <Course><Name>R1</Name><CourseControl type="Start"><Control>S1</Control></CourseControl></Course>
          <Class><Name>Relay</Name></Class>
          <Person><BibNumber>7</BibNumber><Leg>1</Leg></Person><Person><BibNumber>8</BibNumber><Leg>1</Leg></Person>
        </CourseAssignment>
        <ClassCourseAssignment><ClassName>Organizer</ClassName></ClassCourseAssignment>
      </RaceCourseData>"""
    doc = read_course_data(iof_xml("CourseData", body).replace('creator="test"', 'creator="OCAD 11.0.1.1131"').encode())
    assert [(c.name, c.family, c.length, [x.code for x in c.controls]) for c in doc.courses] == [
        ("1A", "1", 2070, ["S1", "31", "F1"]), ("1B", "1", 2190, ["S1", "32", "F1"]), ("R1", None, None, ["S1"]),
    ]  # fmt: skip
    assert doc.courses_for_class() == {"H21": ("1A", "1B"), "Relay": ("R1",)}
    assert [(a.bib, a.course_name) for a in doc.person_assignments] == [("1", "1A"), ("2", "1B")]
    assert any("2 relay runners (bib and leg) on 1 course not given a course" in w for w in doc.warnings)
    # A class the course setter left without a course: skipped, and said so (not "course '' not found").
    assert any("class 'Organizer' has no course in the file: skipped" in w for w in doc.warnings)
    assert "Organizer" not in doc.courses_for_class()


def test_purple_pen_course_data() -> None:
    # Purple Pen: typed <Control>s named STA1/FIN1/XCHG1/CROSS1, forked variations as a CourseFamily,
    # no LegLength on the start, score courses without a length.
    body = """<Event><Name>Skogsløpet</Name></Event>
      <RaceCourseData>
        <Control type="Start"><Id>STA1</Id><MapPosition x="1" y="2"/></Control>
        <Control type="Control"><Id>41</Id></Control>
        <Control type="Control"><Id>42</Id></Control>
        <Control type="Finish"><Id>FIN1</Id></Control>
        <Control type="CrossingPoint"><Id>CROSS1</Id></Control>
        <Course><Name>Lang AB</Name><CourseFamily>Lang</CourseFamily><Length>5200</Length><Climb>150</Climb>
          <CourseControl type="Start"><Control>STA1</Control></CourseControl>
          <CourseControl type="Control"><Control>41</Control><MapText>1</MapText><LegLength>700</LegLength></CourseControl>
          <CourseControl type="CrossingPoint" specialInstruction="MandatoryCrossingPoint"><Control>CROSS1</Control><LegLength>90</LegLength></CourseControl>
          <CourseControl type="Control"><Control>42</Control><MapText>2</MapText><LegLength>400</LegLength></CourseControl>
          <CourseControl type="Finish" specialInstruction="TapedRoute"><Control>FIN1</Control><LegLength>120</LegLength></CourseControl>
        </Course>
        <Course><Name>Score</Name>
          <CourseControl type="Start"><Control>STA1</Control></CourseControl>
          <CourseControl type="Control"><Control>41</Control><Score>10</Score></CourseControl>
          <CourseControl type="Finish"><Control>FIN1</Control></CourseControl>
        </Course>
      </RaceCourseData>"""
    doc = read_course_data(iof_xml("CourseData", body).encode())
    assert dict((c.code, c.type) for c in doc.controls) == {
        "STA1": "Start",
        "41": "Control",
        "42": "Control",
        "FIN1": "Finish",
        "CROSS1": "CrossingPoint",
    }
    lang, score = doc.courses
    assert (lang.family, lang.length, [c.type for c in lang.controls]) == (
        "Lang",
        5200,
        ["Start", "Control", "CrossingPoint", "Control", "Finish"],
    )
    assert (score.length, score.climb, len(score.controls)) == (None, None, 3)
    assert doc.event.name == "Skogsløpet" and doc.assignments == ()


def test_unmarked_start_and_finish_codes() -> None:
    # Condes-style: no <Control> definitions, no type attributes; <ControlCode> instead of <Control>,
    # alternatives, a decimal comma, padded values. Codes beginning with S are starts, F or M finishes.
    body = """<Event><Name>Natt</Name></Event><RaceCourseData>
        <Course><Name> Bane  1 </Name><Length> 2,5e3 </Length>
          <CourseControl><Control> s </Control></CourseControl>
          <CourseControl><Control>31</Control><Control>131</Control><LegLength>410,6</LegLength></CourseControl>
          <CourseControl><ControlCode>32</ControlCode></CourseControl>
          <CourseControl><Control>M1</Control></CourseControl>
        </Course></RaceCourseData>"""
    doc = read_course_data(iof_xml("CourseData", body).encode())
    (course,) = doc.courses
    assert (course.name, course.length) == ("Bane 1", 2500)
    assert course.controls == (
        CourseControl("s", "Start"),
        CourseControl("31", "Control", 411, ("131",)),
        CourseControl("32", "Control"),
        CourseControl("M1", "Finish"),
    )
    assert [(c.code, c.type) for c in doc.controls] == [
        ("s", "Start"),
        ("31", "Control"),
        ("131", "Control"),
        ("32", "Control"),
        ("M1", "Finish"),
    ]
    custom = read_course_data(
        iof_xml("CourseData", body).encode(), start_codes=("ST",), finish_codes=("Z",)
    )
    assert [c.type for c in custom.courses[0].controls] == [
        "Control",
        "Control",
        "Control",
        "Control",
    ]


def test_iof_203_course_data() -> None:
    # OCAD, Condes and Purple Pen still export the old format: ISO-8859-1, a DOCTYPE naming the DTD
    # (never loaded), padded values, lower-case start codes, variations of a course.
    text = """<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE CourseData SYSTEM "IOFdata.dtd">
<CourseData>
  <IOFVersion version="2.0.3" />
  <StartPoint><StartPointCode> s1 </StartPointCode></StartPoint>
  <Control><ControlCode> 31 </ControlCode></Control>
  <Control><ControlCode> 32 </ControlCode></Control>
  <FinishPoint><FinishPointCode> f1 </FinishPointCode></FinishPoint>
  <Course><CourseName> Bane 01 </CourseName><CourseId> 0 </CourseId><ClassShortName> D 21 E1 </ClassShortName>
    <CourseVariation><CourseVariationId> 0 </CourseVariationId><CourseLength> 7600 </CourseLength>
      <StartPointCode> s1 </StartPointCode>
      <CourseControl><Sequence> 2 </Sequence><ControlCode> 32 </ControlCode><LegLength> 857 </LegLength></CourseControl>
      <CourseControl><Sequence> 1 </Sequence><ControlCode> 31 </ControlCode><LegLength> 599 </LegLength></CourseControl>
      <FinishPointCode> f1 </FinishPointCode><DistanceToFinish> 240 </DistanceToFinish>
    </CourseVariation>
  </Course>
  <Course><CourseName>Gåfling</CourseName><ClassShortName>H 21</ClassShortName>
    <CourseVariation><CourseVariationId>0</CourseVariationId><Name>AB</Name><CourseLength>3000</CourseLength></CourseVariation>
    <CourseVariation><CourseVariationId>1</CourseVariationId><Name>BA</Name><CourseLength>3000</CourseLength></CourseVariation>
  </Course>
</CourseData>"""
    doc = read_course_data(text.encode("latin-1"))
    assert [(c.code, c.type) for c in doc.controls] == [
        ("s1", "Start"),
        ("31", "Control"),
        ("32", "Control"),
        ("f1", "Finish"),
    ]
    bane = doc.courses[0]
    assert (bane.name, bane.length) == ("Bane 01", 7600)
    assert [(c.code, c.type, c.leg_length) for c in bane.controls] == [
        ("s1", "Start", None), ("31", "Control", 599), ("32", "Control", 857), ("f1", "Finish", 240),
    ]  # fmt: skip
    assert doc.courses_for_class() == {
        "D 21 E1": ("Bane 01",),
        "H 21": ("Gåfling AB", "Gåfling BA"),
    }
    assert "2.0.3" in doc.warnings[-1]


def test_course_data_of_several_races() -> None:
    race = '<RaceCourseData raceNumber="{n}"><Course><Name>R{n}</Name></Course></RaceCourseData>'
    data = iof_xml(
        "CourseData", "<Event><Name>3 dagars</Name></Event>" + race.format(n=1) + race.format(n=2)
    ).encode()
    assert read_course_data(data, race_number=2).courses[0].name == "R2"
    assert read_course_data(data, race_number=2).race_number == 2
    with pytest.raises(
        IofError,
        match=r"^line 2: the file holds course data for several races \(1, 2\): choose one",
    ):
        read_course_data(data)
    with pytest.raises(IofError, match=r"no course data for race 3 \(only for 1, 2\)"):
        read_course_data(data, race_number=3)
    # None numbered (the attribute is optional): one element per race, in the races' order.
    plain = iof_xml("CourseData", "<Event><Name>3 dagars</Name></Event>"
                    + race.replace(' raceNumber="{n}"', "").format(n=1) + race.replace(' raceNumber="{n}"', "").format(n=2)).encode()
    assert read_course_data(plain, race_number=2).courses[0].name == "R2"
    with pytest.raises(IofError, match=r"several races \(2 unnumbered, in the races' order: 1-2\): choose one"):
        read_course_data(plain)
    with pytest.raises(IofError, match=r"no course data for race 3 \(only for 2 unnumbered"):
        read_course_data(plain, race_number=3)



def test_a_course_length_in_kilometres_is_read_as_such_and_said() -> None:
    """'1,8' (km with a decimal comma, as some programs write it) is 1800 m, not 2 m; metres stay metres."""
    body = ("<RaceCourseData><Course><Name>A</Name><Length>1,8</Length></Course>"
            "<Course><Name>B</Name><Length>2500.4</Length></Course></RaceCourseData>")
    doc = read_course_data(iof_xml("CourseData", "<Event><Name>E</Name></Event>" + body).encode())
    assert [(c.name, c.length) for c in doc.courses] == [("A", 1800), ("B", 2500)]
    assert [w for w in doc.warnings if "km" in w] == ["line 3: course length 1,8 read as 1.8 km"]

def test_entry_list_quirks() -> None:
    # No namespace, Given before Family, typed ids, a bare birth year, lower-case sex, cards "0" and
    # empty, unknown and foreign-namespace elements, a nameless entry.
    body = """<Event><Name>Klubbløp</Name><Class><Name>H 21</Name><ShortName>H21</ShortName></Class></Event>
      <PersonEntry><Id>E-7</Id>
        <Person sex="f"><Id type="Norway">123</Id><Id type="IOF">4</Id><Id>untyped</Id>
          <Name><Given>Kari </Given><Family> Nordmann</Family></Name><BirthDate>1985</BirthDate>
          <Nationality code="NOR">Norge</Nationality><Shoe>42</Shoe></Person>
        <Organisation><Name>Bækkelagets SK</Name><x:Logo xmlns:x="urn:example">L</x:Logo></Organisation>
        <ControlCard punchingSystem="SI">0</ControlCard><ControlCard/>
        <ControlCard punchingSystem="emiTag">501234</ControlCard><ControlCard punchingSystem="SI">8123456</ControlCard>
        <Class><ShortName>D21</ShortName></Class><RaceNumber>2</RaceNumber>
      </PersonEntry>
      <PersonEntry><Person><Name><Family/><Given/></Name></Person></PersonEntry>"""
    doc = read_entry_list(iof_xml("EntryList", body, namespace=False).encode())
    (entry,) = doc.entries
    assert entry.person == Person(
        given="Kari",
        family="Nordmann",
        sex="F",
        birth_year=1985,
        nationality="NOR",
        ids={"Norway": "123", "IOF": "4", "": "untyped"},
    )
    assert entry.organisation == Organisation(name="Bækkelagets SK")
    assert entry.cards == (Card("501234", "emiTag"), Card("8123456", "SI"))
    assert (entry.entry_id, entry.class_names, entry.race_numbers) == ("E-7", ("D21",), (2,))
    assert doc.classes == (ClassDef(name="H 21", short_name="H21"),)
    assert doc.warnings == ("line 13: an entry without a person name is skipped",)


def test_start_times_without_offset_and_with_fractions() -> None:
    body = """<Event><Name>X</Name><StartTime><Date>2025-06-01</Date><Time>10:00:00</Time></StartTime></Event>
      <ClassStart><Class><Name>H21</Name></Class>
        <PersonStart><Person><Name><Family>A</Family><Given>B</Given></Name></Person>
          <Start><StartTime>2025-06-01T10:01:00</StartTime></Start></PersonStart>
        <PersonStart><Person><Name><Family></Family><Given></Given></Name></Person>
          <Start><BibNumber>2</BibNumber><StartTime>2025-06-01T08:02:00.0000000Z</StartTime></Start></PersonStart>
      </ClassStart>"""
    oslo = ZoneInfo("Europe/Oslo")
    doc = read_start_list(iof_xml("StartList", body).encode(), tz=oslo)
    first, vacant = doc.classes[0].starts
    assert first.start_time == datetime(2025, 6, 1, 10, 1, tzinfo=oslo)
    assert first.start_time.utcoffset() == timedelta(hours=2)  # type: ignore[union-attr]
    assert vacant.person is None and vacant.start_time == datetime(2025, 6, 1, 10, 2, tzinfo=oslo)
    assert doc.event.first_start == datetime(2025, 6, 1, 10, 0, tzinfo=oslo)


def test_no_namespace_reads_the_same() -> None:
    event, classes = sample_start_list()
    xml = write(event, classes)
    bare = xml.replace(f' xmlns="{IOF_NS}"'.encode(), b"")
    assert bare != xml
    assert read_start_list(bare).classes == read_start_list(xml).classes


# ---- encodings ------------------------------------------------------------------------------------

NAMES = "<Event><Name>Løp – Ærlig Åpen</Name></Event>"


@pytest.mark.parametrize(
    ("encoding", "codec"),
    [
        ("windows-1252", "cp1252"),
        ("ISO-8859-1", "cp1252"),
        ("UTF-8", "utf-8"),
        ("UTF-16", "utf-16"),
    ],
)
def test_declared_encodings(encoding: str, codec: str) -> None:
    # ISO-8859-1 files from Windows programs hold 1252's dash (0x96): read as windows-1252.
    data = iof_xml("EntryList", NAMES, encoding=encoding).encode(codec)
    doc = read_entry_list(data)
    assert doc.event.name == "Løp – Ærlig Åpen" and doc.warnings == ()


@pytest.mark.parametrize("encoding", [None, "UTF-8"])
def test_windows_1252_without_or_with_a_wrong_declaration(encoding: str | None) -> None:
    doc = read_entry_list(iof_xml("EntryList", NAMES, encoding=encoding).encode("cp1252"))
    assert doc.event.name == "Løp – Ærlig Åpen"
    assert "read as windows-1252" in doc.warnings[0] and "line 3" in doc.warnings[0]


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "windows-1252"])
def test_utf8_bytes_under_a_single_byte_declaration(encoding: str) -> None:
    # Some exporters declare ISO-8859-1 and write UTF-8: read as cp1252 the names would be mojibake.
    doc = read_entry_list(iof_xml("EntryList", NAMES, encoding=encoding).encode("utf-8"))
    assert doc.event.name == "Løp – Ærlig Åpen"
    assert doc.warnings == (f"the file declares {encoding.lower()} but its bytes are UTF-8: read as UTF-8",)


def test_utf8_bom() -> None:
    doc = read_entry_list(b"\xef\xbb\xbf" + iof_xml("EntryList", NAMES).encode())
    assert doc.event.name == "Løp – Ærlig Åpen"


def test_unknown_encoding() -> None:
    with pytest.raises(IofError, match="unknown encoding 'klingon'"):
        read_entry_list(iof_xml("EntryList", NAMES, encoding="klingon").encode())


# ---- files to refuse ------------------------------------------------------------------------------


def test_malformed_xml_tells_line_and_column() -> None:
    text = iof_xml(
        "StartList",
        "<Event><Name>X</Name></Event>\n<ClassStart>\n  <Clas><Name>H21</Name></Class>\n</ClassStart>",
    )
    with pytest.raises(IofError) as err:
        read_start_list(text.encode())
    assert (err.value.line, err.value.column) == (5, 33)
    assert str(err.value) == "line 5, column 33: <Clas> opened on line 5 is closed by </Class>"


def test_empty_and_non_xml_files() -> None:
    with pytest.raises(IofError, match="the file is empty"):
        read_iof(b"")
    with pytest.raises(IofError, match=r"line 1, column 1: not an XML file"):
        read_iof(b"CLASS NAME;BIB NO\nH21;101\n")
    with pytest.raises(
        IofError,
        match=r"^line 3, column 22: the file ends inside <Event> opened on line 3: is it cut short\?$",
    ):
        read_iof(iof_xml("EntryList", "<Event><Name>A</Name>").encode()[:-14])
    with pytest.raises(IofError, match="ZIP archive"):
        read_iof(b"PK\x03\x04rest")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"<html><body><p>Not found</p></body></html>",
            "line 1: wrong root element <html>: not an IOF XML 3.0 file",
        ),
        (
            b'<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
            "wrong root element <html>: not an IOF XML 3.0 file",
        ),
        (
            b"<!DOCTYPE html>\n<html><body><p>Not found<br></body></html>",
            "this is an HTML page, not an IOF XML 3.0 file",
        ),
        (
            b"\n<!-- proxy -->\n<HTML><BODY>Bad gateway<BR></BODY></HTML>",
            r"^line 3, column \d+: this is an HTML page",
        ),
        (
            b'<StartList xmlns="http://example.com/other"/>',
            "<StartList> is in namespace http://example.com/other",
        ),
        (
            b'<ResultList><IOFVersion version="2.0.3"/></ResultList>',
            "this is an IOF XML 2.0.3 ResultList: export IOF XML 3.0 instead",
        ),
    ],
)
def test_wrong_root_element(data: bytes, message: str) -> None:
    with pytest.raises(IofError, match=message):
        read_iof(data)


def test_another_message_type() -> None:
    data = iof_xml("ResultList", "<Event><Name>X</Name></Event>").encode()
    with pytest.raises(IofError, match="^line 2: this is a ResultList, expected a StartList$"):
        read_start_list(data)
    with pytest.raises(IofError, match="this is an EntryList, expected a CourseData"):
        read_course_data(iof_xml("EntryList", "<Event><Name>X</Name></Event>").encode())


@needs_iof
def test_an_example_of_another_message_type() -> None:
    with pytest.raises(IofError, match="this is a StartList, expected a CourseData"):
        read_course_data(example("StartList1.xml"))


def test_entity_bomb_fails_fast() -> None:
    t0 = time.perf_counter()
    with pytest.raises(IofError, match="declares a DTD") as err:
        read_start_list(billion_laughs())
    assert time.perf_counter() - t0 < 0.5
    assert (err.value.line, err.value.column) == (2, 1)


def test_external_entity_is_never_read() -> None:
    prolog = '<!DOCTYPE StartList [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    data = iof_xml("StartList", "<Event><Name>&xxe;</Name></Event>", prolog=prolog).encode()
    with pytest.raises(IofError, match="declares a DTD") as err:
        read_start_list(data)
    assert "root:" not in str(err.value)


def test_external_dtd_is_never_loaded(tmp_path: Path) -> None:
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY secret "SECRET-FROM-DISK">')
    prolog = f'<!DOCTYPE StartList SYSTEM "{dtd.as_uri()}">\n'
    with pytest.raises(IofError, match="^line 4: unknown entity &secret;") as err:
        read_start_list(
            iof_xml("StartList", "<Event><Name>&secret;</Name></Event>", prolog=prolog).encode()
        )
    assert "SECRET-FROM-DISK" not in str(err.value)
    # A bare DOCTYPE is harmless as long as nothing needs it (IOF 2.0.3 files carry one): never loaded.
    root, _ = parse(iof_xml("StartList", "<Event><Name>X</Name></Event>", prolog=prolog).encode())
    assert root.getroottree().docinfo.externalDTD is None
    assert root.findtext("Event/Name") == "X"


def test_bad_values_name_their_line() -> None:
    body = "<Event><Name>X</Name></Event><ClassStart><Class><Name>H21</Name></Class>\n<PersonStart><Start><StartTime>10:00</StartTime></Start></PersonStart></ClassStart>"
    with pytest.raises(IofError, match=r"^line 4: '10:00' is not a date and time"):
        read_start_list(iof_xml("StartList", body).encode())
    course = (
        "<RaceCourseData><Course><Name>A</Name>\n<Length>long</Length></Course></RaceCourseData>"
    )
    with pytest.raises(IofError, match=r"^line 4: <Length> is 'long', expected a number$"):
        read_course_data(iof_xml("CourseData", course).encode())
    with pytest.raises(IofError, match=r"^line 3: <Class> without <Name>$"):
        read_class_list(iof_xml("ClassList", "<Class><Id>1</Id></Class>").encode())
