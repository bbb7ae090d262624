"""The HTTP server for share links: `GET`/`HEAD /s/<token>` serves the task's latest file.

Nothing from the request path reaches the file system: the token selects a share row, the share
selects a task, and the task's latest file is a path the engine registered. Unknown, revoked and
expired tokens get the same 404. Shares and latest files are kept in memory and refreshed from the
database twice a second, and hits are counted in memory and written every few seconds, so a
request costs no database access. What every answer for a file shares (its headers, validators and,
up to a size, its bytes) is computed once per file, so a request costs the share checks, a hit in
memory and its access-log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hmac
import logging
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any

import peewee
from aiohttp import hdrs, web
from aiohttp.abc import AbstractAccessLogger

from t4o_tui.engine import queue
from t4o_tui.engine.clock import SYSTEM_CLOCK, Clock
from t4o_tui.share.links import TOKEN_RE, token_hash

log = logging.getLogger("t4o_tui.share")
access_log = logging.getLogger("t4o_tui.share.access")

REFRESH_S = 0.5
FLUSH_HITS_S = 5.0
MEMORY_FILE_MAX = 16 * 1024 * 1024  # larger files are streamed from disk
MEMORY_TOTAL_MAX = 128 * 1024 * 1024
NOT_FOUND = b"Not found\n"


@dataclass(frozen=True)
class _ShareInfo:
    id: int
    task_id: int
    token: bytes  # compared in constant time with the request's token
    run_task: bool
    cache_window: float
    expires_at: float | None
    revoked: bool


@dataclass(frozen=True)
class _File:
    artifact_id: int
    run_id: int
    path: str
    name: str
    media_type: str
    size: int
    created_at: float

    @property
    def etag(self) -> str:
        return f'"t4o-{self.artifact_id}-{self.size}"'


class _Reply:
    """What every answer for one file shares, computed once: headers, validators and (up to a size) the bytes."""

    __slots__ = ("file", "etag", "etags", "modified", "headers_304", "headers_200", "body", "size")

    def __init__(self, f: _File, body: bytes | None) -> None:
        self.file = f
        self.etag = f.etag
        self.etags = frozenset((self.etag, "W/" + self.etag, "*"))  # If-None-Match values that match
        self.modified = int(f.created_at)
        self.headers_304: dict[str, str] = {
            hdrs.ETAG: self.etag,
            hdrs.LAST_MODIFIED: formatdate(f.created_at, usegmt=True),
            # Browsers keep the page but ask every time; an unchanged file costs a 304.
            hdrs.CACHE_CONTROL: "no-cache",
            hdrs.CONTENT_DISPOSITION: f'inline; filename="{_header_safe(f.name)}"',
            "X-Content-Type-Options": "nosniff",
        }
        media = f.media_type
        if media.startswith("text/") and "charset" not in media:
            media += "; charset=utf-8"
        self.headers_200 = {**self.headers_304, hdrs.CONTENT_TYPE: media}
        self.body = body  # None: streamed from disk (larger than MEMORY_FILE_MAX)
        self.size = len(body) if body is not None else 0  # bytes held in memory


LATEST_SQL = (
    "SELECT a.task_id, a.id, a.run_id, a.path, a.name, a.media_type, a.size, a.created_at FROM artifact a "
    "WHERE a.id IN (SELECT max(a2.id) FROM artifact a2 JOIN run r ON r.id = a2.run_id "
    "WHERE r.status = 'succeeded' AND a2.task_id IN ({tasks}) GROUP BY a2.task_id)"
)


class _AccessLogger(AbstractAccessLogger):
    """One line per request, with the token shortened so the journal does not hold working links.

    The lines go through the `t4o_tui.share.access` logger (its level, filters and handlers apply),
    but not as a record each: the line is formatted here, and the lines of one turn of the event
    loop leave together as one record at the start of the next turn (at a quiet time that is one
    line per record, as before; under load a few dozen). A record per request (made, formatted,
    written and flushed one by one) took about a fifth of the CPU time of a share request
    (bench/share_load.py).
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if not access_log.isEnabledFor(logging.INFO):
            return
        path = request.path
        if path.startswith("/s/") and len(path) > 12:
            path = path[:9] + "…"
        if not path.isprintable():  # a decoded %0A must not start a line of its own
            path = ascii(path)[1:-1]
        if not _access_lines:
            asyncio.get_running_loop().call_soon(_flush_access_log)
        _access_lines.append(
            f'{request.remote} "{request.method} {path}" {response.status} {response.body_length} {time * 1000:.1f}ms'
        )

    @property
    def enabled(self) -> bool:
        return access_log.isEnabledFor(logging.INFO)


