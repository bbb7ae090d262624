"""Event data at scale: import a generated EntryList of 10,000 entries, create and draw starts, write the StartList.

    python bench/event_data.py [-n 10000]

Aims (issue 6): import under 5 s, draw under 1 s, StartList under 1 s (XML and HTML), on 2 cores.
Each figure is the run's own duration as the engine records it (claim to finish, in one transaction).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _jobs import run_job, timed  # noqa: E402

from t4o_tui.orienteering import synthetic  # noqa: E402
from t4o_tui.store.db import open_database  # noqa: E402
from t4o_tui.store.models import Class, Entry, Start  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=10_000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="t4o-bench-event-"))
    zone = ZoneInfo("Europe/Oslo")
    first = datetime(2026, 6, 6, 10, 0, tzinfo=zone)
    ev, gen = timed(synthetic.make_event, seed=1, entries=args.n, date=first.date(), first_start=first, tz=zone)
    files = tmp / "in"
    files.mkdir()
    (files / "entries.xml").write_bytes(synthetic.entry_list_xml(ev))
    (files / "courses.xml").write_bytes(synthetic.course_data_xml(ev))
    db_path = tmp / "event.sqlite"
    db = open_database(db_path)
    figures: dict[str, float] = {"generate": gen}
    _, figures["import_entries"] = run_job(db, db_path, "import-entries", {"file": str(files / "entries.xml")})
    _, second = run_job(db, db_path, "import-entries", {"file": str(files / "entries.xml")})
    figures["reimport_entries"] = second
    _, figures["import_courses"] = run_job(db, db_path, "import-courses", {"file": str(files / "courses.xml")})
    with db.atomic():
        for i, c in enumerate(Class.select().order_by(Class.name)):
            c.first_start, c.start_interval, c.bib_start, c.vacancies, c.draw_order = first.timestamp(), 30, 10000 * (i + 1), 2, i
            c.save()
    _, figures["create_starts"] = run_job(db, db_path, "create-starts", {})
    draw_run, figures["draw"] = run_job(db, db_path, "assign-starts", {"seed": "bench"})
    _, figures["start_list_xml"] = run_job(db, db_path, "start-list", {"format": "iof-xml"}, name="xml")
    html_run, figures["start_list_html"] = run_job(db, db_path, "start-list", {"format": "html"}, name="html")
    entries, starts = Entry.select().count(), Start.select().where(Start.entry.is_null(False)).count()
    aims = {"import_entries": 5.0, "draw": 1.0, "start_list_xml": 1.0, "start_list_html": 1.0}
    print(f"event data: {entries} entries, {starts} drawn starts, {Class.select().count()} classes (2 cores)")
    print(f"{'step':18} {'seconds':>8}  aim")
    for k, v in figures.items():
        aim = aims.get(k)
        mark = "" if aim is None else (f"< {aim:g} s  {'ok' if v < aim else 'MISSED'}")
        print(f"{k:18} {v:8.3f}  {mark}")
    print(json.dumps({"entries": entries, "drawn": starts, **{k: round(v, 4) for k, v in figures.items()},
                      "time": time.strftime("%Y-%m-%dT%H:%M:%S")}))
    del draw_run, html_run


if __name__ == "__main__":
    main()
