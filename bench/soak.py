"""Soak: workers killed with SIGKILL over and over, and a large-file import beside a 1 s schedule.

    python bench/soak.py                       # 100 kills, 2,000,000-row start file; about 4 min on 2 cores
    python bench/soak.py --kills 20 --rows 400000

Part 1 (kills): 600 runs of a job that leaves a mark row in its own transaction, on both lanes,
worked off by two `t4o-tui --worker` processes; every 0.2-0.8 s one of them is killed with
SIGKILL and started again, until --kills kills. Then the last two drain the queue (orphans are
found when their lease runs out) and stop with SIGTERM. Printed: stuck (runs still queued or
running), doubled (a run's mark written twice), lost (a succeeded run without its mark, or a mark
of a run that did not succeed), overlapping (two queue-lane runs at once), and the runs failed
after three lost workers (the designed end of a run that keeps losing its worker).

Part 2 (long import): one worker; a Create Starts run reads a --rows start file while a Direct
task fires every second and a probe thread opens a write transaction every 50 ms. Printed: the
longest write lock held (the import's longest committed step, from its log: jobs/steps.py), the
longest wait of another writer (the probe's for `BEGIN IMMEDIATE`), the 1 s schedule's lateness p50/p99/max and
its occurrences that did not fire, while the import parsed, while it wrote, and in all.
Then one summary line (stuck, doubled, lost, overlapping, longest write lock held, schedule
lateness p99 during the import); the last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from t4o_tui.engine import queue  # noqa: E402
from t4o_tui.engine.job import install_jobs  # noqa: E402
from t4o_tui.engine.schedules import ScheduleInput, add_schedule  # noqa: E402
from t4o_tui.engine.tasks import create_task  # noqa: E402
from t4o_tui.jobs.registry import REGISTRY  # noqa: E402
from t4o_tui.store.db import open_database  # noqa: E402
from t4o_tui.store.models import Event, Occurrence, Race, Run, RunLog, TestMark  # noqa: E402

install_jobs(REGISTRY)  # a bench is an entry point: it hands the engine the jobs it runs
REGISTRY.load_all()  # as the worker does: no job is imported inside a measured run


def env_for(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("T4O_TUI_")}
    env["T4O_TUI_CONFIG"] = str(folder / "config.toml")
    return env


def start_worker(db_path: Path, folder: Path, name: str) -> subprocess.Popen[bytes]:
    log = open(folder / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
    return subprocess.Popen([sys.executable, "-m", "t4o_tui", "--db", str(db_path), "--worker", "--share-port", "0"],
                            stdout=log, stderr=subprocess.STDOUT, env=env_for(folder))


def wait_ready(folder: Path, name: str, before: int, timeout: float = 60) -> None:
    """Wait for the worker's readiness line (the count of them in its log grows past `before`)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if (folder / f"{name}.log").read_text(errors="replace").count("runtime started") > before:
            return
        time.sleep(0.02)
    raise SystemExit(f"worker {name} did not start")


def soak_kills(kills: int, runs: int) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="t4o-soak-"))
    (folder / "config.toml").write_text("[engine]\nlease = 3\ngrace = 5\n")
    db_path = folder / "soak.sqlite"
    db = open_database(db_path)
    slow = create_task("Slow", "test", {"seconds": 0.3, "mark": True})
    quick = create_task("Quick", "test", {"seconds": 0.05, "mark": True}, direct=True)
    conn = db.connection()
    ids = [queue.enqueue(conn, (slow if i % 3 else quick).id, direct=not i % 3, trigger="manual", now=time.time())
           for i in range(runs)]
    names = ["a", "b"]
    procs = {n: start_worker(db_path, folder, n) for n in names}
    for n in names:
        wait_ready(folder, n, 0)
    rng = random.Random(7)
    started = time.monotonic()
    for k in range(kills):
        time.sleep(rng.uniform(0.2, 0.8))
        victim = rng.choice(names)
        procs[victim].kill()
        procs[victim].wait()
        before = (folder / f"{victim}.log").read_text(errors="replace").count("runtime started")
        procs[victim] = start_worker(db_path, folder, victim)
        wait_ready(folder, victim, before)
        if (k + 1) % 20 == 0:
            print(f"  {k + 1} kills", file=sys.stderr)
    killing = time.monotonic() - started
    end = time.monotonic() + 600
    while Run.select().where(Run.status.in_(("queued", "running"))).count() and time.monotonic() < end:
        time.sleep(0.5)
    codes = []
    for p in procs.values():
        p.send_signal(signal.SIGTERM)
        codes.append(p.wait(60))
    runs_rows = list(Run.select())
    marks: dict[int, int] = {}
    for m in TestMark.select():
        marks[m.run_id] = marks.get(m.run_id, 0) + 1
    status = {r.id: r.status for r in runs_rows}
    stuck = sum(1 for r in runs_rows if r.status in ("queued", "running"))
    doubled = sum(1 for n in marks.values() if n > 1)
    lost = sum(1 for r in runs_rows if r.status == "succeeded" and r.id not in marks) + \
        sum(1 for rid in marks if status.get(rid) != "succeeded")
    missing = len(set(ids) - set(status))
    lane = sorted((r.started_at, r.finished_at, r.id) for r in runs_rows if r.lane == "queue" and r.status == "succeeded")
    overlapping = sum(1 for a, b in zip(lane, lane[1:], strict=False) if a[1] > b[0])
    gave_up = sum(1 for r in runs_rows if r.status == "failed" and "worker lost" in (r.error or ""))
    db.close()
    return {"kills": kills, "runs": runs, "kill_phase_s": round(killing, 1), "stuck": stuck, "doubled": doubled,
            "lost": lost + missing, "overlapping": overlapping, "failed_after_3_lost_workers": gave_up,
            "succeeded": sum(1 for r in runs_rows if r.status == "succeeded"), "exit_codes": codes}


