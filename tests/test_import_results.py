"""Import Results: ResultLists of other programs read back as a race's results (issue 16).

The files are generated here as OE-style programs write them: no namespace, windows-1252, decimal
commas and tenths of a second; and the official examples.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from t4o_tui.engine.runs import run_log
from t4o_tui.orienteering import iof, iof_relay
from t4o_tui.orienteering.punch_check import Status
from t4o_tui.orienteering.ranking import ResultEntry, rank_class
from t4o_tui.store.models import Entry, Event, Person, Result, Team, TeamResult

from conftest import SHARED, iof_examples, run_job

XSD = SHARED / "iof" / "IOF.xsd"


def log_text(db, run) -> str:
    return "\n".join(line.message for line in run_log(db, run.id))


def person_result(family: str, given: str, club: str, card: str, time: str | None, status: str,
                  position: int | None, splits: list[tuple[str, str | None]]) -> str:
    parts = [f"<PersonResult><Person><Name><Family>{family}</Family><Given>{given}</Given></Name></Person>",
             f"<Organisation><Name>{club}</Name></Organisation><Result>",
             "<StartTime>2026-06-06T10:00:00+02:00</StartTime>"]
    if time is not None:
        parts.append(f"<Time>{time}</Time>")
    if position is not None:
        parts.append(f"<Position>{position}</Position>")
    parts.append(f"<Status>{status}</Status>")
    for code, t in splits:
        if t is None:
            parts.append(f'<SplitTime status="Missing"><ControlCode>{code}</ControlCode></SplitTime>')
        else:
            parts.append(f"<SplitTime><ControlCode>{code}</ControlCode><Time>{t}</Time></SplitTime>")
    parts.append(f"<ControlCard>{card}</ControlCard></Result></PersonResult>")
    return "".join(parts)


# As the source ranked them at 0.1 s: 978.3 wins, 978.5 and 978.5 share 2nd, 1001.0 is 4th.
SOURCE = [
    ("Ødegård", "Åse", "Bækkelagets SK", "500001", "978,3", "OK", 1, [("31", "301,4"), ("32", "650,0")]),
    ("Lien", "Kari", "IL Tyrving", "500002", "978,5", "OK", 2, [("31", "299,9"), ("32", "655,2")]),
    ("Berg", "Ida", "Halden SK", "500003", "978,5", "OK", 2, [("31", "310,0"), ("32", "640,1")]),
    ("Ås", "Mia", "Halden SK", "500004", "1001,0", "OK", 4, [("31", "320,0"), ("32", "700,0")]),
    ("Sæther", "Eva", "IL Tyrving", "500005", "1100,7", "MissingPunch", None, [("31", "330,0"), ("32", None)]),
    ("Holm", "Siv", "IL Tyrving", "500006", None, "DidNotStart", None, []),
]


def oe_result_list() -> bytes:
    """Namespace-less, no encoding declared, windows-1252 bytes, decimal commas, one relay team."""
    body = "".join(person_result(*r) for r in SOURCE)
    text = ('<?xml version="1.0"?>\n<ResultList iofVersion="3.0" creator="OE2010">\n'
            "<Event><Name>Sommerløpet</Name><StartTime><Date>2026-06-06</Date></StartTime></Event>\n"
            f'<ClassResult timeResolution="0.1"><Class><Name>D21</Name></Class>\n{body}\n</ClassResult>\n'
            "<ClassResult><Class><Name>Stafett</Name></Class><TeamResult><Name>Tyrving 1</Name></TeamResult>"
            "</ClassResult>\n</ResultList>\n")
    return text.encode("cp1252")


def test_a_result_list_with_decimal_commas_and_tenths_imports_with_the_source_places(db, db_path, tmp_path):
    f = tmp_path / "oe-results.xml"
    f.write_bytes(oe_result_list())
    run = run_job(db, db_path, "import-results", {"file": str(f)})
    assert run.status == "succeeded", run.error
    log = log_text(db, run)
    # One warning per kind of deviation, not one per time.
    assert "times with a decimal comma: 14 (first on line 5), read anyway" in log  # 5 times, 9 split times
    assert log.count("decimal comma") == 1
    assert "no IOF XML 3.0 namespace on the root element: 1" in log
    assert "read as windows-1252" in log
    # The file's relay class lists a team without its runners' results: nothing to import, said once.
    assert "team results: teams without runners' results (skipped): 1 (first on line" in log
    assert "the file's times have a resolution of 0.1 s; the event ranks at 1 s" in log
    assert "results: 6 created" in log
    # At the event's default 1 s, 978.3 and 978.5 tie: the log says which places differ.
    assert "places as the file: 2 of 4 agree at 1 s resolution" in log
    assert Person.get(Person.family == "Ødegård").given == "Åse"
    times = {r.entry.person.family: r.time for r in Result.select()}
    assert times["Ødegård"] == pytest.approx(978.3) and times["Lien"] == pytest.approx(978.5)  # tenths kept
    ase = Result.select().join(Entry).join(Person).where(Person.family == "Ødegård").get()
    assert ase.splits == [["31", pytest.approx(301.4)], ["32", pytest.approx(650.0)]]
    eva = Result.select().join(Entry).join(Person).where(Person.family == "Sæther").get()
    assert (eva.status, eva.missing) == ("MissingPunch", "32")

    # At 0.1 s the event ranks as the source: 0.2 s apart rank apart.
    Event.update(time_resolution=0.1).execute()
    out = run_job(db, db_path, "result-list", {"format": "iof-xml"})
    assert out.status == "succeeded", out.error
    xml = Path(out.output).read_bytes()
    assert iof.validate(xml, XSD) == []
    assert b'<ClassResult timeResolution="0.1">' in xml
    written = iof.read_result_list(xml)
    places = {r.person.family: (r.position, r.time) for c in written.classes for r in c.results}
    assert {k: v[0] for k, v in places.items()} == {r[0]: r[6] for r in SOURCE}
    assert places["Ødegård"][1] == pytest.approx(978.3) and places["Lien"][1] == pytest.approx(978.5)
    csv = run_job(db, db_path, "result-list", {"format": "csv"}, name="csv")
    text = Path(csv.output).read_bytes().decode("utf-8-sig")
    assert ";1;;Åse Ødegård;Bækkelagets SK;16:18.3;;OK" in text and "16:18.5;0:00.2;OK" in text

    again = run_job(db, db_path, "import-results", {"file": str(f)})
    log = log_text(db, again)
    assert "results: 0 created, 0 updated, 6 unchanged" in log and "entries: 0 created" in log
    assert "places as the file: 4 of 4 agree at 0.1 s resolution" in log
    assert Entry.select().count() == 6 and Person.select().count() == 6


def test_two_runners_0_2_s_apart_rank_apart_at_tenths_and_tie_at_seconds():
    entries = [ResultEntry("a", "A", Status.OK, 978.3), ResultEntry("b", "B", Status.OK, 978.5)]
    assert [r.place for r in rank_class(entries, resolution=0.1)] == [1, 2]
    assert [r.behind for r in rank_class(entries, resolution=0.1)] == [0.0, 0.2]
    assert [r.place for r in rank_class(entries)] == [1, 1]
    # 61.3 s is 613 tenths, not 612 (61.3 / 0.1 is 612.999… in binary floating point).
    assert [r.place for r in rank_class([ResultEntry("x", "X", Status.OK, 61.3),
                                         ResultEntry("y", "Y", Status.OK, 61.31)], resolution=0.1)] == [1, 1]


@pytest.mark.parametrize("example", ["ResultList1.xml", "ResultList4.xml"])
def test_official_result_lists_import_and_their_places_agree(db, db_path, example):
    run = run_job(db, db_path, "import-results", {"file": str(iof_examples() / example)})
    assert run.status == "succeeded", run.error
    log = log_text(db, run)
    assert "places as the file:" in log
    agree = log.split("places as the file: ")[1].split(" agree")[0]
    n, _, of = agree.partition(" of ")
    assert n == of and int(n) >= 1


def test_a_broken_result_list_fails_with_its_line_and_changes_nothing(db, db_path, tmp_path):
    f = tmp_path / "bad.xml"
    f.write_bytes(oe_result_list().replace(b"<Time>1001,0</Time>", b"<Time>ten</Time>"))
    run = run_job(db, db_path, "import-results", {"file": str(f)})
    assert run.status == "failed" and "<Time> is 'ten', expected seconds" in run.error and "line" in run.error
    assert Entry.select().count() == 0 and Result.select().count() == 0


def test_a_runner_timed_here_keeps_this_programs_result(db, db_path, tmp_path):
    from t4o_tui.store.models import Station, StationData

    f = tmp_path / "oe-results.xml"
    f.write_bytes(oe_result_list())
    run_job(db, db_path, "import-results", {"file": str(f)})
    ase = Entry.select().join(Person).where(Person.family == "Ødegård").get()
    StationData.create(race=ase.race, station=Station.get(Station.role == "readout"), card_number="500001",
                       source="test", entry=ase, created_at=0.0)
    Result.update(time=990.0).where(Result.entry == ase).execute()
    again = run_job(db, db_path, "import-results", {"file": str(f)})
    log = log_text(db, again)
    assert "Åse Ødegård has station data here: the result is computed from it and not overwritten" in log
    assert "0 created, 0 updated, 5 unchanged, 1 kept (timed here)" in log
    assert Result.get(Result.entry == ase).time == 990.0


# ---- relay classes: TeamResult (issue 16, with the relays of issue 13) -------------------------------

OSLO = ZoneInfo("Europe/Oslo")
MASS = datetime(2026, 6, 6, 10, 0, tzinfo=OSLO)

# (team, club, card base, legs: (given, family, time text, status, leg place, place after leg, time after leg))
# As the source (timing to tenths) ranked them: Tyrving 4500.5 s beats Halden 4500.7 s by 0.2 s;
# Bækkelaget mispunched on leg 2. Leg 3's Hilde is fastest on the leg although her team is out.
RELAY = [
    ("Tyrving 1", "IL Tyrving", 710, [("Åse", "Lien", "1500,3", "OK", 2, 2, "1500,3"),
                                      ("Kari", "Lien", "1600,0", "OK", 2, 1, "3100,3"),
                                      ("Mia", "Ødegård", "1400,2", "OK", 2, 1, "4500,5")]),
    ("Halden 1", "Halden SK", 720, [("Ida", "Berg", "1500,5", "OK", 3, 3, "1500,5"),
                                    ("Siv", "Holm", "1599,9", "OK", 1, 2, "3100,4"),
                                    ("Eva", "Sæther", "1400,3", "OK", 3, 2, "4500,7")]),
    ("Bækkelaget 1", "Bækkelagets SK", 730, [("Tone", "Ås", "1490,0", "OK", 1, 1, "1490,0"),
                                             ("Liv", "Dahl", "1700,0", "MissingPunch", None, None, None),
                                             ("Hilde", "Moe", "1380,0", "OK", 1, None, None)]),
]


def _clock(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S")  # no offset, whole seconds: the event's clock


def oe_relay_result_list(*, overall: bool = True, leg_elements: bool = True) -> bytes:
    """A relay ResultList as OE-style programs write it: no namespace, windows-1252, no ids, decimal
    commas, times to tenths (clock times in whole seconds without an offset), leg and overall places.
    Without `overall`: no OverallResult and no places (some programs write only the legs)."""
    teams = []
    for bib, (name, club, card, legs) in enumerate(RELAY, 1):
        members, start = [], MASS
        for leg, (given, family, t, status, place, after, after_time) in enumerate(legs, 1):
            secs = float(t.replace(",", "."))
            finish = start + timedelta(seconds=secs)
            parts = [f"<TeamMemberResult><Person><Name><Family>{family}</Family><Given>{given}</Given></Name></Person>",
                     f"<Organisation><Name>{club}</Name></Organisation><Result>"]
            if leg_elements:
                parts.append(f"<Leg>{leg}</Leg>")
            parts.append(f"<StartTime>{_clock(start)}</StartTime><FinishTime>{_clock(finish)}</FinishTime><Time>{t}</Time>")
            if overall and place is not None:
                parts.append(f'<Position type="Leg">{place}</Position>')
            parts.append(f"<Status>{status}</Status>")
            if overall:
                ov_status = "OK" if after_time else "MissingPunch"
                parts.append("<OverallResult>" + (f"<Time>{after_time}</Time>" if after_time else "")
                             + (f"<Position>{after}</Position>" if after else "") + f"<Status>{ov_status}</Status></OverallResult>")
            parts.append(f"<SplitTime><ControlCode>31</ControlCode><Time>{secs / 2:.1f}</Time></SplitTime>".replace(".", ","))
            parts.append(f"<ControlCard>{card + leg}</ControlCard></Result></TeamMemberResult>")
            members.append("".join(parts))
            start = finish
        teams.append(f"<TeamResult><Name>{name}</Name><Organisation><Name>{club}</Name></Organisation>"
                     f"<BibNumber>{bib}</BibNumber>{''.join(members)}</TeamResult>")
    text = ('<?xml version="1.0"?>\n<ResultList iofVersion="3.0" creator="OE2010">\n'
            "<Event><Name>Stafettløpet</Name><StartTime><Date>2026-06-06</Date></StartTime></Event>\n"
            '<ClassResult timeResolution="0.1"><Class><Name>H21 stafett</Name></Class>\n'
            + "\n".join(teams) + "\n</ClassResult>\n</ResultList>\n")
    return text.encode("cp1252")


def counts() -> tuple[int, ...]:
    return (Team.select().count(), Entry.select().count(), Person.select().count(), Result.select().count(),
            TeamResult.select().count())


def written_back(db, db_path, name: str = "relay xml") -> iof_relay.TeamResultDoc:
    out = run_job(db, db_path, "relay-list", {"format": "iof-xml"}, name=name)
    assert out.status == "succeeded", out.error
    xml = Path(out.output).read_bytes()
    assert iof.validate(xml, XSD) == []
    return iof_relay.read_team_results(xml)


def legs_of(doc: iof_relay.TeamResultDoc) -> dict[tuple[str, int], tuple]:
    """(team, leg) -> (status, time, leg place, overall status, overall time, overall place) of one-runner legs."""
    out = {}
    for t in doc.teams:
        for m in t.members:
            if sum(1 for x in t.members if x.leg == m.leg and x.person is not None) == 1 and m.person is not None:
                ov = m.overall
                out[(t.name, m.leg)] = (m.status, m.time, m.position, ov.status if ov else None,
                                        ov.time if ov else None, ov.position if ov else None)
    return out


def team_places(doc: iof_relay.TeamResultDoc) -> dict[str, tuple]:
    """Team -> (status, time, place): the standing after its last leg."""
    out = {}
    for t in doc.teams:
        last = max(t.members, key=lambda m: (m.leg or 0, m.leg_order or 1))
        ov = last.overall
        out[t.name] = (ov.status, ov.time, ov.position) if ov else None
    return out


def test_a_relay_result_list_from_another_program_imports_teams_legs_and_places(db, db_path, tmp_path):
    Event.create(name="Stafettløpet", timezone="Europe/Oslo")
    f = tmp_path / "oe-relay.xml"
    f.write_bytes(oe_relay_result_list())
    run = run_job(db, db_path, "import-results", {"file": str(f)})
    assert run.status == "succeeded", run.error
    log = log_text(db, run)
    # One warning per kind of deviation in the team results, not one per time.
    assert "team results: times with a decimal comma: 25 (first on line 5), read anyway" in log
    assert log.count("decimal comma") == 1 and "read as windows-1252" in log
    assert "the file's times have a resolution of 0.1 s; the event ranks at 1 s" in log
    assert "created relay class H21 stafett" in log and "class H21 stafett: 3 legs" in log
    assert "relay teams: 3 created" in log and "runners: 9 created" in log
    assert "team results: 3 created, 0 updated, 0 unchanged, 0 kept" in log
    # At 1 s Tyrving and Halden tie (4500 s): the log says which place differs.
    assert "team places as the file: 1 of 2 agree at 1 s resolution" in log
    assert "team 'Halden 1' (H21 stafett) is 2 in the file, 1 here" in log
    assert "Total Results totals runners, not teams" in log  # what the import is not used for
    assert counts() == (3, 9, 9, 9, 3)
    mia = Result.select().join(Entry).join(Person).where(Person.family == "Ødegård").get()
    assert mia.time == pytest.approx(1400.2) and mia.status == "OK"  # the file's Time, tenths kept
    assert mia.splits == [["31", pytest.approx(700.1)]]
    tyrving = TeamResult.select().join(Team).where(Team.name == "Tyrving 1").get()
    assert (tyrving.status, tyrving.time) == ("OK", pytest.approx(4500.5))
    assert TeamResult.select().join(Team).where(Team.name == "Bækkelaget 1").get().status == "MissingPunch"
    # Clock times without an offset are the event's (Oslo): leg 1 started at the mass start.
    assert Result.select().join(Entry).join(Person).where(Person.given == "Åse").get().start_time == MASS.timestamp()

    # At the event's 0.1 s the relay list written back gives the source's times and places.
    Event.update(time_resolution=0.1).execute()
    source = iof_relay.read_team_results(oe_relay_result_list(), tz=OSLO)
    back = written_back(db, db_path)
    assert team_places(back) == team_places(source) == {
        "Tyrving 1": ("OK", pytest.approx(4500.5), 1), "Halden 1": ("OK", pytest.approx(4500.7), 2),
        "Bækkelaget 1": ("MissingPunch", None, None)}
    assert legs_of(back) == legs_of(source)

    # The same file again: nothing changes, nothing doubles; the places now agree.
    again = run_job(db, db_path, "import-results", {"file": str(f)})
    log = log_text(db, again)
    assert "relay teams: 0 created, 0 updated, 3 unchanged; runners: 0 created, 0 updated" in log
    assert "team results: 0 created, 0 updated, 3 unchanged" in log
    assert "team places as the file: 2 of 2 agree at 0.1 s resolution" in log
    assert "leg places as the file: 8 of 8 agree" in log
    assert counts() == (3, 9, 9, 9, 3)


def test_relay_results_without_overall_results_or_legs_get_the_relay_rules(db, db_path, tmp_path):
    """Some programs write only the legs (no OverallResult, no places), some leave Leg out: the
    standings after each leg are computed by the relay rules; legs follow the file's order."""
    Event.create(name="Stafettløpet", timezone="Europe/Oslo", time_resolution=0.1)
    f = tmp_path / "legs-only.xml"
    f.write_bytes(oe_relay_result_list(overall=False, leg_elements=False))
    run = run_job(db, db_path, "import-results", {"file": str(f)})
    assert run.status == "succeeded", run.error
    log = log_text(db, run)
    assert "team results: team members without <Leg> (legs taken in file order): 3 (first on line" in log
    assert "the file gives no team standings (OverallResult): computed by the relay rules, not compared" in log
    assert "places as the file" not in log and "unplaced" not in log
    back = written_back(db, db_path)
    full = iof_relay.read_team_results(oe_relay_result_list(), tz=OSLO)
    assert team_places(back) == team_places(full)  # the same standings the source computed
    assert legs_of(back) == legs_of(full)


