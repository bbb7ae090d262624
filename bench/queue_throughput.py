"""Queue throughput: t4o-tui's queue lane against the raw SQLite floor and Huey's SQLite queue.

    python bench/queue_throughput.py [-n 10000] [--repeat 3] [--only t4o,huey,...] [--tmp DIR]
                                     [--profile FILE]

About 40 s on 2 cores with the defaults. `--tmp /dev/shm` takes the disk out of the picture (all
variants then measure CPU only); `--profile FILE` writes a cProfile of the t4o queue-lane thread.

Every variant runs in its own subprocess on a fresh database in a fresh temporary folder
(Peewee's models are bound globally, and a fresh interpreter keeps the variants from warming or
slowing each other). The variants run interleaved, `--repeat` times; the table shows the median
and the best of the repeats, and the last line of output is one JSON object with every figure.

Variants (N trivial runs each):

  t4o          the real runtime in-process: `queue.enqueue` N times (one transaction each, as a
               real enqueue), then a Runtime with the queue lane only (direct_lane=False, logging
               at WARNING) drains them: claim, execute the Test job with seconds=0, record the
               outcome and its log lines (finish and next claim share one transaction).
               Drain time runs from Runtime.start() to the N-th on_finished callback (which
               fires after the run's end is committed).
  t4o-queue    t4o's own queue transactions without the runtime: `queue.enqueue`, then
               `queue.claim_queue(finish=previous outcome with its two log lines)` in a tight loop
               on the real schema. No job, no executor, no lane thread: the ceiling for this
               design in Python.
  t4o-1w       the same N runs drained by one `t4o-tui --db PATH --worker` process (a service:
               its INFO log, two lines per run, goes to a file); drain time is from the first
               run's started_at to the last run's finished_at in the database, so process
               start-up is not counted.
  t4o-2w       the same with two worker processes on the database.
  floor        plain sqlite3, same pragmas as t4o_tui.store.db.PRAGMAS, a minimal run table with
               the same partial indexes; per run three transactions: insert, claim
               (UPDATE ... WHERE id=(SELECT ... LIMIT 1) RETURNING id), complete.
  floor-t4o    plain sqlite3 in t4o's own transaction shape: insert; then per run ONE
               transaction that completes the previous run, writes its two log lines and claims
               the next. The floor for this design (no Python engine around it).
  floor-schema the statements of floor-t4o, raw sqlite3, on t4o's own database (its run and
               run_log tables with every index, foreign keys and trigger a real event has): what
               the record t4o keeps of every run costs before any Python engine code. t4o over
               floor-schema is the engine's own cost; floor-schema over floor-t4o the schema's.
  huey         huey.SqliteHuey, one no-op task, N enqueued, one consumer worker thread
               (Consumer(workers=1, worker_type='thread', periodic=False, initial_delay=0.001,
               backoff=1.0, max_delay=0.001, check_worker_health=False): the worker never sleeps
               while tasks are queued), synchronous=NORMAL like t4o (same durability). Drain
               time runs from consumer.start() until the N-th task body has run.
  huey-full    the same with Huey's stock connection settings (synchronous=FULL: an fsync per
               commit), for reference.

Rates: enqueue = N / enqueue time, drain = N / drain time, end-to-end = N / (enqueue + drain).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ALL_VARIANTS = ["t4o", "t4o-queue", "t4o-1w", "t4o-2w", "floor", "floor-t4o", "floor-schema", "huey", "huey-full"]
DRAIN_TIMEOUT_S = 300.0


# ---------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------
def _rates(n: int, enqueue_s: float, drain_s: float) -> dict[str, float]:
    return {
        "enqueue_s": enqueue_s,
        "drain_s": drain_s,
        "enqueue_rate": n / enqueue_s if enqueue_s > 0 else float("nan"),
        "drain_rate": n / drain_s if drain_s > 0 else float("nan"),
        "e2e_rate": n / (enqueue_s + drain_s),
    }


def _t4o_pragmas() -> dict[str, Any]:
    from t4o_tui.store.db import PRAGMAS

    return dict(PRAGMAS)


def _apply_pragmas(conn: sqlite3.Connection, pragmas: dict[str, Any]) -> None:
    for key, value in pragmas.items():
        conn.execute(f"PRAGMA {key}={value}")


def _verify_t4o(path: Path, n: int) -> dict[str, Any]:
    """Every run's record, lease and log, read straight from the database file."""
    conn = sqlite3.connect(path)
    q = lambda sql, *a: conn.execute(sql, a).fetchone()[0]  # noqa: E731
    out = {
        "runs": q("SELECT count(*) FROM run"),
        "succeeded": q("SELECT count(*) FROM run WHERE status='succeeded'"),
        "missing_fields": q(
            "SELECT count(*) FROM run WHERE started_at IS NULL OR finished_at IS NULL OR worker IS NULL "
            "OR finished_at < started_at"
        ),
        "attempts_not_1": q("SELECT count(*) FROM run WHERE attempts != 1"),
        "lease_left": q("SELECT count(*) FROM run WHERE lease_until IS NOT NULL"),
        "runs_without_2_logs": q(
            "SELECT count(*) FROM run r WHERE (SELECT count(*) FROM run_log l WHERE l.run_id = r.id) < 2"
        ),
        "log_lines": q("SELECT count(*) FROM run_log"),
        "first_start": q("SELECT min(started_at) FROM run"),
        "last_finish": q("SELECT max(finished_at) FROM run"),
    }
    # The queue lane runs one run at a time everywhere: no two [started_at, finished_at] overlap.
    rows = conn.execute(
        "SELECT id, started_at, finished_at FROM run ORDER BY started_at, id"
    ).fetchall()
    overlaps = 0
    prev_end = float("-inf")
    for _rid, start, end in rows:
        if start is not None and start < prev_end:
            overlaps += 1
        if end is not None:
            prev_end = max(prev_end, end)
    out["overlaps"] = overlaps
    out["by_worker"] = dict(
        conn.execute("SELECT worker, count(*) FROM run GROUP BY worker ORDER BY 2 DESC").fetchall()
    )
    conn.close()
    out["ok"] = (
        out["runs"] == n
        and out["succeeded"] == n
        and out["missing_fields"] == 0
        and out["attempts_not_1"] == 0
        and out["lease_left"] == 0
        and out["runs_without_2_logs"] == 0
        and overlaps == 0
    )
    return out


