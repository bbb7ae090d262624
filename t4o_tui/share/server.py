"""The HTTP server for share links: `GET`/`HEAD /s/<token>` serves the task's latest file.

Nothing from the request path reaches the file system: the token selects a share row, the share
selects a task, and the task's latest file is a path the engine registered. Unknown, revoked and
expired tokens get the same 404. Shares and latest files are kept in memory and refreshed from the
database twice a second, and hits are counted in memory and written every few seconds, so a
request costs no database access. What every answer for a file shares (its headers, validators and,
up to a size, its bytes) is computed once per file, so a request costs the share checks, a hit in
memory and its access-log line.

A link published on a LAN must not be starved by one client: a connection has `header_timeout`
seconds, from its opening or from its last answer, to send a complete request head (a slow or
silent client is closed), one client address may hold at most `max_per_client` connections, and
all clients together at most `max_connections` (so that many clients cannot use up the process's
file descriptors); the ones over either are answered 503 and closed at once. All are decided when a
connection opens or ends, never per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import hashlib
import hmac
import ipaddress
import logging
import os
import socket
import time
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote

import peewee
from aiohttp import hdrs, web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_protocol import RequestHandler
from multidict import CIMultiDict

from t4o_tui.engine import queue
from t4o_tui.engine.clock import SYSTEM_CLOCK, Clock
from t4o_tui.engine.connection import ConnectionWatch
from t4o_tui.share import serving
from t4o_tui.share.stored_file import StoredFileDamaged, StoredParts
from t4o_tui.store.backend_sqlite import backend_of

log = logging.getLogger("t4o_tui.share")
access_log = logging.getLogger("t4o_tui.share.access")

REFRESH_S = 0.5
FLUSH_HITS_S = 5.0
MEMORY_FILE_MAX = 16 * 1024 * 1024  # larger files are streamed from disk
MEMORY_TOTAL_MAX = 128 * 1024 * 1024
STREAM_CHUNK = 1024 * 1024  # bytes read at a time from a file streamed from disk
NOT_FOUND = b"Not found\n"
SERVER_NAME = "t4o-tui"  # not aiohttp's default, which names the Python and aiohttp versions
HEADER_TIMEOUT_S = 10.0  # to send a complete request head, from the connection's opening or its last answer
MAX_PER_CLIENT = 64  # connections open at once from one client address (a browser uses about 6)
MAX_CONNECTIONS = 1000  # connections open at once from all clients together
FD_RESERVE = 64  # file descriptors kept for the process (database, logs, files served) below its limit
REFUSED_LOG_S = 60.0  # refusals of one client are logged once per this long
# Sent to a connection over its client's limit before it is closed: no request is read from it.
_REFUSED_BODY = b"Too many connections from your address: close some and try again.\n"
REFUSED = (
    b"HTTP/1.1 503 Service Unavailable\r\nServer: " + SERVER_NAME.encode() + b"\r\nContent-Type: text/plain\r\n"
    b"Retry-After: 10\r\nConnection: close\r\nContent-Length: " + str(len(_REFUSED_BODY)).encode() + b"\r\n\r\n"
    + _REFUSED_BODY
)
_FULL_BODY = b"The server has too many connections open: try again shortly.\n"
REFUSED_FULL = REFUSED.replace(_REFUSED_BODY, _FULL_BODY).replace(
    b"Content-Length: " + str(len(_REFUSED_BODY)).encode(), b"Content-Length: " + str(len(_FULL_BODY)).encode())


def connection_cap(wanted: int) -> int:
    """The total connection cap, lowered to fit below the process's open-file limit (each
    connection is a file descriptor; the process needs FD_RESERVE of its own)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return wanted
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - FD_RESERVE))


class _Hits:
    """A link's visits not yet written to the database (kept across refreshes of the link)."""

    __slots__ = ("count", "last")

    def __init__(self) -> None:
        self.count = 0
        self.last = 0.0