@pytest.mark.skipif(not (SHARED / "iof" / "examples" / "ResultList2.xml").is_file(), reason="IOF examples not found")
def test_the_official_relay_result_list_imports_and_writes_back_the_same_places(db, db_path):
    run = run_job(db, db_path, "import-results", {"file": str(iof_examples() / "ResultList2.xml")})
    assert run.status == "succeeded", run.error
    log = log_text(db, run)
    assert "class Open: 3 legs (runners per leg 1, 3, 1)" in log
    # Leg 3 starts at the first of leg 2's three runners' finish: the fastest changes over.
    assert "class Open leg 2: the first of the parallel runners changes over" in log
    assert "team places as the file: 2 of 2 agree" in log and "leg places as the file: 6 of 6 agree" in log
    assert "courses A, B, C are not in this race" in log
    # Forest Vagabonds 2 has nobody on legs 2 and 3: no runner there, the team did not finish.
    assert counts() == (3, 9, 9, 9, 3)
    source = iof_relay.read_team_results((iof_examples() / "ResultList2.xml").read_bytes())
    back = written_back(db, db_path)
    assert team_places(back)["Forest Vagabonds 1"] == team_places(source)["Forest Vagabonds 1"] == ("OK", 3741.0, 1)
    assert team_places(back)["Super Fast Orienteers / Unintentional Navigators"] == ("OK", 3873.0, 2)
    assert TeamResult.select().join(Team).where(Team.name == "Forest Vagabonds 2").get().status == "DidNotFinish"
    assert legs_of(back) == {k: v for k, v in legs_of(source).items() if k[0] != "Forest Vagabonds 1" or k[1] != 2}
    # The leg of three parallel runners: each runner's own time, the leg closed by the fastest.
    fv1 = next(t for t in back.teams if t.name == "Forest Vagabonds 1")
    assert sorted(m.time for m in fv1.members if m.leg == 2) == [1225.0, 1375.0, 2103.0]
    # Each parallel runner's OverallResult is their own (1438 + the runner's time), as the example's.
    assert [(m.leg_order, m.overall.time, m.overall.position) for m in fv1.members if m.leg == 2] == [
        (1, 2663.0, 1), (2, 2813.0, 1), (3, 3541.0, 1)]

    again = run_job(db, db_path, "import-results", {"file": str(iof_examples() / "ResultList2.xml")})
    assert "team results: 0 created, 0 updated, 3 unchanged" in log_text(db, again)
    assert counts() == (3, 9, 9, 9, 3)


