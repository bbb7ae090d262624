"""Share links against a real HTTP server on 127.0.0.1: content, caching headers, 404s, run-task."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pg_fixtures
import pytest
import yarl

from t4o_tui.config import data_dir_for
from t4o_tui.engine import executor
from t4o_tui.engine.clock import FakeClock
from t4o_tui.engine.runs import enqueue_run, get_run, list_runs
from t4o_tui.engine.runtime import Runtime, RuntimeOptions
from t4o_tui.engine.tasks import create_task, delete_task
from t4o_tui.share import links
from t4o_tui.share import server as server_module
from t4o_tui.share.server import REFRESH_S, ShareServer
from t4o_tui.share.service import RuntimeShareServer
from t4o_tui.store.models import Share

# `db` on SQLite and on PostgreSQL, `backend` says which (tests/pg_fixtures.py).
backend, db, db_target, pg_admin_url, pg_url = (
    pg_fixtures.backend, pg_fixtures.db, pg_fixtures.db_target, pg_fixtures.pg_admin_url, pg_fixtures.pg_url)
only_sqlite = pg_fixtures.only_sqlite


def serve(db, db_path: Path, body: Callable[[str, ShareServer], Awaitable[None]], *, runtime: bool = False,
          wait_limit: float = 10.0, **options: Any) -> None:
    """Run `body(base_url, server)` against a real server on an ephemeral port (and a runtime if asked);
    `options` go to the ShareServer."""

    async def main() -> None:
        rt = None
        if runtime:
            rt = Runtime(db, data_dir=data_dir_for(db_path), options=RuntimeOptions(poll=0.02, scheduler=False))
            await rt.start()
        server = ShareServer(db, host="127.0.0.1", port=0, wait_limit=wait_limit, notify=rt.notify if rt else None,
                             **options)
        assert await server.start()
        try:
            await body(f"http://127.0.0.1:{server.port}", server)
        finally:
            await server.stop()
            if rt is not None:
                await rt.stop(grace=0)  # a run still going is cancelled: a test is over

    asyncio.run(main())
    db.connect(reuse_if_open=True)


def produce(db, db_path: Path, task: str) -> int:
    """Run a task to success in-process; returns the run id."""
    rid = enqueue_run(db, task)

    async def main() -> None:
        rt = Runtime(db, data_dir=data_dir_for(db_path), options=RuntimeOptions(poll=0.02, scheduler=False))
        await rt.start()
        while (await asyncio.to_thread(get_run, db, rid)).status in ("queued", "running"):
            await asyncio.sleep(0.02)
        await rt.stop()

    asyncio.run(main())
    db.connect(reuse_if_open=True)
    assert get_run(db, rid).status == "succeeded"
    return rid


async def wait_state(url: str, status: int, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        while time.monotonic() < end:
            async with s.get(url) as r:
                if r.status == status:
                    return
            await asyncio.sleep(REFRESH_S / 2)
    raise AssertionError(f"{url} did not answer {status}")


def test_content_and_caching_headers_304_and_head(db, db_path):
    create_task("Results", "test", {"seconds": 0, "write_file": True})
    rid = produce(db, db_path, "Results")
    sh = links.create_share(db, "Results")
    file_text = Path(get_run(db, rid).output).read_text()

    async def body(base: str, server: ShareServer) -> None:
        url = links.share_url(base, sh.token)
        async with aiohttp.ClientSession() as s:
            async with s.get(url) as r:
                assert r.status == 200
                assert await r.text() == file_text
                assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
                assert r.headers["Content-Disposition"] == f'inline; filename="test-run-{rid}.txt"'
                assert r.headers["Cache-Control"] == "no-cache"
                assert r.headers["X-Content-Type-Options"] == "nosniff"
                assert r.headers["Server"] == "t4o-tui"  # no Python or aiohttp version for a visitor to read
                etag, modified = r.headers["ETag"], r.headers["Last-Modified"]
            async with s.get(url, headers={"If-None-Match": etag}) as r:
                assert r.status == 304 and await r.read() == b""
                assert r.headers["ETag"] == etag and r.headers["Cache-Control"] == "no-cache"
                assert "Content-Type" not in r.headers and "Content-Disposition" not in r.headers  # RFC 9110 15.4.5
            async with s.get(url, headers={"If-Modified-Since": modified}) as r:
                assert r.status == 304
            async with s.get(url, headers={"If-Modified-Since": formatdate(time.time() - 3600, usegmt=True)}) as r:
                assert r.status == 200
            async with s.get(url, headers={"If-None-Match": '"something-else"'}) as r:
                assert r.status == 200
            async with s.head(url) as r:
                assert r.status == 200 and await r.read() == b""
                assert r.headers["ETag"] == etag and int(r.headers["Content-Length"]) == len(file_text)
            async with s.get(base + "/healthz") as r:
                assert r.status == 200 and (await r.json())["status"] == "ok"
            async with s.get(base + "/healthz?probe=1") as r:
                assert r.status == 200
            # The token with its characters percent-encoded (unreserved: the same URL, RFC 3986).
            encoded = "".join(f"%{ord(c):02X}" for c in sh.token)
            async with s.get(yarl.URL(base + "/s/" + encoded, encoded=True), headers={"If-None-Match": etag}) as r:
                assert r.status == 304
        await server.flush_hits()

    serve(db, db_path, body)
    share = Share.get_by_id(sh.id)
    assert share.hits == 7 and share.last_access is not None  # the health check is not a hit


def test_revoked_expired_unknown_and_malformed_tokens_get_the_same_404(db, db_path):
    create_task("Results", "test", {"seconds": 0, "write_file": True})
    produce(db, db_path, "Results")
    revoked = links.create_share(db, "Results")
    expiring = links.create_share(db, "Results", expires_at=time.time() + 1.0)
    alive = links.create_share(db, "Results")

    async def body(base: str, server: ShareServer) -> None:
        await wait_state(links.share_url(base, expiring.token), 200)
        links.revoke_share(db, revoked.id)
        await wait_state(links.share_url(base, revoked.token), 404)
        await asyncio.sleep(max(0.0, expiring.expires_at - time.time()) + 0.05)
        answers = []
        async with aiohttp.ClientSession() as s:
            for token in (revoked.token, expiring.token, links.new_token(), alive.token[:-1] + "A"
                          if alive.token[-1] != "A" else alive.token[:-1] + "B", "short", "x" * 500, "%00"):
                async with s.get(f"{base}/s/{token}") as r:
                    headers = {k: v for k, v in r.headers.items() if k not in ("Date",)}
                    answers.append((r.status, await r.read(), headers))
            async with s.get(links.share_url(base, alive.token)) as r:
                assert r.status == 200
        assert all(a == answers[0] for a in answers), answers
        assert answers[0][0] == 404 and answers[0][1] == b"Not found\n"

    serve(db, db_path, body)


def raw_request(port: int, data: bytes, *, head_only: bool = False) -> bytes:
    """What the server sends back until it closes (or is silent for 5 s); with `head_only`, until the
    end of the response's head."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if head_only and b"\r\n\r\n" in b"".join(chunks):
                break
    return b"".join(chunks)


