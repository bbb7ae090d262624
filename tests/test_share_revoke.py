"""Share links changed from another process: how soon a revoke takes effect, how fresh hit counts are.

A real share server on 127.0.0.1 in this process; the CLI in another process, as an admin uses it.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime

import aiohttp
import pg_fixtures

from t4o_tui.config import data_dir_for
from t4o_tui.engine.runs import enqueue_run, get_run
from t4o_tui.engine.runtime import Runtime, RuntimeOptions
from t4o_tui.engine.tasks import create_task
from t4o_tui.share import links
from t4o_tui.share.server import FLUSH_HITS_S, REFRESH_S, ShareServer

# `db` on SQLite and on PostgreSQL, `backend` says which (tests/pg_fixtures.py).
backend, db, db_target, pg_admin_url, pg_url = (
    pg_fixtures.backend, pg_fixtures.db, pg_fixtures.db_target, pg_fixtures.pg_admin_url, pg_fixtures.pg_url)

REVOKE_BOUND_S = 1.0  # what `share revoke --help` promises ("within a second")


def _produce(db, db_path, task: str) -> None:
    rid = enqueue_run(db, task)

    async def main() -> None:
        rt = Runtime(db, data_dir=data_dir_for(db_path), options=RuntimeOptions(poll=0.02, scheduler=False))
        await rt.start()
        while (await asyncio.to_thread(get_run, db, rid)).status in ("queued", "running"):
            await asyncio.sleep(0.02)
        await rt.stop()

    asyncio.run(main())
    db.connect(reuse_if_open=True)


def _serve(db, body) -> None:
    async def main() -> None:
        server = ShareServer(db, host="127.0.0.1", port=0)
        assert await server.start()
        try:
            await body(f"http://127.0.0.1:{server.port}", server)
        finally:
            await server.stop()

    asyncio.run(main())
    db.connect(reuse_if_open=True)


def test_revoke_from_another_process_stops_the_link_within_the_stated_bound(db, db_path, db_target, cli):
    for args in (("share", "--help"), ("share", "revoke", "--help")):
        assert "stops working: within a second" in " ".join(cli(*args, check=True).stdout.split())
    assert 2 * REFRESH_S <= REVOKE_BOUND_S  # the server re-reads links every REFRESH_S (plus the read itself)
    create_task("Results", "test", {"seconds": 0, "write_file": True})
    _produce(db, db_path, "Results")
    sh = links.create_share(db, "Results")
    bounds: list[float] = []

    async def body(base: str, server: ShareServer) -> None:
        url = links.share_url(base, sh.token)
        async with aiohttp.ClientSession() as s:
            end = time.monotonic() + 10
            while (await s.get(url)).status != 200:  # served once the server has read the new link
                assert time.monotonic() < end, "the new link was never served"
                await asyncio.sleep(0.02)
            res = await asyncio.to_thread(cli, "share", "revoke", str(sh.id), db=db_target)
            assert res.returncode == 0 and "stops serving it within a second" in res.stdout
            revoked_at = time.monotonic()  # committed: the CLI process has exited
            while (await s.get(url)).status != 404:
                await asyncio.sleep(0.01)
                assert time.monotonic() - revoked_at < 10, "still served 10 s after the revoke"
            bounds.append(time.monotonic() - revoked_at)

    _serve(db, body)
    assert bounds[0] < REVOKE_BOUND_S, f"served {bounds[0]:.2f} s after the revoke"


def test_shares_says_when_hit_counts_were_last_written(db, db_path, db_target, cli):
    create_task("Results", "test", {"seconds": 0, "write_file": True})
    _produce(db, db_path, "Results")
    sh = links.create_share(db, "Results")
    before = json.loads(cli("shares", "--json", db=db_target, check=True).stdout)[0]
    assert before["hits"] == 0 and before["hits_written_at"] is None
    assert cli("shares", db=db_target, check=True).stdout.rstrip().endswith("Hits as last written by a share server: none yet")

    async def body(base: str, server: ShareServer) -> None:
        async with aiohttp.ClientSession() as s:
            for _ in range(3):
                async with s.get(links.share_url(base, sh.token)) as r:
                    assert r.status == 200
        await server.flush_hits()  # what its flush loop does every FLUSH_HITS_S

    started = time.time()
    _serve(db, body)
    after = json.loads(cli("shares", "--json", db=db_target, check=True).stdout)[0]
    assert after["hits"] == 3
    written = datetime.fromisoformat(after["hits_written_at"]).timestamp()
    assert started - 0.01 <= written <= time.time()
    last = cli("shares", db=db_target, check=True).stdout.rstrip().splitlines()[-1]
    assert last.startswith("Hits as last written by a share server: ") and ("ago" in last or "now" in last)
    assert f"every {FLUSH_HITS_S:g} s" in last
