"""Every job on PostgreSQL as on SQLite (issue 14): the event pipeline end to end on both backends.

One synthetic two-day event is prepared and run by the engine's own functions and jobs (a real
runtime runs each job, as a worker does): event and races, classes, courses and entries from IOF
XML, a CSV of entries with start times, starts from class settings and the draw, rental cards
assigned, Test Timing's readouts processed, a result correction, result lists and start lists
(IOF XML, HTML, CSV), totals over both races, split results, the overdue check, a relay imported,
prepared, timed and listed, live results sent to a MOP receiver on 127.0.0.1, and a backup. Each
output file is compared between the backends, byte for byte once creation times are masked: a
difference is a job whose SQL answers differently on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import difflib
import http.server
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import peewee
import pg_server
import pytest
from iof_util import EXAMPLES, XSD, needs_iof
from si_simulator import StationSimulator
from test_relay_jobs import COURSES as RELAY_COURSES
from test_relay_jobs import TEAMS_CSV
from test_si_readout import card_for, give_card, start_readout
from test_si_readout import runtime as si_runtime
from test_timing_jobs import SI_HEADER, build_race
from test_two_day_event import H21, class_list, course_data, entry_list, h50_csv

from t4o_tui.engine import corrections, event_lists, forest, readouts
from t4o_tui.engine import event_setup as es
from t4o_tui.engine.queries import event as event_queries
from t4o_tui.engine.runs import cancel_run, enqueue_run, get_run, run_log
from t4o_tui.engine.runtime import Runtime, RuntimeOptions
from t4o_tui.engine.tasks import create_task, update_task
from t4o_tui.orienteering import iof
from t4o_tui.store.backend_sqlite import backend_of
from t4o_tui.store.db import open_database
from t4o_tui.store.models import Artifact, Class, Entry, Result, Start, Task

from conftest import wait_for

pytestmark = pytest.mark.slow  # a whole event, twice

# A real PostgreSQL server and a fresh database on it per test (tests/pg_server.py).
pg_admin_url, pg_url = pg_server.pg_admin_url, pg_server.pg_url

@pytest.fixture(params=["sqlite", "postgresql"])
def event_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[peewee.Database, Path]]:
    """An empty event database of each backend and the folder for its files."""
    target = str(tmp_path / "event.db") if request.param == "sqlite" else request.getfixturevalue("pg_url")
    db = open_database(target)
    try:
        yield db, tmp_path / "files"
    finally:
        db.close()


def run_job(db: peewee.Database, data_dir: Path, job: str, settings: dict[str, Any] | None = None, *,
            name: str | None = None, timeout: float = 90) -> Any:
    """Create (or update) a task of `job`, run it once through a real runtime, return its RunRow."""
    name = name or f"{job} task"
    if Task.get_or_none(Task.name == name) is None:
        create_task(name, job, settings or {})
    elif settings is not None:
        update_task(name, settings=settings, replace_settings=True)
    rid = enqueue_run(db, name)

    async def main() -> None:
        rt = Runtime(db, data_dir=data_dir, options=RuntimeOptions(poll=0.02, scheduler=False))
        await rt.start()
        try:
            end = time.monotonic() + timeout
            while (await asyncio.to_thread(get_run, db, rid)).status in ("queued", "running"):
                if time.monotonic() > end:
                    raise AssertionError(f"run of {job} did not finish")
                await asyncio.sleep(0.02)
        finally:
            await rt.stop()

    asyncio.run(main())
    db.connect(reuse_if_open=True)
    return get_run(db, rid)


def ok(db: peewee.Database, data_dir: Path, job: str, settings: dict[str, Any] | None = None, **kw: Any) -> Any:
    run = run_job(db, data_dir, job, settings, **kw)
    assert run.status == "succeeded", f"{job}: {run.error}\n{log_text(db, run)}"
    return run


def log_text(db: peewee.Database, run: Any) -> str:
    return "\n".join(line.message for line in run_log(db, run.id))


def output(run: Any) -> bytes:
    [a] = Artifact.select().where(Artifact.run == run.id)
    return Path(a.path).read_bytes()


# Creation times and the program's version vary from run to run; nothing else may.
_VARYING = [
    (re.compile(rb'createTime="[^"]*"'), b'createTime="-"'),
    (re.compile(rb'creator="[^"]*"'), b'creator="-"'),
    (re.compile(rb"127\.0\.0\.1:\d+"), b"127.0.0.1:-"),  # the local servers' ports
    (re.compile(rb"(Updated|updated|Created|created|as of|generated)[^<\n]*\d\d:\d\d(:\d\d)?[^<\n]*"), rb"\1 -"),
]


def masked(data: bytes) -> bytes:
    for pattern, replacement in _VARYING:
        data = pattern.sub(replacement, data)
    return data


class _Mop(http.server.BaseHTTPRequestHandler):
    """A MOP receiver that keeps what it is sent; and a radio punch feed (GET)."""

    received: list[bytes] = []
    punches = b"101;31;700001;2026-06-13 10:20:00\n102;32;700001;2026-06-13 10:31:00\n"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = self.punches if self.path.endswith("last=0") else b""
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        type(self).received.append(self.rfile.read(int(self.headers["Content-Length"])))
        answer = b'<MOPStatus status="OK"/>'
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


def pipeline(db: peewee.Database, data_dir: Path, tmp: Path) -> dict[str, bytes]:
    """The whole event on `db`; every file it writes, by name, and the tables' digests."""
    out: dict[str, bytes] = {}

    def file(name: str, text: str) -> str:
        p = tmp / name
        p.write_text(text, encoding="utf-8")
        return str(p)

    es.set_event(db, {"name": "Fjord Two Days", "timezone": "Europe/Oslo", "organiser": "OK Fjord"})
    es.add_race(db, "Middle", {"date": "2026-06-13", "first_start": "10:00", "discipline": "middle"})
    es.add_race(db, "Long", {"date": "2026-06-14", "first_start": "09:30", "discipline": "long"})
    for n in (1, 2):
        ok(db, data_dir, "import-classes", {"file": file("classes.xml", class_list()), "race": n}, name=f"classes {n}")
        ok(db, data_dir, "import-courses", {"file": file("courses.xml", course_data()), "race": n}, name=f"courses {n}")
        ok(db, data_dir, "import-entries", {"file": file("entries.xml", entry_list()), "race": n}, name=f"entries {n}")
    races = {r.number: r.id for r in es.list_races(db)}
    es.set_class(db, races[1], "H21", {"first_start": "10:00", "start_interval": "2m", "bib_start": "101",
                                        "vacancies_after": "1", "max_time": "2h", "draw_method": "club-separation"})
    es.set_class(db, races[1], "D21", {"first_start": "10:00", "start_interval": "2m", "bib_start": "201",
                                        "vacancy_every": "3", "max_time": "2h", "start_box": "Start 2"})
    for name, first, bibs in (("H21", "+0m", "101"), ("D21", "09:45", "201")):
        es.set_class(db, races[2], name, {"first_start": first, "start_interval": "90s", "bib_start": bibs,
                                           "max_time": "3h"})
    es.set_class(db, races[2], "H50", {"first_start": "10:30", "start_interval": "1m", "bib_start": "501",
                                        "max_time": "2h"})
    ok(db, data_dir, "import-entries", {"file": file("h50.csv", h50_csv()), "race": 1}, name="h50")

    for n in (1, 2):
        ok(db, data_dir, "create-starts", {"race": n, "classes": ["H21", "D21"]}, name=f"starts {n}")
        draw = ok(db, data_dir, "assign-starts", {"race": n, "seed": str(n)}, name=f"draw {n}")
        assert "same-club neighbour" in log_text(db, draw)
        for fmt in ("iof-xml", "html", "csv"):
            out[f"start list {n} {fmt}"] = output(ok(db, data_dir, "start-list", {"race": n, "format": fmt,
                                                                                  "include_vacant": True},
                                                     name=f"start list {n} {fmt}"))
        assert not XSD.is_file() or iof.validate(out[f"start list {n} iof-xml"], XSD) == []

    ok(db, data_dir, "import-cards", {"range_from": 900001, "range_to": 900050, "rental": True}, name="rental")
    cards = ok(db, data_dir, "assign-cards", {}, name="cards")
    assert "rental SI cards assigned" in log_text(db, cards)

    for n in (1, 2):
        ok(db, data_dir, "test-timing", {"race": n, "test_event": True, "results_per_run": 100,
                                         "missing_probability": 0.25, "seed": n}, name=f"sim {n}")
        ok(db, data_dir, "process-station-data", {"race": n}, name=f"process {n}")

    # A correction on day 1: the first H21 runner's missing punch is ruled OK by the jury; processing
    # applies it.
    conn = db.connection()
    eid = conn.execute("SELECT e.id FROM entry e JOIN class c ON c.id = e.class_id JOIN result r ON r.entry_id = e.id "
                       "WHERE c.name = 'H21' AND e.race_id = ? AND r.status = 'MissingPunch' ORDER BY e.id LIMIT 1",
                       (races[1],)).fetchone()
    assert eid is not None, "the simulation gave an H21 runner a missing punch"
    corrections.set_status(db, eid[0], "OK", "jury: a control was misplaced", who="jury",
                           now=datetime(2026, 6, 13, 13, 0, tzinfo=UTC).timestamp())
    ok(db, data_dir, "process-station-data", {"race": 1}, name="process 1")
    assert conn.execute("SELECT status FROM result WHERE entry_id = ?", (eid[0],)).fetchone()[0] == "OK"

    for n in (1, 2):
        for fmt in ("iof-xml", "html", "csv"):
            out[f"results {n} {fmt}"] = output(ok(db, data_dir, "result-list", {"race": n, "format": fmt},
                                                  name=f"results {n} {fmt}"))
        assert b"<Position>1</Position>" in out[f"results {n} iof-xml"]
        assert not XSD.is_file() or iof.validate(out[f"results {n} iof-xml"], XSD) == []
    for fmt in ("iof-xml", "html", "csv"):
        out[f"totals {fmt}"] = output(ok(db, data_dir, "total-results", {"format": fmt}, name=f"totals {fmt}"))
    assert out["totals iof-xml"].count(b"<OverallResult>") >= len(H21)
    out["split results"] = output(ok(db, data_dir, "split-results", {}, name="split results"))
    tickets = tmp / "tickets.bin"
    out["split tickets page"] = output(ok(db, data_dir, "split-tickets", {"race": 1, "printer": str(tickets)},
                                          name="tickets"))
    out["split tickets"] = tickets.read_bytes()
    # A card readout file: one runner's card read again, and a card nobody has.
    readouts = file("readouts.csv", SI_HEADER + "\n"
                    "1;2026-06-13 12:00:00;700001;;;;;;;;;;;;Sa;11:40:00;2;31;Sa;11:00:00;32;Sa;11:20:00\n"
                    "2;2026-06-13 12:01:00;999999;;;;;;;;;;;;Sa;11:41:00;0\n")
    ok(db, data_dir, "import-card-readouts", {"file": readouts, "race": 1}, name="readouts")
    ok(db, data_dir, "process-station-data", {"race": 1}, name="process 1")
    overdue = ok(db, data_dir, "overdue-check", {"race": 1}, name="overdue")
    out["overdue log"] = "\n".join(sorted(line for line in log_text(db, overdue).splitlines()
                                          if "OVERDUE" in line)).encode()

    # The receiver of live results on 127.0.0.1.
    _Mop.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Mop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/mop/update"
        ok(db, data_dir, "live-results", {"url": url, "competition": 4711, "password": "pw", "retries": 0, "race": 1},
           name="live")
        ok(db, data_dir, "live-results", None, name="live")  # nothing changed: nothing or an empty difference
        radio = f"http://127.0.0.1:{server.server_address[1]}/punches"
        ok(db, data_dir, "radio-punches", {"url": radio, "race": 1}, name="radio")
        ok(db, data_dir, "radio-punches", None, name="radio")
    finally:
        server.shutdown()
        server.server_close()
    assert _Mop.received, "live results sent nothing"
    out["live results"] = b"\n".join(_Mop.received)

    # A relay in a race of its own.
    es.add_race(db, "Relay", {"date": "2026-06-15", "first_start": "10:00"})
    relay = max(r.id for r in es.list_races(db))
    relay_no = {r.id: r.number for r in es.list_races(db)}[relay]
    (tmp / "relay-courses.xml").write_bytes(RELAY_COURSES)
    ok(db, data_dir, "import-relay-entries", {"file": str(tmp / "relay-courses.xml"), "race": relay_no},
       name="relay courses")
    ok(db, data_dir, "import-relay-entries", {"file": file("teams.csv", TEAMS_CSV), "race": relay_no},
       name="relay teams")
    ok(db, data_dir, "prepare-relay", {"race": relay_no, "classes": ["H21"], "legs": 3,
                                       "leg_courses": "1=A,B,C; 2=A,B,C; 3=A,B,C", "mass_start": "10:00",
                                       "restart": "11:30", "seed": 3}, name="relay prep")
    ok(db, data_dir, "test-timing", {"race": relay_no, "test_event": True, "results_per_run": 100, "seed": 4,
                                     "missing_probability": 0.2}, name="relay sim")
    ok(db, data_dir, "process-station-data", {"race": relay_no}, name="relay process")
    for fmt in ("iof-xml", "html", "csv"):
        out[f"relay {fmt}"] = output(ok(db, data_dir, "relay-list", {"race": relay_no, "format": fmt},
                                        name=f"relay {fmt}"))
    assert not XSD.is_file() or iof.validate(out["relay iof-xml"], XSD) == []
    assert b"<TeamResult>" in out["relay iof-xml"]

    backup = ok(db, data_dir, "backup", {"keep": 2}, name="backup")
    assert output(backup)
    # A copy of the database is not kept in it (each copy would carry the one before it).
    assert db.execute_sql("SELECT count(*) FROM artifact_data d JOIN artifact a ON a.id = d.artifact_id "
                          "WHERE a.run_id = ?", (backup.id,)).fetchone()[0] == 0
    if isinstance(db, peewee.PostgresqlDatabase):
        assert "its file is not kept in the database (a copy of the database does not go into it)" in log_text(db, backup)
    out["desk"] = desk(db, [races[1], races[2], relay], eid[0])
    return {k: masked(v) for k, v in out.items()}


