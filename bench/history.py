"""History upkeep at scale (issue 19): a year of runs, thousands of schedules, a runtime left idle.

    python bench/history.py                                   # 10k / 100k / 1M runs, 300 s idle each
    python bench/history.py --sizes 10000,100000 --idle-seconds 60
    python bench/history.py --sizes 1000000 --idle-seconds 300 --tmp /var/tmp

For each size N (and a 1,000-run database, the enqueue baseline) a fresh database in a fresh
folder gets, built with direct SQL (seconds, not the hours the engine would take):

  --tasks tasks of the Test job (default 200); --schedules schedules (default 10,000) created
  with `add_schedules` (one transaction; its time is printed): 60 % interval (every 6 h, 12 h,
  1 day or 1 week), 40 % cron (yearly, quarterly, monthly; Europe/Oslo), all active for a year,
  none due during the measurement;
  N finished runs spread over the past year, round robin over the tasks (every 20th of a task
  failed, with its one-line reason), each with two log lines and the occurrence that fired it;
  managed files (one small file each) on every 500th run of a task, and on tasks 0, 10, 20, ...
  only on their first run (so that retention must keep an old run: the task's latest file).

Then, in this order, each figure on that database:

  enqueue     `enqueue_run` (the API the CLI and the TUI call) of 1,000 runs, one transaction
              each, the runs deleted after each repeat; --rounds repeats per database, taken
              round after round across all databases (so the machine's load hits them alike);
              the median rate, and the median of each round's ratio to the 1,000-run
              database's rate in the same round (paired: next to each other in time).
  retention   the first `maintenance.prune` with the default retention (500 per task): runs
              removed, wall time, delete transactions and the longest (each holds the write
              lock: that is the bound), and the wait of a writer in another process meanwhile
              (it takes BEGIN IMMEDIATE every 10 ms: p99 and max of its waits). A transaction's
              time is wall time from its BEGIN IMMEDIATE to its COMMIT's end; its CPU time (the
              prune thread's) is printed beside it: on a shared machine the difference is time
              the thread waited for a core or for the kernel's write-back, not work.
  steady      5 more `prune` passes with nothing to do: median and max.
  idle        `t4o-tui --db PATH --worker` (the service, default config: retention 500, upkeep
              every 60 s, the scheduler holding the 10,000 schedules) left alone for
              --idle-seconds after it took the scheduler lease: its CPU (whole process, /proc,
              100 % = one core), RSS at the end and peak (VmHWM), the retention passes it logged,
              and that nothing fired meanwhile.

The table shows every size side by side; the last line is one JSON object with every figure.
The machine may be shared: ratios compare figures of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

YEAR = 365 * 86400.0
KEEP = 500  # the default retention
SETTINGS = '{"fail":false,"mark":false,"seconds":0.0,"write_file":false}'
INTERVALS = (6 * 3600.0, 12 * 3600.0, 86400.0, 7 * 86400.0)
CRONS = ("0 0 1 1 *", "0 6 1 */3 *", "30 2 1 * *", "45 23 1 * *")

PROBE = r"""
import json, sqlite3, sys, time
from pathlib import Path
db, stop = sys.argv[1], Path(sys.argv[2])
conn = sqlite3.connect(db, timeout=60, isolation_level=None)
conn.execute("PRAGMA busy_timeout=60000")
waits = []
print("ready", flush=True)
while not stop.exists():
    t0 = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    waits.append(time.perf_counter() - t0)
    conn.execute("COMMIT")
    time.sleep(0.01)
