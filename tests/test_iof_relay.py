"""Relay IOF XML: reading the official relay examples and TeamEntry; TeamStart / TeamResult
writers validated against IOF.xsd."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from iof_util import EXAMPLES, XSD, needs_iof

from t4o_tui.orienteering import iof_relay as r
from t4o_tui.orienteering import relay
from t4o_tui.orienteering.iof_write import SplitOut, validate
from t4o_tui.orienteering.model import (
    Card,
    ClassDef,
    Course,
    CourseControl,
    EventInfo,
    Organisation,
    Person,
)
from t4o_tui.orienteering.punch_check import Status
from t4o_tui.orienteering.xmlsafe import IofError

pytestmark = needs_iof
CET = timezone(timedelta(hours=1))
NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_class_list_relay_legs_and_parallel_runners() -> None:
    classes = r.read_relay_classes((EXAMPLES / "ClassList_Relay_Step1.xml").read_bytes())
    assert [(c.class_def.name, [(leg.min_runners, leg.max_runners) for leg in c.legs]) for c in classes] == [
        ("Men Open", [(1, 1), (1, 3), (1, 1)]), ("Women Open", [(1, 1), (1, 3), (1, 1)])]


def test_start_list_relay_example_teams_legs_and_cards() -> None:
    doc = r.read_team_starts((EXAMPLES / "StartList_Relay_Step3.xml").read_bytes())
    first, combo = doc.teams[:2]
    assert (first.name, first.bib, first.class_name) == ("Forest Vagabonds 1", "1", "Men Open")
    assert [(m.leg, m.leg_order, m.person.name if m.person else None, [c.number for c in m.cards])
            for m in first.members] == [
        (1, None, "Samuel Reid", ["54321"]), (2, 1, "Penny Fisher", ["59476"]),
        (2, 2, "Anne Collins", ["96463"]), (2, 3, "Brent Hall", ["10583"]), (3, None, "Allison Jenkins", ["68490"])]
    assert first.members[0].start_time == datetime(2011, 7, 31, 14, 0, tzinfo=CET)
    assert first.members[1].start_time is None  # not known before the changeover
    assert [o.name for o in combo.organisations] == ["Super Fast Orienteers", "Unintentional Navigators"]
    assert combo.members[0].organisation is not None and combo.members[0].organisation.name == "Super Fast Orienteers"
    # Team 2 names nobody for leg 3 yet: a position without a runner (a missing leg until filled).
    assert [(m.leg, m.person) for m in combo.members][-1] == (3, None)
    assert len(doc.teams) == 2


def test_course_data_relay_team_assignments() -> None:
    teams = r.read_team_course_assignments((EXAMPLES / "CourseData_Relay_Step4.xml").read_bytes())
    assert [(t.bib, [(m.leg, m.leg_order, m.course_name) for m in t.members]) for t in teams] == [
        ("1", [(1, None, "A"), (2, 1, "C"), (2, 2, "C"), (2, 3, "C"), (3, None, "B")]),
        ("2", [(1, None, "B"), (2, 1, "C"), (2, 2, "C"), (2, 3, "C"), (3, None, "A")]),
    ]
    # Step 2 assigns by class and leg only: no team assignments.
    assert r.read_team_course_assignments((EXAMPLES / "CourseData_Relay_Step2.xml").read_bytes()) == ()


TEAM_ENTRIES = b"""<?xml version="1.0" encoding="UTF-8"?>
<EntryList xmlns="http://www.orienteering.org/datastandard/3.0" iofVersion="3.0" createTime="2026-01-01T10:00:00Z" creator="x">
  <Event><Name>Relay</Name><Class><Name>H21</Name><Leg/><Leg maxNumberOfCompetitors="2"/><Leg/></Class></Event>
  <TeamEntry>
    <Id type="Eventor">T1</Id>
    <Name>OK Linne 1</Name>
    <Organisation><Id>7</Id><Name>OK Linne</Name></Organisation>
    <TeamEntryPerson><Person><Id>11</Id><Name><Family>Berg</Family><Given>Ola</Given></Name></Person>
      <Leg>1</Leg><ControlCard>101</ControlCard></TeamEntryPerson>
    <TeamEntryPerson><Person><Name><Family>Dahl</Family><Given>Kari</Given></Name></Person>
      <Leg>2</Leg><LegOrder>2</LegOrder><ControlCard>102</ControlCard></TeamEntryPerson>
    <Class><Name>H21</Name></Class>
  </TeamEntry>
  <TeamEntry><Organisation><Name>No name</Name></Organisation></TeamEntry>