# Fields that differ between two runs of the same event: row ids (PostgreSQL's sequences skip the
# values an INSERT … ON CONFLICT DO NOTHING drew) and the wall-clock time of a write.
_UNSTABLE = {"id", "created_at", "processed_at", "computed_at", "updated_at", "since"}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name not in _UNSTABLE and not f.name.endswith("_id")}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def desk(db: peewee.Database, races: list[int], entry_id: int) -> bytes:
    """What the race desk's screens ask the engine, as text: lists, the forest, readouts, corrections."""
    got: dict[str, Any] = {}
    for race in races:
        got[f"classes {race}"] = event_lists.class_lines(db, race)
        got[f"entries {race}"] = event_lists.entry_lines(db, race)
        got[f"courses {race}"] = event_lists.course_lines(db, race)
        got[f"corrected {race}"] = sorted(corrections.corrected_entries(db, race).values())
    got["forest"] = forest.forest(db, now=datetime(2026, 6, 13, 10, 30, tzinfo=UTC).timestamp())
    got["readouts"] = readouts.recent_readouts(db)
    got["unknown cards"] = readouts.unknown_cards(db)
    got["stations"] = readouts.station_states(db)
    got["station data"] = event_queries.station_data_lines(db)
    got["runner"] = corrections.runner(db, entry_id)
    return json.dumps(_plain(got), indent=1, sort_keys=True, default=str).encode()