def test_paths_never_reach_the_file_system_and_bad_requests_are_refused(db, db_path, tmp_path):
    create_task("Results", "test", {"seconds": 0, "write_file": True})
    rid = produce(db, db_path, "Results")
    sh = links.create_share(db, "Results")
    secret = Path(get_run(db, rid).output).parent / "secret.txt"
    secret.write_text("TOP SECRET")

    async def body(base: str, server: ShareServer) -> None:
        port = server.port
        paths = [
            "/s/../../../../etc/passwd", "/s/%2e%2e/%2e%2e/etc/passwd", "/s/..%2f..%2f..%2fetc%2fpasswd",
            f"/s/{sh.token}/../secret.txt", f"/s/{sh.token}/secret.txt", "/secret.txt", "//etc/passwd",
            f"/files/task-1/run-{rid}-test-run-{rid}.txt", "/s/", "/s", "/", "/%2e%2e%2fetc%2fpasswd",
            f"/s/{sh.token}%00", f"/s/{sh.token}?../../etc/passwd",
        ]
        for path in paths:
            raw = await asyncio.to_thread(raw_request, port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            status = int(raw.split(b" ", 2)[1])
            if path.endswith("?../../etc/passwd"):
                assert status == 200, path  # the query string is not part of the token: it is ignored
            else:
                assert status in (400, 404), (path, raw[:200])
            assert b"TOP SECRET" not in raw and b"root:" not in raw
        oversized = b"GET /s/" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        assert (await asyncio.to_thread(raw_request, port, oversized)).split(b" ", 2)[1] in (b"400", b"414", b"431")
        big_header = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n"
        assert (await asyncio.to_thread(raw_request, port, big_header)).split(b" ", 2)[1] in (b"400", b"431")
        for junk in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"BREW /pot HTCPCP/1.0\r\n\r\n", b"GET\r\n\r\n"):
            raw = await asyncio.to_thread(raw_request, port, junk)
            assert raw == b"" or raw.split(b" ", 2)[1] in (b"400", b"404", b"501", b"505"), raw[:100]
        big_body = b"POST /s/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n" + b"z" * 1000
        # Answered at once; the server then drains the rest of the body for a while (aiohttp's
        # lingering close), which this client need not sit out.
        raw = await asyncio.to_thread(partial(raw_request, head_only=True), port, big_body)
        assert raw.split(b" ", 2)[1] in (b"404", b"413")
        async with aiohttp.ClientSession() as s, s.get(links.share_url(base, sh.token)) as r:
            assert r.status == 200  # still serving after all that

    serve(db, db_path, body)


