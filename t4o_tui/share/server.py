"""The HTTP server for share links: `GET`/`HEAD /s/<token>` serves the task's latest file.

Nothing from the request path reaches the file system: the token selects a share row, the share
selects a task, and the task's latest file is a path the engine registered. Unknown, revoked and
expired tokens get the same 404. Shares and latest files are kept in memory and refreshed from the
database twice a second, and hits are counted in memory and written every few seconds, so a
request costs no database access.
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
from aiohttp import web
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
    token: str
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


LATEST_SQL = (
    "SELECT a.task_id, a.id, a.run_id, a.path, a.name, a.media_type, a.size, a.created_at FROM artifact a "
    "WHERE a.id IN (SELECT max(a2.id) FROM artifact a2 JOIN run r ON r.id = a2.run_id "
    "WHERE r.status = 'succeeded' AND a2.task_id IN ({tasks}) GROUP BY a2.task_id)"
)


class _AccessLogger(AbstractAccessLogger):
    """One line per request, with the token shortened so the journal does not hold working links."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if not access_log.isEnabledFor(logging.INFO):
            return
        path = request.path
        if path.startswith("/s/") and len(path) > 12:
            path = path[:9] + "…"
        access_log.info(
            '%s "%s %s" %d %s %.1fms', request.remote, request.method, path, response.status,
            response.body_length, time * 1000,
        )

    @property
    def enabled(self) -> bool:
        return access_log.isEnabledFor(logging.INFO)


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
        self._bytes: dict[str, tuple[int, int, bytes]] = {}
        self._bytes_total = 0
        self._inflight: dict[int, asyncio.Task[None]] = {}
        # Why the last run-task wait ended without a fresh file, per task (for the stale header).
        self._inflight_note: dict[int, str] = {}
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- life cycle ---------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024)
        app.router.add_get("/s/{token}", self._handle)  # HEAD too
        app.router.add_get("/healthz", self._health)
        # Every other path, method or shape of request: the same plain 404 (405 would tell more).
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    async def start(self) -> bool:
        """Listen; False (and a clear log line) when the address is taken — the runtime goes on."""
        await asyncio.to_thread(self._refresh)
        self._runner = web.AppRunner(self.app(), access_log_class=_AccessLogger, handle_signals=False)
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
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._flush_hits)
        self.listening = False

    # -- memory of shares and files ---------------------------------------------------------------
    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_S)
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
            r[3]: _ShareInfo(r[0], r[1], r[2], bool(r[4]), r[5], r[6], bool(r[7])) for r in rows
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
    async def _not_found(self, request: web.Request) -> web.Response:
        return web.Response(status=404, body=NOT_FOUND, content_type="text/plain")

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "shares": len(self._shares)})

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        now = self.clock.now()
        info = self._shares.get(token_hash(token)) if TOKEN_RE.fullmatch(token) else None
        if (
            info is None
            or not hmac.compare_digest(info.token.encode(), token.encode())
            or info.revoked
            or (info.expires_at is not None and now >= info.expires_at)
        ):
            return await self._not_found(request)
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
        return await self._serve(request, f, stale)

    async def _serve(self, request: web.Request, f: _File, stale: str | None) -> web.StreamResponse:
        headers = {
            "ETag": f.etag,
            "Last-Modified": formatdate(f.created_at, usegmt=True),
            # Browsers keep the page but ask every time; an unchanged file costs a 304.
            "Cache-Control": "no-cache",
            "Content-Disposition": f'inline; filename="{_header_safe(f.name)}"',
            "X-Content-Type-Options": "nosniff",
        }
        if stale:
            headers["X-T4O-Stale"] = stale
            headers["Warning"] = '110 - "Response is Stale"'
        if _not_modified(request, f):
            return web.Response(status=304, headers=headers)
        media = f.media_type + ("; charset=utf-8" if f.media_type.startswith("text/") and "charset" not in f.media_type else "")
        headers["Content-Type"] = media
        if f.size > MEMORY_FILE_MAX:
            if not os.path.exists(f.path):
                return await self._not_found(request)
            return web.FileResponse(Path(f.path), headers=headers)
        try:
            body = await self._read(f)
        except OSError:
            log.warning("share: file of run %d is gone: %s", f.run_id, f.path)
            return await self._not_found(request)
        return web.Response(body=body, headers=headers)

    async def _read(self, f: _File) -> bytes:
        cached = self._bytes.get(f.path)
        if cached is not None and cached[0] == f.artifact_id:
            return cached[2]
        data = await asyncio.to_thread(Path(f.path).read_bytes)
        if self._bytes_total + len(data) > MEMORY_TOTAL_MAX:
            self._bytes.clear()
            self._bytes_total = 0
        old = self._bytes.pop(f.path, None)
        if old is not None:
            self._bytes_total -= len(old[2])
        self._bytes[f.path] = (f.artifact_id, len(data), data)
        self._bytes_total += len(data)
        return data

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


def _header_safe(name: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)


def _not_modified(request: web.Request, f: _File) -> bool:
    inm = request.headers.get("If-None-Match")
    if inm is not None:
        return any(tag.strip() in (f.etag, "*") or tag.strip() == "W/" + f.etag for tag in inm.split(","))
    ims = request.headers.get("If-Modified-Since")
    if ims:
        try:
            return int(f.created_at) <= parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError, IndexError):
            return False
    return False
