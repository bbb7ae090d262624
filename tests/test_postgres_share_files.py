"""Share links across machines on one PostgreSQL server (issue 14): a run's file is kept in the
database too, so a link served on machine B answers with a file written by a run on machine A.

Two "machines" in one test process: each has its own connection to the same database; A runs the
task with its own data folder, B serves the links. After each of A's runs its data folder is moved
away, so B (on the same disk here) cannot read the file where A wrote it, as on another machine.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import time
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from pathlib import Path

import aiohttp
import pg_server
import pytest

from t4o_tui.engine import executor, maintenance
from t4o_tui.engine.runs import enqueue_run, get_run
from t4o_tui.engine.runtime import Runtime, RuntimeOptions
from t4o_tui.engine.tasks import create_task
from t4o_tui.share import links
from t4o_tui.share.server import ShareServer
from t4o_tui.store.db import open_database
from t4o_tui.store.models import ArtifactData

pg_admin_url, pg_url = pg_server.pg_admin_url, pg_server.pg_url

# What differs between two answers for the same file by nature, not by where it was read.
_PER_ANSWER = {"date", "content-length", "connection", "keep-alive"}


class Machines:
    """Machine A (a runtime, its data folder under `root`/a) and machine B (a share server)."""

    def __init__(self, url: str, root: Path) -> None:
        self.db_a, self.db_b = open_database(url), open_database(url)
        self.root = root
        self.moved = 0
        self.rt_a: Runtime | None = None
        self.server_a: ShareServer | None = None
        self.server_b: ShareServer | None = None
        self.reads_from_db = 0

    async def start(self) -> None:
        self.rt_a = Runtime(self.db_a, data_dir=self.root / "a", options=RuntimeOptions(poll=0.02, scheduler=False))
        await self.rt_a.start()
        self.server_a = ShareServer(self.db_a, host="127.0.0.1", port=0)
        self.server_b = ShareServer(self.db_b, host="127.0.0.1", port=0)
        assert await self.server_a.start() and await self.server_b.start()
        stored = self.server_b._stored

        def counted(f):  # how often B reads a file from the database (once per file, then memory)
            self.reads_from_db += 1
            return stored(f)

        self.server_b._stored = counted  # type: ignore[method-assign]

    async def stop(self) -> None:
        for s in (self.server_a, self.server_b):
            if s is not None:
                await s.stop()
        if self.rt_a is not None:
            await self.rt_a.stop()

    async def run_on_a(self, task: str) -> int:
        rid = await asyncio.to_thread(enqueue_run, self.db_a, task)
        end = time.monotonic() + 20
        while (run := await asyncio.to_thread(get_run, self.db_a, rid)).status in ("queued", "running"):
            assert time.monotonic() < end, f"run {rid} did not end"
            await asyncio.sleep(0.02)
        assert run.status == "succeeded", run.error
        return rid

    def move_a_folder_away(self) -> None:
        """A's files are no longer where A wrote them: B cannot read them from the disk."""
        self.moved += 1
        shutil.move(self.root / "a", self.root / f"a-elsewhere-{self.moved}")

    def url(self, server: ShareServer, token: str) -> str:
        return links.share_url(f"http://127.0.0.1:{server.port}", token)


def with_machines(url: str, root: Path, body: Callable[[Machines], Awaitable[None]]) -> Machines:
    m = Machines(url, root)

    async def main() -> None:
        await m.start()
        try:
            await body(m)
        finally:
            await m.stop()

    asyncio.run(main())
    return m


async def get_until(url: str, cond: Callable[[int, bytes], bool], timeout: float = 10.0,
                    **kw) -> tuple[int, bytes, dict[str, str]]:
    """GET `url` until `cond(status, body)` (the server refreshes its links twice a second)."""
    end = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        while True:
            async with s.get(url, **kw) as r:
                status, body, headers = r.status, await r.read(), {k.lower(): v for k, v in r.headers.items()}
            if cond(status, body):
                return status, body, headers
            assert time.monotonic() < end, f"{url}: last answer {status} {body[:60]!r}"
            await asyncio.sleep(0.1)


def _artifact(db, rid: int) -> tuple[int, str, float]:
    return db.execute_sql("SELECT id, path, created_at FROM artifact WHERE run_id = ?", (rid,)).fetchone()


