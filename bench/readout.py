"""Station readout at scale: N cards read from a simulated SportIdent station on a pseudo-terminal.

    python bench/readout.py [-n 1000] [--no-printer]

A synthetic race of N entries (courses of about 10-25 controls); each entry gets a card of one of
the types SI5, SI6, SI8, SI9, SI10, SI11, SIAC in turn. The si-readout task runs on the Direct lane
of a real runtime; the simulated station (tests/si_simulator.py, the one the tests use) announces
each card, serves its memory block by block and waits for the ACK, one card after the other as at a
readout table. Per card: the time from the card put in to its result stored (polled in the database
every millisecond from another connection). Figures: readouts/s over the whole run, latency p50/p99,
and checks: every card stored once, processed into a result, one HTML ticket and one ESC/POS ticket each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))

from _jobs import drawn_event  # noqa: E402
from si_simulator import SimCard, StationSimulator  # noqa: E402

from t4o_tui.config import data_dir_for  # noqa: E402
from t4o_tui.engine.runs import cancel_run, enqueue_run, get_run  # noqa: E402
from t4o_tui.engine.runtime import Runtime, RuntimeOptions  # noqa: E402
from t4o_tui.engine.tasks import create_task  # noqa: E402
from t4o_tui.jobs.timing_data import load_race  # noqa: E402
from t4o_tui.store.db import open_database  # noqa: E402
from t4o_tui.store.models import Result, StationData  # noqa: E402

KINDS = (("SI5", 200_001), ("SI6", 500_001), ("SI8", 2_000_001), ("SI9", 1_000_001), ("SI10", 7_000_001),
         ("SI11", 9_000_001), ("SIAC", 8_000_001))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--no-printer", action="store_true", help="HTML tickets only")
    args = ap.parse_args()
    zone = ZoneInfo("Europe/Oslo")
    first = (datetime.now(zone) - timedelta(hours=3)).replace(second=0, microsecond=0)
    # Starts a second apart so that every runner has started before the readouts.
    tmp, db, db_path = drawn_event("t4o-bench-readout-", first, zone, seed=5, entries=args.n, start_interval=1,
                                   max_time=6 * 3600)

    # A card of each type in turn for every entry (replacing the synthetic ones), and the card as punched.
    conn = db.connection()
    rd = load_race(conn, conn.execute("SELECT id FROM race").fetchone()[0])
    cards: list[tuple[int, SimCard]] = []
    with db.atomic():
        conn.execute("DELETE FROM entry_card")
        for k, (eid, info) in enumerate(sorted(rd.entries.items())):
            kind, base = KINDS[k % len(KINDS)]
            number = base + k
            cid = conn.execute("INSERT INTO card(number, card_type, rental) VALUES (?, 'SI', 0)", (str(number),)).lastrowid
            conn.execute("INSERT INTO entry_card(entry_id, card_id) VALUES (?, ?)", (eid, cid))
            start = float(int(info.start_time or first.timestamp()))
            codes = [c.code for c in rd.courses.get(info.course_id or -1, []) if c.kind.value == "control" and c.code.isdigit()]
            step = min(60.0, 9000 / (len(codes) + 1))
            punches = [(int(code), datetime.fromtimestamp(start + step * (j + 1), zone)) for j, code in enumerate(codes)
                       if kind != "SI5" or j < 36]
            cards.append((eid, SimCard(number, kind, punches, start=datetime.fromtimestamp(start, zone),
                                       finish=datetime.fromtimestamp(start + step * (len(codes) + 1) + 3, zone))))

    link = tmp / "ttySI"
    sim = StationSimulator(link)
    printer = tmp / "printer.bin"
    settings = {"port": str(link), "max_wait": 0.5}
    if not args.no_printer:
        settings["printer"] = str(printer)
    create_task("readout", "si-readout", settings, direct=True)
    loop = asyncio.new_event_loop()
    rt = Runtime(db, data_dir=data_dir_for(db_path), options=RuntimeOptions(poll=0.01, scheduler=False, retention=10**6))
    ready = threading.Event()

    def engine() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(rt.start())
        ready.set()
        loop.run_forever()

    threading.Thread(target=engine, daemon=True).start()
    ready.wait(30)
    rid = enqueue_run(db, "readout")
    probe = open_database(db_path)  # another connection, as another process would see the results
    pconn = probe.connection()
    while pconn.execute("SELECT value FROM task_state WHERE key='station'").fetchone() is None or \
            '"connected"' not in pconn.execute("SELECT value FROM task_state WHERE key='station'").fetchone()[0]:
        time.sleep(0.01)

    latencies: list[float] = []
    began = time.perf_counter()
    for n, (eid, card) in enumerate(cards, start=1):
        t0 = time.perf_counter()
        sim.insert(card)
        sim.wait_acks(n, timeout=30)
        deadline = time.monotonic() + 30
        while pconn.execute("SELECT 1 FROM result WHERE entry_id=?", (eid,)).fetchone() is None:
            if time.monotonic() > deadline:
                raise SystemExit(f"card {card.number}: no result after 30 s")
            time.sleep(0.001)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - began
    tickets_dir = data_dir_for(db_path) / "files"
    deadline = time.monotonic() + 30
    while len(list(tickets_dir.rglob("*ticket*.html"))) < len(cards) and time.monotonic() < deadline:
        time.sleep(0.01)
    cancel_run(db, rid)
    while get_run(db, rid).status == "running":
        time.sleep(0.01)
    asyncio.run_coroutine_threadsafe(rt.stop(), loop).result(60)
    loop.call_soon_threadsafe(loop.stop)
    sim.close()
    db.connect(reuse_if_open=True)

    stored = StationData.select().count()
    results = Result.select().count()
    ok = Result.select().where(Result.status == "OK").count()
    html = len(list(tickets_dir.rglob("*ticket*.html")))
    escpos = printer.read_bytes().count(b"\x1dV\x01") if printer.exists() else 0
    figures = {
        "readouts": len(cards), "seconds": round(elapsed, 3), "readouts_per_s": round(len(cards) / elapsed, 1),
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "latency_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "latency_max_ms": round(max(latencies) * 1000, 1),
        "stored": stored, "results": results, "ok": ok, "html_tickets": html, "escpos_tickets": escpos,
    }
    checks = {"every card stored once": stored == len(cards), "every card a result": results == len(cards),
              "every card an HTML ticket": html == len(cards),
              "every card an ESC/POS ticket": args.no_printer or escpos == len(cards),
              "run cancelled cleanly": get_run(db, rid).status == "cancelled"}
    print(f"readout: {len(cards)} cards ({', '.join(k for k, _ in KINDS)} in turn) through a simulated station, 2 cores")
    print(f"  {figures['readouts_per_s']} readouts/s; card in → result stored p50 {figures['latency_p50_ms']} ms, "
          f"p99 {figures['latency_p99_ms']} ms, max {figures['latency_max_ms']} ms; {ok} OK of {results}")
    for what, good in checks.items():
        print(f"  {'ok ' if good else 'FAIL'} {what}")
    print(json.dumps({**figures, "checks": all(checks.values()), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}))
    if not all(checks.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
