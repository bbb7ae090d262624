"""Timing on a real database: simulated race end to end, re-processing, overrides, readout files, radio feed."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from pathlib import Path

import pytest
from lxml import etree

from t4o_tui.engine.runs import run_log
from t4o_tui.orienteering.punch_check import Status
from t4o_tui.orienteering.ranking import ListType, ResultEntry, rank_class
from t4o_tui.store.models import Class, Entry, Result, Station, StationData, TaskState

from conftest import iof_examples, run_job


def log_text(db, run) -> str:
    return "\n".join(line.message for line in run_log(db, run.id))


def build_race(db, db_path, tmp_path, *, runners: int = 40, started_ago: float = 4 * 3600) -> None:
    """Courses from the official example, entries from a CSV, starts drawn in the past."""
    f = tmp_path / "entries.csv"
    f.write_text("ENTRY IDENTIFIER;PERSON NAME;CLASS NAME;ORGANISATION NAME;CARD NO\n" + "".join(
        f"{i};Runner {i};{'Men Open' if i % 2 else 'Women Open'};Club {i % 6};{200000 + i if i % 7 else ''}\n"
        for i in range(runners)), encoding="utf-8")
    assert run_job(db, db_path, "import-entries", {"file": str(f)}).status == "succeeded"
    assert run_job(db, db_path, "import-courses", {"file": str(iof_examples() / "CourseData_Individual_Step2.xml")}).status == "succeeded"
    first = time.time() - started_ago
    Class.update(first_start=first, start_interval=60, max_time=3 * 3600).execute()
    Class.update(bib_start=1).where(Class.name == "Men Open").execute()
    Class.update(bib_start=500).where(Class.name == "Women Open").execute()
    assert run_job(db, db_path, "create-starts", {}).status == "succeeded"
    assert run_job(db, db_path, "assign-starts", {"seed": "1"}).status == "succeeded"


def results_snapshot() -> list[tuple]:
    return sorted((r.entry_id, r.status, r.start_time, r.finish_time, r.time, r.splits, r.missing) for r in Result.select())


def test_end_to_end_simulated_race_and_reprocessing_gives_identical_results(db, db_path, tmp_path):
    build_race(db, db_path, tmp_path)
    sim = run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": 1000, "seed": 3, "missing_probability": 0.2})
    assert sim.status == "succeeded", sim.error
    assert StationData.select().count() == Entry.select().count()
    proc = run_job(db, db_path, "process-station-data", {})
    assert proc.status == "succeeded", proc.error
    first = results_snapshot()
    statuses = {r[1] for r in first}
    assert "OK" in statuses and "MissingPunch" in statuses
    assert "MissingPunch: missing" in log_text(db, proc)
    # Deleting results and processing everything again gives the same answer.
    Result.delete().execute()
    assert run_job(db, db_path, "process-station-data", {"all": True}, name="again").status == "succeeded"
    assert results_snapshot() == first
    html = run_job(db, db_path, "result-list", {"format": "html", "splits": True, "refresh": 30})
    page = Path(html.output).read_bytes()
    assert html.status == "succeeded" and b'http-equiv="refresh" content="30"' in page and b"Men Open" in page
    csv = run_job(db, db_path, "result-list", {"format": "csv"}, name="csv")
    lines = Path(csv.output).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "Class;Place;Bib;Name;Club;Time;Behind;Status" and len(lines) == 1 + Entry.select().count()
    # A second simulation finds nobody left to read out.
    again = run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": 1000, "seed": 3})
    assert "0 simulated readouts" in log_text(db, again)


def test_processing_in_small_steps_gives_the_results_of_one_step(db, db_path, tmp_path, monkeypatch):
    """The writes commit in steps of runners so that a long run never holds the database; the
    results are the same as one step's, and each step is in the log."""
    from t4o_tui.jobs import process_station_data

    build_race(db, db_path, tmp_path)
    assert run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": 1000, "seed": 5,
                                                "missing_probability": 0.2}).status == "succeeded"
    assert run_job(db, db_path, "process-station-data", {}).status == "succeeded"
    one_step = results_snapshot()
    Result.delete().execute()
    monkeypatch.setattr(process_station_data, "STEP", 7)
    stepped = run_job(db, db_path, "process-station-data", {"all": True}, name="stepped")
    assert stepped.status == "succeeded", stepped.error
    assert results_snapshot() == one_step
    runners = len({r[0] for r in one_step})
    steps = -(-runners // 7)
    text = log_text(db, stepped)
    assert f"step {steps} of {steps} committed: results for {runners} of {runners} runners" in text
    assert f"results for {runners} runners" in text


def test_a_twelve_hour_card_that_cannot_be_placed_does_not_stop_the_other_results(db, db_path, tmp_path):
    """An SI5 card (12-hour times) of a runner without a start, in a race without zero time: that
    runner's result says why; everyone else's results are still computed."""
    from t4o_tui.jobs.timing_data import insert_station_data, station_id
    from t4o_tui.orienteering.punch_check import CardData, Punch, TimeBase
    from t4o_tui.store.models import Race, Start

    build_race(db, db_path, tmp_path)
    Race.update(zero_time=None, first_start=None).execute()
    lost, timed = [e.id for e in Entry.select().order_by(Entry.id).limit(2)]
    Start.update(start_time=None).where(Start.entry == lost).execute()
    conn = db.connection()
    race = Race.get().id
    readout = station_id(conn, "readout")
    with db.atomic():
        for eid, time_base, base in ((lost, TimeBase.HALF_DAY, 3600.0), (timed, TimeBase.EPOCH, None)):
            card = Entry.get_by_id(eid)
            start = Start.get(Start.entry == eid).start_time
            t0 = base if base is not None else start
            insert_station_data(conn, race_id=race, station=readout, card=None, bib=card.bib, read_at=None,
                                card_data=CardData((Punch("31", t0 + 300),), None, Punch("F", t0 + 900), time_base=time_base),
                                source="test", dedupe_key=f"k{eid}", now=time.time())
    run = run_job(db, db_path, "process-station-data", {})
    assert run.status == "succeeded", run.error
    assert "give the runner a start time, or the race a zero time or first start" in log_text(db, run)
    assert Result.get(Result.entry == timed).finish_time is not None
    assert Result.get(Result.entry == lost).finish_time is None


def test_test_timing_refuses_a_real_event(db, db_path, tmp_path):
    build_race(db, db_path, tmp_path, runners=4)
    run = run_job(db, db_path, "test-timing", {})
    assert run.status == "failed" and "only for test events" in run.error
    assert StationData.select().count() == 0


def test_runners_come_home_as_the_clock_passes_their_finish(db, db_path, tmp_path):
    build_race(db, db_path, tmp_path, runners=30, started_ago=35 * 60)
    run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": 1000})
    home = StationData.select().count()
    assert 0 < home < Entry.select().count()  # 35 minutes after the first start: some back, some out


def test_an_override_status_is_kept_on_reprocessing(db, db_path, tmp_path):
    build_race(db, db_path, tmp_path, runners=6)
    run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": 100, "missing_probability": 0})
    run_job(db, db_path, "process-station-data", {})
    entry = Entry.select().join(Result, on=(Result.entry == Entry.id)).where(Result.status == "OK").first()
    card = entry.entry_cards[0].card.number if list(entry.entry_cards) else None
    override = Station.get(Station.role == "override")
    StationData.create(race=entry.race_id, station=override, card_number=card, bib=None if card else entry.bib,
                       status="Disqualified", source="jury decision", created_at=time.time())
    run_job(db, db_path, "process-station-data", {})
    assert Result.get(Result.entry == entry.id).status == "Disqualified"
    run_job(db, db_path, "process-station-data", {"all": True}, name="all")
    assert Result.get(Result.entry == entry.id).status == "Disqualified"
    # Deactivating the override (raw data is never deleted) gives the punch result back.
    StationData.update(active=False).where(StationData.source == "jury decision").execute()
    run_job(db, db_path, "process-station-data", {"all": True}, name="all")
    assert Result.get(Result.entry == entry.id).status == "OK"


SI_HEADER = ("No;Read on;SIID;Start no;Clear CN;Clear DOW;Clear time;Check CN;Check DOW;Check time;Start CN;Start DOW;"
             "Start time;Finish CN;Finish DOW;Finish time;No. of records;Record 1 CN;Record 1 DOW;Record 1 time;"
             "Record 2 CN;Record 2 DOW;Record 2 time")


def test_card_readout_file_unknown_card_broken_row_and_no_double_import(db, db_path, tmp_path):
    build_race(db, db_path, tmp_path, runners=4)
    f = tmp_path / "readouts.csv"
    f.write_text(SI_HEADER + "\n"
                 "1;2026-06-01 12:00:00;200001;;;;;;;;;;;;Mo;11:40:00;2;31;Mo;11:00:00;32;Mo;11:20:00\n"
                 "2;2026-06-01 12:01:00;999999;;;;;;;;;;;;Mo;11:41:00;0\n"
                 "3;2026-06-01 12:02:00;200002;;;;;;;;;;;;Mo;99:99:99;0\n", encoding="utf-8")
    run = run_job(db, db_path, "import-card-readouts", {"file": str(f)})
    assert run.status == "succeeded", run.error
    assert "line 4" in log_text(db, run)  # the broken row is named and skipped
    assert StationData.select().count() == 2
    again = run_job(db, db_path, "import-card-readouts", {"file": str(f)})
    assert "0 readouts imported, 2 already imported before" in log_text(db, again)
    proc = run_job(db, db_path, "process-station-data", {})
    assert "card not found" in log_text(db, proc)
    assert StationData.get(StationData.card_number == "999999").data_status == "card not found"
    bad = tmp_path / "wrong.csv"
    bad.write_text("Name;Club\nA;B\n", encoding="utf-8")
    run = run_job(db, db_path, "import-card-readouts", {"file": str(bad)}, name="wrong")
    assert run.status == "failed" and "\n" not in run.error


def test_a_night_race_readout_read_after_midnight_keeps_its_evening_punches_on_the_evening(db, db_path, tmp_path):
    """A card read out at 00:30 holds no punch from after 00:30 (give or take a station clock an
    hour ahead): its 23:45 punch is the evening before, not the evening of the readout's date."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from t4o_tui.store.models import Event

    build_race(db, db_path, tmp_path, runners=4)
    Event.update(timezone="Europe/Oslo").execute()
    zone = ZoneInfo("Europe/Oslo")
    f = tmp_path / "night.csv"
    f.write_text(SI_HEADER + "\n"
                 "1;2026-06-14 00:30:00;2001001;;;;;;;;;Sa;23:30:00;;Su;00:20:00;2;31;Sa;23:45:00;32;Su;00:05:00\n",
                 encoding="utf-8")
    run = run_job(db, db_path, "import-card-readouts", {"file": str(f)})
    assert run.status == "succeeded", run.error
    sd = StationData.get(StationData.card_number == "2001001")  # an SI-Card 8: 24-hour times
    at = lambda d, h, m: datetime(2026, 6, d, h, m, tzinfo=zone).timestamp()  # noqa: E731
    assert [list(p) for p in sd.punches] == [["31", at(13, 23, 45)], ["32", at(14, 0, 5)]]
    assert (sd.start_time, sd.finish_time, sd.read_at) == (at(13, 23, 30), at(14, 0, 20), at(14, 0, 30))


class _Feed(http.server.BaseHTTPRequestHandler):
    answers: list[tuple[int, bytes, float]] = []
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.seen.append(self.path)
        status, body, delay = self.answers.pop(0) if self.answers else (200, b"", 0)
        time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # The job may have given up waiting: that is what the slow answer is for.
        with contextlib.suppress(BrokenPipeError):
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def feed():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Feed.answers, _Feed.seen = [], []
    yield f"http://127.0.0.1:{server.server_address[1]}/punches", _Feed
    server.shutdown()


def test_radio_feed_resumes_after_the_last_id_through_timeouts_and_garbage(db, db_path, tmp_path, feed):
    build_race(db, db_path, tmp_path, runners=4)
    url, handler = feed
    settings = {"url": url, "timeout": 0.5}
    handler.answers = [
        (200, b"101;31;200001;2026-06-01 11:00:00\n102;32;200001;2026-06-01 11:05:00\n", 0),
        (200, b"", 2.0),  # too slow: timeout
        (200, b"<html>proxy error</html>", 0),  # garbage
        (500, b"oops", 0),
        (200, b"103,200002,1780000000000,31,radio\nnot a punch\n", 0),
    ]
    runs = [run_job(db, db_path, "radio-punches", settings, name="radio") for _ in range(5)]
    assert [r.status for r in runs] == ["succeeded", "failed", "failed", "failed", "succeeded"]
    assert "no answer" in runs[1].error and "will ask again after id 102" in runs[1].error
    assert "not radio punch CSV" in runs[2].error
    assert "answered 500" in runs[3].error
    assert [p.split("last=")[1] for p in handler.seen] == ["0", "102", "102", "102", "102"]
    assert StationData.select().count() == 3
    assert TaskState.get().value == "103"
    assert "1 lines not understood" in log_text(db, runs[4])


def test_official_result_lists_rank_the_same_way_in_the_program():
    ns = {"i": "http://www.orienteering.org/datastandard/3.0"}
    checked = 0
    for name in ("ResultList1.xml", "ResultList2.xml", "ResultList3.xml", "ResultList4.xml"):
        root = etree.parse(str(iof_examples() / name)).getroot()
        for cr in root.findall("i:ClassResult", ns):
            people = []
            for pr in cr.findall("i:PersonResult", ns):
                res = pr.find("i:Result", ns)
                if res is None:
                    continue
                status = res.findtext("i:Status", namespaces=ns)
                t = res.findtext("i:Time", namespaces=ns)
                pos = res.findtext("i:Position", namespaces=ns)
                given = pr.findtext("i:Person/i:Name/i:Given", namespaces=ns) or ""
                family = pr.findtext("i:Person/i:Name/i:Family", namespaces=ns) or ""
                people.append((f"{given} {family}", Status(status), float(t) if t else None, int(pos) if pos else None))
            if not people:
                continue
            ranked = rank_class([ResultEntry(n, n, s, t) for n, s, t, _ in people], ListType.NORMAL)
            got = {str(r.key): r.place for r in ranked}
            for n, _s, _t, pos in people:
                assert got[n] == pos, (name, n)
                checked += 1
    assert checked >= 3


def test_event_status_counts_and_overdue(db, db_path, tmp_path):
    from t4o_tui.engine.event_status import event_status

    build_race(db, db_path, tmp_path, runners=20, started_ago=4 * 3600)
    Class.update(max_time=60).execute()  # everybody is past the max time
    run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": 5, "missing_probability": 0})
    run_job(db, db_path, "process-station-data", {})
    st = event_status(db, now=time.time())
    assert st.entries == 20 and st.home == 5 and st.in_forest == 15
    run = run_job(db, db_path, "overdue-check", {})
    assert run.status == "succeeded"
    assert "15 runners overdue (15 newly flagged)" in log_text(db, run)
    assert "OVERDUE: " in log_text(db, run)
    assert event_status(db, now=time.time()).overdue == 15
    again = run_job(db, db_path, "overdue-check", {})
    assert "15 runners overdue (0 newly flagged)" in log_text(db, again)


def test_result_list_xml_validates_against_the_schema(db, db_path, tmp_path):
    from t4o_tui.orienteering import iof

    from conftest import SHARED

    build_race(db, db_path, tmp_path, runners=20)
    run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": 15, "missing_probability": 0.3})
    run_job(db, db_path, "process-station-data", {})
    run = run_job(db, db_path, "result-list", {"format": "iof-xml"})
    assert run.status == "succeeded", run.error
    xml = Path(run.output).read_bytes()
    assert iof.validate(xml, SHARED / "iof" / "IOF.xsd") == []
    assert b"<Position>1</Position>" in xml and b'status="Missing"' in xml
