"""Timing at scale: 10,000 readouts processed into results; a 10,000-entry ResultList written (XML and HTML).
Relay case: 1,000 teams x 3 legs with forking, timed team by team, and the relay ResultList written.

    python bench/timing.py [-n 10000] [--relay-teams 1000] [--only individual|relay]

Aims (issue 7): processing under 2 s, result list under 1 s, on 2 cores. Each figure is the run's own
duration as the engine records it. The readouts come from Test Timing on a synthetic race.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _jobs import drawn_event, run_job  # noqa: E402

from t4o_tui.store.db import open_database  # noqa: E402
from t4o_tui.store.models import Result, StationData  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--relay-teams", type=int, default=1000)
    ap.add_argument("--only", choices=("individual", "relay"))
    args = ap.parse_args()
    if args.only != "relay":
        individual(args)
    if args.only != "individual":
        relay(args.relay_teams)


def individual(args: argparse.Namespace) -> None:
    zone = ZoneInfo("Europe/Oslo")
    first = (datetime.now(zone) - timedelta(hours=12)).replace(minute=0, second=0, microsecond=0)
    tmp, db, db_path = drawn_event("t4o-bench-timing-", first, zone, seed=2, entries=args.n, start_interval=4,
                                   max_time=4 * 3600)
    figures: dict[str, float] = {}
    _, figures["simulate_readouts"] = run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": args.n,
                                                                            "missing_probability": 0.05})
    readouts = StationData.select().count()
    _, figures["process_station_data"] = run_job(db, db_path, "process-station-data", {})
    _, figures["reprocess_all"] = run_job(db, db_path, "process-station-data", {"all": True}, name="all")
    _, figures["result_list_xml"] = run_job(db, db_path, "result-list", {"format": "iof-xml"}, name="xml")
    _, figures["result_list_html"] = run_job(db, db_path, "result-list", {"format": "html", "splits": True}, name="html")
    ok = Result.select().where(Result.status == "OK").count()
    aims = {"process_station_data": 2.0, "result_list_xml": 1.0, "result_list_html": 1.0}
    print(f"timing: {readouts} readouts processed into {Result.select().count()} results ({ok} OK), 2 cores")
    print(f"{'step':22} {'seconds':>8}  aim")
    for k, v in figures.items():
        aim = aims.get(k)
        print(f"{k:22} {v:8.3f}  " + ("" if aim is None else f"< {aim:g} s  {'ok' if v < aim else 'MISSED'}"))
    print(json.dumps({"readouts": readouts, **{k: round(v, 4) for k, v in figures.items()}, "time": time.strftime("%Y-%m-%dT%H:%M:%S")}))


RELAY_COURSES = {"A": (4200, ["31", "32", "33", "34", "35", "36", "37", "38", "39", "40", "41", "100"]),
                 "B": (4300, ["31", "42", "43", "44", "35", "45", "46", "47", "39", "48", "49", "100"]),
                 "C": (4250, ["50", "51", "33", "52", "53", "36", "54", "55", "56", "40", "57", "100"])}


def relay(teams: int) -> None:
    """Teams x 3 legs, legs forked over A, B, C; mass start 12 h ago, restart 75 min later."""
    tmp = Path(tempfile.mkdtemp(prefix="t4o-bench-relay-"))
    zone = ZoneInfo("Europe/Oslo")
    first = (datetime.now(zone) - timedelta(hours=12)).replace(minute=0, second=0, microsecond=0)
    courses = "".join(
        f"<Course><Name>{n}</Name><Length>{length}</Length><CourseControl type=\"Start\"><Control>S1</Control></CourseControl>"
        + "".join(f"<CourseControl><Control>{c}</Control><LegLength>{length // (len(codes) + 1)}</LegLength></CourseControl>" for c in codes)
        + "<CourseControl type=\"Finish\"><Control>F1</Control></CourseControl></Course>"
        for n, (length, codes) in RELAY_COURSES.items())
    (tmp / "courses.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><CourseData xmlns="http://www.orienteering.org/datastandard/3.0" '
        'iofVersion="3.0" createTime="2026-01-01T10:00:00Z" creator="bench"><Event><Name>Relay bench</Name>'
        f"<StartTime><Date>{first.date().isoformat()}</Date></StartTime></Event><RaceCourseData>{courses}</RaceCourseData></CourseData>",
        encoding="utf-8")
    lines = ["TEAM NAME;CLASS NAME;ORGANISATION NAME;LEG;PERSON NAME;CARD NO"]
    for t in range(teams):
        for leg in (1, 2, 3):
            lines.append(f"Club {t % 150} {t // 150 + 1};{'H21' if t % 2 else 'D21'};Club {t % 150};{leg};"
                         f"Runner {t}-{leg};{1_000_000 + t * 10 + leg}")
    (tmp / "teams.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    db_path = tmp / "event.sqlite"
    db = open_database(db_path)
    figures: dict[str, float] = {}
    run_job(db, db_path, "import-relay-entries", {"file": str(tmp / "courses.xml")}, name="courses")
    _, figures["relay_import_teams"] = run_job(db, db_path, "import-relay-entries", {"file": str(tmp / "teams.csv")})
    _, figures["relay_prepare"] = run_job(db, db_path, "prepare-relay", {
        "legs": 3, "classes": ["H21", "D21"], "leg_courses": "1=A,B,C; 2=A,B,C; 3=A,B,C", "seed": 1,
        "mass_start": first.isoformat(), "restart": (first + timedelta(minutes=75)).isoformat()})
    _, figures["relay_simulate"] = run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": 3 * teams,
                                                                         "missing_probability": 0.05})
    readouts = StationData.select().count()
    _, figures["relay_process"] = run_job(db, db_path, "process-station-data", {})
    _, figures["relay_reprocess_all"] = run_job(db, db_path, "process-station-data", {"all": True}, name="all")
    _, figures["relay_result_list_xml"] = run_job(db, db_path, "relay-list", {"format": "iof-xml"}, name="xml")
    _, figures["relay_result_list_html"] = run_job(db, db_path, "relay-list", {"format": "html"}, name="html")
    conn = db.connection()
    ok = conn.execute("SELECT count(*) FROM team_result WHERE status='OK'").fetchone()[0]
    restarted = conn.execute("SELECT count(*) FROM team_result WHERE legs LIKE '%\"restarted\":true%'").fetchone()[0]
    print(f"relay: {teams} teams x 3 legs, {readouts} readouts; {ok} teams OK, {restarted} with a restarted leg; 2 cores")
    print(f"{'step':24} {'seconds':>8}")
    for k, v in figures.items():
        print(f"{k:24} {v:8.3f}")
    print(json.dumps({"relay_teams": teams, "readouts": readouts, **{k: round(v, 4) for k, v in figures.items()},
                      "time": time.strftime("%Y-%m-%dT%H:%M:%S")}))


if __name__ == "__main__":
    main()
