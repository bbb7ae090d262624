"""Event data at scale: import a generated EntryList of 10,000 entries, create and draw starts, write the StartList;
then a 5,000-start StartList that names its runners (persons, clubs, cards, bibs; no entry ids, as entry
systems export them) imported by Create Starts into an empty event, beside a bare lxml parse of the same file.

    python bench/event_data.py [-n 10000] [--starts 5000]

Aims (issue 6): import under 5 s, draw under 1 s, StartList under 1 s (XML and HTML), on 2 cores.
Each figure is the run's own duration as the engine records it (claim to finish, in one transaction).
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

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _jobs import run_job, timed  # noqa: E402

from t4o_tui.orienteering import synthetic  # noqa: E402
from t4o_tui.orienteering.iof_write import write_start_list  # noqa: E402
from t4o_tui.orienteering.model import ClassDef, ClassStart, StartRecord  # noqa: E402
from t4o_tui.store.db import open_database  # noqa: E402
from t4o_tui.store.models import Class, Entry, Start  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--starts", type=int, default=5_000, help="starts of the StartList with people")
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
    n_classes = Class.select().count()
    db.close()
    people = start_list_with_people(args.starts, first, zone, tmp)
    entries_total, starts_total = entries, starts
    aims = {"import_entries": 5.0, "draw": 1.0, "start_list_xml": 1.0, "start_list_html": 1.0}
    print(f"event data: {entries_total} entries, {starts_total} drawn starts, {n_classes} classes (2 cores)")
    print(f"{'step':18} {'seconds':>8}  aim")
    for k, v in figures.items():
        aim = aims.get(k)
        mark = "" if aim is None else (f"< {aim:g} s  {'ok' if v < aim else 'MISSED'}")
        print(f"{k:18} {v:8.3f}  {mark}")
    print(f"StartList with people: {people['starts']} starts ({people['named']} named, {people['bytes'] // 1024} KB) into an "
          f"empty event: {people['import']:.3f} s; bare lxml parse {people['lxml_parse']:.4f} s; "
          f"ratio {people['ratio']:.0f}x; {people['entries']} entries and {people['linked']} linked starts made")
    print(json.dumps({"entries": entries_total, "drawn": starts_total, **{k: round(v, 4) for k, v in figures.items()},
                      "startlist_people": {k: round(v, 4) if isinstance(v, float) else v for k, v in people.items()},
                      "time": time.strftime("%Y-%m-%dT%H:%M:%S")}))
    del draw_run, html_run


def start_list_with_people(n: int, first: datetime, zone: ZoneInfo, tmp: Path) -> dict[str, float | int]:
    """Create Starts from a StartList of `n` starts that name their runners, into an empty event."""
    ev = synthetic.make_event(seed=2, entries=n, date=first.date(), first_start=first, tz=zone)
    by_class: dict[str, list[StartRecord]] = {}
    for e in ev.entries:
        starts = by_class.setdefault(e.class_names[0], [])
        k = len(starts)
        starts.append(StartRecord(person=e.person, organisation=e.organisation, bib=str(1000 * (len(by_class)) + k + 1),
                                  start_time=first + timedelta(minutes=k), card=e.cards[0] if e.cards else None))
    data = write_start_list(ev.event, [ClassStart(ClassDef(c), tuple(s)) for c, s in by_class.items()],
                            creator="bench", create_time=datetime.now(zone))
    path = tmp / "in" / "startlist-people.xml"
    path.write_bytes(data)
    t0 = time.perf_counter()
    etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    parse = time.perf_counter() - t0
    db_path = tmp / "people.sqlite"
    db = open_database(db_path)
    try:
        _, took = run_job(db, db_path, "create-starts", {"source": "iof-xml", "file": str(path)})
        entries = Entry.select().count()
        linked = Start.select().where(Start.entry.is_null(False)).count()
    finally:
        db.close()
    return {"starts": n, "named": sum(len(s) for s in by_class.values()), "bytes": len(data), "import": took,
            "lxml_parse": parse, "ratio": took / parse, "entries": entries, "linked": linked}


if __name__ == "__main__":
    main()