print(json.dumps(waits))
"""


# ---------------------------------------------------------------------------------------------------
# building the history
# ---------------------------------------------------------------------------------------------------
def build(folder: Path, n: int, args: argparse.Namespace, now: float) -> dict[str, Any]:
    from t4o_tui.engine.schedules import ScheduleInput, add_schedules
    from t4o_tui.store.db import open_database

    path = folder / "event.sqlite"
    db = open_database(path)
    conn = db.connection()
    t_start = time.perf_counter()
    tasks = args.tasks
    with db.atomic():
        conn.executemany(
            "INSERT INTO task(id, name, job, settings, direct, created_at, updated_at) VALUES (?, ?, 'test', ?, 0, ?, ?)",
            [(i + 1, f"history-{i:03d}", SETTINGS, now - YEAR, now - YEAR) for i in range(tasks)],
        )
    # Schedules through the API (that is item 2's figure); none comes due while we measure.
    rnd = random.Random(19)
    margin = args.idle_seconds + 5400.0
    inputs = []
    for s in range(args.schedules):
        task = s % tasks + 1
        if s % 5 < 3:
            every = INTERVALS[s % len(INTERVALS)]
            first = now + margin + rnd.uniform(0, 3600.0)  # the next fire; the grid started a year ago
            k = int((first - (now - YEAR)) // every)
            inputs.append(ScheduleInput(task=task, kind="interval", every=every, start=first - k * every,
                                        expiry=now + YEAR, tz="UTC"))
        else:
            inputs.append(ScheduleInput(task=task, kind="cron", cron=CRONS[s % len(CRONS)], start=now - YEAR,
                                        expiry=now + YEAR, tz="Europe/Oslo"))
    t0 = time.perf_counter()
    ids = add_schedules(db, inputs)
    create_s = time.perf_counter() - t0
    assert ids == list(range(1, args.schedules + 1)), "schedule ids are expected to be 1..N on a fresh database"
    soonest = conn.execute("SELECT min(next_fire) FROM schedule").fetchone()[0]
    per_task = args.schedules // tasks
    step = YEAR / max(n, 1)
    t_first = now - YEAR
    files_dir = folder / "files"
    files_dir.mkdir()
    with db.atomic():
        # Run i belongs to task i % T, in its round i // T; every 20th round of a task failed.
        conn.execute(
            "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i + 1 < ?) "
            "INSERT INTO run(id, task_id, status, lane, trigger, settings, enqueued_at, started_at, finished_at, "
            "worker, attempts, error) "
            "SELECT i + 1, i % ? + 1, CASE WHEN (i / ?) % 20 = 7 THEN 'failed' ELSE 'succeeded' END, 'queue', "
            "'schedule', ?, ? + i * ?, ? + i * ? + 0.01, ? + i * ? + 0.5, 'history:1:bench', 1, "
            "CASE WHEN (i / ?) % 20 = 7 THEN 'line 12, column 7: unknown element <Clas>' END FROM c",
            (n, tasks, tasks, SETTINGS, t_first, step, t_first, step, t_first, step, tasks),
        )
        conn.execute(
            "INSERT INTO run_log(run_id, ts, level, message) "
            "SELECT r.id, r.started_at + k.k * 0.4, 'info', "
            "CASE k.k WHEN 0 THEN 'started (trigger schedule, attempt 1)' ELSE r.status || ' in 0.49 s' END "
            "FROM run r CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1) k ORDER BY r.id, k.k"
        )
        # The occurrence that fired each run: schedule (i % T) + T * ((i / T) % per_task) of its task.
        conn.execute(
            "INSERT INTO occurrence(schedule_id, nominal, actual, state, run_id) "
            "SELECT (id - 1) % ? + ? * (((id - 1) / ?) % ?) + 1, enqueued_at - 0.002, enqueued_at, 'fired', id FROM run",
            (tasks, tasks, tasks, per_task),
        )
        arts = conn.execute(
            "SELECT id, task_id FROM run WHERE status = 'succeeded' AND "
            "((((id - 1) / ?) % 500 = 0 AND (task_id - 1) % 10 <> 0) OR ((id - 1) / ? = 0 AND (task_id - 1) % 10 = 0))",
            (tasks, tasks),
        ).fetchall()
        rows = []
        for rid, tid in arts:
            p = files_dir / f"run-{rid}.html"
            p.write_text(f"<p>results of run {rid}</p>\n", encoding="utf-8")
            rows.append((rid, tid, str(p), p.name, "text/html", p.stat().st_size, t_first + (rid - 1) * step + 0.5))
        conn.executemany(
            "INSERT INTO artifact(run_id, task_id, path, name, media_type, size, created_at, managed) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 1)", rows)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return {
        "runs": n, "build_s": time.perf_counter() - t_start, "add_schedules_s": create_s,
        "add_schedule_ms_each": create_s / max(args.schedules, 1) * 1000, "files": len(rows),
        "soonest_fire_in_s": (soonest - now) if soonest else None,
        "db_mb": path.stat().st_size / 1e6,
    }


# ---------------------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------------------
def measure_enqueue(path: Path, k: int, tasks: int) -> float:
    """One repeat: k runs enqueued one transaction each; the rate. They are deleted after."""
    from t4o_tui.engine.runs import enqueue_run
    from t4o_tui.store.db import open_database

    db = open_database(path)
    conn = db.connection()
    top = conn.execute("SELECT max(id) FROM run").fetchone()[0] or 0
    t0 = time.perf_counter()
    for j in range(k):
        enqueue_run(db, f"history-{j % tasks:03d}", trigger="manual")
    rate = k / (time.perf_counter() - t0)
    with db.atomic():
        conn.execute("DELETE FROM run WHERE id > ?", (top,))
    db.close()
    return rate


def measure_retention(path: Path, folder: Path) -> dict[str, Any]:
    from t4o_tui.engine import maintenance
    from t4o_tui.store.db import open_database

    db = open_database(path)
    conn = db.connection()
    before = conn.execute("SELECT count(*) FROM run").fetchone()[0]
    stop = folder / "probe.stop"
    probe = subprocess.Popen([sys.executable, "-c", PROBE, str(path), str(stop)], stdout=subprocess.PIPE, text=True)
    assert probe.stdout is not None
    probe.stdout.readline()  # ready
    time.sleep(0.2)
    stats = maintenance.PruneStats()
    t0 = time.perf_counter()
    removed = maintenance.prune(db, keep=KEEP, stats=stats)
    first_s = time.perf_counter() - t0
    time.sleep(0.2)
    stop.touch()
    waits = sorted(json.loads(probe.stdout.read().strip().splitlines()[-1]))
    probe.wait(30)
    steady = []
    for _ in range(5):
        t0 = time.perf_counter()
        again = maintenance.prune(db, keep=KEEP)
        steady.append(time.perf_counter() - t0)
        assert again == 0, f"a second prune pass removed {again} runs"
    check = _check_retention(conn, before, removed)
    db.close()
    holds = sorted(stats.holds)
    return {
        "removed": removed, "first_s": first_s, "transactions": stats.transactions,
        "hold_max_ms": stats.longest * 1000, "hold_p50_ms": _pct(holds, 50) * 1000,
        "hold_p99_ms": _pct(holds, 99) * 1000, "holds_over_50ms": sum(1 for h in holds if h > 0.05),
        "cpu_max_ms": max(stats.cpu, default=0.0) * 1000, "cpu_p99_ms": _pct(sorted(stats.cpu), 99) * 1000,
        "tasks_checked": stats.tasks_checked, "schedules_checked": stats.schedules_checked,
        "writer_waits": len(waits), "writer_wait_p99_ms": _pct(waits, 99) * 1000,
        "writer_wait_max_ms": (waits[-1] if waits else 0.0) * 1000,
        "steady_ms_median": statistics.median(steady) * 1000, "steady_ms_max": max(steady) * 1000,
        "check": check,
    }


def _check_retention(conn: sqlite3.Connection, before: int, removed: int) -> dict[str, Any]:
    """The rule: the newest 500 finished runs of each task stay, and each task's latest file."""
    from t4o_tui.engine.maintenance import LATEST_FILE_RUN_SQL

    problems = []
    after = conn.execute("SELECT count(*) FROM run").fetchone()[0]
    if after != before - removed:
        problems.append(f"runs: {before} - {removed} != {after}")
    for (tid,) in conn.execute("SELECT id FROM task").fetchall():
        n = conn.execute("SELECT count(*) FROM run WHERE task_id = ?", (tid,)).fetchone()[0]
        latest = conn.execute(LATEST_FILE_RUN_SQL, (tid,)).fetchone()
        if latest is None:
            problems.append(f"task {tid}: no latest file left")
            continue
        path = conn.execute("SELECT path FROM artifact WHERE run_id = ?", (latest[0],)).fetchone()[0]
        if not Path(path).exists():
            problems.append(f"task {tid}: its latest file {path} is gone")
        newest = conn.execute("SELECT min(id) FROM (SELECT id FROM run WHERE task_id = ? ORDER BY id DESC LIMIT ?)",
                              (tid, KEEP)).fetchone()[0]
        if n > KEEP + 1 or (n == KEEP + 1 and latest[0] >= newest):
            problems.append(f"task {tid}: {n} runs left")
    orphans = conn.execute("SELECT count(*) FROM run_log WHERE run_id NOT IN (SELECT id FROM run)").fetchone()[0]
    if orphans:
        problems.append(f"{orphans} log lines of deleted runs")
    gone = conn.execute("SELECT path FROM artifact").fetchall()
    files_left = sum(1 for _ in Path(gone[0][0]).parent.iterdir()) if gone else 0
    if files_left != len(gone):
        problems.append(f"{files_left} files on disk for {len(gone)} artifact rows")
    return {"ok": not problems, "problems": problems[:5]}