def test_a_relay_team_timed_here_keeps_its_results(db, db_path, tmp_path):
    from t4o_tui.store.models import Station, StationData

    Event.create(name="Stafettløpet", timezone="Europe/Oslo")
    f = tmp_path / "oe-relay.xml"
    f.write_bytes(oe_relay_result_list())
    run_job(db, db_path, "import-results", {"file": str(f)})
    kari = Entry.select().join(Person).where(Person.given == "Kari").get()
    StationData.create(race=kari.race, station=Station.get(Station.role == "readout"), card_number="712",
                       source="test", entry=kari, created_at=0.0)
    TeamResult.update(time=4000.0).where(TeamResult.team == Team.get(Team.name == "Tyrving 1")).execute()
    again = run_job(db, db_path, "import-results", {"file": str(f)})
    log = log_text(db, again)
    assert "team 'Tyrving 1' has station data here: its results are computed from it and not overwritten" in log
    assert "team results: 0 created, 0 updated, 2 unchanged, 1 kept" in log
    assert TeamResult.select().join(Team).where(Team.name == "Tyrving 1").get().time == 4000.0


def test_a_broken_relay_result_list_fails_with_its_line_and_changes_nothing(db, db_path, tmp_path):
    f = tmp_path / "bad.xml"
    f.write_bytes(oe_relay_result_list().replace(b"<Time>1599,9</Time>", b"<Time>ten</Time>"))
    run = run_job(db, db_path, "import-results", {"file": str(f)})
    assert run.status == "failed" and "<Time> is 'ten', expected seconds" in run.error and "line" in run.error
    assert counts() == (0, 0, 0, 0, 0)
    # A runner on a leg the class does not have (the class has 3 legs from a first import).
    good = tmp_path / "good.xml"
    good.write_bytes(oe_relay_result_list())
    run_job(db, db_path, "import-results", {"file": str(good)})
    f.write_bytes(oe_relay_result_list().replace(b"<Leg>3</Leg>", b"<Leg>4</Leg>", 1))
    before = counts()
    run = run_job(db, db_path, "import-results", {"file": str(f)})
    assert run.status == "failed"
    assert "relay results: team 'Tyrving 1' (bib 1)" in run.error and "leg 4 but class 'H21 stafett' has 3 legs" in run.error
    assert "nothing was changed" in run.error and counts() == before