# Access-log lines not yet written (all connections' loggers share it; the event loop's thread only).
_access_lines: list[str] = []


def _flush_access_log() -> None:
    if _access_lines:
        text = "\n".join(_access_lines)
        _access_lines.clear()
        access_log.info("%s", text)


class ShareServer:
    """Runs inside the runtime's event loop."""

    def __init__(
        self, db: peewee.Database, *, host: str = "127.0.0.1", port: int = 8470, clock: Clock = SYSTEM_CLOCK,
        wait_limit: float = 20.0, notify: Any = None,
    ) -> None:
        self.db = db
        self.host, self.port = host, port
        self.clock = clock
        self.wait_limit = wait_limit
        self.notify = notify
        self.listening = False
        self.error: str | None = None
        self._shares: dict[str, _ShareInfo] = {}
        self._latest: dict[int, _File] = {}
        self._hits: dict[int, int] = defaultdict(int)
        self._last_access: dict[int, float] = {}
        self._replies: dict[int, _Reply] = {}  # by artifact id
        self._bytes_total = 0
        self._inflight: dict[int, asyncio.Task[None]] = {}
        # Why the last run-task wait ended without a fresh file, per task (for the stale header).
        self._inflight_note: dict[int, str] = {}
        self._runner: web.ServerRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- life cycle ---------------------------------------------------------------------------------
    async def start(self) -> bool:
        """Listen; False (and a clear log line) when the address is taken — the runtime goes on."""
        await asyncio.to_thread(self._refresh)
        self._runner = web.ServerRunner(web.Server(self._route, access_log_class=_AccessLogger), handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            why = "the port is in use by another program" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            self.error = f"share server cannot listen on {self.host}:{self.port}: {why}; share links are off in this process"
            log.error(self.error)
            return False
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self.listening = True
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._refresh_loop()), loop.create_task(self._flush_loop())]
        log.info("share server listening on http://%s:%d", self.host, self.port)
        return True

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for t in list(self._inflight.values()):
            t.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        _flush_access_log()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._flush_hits)
        self.listening = False

    # -- memory of shares and files ---------------------------------------------------------------
    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_S)
            _flush_access_log()  # normally done already; lines left by a loop that ended go out here
            try:
                await asyncio.to_thread(self._refresh)
            except Exception as exc:  # locked for long, disk trouble: keep serving what we know
                log.warning("share refresh failed: %s", exc)

    def _refresh(self) -> None:
        conn = self.db.connection()
        rows = conn.execute(
            "SELECT id, task_id, token, token_hash, run_task, cache_window, expires_at, revoked FROM share"
        ).fetchall()
        self._shares = {
            r[3]: _ShareInfo(r[0], r[1], r[2].encode(), bool(r[4]), r[5], r[6], bool(r[7])) for r in rows
        }
        self._latest = self._load_latest({info.task_id for info in self._shares.values()})

    def _load_latest(self, task_ids: set[int]) -> dict[int, _File]:
        if not task_ids:
            return {}
        sql = LATEST_SQL.format(tasks=",".join(str(int(t)) for t in task_ids))
        rows = self.db.connection().execute(sql).fetchall()
        return {r[0]: _File(*r[1:]) for r in rows}

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_HITS_S)
            try:
                await asyncio.to_thread(self._flush_hits)
            except Exception as exc:
                log.warning("writing share hit counts failed (kept for the next try): %s", exc)

    def _flush_hits(self) -> None:
        if not self._hits:
            return
        hits, self._hits = self._hits, defaultdict(int)
        last = dict(self._last_access)
        try:
            with queue.write_tx(self.db.connection()) as conn:
                conn.executemany(
                    "UPDATE share SET hits = hits + ?, last_access = max(COALESCE(last_access, 0), ?) WHERE id = ?",
                    [(n, last.get(sid, 0.0), sid) for sid, n in hits.items()],
                )
        except BaseException:
            for sid, n in hits.items():
                self._hits[sid] += n
            raise

    # -- requests -----------------------------------------------------------------------------------
    async def _route(self, request: web.BaseRequest) -> web.StreamResponse:
        """The three routes, by hand, on aiohttp's low-level server: an Application and its router
        took 15-25 % of the CPU time of a share request (bench/share_load.py)."""
        if request.method == hdrs.METH_GET or request.method == hdrs.METH_HEAD:
            path = request.path  # decoded; a token has none of "/%." so nothing odd gets through
            if path.startswith("/s/"):
                return await self._handle(request, path[3:])
            if path == "/healthz":
                return web.json_response({"status": "ok", "shares": len(self._shares)})
        # Every other path, method or shape of request: the same plain 404 (405 would tell more).
        return _not_found()

    async def _handle(self, request: web.BaseRequest, token: str) -> web.StreamResponse:
        now = self.clock.now()
        # The format first (no hashing of junk), then the hash selects the share (the lookup does not
        # depend on how much of the token is right), then the constant-time comparison.
        info = self._shares.get(token_hash(token)) if TOKEN_RE.fullmatch(token) else None
        if (
            info is None
            or not hmac.compare_digest(info.token, token.encode())
            or info.revoked
            or (info.expires_at is not None and now >= info.expires_at)
        ):
            return _not_found()
        self._hits[info.id] += 1
        self._last_access[info.id] = now
        f = self._latest.get(info.task_id)
        stale: str | None = None
        # HEAD never starts a run: link checkers and previews must not run the task.
        if info.run_task and request.method == "GET" and (f is None or now - f.created_at > info.cache_window):
            f, stale = await self._fresh(info, f)
        if f is None:
            return web.Response(status=503, headers={"Retry-After": "10", "Cache-Control": "no-store"},
                                body=b"No file yet: the task has not produced one. Try again shortly.\n",
                                content_type="text/plain")
        reply = self._replies.get(f.artifact_id)
        if reply is None:
            try:
                reply = await self._reply(f)
            except OSError:
                log.warning("share: file of run %d is gone: %s", f.run_id, f.path)
                return _not_found()
        if stale:
            return self._answer(request, reply, stale)
        if _not_modified(request, reply):
            return web.Response(status=304, headers=reply.headers_304)
        if reply.body is None:
            return self._answer(request, reply, None)
        return web.Response(body=reply.body, headers=reply.headers_200)

    def _answer(self, request: web.BaseRequest, reply: _Reply, stale: str | None) -> web.StreamResponse:
        """The general answer: with a stale mark, or a file streamed from disk."""
        modified = not _not_modified(request, reply)
        headers = dict(reply.headers_200 if modified else reply.headers_304)
        if stale:
            headers["X-T4O-Stale"] = stale
            headers["Warning"] = '110 - "Response is Stale"'
        if not modified:
            return web.Response(status=304, headers=headers)
        if reply.body is None:
            if not os.path.exists(reply.file.path):
                return _not_found()
            return web.FileResponse(Path(reply.file.path), headers=headers)
        return web.Response(body=reply.body, headers=headers)

    async def _reply(self, f: _File) -> _Reply:
        """Headers and bytes of a file, read once (an artifact's file does not change; files larger
        than MEMORY_FILE_MAX stay on disk)."""
        body = None if f.size > MEMORY_FILE_MAX else await asyncio.to_thread(Path(f.path).read_bytes)
        size = len(body) if body is not None else 0  # what the new reply holds
        latest = {g.artifact_id for g in self._latest.values()}
        # Drop the files no link serves any more (and this file's entry, replaced below).
        for aid in [aid for aid in self._replies if aid not in latest or aid == f.artifact_id]:
            self._bytes_total -= self._replies.pop(aid).size
        if self._bytes_total + size > MEMORY_TOTAL_MAX:
            self._replies.clear()
            self._bytes_total = 0
        reply = self._replies[f.artifact_id] = _Reply(f, body)
        self._bytes_total += size
        return reply

    # -- run-task links -----------------------------------------------------------------------------
    async def _fresh(self, info: _ShareInfo, f: _File | None) -> tuple[_File | None, str | None]:
        """Wait (bounded) for a fresh file; all concurrent visitors of a task share one run."""
        task = self._inflight.get(info.task_id)
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(self._run_for(info.task_id))
            self._inflight[info.task_id] = task
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), self.wait_limit)
        newest = self._latest.get(info.task_id)
        if newest is not None and (f is None or newest.artifact_id != f.artifact_id):
            return newest, None
        note = self._inflight_note.get(info.task_id, "a fresh file is not ready yet")
        return f, note

    async def _run_for(self, task_id: int) -> None:
        rid = await asyncio.to_thread(self._enqueue_or_join, task_id)
        if self.notify is not None:
            self.notify()
        self._inflight_note[task_id] = f"run {rid} still running"
        start = time.monotonic()
        while time.monotonic() - start < max(self.wait_limit, 1.0) * 3:
            status, error = await asyncio.to_thread(self._status, rid)
            if status not in ("queued", "running"):
                if status != "succeeded":
                    self._inflight_note[task_id] = f"run {rid} {status}: {error or ''}".strip().rstrip(":")
                else:
                    self._inflight_note.pop(task_id, None)
                latest = await asyncio.to_thread(self._load_latest, {task_id})
                if task_id in latest:
                    self._latest[task_id] = latest[task_id]
                return
            await asyncio.sleep(0.1)

    def _enqueue_or_join(self, task_id: int) -> int:
        conn = self.db.connection()
        with queue.write_tx(conn):
            row = conn.execute(
                "SELECT id FROM run WHERE task_id = ? AND status IN ('queued', 'running') ORDER BY id LIMIT 1", (task_id,)
            ).fetchone()
            if row is not None:
                return int(row[0])  # a run is already on its way (a schedule, another visitor): share it
            direct = conn.execute("SELECT direct FROM task WHERE id = ?", (task_id,)).fetchone()
            if direct is None:
                raise LookupError("task gone")
            cur = conn.execute(
                "INSERT INTO run(task_id, status, lane, trigger, enqueued_at) VALUES (?, 'queued', ?, 'share', ?)",
                (task_id, "direct" if direct[0] else "queue", self.clock.now()),
            )
            return int(cur.lastrowid or 0)

    def _status(self, run_id: int) -> tuple[str, str | None]:
        row = self.db.connection().execute("SELECT status, error FROM run WHERE id = ?", (run_id,)).fetchone()
        return (row[0], row[1]) if row else ("gone", None)


def _not_found() -> web.Response:
    return web.Response(status=404, body=NOT_FOUND, content_type="text/plain")


def _header_safe(name: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)


def _not_modified(request: web.BaseRequest, reply: _Reply) -> bool:
    headers = request.headers
    inm = headers.get(hdrs.IF_NONE_MATCH)
    if inm is not None:
        # A browser sends back the one ETag it has: compare it as is before splitting a list.
        return inm == reply.etag or any(tag.strip() in reply.etags for tag in inm.split(","))
    ims = headers.get(hdrs.IF_MODIFIED_SINCE)
    if ims:
        try:
            return reply.modified <= parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError, IndexError):
            return False
    return False