def test_a_file_written_on_machine_a_is_served_by_machine_b_from_the_database(pg_url, tmp_path):
    seen: dict[str, object] = {}

    async def body(m: Machines) -> None:
        await asyncio.to_thread(create_task, "Results", "test", {"seconds": 0, "write_file": True})
        sh = await asyncio.to_thread(links.create_share, m.db_b, "Results")
        url_a, url_b = m.url(m.server_a, sh.token), m.url(m.server_b, sh.token)
        for n in (1, 2):
            rid = await m.run_on_a("Results")
            aid, path, created_at = _artifact(m.db_a, rid)
            data = Path(path).read_bytes()
            stored = m.db_b.execute_sql(
                "SELECT bytes, sha256, size FROM artifact_data WHERE artifact_id = ?", (aid,)).fetchone()
            assert bytes(stored[0]) == data and stored[1] == hashlib.sha256(data).hexdigest() and stored[2] == len(data)
            # A serves its own file from its data folder: the answer B must give the same.
            _, local, local_headers = await get_until(url_a, lambda st, b, data=data: st == 200 and b == data)
            m.move_a_folder_away()
            assert not Path(path).exists()
            status, got, headers = await get_until(url_b, lambda st, b, data=data: st == 200 and b == data)
            assert headers["etag"] == f'"t4o-{aid}-{len(data)}"'
            assert headers["last-modified"] == formatdate(created_at, usegmt=True)
            assert headers["content-type"] == "text/plain; charset=utf-8"
            assert headers["content-disposition"] == f'inline; filename="test-run-{rid}.txt"'
            assert {k: v for k, v in headers.items() if k not in _PER_ANSWER} == {
                k: v for k, v in local_headers.items() if k not in _PER_ANSWER}
            async with aiohttp.ClientSession() as s:
                async with s.get(url_b, headers={"If-None-Match": headers["etag"]}) as r:
                    assert r.status == 304 and await r.read() == b"" and r.headers["ETag"] == headers["etag"]
                async with s.get(url_b, headers={"If-Modified-Since": headers["last-modified"]}) as r:
                    assert r.status == 304
                async with s.head(url_b) as r:
                    assert r.status == 200 and int(r.headers["Content-Length"]) == len(data)
                for _ in range(5):
                    async with s.get(url_b) as r:
                        assert r.status == 200 and await r.read() == data
            # Read from the database once per file; every other answer came from B's memory.
            assert m.reads_from_db == n, m.reads_from_db
            seen[f"etag{n}"] = headers["etag"]
        assert seen["etag1"] != seen["etag2"]  # the newer run's file, not the first one kept in memory

    with_machines(pg_url, tmp_path, body)