class _ShareInfo:
    """A served link, as of the last refresh, with what a request for it needs at hand."""

    __slots__ = ("id", "task_id", "token", "run_task", "cache_window", "expires_at", "hits", "reply")

    def __init__(
        self, id: int, task_id: int, token: str, run_task: bool, cache_window: float, expires_at: float | None,
        hits: _Hits,
    ) -> None:
        self.id, self.task_id = id, task_id
        self.token = token  # compared in constant time with the request's token
        self.run_task, self.cache_window, self.expires_at = run_task, cache_window, expires_at
        self.hits = hits
        # The task's latest file, when it is in memory: answered without looking anything else up.
        self.reply: _Reply | None = None


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

    __slots__ = ("file", "created_at", "etag", "etags", "modified", "headers_304", "headers_200", "body", "size")

    def __init__(self, f: _File, body: bytes | None) -> None:
        self.file = f
        self.created_at = f.created_at
        self.etag = f.etag
        self.etags = frozenset((self.etag, "W/" + self.etag, "*"))  # If-None-Match values that match
        self.modified = int(f.created_at)
        # A 304 carries what a cache needs to update its copy: the validator and the caching rule
        # (RFC 9110 15.4.5: with an ETag, no other metadata of the file).
        headers_304: dict[str, str] = {
            hdrs.SERVER: SERVER_NAME,
            hdrs.ETAG: self.etag,
            # Browsers keep the page but ask every time; an unchanged file costs a 304.
            hdrs.CACHE_CONTROL: "no-cache",
        }
        media = f.media_type
        if media.startswith("text/") and "charset" not in media:
            media += "; charset=utf-8"
        # A response copies the headers it is given: from a CIMultiDict that is a C-level copy.
        headers_200: dict[str, str] = {
            **headers_304,
            hdrs.LAST_MODIFIED: formatdate(f.created_at, usegmt=True),
            hdrs.CONTENT_TYPE: media,
            hdrs.CONTENT_DISPOSITION: f'inline; filename="{_header_safe(f.name)}"',
            "X-Content-Type-Options": "nosniff",
        }
        self.headers_304 = CIMultiDict(headers_304)
        self.headers_200 = CIMultiDict(headers_200)
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
    but not as a record each, and not formatted while the request is answered: the request only
    notes what the line needs, and the lines of one turn of the event loop are formatted together
    and leave as one record at the start of the next turn (at a quiet time that is one line per
    record; under load a few dozen, the record's time being the first line's). Formatting each line
    as its request was answered, or a record per request, took a tenth to a fifth of the CPU time
    of a share request (bench/share_load.py); the same work done in one tight loop costs a fraction
    of that. (Longer batches, e.g. 50 ms, were slower and tripled p99: more objects kept alive.)
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if not _access_rows:
            asyncio.get_running_loop().call_soon(_flush_access_log)
        _access_rows.append((request, response, time))

    @property
    def enabled(self) -> bool:
        return access_log.isEnabledFor(logging.INFO)


# Requests answered and not yet logged (all connections' loggers share it; the event loop's thread only).
_access_rows: list[tuple[web.BaseRequest, web.StreamResponse, float]] = []


def _access_head(remote: str | None, method: str, path: str, status: int, length: int) -> str:
    """Who asked for what and got what: the request line as sent, a share token cut to 6 characters."""
    if path.startswith("/s/") and len(path) > 12:
        path = path[:9] + "..."
    if not path.isprintable():  # a raw newline or escape must not start a line of its own
        path = ascii(path)[1:-1]
    return f'{remote} "{method} {path}" {status} {length}'


def _flush_access_log() -> None:
    if not _access_rows:
        return
    rows = _access_rows[:]
    _access_rows.clear()
    if not access_log.isEnabledFor(logging.INFO):
        return
    # Under load most requests of a batch are a few visitors getting the same answer for a few
    # links: all but the time is formatted once.
    heads: dict[tuple[str | None, str, str, int, int], str] = {}
    lines = []
    for request, response, took in rows:
        key = (request.remote, request.method, request.raw_path, response.status, response.body_length)
        head = heads.get(key)
        if head is None:
            head = heads[key] = _access_head(*key)
        lines.append(f"{head} {took * 1000:.1f}ms")
    access_log.info("%s", "\n".join(lines))


@functools.lru_cache(maxsize=1024)
def _is_loopback(host: str) -> bool:
    try:
        addr = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped  # a dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d
    return addr.is_loopback


