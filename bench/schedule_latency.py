"""Schedule latency: t4o-tui's evaluator against APScheduler 3's asyncio scheduler, 10,000 schedules.

    python bench/schedule_latency.py [-n 10000] [--duration 60] [--warmup 5] [--tasks 100]
                                     [--only t4o,apscheduler] [--batch SECONDS] [--tmp DIR]
                                     [--profile FILE]

About 2.5 minutes on 2 cores with the defaults (each variant: set-up, warm-up, 60 s measured,
analysis). Needs `pip install 'apscheduler>=3.10,<4'` (bench-only dependency, the peer).

The same N schedules go through both variants, each in its own subprocess (a fresh interpreter,
one variant at a time, so they never share the CPU):

  60 % interval, every one of {1, 2, 5, 10, 15, 30, 60} s (in turn), each anchored at the base
       instant + a random offset in [0, every) so that fire times spread across the second;
  40 % cron (in turn): "*/5 * * * * *", "*/10 * * * * *" (6 fields, seconds first), "* * * * *"
       and "*/2 * * * *"; these fire on whole seconds, so every 5 s a few hundred to 4,000 of them
       are due at the same instant (a burst).

  t4o          a fresh database file; `--tasks` tasks of the Test job (it allows sub-minute
               schedules); the N schedules created with `add_schedules` (one transaction around
               all of them), overlap "allow", so every fire enqueues a run and writes an
               occurrence: that is the persistence being measured. Then the real `Runtime` with
               the scheduler only (queue_lane=False, direct_lane=False: nobody executes the runs,
               the cost measured is evaluation + persistence), logging at WARNING.
               Lateness = occurrence.actual - occurrence.nominal, read from the database for
               every fire (no sampling). "committed" lateness = the end of the transaction (its
               commit) that wrote the occurrence - nominal: when the run became visible to a
               worker.
  apscheduler  AsyncIOScheduler, in-memory job store, the same N schedules (IntervalTrigger with
               the same start dates; CronTrigger with the same fields), a no-op coroutine job
               (runs on the event loop itself, no thread pool) that returns time.time(); an
               EVENT_JOB_EXECUTED listener records retval - scheduled_run_time for every run.
               misfire_grace_time 3600 s, coalesce False, max_instances 1000: no run is dropped.

Measured window: [scheduler start + warm-up, + duration). Every nominal time in it counts; CPU
share = CPU seconds of the whole process over the window / wall seconds (100 % = one core), and,
for t4o, the evaluator thread's own CPU clock (pthread_getcpuclockid). DB growth = database file
+ WAL over the window. Checks: each variant handled exactly the expected nominal times of every
schedule in the window (computed with t4o's schedule_math), once each; for t4o also one queued
run per fire and no occurrence other than "fired".

The last line of output is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import random
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ALL_VARIANTS = ["t4o", "t4o-pg", "apscheduler"]
INTERVALS = [1, 2, 5, 10, 15, 30, 60]
CRONS = ["*/5 * * * * *", "*/10 * * * * *", "* * * * *", "*/2 * * * *"]
SETTLE_S = 2.0  # after the window: time for the last nominal times in it to be handled


# ---------------------------------------------------------------------------------------------------
# the schedules (the same for both variants)
# ---------------------------------------------------------------------------------------------------
def make_plan(n: int, seed: int) -> list[dict[str, Any]]:
    """N schedules: kind, every or cron, and the start offset from the base instant (µs precision)."""
    rng = random.Random(seed)
    plan: list[dict[str, Any]] = []
    n_interval = round(n * 0.6)
    for i in range(n):
        if i < n_interval:
            every = INTERVALS[i % len(INTERVALS)]
            plan.append({"kind": "interval", "every": float(every), "offset": round(rng.uniform(0, every), 6)})
        else:
            plan.append({"kind": "cron", "cron": CRONS[(i - n_interval) % len(CRONS)], "offset": 0.0})
    return plan


def expected_nominals(plan: list[dict[str, Any]], base: float, w0: float, w1: float) -> list[list[float]]:
    """Every schedule's nominal times in [w0, w1), by t4o's own schedule math."""
    from t4o_tui.engine import schedule_math as sm

    out = []
    for p in plan:
        spec = sm.ScheduleSpec(
            kind=p["kind"], start=base + p["offset"], expiry=base + 86400.0, tz="UTC",
            every=p.get("every"), cron=p.get("cron"),
        )
        fires = sm.fires_between(spec, math.nextafter(w0, -math.inf), w1)
        out.append([f.nominal for f in fires if f.nominal < w1])
    return out


def check_counts(plan: list[dict[str, Any]], expected: list[list[float]],
                 got: dict[int, list[float]]) -> dict[str, Any]:
    """Per schedule: exactly the expected nominal times, each once (1 ms tolerance for the
    datetime round trip of the peer)."""
    missing = duplicate = unexpected = 0
    for i, exp in enumerate(expected):
        have = sorted(got.get(i, []))
        dup = sum(1 for a, b in zip(have, have[1:], strict=False) if b - a < 1e-3)
        matched = 0
        for t in exp:
            j = bisect.bisect_left(have, t - 1e-3)
            matched += j < len(have) and have[j] <= t + 1e-3
        duplicate += dup
        missing += len(exp) - matched
        unexpected += len(have) - dup - matched
    total = sum(len(e) for e in expected)
    return {"expected": total, "missing": missing, "duplicate": duplicate, "unexpected": unexpected,
            "ok": missing == 0 and duplicate == 0 and unexpected == 0}


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))
    return s[k]


def lateness_stats(values_s: list[float]) -> dict[str, float]:
    """p50 / p99 / max / mean in milliseconds."""
    ms = [v * 1000.0 for v in values_s]
    return {
        "p50_ms": _pct(ms, 0.50), "p99_ms": _pct(ms, 0.99), "max_ms": max(ms) if ms else float("nan"),
        "mean_ms": statistics.fmean(ms) if ms else float("nan"), "min_ms": min(ms) if ms else float("nan"),
    }


def cpu_now() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def sleep_until(t: float) -> None:
    while (d := t - time.time()) > 0:
        time.sleep(min(d, 0.5))


# ---------------------------------------------------------------------------------------------------
# variants (each runs in a child process)
# ---------------------------------------------------------------------------------------------------
def child_t4o(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    import asyncio
    import logging

    from t4o_tui.engine.evaluator import Evaluator
    from t4o_tui.engine.job import install_jobs
    from t4o_tui.engine.runtime import Runtime, RuntimeOptions
    from t4o_tui.engine.schedules import ScheduleInput, add_schedules
    from t4o_tui.engine.tasks import create_task
    from t4o_tui.jobs.registry import REGISTRY
    from t4o_tui.store.db import open_database

    install_jobs(REGISTRY)  # a bench is an entry point: it hands the engine its jobs
    REGISTRY.load_all()  # as the worker does: no job is imported inside a measured run
    logging.getLogger("t4o_tui").setLevel(logging.WARNING)
    plan = make_plan(args.n, args.seed)
    path = folder / "event.sqlite"
    target = args.target or str(path)  # t4o-pg: a PostgreSQL database (see --db)
    db = open_database(target)
    tasks = [create_task(f"bench-{i:03d}", "test", {"seconds": 0}).id for i in range(args.tasks)]
    base = round(time.time(), 6)
    t0 = time.perf_counter()
    # add_schedules: each one validated, its next fire computed, all written in one transaction.
    add_schedules(db, [
        ScheduleInput(task=tasks[i % len(tasks)], kind=p["kind"], every=p.get("every"), cron=p.get("cron"),
                      start=base + p["offset"], expiry=base + 86400.0, tz="UTC", overlap="allow")
        for i, p in enumerate(plan)
    ])
    create_s = time.perf_counter() - t0

    # The wall time at the end of each write transaction (after its commit). The evaluator writes
    # in `_write` (one transaction each; older versions: one per `step`), and counts them in
    # `steps`. A fire's commit is the first end at or after its `actual`, which is read inside.
    commits: list[float] = []
    name = "_write" if hasattr(Evaluator, "_write") else "step"
    inner = getattr(Evaluator, name)

    def counted(self: Evaluator, *a: Any) -> Any:
        before = self.steps
        out = inner(self, *a)
        if self.steps != before:
            commits.append(time.time())
        return out

    setattr(Evaluator, name, counted)
    prof = None
    if args.profile:
        import cProfile

        prof = cProfile.Profile()
        inner_loop = Evaluator._loop
        Evaluator._loop = lambda self: prof.runcall(inner_loop, self)  # type: ignore[method-assign]

    def db_bytes() -> int:
        if args.target:
            import psycopg

            with psycopg.connect(args.target) as conn:
                row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
                return int(row[0]) if row else 0
        return sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if p.exists())

    marks: dict[str, Any] = {}

    async def run() -> None:
        rt = Runtime(db, data_dir=folder / "files",
                     options=RuntimeOptions(queue_lane=False, direct_lane=False, retention=10**9))
        await rt.start()
        if args.batch is not None:
            assert rt.evaluator is not None
            rt.evaluator.batch = args.batch
        start = time.time()
        w0 = start + args.warmup
        w1 = w0 + args.duration
        assert rt.evaluator is not None and rt.evaluator._thread is not None
        clock_id = time.pthread_getcpuclockid(rt.evaluator._thread.ident or 0)
        # --workers: worker processes on the same database execute the fired runs meanwhile (and
        # stand by for the evaluator's lease, which this process holds).
        workers = [subprocess.Popen([sys.executable, str(HERE), "--child", "worker", "--dir", str(folder),
                                     "--target", target], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                   for _ in range(args.workers)]
        await asyncio.to_thread(sleep_until, w0)
        marks["m0"] = (time.time(), cpu_now(), time.clock_gettime(clock_id), db_bytes())
        await asyncio.to_thread(sleep_until, w1)
        marks["m1"] = (time.time(), cpu_now(), time.clock_gettime(clock_id), db_bytes())
        marks["w"] = (w0, w1)
        marks["holder"] = rt.evaluator.is_holder
        await asyncio.to_thread(sleep_until, w1 + SETTLE_S)
        for w in workers:
            w.send_signal(signal.SIGTERM)
        marks["worker_exits"] = [await asyncio.to_thread(w.wait, 120) for w in workers]
        await rt.stop()

    asyncio.run(run())
    if prof is not None:
        prof.dump_stats(args.profile)
    w0, w1 = marks["w"]
    (a0, c0, e0, b0), (a1, c1, e1, b1) = marks["m0"], marks["m1"]
    wall = a1 - a0

    db.connect(reuse_if_open=True)
    conn = db.connection()
    sid_index = {sid: i for i, sid in enumerate(
        r[0] for r in conn.execute("SELECT id FROM schedule ORDER BY id").fetchall())}
    rows = conn.execute(
        "SELECT o.schedule_id, o.nominal, o.actual, o.state, o.count, r.status FROM occurrence o "
        "LEFT JOIN run r ON r.id = o.run_id WHERE o.nominal >= ? AND o.nominal < ?", (w0, w1),
    ).fetchall()
    states: dict[str, int] = {}
    runs_ok = 0
    got: dict[int, list[float]] = {}
    late: list[float] = []
    late_kind: dict[str, list[float]] = {"interval": [], "cron": []}
    committed: list[float] = []
    for sid, nominal, actual, state, count, status in rows:
        states[state] = states.get(state, 0) + count
        i = sid_index[sid]
        got.setdefault(i, []).append(nominal)
        if state != "fired":
            continue
        # Without workers every fired run waits; with them it may have run already.
        runs_ok += status == "queued" or (args.workers > 0 and status in ("running", "succeeded"))
        late.append(actual - nominal)
        late_kind[plan[i]["kind"]].append(actual - nominal)
        j = bisect.bisect_left(commits, actual)
        if j < len(commits):
            committed.append(commits[j] - nominal)
    executed = conn.execute("SELECT count(*) FROM run WHERE status = 'succeeded'").fetchone()[0]
    floor = None if args.target else burst_floor(conn, rows)
    db.close()
    check = check_counts(plan, expected_nominals(plan, base, w0, w1), got)
    fired = len(late)
    check.update(states=states, runs_queued=runs_ok, lease_held=marks["holder"], runs_executed=executed,
                 worker_exits=marks["worker_exits"])
    check["ok"] = (check["ok"] and states.get("fired", 0) == fired == runs_ok == check["expected"]
                   and marks["worker_exits"] == [0] * args.workers)
    in_window = [c for c in commits if w0 <= c < w1]
    return {
        "fires": fired, "fires_per_s": fired / (w1 - w0),
        **lateness_stats(late),
        "committed": lateness_stats(committed),
        "by_kind": {k: lateness_stats(v) for k, v in late_kind.items()},
        "cpu_pct": 100.0 * (c1 - c0) / wall,
        "thread_cpu_pct": 100.0 * (e1 - e0) / wall,
        "steps": len(in_window), "fires_per_step": fired / max(1, len(in_window)),
        "db_growth_bytes": b1 - b0, "bytes_per_fire": (b1 - b0) / max(1, fired),
        "create_s": create_s, "window_s": wall, "check": check, "floor": floor,
    }


def burst_floor(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> dict[str, float]:
    """What SQLite alone needs for the bursts: the rows of the largest burst (the fires due at one
    instant) written with raw sqlite3 — the evaluator's three statements (a run, an occurrence, the
    schedule's row per fire), executemany, one transaction, rolled back — three times, the median.

    From that rate, a lateness floor for every fire of the window: the i-th fire of a burst waits
    for the i rows before it, as if deciding cost nothing and the rows went out one by one. Its p99
    is the p99 a scheduler that writes every fire to this database cannot beat on this machine.
    """
    bursts: dict[float, int] = {}
    for _sid, nominal, _actual, state, _count, _status in rows:
        if state == "fired":
            bursts[round(nominal, 6)] = bursts.get(round(nominal, 6), 0) + 1
    n = max(bursts.values(), default=0)
    if n == 0:
        return {}
    sids, tasks = zip(*conn.execute("SELECT id, task_id FROM schedule ORDER BY id LIMIT ?", (n,)).fetchall(), strict=True)
    n = len(sids)
    times = []
    for _ in range(3):
        run0 = conn.execute("SELECT coalesce(max(id), 0) FROM run").fetchone()[0]
        occ0 = conn.execute("SELECT coalesce(max(id), 0) FROM occurrence").fetchone()[0]
        now = time.time()
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO run(id, task_id, status, lane, trigger, enqueued_at, context) "
            "SELECT ?, id, 'queued', CASE WHEN direct <> 0 THEN 'direct' ELSE 'queue' END, 'schedule', ?, ? FROM task WHERE id=?",
            [(run0 + 1 + i, now, f'{{"schedule": {sids[i]}, "nominal": {now!r}}}', tasks[i]) for i in range(n)])
        conn.executemany(
            "INSERT INTO occurrence(id, schedule_id, nominal, last_nominal, count, actual, state, run_id, reason, row_key) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(occ0 + 1 + i, sids[i], now, None, 1, now, "fired", run0 + 1 + i, None, None) for i in range(n)])
        conn.executemany(
            "UPDATE schedule SET evaluated_until=?, fired_count=?, next_fire=?, paused=?, paused_until=?, "
            "start=coalesce(?, start), expiry=coalesce(?, expiry) WHERE id=?",
            [(now, 1, now + 60.0, 0, None, None, None, sid) for sid in sids])
        times.append(time.perf_counter() - t0)
        conn.execute("ROLLBACK")
    per_fire = statistics.median(times) / n
    floor = [i * per_fire for size in bursts.values() for i in range(size)]
    return {"largest_burst": n, "burst_ms": 1000 * n * per_fire, "us_per_fire": 1e6 * per_fire,
            **{f"floor_{k}": v for k, v in lateness_stats(floor).items()}}


def child_apscheduler(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    import asyncio
    import logging
    from datetime import UTC, datetime

    from apscheduler.events import (
        EVENT_JOB_ERROR,
        EVENT_JOB_EXECUTED,
        EVENT_JOB_MAX_INSTANCES,
        EVENT_JOB_MISSED,
    )
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    plan = make_plan(args.n, args.seed)
    base = round(time.time(), 6)
    executed: list[tuple[str, float, float]] = []
    trouble: dict[str, int] = {"missed": 0, "max_instances": 0, "error": 0}

    async def noop() -> float:
        return time.time()

    def on_executed(event: Any) -> None:
        executed.append((event.job_id, event.scheduled_run_time.timestamp(), event.retval))

    def on_trouble(event: Any) -> None:
        name = {EVENT_JOB_MISSED: "missed", EVENT_JOB_MAX_INSTANCES: "max_instances"}.get(event.code, "error")
        trouble[name] += 1

    marks: dict[str, Any] = {}

    async def run() -> float:
        sched = AsyncIOScheduler(timezone=UTC, job_defaults={
            "misfire_grace_time": 3600, "coalesce": False, "max_instances": 1000})
        sched.add_listener(on_executed, EVENT_JOB_EXECUTED)
        sched.add_listener(on_trouble, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_ERROR)
        t0 = time.perf_counter()
        for i, p in enumerate(plan):
            start = datetime.fromtimestamp(base + p["offset"], UTC)
            if p["kind"] == "interval":
                trigger: Any = IntervalTrigger(seconds=p["every"], start_date=start, timezone=UTC)
            else:
                f = p["cron"].split()
                if len(f) == 5:
                    f = ["0", *f]
                trigger = CronTrigger(second=f[0], minute=f[1], hour=f[2], day=f[3], month=f[4],
                                      day_of_week=f[5], start_date=start, timezone=UTC)
            sched.add_job(noop, trigger, id=str(i))
        sched.start()
        create_s = time.perf_counter() - t0
        start_t = time.time()
        w0 = start_t + args.warmup
        w1 = w0 + args.duration
        await asyncio.sleep(w0 - time.time())
        marks["m0"] = (time.time(), cpu_now())
        await asyncio.sleep(w1 - time.time())
        marks["m1"] = (time.time(), cpu_now())
        marks["w"] = (w0, w1)
        await asyncio.sleep(w1 + SETTLE_S - time.time())
        sched.shutdown(wait=False)
        return create_s

    create_s = asyncio.run(run())
    w0, w1 = marks["w"]
    (a0, c0), (a1, c1) = marks["m0"], marks["m1"]
    wall = a1 - a0
    got: dict[int, list[float]] = {}
    late: list[float] = []
    late_kind: dict[str, list[float]] = {"interval": [], "cron": []}
    for job_id, nominal, actual in executed:
        if not w0 <= nominal < w1:
            continue
        i = int(job_id)
        got.setdefault(i, []).append(nominal)
        late.append(actual - nominal)
        late_kind[plan[i]["kind"]].append(actual - nominal)
    check = check_counts(plan, expected_nominals(plan, base, w0, w1), got)
    check.update(trouble)
    check["ok"] = check["ok"] and not any(trouble.values())
    return {
        "fires": len(late), "fires_per_s": len(late) / (w1 - w0),
        **lateness_stats(late),
        "committed": lateness_stats(late),  # the job body ran: nothing to commit
        "by_kind": {k: lateness_stats(v) for k, v in late_kind.items()},
        "cpu_pct": 100.0 * (c1 - c0) / wall,
        "thread_cpu_pct": 100.0 * (c1 - c0) / wall,  # one thread: the event loop
        "steps": None, "fires_per_step": None, "db_growth_bytes": 0, "bytes_per_fire": 0.0,
        "create_s": create_s, "window_s": wall, "check": check,
    }


def child_worker(folder: Path, target: str) -> None:
    """A worker process on `target`: the real runtime (both lanes, standby for the evaluator's lease) until SIGTERM."""
    import asyncio
    import logging

    from t4o_tui.engine.job import install_jobs
    from t4o_tui.engine.runtime import Runtime, RuntimeOptions
    from t4o_tui.jobs.registry import REGISTRY
    from t4o_tui.store.db import open_database

    install_jobs(REGISTRY)
    REGISTRY.load_all()  # as the worker does: no job is imported inside a measured run
    logging.getLogger("t4o_tui").setLevel(logging.WARNING)
    db = open_database(target)

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        rt = Runtime(db, data_dir=folder / "files", options=RuntimeOptions(retention=10**9))
        await rt.start()
        await stop.wait()
        await rt.stop()

    asyncio.run(main())


class _PgDatabase:
    """A new database on the server --db names (or on a throwaway cluster, 'auto'), dropped after."""

    def __init__(self, url: str) -> None:
        import uuid
        from urllib.parse import urlsplit, urlunsplit

        import psycopg

        self.cluster = None
        if url == "auto":
            sys.path.insert(0, str(HERE.parents[1] / "tests"))
            from pg_server import Cluster, _bin_dir  # type: ignore[import-not-found]

            bin_dir = _bin_dir()
            if bin_dir is None:
                raise SystemExit("--db auto: no PostgreSQL server binaries (initdb) found: apt-get install postgresql")
            self.cluster = Cluster(bin_dir)
            url = self.cluster.start()
        self.admin, self.name = url, "t4o_bench_" + uuid.uuid4().hex[:10]
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.name}"')
        self.url = urlunsplit(urlsplit(url)._replace(path="/" + self.name))

    def close(self) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        if self.cluster is not None:
            self.cluster.stop()


