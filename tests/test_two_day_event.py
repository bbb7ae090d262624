"""A whole two-day event prepared and run from the CLI only (real processes, no demo code): event
and races, classes from a ClassList, class timing by `class set`, courses, entries (IOF XML and a
CSV with HH:MM:SS starts), starts from class settings, the draw, cards, Test Timing, processing,
result lists per race, totals, the overdue check, and an anchored window that follows `race set`.
Every file the program writes is validated against IOF.xsd. Then bad input, each refused with a
one-line error naming the field and the database unchanged."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import peewee
import pytest
from iof_util import XSD, needs_iof

from t4o_tui.orienteering import iof

pytestmark = pytest.mark.slow  # real processes: `-m 'not slow'` leaves them out

OSLO = ZoneInfo("Europe/Oslo")
NS = 'xmlns="http://www.orienteering.org/datastandard/3.0" iofVersion="3.0" createTime="2026-05-01T12:00:00+02:00" creator="test"'
EVENT = """<Event><Name>Fjord Two Days</Name><StartTime><Date>2026-06-13</Date><Time>09:00:00+02:00</Time></StartTime>
  <Race><RaceNumber>1</RaceNumber><Name>Middle</Name><StartTime><Date>2026-06-13</Date><Time>09:00:00+02:00</Time></StartTime></Race>
  <Race><RaceNumber>2</RaceNumber><Name>Long</Name><StartTime><Date>2026-06-14</Date><Time>08:00:00+02:00</Time></StartTime></Race>