def measure_idle(path: Path, folder: Path, seconds: float) -> dict[str, Any]:
    cfg = folder / "config.toml"
    cfg.write_text("[share]\nport = 0\n", encoding="utf-8")
    env = dict(os.environ, T4O_TUI_CONFIG=str(cfg))
    env.pop("T4O_TUI_DB", None)
    log_path = folder / "worker.log"
    watch = sqlite3.connect(path, timeout=60)
    occ_before = watch.execute("SELECT max(id) FROM occurrence").fetchone()[0]
    run_before = watch.execute("SELECT max(id) FROM run").fetchone()[0]
    with open(log_path, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "t4o_tui.cli", "--db", str(path), "--worker", "--verbose"],
                                stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT, env=env)
        try:
            t_wait = time.monotonic()
            while watch.execute("SELECT 1 FROM lease WHERE name = 'scheduler'").fetchone() is None:
                if proc.poll() is not None or time.monotonic() - t_wait > 120:
                    raise SystemExit(f"the worker did not take the scheduler lease; see {log_path}")
                time.sleep(0.1)
            time.sleep(3.0)  # its first evaluator load and upkeep pass
            c0, w0 = _cpu(proc.pid), time.monotonic()
            peak = 0.0
            while time.monotonic() - w0 < seconds:
                time.sleep(min(5.0, max(seconds - (time.monotonic() - w0), 0.0)))
                peak = max(peak, _rss(proc.pid, "VmRSS"))
            c1, w1 = _cpu(proc.pid), time.monotonic()
            rss_end, hwm = _rss(proc.pid, "VmRSS"), _rss(proc.pid, "VmHWM")
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
    fired = watch.execute("SELECT count(*) FROM occurrence WHERE id > ?", (occ_before or 0,)).fetchone()[0]
    runs = watch.execute("SELECT count(*) FROM run WHERE id > ?", (run_before or 0,)).fetchone()[0]
    watch.close()
    text = log_path.read_text(encoding="utf-8", errors="replace")
    return {
        "cpu_pct": (c1 - c0) / (w1 - w0) * 100, "seconds": w1 - w0, "rss_mb": rss_end, "rss_peak_mb": max(hwm, peak),
        "retention_lines": len(re.findall(r"retention", text)), "occurrences_meanwhile": fired,
        "runs_meanwhile": runs, "exit_code": code, "errors": len(re.findall(r"ERROR|Traceback", text)),
    }


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def _load() -> str:
    la = os.getloadavg()
    return f"{la[0]:.2f} {la[1]:.2f} {la[2]:.2f}"