def test_a_result_list_without_places_is_imported_and_not_compared(db, db_path, tmp_path):
    """Some programs write results without Position: nothing to compare, and no 'differs' lines."""
    f = tmp_path / "no-places.xml"
    f.write_bytes(oe_result_list().replace(b"<Position>", b"<!--").replace(b"</Position>", b"-->"))
    assert b"<Position>" not in f.read_bytes()
    run = run_job(db, db_path, "import-results", {"file": str(f)})
    assert run.status == "succeeded", run.error
    log = log_text(db, run)
    assert "results: 6 created" in log
    assert "the file gives no places in 1 classes (D21): not compared" in log
    assert "places as the file" not in log and "in the file" not in log


@pytest.mark.skipif(not (SHARED / "iof" / "examples" / "ResultList2.xml").is_file(), reason="IOF examples not found")
def test_parallel_runners_without_leg_order_are_numbered_in_file_order(db, db_path, tmp_path):
    data = (iof_examples() / "ResultList2.xml").read_bytes()
    for k in (1, 2, 3):
        data = data.replace(f"<LegOrder>{k}</LegOrder>".encode(), b"")
    f = tmp_path / "no-leg-order.xml"
    f.write_bytes(data)
    run = run_job(db, db_path, "import-results", {"file": str(f)})
    assert run.status == "succeeded", run.error
    log = log_text(db, run)
    assert "team results: parallel runners without <LegOrder> (numbered in file order): 1 (first on line" in log
    assert "team places as the file: 2 of 2 agree" in log and counts() == (3, 9, 9, 9, 3)