def run_child(variant: str, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    if variant in ("t4o", "t4o-pg"):
        return child_t4o(folder, args)
    if variant == "apscheduler":
        return child_apscheduler(folder, args)
    raise SystemExit(f"unknown variant {variant}")


# ---------------------------------------------------------------------------------------------------
# parent: run, print
# ---------------------------------------------------------------------------------------------------
def spawn(variant: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"slbench-{variant}-", dir=args.tmp) as folder:
        cmd = [sys.executable, str(HERE), "--child", variant, "--dir", folder, "-n", str(args.n),
               "--duration", str(args.duration), "--warmup", str(args.warmup), "--tasks", str(args.tasks),
               "--seed", str(args.seed)]
        if args.batch is not None:
            cmd += ["--batch", str(args.batch)]
        if variant.startswith("t4o"):
            cmd += ["--workers", str(args.workers)]
        pg = _PgDatabase(args.db) if variant == "t4o-pg" else None
        if pg is not None:
            cmd += ["--target", pg.url]
        if args.profile and variant == "t4o":
            cmd += ["--profile", args.profile]
        limit = args.duration + args.warmup + 600
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
        finally:
            if pg is not None:
                pg.close()
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            raise SystemExit(f"variant {variant} failed (exit {proc.returncode})")
        if proc.stderr.strip():
            sys.stderr.write(f"[{variant} stderr]\n{proc.stderr}")
        res: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        return res


def _ms(x: float) -> str:
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=10000, help="schedules (default 10000)")
    ap.add_argument("--duration", type=float, default=60.0, help="measured seconds (default 60)")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds after start not measured (default 5)")
    ap.add_argument("--tasks", type=int, default=100, help="t4o tasks the schedules are spread over (default 100)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the start offsets (default 1)")
    ap.add_argument("--batch", type=float, default=None, metavar="SECONDS",
                    help="t4o: the evaluator's batch window (default: its own, evaluator.BATCH)")
    ap.add_argument("--only", default=",".join(ALL_VARIANTS), help="comma-separated variants (default: all)")
    ap.add_argument("--tmp", default=None, help="parent folder of the temporary database (default: system temp)")
    ap.add_argument("--profile", default=None, metavar="FILE",
                    help="cProfile the t4o evaluator thread into FILE (pstats); slows t4o down")
    ap.add_argument("--db", default=None, metavar="URL",
                    help="postgresql://… of a role that may create databases (or 'auto': a throwaway cluster): "
                    "adds the variant t4o-pg, the same on PostgreSQL, beside t4o on SQLite")
    ap.add_argument("--workers", type=int, default=0,
                    help="t4o variants: worker processes that execute the fired runs meanwhile (default 0)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--dir", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--target", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child == "worker":
        child_worker(Path(args.dir), args.target)
        return 0
    if args.child:
        print(json.dumps(run_child(args.child, Path(args.dir), args), default=str))
        return 0

    variants = [v for v in args.only.split(",") if v]
    for v in variants:
        if v not in ALL_VARIANTS:
            ap.error(f"unknown variant {v} (known: {', '.join(ALL_VARIANTS)})")
    if "t4o-pg" in variants and not args.db:
        if "--only" in sys.argv:
            ap.error("variant t4o-pg needs --db postgresql://… (or --db auto)")
        variants.remove("t4o-pg")
    plan = make_plan(args.n, args.seed)
    mix = {f"every {int(e)}s": sum(1 for p in plan if p.get("every") == e) for e in INTERVALS}
    mix.update({c: sum(1 for p in plan if p.get("cron") == c) for c in CRONS})
    print(
        f"schedule latency: {args.n} schedules ({', '.join(f'{k}: {v}' for k, v in mix.items())}), "
        f"{args.duration:g} s measured after {args.warmup:g} s warm-up; python {sys.version.split()[0]}, "
        f"sqlite {sqlite3.sqlite_version}, {os.cpu_count()} cpu(s), {args.workers} worker process(es), "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    t_all = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    for v in variants:
        res = results[v] = spawn(v, args)
        print(f"  {v:<12} {res['fires']:,} fires, p50 {_ms(res['p50_ms'])} ms, p99 {_ms(res['p99_ms'])} ms, "
              f"CPU {res['cpu_pct']:.1f} %, check {'ok' if res['check']['ok'] else 'FAILED'}", flush=True)

    labels = {
        "t4o": "t4o-tui Runtime, scheduler only, every fire a run + occurrence in SQLite",
        "t4o-pg": "the same on PostgreSQL",
        "apscheduler": "APScheduler 3 AsyncIOScheduler, memory store, no-op coroutine job",
    }
    print()
    print(f"{'variant':<12} {'fires':>7} {'fires/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}  "
          f"{'committed p50/p99/max ms':>24} {'CPU %':>6} {'thread %':>8} {'DB +MB':>7} {'B/fire':>6}  check")
    for v, r in results.items():
        c = r["committed"]
        print(
            f"{v:<12} {r['fires']:>7,} {r['fires_per_s']:>7,.0f} {_ms(r['p50_ms']):>7} {_ms(r['p99_ms']):>7} "
            f"{_ms(r['max_ms']):>7}  {_ms(c['p50_ms']) + ' / ' + _ms(c['p99_ms']) + ' / ' + _ms(c['max_ms']):>24} "
            f"{r['cpu_pct']:>6.1f} {r['thread_cpu_pct']:>8.1f} {r['db_growth_bytes'] / 1e6:>7.1f} "
            f"{r['bytes_per_fire']:>6.0f}  {'ok' if r['check']['ok'] else 'FAILED'}"
        )
    print("  " + "\n  ".join(f"{v}: {labels[v]}" for v in results))
    print("\nby kind, lateness p50 / p99 / max ms")
    for v, r in results.items():
        parts = [f"{k} {_ms(s['p50_ms'])} / {_ms(s['p99_ms'])} / {_ms(s['max_ms'])}" for k, s in r["by_kind"].items()]
        print(f"  {v:<12} " + "   ".join(parts))
    if "t4o" in results and results["t4o"]["steps"]:
        r = results["t4o"]
        print(f"\nt4o: {r['steps']:,} write transactions in the window, {r['fires_per_step']:.1f} fires each; "
              f"creating the {args.n:,} schedules (add_schedules, one transaction) took {r['create_s']:.2f} s")
        if f := r.get("floor"):
            print(f"t4o floor: the largest burst, {f['largest_burst']:,} fires due at one instant, written with raw "
                  f"sqlite3 (the same rows, one transaction) takes {f['burst_ms']:.1f} ms ({f['us_per_fire']:.1f} us a fire); "
                  f"lateness floor p50 {_ms(f['floor_p50_ms'])} / p99 {_ms(f['floor_p99_ms'])} ms "
                  f"(t4o p99 / floor p99: {r['p99_ms'] / f['floor_p99_ms']:.2f})")

    ratios: dict[str, float] = {}
    if "t4o" in results and "apscheduler" in results:
        a, b = results["t4o"], results["apscheduler"]
        for key in ("p50_ms", "p99_ms", "max_ms", "cpu_pct"):
            ratios[key] = a[key] / b[key] if b[key] else float("nan")
        ratios["committed_p50_ms"] = a["committed"]["p50_ms"] / b["p50_ms"]
        ratios["committed_p99_ms"] = a["committed"]["p99_ms"] / b["p99_ms"]
        print("\nratios t4o / apscheduler (below 1: t4o is better): "
              + ", ".join(f"{k.removesuffix('_ms').replace('_pct', '')} {v:.2f}" for k, v in ratios.items()))
    if "t4o" in results and "t4o-pg" in results:
        a, b = results["t4o-pg"], results["t4o"]
        pg_ratios = {k: a[k] / b[k] if b[k] else float("nan") for k in ("p50_ms", "p99_ms", "cpu_pct")}
        pg_ratios["committed_p99_ms"] = a["committed"]["p99_ms"] / b["committed"]["p99_ms"]
        ratios.update({f"pg/sqlite {k}": v for k, v in pg_ratios.items()})
        print("ratios t4o-pg / t4o (PostgreSQL / SQLite, below 1: PostgreSQL is better): "
              + ", ".join(f"{k.removesuffix('_ms').replace('_pct', '')} {v:.2f}" for k, v in pg_ratios.items()))
    print()
    for v, r in results.items():
        print(f"check {v}: {'OK' if r['check']['ok'] else 'FAILED'} - {json.dumps(r['check'])}")
    total = time.perf_counter() - t_all
    print(f"\ntotal {total:.1f} s")
    print(json.dumps({"n": args.n, "duration": args.duration, "warmup": args.warmup, "tasks": args.tasks,
                      "results": results, "ratios": ratios, "total_s": total}, default=str))
    return 0 if all(r["check"]["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
