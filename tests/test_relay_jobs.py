"""Relay jobs on a real database: official relay examples, a generated 3-leg relay with forking
timed from readouts (hand-computed changeovers and results), lists validated against IOF.xsd,
re-imports that change nothing, bad input that changes nothing."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from iof_util import XSD, needs_iof

from t4o_tui.engine.runs import run_log
from t4o_tui.jobs.timing_data import insert_station_data, station_id
from t4o_tui.orienteering.iof_write import validate
from t4o_tui.orienteering.punch_check import CardData, Punch
from t4o_tui.store.models import Artifact

from conftest import iof_examples, run_job

pytestmark = needs_iof

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC).timestamp()
CODES = {"A": ["31", "32", "33"], "B": ["34", "35", "36"], "C": ["37", "38", "39"]}
COURSES = b"""<?xml version="1.0" encoding="UTF-8"?>
<CourseData xmlns="http://www.orienteering.org/datastandard/3.0" iofVersion="3.0" createTime="2026-01-01T10:00:00Z" creator="x">
  <Event><Name>Relay day</Name><StartTime><Date>2026-06-01</Date><Time>10:00:00Z</Time></StartTime></Event>
  <RaceCourseData>
""" + b"".join(
    f"""<Course><Name>{name}</Name><CourseFamily>Relay</CourseFamily><Length>3000</Length>
      <CourseControl type="Start"><Control>S1</Control></CourseControl>
      {''.join(f'<CourseControl><Control>{c}</Control></CourseControl>' for c in codes)}
      <CourseControl type="Finish"><Control>F1</Control></CourseControl></Course>""".encode()
    for name, codes in CODES.items()) + b"</RaceCourseData></CourseData>"

TEAMS_CSV = """TEAM NAME;CLASS NAME;ORGANISATION NAME;LEG;PERSON NAME;CARD NO
Alpha;H21;OK Alpha;1;Ann Alpha;1001
Alpha;H21;OK Alpha;2;Ben Alpha;1002
Alpha;H21;OK Alpha;3;Cat Alpha;1003
Bravo;H21;OK Bravo;1;Dan Bravo;2001
Bravo;H21;OK Bravo;2;Eva Bravo;2002
Bravo;H21;OK Bravo;3;Fay Bravo;2003
Charlie;H21;OK Charlie;1;Gus Charlie;3001
Charlie;H21;IL Other;2;Hal Charlie;3002
Charlie;H21;OK Charlie;3;Ida Charlie;3003
"""


def dump(db_path: Path) -> list[tuple]:
    """Every table an import writes, in full."""
    conn = sqlite3.connect(db_path)
    try:
        out = []
        for table in ("class", "relay_leg", "relay_leg_course", "team", "team_organisation", "team_member", "entry",
                      "person", "person_identifier", "card", "entry_card", "organisation", "course", "control"):
            out.append((table, conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()))
        return out
    finally:
        conn.close()


def output(run) -> Path:
    """The file a run wrote (its one artifact)."""
    [a] = Artifact.select().where(Artifact.run == run.id)
    return Path(a.path)


def log_text(db, run) -> str:
    return "\n".join(line.message for line in run_log(db, run.id))


def build(db, db_path: Path, tmp_path: Path) -> None:
    f = tmp_path / "courses.xml"
    f.write_bytes(COURSES)
    run = run_job(db, db_path, "import-relay-entries", {"file": str(f)}, name="courses")
    assert run.status == "succeeded", run.error
    teams = tmp_path / "teams.csv"
    teams.write_text(TEAMS_CSV, encoding="utf-8")
    run = run_job(db, db_path, "import-relay-entries", {"file": str(teams)}, name="teams")
    assert run.status == "succeeded", run.error
    run = run_job(db, db_path, "prepare-relay", {
        "classes": ["H21"], "legs": 3, "leg_courses": "1=A,B,C; 2=A,B,C; 3=A,B,C",
        "mass_start": "2026-06-01T10:00:00+00:00", "restart": "2026-06-01T11:30:00+00:00"})
    assert run.status == "succeeded", run.error


def test_import_twice_changes_nothing(db, db_path, tmp_path):
    build(db, db_path, tmp_path)
    before = dump(db_path)
    run = run_job(db, db_path, "import-relay-entries", {"file": str(tmp_path / "teams.csv")}, name="teams")
    assert run.status == "succeeded", run.error
    assert "teams: 0 created, 0 updated, 3 unchanged; runners: 0 created, 0 updated" in log_text(db, run)
    assert dump(db_path) == before
    conn = sqlite3.connect(db_path)
    # Charlie is a combination team: both clubs on the team, each runner with their own.
    clubs = conn.execute("SELECT o.name FROM team_organisation x JOIN organisation o ON o.id = x.organisation_id "
                         "JOIN team t ON t.id = x.team_id WHERE t.name='Charlie' ORDER BY x.seq").fetchall()
    assert clubs == [("OK Charlie",), ("IL Other",)]


def test_forking_is_fair_and_bibs_given(db, db_path, tmp_path):
    build(db, db_path, tmp_path)
    conn = sqlite3.connect(db_path)
    rows = conn.execute("SELECT t.bib, t.name, m.leg, c.name FROM team_member m JOIN team t ON t.id = m.team_id "
                        "JOIN course c ON c.id = m.course_id ORDER BY CAST(t.bib AS INTEGER), m.leg").fetchall()
    keys = {}
    for bib, name, _leg, course in rows:
        keys.setdefault((bib, name), []).append(course)
    # Teams numbered by name; cyclic keys: each team runs A, B, C once, each leg sees each course once.
    assert keys == {("1", "Alpha"): ["A", "B", "C"], ("2", "Bravo"): ["B", "C", "A"], ("3", "Charlie"): ["C", "A", "B"]}
    assert conn.execute("SELECT DISTINCT e.bib FROM entry e JOIN team_member m ON m.entry_id = e.id "
                        "JOIN team t ON t.id = m.team_id WHERE t.name='Bravo'").fetchall() == [("2",)]


def readout(conn, race_id: int, card: str, course: str, start: float, finish: float, *, skip: str | None = None) -> None:
    codes = [c for c in CODES[course] if c != skip]
    step = (finish - start) / (len(CODES[course]) + 1)
    punches = tuple(Punch(c, T0 + start + step * (i + 1)) for i, c in enumerate(codes))
    insert_station_data(conn, race_id=race_id, station=station_id(conn, "readout"), card=card, bib=None,
                        read_at=T0 + finish + 60, card_data=CardData(punches=punches, finish=Punch("F", T0 + finish)),
                        source="test", dedupe_key=f"{card}", now=T0 + finish + 60)


def test_timing_changeovers_restart_mp_and_lists(db, db_path, tmp_path):
    build(db, db_path, tmp_path)
    conn = sqlite3.connect(db_path, isolation_level=None)
    race_id = conn.execute("SELECT id FROM race").fetchone()[0]
    conn.execute("BEGIN")
    # Alpha (A, B, C): in at 1800, 3700, 5500 -> 5500.
    readout(conn, race_id, "1001", "A", 0, 1800)
    readout(conn, race_id, "1002", "B", 1800, 3700)
    readout(conn, race_id, "1003", "C", 3700, 5500)
    # Bravo (B, C, A): leg 2 misses 38 -> team MP; leg 3 still changes over at 3600, in at 5300.
    readout(conn, race_id, "2001", "B", 0, 1750)
    readout(conn, race_id, "2002", "C", 1750, 3600, skip="38")
    readout(conn, race_id, "2003", "A", 3600, 5300)
    # Charlie (C, A, B): leg 2 in at 5600, after the 5400 restart: leg 3 left at 5400, in at 7000.
    readout(conn, race_id, "3001", "C", 0, 1900)
    readout(conn, race_id, "3002", "A", 1900, 5600)
    readout(conn, race_id, "3003", "B", 5400, 7000)
    conn.execute("COMMIT")
    run = run_job(db, db_path, "process-station-data", {})
    assert run.status == "succeeded", run.error
    assert "relay: 3 teams timed: 2 OK, 1 MissingPunch" in log_text(db, run)
    teams = {n: (s, t) for n, s, t in conn.execute(
        "SELECT t.name, r.status, r.time FROM team_result r JOIN team t ON t.id = r.team_id")}
    # Charlie: 1900 + 3700 + 1600 (from the restart) = 7200.
    assert teams == {"Alpha": ("OK", 5500), "Bravo": ("MissingPunch", None), "Charlie": ("OK", 7200)}
    legs = {(n, leg): (s, st - T0 if st else None, t) for n, leg, s, st, t in conn.execute(
        "SELECT t.name, m.leg, r.status, r.start_time, r.time FROM result r JOIN team_member m ON m.entry_id = r.entry_id "
        "JOIN team t ON t.id = m.team_id")}
    assert legs[("Alpha", 2)] == ("OK", 1800, 1900)
    assert legs[("Bravo", 2)][0] == "MissingPunch" and legs[("Bravo", 3)] == ("OK", 3600, 1700)
    assert legs[("Charlie", 3)] == ("OK", 5400, 1600)
    cols = "SELECT entry_id, status, start_time, finish_time, time, splits, missing, station_data_id FROM result ORDER BY 1"
    snapshot = conn.execute(cols).fetchall()
    teams_snapshot = conn.execute("SELECT team_id, status, start_time, finish_time, time, legs FROM team_result ORDER BY 1").fetchall()
    conn.execute("DELETE FROM result")
    conn.execute("DELETE FROM team_result")
    assert run_job(db, db_path, "process-station-data", {"all": True}, name="again").status == "succeeded"
    assert conn.execute(cols).fetchall() == snapshot
    assert conn.execute("SELECT team_id, status, start_time, finish_time, time, legs FROM team_result ORDER BY 1").fetchall() == teams_snapshot

    xml = run_job(db, db_path, "relay-list", {"format": "iof-xml"}, name="xml")
    assert xml.status == "succeeded", xml.error
    data = output(xml).read_bytes()
    assert validate(data, XSD) == []
    assert data.count(b"<TeamResult>") == 3 and b'<Position type="Leg">' in data and b"<OverallResult>" in data
    html = run_job(db, db_path, "relay-list", {"format": "html"}, name="html")
    assert html.status == "succeeded", html.error
    text = output(html).read_text()
    assert "changeover 1→2" in text and "Alpha" in text and "restart" in text
    csv = run_job(db, db_path, "relay-list", {"format": "csv"}, name="csv")
    assert csv.status == "succeeded", csv.error
    lines = output(csv).read_text(encoding="utf-8-sig").splitlines()
    assert lines[1].startswith("H21;1;1;Alpha;OK Alpha;1:31:40;OK;1;Ann Alpha;30:00;2;OK;10:30:00;2;30:00")
    starts = run_job(db, db_path, "relay-list", {"format": "iof-xml", "list": "starts"}, name="sxml")
    assert starts.status == "succeeded", starts.error
    assert validate(output(starts).read_bytes(), XSD) == []


def test_bad_team_input_changes_nothing(db, db_path, tmp_path):
    build(db, db_path, tmp_path)
    before = dump(db_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("TEAM NAME;CLASS NAME;LEG;PERSON NAME;CARD NO\nDelta;H21;1;Jo Delta;4001\nDelta;H21;4;Ky Delta;4004\n",
                   encoding="utf-8")
    run = run_job(db, db_path, "import-relay-entries", {"file": str(bad)}, name="bad")
    assert run.status == "failed"
    assert "team 'Delta' from line 2: leg 4 (line 3) but class 'H21' has 3 legs" in run.error
    assert dump(db_path) == before
    bad.write_text("TEAM NAME;CLASS NAME;LEG;PERSON NAME;CARD NO\nEcho;H21;1;Al Echo;5001\nEcho;H21;2;Bo Echo;5001\n",
                   encoding="utf-8")
    run = run_job(db, db_path, "import-relay-entries", {"file": str(bad)}, name="bad")
    assert run.status == "failed"
    assert "team 'Echo' from line 2 leg 2 (line 3): card 5001 is already used on leg 1 of the team" in run.error
    assert dump(db_path) == before
    bad.write_text("TEAM NAME;CLASS NAME;LEG;PERSON NAME\nFox;H21;x;Al Fox\n", encoding="utf-8")
    run = run_job(db, db_path, "import-relay-entries", {"file": str(bad)}, name="bad")
    assert run.status == "failed" and "line 2, column LEG" in run.error
    assert dump(db_path) == before


def test_official_relay_examples(db, db_path, tmp_path):
    ex = iof_examples()
    for name in ("ClassList_Relay_Step1.xml", "CourseData_Relay_Step2.xml", "StartList_Relay_Step3.xml",
                 "CourseData_Relay_Step4.xml"):
        run = run_job(db, db_path, "import-relay-entries", {"file": str(ex / name)}, name=name)
        assert run.status == "succeeded", (name, run.error)
        assert "relay forking is not imported" not in log_text(db, run)
    conn = sqlite3.connect(db_path)
    legs = conn.execute("SELECT c.name, l.leg, l.runners, group_concat(co.name) FROM relay_leg l JOIN class c ON c.id = l.class_id "
                        "LEFT JOIN relay_leg_course lc ON lc.relay_leg_id = l.id LEFT JOIN course co ON co.id = lc.course_id "
                        "GROUP BY l.id ORDER BY c.name, l.leg").fetchall()
    assert [(c, leg, r, ",".join(sorted((x or "").split(",")))) for c, leg, r, x in legs] == [
        ("Men Open", 1, 1, "A,B"), ("Men Open", 2, 3, "C"), ("Men Open", 3, 1, "A,B"),
        ("Women Open", 1, 1, "A,B"), ("Women Open", 2, 3, "C"), ("Women Open", 3, 1, "A,B")]
    members = conn.execute(
        "SELECT t.bib, m.leg, m.leg_order, p.family, co.name FROM team_member m JOIN team t ON t.id = m.team_id "
        "LEFT JOIN entry e ON e.id = m.entry_id LEFT JOIN person p ON p.id = e.person_id "
        "LEFT JOIN course co ON co.id = m.course_id ORDER BY t.bib, m.leg, m.leg_order").fetchall()
    assert members == [
        ("1", 1, 1, "Reid", "A"), ("1", 2, 1, "Fisher", "C"), ("1", 2, 2, "Collins", "C"), ("1", 2, 3, "Hall", "C"),
        ("1", 3, 1, "Jenkins", "B"),
        ("2", 1, 1, "Parker", "B"), ("2", 2, 1, "Simmons", "C"), ("2", 2, 2, None, "C"), ("2", 2, 3, None, "C"),
        ("2", 3, 1, None, "A")]
    start = conn.execute("SELECT first_start FROM class WHERE name='Men Open'").fetchone()[0]
    assert start == datetime(2011, 7, 31, 13, 0, tzinfo=UTC).timestamp()  # 14:00+01:00 from the StartList
    # Every team's leg 1 starts then: the class's mass start, not a start time per runner.
    assert conn.execute("SELECT count(*) FROM team_member WHERE start_time IS NOT NULL").fetchone()[0] == 0
    prep = run_job(db, db_path, "prepare-relay", {"classes": ["Men Open"], "forking": "keep"}, name="prep")
    assert prep.status == "succeeded", prep.error
    log = log_text(db, prep)
    # The file's forking gives every team its courses: no "no course" warning; the empty leg is said.
    assert "no course" not in log and "(bib 2) leg 3: no runner" in log
    before = dump(db_path)
    for name in ("StartList_Relay_Step3.xml", "CourseData_Relay_Step4.xml"):
        run = run_job(db, db_path, "import-relay-entries", {"file": str(ex / name)}, name=name)
        assert run.status == "succeeded", (name, run.error)
    assert dump(db_path) == before


def test_test_timing_plays_the_relay_leg_by_leg(db, db_path, tmp_path):
    build(db, db_path, tmp_path)
    sim = run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": 100, "seed": 4,
                                               "missing_probability": 0.0})
    assert sim.status == "succeeded", sim.error
    assert run_job(db, db_path, "process-station-data", {}).status == "succeeded"
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM station_data").fetchone()[0] == 9
    restart = datetime(2026, 6, 1, 11, 30, tzinfo=UTC).timestamp()
    rows = conn.execute("SELECT t.name, m.leg, r.status, r.start_time, r.finish_time FROM result r "
                        "JOIN team_member m ON m.entry_id = r.entry_id JOIN team t ON t.id = m.team_id "
                        "ORDER BY t.name, m.leg").fetchall()
    by_team: dict[str, list[tuple]] = {}
    for name, leg, status, start, finish in rows:
        by_team.setdefault(name, []).append((leg, status, start, finish))
    for legs in by_team.values():
        assert [x[1] for x in legs] == ["OK", "OK", "OK"]
        assert legs[0][2] == T0  # the mass start
        for prev, cur in zip(legs, legs[1:], strict=False):
            assert cur[2] == min(prev[3], restart)  # changeover, or the restart when that came first
    ok = conn.execute("SELECT count(*) FROM team_result WHERE status='OK'").fetchone()[0]
    assert ok == 3


def test_tui_results_show_teams_with_their_legs(db, db_path, tmp_path):
    from t4o_tui.tui.screens.results import load_results

    build(db, db_path, tmp_path)
    conn = sqlite3.connect(db_path, isolation_level=None)
    race_id = conn.execute("SELECT id FROM race").fetchone()[0]
    conn.execute("BEGIN")
    readout(conn, race_id, "1001", "A", 0, 1800)
    readout(conn, race_id, "1002", "B", 1800, 3700)
    readout(conn, race_id, "1003", "C", 3700, 5500)
    readout(conn, race_id, "2001", "B", 0, 1750)
    conn.execute("COMMIT")
    assert run_job(db, db_path, "process-station-data", {}).status == "succeeded"
    class_id = conn.execute("SELECT id FROM class WHERE name='H21'").fetchone()[0]
    data = load_results(db, None, class_id, T0 + 7200)
    rows = [r[1:] for r in data.rows]
    assert rows[0] == ("1.", "1", "Alpha", "OK Alpha", "1:31:40", "", "OK")
    # Leg rows: runner, changeover clock time, leg time (leg place), place after the leg.
    assert rows[1] == ("", "  1", "  Ann Alpha", "10:30:00", "30:00 (2.)", "→ 2.", "OK")
    assert rows[3] == ("", "  3", "  Cat Alpha", "11:31:40", "30:00 (1.)", "→ 1.", "OK")
    bravo = rows[4:8]
    # Leg 2 went out at Bravo's changeover: on the course, no place yet.
    assert bravo[0] == ("", "2", "Bravo", "OK Bravo", "", "", "Started")
    assert bravo[2] == ("", "  2", "  Eva Bravo", "", "", "", "Started")
    assert bravo[1] == ("", "  1", "  Dan Bravo", "10:29:10", "29:10 (1.)", "→ 1.", "OK")


def test_parallel_runners_and_legs_without_course(db, db_path, tmp_path):
    f = tmp_path / "courses.xml"
    f.write_bytes(COURSES)
    assert run_job(db, db_path, "import-relay-entries", {"file": str(f)}, name="courses").status == "succeeded"
    teams = tmp_path / "teams.csv"
    teams.write_text("TEAM NAME;CLASS NAME;LEG;PERSON NAME;CARD NO\nMix;Open;1;Al Mix;7001\nMix;Open;2a;Bo Mix;7002\n"
                     "Mix;Open;2b;Cy Mix;7003\nMix;Open;3;Di Mix;7004\n", encoding="utf-8")
    run = run_job(db, db_path, "import-relay-entries", {"file": str(teams)}, name="teams")
    assert run.status == "succeeded", run.error
    log = log_text(db, run)
    # Legs from the file (leg 2 with two runners); no course for any leg yet: said per leg.
    assert "class Open: 3 legs (runners per leg 1, 2, 1)" in log
    assert "class 'Open' leg 2: no course yet for 1 teams" in log
    before = dump(db_path)
    bad = run_job(db, db_path, "prepare-relay", {"classes": ["Open"], "leg_runners": "2=1"}, name="bad")
    assert bad.status == "failed" and "class 'Open' leg 2: teams have 2 runners on it, more than 1" in bad.error
    assert dump(db_path) == before
    bad = run_job(db, db_path, "prepare-relay", {"classes": ["Open"], "leg_courses": "4=A"}, name="bad")
    assert bad.status == "failed" and "class 'Open' leg 4: the class has 3 legs" in bad.error
    assert dump(db_path) == before
    ok = run_job(db, db_path, "prepare-relay", {"classes": ["Open"], "leg_courses": "1=A; 2=B,C; 3=A", "parallel": "first",
                                                "leg_max_time": 3600}, name="ok")
    assert ok.status == "succeeded", ok.error
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT leg, runners, parallel, max_time FROM relay_leg ORDER BY leg").fetchall() == [
        (1, 1, "first", 3600.0), (2, 2, "first", 3600.0), (3, 1, "first", 3600.0)]
    # The two parallel runners of leg 2 run B and C (one each).
    assert sorted(r[0] for r in conn.execute("SELECT c.name FROM team_member m JOIN course c ON c.id = m.course_id "
                                            "WHERE m.leg = 2")) == ["B", "C"]


TEAM_ENTRY_LIST = """<?xml version="1.0" encoding="UTF-8"?>
<EntryList xmlns="http://www.orienteering.org/datastandard/3.0" iofVersion="3.0" createTime="2026-01-01T10:00:00Z" creator="x">
  <Event><Name>Relay</Name><Class><Name>H21</Name><Leg/><Leg/></Class></Event>
  <TeamEntry><Id>T1</Id><Name>OK Linne 1</Name><Organisation><Name>OK Linne</Name></Organisation>
    <TeamEntryPerson><Person><Id>11</Id><Name><Family>Berg</Family><Given>Ola</Given></Name></Person><Leg>1</Leg>
      <ControlCard>101</ControlCard></TeamEntryPerson>
    <TeamEntryPerson><Person><Id>12</Id><Name><Family>Dahl</Family><Given>Kari</Given></Name></Person><Leg>{leg}</Leg>
      <ControlCard>102</ControlCard></TeamEntryPerson>
    <Class><Name>H21</Name></Class></TeamEntry>