# ---- round trip: every runner position, parallel legs and empty positions (relay list writer) ---------


def positions_of(doc: iof_relay.TeamResultDoc) -> dict[tuple[str, int, int], tuple]:
    """(team, leg, leg order) -> (runner, status, time, leg place, overall status, overall time,
    overall place) of every TeamMemberResult, empty positions (no person) included."""
    out = {}
    for t in doc.teams:
        for m in t.members:
            key = (t.name, m.leg or 0, m.leg_order or 1)
            assert key not in out, f"{key} written twice"
            ov = m.overall
            out[key] = (m.person.name if m.person else None, m.status, m.time, m.position,
                        ov.status if ov else None, ov.time if ov else None, ov.position if ov else None)
    return out


def relay_xml(db, db_path, name: str, race: int | None = None) -> bytes:
    """The relay result list in IOF XML, validated against the schema."""
    out = run_job(db, db_path, "relay-list", {"format": "iof-xml", **({"race": race} if race else {})}, name=name)
    assert out.status == "succeeded", out.error
    xml = Path(out.output).read_bytes()
    assert iof.validate(xml, XSD) == []
    return xml


def reimported(db, db_path, tmp_path: Path, xml: bytes) -> tuple[str, bytes]:
    """The written list imported by import-results as race 2 of the event (new teams, runners and
    results), and that race's relay list written again: (import log, list)."""
    from t4o_tui.store.models import Race

    Race.create(event=Event.get(), name="Round trip", race_number=2)
    f = tmp_path / "written.xml"
    f.write_bytes(xml)
    run = run_job(db, db_path, "import-results", {"file": str(f), "race": 2}, name="re-import")
    assert run.status == "succeeded", run.error
    return log_text(db, run), relay_xml(db, db_path, "relay xml race 2", race=2)


