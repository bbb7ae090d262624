"""Growth at three sizes (issue 19): import, draw, processing and lists, each beside a floor measured in the same run.

    python bench/growth.py                       # 1,000 / 10,000 / 50,000 entries, about 4 min on 2 cores
    python bench/growth.py --sizes 1000,10000    # quicker
    python bench/growth.py --only import,draw

For each size N a synthetic event of N entries goes through the real runtime, one job at a time, and
each job's figure is the run's own duration as the engine records it (claim to finish). Its floor is
measured in the same process right after it, so a busy machine slows both alike; the ratio is the
figure that should stay flat as N grows (linear growth), and what the aims are stated in:

| step | job | floor |
|------|-----|-------|
| import | import-entries (10k EntryList: aim <= 5x) | a bare lxml parse of the same file (`etree.fromstring`, no checks) |
| draw | assign-starts with club separation | reading the race's entries (plain sqlite3) and shuffling each class (random.shuffle), no separation, no writes |
| process | process-station-data (10k readouts: aim <= 1.5 s) | reading every readout row with sqlite3 and decoding its punches (json.loads) |
| result_list | result-list iof-xml (10k: aim <= 1 s) | lxml serialising the same document (`etree.tostring` of the job's own output, parsed beforehand) |
| start_list | start-list iof-xml (10k: aim <= 1 s) | the same for the StartList |

Each floor is the median of three. The machine's load average is printed before and after: on a
shared machine the seconds move, the ratios much less. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _jobs import run_job  # noqa: E402

from t4o_tui.engine.runs import run_log  # noqa: E402
from t4o_tui.orienteering import synthetic  # noqa: E402
from t4o_tui.store.db import open_database  # noqa: E402
from t4o_tui.store.models import Class, StationData  # noqa: E402

STEPS = ("import", "draw", "process", "result_list", "start_list")


def floor(fn: Callable[[], object]) -> float:
    """Median of three runs of `fn`."""
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def serialise_floor(path: str) -> float:
    tree = etree.parse(path, etree.XMLParser(resolve_entities=False, no_network=True))
    return floor(lambda: etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))


def one_size(n: int, only: set[str], keep: bool = False) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"t4o-bench-growth-{n}-"))
    zone = ZoneInfo("Europe/Oslo")
    first = (datetime.now(zone) - timedelta(hours=12)).replace(minute=0, second=0, microsecond=0)
    entries_xml = write_files(tmp, n, first, zone)
    # The synthetic event is gone by now: a worker does not hold 50,000 generated entries, and
    # Python's collector would walk them during every job measured here.
    gc.collect()
    db_path = tmp / "event.sqlite"
    db = open_database(db_path)
    out: dict[str, Any] = {"n": n}

    def step(name: str, job_time: float, floor_time: float) -> None:
        out[name] = {"s": round(job_time, 4), "floor": round(floor_time, 4), "ratio": round(job_time / floor_time, 2)}

    data = entries_xml.read_bytes()
    run, took = run_job(db, db_path, "import-entries", {"file": str(entries_xml)})
    if "import" in only:
        step("import", took, floor(lambda: etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))))
        # How it wrote: committed steps, and the longest any held the write lock (its run log says).
        said = " ".join(line.message for line in run_log(db, run.id))
        got = re.search(r"written in (\d+) committed steps.*?longest held the write lock (\d+) ms", said)
        if got:
            out["import"]["steps"], out["import"]["longest_lock_ms"] = int(got[1]), int(got[2])
    run_job(db, db_path, "import-courses", {"file": str(tmp / "courses.xml")})
    with db.atomic():
        for i, c in enumerate(Class.select().order_by(Class.name)):
            c.first_start, c.start_interval, c.bib_start, c.max_time = first.timestamp(), 4, 10000 * (i + 1), 4 * 3600
            c.vacancies = 2
            c.save()
    run_job(db, db_path, "create-starts", {})
    _, took = run_job(db, db_path, "assign-starts", {"seed": "1"})
    if "draw" in only:
        step("draw", took, floor(lambda: plain_shuffle(db_path)))
    if "start_list" in only:
        run, took = run_job(db, db_path, "start-list", {"format": "iof-xml"}, name="start xml")
        step("start_list", took, serialise_floor(run.output))
    if {"process", "result_list"} & only:
        run_job(db, db_path, "test-timing", {"test_event": True, "results_per_run": n, "missing_probability": 0.05})
        out["readouts"] = StationData.select().count()
        _, took = run_job(db, db_path, "process-station-data", {})
        if "process" in only:
            step("process", took, floor(lambda: read_readouts(db_path)))
        if "result_list" in only:
            run, took = run_job(db, db_path, "result-list", {"format": "iof-xml"}, name="result xml")
            step("result_list", took, serialise_floor(run.output))
    db.close()
    if not keep:
        shutil.rmtree(tmp, ignore_errors=True)  # a 50,000-entry event is a few hundred MB
    return out


def write_files(tmp: Path, n: int, first: datetime, zone: ZoneInfo) -> Path:
    ev = synthetic.make_event(seed=2, entries=n, date=first.date(), first_start=first, tz=zone)
    entries_xml = tmp / "entries.xml"
    entries_xml.write_bytes(synthetic.entry_list_xml(ev))
    (tmp / "courses.xml").write_bytes(synthetic.course_data_xml(ev))
    return entries_xml


def plain_shuffle(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    try:
        by_class: dict[int, list[tuple[int, int]]] = {}
        for eid, cid, org in conn.execute("SELECT id, class_id, organisation_id FROM entry"):
            by_class.setdefault(cid, []).append((eid, org))
        rng = random.Random(1)
        for entries in by_class.values():
            rng.shuffle(entries)
    finally:
        conn.close()


def read_readouts(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    try:
        for _, punches in conn.execute("SELECT id, punches FROM station_data"):
            json.loads(punches)
    finally:
        conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,50000", help="entries per event, comma-separated")
    ap.add_argument("--only", default=",".join(STEPS), help=f"steps, comma-separated: {','.join(STEPS)}")
    ap.add_argument("--keep", action="store_true", help="keep each size's temporary folder (database, files)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    only = {s.strip() for s in args.only.split(",")}
    if unknown := only - set(STEPS):
        raise SystemExit(f"--only: unknown step {', '.join(sorted(unknown))}; the steps are {', '.join(STEPS)}")
    load_before = os.getloadavg()
    rows = [one_size(n, only, args.keep) for n in sizes]
    load_after = os.getloadavg()
    print(f"growth: {', '.join(f'{n:,}' for n in sizes)} entries; {os.cpu_count()} cores; load average "
          f"{load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print(f"{'step':12} {'entries':>7} {'seconds':>8} {'floor s':>8} {'ratio':>6} {'x prev':>7}")
    for name in STEPS:
        prev: dict[str, Any] | None = None
        for row in rows:
            if name not in row:
                continue
            fig = row[name]
            growth = f"{fig['s'] / prev['s']:6.1f}x" if prev else ""
            print(f"{name:12} {row['n']:>7} {fig['s']:8.3f} {fig['floor']:8.4f} {fig['ratio']:6.1f} {growth:>7}")
            prev = fig
    for row in rows:
        if "steps" in row.get("import", {}):
            fig = row["import"]
            print(f"import of {row['n']:,}: written in {fig['steps']} committed steps, the longest held the write "
                  f"lock {fig['longest_lock_ms']} ms (the lock free between them, jobs/steps.py)")
    print(json.dumps({"sizes": sizes, "load": [round(load_before[0], 2), round(load_after[0], 2)], "rows": rows,
                      "time": time.strftime("%Y-%m-%dT%H:%M:%S")}))


if __name__ == "__main__":
    main()