def _t4o_setup(folder: Path, n: int) -> tuple[Any, int, float]:
    """A fresh event database with the Test task (seconds=0) and N runs enqueued one by one."""
    from t4o_tui.engine import queue
    from t4o_tui.engine.job import install_jobs
    from t4o_tui.engine.tasks import create_task
    from t4o_tui.jobs.registry import REGISTRY
    from t4o_tui.store.db import open_database

    install_jobs(REGISTRY)  # a bench is an entry point: it hands the engine its jobs
    REGISTRY.load_all()  # as the worker does: no job is imported inside a measured run
    db = open_database(folder / "event.sqlite")
    task = create_task("bench", "test", {"seconds": 0})
    conn = db.connection()
    t0 = time.perf_counter()
    for _ in range(n):
        queue.enqueue(conn, task.id, direct=False, trigger="manual", now=time.time())
    return db, task.id, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------------
# variants (each runs in a child process)
# ---------------------------------------------------------------------------------------------------
def child_t4o(folder: Path, n: int, profile: str | None) -> dict[str, Any]:
    import asyncio
    import logging

    from t4o_tui.engine.runtime import Runtime, RuntimeOptions

    logging.getLogger("t4o_tui").setLevel(logging.WARNING)
    db, _task_id, enqueue_s = _t4o_setup(folder, n)

    async def drain() -> tuple[float, float]:
        # retention well above N: the default (500 per task) would prune finished runs while
        # we count them, and pruning is not what this measures.
        rt = Runtime(
            db,
            data_dir=folder / "event-files",
            options=RuntimeOptions(direct_lane=False, retention=1_000_000),
        )
        done = threading.Event()

        def on_finished(_outcome: Any) -> None:
            if rt.finished_count >= n:
                done.set()

        rt.on_finished.append(on_finished)
        prof = None
        if profile:
            import cProfile

            prof = cProfile.Profile()
            inner = rt._queue_loop
            rt._queue_loop = lambda: prof.runcall(inner)  # type: ignore[method-assign]
        t0 = time.perf_counter()
        await rt.start()
        ok = await asyncio.to_thread(done.wait, DRAIN_TIMEOUT_S)
        drain_s = time.perf_counter() - t0
        if not ok:
            raise SystemExit(
                f"t4o: only {rt.finished_count} of {n} runs finished in {DRAIN_TIMEOUT_S:g} s"
            )
        t1 = time.perf_counter()
        await rt.stop()
        stop_s = time.perf_counter() - t1
        if prof is not None:
            prof.dump_stats(profile)
        return drain_s, stop_s

    drain_s, stop_s = asyncio.run(drain())
    check = _verify_t4o(folder / "event.sqlite", n)
    res = _rates(n, enqueue_s, drain_s)
    res["stop_s"] = stop_s
    res["db_span_rate"] = n / (check["last_finish"] - check["first_start"])
    res["check"] = check
    return res


def child_t4o_workers(folder: Path, n: int, workers: int) -> dict[str, Any]:
    db, _task_id, enqueue_s = _t4o_setup(folder, n)
    db.close()
    path = folder / "event.sqlite"
    cfg = folder / "config.toml"
    # A service's config: retention above N so that the default pruning (500 per task) keeps
    # every run we count.
    cfg.write_text("[engine]\nretention = 1000000\n", encoding="utf-8")
    env = dict(os.environ, T4O_TUI_CONFIG=str(cfg))
    env.pop("T4O_TUI_DB", None)
    procs, logs = [], []
    t0 = time.perf_counter()
    for i in range(workers):
        fh = open(folder / f"worker-{i}.log", "wb")  # noqa: SIM115
        logs.append(fh)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "t4o_tui.cli", "--db", str(path), "--worker"],
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=env,
            )
        )
    watch = sqlite3.connect(path, timeout=60)
    try:
        while True:
            finished = watch.execute(
                "SELECT count(*) FROM run WHERE status IN ('succeeded','failed','cancelled')"
            ).fetchone()[0]
            if finished >= n:
                break
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"t4o-{workers}w: a worker exited early; see " + str(folder))
            if time.perf_counter() - t0 > DRAIN_TIMEOUT_S:
                raise SystemExit(
                    f"t4o-{workers}w: only {finished} of {n} runs finished in {DRAIN_TIMEOUT_S:g} s"
                )
            time.sleep(0.05)
        wall_s = time.perf_counter() - t0
    finally:
        watch.close()
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes = [p.wait(60) for p in procs]
        for fh in logs:
            fh.close()
    check = _verify_t4o(path, n)
    check["exit_codes"] = codes
    # Every worker's share, also of those that took no run (their ids are in their own log).
    for i in range(workers):
        text = (folder / f"worker-{i}.log").read_text(encoding="utf-8", errors="replace")
        m = re.search(r"runtime started as (\S+)", text)
        wid = m.group(1) if m else f"worker-{i} (id not in its log)"
        check["by_worker"].setdefault(wid, 0)
    check["ok"] = check["ok"] and codes == [0] * workers
    drain_s = check["last_finish"] - check["first_start"]
    res = _rates(n, enqueue_s, drain_s)
    res["wall_with_startup_s"] = wall_s
    res["check"] = check
    return res


