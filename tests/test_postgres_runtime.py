"""The runtime on a real PostgreSQL server (issue 14): woken by LISTEN/NOTIFY rather than by its
poll, and what it says while the server is away (the TUI's status line reads `Runtime.status`)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pg_server
import psycopg
import pytest

from t4o_tui.config import data_dir_for
from t4o_tui.engine import queue, runtime
from t4o_tui.engine.runs import get_run
from t4o_tui.engine.runtime import Runtime, RuntimeOptions
from t4o_tui.engine.tasks import create_task
from t4o_tui.store.backend_postgres import PgConnection
from t4o_tui.store.db import open_database

pg_admin_url, pg_url, own_cluster = pg_server.pg_admin_url, pg_server.pg_url, pg_server.own_cluster


async def _until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def _with_runtime(db, db_path: Path, body: Callable[[Runtime], Awaitable[None]], **opts) -> None:
    async def main() -> None:
        rt = Runtime(db, data_dir=data_dir_for(db_path), options=RuntimeOptions(scheduler=False, **opts))
        await rt.start()
        try:
            await body(rt)
        finally:
            await rt.stop(grace=1.0)

    asyncio.run(main())


def test_an_enqueue_on_another_connection_wakes_idle_lanes_at_once_not_at_their_poll(pg_url, db_path):
    db = open_database(pg_url)
    q = create_task("Q", "test", {"seconds": 0})
    d = create_task("D", "test", {"seconds": 0}, direct=True)
    other = PgConnection(psycopg.connect(pg_url, autocommit=True))  # another process's, as it were
    waits: list[float] = []

    async def body(rt: Runtime) -> None:
        await _until(lambda: rt.listening, 20, "the listener to connect")
        # A warm-up run per lane (woken by whatever): each lane then goes back to its 60 s wait
        # as its run's end commits, so the runs measured next are woken by their notification.
        for task_id, direct in ((q.id, False), (d.id, True)) * 2:
            t0 = time.monotonic()
            rid = await asyncio.to_thread(queue.enqueue, other, task_id, direct=direct, trigger="manual", now=time.time())
            await _until(lambda rid=rid: get_run(db, rid).status == "succeeded", 20, f"run {rid} to succeed")
            waits.append(time.monotonic() - t0)
        assert rt.heard >= 4

    _with_runtime(db, db_path, body, poll=60.0, listen_poll=60.0)
    # Each well under the lanes' 60 s poll: they were woken by the notification.
    assert max(waits[2:]) < 5.0, waits
    other.raw.close()
    db.close()


def test_stop_wakes_the_listener_rather_than_sitting_out_its_wait(pg_url, db_path, monkeypatch):
    """A worker on PostgreSQL stops at once: stop() wakes the listener's wait for notifications
    (it sat out up to half a second of it, once per stop, before)."""
    monkeypatch.setattr(runtime, "LISTEN_WAIT", 600.0)
    db = open_database(pg_url)
    listeners: list[threading.Thread] = []

    async def main() -> None:
        rt = Runtime(db, data_dir=data_dir_for(db_path), options=RuntimeOptions(scheduler=False))
        await rt.start()
        try:
            await _until(lambda: rt.listening, 20, "the listener to connect")
            listeners.extend(th for th in rt._threads if th.name == "queue-listener")
        finally:
            await rt.stop()  # joins the listener for 2 s at most: woken, it ends well within them

    asyncio.run(main())
    assert len(listeners) == 1
    assert not listeners[0].is_alive()
    db.close()


def test_the_runtime_says_once_that_the_server_is_gone_and_back_and_the_queued_run_still_runs(
        own_cluster, db_path, caplog):
    with psycopg.connect(own_cluster.url, autocommit=True) as admin:
        admin.execute("CREATE DATABASE away")
    url = pg_server.with_database(own_cluster.url, "away")
    db = open_database(url)
    create_task("Q", "test", {"seconds": 0})
    seen: list[str | None] = []

    async def body(rt: Runtime) -> None:
        await _until(lambda: rt.listening, 20, "the listener to connect")
        await asyncio.to_thread(own_cluster.pause)
        await _until(lambda: rt.status() is not None, 20, "the runtime to notice")
        seen.append(rt.status())
        # Once it is back, the lanes work again (on new connections).
        await asyncio.to_thread(own_cluster.resume)
        await _until(lambda: rt.status() is None, 30, "the runtime to reconnect")
        rid = await asyncio.to_thread(
            lambda: queue.enqueue(db.connection(), 1, direct=False, trigger="manual", now=time.time()))
        await _until(lambda: get_run(db, rid).status == "succeeded", 20, "the run after the reconnect")

    with caplog.at_level(logging.INFO, logger="t4o_tui"):
        _with_runtime(db, db_path, body, poll=0.05)
    assert seen[0] is not None and seen[0].startswith("database connection lost ") and seen[0].endswith(
        "; reconnecting")
    lines = [r.getMessage() for r in caplog.records]
    assert sum(m.startswith("database connection lost (") for m in lines) == 1, lines
    assert sum(m.startswith("database connection back after ") for m in lines) == 1, lines
    db.close()


def test_a_refused_statement_is_not_a_lost_connection(pg_url):
    """connection_lost tells a gone server (or none there) from a statement the server refused."""
    from t4o_tui.store.backend_postgres import connection_lost

    with psycopg.connect(pg_url, autocommit=True) as conn, pytest.raises(psycopg.Error) as refused:
        conn.execute("SELECT no_such_column FROM no_such_table")
    assert not connection_lost(refused.value)
    with pytest.raises(psycopg.Error) as nobody:
        psycopg.connect("postgresql://t4o@127.0.0.1:1/race", connect_timeout=5)
    assert connection_lost(nobody.value)
    assert connection_lost(psycopg.OperationalError("server closed the connection unexpectedly"))