def test_the_whole_event_runs(event_db, tmp_path):
    db, data_dir = event_db
    out = pipeline(db, data_dir, tmp_path)
    assert out["results 1 csv"].count(b"\n") > len(H21)
    assert b"OVERDUE" not in out["overdue log"] or out["overdue log"]


def test_every_output_is_the_same_on_postgresql_as_on_sqlite(pg_url, tmp_path):
    outputs = []
    for name, target in (("sqlite", str(tmp_path / "event.db")), ("postgresql", pg_url)):
        folder = tmp_path / name
        folder.mkdir()
        db = open_database(target)
        try:
            outputs.append(pipeline(db, folder / "files", folder))
        finally:
            db.close()
    lite, pg = outputs
    assert sorted(lite) == sorted(pg)
    different = [name for name in lite if lite[name] != pg[name]]
    first = "\n".join(list(difflib.unified_diff(lite[different[0]].decode(errors="replace").splitlines(),
                                                 pg[different[0]].decode(errors="replace").splitlines(),
                                                 "sqlite", "postgresql", lineterm=""))[:12]) if different else ""
    assert not different, f"outputs that differ: {different}\n{first}"


@needs_iof
def test_the_official_examples_import_into_the_same_rows(pg_url, tmp_path):
    """The official IOF examples, imported one after another, leave the same rows on both backends."""
    steps = [("import-classes", "ClassList.xml"), ("import-courses", "CourseData_Individual_Step2.xml"),
             ("import-entries", "EntryList1.xml"), ("import-entries", "EntryList2.xml"),
             ("create-starts", "StartList1.xml"), ("import-courses", "CourseData_Individual_Step4.xml"),
             ("import-results", "ResultList1.xml"), ("import-results", "ResultList2.xml")]
    dumps = []
    for name, target in (("sqlite", str(tmp_path / "event.db")), ("postgresql", pg_url)):
        db = open_database(target)
        try:
            for n, (job, example) in enumerate(steps):
                settings = {"file": str(EXAMPLES / example)}
                if job == "create-starts":
                    settings["source"] = "iof-xml"
                ok(db, tmp_path / name, job, settings, name=f"{n} {example}")
            dumps.append(_rows(db))
        finally:
            db.close()
    lite, pg = dumps
    assert lite["entry"] and lite["start"] and lite["course_control"] and lite["result"]
    assert {t: rows for t, rows in pg.items() if rows != lite[t]} == {}