class _GuardedServer(web.Server):
    """aiohttp's low-level server, counting each client address's open connections.

    The count changes when a connection opens or ends (aiohttp tells its server both), so a request
    costs nothing more. A connection over its client's limit is answered 503 at once and closed,
    before anything is read from it: it holds nothing while a greedy client keeps trying.
    Connections from this machine (loopback) are not counted unless asked: a reverse proxy in front
    of the server brings every visitor from one such address, and the operator's own tools are no threat.
    """

    def __init__(self, handler: Any, *, max_per_client: int, cap_loopback: bool,
                 on_refused: Any, max_connections: int = MAX_CONNECTIONS, on_full: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.max_per_client = max_per_client
        self.cap_loopback = cap_loopback
        self.on_refused = on_refused
        self.max_connections = max_connections
        self.on_full = on_full or (lambda open_now: None)
        self.open_by_client: dict[str, int] = {}
        # Every connection taken (refused ones are not), with the client it counts for (None: loopback, uncounted).
        self._client_of: dict[RequestHandler, str | None] = {}

    @staticmethod
    def _refuse(handler: RequestHandler, transport: asyncio.Transport, answer: bytes) -> None:
        transport.pause_reading()  # nothing of it is read, let alone answered
        transport.write(answer)
        # Closed (once the answer is out) on the loop's next turn: aiohttp is still setting the
        # connection up, and a close from inside that leaves its request loop failing an assert.
        asyncio.get_running_loop().call_soon(handler.force_close)

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        if len(self._client_of) >= self.max_connections:
            # Loopback clients count here too: the cap guards the process's file descriptors.
            self._refuse(handler, transport, REFUSED_FULL)
            self.on_full(len(self._client_of))
            return
        peer = transport.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, tuple) and peer else None
        if host is None or (not self.cap_loopback and _is_loopback(host)):
            self._client_of[handler] = None
            return
        n = self.open_by_client.get(host, 0)
        if n >= self.max_per_client:
            self._refuse(handler, transport, REFUSED)
            self.on_refused(host, n)
            return
        self.open_by_client[host] = n + 1
        self._client_of[handler] = host

    @property
    def open_total(self) -> int:
        return len(self._client_of)

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        host = self._client_of.pop(handler, None)
        if host is not None:
            n = self.open_by_client.get(host, 1) - 1
            if n > 0:
                self.open_by_client[host] = n
            else:
                self.open_by_client.pop(host, None)
        super().connection_lost(handler, exc)