def test_fifty_concurrent_visitors_of_a_run_task_link_share_one_run(db, db_path):
    create_task("Live results", "test", {"seconds": 0.5, "write_file": True})
    sh = links.create_share(db, "Live results", run_task=True, cache_window=60)

    async def body(base: str, server: ShareServer) -> None:
        url = links.share_url(base, sh.token)
        async with aiohttp.ClientSession() as s:
            async def visit() -> tuple[int, bytes, str | None]:
                async with s.get(url) as r:
                    return r.status, await r.read(), r.headers.get("X-T4O-Stale")
            answers = await asyncio.gather(*(visit() for _ in range(50)))
            assert {a[0] for a in answers} == {200}
            assert len({a[1] for a in answers}) == 1 and all(a[2] is None for a in answers)
            # Within the cache window: served as is, no new run.
            again = await asyncio.gather(*(visit() for _ in range(10)))
            assert {a[1] for a in again} == {answers[0][1]}

    serve(db, db_path, body, runtime=True)
    runs = list_runs(db, task="Live results")
    assert len(runs) == 1 and runs[0].trigger == "share" and runs[0].status == "succeeded"


def test_cache_window_expired_runs_again(db, db_path):
    create_task("Live results", "test", {"seconds": 0, "write_file": True})
    produce(db, db_path, "Live results")
    sh = links.create_share(db, "Live results", run_task=True, cache_window=0.5)

    async def body(base: str, server: ShareServer) -> None:
        url = links.share_url(base, sh.token)
        async with aiohttp.ClientSession() as s:
            async with s.get(url) as r:
                first = await r.read()
            await asyncio.sleep(0.7)
            async with s.get(url) as r:
                assert r.status == 200 and await r.read() != first

    serve(db, db_path, body, runtime=True)
    # Newest first. The first visit may come after the window too (a slow start of the server on
    # a loaded machine): then it ran the task as well.
    triggers = [r.trigger for r in list_runs(db, task="Live results")]
    assert triggers in (["share", "manual"], ["share", "share", "manual"])


def test_stale_fallback_and_503_when_there_is_no_file(db, db_path):
    create_task("Slow", "test", {"seconds": 0, "write_file": True})
    produce(db, db_path, "Slow")
    settings = json.loads(db.execute_sql("SELECT settings FROM task WHERE name = 'Slow'").fetchone()[0])
    db.execute_sql("UPDATE task SET settings = ? WHERE name = 'Slow'", (json.dumps({**settings, "seconds": 30}),))
    create_task("Never", "test", {"seconds": 30, "write_file": True})
    stale = links.create_share(db, "Slow", run_task=True, cache_window=0)
    empty = links.create_share(db, "Never", run_task=True, cache_window=0)

    async def body(base: str, server: ShareServer) -> None:
        async with aiohttp.ClientSession() as s:
            t0 = time.monotonic()
            async with s.get(links.share_url(base, stale.token)) as r:
                assert r.status == 200
                assert r.headers["X-T4O-Stale"].startswith("run ") and "still running" in r.headers["X-T4O-Stale"]
                assert r.headers["Warning"] == '110 - "Response is Stale"'
            assert time.monotonic() - t0 < 5
            async with s.get(links.share_url(base, empty.token)) as r:
                assert r.status == 503 and r.headers["Retry-After"] == "10"

    serve(db, db_path, body, runtime=True, wait_limit=0.5)