@needs_iof
def test_the_official_relay_examples_import_into_the_same_teams(pg_url, tmp_path):
    relay = ["ClassList_Relay_Step1.xml", "CourseData_Relay_Step2.xml", "StartList_Relay_Step3.xml",
             "CourseData_Relay_Step4.xml"]
    dumps = []
    for name, target in (("sqlite", str(tmp_path / "event.db")), ("postgresql", pg_url)):
        db = open_database(target)
        try:
            for example in relay:
                ok(db, tmp_path / name, "import-relay-entries", {"file": str(EXAMPLES / example)}, name=example)
            prep = ok(db, tmp_path / name, "prepare-relay", {"classes": ["Men Open"], "forking": "keep"}, name="prep")
            assert "(bib 2) leg 3: no runner" in log_text(db, prep)
            q = lambda sql, db=db: [tuple(r) for r in db.execute_sql(sql).fetchall()]  # noqa: E731
            dumps.append({
                "legs": q("SELECT c.name, l.leg, l.runners, l.min_runners, l.parallel, l.restart, co.name FROM relay_leg l "
                          "JOIN class c ON c.id = l.class_id LEFT JOIN relay_leg_course lc ON lc.relay_leg_id = l.id "
                          "LEFT JOIN course co ON co.id = lc.course_id ORDER BY 1, 2, 7"),
                "members": q("SELECT t.bib, t.name, m.leg, m.leg_order, p.family, co.name FROM team_member m "
                             "JOIN team t ON t.id = m.team_id LEFT JOIN entry e ON e.id = m.entry_id "
                             "LEFT JOIN person p ON p.id = e.person_id LEFT JOIN course co ON co.id = m.course_id "
                             "ORDER BY 1, 3, 4"),
                "clubs": q("SELECT t.name, x.seq, o.name FROM team_organisation x JOIN team t ON t.id = x.team_id "
                           "JOIN organisation o ON o.id = x.organisation_id ORDER BY 1, 2"),
            })
        finally:
            db.close()
    lite, pg = dumps
    assert len(lite["members"]) == 10 and lite["legs"]
    assert pg == lite