def child_t4o_queue(folder: Path, n: int) -> dict[str, Any]:
    from t4o_tui.engine import queue
    from t4o_tui.engine.runtime import make_worker_id
    from t4o_tui.store.models import SUCCEEDED

    db, _task_id, enqueue_s = _t4o_setup(folder, n)
    conn = db.connection()
    worker = make_worker_id()
    t0 = time.perf_counter()
    pending = None
    while True:
        claimed, _recorded = queue.claim_queue(
            conn, worker=worker, now=time.time(), lease=15.0, finish=pending
        )
        if claimed is None:
            break
        now = time.time()
        pending = queue.Outcome(
            claimed.id,
            SUCCEEDED,
            now,
            progress=1.0,
            logs=[
                (
                    now,
                    "info",
                    f"started on {worker} ({claimed.lane} lane, trigger {claimed.trigger}, attempt {claimed.attempts})",
                ),
                (now, "info", "succeeded in 0.00 s"),
            ],
        )
    drain_s = time.perf_counter() - t0
    db.close()
    res = _rates(n, enqueue_s, drain_s)
    res["check"] = _verify_t4o(folder / "event.sqlite", n)
    return res


FLOOR_SCHEMA = """
CREATE TABLE run (
    id INTEGER PRIMARY KEY, status TEXT NOT NULL, lane TEXT NOT NULL, enqueued_at REAL NOT NULL,
    started_at REAL, finished_at REAL, worker TEXT, lease_until REAL, attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX run_queued ON run(lane, id) WHERE status = 'queued';
CREATE INDEX run_running ON run(lane, worker) WHERE status = 'running';
CREATE TABLE run_log (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    ts REAL NOT NULL, level TEXT NOT NULL, message TEXT NOT NULL
);
CREATE INDEX run_log_run ON run_log(run_id, id);
"""

FLOOR_CLAIM = (
    "UPDATE run SET status='running', started_at=?, worker=?, lease_until=?, attempts=attempts+1 "
    "WHERE id=(SELECT id FROM run WHERE status='queued' AND lane='queue' ORDER BY id LIMIT 1) "
    "AND NOT EXISTS (SELECT 1 FROM run WHERE status='running' AND lane='queue') RETURNING id"
)
FLOOR_DONE = "UPDATE run SET status='succeeded', finished_at=?, lease_until=NULL WHERE id=? AND status='running' AND worker=?"