</Event>"""
H21 = ["Ola Nordmann", "Per Hansen", "Kari Lie", "Jon Berg", "Anders Dahl", "Lars Moe", "Nils Aas", "Odd Bakke"]
D21 = ["Ingrid Vik", "Siri Lund", "Marte Ruud", "Eva Holm", "Tone Strand", "Liv Foss"]
H50 = ["Arne Sand", "Bjorn Haug", "Geir Myhre"]
CLUBS = ["OK Fjord", "IL Berg", "Skog OL"]


def class_list() -> str:
    def cls(i: int, name: str, first: str | None) -> str:
        rc1 = f"<RaceClass raceNumber=\"1\"><FirstStart>{first}</FirstStart></RaceClass>" if first else "<RaceClass raceNumber=\"1\"/>"
        return f"<Class><Id>{i}</Id><Name>{name}</Name>{rc1}<RaceClass raceNumber=\"2\"/></Class>"

    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ClassList {NS}>'
            + cls(1, "H21", "2026-06-13T10:00:00+02:00") + cls(2, "D21", "2026-06-13T10:00:00+02:00")
            + cls(3, "H50", "2026-06-13T11:00:00+02:00") + "</ClassList>")


def course_data() -> str:
    controls = "".join(f'<Control type="{t}"><Id>{c}</Id></Control>'
                       for t, c in [("Start", "S1"), ("Finish", "F1")] + [("Control", str(n)) for n in range(31, 39)])

    def course(name: str, length: int, codes: list[int]) -> str:
        legs = "".join(f'<CourseControl type="Control"><Control>{c}</Control></CourseControl>' for c in codes)
        return (f'<Course><Name>{name}</Name><Length>{length}</Length><Climb>80</Climb>'
                f'<CourseControl type="Start"><Control>S1</Control></CourseControl>{legs}'
                f'<CourseControl type="Finish"><Control>F1</Control></CourseControl></Course>')

    assign = "".join(f"<ClassCourseAssignment><ClassName>{c}</ClassName><CourseName>{k}</CourseName></ClassCourseAssignment>"
                     for c, k in (("H21", "A"), ("D21", "B"), ("H50", "B")))
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<CourseData {NS}>{EVENT}<RaceCourseData>{controls}'
            f'{course("A", 5200, [31, 32, 33, 34, 35, 36])}{course("B", 3900, [31, 33, 35, 37, 38])}{assign}'
            '</RaceCourseData></CourseData>')


def entry_list() -> str:
    out = []
    for cls, names, base in (("H21", H21, 1), ("D21", D21, 100)):
        for k, full in enumerate(names):
            given, family = full.split()
            card = f"<ControlCard punchingSystem=\"SI\">{700000 + base + k}</ControlCard>" if k % 2 == 0 else ""
            out.append(f'<PersonEntry><Id>{base + k}</Id><Person sex="{"M" if cls == "H21" else "F"}"><Id type="NOR">{base + k}</Id>'
                       f"<Name><Family>{family}</Family><Given>{given}</Given></Name></Person>"
                       f"<Organisation><Name>{CLUBS[k % 3]}</Name></Organisation>{card}"
                       f"<Class><Name>{cls}</Name></Class><RaceNumber>1</RaceNumber><RaceNumber>2</RaceNumber></PersonEntry>")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<EntryList {NS}>{EVENT}{"".join(out)}</EntryList>'


def h50_csv() -> str:
    rows = ["ENTRY IDENTIFIER;PERSON FIRST NAME;PERSON LAST NAME;CLASS NAME;ORGANISATION NAME;BIB NO;START TIME"]
    for k, full in enumerate(H50):
        given, family = full.split()
        rows.append(f"h50-{k};{given};{family};H50;{CLUBS[k]};{501 + k};11:{k * 3:02d}:30")
    return "\n".join(rows) + "\n"


def at(day: str, clock: str) -> float:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=OSLO).timestamp()


class Event:
    """The CLI as a timing admin uses it, with the checks every step needs."""

    def __init__(self, cli: Callable[..., Any], db_path: Path, tmp_path: Path) -> None:
        self.cli, self.db_path, self.tmp = cli, db_path, tmp_path

    def ok(self, *args: str) -> str:
        res = self.cli(*args)
        assert res.returncode == 0, f"{args}: {res.stderr}"
        assert "Traceback" not in res.stderr
        return str(res.stdout)

    def fails(self, *args: str) -> str:
        res = self.cli(*args)
        assert res.returncode == 1, f"{args} should fail: {res.stdout}{res.stderr}"
        err = str(res.stderr).strip()
        assert err.startswith("t4o-tui: error: ") and "\n" not in err and "Traceback" not in err, err
        return err

    def file(self, name: str, text: str) -> str:
        p = self.tmp / name
        p.write_text(text, encoding="utf-8")
        return str(p)

    def task(self, name: str, job: str, **settings: object) -> None:
        self.ok("task", "add", name, "--job", job, *[x for k, v in settings.items() for x in ("--set", f"{k}={v}")])

    def run(self, task: str) -> tuple[int, str | None]:
        out = self.ok("run", task, "--wait")
        assert re.search(r"run \d+ succeeded", out), out
        run_id = int(re.search(r"run (\d+) succeeded", out).group(1))  # type: ignore[union-attr]
        m = re.search(r"\(file: (.+)\)", out)
        return run_id, m.group(1) if m else None

    def log(self, run_id: int) -> str:
        return self.ok("log", str(run_id))

    def sql(self, query: str, *args: object) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
        try:
            return conn.execute(query, args).fetchall()
        finally:
            conn.close()

    def valid_xml(self, path: str | None, root: str) -> bytes:
        assert path is not None
        xml = Path(path).read_bytes()
        assert f"<{root} ".encode() in xml
        assert iof.validate(xml, XSD) == [], path
        return xml


def prepare(ev: Event) -> dict[int, int]:
    """Event, races, classes, class timing, courses, entries: returns race id by number."""
    ev.ok("event", "set", "--name", "Fjord Two Days", "--timezone", "Europe/Oslo", "--organiser", "OK Fjord")
    ev.ok("race", "add", "Middle", "--date", "2026-06-13", "--first-start", "10:00", "--discipline", "middle")
    ev.ok("race", "add", "Long", "--date", "2026-06-14", "--first-start", "09:30", "--discipline", "long")
    races = {r["number"]: r["id"] for r in json.loads(ev.ok("race", "list", "--json"))}
    assert sorted(races) == [1, 2]

    for n in (1, 2):
        ev.task(f"classes {n}", "import-classes", file=ev.file("classes.xml", class_list()), race=n)
        ev.run(f"classes {n}")
        ev.task(f"courses {n}", "import-courses", file=ev.file("courses.xml", course_data()), race=n)
        ev.run(f"courses {n}")
        ev.task(f"entries {n}", "import-entries", file=ev.file("entries.xml", entry_list()), race=n)
        ev.run(f"entries {n}")
    # The admin's race data stood: the files' Event/Race said 09:00 and 08:00.
    listed = {r["number"]: r for r in json.loads(ev.ok("race", "list", "--json"))}
    assert listed[1]["first_start"] == "2026-06-13T10:00:00+02:00" and listed[1]["name"] == "Middle"
    assert listed[2]["first_start"] == "2026-06-14T09:30:00+02:00"
    # The ClassList's RaceClass first start filled race 1's classes (race 2's have none).
    c1 = {c["name"]: c for c in json.loads(ev.ok("class", "list", "--race", "1", "--json"))}
    assert c1["H50"]["first_start"] == "2026-06-13T11:00:00+02:00"
    assert c1["H21"]["course"] == "A" and c1["D21"]["course"] == "B" and c1["H21"]["entries"] == len(H21)
    c2 = {c["name"]: c for c in json.loads(ev.ok("class", "list", "--race", "Long", "--json"))}
    assert c2["H21"]["first_start"] is None

    # Class timing; H21 and D21 start in separate start boxes, so both begin at the first start.
    ev.ok("class", "set", "H21", "--race", "1", "--first-start", "10:00", "--start-interval", "2m", "--bib-start", "101",
          "--vacancies-after", "1", "--max-time", "2h", "--start-box", "Start 1", "--draw-method", "club-separation")
    ev.ok("class", "set", "D21", "--race", "1", "--first-start", "10:00", "--interval", "2m", "--bib-start", "201",
          "--vacancy-every", "3", "--max-time", "2h", "--start-box", "Start 2")
    ev.ok("class", "set", "H21", "--race", "2", "--first-start", "+0m", "--start-interval", "90s", "--bib-start", "101",
          "--max-time", "3h")
    ev.ok("class", "set", "D21", "--race", "2", "--first-start", "09:45", "--start-interval", "90s", "--bib-start", "201",
          "--max-time", "3h")
    out = json.loads(ev.ok("class", "set", "H50", "--race", "2", "--first-start", "10:30", "--interval", "1m",
                           "--bib-start", "501", "--max-time", "2h", "--json"))
    assert out[0]["first_start"] == "2026-06-14T10:30:00+02:00" and out[0]["race"] == 2

    # H50 runners of day 1 come from a CSV with their starts as HH:MM:SS: times on the race's day, in Oslo.
    ev.task("h50", "import-entries", file=ev.file("h50.csv", h50_csv()), race=1)
    ev.run("h50")
    starts = ev.sql("SELECT s.start_time FROM start s JOIN class c ON c.id = s.class_id WHERE c.name='H50' ORDER BY 1")
    assert [s for (s,) in starts] == [at("2026-06-13", f"11:{k * 3:02d}:30") for k in range(3)]
    return races


@needs_iof
def test_two_day_event_from_the_cli(cli: Callable[..., Any], db_path: Path, tmp_path: Path) -> None:
    ev = Event(cli, db_path, tmp_path)
    races = prepare(ev)
    check_window_follows_race(ev, races)  # before day 2 has station data: then its date is fixed

    # Starts from class settings, then the draw, in each race.
    for n in (1, 2):
        ev.task(f"starts {n}", "create-starts", race=n, classes="H21,D21")
        ev.run(f"starts {n}")
        ev.task(f"draw {n}", "assign-starts", race=n, seed=n)
        rid, _ = ev.run(f"draw {n}")
        assert "same-club neighbour" in ev.log(rid)
    h21 = ev.sql("SELECT s.bib, s.start_time, s.entry_id FROM start s JOIN class c ON c.id = s.class_id "
                 "WHERE c.name='H21' AND s.race_id=? ORDER BY s.start_time", races[1])
    # 8 runners + 1 vacancy after: bibs 101-109 every 2 minutes from 10:00, the last one vacant.
    assert [b for b, _, _ in h21] == [str(101 + k) for k in range(9)]
    assert [t for _, t, _ in h21] == [at("2026-06-13", "10:00:00") + 120 * k for k in range(9)]
    assert h21[-1][2] is None and all(e is not None for _, _, e in h21[:-1])
    d21 = [e for (e,) in ev.sql("SELECT s.entry_id FROM start s JOIN class c ON c.id = s.class_id WHERE c.name='D21' "
                                "AND s.race_id=? ORDER BY s.start_time", races[1])]
    # 6 runners, one vacancy after every 3: runner, runner, runner, vacant, runner, runner, runner.
    assert len(d21) == 7 and d21[3] is None and None not in d21[:3] + d21[4:]
    day2 = ev.sql("SELECT min(s.start_time) FROM start s JOIN class c ON c.id = s.class_id WHERE s.race_id=? "
                  "GROUP BY c.name ORDER BY c.name", races[2])
    assert [t for (t,) in day2] == [at("2026-06-14", "09:45:00"), at("2026-06-14", "09:30:00")]  # D21, H21

    for n in (1, 2):
        ev.task(f"start list {n}", "start-list", race=n, format="iof-xml")
        _, path = ev.run(f"start list {n}")
        ev.valid_xml(path, "StartList")

    # Cards: half the runners brought one; rental cards for the others, the same in both races.
    ev.task("rental", "import-cards", range_from=900001, range_to=900050, rental="true")
    ev.run("rental")
    entries = ev.sql("SELECT count(*) FROM entry WHERE status='entered'")[0][0]
    own = ev.sql("SELECT count(*) FROM entry e JOIN entry_card ec ON ec.entry_id = e.id")[0][0]
    assert (entries, own) == (2 * len(H21 + D21) + len(H50), 2 * 7)
    ev.task("cards", "assign-cards")
    rid, _ = ev.run("cards")
    assert f"{entries - own} rental SI cards assigned; {own} of {entries} entries already had a card" in ev.log(rid)
    # One card per person, used in both races: 4 H21 and 3 D21 runners without a card of their own, and H50.
    rental = ev.sql("SELECT count(DISTINCT c.number), count(DISTINCT e.person_id) FROM entry e "
                    "JOIN entry_card ec ON ec.entry_id = e.id JOIN card c ON c.id = ec.card_id WHERE c.rental = 1")
    assert rental == [(4 + 3 + len(H50), 4 + 3 + len(H50))]
    rid, _ = ev.run("cards")
    assert f"0 rental SI cards assigned; {entries} of {entries} entries already had a card" in ev.log(rid)

    # Both days run (Test Timing: a test event), processed, listed.
    for n in (1, 2):
        ev.task(f"sim {n}", "test-timing", race=n, test_event="true", results_per_run=100, missing_probability=0.25, seed=n)
        ev.run(f"sim {n}")
        ev.task(f"process {n}", "process-station-data", race=n)
        ev.run(f"process {n}")
        ev.task(f"results {n}", "result-list", race=n, format="iof-xml")
        _, path = ev.run(f"results {n}")
        xml = ev.valid_xml(path, "ResultList")
        assert b"<Position>1</Position>" in xml
    statuses = {s for (s,) in ev.sql("SELECT status FROM result")}
    assert "OK" in statuses and "MissingPunch" in statuses

    check_totals(ev, races)
    check_overdue(ev, races)
    assert "race 2 has" in ev.fails("race", "set", "2", "--date", "2026-06-20")  # punches were read on the 14th


def check_totals(ev: Event, races: dict[int, int]) -> None:
    ev.task("totals", "total-results", format="iof-xml")
    _, path = ev.run("totals")
    xml = ev.valid_xml(path, "ResultList")
    assert xml.count(b"<OverallResult>") == 2 * len(H21 + D21 + H50)
    assert b'raceNumber="2"' in xml
    ev.task("totals csv", "total-results", format="csv", classes="H21,H50")
    _, path = ev.run("totals csv")
    assert path is not None
    rows = list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8-sig")), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert header == ["Class", "Place", "Name", "Club", "Race 1", "Race 2", "Total", "Behind", "Status"]
    # Expected from the stage results in the database: the sum of whole seconds when both are OK,
    # else the worst status; H50 ran day 1 only, so none of them has a total.
    stage = {(name, race): (status, time) for name, race, status, time in ev.sql(
        "SELECT p.given || ' ' || p.family, e.race_id, r.status, r.time FROM entry e JOIN person p ON p.id = e.person_id "
        "LEFT JOIN result r ON r.entry_id = e.id")}
    worst = ["Disqualified", "MissingPunch", "DidNotFinish", "OverTime"]
    got = {r[2]: r for r in body}
    assert set(got) == set(H21 + H50)
    for name in H21:
        s1, s2 = stage[(name, races[1])], stage[(name, races[2])]
        row = got[name]
        if s1[0] == s2[0] == "OK":
            total = int(s1[1]) + int(s2[1])
            assert row[8] == "OK" and row[6] == f"{total // 60}:{total % 60:02d}" if total < 3600 else row[6].count(":") == 2
            assert row[1] != ""
        else:
            expected = min((s for s in (s1[0], s2[0]) if s in worst), key=worst.index)
            assert row[8] == expected and row[1] == "" and row[6] == ""
    for name in H50:
        assert got[name][8] == "DidNotEnter" and got[name][5] == "-"
    places = [int(r[1]) for r in body if r[0] == "H21" and r[1]]
    assert places == sorted(places) and (not places or places[0] == 1)
    ev.task("totals page", "total-results", races="1-2")
    _, path = ev.run("totals page")
    assert path is not None
    page = Path(path).read_text(encoding="utf-8")
    assert "Fjord Two Days — totals" in page and "1 Middle + 2 Long" in page
    assert all(f"<h2>{c} <small>" in page for c in ("D21", "H21", "H50")) and "<th class=\"num wide\">R2</th>" in page


def check_overdue(ev: Event, races: dict[int, int]) -> None:
    # A late entry on day 1: a start after the class's last one, drawn, and never back.
    late = ev.file("late.csv", "ENTRY IDENTIFIER;PERSON FIRST NAME;PERSON LAST NAME;CLASS NAME;ORGANISATION NAME\n"
                               "late-1;Sen Ankomst;Late;D21;OK Fjord\n")
    ev.task("late", "import-entries", file=late, race=1)
    ev.run("late")
    ev.run("starts 1")
    ev.run("draw 1")
    ev.ok("class", "set", "H50", "--race", "1", "--max-time", "")  # H50 has no max time on day 1
    ev.task("overdue 1", "overdue-check", race=1)
    rid, _ = ev.run("overdue 1")
    log = ev.log(rid)
    assert "OVERDUE: D21" in log and "Sen Ankomst Late" in log
    out = [line for line in log.splitlines() if "OVERDUE:" in line]
    assert len(out) == 1, out
    assert "1 classes have no max time and were not checked: H50" in log
    assert "t4o-tui class set CLASS --race 1 --max-time 2h" in log
    flagged = ev.sql("SELECT p.given FROM result r JOIN entry e ON e.id = r.entry_id JOIN person p ON p.id = e.person_id "
                     "WHERE r.overdue = 1")
    assert flagged == [("Sen Ankomst",)]
    ev.ok("class", "set", "H50", "--race", "1", "--max-time", "2h")
    rid, _ = ev.run("overdue 1")
    assert "no max time" not in ev.log(rid)


def check_window_follows_race(ev: Event, races: dict[int, int]) -> None:
    ev.task("live 2", "result-list", race=2, format="html")
    out = ev.ok("schedule", "add", "live 2", "--window", f"race.first_start:{races[2]}", "--from", "-30m", "--to", "+4h",
                "--every", "5m", "--tz", "Europe/Oslo")
    sid = int(re.search(r"schedule (\d+) added", out).group(1))  # type: ignore[union-attr]

    def window() -> tuple[float, float]:
        shown = json.loads(ev.ok("schedule", "show", str(sid), "--json"))
        return datetime.fromisoformat(shown["start"]).timestamp(), datetime.fromisoformat(shown["expiry"]).timestamp()

    assert window() == (at("2026-06-14", "09:00:00"), at("2026-06-14", "13:30:00"))
    ev.ok("race", "set", "2", "--first-start", "10:15")
    assert window() == (at("2026-06-14", "09:45:00"), at("2026-06-14", "14:15:00"))
    # A new date moves the race's times, and the window with them.
    ev.ok("race", "set", "Long", "--date", "2026-06-15")
    assert window() == (at("2026-06-15", "09:45:00"), at("2026-06-15", "14:15:00"))
    ev.ok("race", "set", "2", "--date", "2026-06-14", "--first-start", "09:30")
    assert window() == (at("2026-06-14", "09:00:00"), at("2026-06-14", "13:30:00"))
    # The class first starts moved with the date and back, on the wall clock.
    c2 = {c["name"]: c["first_start"] for c in json.loads(ev.ok("class", "list", "--race", "2", "--json"))}
    assert c2 == {"H21": "2026-06-14T09:30:00+02:00", "D21": "2026-06-14T09:45:00+02:00", "H50": "2026-06-14T10:30:00+02:00"}


@pytest.fixture
def prepared(cli: Callable[..., Any], db_path: Path, tmp_path: Path) -> Event:
    ev = Event(cli, db_path, tmp_path)
    ev.ok("event", "set", "--name", "E", "--timezone", "Europe/Oslo")
    ev.ok("race", "add", "Day 1", "--date", "2026-06-13", "--first-start", "10:00")
    ev.ok("race", "add", "Day 2", "--date", "2026-06-14", "--first-start", "10:00")
    ev.task("classes", "import-classes", file=ev.file("classes.xml", class_list()), race=1)
    ev.run("classes")
    ev.ok("class", "set", "D21", "--race", "1", "--bib-start", "200", "--vacancies", "5")
    return ev


def dump(db_path: Path) -> str:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return "\n".join(line for line in conn.iterdump() if not line.startswith(("INSERT INTO \"run", "INSERT INTO \"task")))
    finally:
        conn.close()


@needs_iof
def test_bad_setup_input_is_one_line_naming_the_field_and_changes_nothing(prepared: Event, db_path: Path) -> None:
    ev = prepared
    before = dump(db_path)
    cases = [
        (("class", "set", "H21", "--race", "7", "--start-interval", "2m"), "no race '7' (races: 1 Day 1, 2 Day 2)"),
        (("class", "set", "H22", "--race", "1", "--start-interval", "2m"), "no class 'H22' in race 1 (classes: D21, H21, H50)"),
        (("class", "set", "H21", "--start-interval", "2m"), "--race: the event has 2 races"),
        (("class", "set", "H21", "--race", "1", "--first-start", "2026-06-14T10:00"), "--first-start: 2026-06-14 10:00 is not on the race's date 2026-06-13"),
        (("class", "set", "H21", "--race", "1", "--start-interval", "-1m"), "--start-interval: must be more than 0"),
        (("class", "set", "H21", "--race", "1", "--bib-start", "202"), "--bib-start: bibs 202–202 of H21 overlap D21's 200–204"),
        (("class", "set", "H21", "H50", "--race", "1", "--bib-start", "300", "--max-time", "soon"), "--max-time: 'soon' is not a duration"),
        (("race", "set", "2", "--first-start", "2026-06-13T10:00"), "--first-start: 2026-06-13 10:00 is not on the race's date 2026-06-14"),
        (("race", "set", "3", "--name", "x"), "no race '3'"),
        (("race", "add", "Day 3", "--discipline", "marathon"), "--discipline: 'marathon' is not one of"),
        (("event", "set", "--timezone", "Oslo/Europe"), "--timezone: 'Oslo/Europe' is not an IANA time zone name"),
        (("task", "add", "bad race", "--job", "create-starts", "--set", "race=99"), "setting 'race': no race 99 (races: 1 Day 1, 2 Day 2)"),
        (("task", "add", "bad class", "--job", "create-starts", "--set", "race=1", "--set", "classes=H21,X9"), "setting 'classes': no class X9 in race 1"),
        (("task", "add", "bad totals", "--job", "total-results", "--set", "races=1,5"), "setting 'races': no race 5"),
    ]
    for args, expected in cases:
        err = ev.fails(*args)
        assert expected in err, (args, err)
    assert dump(db_path) == before
    # Saved tasks too: a setting naming a race that does not exist is refused when the task is changed.
    ev.task("starts", "create-starts", race=1)
    assert "setting 'race': no race 99" in ev.fails("task", "set", "starts", "race=99")
    assert json.loads(ev.ok("task", "show", "starts", "--json"))["settings"]["race"] == 1


@needs_iof
def test_time_without_a_date_on_a_race_without_one_says_how_to_set_it(prepared: Event, db_path: Path) -> None:
    ev = prepared
    ev.ok("race", "add", "Day 3")
    err = ev.fails("class", "set", "H21", "--race", "1", "--first-start", "25:00")
    assert "--first-start: '25:00' is not a time of day" in err
    ev.task("h50 day 3", "import-entries", file=ev.file("h50.csv", h50_csv()), race=3)
    res = ev.cli("run", "h50 day 3", "--wait")
    assert res.returncode == 1
    assert "the race has no date (set it with: t4o-tui race set 3 --date YYYY-MM-DD)" in res.stdout
    assert ev.sql("SELECT count(*) FROM entry WHERE race_id = (SELECT id FROM race WHERE race_number = 3)") == [(0,)]
    ev.ok("race", "set", "3", "--date", "2026-06-15")
    ev.run("h50 day 3")
    assert ev.sql("SELECT min(s.start_time) FROM start s JOIN race r ON r.id = s.race_id WHERE r.race_number = 3") == \
        [(at("2026-06-15", "11:00:30"),)]


def test_several_races_and_no_race_setting_says_which(prepared: Event) -> None:
    ev = prepared
    ev.task("draw", "assign-starts")
    res = ev.cli("run", "draw", "--wait")
    assert res.returncode == 1
    assert "the event has 2 races: choose one in the setting 'race' (1 Day 1, 2 Day 2)" in res.stdout


def test_total_rules() -> None:
    from t4o_tui.orienteering.totals import StageResult as S
    from t4o_tui.orienteering.totals import TotalRunner, standings, total

    assert total([S("OK", 1800.7), S("OK", 2400.2)]) == ("OK", 4200.0)  # each stage at whole seconds
    assert total([S("OK", 1800), S("MissingPunch", 2000)]) == ("MissingPunch", None)
    assert total([S("MissingPunch", None), S("Disqualified", None)]) == ("Disqualified", None)
    assert total([S("DidNotFinish", None), S("Inactive")]) == ("DidNotFinish", None)  # a verdict stands
    assert total([S("OK", 1800), S("Inactive")]) == ("Active", None)  # day 2 still to run
    assert total([S("OK", 1800), S("DidNotEnter")]) == ("DidNotEnter", None)
    assert total([S("NotCompeting", 1800), S("OK", 100)]) == ("NotCompeting", 1900)
    runners = [TotalRunner(k, k, "") for k in "abcd"]
    times = {"a": (600, 700), "b": (650, 650), "c": (500, None), "d": (100, 100)}
    for r in runners:
        t1, t2 = times[r.key]
        r.stages = {1: S("OK", t1), 2: S("OK", t2) if t2 else S("MissingPunch")}
    after1 = [(s.runner.key, s.place) for s in standings(runners, [1])]
    assert after1 == [("d", 1), ("c", 2), ("a", 3), ("b", 4)]
    final = [(s.runner.key, s.place, s.time, s.behind) for s in standings(runners, [1, 2])]
    assert final == [("d", 1, 200, 0.0), ("a", 2, 1300, 1100.0), ("b", 2, 1300, 1100.0), ("c", None, None, None)]


def test_class_draw_method_overrides_the_task(db: peewee.Database, db_path: Path) -> None:
    from t4o_tui.engine import event_setup as es
    from t4o_tui.store.models import Class, Entry, Person, Race

    from conftest import run_job

    event = db
    es.set_event(db, {"name": "E", "timezone": "Europe/Oslo"})
    es.add_race(db, "Day 1", {"date": "2026-06-13", "first_start": "10:00"})
    Class.create(race=Race.get(), name="H21")
    rid = int(Race.get().id)

    cls = Class.get((Class.race == rid) & (Class.name == "H21"))
    for k in range(8):
        p = Person.create(given=f"R{k}", family="X", seeding=float(k))
        Entry.create(race=rid, klass=cls, person=p, created_at=0, updated_at=0, identifier=str(k))
    es.set_class(event, rid, "H21", {"first_start": "10:00", "start_interval": "1m", "bib_start": "1",
                                     "draw_method": "seeded-highest-last"})
    made: Any = run_job(event, db_path, "create-starts", {"race": 1, "classes": ["H21"]})
    assert made.status == "succeeded", made.error
    run: Any = run_job(event, db_path, "assign-starts", {"race": 1, "classes": ["H21"], "seeding": "none", "seed": "3"})
    assert run.status == "succeeded", run.error
    order = [seed for (seed,) in db.execute_sql("SELECT p.seeding FROM start s JOIN entry e ON e.id = s.entry_id "
                                                "JOIN person p ON p.id = e.person_id ORDER BY s.start_time")]
    assert order == [float(k) for k in range(8)]  # the task said no seeding; the class's method decides



def test_deleting_a_race_names_the_tasks_that_named_it(prepared: Event) -> None:
    ev = prepared
    ev.task("results day 2", "result-list", race=2)
    res = ev.cli("race", "delete", "Day 2")
    assert res.returncode == 0 and "race 2 Day 2 deleted" in res.stdout
    assert res.stderr.strip() == "t4o-tui: note: tasks naming race 2 will fail until changed: results day 2"
    assert [r["number"] for r in json.loads(ev.ok("race", "list", "--json"))] == [1]
    # A race that holds entries needs --force.
    ev.task("h50", "import-entries", file=ev.file("h50.csv", h50_csv()), race=1)
    ev.run("h50")
    assert "holds 3 entries, 3 starts and 0 station data: add --force" in ev.fails("race", "delete", "1")
    assert "race 1 Day 1 deleted" in ev.ok("race", "delete", "1", "--force")