@pytest.mark.skipif(not (SHARED / "iof" / "examples" / "ResultList2.xml").is_file(), reason="IOF examples not found")
def test_the_official_relay_list_round_trips_every_position(db, db_path, tmp_path):
    """ResultList2: the 1-3 runner leg 2 and Forest Vagabonds 2 with nobody on legs 2 and 3. The
    written list has every TeamMemberResult of the example, with its places and standings; imported
    again, it writes the same."""
    source = iof_relay.read_team_results((iof_examples() / "ResultList2.xml").read_bytes())
    run = run_job(db, db_path, "import-results", {"file": str(iof_examples() / "ResultList2.xml")})
    assert run.status == "succeeded", run.error
    xml = relay_xml(db, db_path, "relay xml")
    back = iof_relay.read_team_results(xml)
    expected = positions_of(source)
    assert positions_of(back) == expected
    # What that is, spelled out: each parallel runner's own leg place among the leg's four runners,
    # and an OverallResult of the team after leg 1 plus that runner (ranked among teams with that
    # position); the empty positions without a runner, DidNotStart, the team DidNotFinish.
    fv1, fv2 = "Forest Vagabonds 1", "Forest Vagabonds 2"
    assert [expected[(fv1, 2, k)][2:] for k in (1, 2, 3)] == [
        (1225.0, 1, "OK", 2663.0, 1), (1375.0, 3, "OK", 2813.0, 1), (2103.0, 4, "OK", 3541.0, 1)]
    assert expected[("Super Fast Orienteers / Unintentional Navigators", 2, 1)][2:] == (1245.0, 2, "OK", 2678.0, 2)
    assert expected[(fv2, 2, 1)] == expected[(fv2, 3, 1)] == (None, "DidNotStart", None, None, "DidNotFinish", None, None)
    text = xml.decode()
    fv2_xml = text[text.index(f"<Name>{fv2}</Name>"):]
    assert fv2_xml.count("<TeamMemberResult>") == 3 and fv2_xml.count("<Person>") == 1
    assert "<Leg>2</Leg><LegOrder>1</LegOrder><BibNumber>3</BibNumber><Status>DidNotStart</Status>" in fv2_xml.replace(
        " ", "").replace("\n", "")
    # Time behind as the example: 15 s behind on leg 2 runner 1 after the leg, 878 s behind on the leg.
    assert "<TimeBehind>15</TimeBehind>" in text and '<TimeBehind type="Leg">878</TimeBehind>' in text

    log, again = reimported(db, db_path, tmp_path, xml)
    assert "team places as the file: 2 of 2 agree" in log and "leg places as the file: 6 of 6 agree" in log
    assert "class Open leg 2: the first of the parallel runners changes over" in log
    assert positions_of(iof_relay.read_team_results(again)) == expected


