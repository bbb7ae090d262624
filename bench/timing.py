"""Timing at scale: 10,000 readouts processed into results; a 10,000-entry ResultList written (XML and HTML).

    python bench/timing.py [-n 10000]

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

from _jobs import run_job  # noqa: E402

from t4o_tui.orienteering import synthetic  # noqa: E402
from t4o_tui.store.db import open_database  # noqa: E402
from t4o_tui.store.models import Class, Result, StationData  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=10_000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="t4o-bench-timing-"))
    zone = ZoneInfo("Europe/Oslo")
    first = (datetime.now(zone) - timedelta(hours=12)).replace(minute=0, second=0, microsecond=0)
    ev = synthetic.make_event(seed=2, entries=args.n, date=first.date(), first_start=first, tz=zone)
    (tmp / "entries.xml").write_bytes(synthetic.entry_list_xml(ev))
    (tmp / "courses.xml").write_bytes(synthetic.course_data_xml(ev))
    db_path = tmp / "event.sqlite"
    db = open_database(db_path)
    run_job(db, db_path, "import-entries", {"file": str(tmp / "entries.xml")})
    run_job(db, db_path, "import-courses", {"file": str(tmp / "courses.xml")})
    with db.atomic():
        for i, c in enumerate(Class.select().order_by(Class.name)):
            c.first_start, c.start_interval, c.bib_start, c.max_time = first.timestamp(), 4, 10000 * (i + 1), 4 * 3600
            c.save()
    run_job(db, db_path, "create-starts", {})
    run_job(db, db_path, "assign-starts", {"seed": "1"})
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


if __name__ == "__main__":
    main()