</EntryList>"""


def test_team_entries() -> None:
    doc = r.read_team_entries(TEAM_ENTRIES)
    [team] = doc.teams
    assert (team.name, team.class_name, team.entry_id, team.entry_id_type) == ("OK Linne 1", "H21", "T1", "Eventor")
    assert [(m.leg, m.leg_order, m.person.name if m.person else None, m.cards[0].number, m.entry_id)
            for m in team.members] == [(1, None, "Ola Berg", "101", "11"), (2, 2, "Kari Dahl", "102", None)]
    assert [(leg.max_runners) for leg in doc.classes[0].legs] == [1, 2, 1]
    assert doc.warnings == ("line 14: a team entry without a name is skipped",)


def test_bad_leg_number_names_the_line() -> None:
    bad = TEAM_ENTRIES.replace(b"<Leg>1</Leg>", b"<Leg>0</Leg>")
    with pytest.raises(IofError, match=r"<Leg> is 0, expected 1 or more") as e:
        r.read_team_entries(bad)
    assert str(e.value).startswith("line 9:")  # the <Leg> line
    with pytest.raises(IofError, match="expected a whole number"):
        r.read_team_entries(TEAM_ENTRIES.replace(b"<Leg>1</Leg>", b"<Leg>one</Leg>"))


@pytest.mark.parametrize(("text", "want"), [("2", (2, 1)), ("2.3", (2, 3)), ("2b", (2, 2)), (" 3 ", (3, 1))])
def test_csv_leg_text(text: str, want: tuple[int, int]) -> None:
    assert r.parse_leg_text(text) == want


def test_csv_leg_text_bad() -> None:
    with pytest.raises(IofError, match="LEG is '0'"):
        r.parse_leg_text("0", 4)


EVENT = EventInfo("Relay", first_start=datetime(2026, 6, 1, 10, tzinfo=UTC))
CLS = ClassDef("H21", legs=3)
LEGS = (r.LegDef(), r.LegDef(max_runners=2), r.LegDef())
COURSE_A = Course("A", 2500, 40, controls=(CourseControl("S", "Start"), CourseControl("31"), CourseControl("32"),
                                            CourseControl("F", "Finish")))
T0 = datetime(2026, 6, 1, 10, tzinfo=UTC)


def test_team_start_list_validates() -> None:
    team = r.TeamStartOut("OK Linne 1", "1", (Organisation("OK Linne"), Organisation("IL Tyrving")), members=(
        r.TeamMemberStartOut(1, None, Person("Ola", "Berg"), bib="1-1", start_time=T0, course=COURSE_A,
                             card=Card("101", "SI")),
        r.TeamMemberStartOut(2, 1, Person("Kari", "Dahl")), r.TeamMemberStartOut(2, 2, None, card=Card("103")),
        r.TeamMemberStartOut(3, None, Person("Per", "Lie"))))
    xml = r.write_team_start_list(EVENT, [r.TeamClassStart(CLS, (team,), LEGS)], creator="t4o", create_time=NOW)
    assert validate(xml, XSD) == []
    doc = r.read_team_starts(xml)
    assert [(m.leg, m.leg_order, m.person.name if m.person else None) for m in doc.teams[0].members] == [
        (1, None, "Ola Berg"), (2, 1, "Kari Dahl"), (2, 2, None), (3, None, "Per Lie")]
    assert [leg.max_runners for leg in doc.classes[0].legs] == [1, 2, 1]


def test_team_start_list_at_tenths_carries_time_resolution_on_each_class_start() -> None:
    """At 0.1 s the relay StartList says so as the individual one does: timeResolution on every
    ClassStart (the only place the schema allows it) and start times keep their tenth."""
    start = T0 + timedelta(milliseconds=500)
    team = r.TeamStartOut("OK Linne 1", "1", (Organisation("OK Linne"),), (
        r.TeamMemberStartOut(1, None, Person("Ola", "Berg"), start_time=start),
        r.TeamMemberStartOut(2, 1, Person("Kari", "Dahl")), r.TeamMemberStartOut(2, 2, None),
        r.TeamMemberStartOut(3, None, Person("Per", "Lie"))))
    classes = [r.TeamClassStart(CLS, (team,), LEGS)]
    xml = r.write_team_start_list(EVENT, classes, creator="t4o", create_time=NOW, time_resolution=0.1)
    assert validate(xml, XSD) == []
    assert xml.count(b'<ClassStart timeResolution="0.1">') == 1
    assert f"<StartTime>{start.isoformat(timespec='milliseconds')[:21]}".encode() in xml
    whole = r.write_team_start_list(EVENT, classes, creator="t4o", create_time=NOW)
    assert b"timeResolution" not in whole and f"<StartTime>{T0.isoformat()}".encode() in whole


def test_team_result_list_validates_with_overall_results() -> None:
    members = (
        r.TeamMemberResultOut(1, "OK", person=Person("Ola", "Berg"), start_time=T0, finish_time=T0 + timedelta(seconds=1800),
                              time=1800, time_behind=0, position=1, overall=r.OverallOut("OK", 1800, 0, 1),
                              course=COURSE_A, splits=(SplitOut("31", 600), SplitOut("32", 1200)), card=Card("101")),
        r.TeamMemberResultOut(2, "MissingPunch", leg_order=1, person=Person("Kari", "Dahl"), time=1900,
                              overall=r.OverallOut("MissingPunch"), course=COURSE_A,
                              splits=(SplitOut("31", None, "Missing"), SplitOut("32", 1300))),
        r.TeamMemberResultOut(3, "Started", person=Person("Per", "Lie"), overall=r.OverallOut("MissingPunch")),
    )
    team = r.TeamResultOut("OK Linne 1", members, "1", (Organisation("OK Linne"),))
    xml = r.write_team_result_list(EVENT, [r.TeamClassResult(CLS, (team,), LEGS, 0.1)], creator="t4o", create_time=NOW)
    assert validate(xml, XSD) == []
    text = xml.decode()
    assert '<Position type="Leg">1</Position>' in text and "<OverallResult>" in text
    assert 'timeResolution="0.1"' in text and "<Status>Active</Status>" in text  # Started is Active in IOF


def test_result_writer_refuses_what_the_schema_or_rules_would() -> None:
    bad_place = r.TeamResultOut("X", (r.TeamMemberResultOut(1, "MissingPunch", position=3),))
    with pytest.raises(ValueError, match="team 'X' leg 1: position 3 with status MissingPunch"):
        r.write_team_result_list(EVENT, [r.TeamClassResult(CLS, (bad_place,))], creator="t", create_time=NOW)
    bad_splits = r.TeamResultOut("X", (r.TeamMemberResultOut(1, "OK", course=COURSE_A, splits=(SplitOut("32", 5),)),))
    with pytest.raises(ValueError, match="do not list course 'A'"):
        r.write_team_result_list(EVENT, [r.TeamClassResult(CLS, (bad_splits,))], creator="t", create_time=NOW)


def test_result_writer_wants_every_leg_and_writes_an_empty_position_without_a_person() -> None:
    ola = r.TeamMemberResultOut(1, "OK", person=Person("Ola", "Berg"), time=1800, overall=r.OverallOut("OK", 1800))
    missing = r.TeamResultOut("X", (ola,))
    with pytest.raises(ValueError, match="team 'X': no TeamMemberResult for leg 2 of class 'H21'"):
        r.write_team_result_list(EVENT, [r.TeamClassResult(CLS, (missing,), LEGS)], creator="t", create_time=NOW)
    empty = (r.TeamMemberResultOut(2, "DidNotStart", leg_order=1, bib="1", overall=r.OverallOut("DidNotFinish")),
             r.TeamMemberResultOut(3, "DidNotStart", bib="1", overall=r.OverallOut("DidNotFinish")))
    xml = r.write_team_result_list(EVENT, [r.TeamClassResult(CLS, (r.TeamResultOut("X", (ola, *empty)),), LEGS)],
                                   creator="t", create_time=NOW)
    assert validate(xml, XSD) == []
    doc = r.read_team_results(xml)
    assert [(m.leg, m.leg_order, m.person, m.status, m.overall.status if m.overall else None)
            for m in doc.teams[0].members] == [
        (1, None, Person("Ola", "Berg"), "OK", "OK"), (2, 1, None, "DidNotStart", "DidNotFinish"),
        (3, None, None, "DidNotStart", "DidNotFinish")]


def _relay_class() -> relay.RelayClass:
    # Leg 2: one to three runners (the IOF example); leg 3: two runners who must both run.
    return relay.RelayClass("Open", (relay.LegSettings(("A",)), relay.LegSettings(("C",), runners=3, min_runners=1,
                                                                                parallel=relay.ParallelRule.FIRST),
                                     relay.LegSettings(("A",), runners=2, min_runners=2)))


def test_empty_positions_are_legs_without_runner_and_required_parallel_runners() -> None:
    cls = _relay_class()
    full = relay.Team(1, "Full", members=(relay.TeamMember(1), relay.TeamMember(2, 3), relay.TeamMember(3, 1),
                                          relay.TeamMember(3, 2)))
    assert r.empty_positions(cls, full) == []  # leg 2's free orders 1 and 2 are optional
    short = relay.Team(2, "Short", members=(relay.TeamMember(1), relay.TeamMember(3, 2)))
    assert r.empty_positions(cls, short) == [(2, 1), (3, 1)]
    assert r.empty_positions(cls, relay.Team(3, "None")) == [(1, 1), (2, 1), (3, 1), (3, 2)]


def _member(leg: int, order: int, status: Status, time: float | None) -> relay.MemberResult:
    return relay.MemberResult(leg, order, f"runner {leg}.{order}", None, None, status, None, None, time)


def test_position_standings_give_parallel_runners_their_own_places() -> None:
    """The IOF ResultList2 example in the relay model: leg 2's runners get their own leg place (among
    all four runners of leg 2) and OverallResult (team after leg 1 + the runner, placed among the
    teams with that position); one-runner legs keep the team's standing; an empty position gets
    the relay rules' status."""
    cls = _relay_class()
    ok = Status.OK

    def team(key: int, name: str, leg1: float, leg2: list[float], leg3: list[float] | None) -> relay.TeamResult:
        l1 = relay.LegResult(1, (_member(1, 1, ok, leg1),), ok, 0, leg1, leg1, ok, leg1)
        m2 = tuple(_member(2, k, ok, t) for k, t in enumerate(leg2, 1))
        l2 = relay.LegResult(2, m2, ok, leg1, leg1 + min(leg2), min(leg2), ok, leg1 + min(leg2))
        if leg3 is None:
            l3 = relay.LegResult(3, (), Status.DID_NOT_START, None, None, None, Status.DID_NOT_FINISH, None)
        else:
            m3 = tuple(_member(3, k, ok, t) for k, t in enumerate(leg3, 1))
            total = leg1 + min(leg2) + max(leg3)
            l3 = relay.LegResult(3, m3, ok, leg1 + min(leg2), total, max(leg3), ok, total)
        members = tuple(relay.TeamMember(leg, k) for leg, ts in ((1, [leg1]), (2, leg2), (3, leg3 or []))
                        for k in range(1, len(ts) + 1))
        legs = (l1, l2, l3)
        status = legs[-1].overall_status
        return relay.TeamResult(relay.Team(key, name, members=members), status, 0, None, legs[-1].overall_time, legs)

    ranking = relay.rank_relay([team(1, "FV1", 1438, [1225, 1375, 2103], [1078, 1100]),
                                team(2, "SFO", 1433, [1245], [1195, 1000]),
                                team(3, "FV2", 1503, [1300], None)])
    st = r.position_standings(cls, ranking)

    def row(key: int, slot: tuple[int, int]) -> tuple:
        s = st[(key, slot)]
        return (s.place, s.behind, s.overall.status, s.overall.time, s.overall.time_behind, s.overall.position)

    assert [row(1, (2, k)) for k in (1, 2, 3)] == [(1, 0, "OK", 2663, 0, 1), (4, 150, "OK", 2813, 0, 1),
                                                  (5, 878, "OK", 3541, 0, 1)]
    assert row(2, (2, 1)) == (2, 20, "OK", 2678, 15, 2)
    assert row(3, (2, 1)) == (3, 75, "OK", 2803, 140, 3)
    assert row(1, (1, 1)) == (2, 5, "OK", 1438, 5, 2)  # a one-runner leg: the team's standing after it
    # Leg 3 (both must run): SFO's second runner is faster than FV1's; FV2 has nobody there.
    assert row(2, (3, 2)) == (1, 0, "OK", 2678 + 1000, 0, 1)
    assert row(1, (3, 2)) == (3, 100, "OK", 2663 + 1100, 85, 2)
    assert row(3, (3, 1)) == row(3, (3, 2)) == (None, None, "DidNotFinish", None, None, None)