# A 3-leg relay whose leg 2 is run by two runners in parallel, both required (Class/Leg min 2),
# changing over when the second is in: (team, club, card base, positions: (leg, leg order, given,
# family, time, status, leg place, overall status, overall time, overall place)); None: nobody.
# Leg 2 runners: leg place among all five runners of leg 2; overall: the team after leg 1 plus the
# runner, ranked among the teams with that position. Halden's first leg-2 runner mispunched (the
# team is MissingPunch from then, her partner's own standing is still OK); Bækkelaget has nobody
# as leg 2's second runner nor on leg 3 (DidNotFinish).
PARALLEL = [
    ("Tyrving 1", "IL Tyrving", 810, [
        (1, None, "Åse", "Lien", "1500,3", "OK", 2, "OK", "1500,3", 2),
        (2, 1, "Kari", "Lien", "1600,0", "OK", 2, "OK", "3100,3", 1),
        (2, 2, "Mia", "Ødegård", "1650,5", "OK", 4, "OK", "3150,8", 2),
        (3, None, "Ida", "Berg", "1400,2", "OK", 1, "OK", "4551,0", 1)]),
    ("Halden 1", "Halden SK", 820, [
        (1, None, "Siv", "Holm", "1490,0", "OK", 1, "OK", "1490,0", 1),
        (2, 1, "Eva", "Sæther", "1700,0", "MissingPunch", None, "MissingPunch", None, None),
        (2, 2, "Tone", "Ås", "1580,0", "OK", 1, "OK", "3070,0", 1),
        (3, None, "Liv", "Dahl", "1420,0", "OK", 2, "MissingPunch", None, None)]),
    ("Bækkelaget 1", "Bækkelagets SK", 830, [
        (1, None, "Hilde", "Moe", "1510,0", "OK", 3, "OK", "1510,0", 3),
        (2, 1, "Rut", "Moe", "1620,0", "OK", 3, "OK", "3130,0", 2),
        (2, 2, None, None, None, "DidNotStart", None, "DidNotFinish", None, None),
        (3, None, None, None, None, "DidNotStart", None, "DidNotFinish", None, None)]),
]


