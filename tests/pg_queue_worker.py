"""A worker process for tests/test_postgres.py: the queue's claim protocol on a real PostgreSQL server.

Usage: python pg_queue_worker.py URL WORKER TOTAL [LEASE [hang]]. Prints "ready", then claims
queue-lane and direct-lane runs until TOTAL runs have ended, and recovers orphans (runs whose
worker's lease expired) when it has nothing to claim. With "hang", it prints "working ID" at its
first run and never ends it (the test kills it there). Each run's "work" writes one row to work_log with the
server's clock at its start and end, and what the queue lane held while it ran: the test reads
these to prove every run ran once and queue-lane runs never overlapped.
"""

from __future__ import annotations

import sys
import time

import peewee
import psycopg

from t4o_tui.engine import queue
from t4o_tui.engine.queue import Claimed, Outcome
from t4o_tui.store.db import open_database

POLICIES = {"test": "requeue"}
LOST = (psycopg.OperationalError, peewee.OperationalError, peewee.InterfaceError)


def work(conn: object, run: Claimed, worker: str) -> None:
    c = conn  # an engine connection (PgConnection)
    running = c.execute(  # type: ignore[attr-defined]
        "SELECT id, worker FROM run WHERE status='running' AND lane='queue' ORDER BY id"
    ).fetchall()
    wid = c.execute(  # type: ignore[attr-defined]
        "INSERT INTO work_log(run_id, lane, worker, lane_running, started) "
        "VALUES (?, ?, ?, ?, clock_timestamp()) RETURNING id",
        (run.id, run.lane, worker, ",".join(f"{rid}:{w}" for rid, w in running)),
    ).fetchone()[0]
    time.sleep(0.002)  # the job's own work: long enough that the other worker tries to claim meanwhile
    c.execute("UPDATE work_log SET ended = clock_timestamp() WHERE id = ?", (wid,))  # type: ignore[attr-defined]


def main() -> int:
    url, worker, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lease = float(sys.argv[4]) if len(sys.argv) > 4 else 30.0
    hang = sys.argv[5:] == ["hang"]
    db = open_database(url)
    print("ready", flush=True)
    pending: Outcome | None = None
    backoff = 0.05
    while True:
        try:
            conn = db.connection()  # a new one after the server went away
            claimed, _ = queue.claim_queue(conn, worker=worker, now=time.time(), lease=lease, finish=pending)
            pending = None
            if claimed is not None:
                work(conn, claimed, worker)
                if hang:
                    print(f"working {claimed.id}", flush=True)
                    while True:
                        time.sleep(60)  # a run that never ends: its worker is killed here
                pending = Outcome(claimed.id, "succeeded", time.time())
            for direct in queue.claim_direct(conn, worker=worker, now=time.time(), lease=lease, limit=4):
                work(conn, direct, worker)
                queue.finish(conn, Outcome(direct.id, "succeeded", time.time()), worker=worker)
            if pending is None and claimed is None:
                ended = conn.execute(
                    "SELECT count(*) FROM run WHERE status IN ('succeeded', 'failed', 'cancelled')"
                ).fetchone()[0]
                if ended >= total:
                    break
                queue.recover_orphans(conn, now=time.time(), policies=POLICIES, worker=worker)
                time.sleep(0.001)  # the worker's poll interval when there is nothing to claim
            backoff = 0.05
        except LOST as exc:
            # The server went away (restart, network cut): say so, back off, reconnect. A run cut
            # mid-way stays running until its lease expires; then orphan recovery requeues it. A
            # hand-over whose commit was cut is retried (`pending`): if it had committed, the
            # finish is discarded as not owned and the run it claimed is recovered by its lease.
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print(f"{worker}: connection lost ({first}); retrying in {backoff:.2f} s", file=sys.stderr, flush=True)
            time.sleep(backoff)
            backoff = min(backoff * 2, 1.0)
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