class LockProbe(threading.Thread):
    """Opens a write transaction every 50 ms and keeps the longest wait for it."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.conn = sqlite3.connect(path, timeout=600, isolation_level=None, check_same_thread=False)
        self.stop = threading.Event()
        self.waits: list[tuple[float, float]] = []  # (when, seconds waited)

    def run(self) -> None:
        while not self.stop.is_set():
            t0 = time.monotonic()
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("ROLLBACK")
            self.waits.append((time.time(), time.monotonic() - t0))
            self.stop.wait(0.05)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def soak_import(rows: int) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="t4o-soak-import-"))
    (folder / "config.toml").write_text("[engine]\nlease = 15\n")
    db_path = folder / "import.sqlite"
    db = open_database(db_path)
    event = Event.create(name="Soak", timezone="UTC")
    Race.create(event=event, name="Day 1", race_number=1, date="2027-06-12")
    big = folder / "starts.csv"
    with big.open("w") as fh:
        fh.write("CLASS NAME;BIB NO;START TIME\n")
        for i in range(rows):
            fh.write(f"H{i % 40};{i + 1};{10 + i // 36000 % 10:02d}:{(i // 600) % 60:02d}:{(i // 10) % 60:02d}\n")
    size_mb = big.stat().st_size / 1e6
    task = create_task("Big starts", "create-starts", {"source": "csv", "file": str(big)}, timeout=3600)
    create_task("Tick", "test", {"seconds": 0}, direct=True)
    now = time.time()
    tick = add_schedule(db, ScheduleInput(task="Tick", kind="interval", every=1, start=now, expiry=now + 7200, overlap="allow"))
    w = start_worker(db_path, folder, "w")
    wait_ready(folder, "w", 0)
    probe = LockProbe(db_path)
    probe.start()
    time.sleep(3)  # a few on-time fires before the import, for the reference
    rid = queue.enqueue(db.connection(), task.id, direct=False, trigger="manual", now=time.time())
    while Run.get_by_id(rid).status in ("queued", "running"):
        time.sleep(0.2)
    time.sleep(2)
    probe.stop.set()
    probe.join()
    w.send_signal(signal.SIGTERM)
    code = w.wait(60)
    run = Run.get_by_id(rid)

    def at(text: str) -> float | None:
        line = RunLog.select().where(RunLog.run == rid, RunLog.message.contains(text)).first()
        return line.ts if line else None

    begin, parsed = at("bytes)"), at("starts read from the file")
    said = RunLog.select().where(RunLog.run == rid, RunLog.message.contains("the longest held the write lock")).first()
    steps_line = said.message if said else ""
    occ = list(Occurrence.select().where(Occurrence.schedule == tick.id))

    def late(lo: float, hi: float) -> tuple[list[float], int]:
        inside = [o for o in occ if lo <= o.nominal <= hi]
        fired = [o.actual - o.nominal for o in inside if o.state == "fired" and o.actual is not None]
        return fired, sum(o.count for o in inside if o.state != "fired")

    whole_l, whole_bad = late(run.started_at, run.finished_at)
    parse_l, parse_bad = late(begin or run.started_at, parsed or run.finished_at)
    write_l, write_bad = late(parsed or run.started_at, run.finished_at)
    # A wait is noted when it ends: one that ends up to a second after the run began during it.
    lock_waits = [w_ for t, w_ in probe.waits if run.started_at <= t <= run.finished_at + 1]
    db.close()
    return {
        "rows": rows, "file_mb": round(size_mb, 1), "status": run.status, "attempts": run.attempts,
        "run_s": round(run.finished_at - run.started_at, 1), "parse_s": round((parsed or 0) - (begin or 0), 1),
        "longest_write_lock_ms": int(steps_line.rsplit(" ", 2)[-2]) if steps_line else None,
        "longest_wait_for_the_lock_ms": round(max(lock_waits, default=0) * 1000),
        "steps": int(steps_line.split()[2]) if steps_line else None,
        "lateness_during_parse_ms": {"p50": round(pct(parse_l, 0.5) * 1000, 1), "p99": round(pct(parse_l, 0.99) * 1000, 1),
                                     "max": round(max(parse_l, default=0) * 1000, 1), "not_fired": parse_bad},
        "lateness_during_writes_ms": {"p50": round(pct(write_l, 0.5) * 1000, 1), "p99": round(pct(write_l, 0.99) * 1000, 1),
                                      "max": round(max(write_l, default=0) * 1000, 1), "not_fired": write_bad},
        "lateness_during_run_ms": {"p50": round(pct(whole_l, 0.5) * 1000, 1), "p99": round(pct(whole_l, 0.99) * 1000, 1),
                                   "max": round(max(whole_l, default=0) * 1000, 1), "not_fired": whole_bad},
        "write_s": round(run.finished_at - (parsed or run.started_at), 1),
        "exit_code": code,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--runs", type=int, default=600)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--only", choices=("kills", "import"), default=None)
    args = ap.parse_args()
    out: dict[str, object] = {}
    if args.only in (None, "kills"):
        print(f"kill soak: {args.kills} SIGKILLs over {args.runs} runs, two workers…", file=sys.stderr)
        k = out["kills"] = soak_kills(args.kills, args.runs)
        print(f"kills {k['kills']}: stuck {k['stuck']}, doubled {k['doubled']}, lost {k['lost']}, overlapping "
              f"{k['overlapping']}; succeeded {k['succeeded']}, failed after 3 lost workers "
              f"{k['failed_after_3_lost_workers']}; exit codes {k['exit_codes']}")
    if args.only in (None, "import"):
        print(f"import soak: {args.rows} rows beside a 1 s schedule…", file=sys.stderr)
        m = out["import"] = soak_import(args.rows)
        p, wr, r = m["lateness_during_parse_ms"], m["lateness_during_writes_ms"], m["lateness_during_run_ms"]
        print(f"import {m['rows']} rows ({m['file_mb']} MB): {m['status']} (attempts {m['attempts']}) in {m['run_s']} s, "
              f"parse {m['parse_s']} s, writes {m['write_s']} s in {m['steps']} committed steps; longest write lock held "
              f"{m['longest_write_lock_ms']} ms (the import's longest step), longest wait of another writer for the lock "
              f"{m['longest_wait_for_the_lock_ms']} ms")
        print(f"1 s schedule during the parse: p50 {p['p50']} ms, p99 {p['p99']} ms, max {p['max']} ms, "
              f"not fired {p['not_fired']}; during the writes: p50 {wr['p50']} ms, p99 {wr['p99']} ms, max {wr['max']} ms, "
              f"not fired {wr['not_fired']}; during the whole run: p99 {r['p99']} ms, max {r['max']} ms, "
              f"not fired {r['not_fired']}")
    k_, m_ = out.get("kills"), out.get("import")
    figures = []
    if isinstance(k_, dict):
        figures += [f"stuck {k_['stuck']}", f"doubled {k_['doubled']}", f"lost {k_['lost']}", f"overlapping {k_['overlapping']}"]
    if isinstance(m_, dict):
        figures += [f"longest write lock held {m_['longest_write_lock_ms']} ms",
                    f"schedule lateness p99 during the import {m_['lateness_during_run_ms']['p99']} ms "
                    f"(not fired {m_['lateness_during_run_ms']['not_fired']})"]
    print("summary: " + ", ".join(figures))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