# ---------------------------------------------------------------------------------------------------
def build_size(n: int, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"history-{n}-", dir=root))
    print(f"  {n:,} runs: building in {folder} (load {_load()})", flush=True)
    out: dict[str, Any] = {"size": n, "folder": str(folder)}
    out["build"] = build(folder, n, args, time.time())
    print(f"    built in {out['build']['build_s']:.1f} s, {out['build']['db_mb']:.0f} MB", flush=True)
    return out


def enqueue_rounds(outs: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Enqueue rates of every database, interleaved (round after round, the order turning), so a
    change of the machine's load hits them alike; the median of the rounds."""
    rates: list[list[float]] = [[] for _ in outs]
    for rnd in range(args.rounds):
        order = list(range(len(outs)))
        order = order[rnd % len(order):] + order[: rnd % len(order)]
        for i in order:
            rates[i].append(measure_enqueue(Path(outs[i]["folder"]) / "event.sqlite", args.enqueue, args.tasks))
    for out, r in zip(outs, rates, strict=True):
        # Paired: each round's rate over the baseline's of the same round (taken next to it).
        paired = [x / b for x, b in zip(r, rates[0], strict=True)]
        out["enqueue"] = {"rate": statistics.median(r), "rates": r, "paired_ratio": statistics.median(paired)}
        print(f"  {out['size']:,} runs: enqueue {out['enqueue']['rate']:,.0f}/s (rounds: "
              + ", ".join(f"{x:,.0f}" for x in r) + ")", flush=True)


def measure_size(out: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(out["folder"])
    path = folder / "event.sqlite"
    n = out["size"]
    print(f"  {n:,} runs: retention and idle (load {_load()})", flush=True)
    out["load_before"] = _load()
    out["retention"] = measure_retention(path, folder)
    r = out["retention"]
    print(f"    first retention: {r['removed']:,} runs in {r['first_s']:.1f} s, {r['transactions']} transactions, "
          f"longest {r['hold_max_ms']:.1f} ms; steady {r['steady_ms_median']:.2f} ms", flush=True)
    if args.idle_seconds > 0:
        out["idle"] = measure_idle(path, folder, args.idle_seconds)
        i = out["idle"]
        print(f"    idle {i['seconds']:.0f} s: CPU {i['cpu_pct']:.2f} %, RSS {i['rss_mb']:.0f} MB "
              f"(peak {i['rss_peak_mb']:.0f})", flush=True)
    out["load_after"] = _load()
    return out


def remove(folder: Path) -> None:
    for p in sorted(folder.rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    folder.rmdir()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="finished runs in history, comma-separated")
    ap.add_argument("--idle-seconds", type=float, default=300.0, help="how long the worker is watched idle (0: not)")
    ap.add_argument("--schedules", type=int, default=10_000)
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--enqueue", type=int, default=1000, help="runs enqueued per repeat")
    ap.add_argument("--rounds", type=int, default=15, help="enqueue repeats per database (interleaved)")
    ap.add_argument("--baseline", type=int, default=1000, help="history size the enqueue rate is compared with")
    ap.add_argument("--tmp", default=None, help="folder for the databases (default: the system's temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the databases")
    args = ap.parse_args()
    from t4o_tui.engine.job import install_jobs
    from t4o_tui.jobs.registry import REGISTRY

    install_jobs(REGISTRY)  # a bench is an entry point: it hands the engine its jobs
    REGISTRY.load_all()  # as the worker does: no job is imported inside a measured run
    import logging

    logging.getLogger("t4o_tui").setLevel(logging.WARNING)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    root = Path(args.tmp) if args.tmp else Path(tempfile.gettempdir())
    print(f"history bench: {args.tasks} tasks, {args.schedules:,} schedules, retention {KEEP}; "
          f"{os.cpu_count()} CPUs, load {_load()}", flush=True)
    base = build_size(args.baseline, args, root)
    results = [build_size(n, args, root) for n in sizes]
    enqueue_rounds([base, *results], args)
    for r in results:
        measure_size(r, args)
    if not args.keep:
        for r in [base, *results]:
            remove(Path(r["folder"]))
    base_rate = base["enqueue"]["rate"]

    def col(label: str, fn: Any) -> None:
        cells = []
        for r in results:
            try:
                cells.append(fn(r))
            except (KeyError, TypeError):
                cells.append("–")
        print(f"| {label:<34} | " + " | ".join(f"{c:>14}" for c in cells) + " |")

    print()
    print(f"| {'runs in history':<34} | " + " | ".join(f"{r['size']:>14,}" for r in results) + " |")
    print(f"|{'-' * 36}|" + "|".join("-" * 16 for _ in results) + "|")
    col("build s (direct SQL)", lambda r: f"{r['build']['build_s']:.1f}")
    col("database MB", lambda r: f"{r['build']['db_mb']:.0f}")
    col("add_schedules 10k, s", lambda r: f"{r['build']['add_schedules_s']:.2f}")
    col(f"enqueue/s (x {args.baseline:,}-run db, paired)", lambda r: f"{r['enqueue']['rate']:,.0f} ({r['enqueue']['paired_ratio']:.2f})")
    col("1st retention: runs removed", lambda r: f"{r['retention']['removed']:,}")
    col("1st retention: s", lambda r: f"{r['retention']['first_s']:.1f}")
    col("1st retention: transactions", lambda r: f"{r['retention']['transactions']:,}")
    col("1st retention: tx ms p50 / p99", lambda r: f"{r['retention']['hold_p50_ms']:.1f} / {r['retention']['hold_p99_ms']:.1f}")
    col("1st retention: tx max ms (> 50)", lambda r: f"{r['retention']['hold_max_ms']:.0f} ({r['retention']['holds_over_50ms']})")
    col("1st retention: tx CPU ms p99 / max", lambda r: f"{r['retention']['cpu_p99_ms']:.1f} / {r['retention']['cpu_max_ms']:.1f}")
    col("writer's wait p99 / max ms", lambda r: f"{r['retention']['writer_wait_p99_ms']:.0f} / {r['retention']['writer_wait_max_ms']:.0f}")
    col("steady prune ms (median / max)", lambda r: f"{r['retention']['steady_ms_median']:.2f} / {r['retention']['steady_ms_max']:.2f}")
    col("idle worker CPU %", lambda r: f"{r['idle']['cpu_pct']:.2f}")
    col("idle worker RSS MB (peak)", lambda r: f"{r['idle']['rss_mb']:.0f} ({r['idle']['rss_peak_mb']:.0f})")
    print(f"\nbaseline: {args.baseline:,} runs, enqueue {base_rate:,.0f}/s; "
          f"add_schedule {base['build']['add_schedule_ms_each']:.3f} ms each in add_schedules")
    ok = True
    for r in results:
        ret, idle = r.get("retention", {}), r.get("idle")
        checks = {
            "retention rule kept": ret.get("check", {}).get("ok", False),
            "longest delete tx <= 50 ms": ret.get("hold_max_ms", 1e9) <= 50,
            "delete tx CPU <= 50 ms": ret.get("cpu_max_ms", 1e9) <= 50,
            "steady prune <= 50 ms": ret.get("steady_ms_max", 1e9) <= 50,
            "enqueue >= 0.9 x baseline (paired)": r["enqueue"]["paired_ratio"] >= 0.9,
        }
        if idle:
            checks.update({
                "idle CPU <= 2 %": idle["cpu_pct"] <= 2.0, "RSS <= 150 MB": idle["rss_peak_mb"] <= 150,
                "nothing fired while idle": idle["occurrences_meanwhile"] == 0 and idle["runs_meanwhile"] == 0,
                "worker exit 0, no errors": idle["exit_code"] == 0 and idle["errors"] == 0,
            })
        r["checks"] = checks
        bad = [k for k, v in checks.items() if not v]
        ok = ok and not bad
        print(f"{r['size']:>10,} runs: " + ("all checks hold" if not bad else "FAILED: " + ", ".join(bad))
              + (f" ({'; '.join(ret['check']['problems'])})" if ret.get("check", {}).get("problems") else ""))
    print(json.dumps({"baseline": base, "sizes": results, "ok": ok, "load_end": _load()}))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