def oe_parallel_result_list() -> bytes:
    """PARALLEL as an OE-style program writes it (no namespace, windows-1252, decimal commas, clock
    times in whole seconds): empty positions as the IOF example lists them, without a person."""
    teams = []
    for bib, (name, club, card, positions) in enumerate(PARALLEL, 1):
        members, start, finishes = [], MASS, []
        for leg, order, given, family, t, status, place, ov_status, ov_time, ov_place in positions:
            if leg == 3 and finishes:
                start = max(finishes)  # both leg-2 runners in: the changeover
            parts = ["<TeamMemberResult>"]
            if given is not None:
                parts.append(f"<Person><Name><Family>{family}</Family><Given>{given}</Given></Name></Person>"
                             f"<Organisation><Name>{club}</Name></Organisation>")
            parts.append(f"<Result><Leg>{leg}</Leg>" + (f"<LegOrder>{order}</LegOrder>" if order else ""))
            if t is not None:
                finish = start + timedelta(seconds=float(t.replace(",", ".")))
                if leg == 2:
                    finishes.append(finish)
                parts.append(f"<StartTime>{_clock(start)}</StartTime><FinishTime>{_clock(finish)}</FinishTime>"
                             f"<Time>{t}</Time>")
            if place is not None:
                parts.append(f'<Position type="Leg">{place}</Position>')
            parts.append(f"<Status>{status}</Status><OverallResult>" + (f"<Time>{ov_time}</Time>" if ov_time else "")
                         + (f"<Position>{ov_place}</Position>" if ov_place else "") + f"<Status>{ov_status}</Status>"
                         "</OverallResult>")
            if given is not None:
                parts.append(f"<ControlCard>{card + leg * 10 + (order or 1)}</ControlCard>")
            parts.append("</Result></TeamMemberResult>")
            members.append("".join(parts))
            if leg == 1 and t is not None:
                start = finish
        teams.append(f"<TeamResult><Name>{name}</Name><Organisation><Name>{club}</Name></Organisation>"
                     f"<BibNumber>{bib}</BibNumber>{''.join(members)}</TeamResult>")
    text = ('<?xml version="1.0"?>\n<ResultList iofVersion="3.0" creator="OE2010">\n'
            "<Event><Name>Stafettløpet</Name><StartTime><Date>2026-06-06</Date></StartTime></Event>\n"
            '<ClassResult timeResolution="0.1"><Class><Name>D21 stafett</Name><Leg/>'
            '<Leg minNumberOfCompetitors="2" maxNumberOfCompetitors="2"/><Leg/></Class>\n'
            + "\n".join(teams) + "\n</ClassResult>\n</ResultList>\n")
    return text.encode("cp1252")


def test_a_relay_with_a_parallel_leg_and_empty_positions_round_trips(db, db_path, tmp_path):
    Event.create(name="Stafettløpet", timezone="Europe/Oslo", time_resolution=0.1)
    source_bytes = oe_parallel_result_list()
    source = iof_relay.read_team_results(source_bytes, tz=OSLO)
    expected = positions_of(source)
    assert len(expected) == 12 and expected[("Bækkelaget 1", 2, 2)][:2] == (None, "DidNotStart")
    f = tmp_path / "parallel.xml"
    f.write_bytes(source_bytes)
    run = run_job(db, db_path, "import-results", {"file": str(f)})
    assert run.status == "succeeded", run.error
    log = log_text(db, run)
    assert "class D21 stafett: 3 legs (runners per leg 1, 2, 1)" in log
    assert "class D21 stafett leg 2: the last of the parallel runners changes over" in log
    assert "runners: 10 created" in log  # the empty positions are nobody
    assert TeamResult.select().join(Team).where(Team.name == "Bækkelaget 1").get().status == "DidNotFinish"

    xml = relay_xml(db, db_path, "relay xml")
    assert positions_of(iof_relay.read_team_results(xml, tz=OSLO)) == expected
    log, again = reimported(db, db_path, tmp_path, xml)
    assert "team places as the file: 1 of 1 agree at 0.1 s resolution" in log
    assert "class D21 stafett leg 2: the last of the parallel runners changes over" in log
    assert positions_of(iof_relay.read_team_results(again, tz=OSLO)) == expected
