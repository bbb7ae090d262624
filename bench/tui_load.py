"""The terminal UI under an event's load: 10,000 schedules and 100,000 finished runs.

    python bench/tui_load.py [--schedules 10000] [--runs 100000] [--flow-seconds 20] [--rate 20]
                             [--idle 30] [--size 120x40] [--tmp DIR]

About a minute on 2 cores with the defaults. The app runs headless (`App.run_test`) with its
real runtime (queue and direct lanes, the scheduler, no share server) on a database built with
raw SQL inserts in one transaction, in a fresh temporary folder. Measured, in this order:

  first paint   from creating the app to the dashboard's schedule table holding its rows (the
                app starting, the engine starting and loading 10,000 schedules, the first poll)
  queue refresh the Queue view while a thread enqueues runs of a Test task (seconds=0) at
                `--rate` per second and the app's runtime executes them: each refresh cycle's
                duration as the screen records it (PollingScreen.poll_timings: the query in its
                thread, then updating the table on the event loop), and the event loop's stalls
                (how late a 10 ms timer fires) over the same time
  idle CPU      the dashboard with nothing happening: process CPU time / wall time over `--idle`
                seconds (the engine's threads included)
  memory        peak resident set size of the process (ru_maxrss)

Aims: first paint < 1 s, refresh < 50 ms (p95), idle CPU < 3 %, memory < 200 MB. The last line
of output is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from t4o_tui.config import Config  # noqa: E402
from t4o_tui.engine import schedule_math as sm  # noqa: E402
from t4o_tui.engine.runs import enqueue_run  # noqa: E402
from t4o_tui.engine.runtime import RuntimeOptions  # noqa: E402
from t4o_tui.store.db import open_database  # noqa: E402

AIMS = {"first_paint_s": 1.0, "refresh_p95_ms": 50.0, "idle_cpu_pct": 3.0, "peak_rss_mb": 200.0}
TZ = "Europe/Oslo"
TASKS = 200  # the finished runs are spread over them: 500 each, so retention prunes nothing


def build(path: Path, *, schedules: int, runs: int, now: float, seed: int = 7) -> dict[str, float]:
    """The schema through the store, then every row with plain executemany in one transaction."""
    open_database(path).close()
    rnd = random.Random(seed)
    t0 = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN")
    settings = json.dumps({"seconds": 0})
    conn.executemany(
        "INSERT INTO task(id, name, job, settings, created_at, updated_at) VALUES (?, ?, 'test', ?, ?, ?)",
        [(i, f"Bench task {i:03}", settings, now - 86400, now - 86400) for i in range(1, TASKS + 1)]
        + [(TASKS + 1, "Flow", settings, now, now)])
    statuses = ["succeeded"] * 90 + ["failed"] * 7 + ["cancelled"] * 3
    run_rows = []
    for i in range(runs):
        finished = now - 7 * 86400 + i * (7 * 86400 - 3600) / runs  # a week of runs, the last an hour ago
        status = statuses[i % len(statuses)]
        run_rows.append((i % TASKS + 1, status, "queue", "schedule" if i % 3 else "manual", finished - 2.0,
                         finished - 1.5, finished, "bench:1:000000", "failed on purpose" if status == "failed" else None, 1))
    conn.executemany(
        "INSERT INTO run(task_id, status, lane, trigger, enqueued_at, started_at, finished_at, worker, error, attempts) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", run_rows)
    sched_rows = []
    for i in range(schedules):
        task_id = i % TASKS + 1
        roll = rnd.random()
        every: float | None = None
        cron: str | None = None
        paused = 0
        if roll < 0.05:  # ended a while ago
            start, expiry, every = now - 3 * 86400, now - 86400, 3600.0
        elif roll < 0.35:  # upcoming: starts within three days
            start = now + 3600 + rnd.random() * 3 * 86400
            expiry, every = start + 86400, rnd.choice([600.0, 1800.0, 3600.0])
        elif roll < 0.70:  # active, daily, its next fire at least two hours off
            start, expiry, every = now - rnd.random() * 20 * 3600, now + 7 * 86400, 86400.0
        else:  # active, a daily cron at a time at least two hours off
            hour = (time.localtime(now).tm_hour + 2 + rnd.randrange(20)) % 24
            start, expiry, cron = now - 86400, now + 7 * 86400, f"{rnd.randrange(60)} {hour} * * *"
        if roll > 0.98:
            paused = 1
        spec = sm.ScheduleSpec(kind="interval" if every else "cron", start=start, expiry=expiry, tz=TZ, every=every,
                               cron=cron)
        nxt = sm.next_fire(spec, now)
        sched_rows.append((task_id, "interval" if every else "cron", TZ, start, expiry, every, cron, paused,
                           "bench pause" if paused else None, now, now, nxt.nominal if nxt else None, now, now))
    conn.executemany(
        "INSERT INTO schedule(task_id, kind, tz, start, expiry, every, cron, paused, pause_note, armed_at, "
        "evaluated_until, next_fire, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        sched_rows)
    # A third of the schedules fired once before, each with a run of its own task.
    occ = [(sid, now - 7200, now - 7199.99, "fired", runs - TASKS + (sid - 1) % TASKS + 1)
           for sid in range(1, schedules + 1, 3)]
    conn.executemany("INSERT INTO occurrence(schedule_id, nominal, actual, state, run_id) VALUES (?, ?, ?, ?, ?)", occ)
    conn.execute("COMMIT")
    conn.close()
    return {"build_s": time.perf_counter() - t0}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(int(round(q * (len(s) - 1))), len(s) - 1)]


async def until(pilot: object, predicate: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise SystemExit(f"tui_load: timed out waiting for {what}")


class LoopLag:
    """How late a 10 ms timer fires on the event loop: the UI's stalls."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.at: list[float] = []  # seconds after start of each probe
        self._task: asyncio.Task[None] | None = None
        self._t0 = 0.0

    async def _probe(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            self.lags.append(time.perf_counter() - t - 0.01)
            self.at.append(t - self._t0)

    def worst_at(self) -> float:
        return self.at[self.lags.index(max(self.lags))] if self.lags else 0.0

    def start(self) -> None:
        self.lags, self.at, self._t0 = [], [], time.perf_counter()
        self._task = asyncio.get_running_loop().create_task(self._probe())

    def stop(self) -> list[float]:
        if self._task is not None:
            self._task.cancel()
        return self.lags


async def measure(path: Path, args: argparse.Namespace) -> dict[str, object]:
    from t4o_tui.tui.app import T4oApp
    from t4o_tui.tui.screens.dashboard import DashboardScreen
    from t4o_tui.tui.screens.queue import QueueScreen
    from t4o_tui.tui.widgets.schedule_list import ScheduleList

    db = open_database(path)
    width, height = (int(x) for x in args.size.split("x"))
    out: dict[str, object] = {}
    t0 = time.perf_counter()
    app = T4oApp(Config(db=path, timezone=TZ), db, options=RuntimeOptions(share=False), watch_terminal=False)
    async with app.run_test(size=(width, height)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen)
                    and app.screen.query_one(ScheduleList).table.row_count > 0, "the dashboard's schedules")
        await pilot.pause(0)  # the frame with the rows
        out["first_paint_s"] = time.perf_counter() - t0
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        await until(pilot, lambda: app.engine_started, "the engine")
        out["dashboard_rows"] = dash.query_one(ScheduleList).table.row_count
        await pilot.pause(2.0)
        polls = list(dash.poll_timings)[1:]
        out["dashboard_poll_ms"] = round(statistics.median(p.total for p in polls) * 1000, 2) if polls else None

        # Queue view while runs flow.
        await pilot.press("2")
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        await until(pilot, lambda: len(queue.poll_timings) > 0, "the queue's first refresh")
        queue.poll_timings.clear()
        stop = threading.Event()
        enqueued: list[int] = []

        def flow() -> None:
            # As another process would: straight into the database, the lanes find them by polling.
            interval = 1.0 / args.rate
            nxt = time.monotonic()
            while not stop.is_set():
                enqueued.append(enqueue_run(db, "Flow", trigger="manual"))
                nxt += interval
                stop.wait(max(nxt - time.monotonic(), 0.0))

        lag = LoopLag()
        lag.start()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        thread = threading.Thread(target=flow, name="bench-flow", daemon=True)
        thread.start()
        await asyncio.sleep(args.flow_seconds)
        stop.set()
        thread.join()
        flow_cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0) * 100
        lags = lag.stop()
        timings = list(queue.poll_timings)

        def finished_all() -> bool:
            row = db.execute_sql("SELECT count(*) FROM run r JOIN task t ON t.id = r.task_id "
                                 "WHERE t.name = 'Flow' AND r.status = 'succeeded'").fetchone()
            return bool(row[0] >= len(enqueued))

        await until(pilot, finished_all, "the flowed runs to finish", timeout=60)
        totals = [t.total * 1000 for t in timings]
        out.update({
            "flow_runs": len(enqueued), "flow_cpu_pct": round(flow_cpu, 1), "refreshes": len(timings),
            "refresh_mean_ms": round(statistics.mean(totals), 2) if totals else None,
            "refresh_p95_ms": round(pct(totals, 0.95), 2), "refresh_max_ms": round(max(totals, default=0), 2),
            "refresh_load_p95_ms": round(pct([t.load * 1000 for t in timings], 0.95), 2),
            "refresh_apply_p95_ms": round(pct([t.apply * 1000 for t in timings], 0.95), 2),
            "loop_lag_p95_ms": round(pct(lags, 0.95) * 1000, 2), "loop_lag_max_ms": round(max(lags, default=0) * 1000, 2),
            "loop_lag_max_at_s": round(lag.worst_at(), 2),
            "queue_rows": queue.query_one("#runs").row_count,  # type: ignore[attr-defined]
        })

        # Idle: the dashboard, nothing happening.
        await pilot.press("1")
        await pilot.pause(3.0)  # let the last runs' retention and the first polls settle
        cpu0, loop0, wall0 = time.process_time(), time.thread_time(), time.perf_counter()
        await asyncio.sleep(args.idle)
        wall = time.perf_counter() - wall0
        out["idle_cpu_pct"] = round((time.process_time() - cpu0) / wall * 100, 2)
        # This thread runs the event loop: the UI's share; the rest is the engine's threads and
        # the threads the screens query the database in.
        out["idle_loop_cpu_pct"] = round((time.thread_time() - loop0) / wall * 100, 2)
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, "the app to stop", timeout=30)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=20.0, help="runs enqueued per second during the queue test")
    parser.add_argument("--flow-seconds", type=float, default=20.0)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle CPU measurement")
    parser.add_argument("--size", default="120x40", help="terminal size, e.g. 80x24")
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the database (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="t4o-tui-load-", dir=args.tmp) as tmp:
        path = Path(tmp) / "event.sqlite"
        now = time.time()
        figures: dict[str, object] = {"schedules": args.schedules, "finished_runs": args.runs, "size": args.size}
        figures.update({k: round(v, 2) for k, v in build(path, schedules=args.schedules, runs=args.runs, now=now).items()})
        print(f"built {args.schedules:,} schedules and {args.runs:,} finished runs in {figures['build_s']} s", flush=True)
        figures.update(asyncio.run(measure(path, args)))
    print()
    rows = [
        ("first paint of the dashboard", f"{figures['first_paint_s']:.3f} s", f"< {AIMS['first_paint_s']:g} s",
         figures["first_paint_s"], "first_paint_s"),  # type: ignore[list-item]
        ("dashboard refresh (median)", f"{figures['dashboard_poll_ms']} ms", "", None, ""),
        (f"queue refresh at {args.rate:g} runs/s (p95)", f"{figures['refresh_p95_ms']} ms",
         f"< {AIMS['refresh_p95_ms']:g} ms", figures["refresh_p95_ms"], "refresh_p95_ms"),
        ("  of which query / table update (p95)", f"{figures['refresh_load_p95_ms']} / {figures['refresh_apply_p95_ms']} ms",
         "", None, ""),
        ("  mean / max", f"{figures['refresh_mean_ms']} / {figures['refresh_max_ms']} ms", "", None, ""),
        ("event-loop stall while flowing (p95 / max)", f"{figures['loop_lag_p95_ms']} / {figures['loop_lag_max_ms']} ms",
         f"(max at +{figures['loop_lag_max_at_s']} s)", None, ""),
        ("CPU while flowing (app + engine)", f"{figures['flow_cpu_pct']} %", "", None, ""),
        (f"idle CPU over {args.idle:g} s", f"{figures['idle_cpu_pct']} %", f"< {AIMS['idle_cpu_pct']:g} %",
         figures["idle_cpu_pct"], "idle_cpu_pct"),
        ("  of which the event loop (UI)", f"{figures['idle_loop_cpu_pct']} %", "", None, ""),
        ("peak memory (RSS)", f"{figures['peak_rss_mb']} MB", f"< {AIMS['peak_rss_mb']:g} MB", figures["peak_rss_mb"],
         "peak_rss_mb"),
    ]
    met = {}
    for label, value, aim, raw, key in rows:
        ok = ""
        if key:
            met[key] = bool(isinstance(raw, int | float) and raw < AIMS[key])
            ok = "ok" if met[key] else "MISSED"
        print(f"{label:<46} {value:>18}  {aim:<10} {ok}")
    print(f"({figures['flow_runs']} runs flowed and all succeeded; {figures['refreshes']} queue refreshes; "
          f"{figures['dashboard_rows']} schedule rows on the dashboard; {figures['queue_rows']} rows in the queue view)")
    figures["aims_met"] = met
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