</EntryList>"""


def test_team_entry_list_twice_and_a_leg_too_many(db, db_path, tmp_path):
    f = tmp_path / "entries.xml"
    f.write_text(TEAM_ENTRY_LIST.format(leg=2), encoding="utf-8")
    run = run_job(db, db_path, "import-relay-entries", {"file": str(f)})
    assert run.status == "succeeded", run.error
    before = dump(db_path)
    run = run_job(db, db_path, "import-relay-entries", {"file": str(f)})
    assert run.status == "succeeded" and "teams: 0 created, 0 updated, 1 unchanged" in log_text(db, run)
    assert dump(db_path) == before
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT identifier, identifier_type FROM team").fetchall() == [("T1", "IOF")]
    assert conn.execute("SELECT count(*) FROM person_identifier").fetchone()[0] == 2
    # The class declares 2 legs: a third is refused, naming the team and the leg; nothing changes.
    f.write_text(TEAM_ENTRY_LIST.format(leg=3), encoding="utf-8")
    run = run_job(db, db_path, "import-relay-entries", {"file": str(f)})
    assert run.status == "failed"
    assert "team 'OK Linne 1' from line 4: leg 3 (line 7) but class 'H21' has 2 legs; nothing was changed" in run.error
    assert dump(db_path) == before


def test_individual_jobs_leave_relay_classes_to_the_relay_jobs(db, db_path, tmp_path):
    """Create Starts, the draw and the start/result lists of individual classes leave a relay class
    out, and refuse it by name (its runners were ranked by leg time as individuals)."""
    build(db, db_path, tmp_path)
    starts_before = sqlite3.connect(db_path).execute("SELECT count(*) FROM start").fetchone()[0]
    made = run_job(db, db_path, "create-starts", {}, name="all starts")
    assert made.status == "succeeded", made.error
    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM start").fetchone()[0] == starts_before
    listed = run_job(db, db_path, "result-list", {"format": "csv"}, name="individual results")
    assert listed.status == "succeeded", listed.error
    assert "H21" not in output(listed).read_text(encoding="utf-8-sig")
    named = run_job(db, db_path, "result-list", {"format": "csv", "classes": ["H21"]}, name="named relay")
    assert named.status == "failed"
    assert named.error == "setting 'classes': H21 is a relay class: its starts and results come from Prepare Relay and Relay List"


def test_relay_list_xml_parallel_runners_own_standings_and_empty_positions(db, db_path, tmp_path):
    """Timed from readouts: leg 2 run by two runners in parallel (the first one in changes over);
    Duo has one runner on leg 2 and nobody on leg 3. The IOF ResultList gives each parallel runner
    their own leg place and standing (the team after leg 1 plus the runner, as the IOF example),
    and lists Duo's empty leg 3 without a person (DidNotStart, the team DidNotFinish)."""
    from t4o_tui.orienteering import iof_relay

    f = tmp_path / "courses.xml"
    f.write_bytes(COURSES)
    assert run_job(db, db_path, "import-relay-entries", {"file": str(f)}, name="courses").status == "succeeded"
    teams = tmp_path / "teams.csv"
    teams.write_text("TEAM NAME;CLASS NAME;LEG;PERSON NAME;CARD NO\nMix;Open;1;Al Mix;7001\nMix;Open;2a;Bo Mix;7002\n"
                     "Mix;Open;2b;Cy Mix;7003\nMix;Open;3;Di Mix;7004\nDuo;Open;1;Ed Duo;8001\nDuo;Open;2a;Fi Duo;8002\n",
                     encoding="utf-8")
    assert run_job(db, db_path, "import-relay-entries", {"file": str(teams)}, name="teams").status == "succeeded"
    run = run_job(db, db_path, "prepare-relay", {"classes": ["Open"], "leg_courses": "1=A; 2=B,C; 3=A",
                                                 "parallel": "first", "mass_start": "2026-06-01T10:00:00+00:00"})
    assert run.status == "succeeded", run.error
    conn = sqlite3.connect(db_path, isolation_level=None)
    race_id = conn.execute("SELECT id FROM race").fetchone()[0]
    course = dict(conn.execute("SELECT cd.number, co.name FROM team_member m JOIN entry_card ec ON ec.entry_id = m.entry_id "
                               "JOIN card cd ON cd.id = ec.card_id JOIN course co ON co.id = m.course_id").fetchall())
    course = {str(k): v for k, v in course.items()}
    conn.execute("BEGIN")
    # Mix: leg 1 in at 1800; Bo 1900 s and Cy 1700 s from 1800: Cy changes over at 3500; Di in at 5300.
    for card, start, finish in (("7001", 0, 1800), ("7002", 1800, 3700), ("7003", 1800, 3500), ("7004", 3500, 5300),
                                ("8001", 0, 1700), ("8002", 1700, 3800)):
        readout(conn, race_id, card, course[card], start, finish)
    conn.execute("COMMIT")
    run = run_job(db, db_path, "process-station-data", {})
    assert run.status == "succeeded", run.error
    xml = run_job(db, db_path, "relay-list", {"format": "iof-xml"}, name="xml")
    assert xml.status == "succeeded", xml.error
    data = output(xml).read_bytes()
    assert validate(data, XSD) == []
    doc = iof_relay.read_team_results(data)
    got = {(t.name, m.leg, m.leg_order): (m.person.name if m.person else None, m.status, m.time, m.position,
                                           m.overall.status, m.overall.time, m.overall.position)
           for t in doc.teams for m in t.members}
    assert got == {
        ("Mix", 1, None): ("Al Mix", "OK", 1800.0, 2, "OK", 1800.0, 2),
        # Leg places among the leg's three runners; standings: 1800 + the runner's own time.
        ("Mix", 2, 1): ("Bo Mix", "OK", 1900.0, 2, "OK", 3700.0, 1),
        ("Mix", 2, 2): ("Cy Mix", "OK", 1700.0, 1, "OK", 3500.0, 1),
        ("Mix", 3, None): ("Di Mix", "OK", 1800.0, 1, "OK", 5300.0, 1),
        ("Duo", 1, None): ("Ed Duo", "OK", 1700.0, 1, "OK", 1700.0, 1),
        ("Duo", 2, 1): ("Fi Duo", "OK", 2100.0, 3, "OK", 3800.0, 2),
        ("Duo", 3, None): (None, "DidNotStart", None, None, "DidNotFinish", None, None),
    }
    text = data.decode()
    assert text.count("<TeamMemberResult>") == 7 and "<TimeBehind>100</TimeBehind>" in text  # Duo 3800 vs Mix 3700
    # The empty position keeps what the team has there: its bib and the leg's course.
    duo = next(t for t in doc.teams if t.name == "Duo")
    empty = next(m for m in duo.members if m.leg == 3)
    assert (empty.bib, empty.course.name if empty.course else None, empty.splits) == (duo.bib, "A", ())