class ShareServer:
    """Runs inside the runtime's event loop.

    `header_timeout`: seconds a connection has, from its opening or its last answer, to send a
    complete request head; an idle keep-alive connection is closed after the same time (a browser
    opens a new one when it needs one). `max_per_client`: connections one client address may hold
    open at once; `cap_loopback`: count loopback clients too (by default they are not limited).
    `max_connections`: connections all clients together may hold open at once (loopback included),
    lowered to fit the process's open-file limit.
    """

    # The runtime's watch of the database connection (RuntimeShareServer sets it): a lost server
    # is said once for the whole process, not by every refresh twice a second.
    connection: ConnectionWatch | None = None

    def __init__(
        self, db: peewee.Database, *, host: str = "127.0.0.1", port: int = 8470, clock: Clock = SYSTEM_CLOCK,
        wait_limit: float = 20.0, notify: Any = None, header_timeout: float = HEADER_TIMEOUT_S,
        max_per_client: int = MAX_PER_CLIENT, cap_loopback: bool = False, max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.db = db
        self.host, self.port = host, port
        self.clock = clock
        self._now = clock.now
        self.wait_limit = wait_limit
        self.notify = notify
        self.header_timeout = header_timeout
        self.max_per_client = max_per_client
        self.cap_loopback = cap_loopback
        self.max_connections = connection_cap(max_connections)
        # Refusals because the server was full: when the current log window began, refusals since its line.
        self._full_refusals: list[float] | None = None
        # Clients refused lately: when the current log window began, and refusals since its line.
        self._refusals: dict[str, list[float]] = {}
        self._server: _GuardedServer | None = None
        self.listening = False
        self.error: str | None = None
        self._shares: dict[str, _ShareInfo] = {}
        self._latest: dict[int, _File] = {}
        self._hits: dict[int, _Hits] = {}  # by share id
        self._replies: dict[int, _Reply] = {}  # by artifact id
        # Several machines on one PostgreSQL server: a file not on this machine is read from the
        # database (artifact_data). SQLite is one machine: its data folder has every file.
        self._shared_db = isinstance(db, peewee.PostgresqlDatabase)
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
        # aiohttp's keep-alive timer is the header timeout: it closes a connection that has not
        # delivered a complete request head that long after its opening or its last answer.
        self._server = _GuardedServer(
            self._route, access_log_class=_AccessLogger, keepalive_timeout=self.header_timeout,
            max_per_client=self.max_per_client, cap_loopback=self.cap_loopback, on_refused=self._refused,
            max_connections=self.max_connections, on_full=self._full,
        )
        self._runner = web.ServerRunner(self._server, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            why = "the port is in use by another program" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            other: serving.Serving | None = None
            with contextlib.suppress(Exception):  # naming who serves is a courtesy: the error stands without it
                other = await asyncio.to_thread(serving.current, self.db, self._now())
            if exc.errno == errno.EADDRINUSE and other is not None and other.port == self.port:
                why = f"the port is in use by {other.role} {other.worker}, which serves this database's links"
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
        self.report_refusals(final=True)
        with contextlib.suppress(Exception):
            await self.flush_hits()
        self.listening = False

    # -- greedy clients -----------------------------------------------------------------------------
    def _refused(self, host: str, open_now: int) -> None:
        """A connection over its client's limit was refused: the first of a window is logged at
        once, the others are counted and reported when the window ends (one line per client per
        REFUSED_LOG_S, however fast the client knocks)."""
        window = self._refusals.get(host)
        if window is not None:
            window[1] += 1
            return
        self._refusals[host] = [self._now(), 0]
        log.warning(
            "share: refusing connections from %s: it has %d open, the most one client may have "
            "(share.max_connections_per_client); further refusals are counted and logged once a minute",
            host, open_now,
        )

    def _full(self, open_now: int) -> None:
        """A connection was refused because all clients together hold the most the server keeps
        open: logged as the per-client refusals are (the first at once, the rest once a window)."""
        if self._full_refusals is not None:
            self._full_refusals[1] += 1
            return
        self._full_refusals = [self._now(), 0]
        log.warning("share: refusing connections: %d are open, the most the server keeps (share.max_connections); "
                    "further refusals are counted and logged once a minute", open_now)

    def report_refusals(self, *, final: bool = False) -> None:
        """Log the refusals counted in windows that have ended (all of them when `final`)."""
        now = self._now()
        if self._full_refusals is not None and (final or now - self._full_refusals[0] >= REFUSED_LOG_S):
            since, more = self._full_refusals
            if more:
                log.warning("share: %d more connections refused in the last %.0f s (at most %d open in all)",
                            int(more), now - since, self.max_connections)
            self._full_refusals = [now, 0] if more and not final else None
        if not self._refusals:
            return
        for host, window in list(self._refusals.items()):
            since, more = window
            if not final and now - since < REFUSED_LOG_S:
                continue
            if more:
                log.warning("share: %d more connections from %s refused in the last %.0f s (at most %d open per client)",
                            int(more), host, now - since, self.max_per_client)
            if more and not final:
                window[0], window[1] = now, 0  # still knocking: a new window, its line at its end
            else:
                del self._refusals[host]  # quiet for a whole window: the next refusal is logged at once

    def open_connections(self, host: str | None = None) -> int:
        """Connections open from one client address, as counted for its limit; all of them when no address."""
        if self._server is None:
            return 0
        return self._server.open_total if host is None else self._server.open_by_client.get(host, 0)

    # -- memory of shares and files ---------------------------------------------------------------
    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_S)
            _flush_access_log()  # normally done already; lines left by a loop that ended go out here
            try:
                await asyncio.to_thread(self._refresh)
            except Exception as exc:  # locked for long, disk trouble, server gone: keep serving what we know
                if self.connection is None or not self.connection.lost(exc, "share server"):
                    log.warning("share refresh failed: %s", exc)

    def _refresh(self) -> None:
        conn = self.db.connection()
        rows = conn.execute(
            "SELECT id, task_id, token, run_task, cache_window, expires_at FROM share WHERE revoked = 0"
        ).fetchall()
        latest = self._load_latest({r[1] for r in rows})
        old = self._shares
        shares = {}
        for sid, task_id, token, run_task, cache_window, expires_at in rows:  # revoked links are left out
            hits = self._hits.get(sid) or self._hits.setdefault(sid, _Hits())
            info = shares[token] = _ShareInfo(sid, task_id, token, bool(run_task), cache_window, expires_at, hits)
            before, f = old.get(token), latest.get(task_id)
            if before is not None and before.reply is not None and f is not None and before.reply.file.artifact_id == f.artifact_id:
                info.reply = before.reply  # the same file: no need to look it up again
        self._shares, self._latest = shares, latest

    def _load_latest(self, task_ids: set[int]) -> dict[int, _File]:
        if not task_ids:
            return {}
        sql = LATEST_SQL.format(tasks=",".join(str(int(t)) for t in task_ids))
        rows = self.db.connection().execute(sql).fetchall()
        return {r[0]: _File(*r[1:]) for r in rows}

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_HITS_S)
            self.report_refusals()
            try:
                await self.flush_hits()
            except Exception as exc:
                if self.connection is None or not self.connection.lost(exc, "share server"):
                    log.warning("writing share hit counts failed (kept for the next try): %s", exc)

    async def flush_hits(self) -> None:
        """Write the visits counted since the last time. Taken from the counters in the event loop
        (where requests count them), so none is lost between taking and writing; on failure they
        are put back for the next try."""
        taken = [(h.count, h.last, sid) for sid, h in self._hits.items() if h.count]
        if not taken:
            return
        for _n, _last, sid in taken:
            self._hits[sid].count -= _n
        try:
            await asyncio.to_thread(self._write_hits, taken)
        except BaseException:
            for n, _last, sid in taken:
                self._hits[sid].count += n
            raise

    def _write_hits(self, taken: list[tuple[int, float, int]]) -> None:
        with queue.write_tx(self.db.connection()) as conn:
            # Servers on several machines add their own counts; the latest visit of any stays.
            conn.executemany(
                "UPDATE share SET hits = hits + :n, last_access = CASE WHEN last_access IS NULL OR last_access < :last "
                "THEN :last ELSE last_access END WHERE id = :id",
                [{"n": n, "last": last, "id": sid} for n, last, sid in taken],
            )

    # -- requests -----------------------------------------------------------------------------------
    async def _route(self, request: web.BaseRequest) -> web.StreamResponse:
        """The three routes, by hand, on aiohttp's low-level server (an Application and its router
        took 15-25 % of the CPU time of a share request), and the common answer — a file from
        memory, or a 304 — without leaving this function: every step of a share request shows in
        its throughput (bench/share_load.py)."""
        path = request.raw_path  # as sent: the token is checked as is (no decoding for it to slip through)
        method = request.method
        if path.startswith("/s/") and (method == "GET" or method == "HEAD"):
            token = path[3:]
            if "?" in token:  # a query string is not part of the token
                token = token.partition("?")[0]
            # The lookup by the token string: Python hashes the whole string with a per-process
            # random key (SipHash) and compares strings only on equal hashes, so its time tells
            # nothing about how much of a guess is right; the comparison that decides is
            # constant-time. Revoked links are not in the table.
            info = self._shares.get(token)
            if info is None and "%" in token:
                # A client that percent-encodes unreserved characters sends the same token (RFC 3986 6.2.2.2).
                token = unquote(token)
                info = self._shares.get(token)
            if info is None or not hmac.compare_digest(info.token, token):
                return _not_found()
            now = self._now()
            if info.expires_at is not None and now >= info.expires_at:
                return _not_found()
            hits = info.hits
            hits.count += 1
            hits.last = now
            reply = info.reply
            if reply is None or (
                # HEAD never starts a run: link checkers and previews must not run the task.
                info.run_task and method == "GET" and now - reply.created_at > info.cache_window
            ):
                return await self._handle(request, info, now)
            headers = request.headers
            if (hdrs.IF_NONE_MATCH in headers or hdrs.IF_MODIFIED_SINCE in headers) and _not_modified(request, reply):
                return web.Response(status=304, headers=reply.headers_304)
            return web.Response(body=reply.body, headers=reply.headers_200)
        if (method == "GET" or method == "HEAD") and path.partition("?")[0] == "/healthz":
            return web.json_response({"status": "ok", "shares": len(self._shares)}, headers={hdrs.SERVER: SERVER_NAME})
        # Every other path, method or shape of request: the same plain 404 (405 would tell more).
        return _not_found()

    async def _handle(self, request: web.BaseRequest, info: _ShareInfo, now: float) -> web.StreamResponse:
        """A share request whose file is not in memory yet, is streamed from disk, or needs a run."""
        f = self._latest.get(info.task_id)
        stale: str | None = None
        # HEAD never starts a run: link checkers and previews must not run the task.
        if info.run_task and request.method == "GET" and (f is None or now - f.created_at > info.cache_window):
            f, stale = await self._fresh(info, f)
        if f is None:
            return web.Response(status=503, headers={"Retry-After": "10", "Cache-Control": "no-store", hdrs.SERVER: SERVER_NAME},
                                body=b"No file yet: the task has not produced one. Try again shortly.\n",
                                content_type="text/plain")
        found = await self._reply_on_disk(info.task_id, f)
        if found is None:
            return _not_found()
        reply, fh = found
        latest = self._latest.get(info.task_id)
        if reply.body is not None and latest is not None and latest.artifact_id == reply.file.artifact_id:
            info.reply = reply  # the next request for this link is answered straight away
        modified = not _not_modified(request, reply)
        headers = dict(reply.headers_200 if modified else reply.headers_304)
        if stale:
            headers["X-T4O-Stale"] = stale
            headers["Warning"] = '110 - "Response is Stale"'
        if not modified:
            if fh is not None:
                fh.close()
            return web.Response(status=304, headers=headers)
        if fh is None:
            return web.Response(body=reply.body, headers=headers)
        return await _stream(request, fh, headers)

    async def _reply_on_disk(self, task_id: int, f: _File) -> tuple[_Reply, BinaryIO | StoredParts | None] | None:
        """The answer for a file of the task, with the file opened when it is streamed from disk
        (so it cannot go between the check and the answer); None when the file is gone and no
        newer one is there.

        A file this server still takes for the task's latest may be gone: a newer run was recorded
        since the last refresh and the older file removed (a backup keeping one copy, retention).
        The task's latest file is then looked up again, so the visitor gets the newer file, not a 404.
        """
        for _attempt in range(3):
            reply = self._replies.get(f.artifact_id)
            try:
                if reply is None:
                    reply = await self._reply(f)  # reads a file kept in memory: it is there, or OSError
                if reply.body is not None:
                    return reply, None
                return reply, await asyncio.to_thread(open, f.path, "rb")
            except OSError:
                pass
            if self._shared_db:
                # Not on this machine: its run ran on another one on the same PostgreSQL server,
                # which kept the bytes in the database too (one row, or parts for a larger file).
                try:
                    body = await asyncio.to_thread(self._stored, f)
                except Exception as exc:  # the server is away: the same 404 as a missing file, said why
                    if self.connection is None or not self.connection.lost(exc, "share server"):
                        log.warning("share: reading the file of run %d from the database failed: %s", f.run_id, exc)
                    body = None
                if isinstance(body, StoredParts):  # kept in parts: streamed from the database, not kept in memory
                    return self._keep(f, None), body
                if body is not None:
                    return self._keep(f, body), None
            try:
                newer = (await asyncio.to_thread(self._load_latest, {task_id})).get(task_id)
            except Exception as exc:  # locked for long, disk trouble: the file is gone all the same
                log.warning("share: looking up the latest file of task %d failed: %s", task_id, exc)
                newer = None
            if newer is None or newer.artifact_id == f.artifact_id:
                break
            self._latest[task_id] = f = newer
        log.warning("share: file of run %d is gone: %s%s", f.run_id, f.path, await asyncio.to_thread(self._elsewhere, f.run_id))
        return None

    async def _reply(self, f: _File) -> _Reply:
        """Headers and bytes of a file, read once (an artifact's file does not change; files larger
        than MEMORY_FILE_MAX stay on disk)."""
        body = None if f.size > MEMORY_FILE_MAX else await asyncio.to_thread(Path(f.path).read_bytes)
        return self._keep(f, body)

    def _keep(self, f: _File, body: bytes | None) -> _Reply:
        """The answer for a file, kept in memory by its artifact id (a newer run's file is another
        artifact). A file read from the database is kept whatever its size (it is at most
        executor.STORED_FILE_MAX, within MEMORY_TOTAL_MAX): there is no local copy to stream."""
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
            lane = "direct" if direct[0] else "queue"
            rid = int(conn.execute(
                "INSERT INTO run(task_id, status, lane, trigger, enqueued_at) VALUES (?, 'queued', ?, 'share', ?) "
                "RETURNING id",
                (task_id, lane, self.clock.now()),
            ).fetchone()[0])
            # Workers on other machines wake at the commit (PostgreSQL; nothing on SQLite).
            backend_of(conn).notify(conn, f"enqueued {lane} {rid}")
            return rid

    def _stored(self, f: _File) -> bytes | StoredParts | None:
        """The file's bytes as kept in the database by the machine that ran it (its parts, for a
        file kept in parts); None when they are not there (over the limit, a backup, or written
        before files were kept) or do not match their checksum."""
        row = self.db.connection().execute(
            "SELECT bytes, sha256, chunks, size FROM artifact_data WHERE artifact_id = ?", (f.artifact_id,)).fetchone()
        if row is None:
            return None
        if row[2]:
            return StoredParts.complete(self.db, f.run_id, row[1], int(row[2]), int(row[3]))
        body = bytes(row[0])
        if hashlib.sha256(body).hexdigest() != row[1]:
            log.warning("share: the file of run %d kept in the database does not match its checksum", f.run_id)
            return None
        return body

    def _elsewhere(self, run_id: int) -> str:
        """Why a file may be missing here: its run ran on another machine (several machines on one
        PostgreSQL server), whose data folder this one cannot read, and did not keep it in the
        database (a backup, or over executor.STORED_FILE_LIMIT: its run's log says so)."""
        try:
            row = self.db.connection().execute("SELECT worker FROM run WHERE id = ?", (run_id,)).fetchone()
        except Exception:  # the database is away: the plain message stands
            return ""
        host = str(row[0]).split(":", 1)[0] if row and row[0] else ""
        if host and host != socket.gethostname():
            kept = " and not kept in the database, see the run's log" if self._shared_db else ""
            return (f" (written on {host}{kept}: serve this link from there, or give the machines one shared "
                    "data folder)")
        return ""

    def _status(self, run_id: int) -> tuple[str, str | None]:
        row = self.db.connection().execute("SELECT status, error FROM run WHERE id = ?", (run_id,)).fetchone()
        return (row[0], row[1]) if row else ("gone", None)


async def _stream(request: web.BaseRequest, fh: BinaryIO | StoredParts, headers: dict[str, str]) -> web.StreamResponse:
    """A file too large to keep in memory, sent from its open file in chunks (its headers are the
    ones computed for it; an open file stays readable if a newer run removes it meanwhile), or
    from the database a part at a time (kept in parts by another machine)."""
    try:
        size = fh.size if isinstance(fh, StoredParts) else os.fstat(fh.fileno()).st_size
        resp = web.StreamResponse(headers=headers)
        resp.content_length = size
        await resp.prepare(request)
        if request.method != "HEAD":
            try:
                while chunk := await asyncio.to_thread(fh.read, STREAM_CHUNK):
                    await resp.write(chunk)
            except StoredFileDamaged as exc:
                # The length was promised: closing the connection short of it tells the client
                # the download broke, instead of ending a wrong file as if it were whole.
                log.warning("share: %s; the answer was cut short", exc)
                if request.transport is not None:
                    request.transport.close()
                return resp
        await resp.write_eof()
        return resp
    finally:
        fh.close()


def _not_found() -> web.Response:
    return web.Response(status=404, body=NOT_FOUND, content_type="text/plain", headers={hdrs.SERVER: SERVER_NAME})


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