def _rows(db: peewee.Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every event table's rows with the row ids replaced by what they point at (names, numbers)."""
    q = lambda sql: [tuple(r) for r in db.execute_sql(sql).fetchall()]  # noqa: E731
    return {
        "class": q("SELECT name, short_name, sex, min_age, max_age, ids FROM class ORDER BY name"),
        "control": q("SELECT code, kind, description FROM control ORDER BY code, kind"),
        "course": q("SELECT name, length, climb FROM course ORDER BY name"),
        "course_control": q("SELECT co.name, cc.seq, c.code, cc.kind, cc.leg_length FROM course_control cc "
                            "JOIN course co ON co.id = cc.course_id JOIN control c ON c.id = cc.control_id "
                            "ORDER BY co.name, cc.seq"),
        "organisation": q("SELECT name, short_name, country, ids FROM organisation ORDER BY name, ids"),
        "person": q("SELECT given, family, sex, birth_date, nationality FROM person ORDER BY family, given, birth_date"),
        "identifier": q("SELECT p.given, p.family, pi.type, pi.value FROM person_identifier pi "
                        "JOIN person p ON p.id = pi.person_id ORDER BY 1, 2, 3, 4"),
        "card": q("SELECT number, card_type, rental FROM card ORDER BY number, card_type"),
        "entry": q("SELECT p.given, p.family, c.name, o.name, e.identifier, e.identifier_type, e.status, e.bib "
                   "FROM entry e LEFT JOIN person p ON p.id = e.person_id LEFT JOIN class c ON c.id = e.class_id "
                   "LEFT JOIN organisation o ON o.id = e.organisation_id ORDER BY e.identifier IS NOT NULL, 5, 1, 2"),
        "entry_card": q("SELECT e.identifier, cd.number FROM entry_card ec JOIN entry e ON e.id = ec.entry_id "
                        "JOIN card cd ON cd.id = ec.card_id ORDER BY 1, 2"),
        "start": q("SELECT c.name, s.bib, s.start_time, co.name, p.family FROM start s JOIN class c ON c.id = s.class_id "
                   "LEFT JOIN course co ON co.id = s.course_id LEFT JOIN entry e ON e.id = s.entry_id "
                   "LEFT JOIN person p ON p.id = e.person_id ORDER BY 1, 3, 2, 5"),
        "result": q("SELECT p.family, p.given, c.name, r.status, r.start_time, r.finish_time, r.time, r.splits "
                    "FROM result r JOIN entry e ON e.id = r.entry_id LEFT JOIN person p ON p.id = e.person_id "
                    "LEFT JOIN class c ON c.id = e.class_id ORDER BY 1, 2, 3, 5"),
    }


def test_text_sorts_and_compares_as_on_sqlite_whatever_the_server_locale(pg_admin_url, tmp_path):
    """Byte order for ORDER BY, ASCII-only case folding for NOCASE, SQLite's CAST for bibs: on a
    database whose own collation is a language's (en-US: 'a' < 'Ä' < 'A-1' < 'b' < 'B')."""
    import psycopg

    name = "t4o_icu_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        row = admin.execute("SHOW server_version_num").fetchone()
        major = int(str(row[0] if row else 0)) // 10000
        if major < 15:
            pytest.skip(f"PostgreSQL {major}: a database's ICU collation needs 15")
        admin.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' "
                      "LOCALE 'C.UTF-8'")
    names = ["b", "B", "a", "A-1", "a1", "Ä", "ä", "h21", "H21", "H21E", "D 21"]
    bibs = ["12", "007", "A12", "", None, "12b", " 5", "-3"]
    answers = []
    try:
        for target in (str(tmp_path / "event.db"), pg_server.with_database(pg_admin_url, name)):
            db = open_database(target)
            try:
                b = backend_of(db.connection())
                es.set_event(db, {"name": "Sort"})
                race = es.add_race(db, "R").id
                classes = [Class.create(race=race, name=n) for n in names]
                for i, bib in enumerate(bibs):
                    Start.create(race=race, klass=classes[i], bib=bib)
                # Entries with and without a class and a start: the entry list puts the missing first.
                for n, (klass, start) in enumerate([(0, 600.0), (0, None), (None, None), (1, 60.0), (0, 300.0)]):
                    e = Entry.create(race=race, klass=None if klass is None else classes[klass], bib=f"e{n}",
                                     created_at=0, updated_at=0)
                    if start is not None:
                        Start.create(race=race, klass=classes[klass or 0], bib=f"e{n}", start_time=start, entry=e)

                def q(sql: str, *a: Any, db: peewee.Database = db) -> list[Any]:
                    return [r[0] for r in db.execute_sql(sql, a).fetchall()]

                answers.append({
                    "order": q("SELECT name FROM class ORDER BY name"),
                    "nocase order": q(f"SELECT name FROM class ORDER BY {b.nocase('name')}, name"),
                    "nocase h21": q(f"SELECT name FROM class WHERE {b.nocase('name')} = {b.nocase('?')} ORDER BY name",
                                    "h21"),
                    "nocase ä": q(f"SELECT name FROM class WHERE {b.nocase('name')} = {b.nocase('?')} ORDER BY name", "Ä"),
                    "bibs": q(f"SELECT {b.cast_int('bib')} FROM start WHERE entry_id IS NULL ORDER BY id"),
                    "cards": q(f"SELECT {b.group_concat('name', chr(39) + '+' + chr(39))} FROM "
                               "(SELECT name FROM class WHERE substr(name, 1, 1) = 'H' ORDER BY name) x"),
                    "entry list": [(x.bib, x.class_name) for x in event_lists.entry_lines(db, race)],
                    "greatest": q(f"SELECT {b.greatest('count(*)', '20')} - {b.least('count(*)', '3')} FROM class"),
                })
            finally:
                db.close()
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    lite, pg = answers
    assert lite["order"] == sorted(names)  # SQLite's BINARY: code point order
    assert lite["nocase h21"] == ["H21", "h21"] and lite["nocase ä"] == ["Ä"]  # NOCASE folds ASCII only
    assert lite["bibs"] == [12, 7, 0, 0, None, 12, 5, -3]
    assert lite["entry list"] == [("e2", ""), ("e3", "B"), ("e1", "b"), ("e4", "b"), ("e0", "b")]
    assert pg == lite