def test_a_file_larger_than_one_row_is_kept_in_parts_and_b_streams_it(pg_url, tmp_path, monkeypatch, caplog):
    # The test file is about 50 bytes: over a 20-byte row, in parts of 16 bytes (4 parts).
    monkeypatch.setattr(executor, "STORED_FILE_MAX", 20)
    monkeypatch.setattr(executor, "STORED_CHUNK", 16)
    seen: dict[str, object] = {}

    async def body(m: Machines) -> None:
        await asyncio.to_thread(create_task, "Results", "test", {"seconds": 0, "write_file": True})
        sh = await asyncio.to_thread(links.create_share, m.db_b, "Results")
        url_a, url_b = m.url(m.server_a, sh.token), m.url(m.server_b, sh.token)
        # Parts an earlier attempt of the run left for other bytes (it crashed before its end) go at its end.
        rid = await asyncio.to_thread(enqueue_run, m.db_a, "Results")
        m.db_a.execute_sql("INSERT INTO artifact_chunk(run_id, sha256, seq, bytes) VALUES (?, 'old', 0, ?)",
                           (rid, b"stale"))
        end = time.monotonic() + 20
        while (run := await asyncio.to_thread(get_run, m.db_a, rid)).status in ("queued", "running"):
            assert time.monotonic() < end
            await asyncio.sleep(0.02)
        assert run.status == "succeeded", run.error
        aid, path, _ = _artifact(m.db_a, rid)
        data = Path(path).read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        parts = -(-len(data) // 16)
        assert parts >= 3
        assert m.db_b.execute_sql("SELECT bytes, sha256, size, chunks FROM artifact_data WHERE artifact_id = ?",
                                  (aid,)).fetchone() == (b"", sha, len(data), parts)
        stored = m.db_b.execute_sql("SELECT sha256, seq, bytes FROM artifact_chunk WHERE run_id = ? ORDER BY seq",
                                    (rid,)).fetchall()
        assert [(r[0], r[1]) for r in stored] == [(sha, i) for i in range(parts)]  # the stale part is gone
        assert b"".join(bytes(r[2]) for r in stored) == data
        logs = [r[0] for r in m.db_a.execute_sql("SELECT message FROM run_log WHERE run_id = ?", (rid,)).fetchall()]
        assert f"test-run-{rid}.txt ({len(data)} bytes) kept in the database in {parts} parts for the share servers " \
               "of the other machines" in logs, logs
        _, _, local_headers = await get_until(url_a, lambda st, b: st == 200 and b == data)
        m.move_a_folder_away()
        status, got, headers = await get_until(url_b, lambda st, b: st == 200 and b == data)
        assert {k: v for k, v in headers.items() if k not in _PER_ANSWER} == {
            k: v for k, v in local_headers.items() if k not in _PER_ANSWER}
        async with aiohttp.ClientSession() as s:
            async with s.head(url_b) as r:
                assert r.status == 200 and int(r.headers["Content-Length"]) == len(data)
            async with s.get(url_b, headers={"If-None-Match": headers["etag"]}) as r:
                assert r.status == 304
            # A part changed in the database: the answer is cut short, never a wrong file taken for whole.
            m.db_a.execute_sql("UPDATE artifact_chunk SET bytes = ? WHERE run_id = ? AND seq = 1", (b"X" * 16, rid))
            with pytest.raises(aiohttp.ClientPayloadError):
                async with s.get(url_b) as r:
                    await r.read()
            # A part missing: B says the file is incomplete and answers 404 as for a file that is gone.
            m.db_a.execute_sql("DELETE FROM artifact_chunk WHERE run_id = ? AND seq = 2", (rid,))
            async with s.get(url_b) as r:
                seen["missing"] = r.status
        seen["rid"] = rid

    with caplog.at_level(logging.WARNING, logger="t4o_tui"):
        m = with_machines(pg_url, tmp_path, body)
    assert seen["missing"] == 404
    said = [r.getMessage() for r in caplog.records]
    assert any("does not match its checksum; the answer was cut short" in t for t in said), said
    assert any("kept in the database is incomplete (" in t for t in said), said
    # The parts go with their run (retention deletes runs; their rows follow by ON DELETE CASCADE).
    db = m.db_a
    db.connect(reuse_if_open=True)
    assert db.execute_sql("SELECT count(*) FROM artifact_chunk WHERE run_id = ?", (seen["rid"],)).fetchone()[0] > 0
    db.execute_sql("DELETE FROM run WHERE id = ?", (seen["rid"],))
    assert db.execute_sql("SELECT count(*) FROM artifact_chunk WHERE run_id = ?", (seen["rid"],)).fetchone()[0] == 0


def test_a_file_over_the_limit_stays_on_its_machine_the_run_log_and_b_s_404_say_so(
        pg_url, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(executor, "STORED_FILE_LIMIT", 20)  # the test file is about 50 bytes

    async def body(m: Machines) -> None:
        await asyncio.to_thread(create_task, "Results", "test", {"seconds": 0, "write_file": True})
        sh = await asyncio.to_thread(links.create_share, m.db_b, "Results")
        rid = await m.run_on_a("Results")
        assert m.db_a.execute_sql("SELECT count(*) FROM artifact_data").fetchone()[0] == 0
        logs = [r[0] for r in m.db_a.execute_sql("SELECT message FROM run_log WHERE run_id = ?", (rid,)).fetchall()]
        size = Path(get_run(m.db_a, rid).output).stat().st_size
        assert f"test-run-{rid}.txt ({size} bytes) is over the 20 bytes kept in the database: only this machine's " \
               "share server can serve it" in logs, logs
        # In one test process both machines have the same host name: the run says it ran elsewhere.
        m.db_a.execute_sql("UPDATE run SET worker = 'readout-2:4242:abcdef' WHERE id = ?", (rid,))
        m.move_a_folder_away()
        # B knows the link (an unknown one is the same 404): its health check counts it.
        await get_until(f"http://127.0.0.1:{m.server_b.port}/healthz", lambda st, b: b'"shares": 1' in b)
        status, got, _ = await get_until(m.url(m.server_b, sh.token), lambda st, b: True)
        assert status == 404 and got == b"Not found\n"
        assert m.reads_from_db >= 1  # B looked in the database before giving up

    with caplog.at_level(logging.WARNING, logger="t4o_tui"):
        with_machines(pg_url, tmp_path, body)
    assert any("is gone" in r.getMessage() and "(written on readout-2 and not kept in the database, see the run's "
               "log: serve this link from there" in r.getMessage() for r in caplog.records)


def test_retention_deletes_a_run_s_stored_bytes_with_it(pg_url, tmp_path):
    rids: list[int] = []

    async def body(m: Machines) -> None:
        await asyncio.to_thread(create_task, "Results", "test", {"seconds": 0, "write_file": True})
        for _ in range(3):
            rids.append(await m.run_on_a("Results"))

    m = with_machines(pg_url, tmp_path, body)
    db = m.db_a
    db.connect(reuse_if_open=True)

    def stored_runs() -> list[int]:
        return [r[0] for r in db.execute_sql(
            "SELECT a.run_id FROM artifact_data d JOIN artifact a ON a.id = d.artifact_id ORDER BY a.run_id").fetchall()]

    assert stored_runs() == rids
    assert maintenance.prune(db, keep=1, batch=1) == 2  # one run per delete transaction
    assert stored_runs() == rids[-1:]
    assert [(d.artifact.run_id, d.size) for d in ArtifactData.select()] == [
        (rids[-1], Path(get_run(db, rids[-1]).output).stat().st_size)]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_keeps_files_only_in_its_data_folder(backend, tmp_path):
    db = open_database(str(tmp_path / "event.db"))
    create_task("Results", "test", {"seconds": 0, "write_file": True})
    rid = enqueue_run(db, "Results")

    async def main() -> None:
        rt = Runtime(db, data_dir=tmp_path / "files", options=RuntimeOptions(poll=0.02, scheduler=False))
        await rt.start()
        while (await asyncio.to_thread(get_run, db, rid)).status in ("queued", "running"):
            await asyncio.sleep(0.02)
        await rt.stop()

    asyncio.run(main())
    db.connect(reuse_if_open=True)
    assert get_run(db, rid).status == "succeeded" and Path(get_run(db, rid).output).is_file()
    assert db.execute_sql("SELECT count(*) FROM artifact_data").fetchone()[0] == 0
    db.close()