def _floor_open(folder: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(
        folder / "floor.sqlite", isolation_level=None, timeout=60, check_same_thread=False
    )
    _apply_pragmas(conn, _t4o_pragmas())
    conn.executescript(FLOOR_SCHEMA)
    return conn


def _floor_enqueue(conn: sqlite3.Connection, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO run(status, lane, enqueued_at) VALUES ('queued', 'queue', ?)",
            (time.time(),),
        )
        conn.execute("COMMIT")
    return time.perf_counter() - t0


def _floor_check(conn: sqlite3.Connection, n: int, logs_per_run: int) -> dict[str, Any]:
    done = conn.execute(
        "SELECT count(*) FROM run WHERE status='succeeded' AND attempts=1"
    ).fetchone()[0]
    lines = conn.execute("SELECT count(*) FROM run_log").fetchone()[0]
    return {"succeeded": done, "log_lines": lines, "ok": done == n and lines == n * logs_per_run}


def child_floor(folder: Path, n: int) -> dict[str, Any]:
    conn = _floor_open(folder)
    enqueue_s = _floor_enqueue(conn, n)
    worker, lease = "floor", 15.0
    t0 = time.perf_counter()
    while True:
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(FLOOR_CLAIM, (now, worker, now + lease)).fetchone()
        conn.execute("COMMIT")
        if row is None:
            break
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(FLOOR_DONE, (time.time(), row[0], worker))
        conn.execute("COMMIT")
    drain_s = time.perf_counter() - t0
    res = _rates(n, enqueue_s, drain_s)
    res["check"] = _floor_check(conn, n, 0)
    conn.close()
    return res


def child_floor_t4o(folder: Path, n: int) -> dict[str, Any]:
    conn = _floor_open(folder)
    enqueue_s = _floor_enqueue(conn, n)
    drain_s = _drain_t4o_shape(conn, FLOOR_CLAIM)
    res = _rates(n, enqueue_s, drain_s)
    res["check"] = _floor_check(conn, n, 2)
    conn.close()
    return res


def _drain_t4o_shape(conn: sqlite3.Connection, claim: str) -> float:
    """Drain every queued run in t4o's transaction shape: one transaction completes the previous
    run, writes its two log lines and claims the next. Returns the seconds it took."""
    worker, lease = "floor", 15.0
    t0 = time.perf_counter()
    prev: int | None = None
    while True:
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        if prev is not None:
            conn.execute(FLOOR_DONE, (now, prev, worker))
            conn.executemany(
                "INSERT INTO run_log(run_id, ts, level, message) VALUES (?, ?, ?, ?)",
                [(prev, now, "info", f"started on {worker}"), (prev, now, "info", "succeeded in 0.00 s")],
            )
        row = conn.execute(claim, (now, worker, now + lease)).fetchone()
        conn.execute("COMMIT")
        if row is None:
            return time.perf_counter() - t0
        prev = row[0]


def child_floor_schema(folder: Path, n: int) -> dict[str, Any]:
    from t4o_tui.engine.queue import _INSERT_RUN
    from t4o_tui.store.db import open_database

    db = open_database(folder / "event.sqlite")  # t4o's schema and pragmas, nothing of the engine used after
    db.execute_sql("INSERT INTO task(name, job, settings, created_at, updated_at) VALUES ('bench', 'test', '{}', 0, 0)")
    task_id = db.execute_sql("SELECT id FROM task").fetchone()[0]
    db.close()
    conn = sqlite3.connect(folder / "event.sqlite", isolation_level=None, timeout=60)
    _apply_pragmas(conn, _t4o_pragmas())
    t0 = time.perf_counter()
    for _ in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(_INSERT_RUN, (task_id, "queued", "queue", "manual", time.time(), None))
        conn.execute("COMMIT")
    enqueue_s = time.perf_counter() - t0
    # t4o's claim also keeps the task's settings with the run (here a constant: no look-up).
    drain_s = _drain_t4o_shape(conn, FLOOR_CLAIM.replace("attempts=attempts+1 ", "attempts=attempts+1, settings='{}' "))
    res = _rates(n, enqueue_s, drain_s)
    res["check"] = _floor_check(conn, n, 2)
    conn.close()
    return res


def child_huey(folder: Path, n: int, *, normal_sync: bool) -> dict[str, Any]:
    import logging

    from huey import SqliteHuey
    from huey.storage import SqliteStorage

    logging.getLogger("huey").setLevel(logging.WARNING)

    class NormalSyncStorage(SqliteStorage):
        # Huey has no knob for synchronous=NORMAL (fsync=True/False means FULL/OFF); t4o and the
        # floor run WAL + NORMAL, so the fair peer does too.
        def _create_connection(self) -> sqlite3.Connection:
            conn = super()._create_connection()
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn

    kwargs: dict[str, Any] = {"storage_class": NormalSyncStorage} if normal_sync else {}
    huey = SqliteHuey("bench", filename=str(folder / "huey.sqlite"), **kwargs)
    count = [0]
    done = threading.Event()

    @huey.task()
    def noop() -> None:
        count[0] += 1  # one worker thread: no race
        if count[0] >= n:
            done.set()

    t0 = time.perf_counter()
    for _ in range(n):
        noop()
    enqueue_s = time.perf_counter() - t0
    queued = huey.pending_count()

    # Tightest polling: the worker never sleeps while the queue has tasks, so these only matter at
    # the start; no periodic scheduler work, no health checks.
    consumer = huey.create_consumer(
        workers=1,
        worker_type="thread",
        periodic=False,
        initial_delay=0.001,
        backoff=1.0,
        max_delay=0.001,
        check_worker_health=False,
    )
    t0 = time.perf_counter()
    consumer.start()
    ok = done.wait(DRAIN_TIMEOUT_S)
    drain_s = time.perf_counter() - t0
    consumer.stop(graceful=True)
    if not ok:
        raise SystemExit(f"huey: only {count[0]} of {n} tasks executed in {DRAIN_TIMEOUT_S:g} s")
    left = huey.pending_count()
    res = _rates(n, enqueue_s, drain_s)
    res["check"] = {
        "queued": queued,
        "executed": count[0],
        "left": left,
        "ok": queued == n and count[0] == n and left == 0,
    }
    return res


def run_child(variant: str, n: int, folder: Path, profile: str | None) -> dict[str, Any]:
    if variant == "t4o":
        return child_t4o(folder, n, profile)
    if variant == "t4o-queue":
        return child_t4o_queue(folder, n)
    if variant == "t4o-1w":
        return child_t4o_workers(folder, n, 1)
    if variant == "t4o-2w":
        return child_t4o_workers(folder, n, 2)
    if variant == "floor":
        return child_floor(folder, n)
    if variant == "floor-t4o":
        return child_floor_t4o(folder, n)
    if variant == "floor-schema":
        return child_floor_schema(folder, n)
    if variant == "huey":
        return child_huey(folder, n, normal_sync=True)
    if variant == "huey-full":
        return child_huey(folder, n, normal_sync=False)
    raise SystemExit(f"unknown variant {variant}")


# ---------------------------------------------------------------------------------------------------
# --db postgresql://…: SQLite beside PostgreSQL, 1/2/4 worker processes, and the SKIP LOCKED floor
# ---------------------------------------------------------------------------------------------------
# Worker processes of the real runtime (queue and direct lanes, no scheduler) drain N runs of the
# Test job (seconds=0) from one database, first on SQLite then on PostgreSQL; every worker times
# each claim transaction that handed it a run (queue.claim_queue / claim_direct, lock waits
# included). runs/s = N / (last finished_at - first started_at) in the database, so process
# start-up is not counted; the workers start together (a go file once all say ready).
# The floor: the same number of processes, each a minimal psycopg loop on the same server:
# claim = one autocommit UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING,
# then one UPDATE to complete; no log lines, no leases, no engine.
PG_FLOOR_SCHEMA = (
    "CREATE TABLE run (id BIGSERIAL PRIMARY KEY, status TEXT NOT NULL, enqueued_at DOUBLE PRECISION NOT NULL, "
    "started_at DOUBLE PRECISION, finished_at DOUBLE PRECISION, worker TEXT, attempts INT NOT NULL DEFAULT 0)",
    "CREATE INDEX run_queued ON run(id) WHERE status = 'queued'",
)
PG_FLOOR_CLAIM = (
    "UPDATE run SET status='running', started_at=%s, worker=%s, attempts=attempts+1 "
    "WHERE id = (SELECT id FROM run WHERE status='queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id"
)
PG_FLOOR_DONE = "UPDATE run SET status='succeeded', finished_at=%s WHERE id=%s"


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def _wait_go(folder: Path) -> None:
    print("ready", flush=True)
    while not (folder / "go").exists():
        time.sleep(0.005)


def child_worker(folder: Path, target: str, out: str) -> None:
    """A worker process: the real runtime on `target` until SIGTERM; claim latencies to `out`."""
    import asyncio
    import logging

    from t4o_tui.engine import queue
    from t4o_tui.engine.job import install_jobs
    from t4o_tui.engine.runtime import Runtime, RuntimeOptions
    from t4o_tui.jobs.registry import REGISTRY
    from t4o_tui.store.db import open_database

    logging.getLogger("t4o_tui").setLevel(logging.WARNING)
    install_jobs(REGISTRY)
    REGISTRY.load_all()  # as the worker does: no job is imported inside a measured run
    db = open_database(target)
    latencies: list[float] = []
    claim_queue, claim_direct = queue.claim_queue, queue.claim_direct

    def timed_queue(*a: Any, **k: Any) -> Any:
        t0 = time.perf_counter()
        got = claim_queue(*a, **k)
        if got[0] is not None:
            latencies.append(time.perf_counter() - t0)
        return got

    def timed_direct(*a: Any, **k: Any) -> Any:
        t0 = time.perf_counter()
        got = claim_direct(*a, **k)
        if got:
            latencies.append(time.perf_counter() - t0)
        return got

    queue.claim_queue, queue.claim_direct = timed_queue, timed_direct  # type: ignore[assignment]

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await asyncio.to_thread(_wait_go, folder)
        rt = Runtime(db, data_dir=folder / "files",
                     options=RuntimeOptions(scheduler=False, retention=1_000_000, poll=0.05))
        await rt.start()
        await stop.wait()
        await rt.stop()

    asyncio.run(main())
    Path(out).write_text(json.dumps(latencies), encoding="utf-8")


def child_pg_floor_worker(folder: Path, url: str, out: str) -> None:
    import psycopg

    conn = psycopg.connect(url, autocommit=True)
    worker = f"floor-{os.getpid()}"
    latencies: list[float] = []
    _wait_go(folder)
    while True:
        t0 = time.perf_counter()
        row = conn.execute(PG_FLOOR_CLAIM, (time.time(), worker)).fetchone()
        if row is None:
            break
        latencies.append(time.perf_counter() - t0)
        conn.execute(PG_FLOOR_DONE, (time.time(), row[0]))
    conn.close()
    Path(out).write_text(json.dumps(latencies), encoding="utf-8")


class _PgServer:
    """Databases on the server `url` names (a role that may create them), or on a throwaway cluster
    started the way tests/pg_server.py does when `url` is 'auto'."""

    def __init__(self, url: str) -> None:
        self.cluster = None
        if url == "auto":
            sys.path.insert(0, str(HERE.parents[1] / "tests"))
            from pg_server import Cluster, _bin_dir  # type: ignore[import-not-found]

            bin_dir = _bin_dir()
            if bin_dir is None:
                raise SystemExit("--db auto: no PostgreSQL server binaries (initdb) found: apt-get install postgresql")
            self.cluster = Cluster(bin_dir)
            url = self.cluster.start()
        self.url = url

    def create(self) -> str:
        import uuid
        from urllib.parse import urlsplit, urlunsplit

        import psycopg

        name = "t4o_bench_" + uuid.uuid4().hex[:10]
        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return urlunsplit(urlsplit(self.url)._replace(path="/" + name))

    def drop(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[-1]
        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def version(self) -> str:
        import psycopg

        with psycopg.connect(self.url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else "?"

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()


def _start_workers(folder: Path, k: int, mode: str, target: str) -> tuple[list[subprocess.Popen[str]], list[Path]]:
    procs, outs = [], []
    for i in range(k):
        out = folder / f"latency-{i}.json"
        outs.append(out)
        procs.append(subprocess.Popen(
            [sys.executable, str(HERE), "--child", mode, "--dir", str(folder), "--target", target, "--out", str(out)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for p in procs:  # each says ready once it has imported and connected
        line = p.stdout.readline() if p.stdout else ""
        if line.strip() != "ready":
            raise SystemExit(f"{mode}: a worker did not start: {p.stderr.read() if p.stderr else ''}")
    (folder / "go").touch()
    return procs, outs


def _latencies(outs: list[Path]) -> list[float]:
    got: list[float] = []
    for out in outs:
        got += json.loads(out.read_text(encoding="utf-8"))
    return got


def backend_run(folder: Path, target: str, n: int, k: int, lane: str) -> dict[str, Any]:
    """N runs of one lane drained by k worker processes of the real runtime on `target`."""
    from t4o_tui.engine import queue
    from t4o_tui.engine.job import install_jobs
    from t4o_tui.engine.tasks import create_task
    from t4o_tui.jobs.registry import REGISTRY
    from t4o_tui.store.db import open_database

    install_jobs(REGISTRY)
    REGISTRY.load_all()  # as the worker does: no job is imported inside a measured run
    db = open_database(target)
    try:
        task = create_task("bench", "test", {"seconds": 0}, direct=lane == "direct")
        conn = db.connection()
        t0 = time.perf_counter()
        for _ in range(n):
            queue.enqueue(conn, task.id, direct=lane == "direct", trigger="manual", now=time.time())
        enqueue_s = time.perf_counter() - t0
        procs, outs = _start_workers(folder, k, "worker", target)
        t0 = time.perf_counter()
        try:
            while True:
                done = db.execute_sql("SELECT count(*) FROM run WHERE status IN ('succeeded','failed','cancelled')").fetchone()[0]
                if done >= n:
                    break
                if any(p.poll() is not None for p in procs):
                    raise SystemExit(f"a worker exited early: {procs[0].stderr.read() if procs[0].stderr else ''}")
                if time.perf_counter() - t0 > DRAIN_TIMEOUT_S:
                    raise SystemExit(f"only {done} of {n} runs finished in {DRAIN_TIMEOUT_S:g} s")
                time.sleep(0.02)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            codes = [p.wait(60) for p in procs]
        q = lambda sql: db.execute_sql(sql).fetchone()[0]  # noqa: E731
        first, last = q("SELECT min(started_at) FROM run"), q("SELECT max(finished_at) FROM run")
        check: dict[str, Any] = {
            "succeeded": q("SELECT count(*) FROM run WHERE status='succeeded'"),
            "doubled": q("SELECT count(*) FROM run WHERE attempts != 1"),
            "workers_used": q("SELECT count(DISTINCT worker) FROM run"),
            "exit_codes": codes,
        }
        overlaps, prev_end = 0, float("-inf")
        if lane == "queue":  # the queue lane runs one run at a time across every worker
            for start, end in db.execute_sql("SELECT started_at, finished_at FROM run ORDER BY started_at, id"):
                overlaps += start < prev_end
                prev_end = max(prev_end, end)
        check["overlaps"] = overlaps
        check["ok"] = check["succeeded"] == n and check["doubled"] == 0 and overlaps == 0 and codes == [0] * k
        lat = _latencies(outs)
        return {"runs_s": n / (last - first), "enqueue_s": enqueue_s, "claims": len(lat),
                "p50_ms": 1e3 * _pct(lat, 0.5), "p99_ms": 1e3 * _pct(lat, 0.99), "check": check}
    finally:
        db.close()


def pg_floor_run(folder: Path, url: str, n: int, k: int) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for sql in PG_FLOOR_SCHEMA:
            conn.execute(sql)
        conn.execute("INSERT INTO run(status, enqueued_at) SELECT 'queued', extract(epoch FROM now()) "
                     "FROM generate_series(1, %s)", (n,))
        conn.execute("VACUUM ANALYZE run")
        procs, outs = _start_workers(folder, k, "pg-floor-worker", url)
        codes = [p.wait(DRAIN_TIMEOUT_S) for p in procs]
        row = conn.execute(
            "SELECT min(started_at), max(finished_at), count(*) FILTER (WHERE status='succeeded'), "
            "count(*) FILTER (WHERE attempts != 1), count(DISTINCT worker) FROM run").fetchone()
        assert row is not None
        first, last, done, doubled, used = row
    lat = _latencies(outs)
    check = {"succeeded": done, "doubled": doubled, "workers_used": used, "exit_codes": codes,
             "ok": done == n and doubled == 0 and codes == [0] * k}
    return {"runs_s": n / (last - first), "claims": len(lat), "p50_ms": 1e3 * _pct(lat, 0.5),
            "p99_ms": 1e3 * _pct(lat, 0.99), "check": check}


def backends_main(args: argparse.Namespace) -> int:
    """SQLite beside PostgreSQL (and the SKIP LOCKED floor), each lane, 1/2/4 worker processes."""
    server = _PgServer(args.db)
    try:
        workers = [int(x) for x in args.workers.split(",") if x]
        lanes = [x for x in args.lanes.split(",") if x]
        load = os.getloadavg()
        print(f"backends: N={args.n} runs of the Test job (seconds=0) per cell, workers {workers}, lanes {lanes}; "
              f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, PostgreSQL {server.version()} at "
              f"{_redact(server.url)}, {os.cpu_count()} cpu(s), load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
              flush=True)
        cells: dict[str, dict[str, Any]] = {}
        for lane in lanes:
            for k in workers:
                for backend in ("sqlite", "postgresql", "pg-floor"):
                    if backend == "pg-floor" and lane != lanes[0]:
                        continue  # the floor has no lanes: measured once per worker count
                    with tempfile.TemporaryDirectory(prefix="qbench-backends-", dir=args.tmp) as tmp:
                        folder = Path(tmp)
                        target = str(folder / "event.sqlite") if backend == "sqlite" else server.create()
                        try:
                            if backend == "pg-floor":
                                res = pg_floor_run(folder, target, args.n, k)
                            else:
                                res = backend_run(folder, target, args.n, k, lane)
                        finally:
                            if backend != "sqlite":
                                server.drop(target)
                    key = f"{'floor' if backend == 'pg-floor' else lane} {k}w {backend}"
                    cells[key] = res
                    print(f"  {key:<24} {res['runs_s']:>8,.0f} runs/s  claim p50 {res['p50_ms']:6.2f} ms  "
                          f"p99 {res['p99_ms']:7.2f} ms  check {'ok' if res['check']['ok'] else 'FAILED'} "
                          f"{json.dumps(res['check'])}", flush=True)
        print()
        print(f"{'lane':<7}{'workers':>8} {'SQLite runs/s':>14} {'p50/p99 ms':>14} {'PostgreSQL runs/s':>18} "
              f"{'p50/p99 ms':>14} {'floor runs/s':>13} {'p50/p99 ms':>14} {'PG/SQLite':>10} {'PG/floor':>9}")
        for lane in lanes:
            for k in workers:
                lite, pg, fl = cells[f"{lane} {k}w sqlite"], cells[f"{lane} {k}w postgresql"], cells[f"floor {k}w pg-floor"]
                print(f"{lane:<7}{k:>8} {lite['runs_s']:>14,.0f} {lite['p50_ms']:>6.2f}/{lite['p99_ms']:<7.2f} "
                      f"{pg['runs_s']:>18,.0f} {pg['p50_ms']:>6.2f}/{pg['p99_ms']:<7.2f} {fl['runs_s']:>13,.0f} "
                      f"{fl['p50_ms']:>6.2f}/{fl['p99_ms']:<7.2f} {pg['runs_s'] / lite['runs_s']:>10.2f} "
                      f"{pg['runs_s'] / fl['runs_s']:>9.2f}")
        load = os.getloadavg()
        print(f"(runs/s from the first start to the last finish in the database; claim latency = one claim "
              f"transaction that handed a worker runs; load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")
        ok = all(c["check"]["ok"] for c in cells.values())
        print(json.dumps({"n": args.n, "cells": cells, "ok": ok}, default=str))
        return 0 if ok else 1
    finally:
        server.close()


def _redact(url: str) -> str:
    from t4o_tui.store.backend_postgres import redact

    return redact(url)


# ---------------------------------------------------------------------------------------------------
# parent: run, aggregate, print
# ---------------------------------------------------------------------------------------------------
def spawn(variant: str, n: int, tmp_root: str | None, profile: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"qbench-{variant}-", dir=tmp_root) as folder:
        cmd = [sys.executable, str(HERE), "--child", variant, "-n", str(n), "--dir", folder]
        if profile:
            cmd += ["--profile", profile]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=DRAIN_TIMEOUT_S + 120)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            raise SystemExit(f"variant {variant} failed (exit {proc.returncode})")
        if proc.stderr.strip():
            sys.stderr.write(f"[{variant} stderr]\n{proc.stderr}")
        return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("-n", type=int, default=10000, help="runs (tasks) per variant (default 10000)")
    ap.add_argument(
        "--repeat", type=int, default=3, help="repeats of every variant, interleaved (default 3)"
    )
    ap.add_argument(
        "--only", default=",".join(ALL_VARIANTS), help="comma-separated variants (default: all)"
    )
    ap.add_argument(
        "--tmp",
        default=None,
        help="parent folder for the temporary databases (default: system temp)",
    )
    ap.add_argument(
        "--profile",
        default=None,
        metavar="FILE",
        help="cProfile the t4o queue-lane thread into FILE (pstats), slows t4o down",
    )
    ap.add_argument(
        "--db",
        default=None,
        metavar="URL",
        help="postgresql://… of a role that may create databases (or 'auto': a throwaway cluster): "
        "compare SQLite with PostgreSQL and the SKIP LOCKED floor instead of the variants above",
    )
    ap.add_argument("--workers", default="1,2,4", help="with --db: worker process counts (default 1,2,4)")
    ap.add_argument("--lanes", default="direct,queue", help="with --db: lanes (default direct,queue)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--dir", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--target", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child == "worker":
        child_worker(Path(args.dir), args.target, args.out)
        return 0
    if args.child == "pg-floor-worker":
        child_pg_floor_worker(Path(args.dir), args.target, args.out)
        return 0
    if args.child:
        res = run_child(args.child, args.n, Path(args.dir), args.profile)
        print(json.dumps(res, default=str))
        return 0
    if args.db:
        return backends_main(args)

    variants = [v for v in args.only.split(",") if v]
    for v in variants:
        if v not in ALL_VARIANTS:
            ap.error(f"unknown variant {v} (known: {', '.join(ALL_VARIANTS)})")
    n, repeat = args.n, args.repeat
    print(
        f"queue throughput: N={n} trivial runs per variant, {repeat} repeat(s), "
        f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()} cpu(s)",
        flush=True,
    )
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    t_all = time.perf_counter()
    for r in range(repeat):
        for v in variants:
            res = spawn(v, n, args.tmp, args.profile if v == "t4o" else None)
            results[v].append(res)
            ok = res["check"]["ok"]
            print(
                f"  repeat {r + 1}/{repeat} {v:<10} drain {_fmt_rate(res['drain_rate']):>7}/s  "
                f"e2e {_fmt_rate(res['e2e_rate']):>7}/s  check {'ok' if ok else 'FAILED'}",
                flush=True,
            )

    summary: dict[str, dict[str, Any]] = {}
    for v, runs in results.items():
        s: dict[str, Any] = {}
        for key in ("enqueue_rate", "drain_rate", "e2e_rate"):
            vals = [x[key] for x in runs]
            s[key] = statistics.median(vals)
            s[key + "_best"] = max(vals)
        s["drain_us_per_run"] = 1e6 / s["drain_rate"]
        s["ok"] = all(x["check"]["ok"] for x in runs)
        summary[v] = s

    labels = {
        "t4o": "t4o-tui Runtime in-process, queue lane, log at WARNING",
        "t4o-queue": "t4o queue.claim_queue loop only (no runtime, no job)",
        "t4o-1w": "t4o-tui, one --worker process (INFO log to a file)",
        "t4o-2w": "t4o-tui, two --worker processes (INFO log to files)",
        "floor": "raw sqlite3: insert / claim / complete (3 tx per run)",
        "floor-t4o": "raw sqlite3, t4o's tx shape (finish+2 log rows+claim)",
        "floor-schema": "the same raw sqlite3 on t4o's own tables and indexes",
        "huey": "Huey SqliteHuey, 1 worker thread, synchronous=NORMAL",
        "huey-full": "Huey SqliteHuey, 1 worker thread, stock (sync=FULL)",
    }
    print()
    print(
        f"{'variant':<12} {'enqueue/s':>10} {'drain/s':>9} {'e2e/s':>9} {'us/run':>7} "
        f"{'best drain':>10} {'best e2e':>9}  check  what"
    )
    for v, s in summary.items():
        print(
            f"{v:<12} {_fmt_rate(s['enqueue_rate']):>10} {_fmt_rate(s['drain_rate']):>9} {_fmt_rate(s['e2e_rate']):>9} "
            f"{s['drain_us_per_run']:>7.1f} {_fmt_rate(s['drain_rate_best']):>10} {_fmt_rate(s['e2e_rate_best']):>9}  "
            f"{'ok    ' if s['ok'] else 'FAILED'} {labels[v]}"
        )
    print(
        f"(median of {repeat} repeat(s); us/run = drain time per run; best = highest of the repeats)"
    )

    ratios: dict[str, float] = {}
    mine = [v for v in ("t4o", "t4o-queue", "t4o-1w", "t4o-2w") if v in summary]
    peers = [v for v in ("huey", "huey-full", "floor", "floor-t4o", "floor-schema") if v in summary]
    for a in mine:
        for b in peers:
            for key, name in (("e2e_rate", "e2e"), ("drain_rate", "drain")):
                ratios[f"{a}/{b}:{name}"] = summary[a][key] / summary[b][key]
    if mine and peers:
        print()
        print("ratios, end-to-end / drain (above 1: faster than the column)")
        print(f"{'':<10}" + "".join(f"{b:>16}" for b in peers))
        for a in mine:
            cells = "".join(
                f"{ratios[f'{a}/{b}:e2e']:>9.2f} /{ratios[f'{a}/{b}:drain']:>5.2f}" for b in peers
            )
            print(f"{a:<10}{cells}")

    checks: dict[str, Any] = {}
    print()
    for v in mine:
        c = results[v][-1]["check"]
        keep = (
            "ok",
            "succeeded",
            "missing_fields",
            "attempts_not_1",
            "lease_left",
            "runs_without_2_logs",
            "log_lines",
            "overlaps",
            "by_worker",
            "exit_codes",
        )
        checks[v] = {k: c[k] for k in keep if k in c}
        line = (
            f"check {v} (last repeat): {'OK' if c['ok'] else 'FAILED'} - {c['succeeded']}/{n} succeeded, "
            f"{c['missing_fields']} missing started_at/finished_at/worker, {c['attempts_not_1']} executed more "
            f"than once, {c['lease_left']} with a lease left, {c['runs_without_2_logs']} without their log lines "
            f"({c['log_lines']} log rows), {c['overlaps']} overlapping [started_at, finished_at]"
        )
        if "exit_codes" in c:
            shares = ", ".join(
                f"pid {w.split(':')[1] if w.count(':') >= 2 else w}: {k} ({k / n:.0%})"
                for w, k in c["by_worker"].items()
            )
            line += f"; exit codes {c['exit_codes']}; runs per worker: {shares}"
        print(line)
    for v in peers:
        c = results[v][-1]["check"]
        checks[v] = c
        print(f"check {v} (last repeat): {'OK' if c['ok'] else 'FAILED'} - {json.dumps(c)}")
    total = time.perf_counter() - t_all
    print(f"\ntotal {total:.1f} s")
    print(
        json.dumps(
            {
                "n": n,
                "repeat": repeat,
                "summary": summary,
                "ratios": ratios,
                "checks": checks,
                "runs": results,
                "total_s": total,
            },
            default=str,
        )
    )
    return 0 if all(s["ok"] for s in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