@needs_iof
def test_an_si_station_reads_cards_on_either_backend(event_db, tmp_path):
    """The SI readout task (Direct lane, a simulated station on a pseudo-terminal) stores, processes
    and lists readouts on PostgreSQL as on SQLite."""
    db, _ = event_db
    path = tmp_path / "event.db"  # the files' folder is named after it (data_dir_for), on both backends
    build_race(db, path, tmp_path, runners=6, started_ago=2 * 3600)
    link = tmp_path / "ttySI"
    sim = StationSimulator(link)
    entries = list(Entry.select().order_by(Entry.id))[:3]
    cards = []
    for (kind, number), entry in zip([("SI8", 2123456), ("SI9", 1234567), ("SI10", 7123456)], entries, strict=True):
        give_card(entry, number)
        cards.append((entry, card_for(db, entry, kind, number, skip=1 if kind == "SI9" else None)))
    try:
        with si_runtime(db, path):
            rid = start_readout(db, tmp_path, link)
            wait_for(lambda: any(s.state == "connected" for s in readouts.station_states(db)), 30, "the station connected")
            for n, (_entry, card) in enumerate(cards, start=1):
                sim.insert(card)
                sim.wait_acks(n)
            wait_for(lambda: Result.select().where(Result.entry.in_([e.id for e, _ in cards])).count() == len(cards), 30,
                     "results of every card")
            cancel_run(db, rid)
            wait_for(lambda: get_run(db, rid).status == "cancelled", 10, "the run stopped after the cancel")
    finally:
        sim.close()
    rows = {r.card: r for r in readouts.recent_readouts(db)}
    assert [rows[str(c.number)].status for _, c in cards] == ["OK", "MissingPunch", "OK"]
    assert [Result.get(Result.entry == e.id).status for e, _ in cards] == ["OK", "MissingPunch", "OK"]