def test_a_task_deleted_under_a_link(db, db_path):
    create_task("Results", "test", {"seconds": 0, "write_file": True})
    produce(db, db_path, "Results")
    sh = links.create_share(db, "Results")

    async def body(base: str, server: ShareServer) -> None:
        url = links.share_url(base, sh.token)
        await wait_state(url, 200)
        await asyncio.to_thread(delete_task, "Results")
        await wait_state(url, 404)

    serve(db, db_path, body)


def test_a_file_written_on_another_machine_is_a_404_whose_log_line_names_that_machine(
        db, db_path, backend, caplog, monkeypatch):
    """Issue 14: machines on one PostgreSQL server each keep run files in their own data folder,
    and in the database up to a limit (tests/test_postgres_share_files.py); a link served where a
    file is not, and not in the database (larger than that: here every file is), says in the log
    where it was written, and what to do."""
    monkeypatch.setattr(executor, "STORED_FILE_LIMIT", 10)
    create_task("Results", "test", {"seconds": 0, "write_file": True})
    rid = produce(db, db_path, "Results")
    assert db.execute_sql("SELECT count(*) FROM artifact_data").fetchone()[0] == 0
    sh = links.create_share(db, "Results")
    Path(db.execute_sql("SELECT path FROM artifact WHERE run_id = ?", (rid,)).fetchone()[0]).unlink()
    db.execute_sql("UPDATE run SET worker = 'readout-2:4242:abcdef' WHERE id = ?", (rid,))

    async def body(base: str, server: ShareServer) -> None:
        await wait_state(links.share_url(base, sh.token), 404)

    with caplog.at_level(logging.WARNING, logger="t4o_tui"):
        serve(db, db_path, body)
    kept = " and not kept in the database, see the run's log" if backend == "postgresql" else ""
    assert any(f"file of run {rid} is gone" in r.getMessage() and f"(written on readout-2{kept}: serve this link "
               "from there, or give the machines one shared data folder)" in r.getMessage() for r in caplog.records)


def test_port_taken_is_a_clear_error_and_the_runtime_goes_on(db, db_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        create_task("Q", "test", {"seconds": 0})
        rid = enqueue_run(db, "Q")

        async def main() -> Runtime:
            rt = Runtime(db, data_dir=data_dir_for(db_path), options=RuntimeOptions(poll=0.02, share=True, share_port=port),
                         share_server=RuntimeShareServer)
            await rt.start()
            while (await asyncio.to_thread(get_run, db, rid)).status != "succeeded":
                await asyncio.sleep(0.02)
            await rt.stop()
            return rt

        rt = asyncio.run(main())
        assert rt.share_server is not None and not rt.share_server.listening
        assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in (rt.share_server.error or "")


def test_tokens_are_long_random_and_urlsafe():
    tokens = {links.new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(len(t) >= 43 and links.TOKEN_RE.fullmatch(t) for t in tokens)  # 256 bits


@pytest.mark.parametrize("args", [["share", "add", "Ghost"], ["share", "revoke", "99"], ["share", "add", "T", "--cache", "soon"],
                                  ["share", "add", "T", "--expires", "-1h"]])
def test_share_cli_errors(cli, args):
    cli("task", "add", "T", "--job", "test", check=True)
    res = cli(*args)
    assert res.returncode == 1 and res.stderr.startswith("t4o-tui: error: ") and "Traceback" not in res.stderr


def test_share_cli(cli):
    cli("task", "add", "T", "--job", "test", check=True)
    url = cli("share", "add", "T", "--run-task", "--cache", "2m", "--label", "speaker", check=True).stdout.strip()
    assert url.startswith("http://127.0.0.1:8470/s/") and len(url.rsplit("/", 1)[1]) >= 43
    import json

    [row] = json.loads(cli("shares", "--json", check=True).stdout)
    assert (row["url"], row["run_task"], row["cache_window"], row["state"], row["label"]) == (url, True, 120.0, "active", "speaker")
    cli("share", "revoke", str(row["id"]), check=True)
    assert json.loads(cli("shares", "--json").stdout)[0]["state"] == "revoked"


def test_access_log_has_one_line_per_request_and_never_a_whole_token(db, db_path):
    import logging

    create_task("Results", "test", {"seconds": 0, "write_file": True})
    produce(db, db_path, "Results")
    sh = links.create_share(db, "Results")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    access = logging.getLogger("t4o_tui.share.access")
    keep, level = Keep(), access.level
    access.addHandler(keep)
    access.setLevel(logging.INFO)

    async def body(base: str, server: ShareServer) -> None:
        url = links.share_url(base, sh.token)
        async with aiohttp.ClientSession() as s:
            for _ in range(3):  # the first is answered from the slow path, the others from memory
                async with s.get(url) as r:
                    assert r.status == 200
                    etag = r.headers["ETag"]
            async with s.get(url, headers={"If-None-Match": etag}) as r:
                assert r.status == 304
            async with s.head(url) as r:
                assert r.status == 200
            async with s.get(base + "/s/" + "x" * 43) as r:
                assert r.status == 404
            async with s.get(base + "/healthz") as r:
                assert r.status == 200
            # Concurrent visitors: their lines leave together, one line each.
            async def visit() -> int:
                async with s.get(url) as r:
                    await r.read()
                    return r.status

            assert set(await asyncio.gather(*(visit() for _ in range(40)))) == {200}

    try:
        serve(db, db_path, body)
    finally:
        access.removeHandler(keep)
        access.setLevel(level)
    lines = "\n".join(records).splitlines()
    assert len(lines) == 3 + 1 + 1 + 1 + 1 + 40
    assert all(sh.token not in line for line in lines)
    assert sum(f'"GET /s/{sh.token[:6]}..." 200 ' in line for line in lines) == 43
    assert sum(f'"GET /s/{sh.token[:6]}..." 304 ' in line for line in lines) == 1
    assert sum(f'"HEAD /s/{sh.token[:6]}..." 200 ' in line for line in lines) == 1
    assert sum('"GET /s/xxxxxx..." 404 ' in line for line in lines) == 1
    assert sum('"GET /healthz" 200 ' in line for line in lines) == 1
    assert all(line.startswith("127.0.0.1 ") and line.endswith("ms") for line in lines)
    assert len(records) < len(lines)  # batched: not a record per request


def test_hit_counts_survive_a_failed_write_and_none_is_counted_twice(db, db_path):
    create_task("Results", "test", {"seconds": 0, "write_file": True})
    produce(db, db_path, "Results")
    sh = links.create_share(db, "Results")

    async def body(base: str, server: ShareServer) -> None:
        async with aiohttp.ClientSession() as s:
            for _ in range(5):
                async with s.get(links.share_url(base, sh.token)) as r:
                    assert r.status == 200
        real = server._write_hits

        def locked(taken):
            raise RuntimeError("database is locked")

        server._write_hits = locked
        with pytest.raises(RuntimeError):
            await server.flush_hits()
        server._write_hits = real
        async with aiohttp.ClientSession() as s, s.get(links.share_url(base, sh.token)) as r:
            assert r.status == 200
        await server.flush_hits()
        assert Share.get_by_id(sh.id).hits == 6
        await server.flush_hits()  # nothing new: nothing written twice

    serve(db, db_path, body)
    assert Share.get_by_id(sh.id).hits == 6


# -- slow and greedy clients -----------------------------------------------------------------------------
def read_response(sock: socket.socket) -> tuple[int, bytes]:
    """One HTTP/1.1 response from a raw socket (status, body), its length from Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data[:200]!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the body")
        rest += chunk
    return int(head.split(b" ", 2)[1]), rest[:length]


def read_to_end(sock: socket.socket) -> bytes:
    """Everything until the server closes (EOF or reset); a socket timeout means it never did."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()


def test_slow_or_silent_clients_are_closed_at_the_header_timeout_while_others_are_served(db, db_path):
    create_task("Results", "test", {"seconds": 0, "write_file": True})
    produce(db, db_path, "Results")
    sh = links.create_share(db, "Results")
    timeout = 1.0
    path = f"/s/{sh.token}"

    def silent(port: int) -> tuple[bytes, float]:
        with connect(port) as sock:
            t0 = time.monotonic()
            return read_to_end(sock), time.monotonic() - t0

    def partial_line(port: int) -> tuple[bytes, float]:
        with connect(port) as sock:
            sock.sendall(b"GET /s/" + sh.token[:10].encode())  # and then nothing
            t0 = time.monotonic()
            return read_to_end(sock), time.monotonic() - t0

    def partial_headers_after_an_answer(port: int) -> tuple[bytes, float]:
        with connect(port) as sock:
            sock.sendall(get(path))
            assert read_response(sock)[0] == 200
            t0 = time.monotonic()
            sock.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nUser-Ag")  # a keep-alive request, cut off
            return read_to_end(sock), time.monotonic() - t0

    async def body(base: str, server: ShareServer) -> None:
        slow = [asyncio.create_task(asyncio.to_thread(f, server.port)) for f in (silent, partial_line, partial_headers_after_an_answer)]
        statuses = []
        async with aiohttp.ClientSession() as s:
            while not all(t.done() for t in slow):  # a visitor keeps being served meanwhile
                async with s.get(base + path) as r:
                    statuses.append(r.status)
                    await r.read()
                await asyncio.sleep(0.02)
        assert statuses and set(statuses) == {200}
        for t in slow:
            data, took = t.result()  # a socket timeout (10 s) here: the server kept the slow client
            assert data == b"", data[:100]  # closed without an answer: there was no request to answer
            assert timeout * 0.9 <= took <= timeout + 2.0, took

    serve(db, db_path, body, header_timeout=timeout)


def test_connections_over_a_clients_limit_are_refused_logged_once_and_the_link_stays_served(db, db_path):
    import logging

    create_task("Results", "test", {"seconds": 0, "write_file": True})
    produce(db, db_path, "Results")
    sh = links.create_share(db, "Results")
    path = f"/s/{sh.token}"
    limit = 3
    clock = FakeClock(time.time())
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                records.append(record.getMessage())

    share_log = logging.getLogger("t4o_tui.share")
    keep = Keep()
    share_log.addHandler(keep)
    loop_errors: list[str] = []

    class KeepLoopErrors(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            loop_errors.append(record.getMessage())

    asyncio_log = logging.getLogger("asyncio")
    keep_loop_errors = KeepLoopErrors(level=logging.ERROR)
    asyncio_log.addHandler(keep_loop_errors)

    def scenario(server: ShareServer) -> None:
        port = server.port
        held = [connect(port) for _ in range(limit)]
        for sock in held:
            sock.sendall(get(path))
            assert read_response(sock)[0] == 200
        assert server.open_connections("127.0.0.1") == limit
        # Over the limit: answered 503 at once (before any request) and closed; three times.
        for _ in range(3):
            with connect(port) as extra:
                answer = read_to_end(extra)
                assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), answer[:100]
                assert b"Retry-After: 10\r\n" in answer and answer.endswith(b"Too many connections from your address: close some and try again.\n")
        # The connections within the limit are still served, and so is another address.
        for sock in held:
            sock.sendall(get(path))
            assert read_response(sock)[0] == 200
        with connect(port, source="127.0.0.2") as other:
            other.sendall(get(path))
            assert read_response(other)[0] == 200
        assert [r for r in records if "127.0.0.1" in r] == [
            "share: refusing connections from 127.0.0.1: it has 3 open, the most one client may have "
            "(share.max_connections_per_client); further refusals are counted and logged once a minute"
        ]
        # One closes: a new connection from the address is taken again (once the server saw the close).
        held.pop().close()
        end = time.monotonic() + 5
        while server.open_connections("127.0.0.1") != limit - 1:
            assert time.monotonic() < end, "the server did not count the closed connection"
            time.sleep(0.01)
        with connect(port) as again:
            again.sendall(get(path))
            assert read_response(again)[0] == 200
        for sock in held:
            sock.close()

    async def body(base: str, server: ShareServer) -> None:
        await asyncio.to_thread(scenario, server)
        await asyncio.sleep(0.05)
        gc.collect()  # a refused connection's request loop that failed would say so now
        assert loop_errors == []
        # The refusals after the first come in one line when the client's log window ends.
        server.report_refusals()
        assert len(records) == 1  # the window is still open
        clock.advance(61)
        server.report_refusals()
        assert records[1:] == ["share: 2 more connections from 127.0.0.1 refused in the last 61 s (at most 3 open per client)"]
        clock.advance(61)
        server.report_refusals()  # a quiet window: nothing to say, and the next refusal is logged at once
        assert len(records) == 2

    try:
        serve(db, db_path, body, max_per_client=limit, cap_loopback=True, clock=clock)
    finally:
        share_log.removeHandler(keep)
        asyncio_log.removeHandler(keep_loop_errors)


def test_loopback_clients_are_not_limited_unless_asked(db, db_path):
    # A reverse proxy in front of the server brings every visitor from one loopback address.
    create_task("Results", "test", {"seconds": 0, "write_file": True})
    produce(db, db_path, "Results")
    sh = links.create_share(db, "Results")

    def scenario(port: int) -> list[int]:
        held = [connect(port) for _ in range(5)]
        try:
            statuses = []
            for sock in held:
                sock.sendall(get(f"/s/{sh.token}"))
                statuses.append(read_response(sock)[0])
            return statuses
        finally:
            for sock in held:
                sock.close()

    async def body(base: str, server: ShareServer) -> None:
        assert await asyncio.to_thread(scenario, server.port) == [200] * 5
        assert server.open_connections("127.0.0.1") == 0  # not counted at all

    serve(db, db_path, body, max_per_client=2)


# -- a link to a task whose job removes its older files --------------------------------------------------
@pytest.mark.parametrize("kept", ["memory", "disk"])
@only_sqlite  # SQLite copies; pg_dump's are tested in test_postgres.py
def test_a_backup_link_keeps_answering_while_backups_keeping_one_copy_run_back_to_back(db, db_path, tmp_path, monkeypatch, kept):
    if kept == "disk":  # as a database larger than MEMORY_FILE_MAX is: each answer is read from its file
        monkeypatch.setattr(server_module, "MEMORY_FILE_MAX", 0)
    folder = tmp_path / "bk"
    create_task("Backup", "backup", {"folder": str(folder), "keep": 1})
    first = produce(db, db_path, "Backup")
    sh = links.create_share(db, "Backup")
    runs = [enqueue_run(db, "Backup") for _ in range(30)]  # claimed as soon as the runtime starts
    answers: list[tuple[int, str | None]] = []

    async def body(base: str, server: ShareServer) -> None:
        url = links.share_url(base, sh.token)

        def newest_etag() -> str | None:
            """The ETag of the last run's copy once that run has ended (None before)."""
            if get_run(db, runs[-1]).status in ("queued", "running"):
                return None
            row = db.execute_sql("SELECT id, size FROM artifact WHERE run_id = ?", (runs[-1],)).fetchone()
            return f'"t4o-{row[0]}-{row[1]}"' if row else "none"

        async def visitor(s: aiohttp.ClientSession) -> None:
            # Until the runs are over and the link serves the newest copy (a refresh later at most).
            end = time.monotonic() + 60
            while time.monotonic() < end:
                async with s.get(url) as r:
                    await r.read()
                    answers.append((r.status, r.headers.get("ETag")))
                newest = await asyncio.to_thread(newest_etag)
                if newest is not None and answers[-1][1] == newest:
                    return
            raise AssertionError("the link never served the newest copy")

        async with aiohttp.ClientSession() as s:
            await asyncio.gather(*(visitor(s) for _ in range(3)))

    serve(db, db_path, body, runtime=True)
    assert [(get_run(db, r).status, get_run(db, r).error) for r in runs] == [("succeeded", None)] * len(runs)
    statuses = [a[0] for a in answers]
    assert statuses.count(200) == len(statuses), f"{len(statuses) - statuses.count(200)} of {len(statuses)} not 200: {set(statuses)}"
    assert len({a[1] for a in answers}) >= 2  # it followed newer copies (the first run's, ..., the last's)
    # keep=1: a run removes every copy but its own and the one the task's latest run recorded (the
    # link serves that until this run is recorded); that one goes at the next run.
    copies = sorted(folder.glob("backup-*.sqlite"))
    assert copies == sorted([Path(get_run(db, runs[-1]).output), Path(get_run(db, runs[-2]).output)])
    assert not Path(get_run(db, first).output).exists()



def test_a_file_streamed_from_disk_has_the_same_headers_head_and_304(db, db_path, monkeypatch):
    monkeypatch.setattr(server_module, "MEMORY_FILE_MAX", 0)  # as a file larger than the memory limit
    create_task("Results", "test", {"seconds": 0, "write_file": True})
    rid = produce(db, db_path, "Results")
    sh = links.create_share(db, "Results")
    file_bytes = Path(get_run(db, rid).output).read_bytes()

    async def body(base: str, server: ShareServer) -> None:
        url = links.share_url(base, sh.token)
        async with aiohttp.ClientSession() as s:
            async with s.get(url) as r:
                assert r.status == 200 and await r.read() == file_bytes
                assert int(r.headers["Content-Length"]) == len(file_bytes)
                assert r.headers["Content-Disposition"] == f'inline; filename="test-run-{rid}.txt"'
                etag = r.headers["ETag"]
                assert etag.startswith('"t4o-')  # the link's own validator, as for a file from memory
            async with s.head(url) as r:
                assert r.status == 200 and await r.read() == b"" and int(r.headers["Content-Length"]) == len(file_bytes)
            async with s.get(url, headers={"If-None-Match": etag}) as r:
                assert r.status == 304 and await r.read() == b""

    serve(db, db_path, body)


# -- all clients together ---------------------------------------------------------------------------------
def test_connections_over_the_total_cap_are_refused_at_once_loopback_included(db, db_path):
    import logging

    create_task("Results", "test", {"seconds": 0, "write_file": True})
    produce(db, db_path, "Results")
    sh = links.create_share(db, "Results")
    path = f"/s/{sh.token}"
    cap = 4
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                records.append(record.getMessage())

    share_log = logging.getLogger("t4o_tui.share")
    keep = Keep()
    share_log.addHandler(keep)

    def scenario(server: ShareServer) -> None:
        port = server.port
        # Many clients, each within its own limit (2), together at the cap.
        held = [connect(port, source=f"127.0.0.{2 + i // 2}") for i in range(cap)]
        for sock in held:
            sock.sendall(get(path))
            assert read_response(sock)[0] == 200
        assert server.open_connections() == cap
        for source in ("127.0.0.1", "127.0.0.9", "127.0.0.10"):  # loopback is not exempt from the total
            with connect(port, source=source) as extra:
                started = time.monotonic()
                answer = read_to_end(extra)  # the server closes it: a socket timeout (10 s) would fail here
                assert time.monotonic() - started < 5
                assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), answer[:100]
                assert answer.endswith(b"The server has too many connections open: try again shortly.\n"), answer
                head, _, rest = answer.partition(b"\r\n\r\n")
                assert b"Content-Length: %d\r\n" % len(rest) in head + b"\r\n"
        # Those within the cap are still served.
        for sock in held:
            sock.sendall(get(path))
            assert read_response(sock)[0] == 200
        assert [r for r in records if "refusing" in r] == [
            f"share: refusing connections: {cap} are open, the most the server keeps (share.max_connections); "
            "further refusals are counted and logged once a minute"]
        # One closes: a new connection is taken again once the server saw the close.
        held.pop().close()
        end = time.monotonic() + 5
        while server.open_connections() != cap - 1:
            assert time.monotonic() < end, "the server did not count the closed connection"
            time.sleep(0.01)
        with connect(port, source="127.0.0.20") as again:
            again.sendall(get(path))
            assert read_response(again)[0] == 200
        for sock in held:
            sock.close()

    async def body(base: str, server: ShareServer) -> None:
        assert server.max_connections == cap
        await asyncio.to_thread(scenario, server)
        server.report_refusals(final=True)
        assert records[-1].startswith("share: 2 more connections refused in the last "), records
        assert records[-1].endswith(f"(at most {cap} open in all)")

    try:
        serve(db, db_path, body, max_per_client=2, cap_loopback=True, max_connections=cap)
    finally:
        share_log.removeHandler(keep)


def test_the_total_cap_comes_from_the_config_and_fits_the_open_file_limit(db, db_path, tmp_path, monkeypatch):
    import resource

    from t4o_tui.config import load_config
    from t4o_tui.worker import runtime_options

    conf = tmp_path / "config.toml"
    conf.write_text("[share]\nmax_connections = 300\n")
    cfg = load_config(conf, db=str(db_path))
    assert cfg.share_max_connections == 300
    rt = Runtime(db, data_dir=data_dir_for(db_path), options=runtime_options(cfg), share_server=RuntimeShareServer)
    assert RuntimeShareServer(rt).max_connections == 300
    conf.write_text("[share]\n")
    assert server_module.MAX_CONNECTIONS == load_config(conf, db=str(db_path)).share_max_connections == 1000
    # A process allowed 256 open files keeps some for itself: the cap is lowered below that.
    monkeypatch.setattr(resource, "getrlimit", lambda which: (256, 4096))
    assert server_module.connection_cap(1000) == 256 - server_module.FD_RESERVE
    assert server_module.connection_cap(100) == 100
