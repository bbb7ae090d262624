"""The runtime: one object that owns the engine's asyncio tasks and its lane threads.

The TUI starts it inside Textual's event loop; `t4o-tui --worker` starts it alone. Jobs run in
threads (Peewee is synchronous): the queue lane is one thread that finishes a run and claims the
next in one transaction; the direct lane is a dispatcher thread and a bounded pool. The asyncio
side supervises (leases, cancel requests, timeouts, live logs, orphans, retention) and only ever
touches the database through `asyncio.to_thread`.

On PostgreSQL (issue 14) a listener thread LISTENs to the queue's channel: an enqueue anywhere
wakes the lane it is for at once, and a cancel request stops its run here at once; the lanes still
poll (every second then) for what sends no notification. A lost connection (server restarted,
network cut) is said once (engine.connection), every part backs off and reconnects, and no run is
lost: a run's end is written once the server is back, and a run cut mid-way is requeued or failed
by its on-orphan policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import peewee

from t4o_tui.engine import maintenance, queue
from t4o_tui.engine.clock import SYSTEM_CLOCK, Clock
from t4o_tui.engine.connection import ConnectionWatch, RepeatedFailure
from t4o_tui.engine.evaluator import Evaluator
from t4o_tui.engine.executor import CANCEL, STOPPING, TIMEOUT, EngineRunContext, execute, one_line
from t4o_tui.engine.job import JobRegistry, installed_jobs
from t4o_tui.engine.queue import Claimed, Outcome
from t4o_tui.store import backend_postgres
from t4o_tui.store.models import CANCELLED, FAILED, QUEUED

log = logging.getLogger("t4o_tui.engine")

# How long the PostgreSQL listener waits for a notification before it looks again whether the runtime
# is stopping. stop() wakes it at once, so this only bounds a missed wake.
LISTEN_WAIT = 5.0


@dataclass
class RuntimeOptions:
    lease: float = 15.0  # seconds a claimed run stays owned without renewal
    poll: float = 0.2  # how often idle lanes look for runs enqueued by other processes
    listen_poll: float = 1.0  # the same while LISTEN/NOTIFY wakes them (PostgreSQL): a fallback
    direct_slots: int = 4  # concurrent direct-lane runs in this process
    grace: float = 10.0  # at stop: time running runs get to finish before they are cancelled
    cancel_wait: float = 5.0  # at stop: time a cancelled run gets to wind down before it is abandoned
    abandon_after: float = 30.0  # a run asked to stop (cancel, timeout) that keeps running is given up
    retention: int = 500  # finished runs kept per task
    maintenance_every: float = 60.0  # pruning interval
    queue_lane: bool = True
    direct_lane: bool = True
    scheduler: bool = True  # take part in schedule evaluation (one process at a time holds the lease)
    share: bool = False  # serve share links (the TUI and --worker turn it on from the config)
    share_host: str = "127.0.0.1"
    share_port: int = 8470
    share_header_timeout: float = 10.0  # seconds a connection has to send a complete request head
    share_max_per_client: int = 64  # connections open at once from one client address
    share_max_connections: int = 1000  # connections open at once from all clients together


class ShareService(Protocol):
    """The share-link server as the runtime starts and stops it. The engine does not import the
    share package (which imports the engine): entry points pass its factory,
    t4o_tui.share.service.RuntimeShareServer, to the Runtime."""

    host: str
    port: int
    listening: bool
    error: str | None

    async def start(self) -> bool: ...

    async def stop(self) -> None: ...


def make_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class _OrphanPolicies(Mapping[str, str]):
    """Job id -> its default for a run whose worker was lost, each job's looked up (and the job
    imported) only when a lost run of it is found."""

    def __init__(self, jobs: JobRegistry) -> None:
        self._jobs = jobs

    def __getitem__(self, job_id: str) -> str:
        return self._jobs[job_id].default_on_orphan()

    def __iter__(self) -> Iterator[str]:
        return iter(self._jobs)

    def __len__(self) -> int:
        return len(self._jobs)


class Runtime:
    """Owns the queue lane, the direct lane and the maintenance of one process."""

    def __init__(
        self,
        db: peewee.Database,
        *,
        data_dir: Path,
        options: RuntimeOptions | None = None,
        clock: Clock = SYSTEM_CLOCK,
        worker_id: str | None = None,
        role: str = "worker",
        jobs: JobRegistry | None = None,
        share_server: Callable[[Runtime], ShareService] | None = None,
    ) -> None:
        """`jobs`: the jobs it runs (default: the registry the entry point installed);
        `share_server`: builds the share server when `options.share` is on."""
        self.db = db
        self.data_dir = data_dir
        self.opt = options or RuntimeOptions()
        self.clock = clock
        self.worker_id = worker_id or make_worker_id()
        self.role = role
        if self.opt.share and share_server is None:
            raise ValueError("options.share is on but no share_server factory was given "
                             "(t4o_tui.share.service.RuntimeShareServer)")
        self.jobs = jobs if jobs is not None else installed_jobs()
        self._share_factory = share_server
        self._active: dict[int, EngineRunContext] = {}
        self._active_lock = threading.Lock()
        self._stopping = threading.Event()
        self._queue_wake = threading.Event()
        self._direct_wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool: ThreadPoolExecutor | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._last_renew = 0.0
        # Bumped when a queue lane thread is stuck in a job that ignores cancel: a fresh thread
        # takes over the lane and the stuck one exits when (if ever) its job returns.
        self._queue_gen = 0
        self.evaluator: Evaluator | None = None
        self.share_server: ShareService | None = None
        self.on_finished: list[Callable[[Outcome], None]] = []
        self.finished_count = 0
        # The database server lost and back (PostgreSQL): said once, shown by status().
        self.connection = ConnectionWatch(on_lost=getattr(db, "server_lost", None))
        # A failure that lasts (disk full) is said once, then counted once a minute (connection.py).
        self._failing = {what: RepeatedFailure(what) for what in ("queue lane", "supervisor step", "maintenance step")}
        # PostgreSQL: the URL the listener connects to; None on SQLite (the lanes poll).
        self._listen_url: str | None = getattr(db, "url", None) or None
        self.listening = False  # the listener is connected: lanes poll only as a fallback
        self._listener: backend_postgres.Listener | None = None  # stop() wakes it
        self.heard = 0  # notifications received (tests, benchmarks)

    @property
    def _policies(self) -> Mapping[str, str]:
        """Each job's default for a run whose worker was lost (requeue or fail)."""
        return _OrphanPolicies(self.jobs)

    # -- life cycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        await asyncio.to_thread(self._announce)
        await self._recover_orphans()
        if self._listen_url and (self.opt.queue_lane or self.opt.direct_lane):
            self._spawn(self._listen_loop, "queue-listener")
        if self.opt.queue_lane:
            self._spawn(self._queue_loop, "queue-lane")
        if self.opt.direct_lane:
            self._pool = ThreadPoolExecutor(self.opt.direct_slots, thread_name_prefix="direct-lane")
            self._spawn(self._direct_loop, "direct-dispatch")
        if self.opt.scheduler:
            self.evaluator = Evaluator(self.db, clock=self.clock, holder=self.worker_id, notify=self.notify,
                                       connection=self.connection)
            self.evaluator.start()
        if self.opt.share and self._share_factory is not None:
            self.share_server = self._share_factory(self)
            await self.share_server.start()  # a taken port is logged; the rest keeps working
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._supervise(), name="supervisor"),
            loop.create_task(self._maintain(), name="maintenance"),
        ]
        log.info("runtime started as %s (lease %gs, %d direct slots)", self.worker_id, self.opt.lease, self.opt.direct_slots)

    async def stop(self, grace: float | None = None) -> None:
        """Stop claiming, let running runs finish within the grace period, then cancel them."""
        if not self._started or self._stopping.is_set():
            return
        grace = self.opt.grace if grace is None else grace
        if self.evaluator is not None:
            # First: no new runs from schedules, and the lease goes to a standby at once.
            await asyncio.to_thread(self.evaluator.stop)
        if self.share_server is not None:
            await self.share_server.stop()
        self._stopping.set()
        self.notify()
        listener = self._listener
        if listener is not None:
            listener.wake()
        log.info("stopping: %d run(s) running, grace %gs", len(self._active), grace)
        if not await self._wait_idle(grace):
            for ctx in self._snapshot():
                log.info("run %d (%s): still running at stop, cancelling", ctx.run_id, ctx.task_name)
                ctx.request_stop(STOPPING)
            if not await self._wait_idle(self.opt.cancel_wait):
                await asyncio.to_thread(self._abandon_all)
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for th in self._threads:
            await asyncio.to_thread(th.join, 2.0)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        try:
            await asyncio.to_thread(self._flush_live, True)
            await asyncio.to_thread(self._retire)
        except Exception as exc:  # the server is gone: the presence lease simply runs out
            _failed("leaving the database", exc, "this worker's presence ends when its lease runs out")
            self.db.close()
        log.info("runtime stopped")

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def notify(self) -> None:
        """Wake the lanes: a run was enqueued in this process, or the runtime is stopping."""
        self._queue_wake.set()
        self._direct_wake.set()

    def status(self) -> str | None:
        """What is wrong with this process's engine right now, in one line (None: nothing)."""
        return self.connection.status()

    def running_ids(self) -> list[int]:
        return [c.run_id for c in self._snapshot()]

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        th = threading.Thread(target=target, name=name, daemon=True)
        th.start()
        self._threads.append(th)

    def _snapshot(self) -> list[EngineRunContext]:
        with self._active_lock:
            return list(self._active.values())

    async def _wait_idle(self, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while True:
            busy = bool(self._active) or any(th.is_alive() for th in self._threads)
            if not busy:
                return True
            if time.monotonic() >= end:
                return False
            await asyncio.sleep(0.02)

    # -- presence -----------------------------------------------------------------------------------
    def _announce(self) -> None:
        now = self.clock.now()
        with queue.write_tx(self.db.connection()) as conn:
            conn.execute(
                "INSERT INTO lease(name, holder, acquired_at, expires_at, info) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET expires_at=excluded.expires_at",
                (f"worker:{self.worker_id}", self.worker_id, now, now + self.opt.lease, self.role),
            )

    def _retire(self) -> None:
        with queue.write_tx(self.db.connection()) as conn:
            conn.execute("DELETE FROM lease WHERE name=?", (f"worker:{self.worker_id}",))
        self.db.close()

    # -- lanes --------------------------------------------------------------------------------------
    @property
    def _poll(self) -> float:
        return max(self.opt.poll, self.opt.listen_poll) if self.listening else self.opt.poll

    def _queue_loop(self) -> None:
        gen = self._queue_gen
        pending: Outcome | None = None
        while not self._stopping.is_set() and gen == self._queue_gen:
            self._queue_wake.clear()
            try:
                conn = self.db.connection()  # a new one after the server dropped the last
                if pending is None and not queue.has_queued(conn, "queue"):
                    self.connection.ok()
                    self._failing["queue lane"].ok()
                    self._queue_wake.wait(self._poll)
                    continue
                # A hand-over whose commit was cut is tried again with the same `pending`: had
                # it committed, the finish is discarded as no longer ours, and the run claimed
                # in it (unknown here) is recovered when its lease runs out.
                claimed, recorded = queue.claim_queue(
                    conn, worker=self.worker_id, now=self.clock.now, lease=self.opt.lease, finish=pending
                )
            except Exception as exc:  # locked for longer than the busy timeout, disk full, server gone...
                if self.connection.lost(exc, "queue lane"):
                    self._stopping.wait(self.connection.delay())
                else:
                    if self._failing["queue lane"].failed(one_line(exc)):
                        log.warning("queue lane: %s; retrying in 1 s", exc)
                    time.sleep(1.0)
                continue
            self.connection.ok()
            self._failing["queue lane"].ok()
            if pending is not None:
                self._finished(pending, recorded)
                pending = None
            if claimed is None:
                self._queue_wake.wait(self._poll)
                continue
            if self._stopping.is_set():
                now = self.clock.now()
                pending = Outcome(claimed.id, QUEUED, now, logs=[(now, "info", "claimed while the worker was stopping; back to the queue")])
                break
            pending = self._run(claimed)
        if pending is not None:
            self._finished(pending, self._finish_safely(pending))

    def _direct_loop(self) -> None:
        futures: set[object] = set()
        assert self._pool is not None

        def done(fut: object) -> None:
            futures.discard(fut)
            self._direct_wake.set()

        while not self._stopping.is_set():
            self._direct_wake.clear()
            free = self.opt.direct_slots - len(futures)
            try:
                conn = self.db.connection()  # a new one after the server dropped the last
                if free > 0 and queue.has_queued(conn, "direct"):
                    for claimed in queue.claim_direct(
                        conn, worker=self.worker_id, now=self.clock.now, lease=self.opt.lease, limit=free
                    ):
                        fut = self._pool.submit(self._direct_one, claimed)
                        futures.add(fut)
                        fut.add_done_callback(done)
            except Exception as exc:
                if self.connection.lost(exc, "direct lane"):
                    self._stopping.wait(self.connection.delay())
                    continue
                _failed("direct lane dispatcher", exc, "it stops, runs stay queued")
                return
            self.connection.ok()
            self._direct_wake.wait(self._poll)

    # -- notifications (PostgreSQL) -------------------------------------------------------------------
    def _listen_loop(self) -> None:
        """LISTEN on a connection of its own; wake the lanes and stop cancelled runs as told."""
        assert self._listen_url is not None
        listener: backend_postgres.Listener | None = None
        while not self._stopping.is_set():
            try:
                if listener is None:
                    listener = self._listener = backend_postgres.Listener(self._listen_url)
                    if self._stopping.is_set():  # stop() looked for a listener before there was one
                        break
                    self.listening = True
                    self.notify()  # what was enqueued while nobody listened
                for message in listener.wait(LISTEN_WAIT):
                    self._heard(message)
            except Exception as exc:
                self.listening = False
                if listener is not None:
                    with contextlib.suppress(Exception):
                        listener.close()
                    listener = self._listener = None
                if not self.connection.lost(exc, "queue listener"):
                    _failed("queue listener", exc, "the lanes poll meanwhile; retrying")
                self._stopping.wait(max(self.connection.delay(), 1.0))
        self.listening = False
        self._listener = None
        if listener is not None:
            with contextlib.suppress(Exception):
                listener.close()

    def _heard(self, message: str) -> None:
        """One notification: 'enqueued <lane> <id>' or 'cancel <run id>' (queue.py)."""
        self.heard += 1
        words = message.split()
        if words[:1] == ["enqueued"]:
            lane = words[1] if len(words) > 1 else ""
            if lane != "direct":
                self._queue_wake.set()
            if lane != "queue":
                self._direct_wake.set()
        elif words[:1] == ["cancel"] and len(words) > 1 and words[1].isdigit():
            ctx = self._active.get(int(words[1]))
            if ctx is not None and ctx.stop_reason is None:
                log.info("run %d (%s): cancel requested", ctx.run_id, ctx.task_name)
                ctx.request_stop(CANCEL)

    def _direct_one(self, claimed: Claimed) -> None:
        outcome = self._run(claimed)
        self._finished(outcome, self._finish_safely(outcome))

    def _run(self, claimed: Claimed) -> Outcome:
        job = self.jobs.get(claimed.job)
        timeout = claimed.timeout or (job.timeout if job else 3600.0)
        ctx = EngineRunContext(claimed, db=self.db, data_dir=self.data_dir, clock=self.clock, timeout=timeout)
        with self._active_lock:
            self._active[claimed.id] = ctx
        # Per run, one INFO line when it ends is enough for the journal; the start is in the run's log.
        log.debug("run %d (%s) started: %s lane, trigger %s", claimed.id, claimed.task_name, claimed.lane, claimed.trigger)
        policy = claimed.on_orphan or (job.default_on_orphan() if job else "fail")
        try:
            outcome = execute(ctx, worker=self.worker_id, policy=policy, jobs=self.jobs)
        finally:
            with self._active_lock:
                self._active.pop(claimed.id, None)
        if ctx.abandoned:
            # The engine already recorded how this run ended; the late result is dropped.
            outcome.status = "abandoned"
        return outcome

    def _finish_safely(self, outcome: Outcome) -> bool:
        if outcome.status == "abandoned":
            return False
        attempt = 0
        cut_off = time.monotonic() + max(self.opt.lease * 4, 60.0)
        while True:
            try:
                recorded = queue.finish(self.db.connection(), outcome, worker=self.worker_id)
                self.connection.ok()
                return recorded
            except Exception as exc:
                last: Exception = exc
                if self.connection.lost(exc, f"recording the end of run {outcome.run_id}"):
                    # The server is gone for now: the end is written once it is back (a run
                    # requeued meanwhile by its lease is not ours any more, and says so then).
                    # At stop, the grace period is all it gets.
                    if time.monotonic() < cut_off and not (self._stopping.is_set() and attempt >= 3):
                        attempt += 1
                        time.sleep(self.connection.delay())
                        continue
                    break
                if isinstance(exc, peewee.OperationalError | sqlite3.OperationalError) and attempt < 4:
                    attempt += 1  # locked, disk full
                    time.sleep(0.5 * attempt)
                    continue
                break
        _failed(f"recording the end of run {outcome.run_id}", last, "its lease runs out and orphan recovery ends it")
        return False

    def _finished(self, outcome: Outcome, recorded: bool) -> None:
        self.finished_count += 1
        if outcome.status == "abandoned":
            return
        if not recorded:
            log.warning("run %d: lost to another worker before it ended; result %s discarded", outcome.run_id, outcome.status)
        elif outcome.error:
            log.info("run %d (%s) %s: %s", outcome.run_id, outcome.task_name, outcome.status, outcome.error)
        else:
            log.info("run %d (%s) %s in %.2fs", outcome.run_id, outcome.task_name, outcome.status, outcome.elapsed or 0.0)
        for cb in self.on_finished:
            cb(outcome)

    def _abandon_all(self) -> None:
        for ctx in self._snapshot():
            self._abandon(ctx, stopping=True)

    def _abandon(self, ctx: EngineRunContext, *, stopping: bool) -> None:
        """Record a run whose job ignores cancel as ended, and let its thread go.

        Its transaction can no longer commit (the context refuses), so the database stays as it
        was; a stuck queue lane thread is replaced so that the queue moves on.
        """
        ctx.abandoned = True
        now = self.clock.now()
        logs, _ = ctx.take_rest()
        if stopping:
            policy = ctx.claimed.on_orphan or self._policies.get(ctx.claimed.job, "fail")
            status = QUEUED if policy == "requeue" else CANCELLED
            error = None if status == QUEUED else "cancelled: the worker stopped"
            note = f"the job did not stop within {self.opt.cancel_wait:g} s of cancel; " + (
                "requeued" if status == QUEUED else "cancelled") + " at worker stop"
        else:
            status = FAILED if ctx.stop_reason == TIMEOUT else CANCELLED
            error = (f"timed out after {ctx.timeout:g} s; the job did not stop" if status == FAILED
                     else "cancelled by admin; the job did not stop")
            note = f"the job ignored the stop request for {self.opt.abandon_after:g} s; given up"
        logs.append((now, "warning", note))
        log.warning("run %d (%s): %s", ctx.run_id, ctx.task_name, note)
        queue.finish(self.db.connection(), Outcome(ctx.run_id, status, now, error=error, logs=logs), worker=self.worker_id)
        with self._active_lock:
            self._active.pop(ctx.run_id, None)
        if ctx.claimed.lane == "queue" and not stopping:
            self._queue_gen += 1
            self._spawn(self._queue_loop, f"queue-lane-{self._queue_gen}")

    # -- supervision --------------------------------------------------------------------------------
    async def _supervise(self) -> None:
        tick = 0.25
        while True:
            await asyncio.sleep(tick)
            try:
                await asyncio.to_thread(self._supervise_once)
                self.connection.ok()
                self._failing["supervisor step"].ok()
                tick = 0.25
            except Exception as exc:
                if self.connection.lost(exc, "supervisor"):
                    tick = max(self.connection.delay(), 0.25)
                elif self._failing["supervisor step"].failed(one_line(exc)):
                    _failed("supervisor step", exc, "retrying")

    def _supervise_once(self) -> None:
        now_mono = time.monotonic()
        active = self._snapshot()
        for ctx in active:
            if ctx.stop_reason is None and now_mono >= ctx.deadline:
                log.info("run %d (%s): timed out after %gs, cancelling", ctx.run_id, ctx.task_name, ctx.timeout)
                ctx.request_stop(TIMEOUT)
            elif ctx.stop_reason is not None and now_mono - ctx.stop_requested_mono >= self.opt.abandon_after:
                self._abandon(ctx, stopping=False)
        self._flush_live(False)
        conn = self.db.connection()
        if active:
            for rid in queue.cancel_requests(conn, worker=self.worker_id):
                asked = self._active.get(rid)
                if asked is not None and asked.stop_reason is None:
                    log.info("run %d (%s): cancel requested", rid, asked.task_name)
                    asked.request_stop(CANCEL)
        if now_mono - self._last_renew >= self.opt.lease / 3 * self.clock.scale:
            self._last_renew = now_mono
            self._announce()
            ids = [c.run_id for c in active]
            owned = queue.renew_leases(conn, worker=self.worker_id, run_ids=ids, now=self.clock.now(), lease=self.opt.lease)
            for ctx in active:
                if ctx.run_id not in owned and self._active.get(ctx.run_id) is ctx:
                    log.warning("run %d: lease lost to another worker; stopping it", ctx.run_id)
                    ctx.request_stop(CANCEL)

    def _flush_live(self, final: bool) -> None:
        logs: list[tuple[int, float, str, str]] = []
        progress: list[tuple[int, float | None, str | None]] = []
        now_mono = time.monotonic() + (1e9 if final else 0.0)
        for ctx in self._snapshot():
            lines, prog = ctx.take_live(now_mono)
            logs.extend((ctx.run_id, ts, lvl, msg) for ts, lvl, msg in lines)
            if prog is not None:
                progress.append((ctx.run_id, prog[0], prog[1]))
        queue.flush_live(self.db.connection(), logs, progress)

    async def _recover_orphans(self) -> None:
        if not self.connection.settled(self.opt.lease * self.clock.scale):
            return  # just back after a lost server: the other workers renew their leases first
        actions = await asyncio.to_thread(
            lambda: queue.recover_orphans(self.db.connection(), now=self.clock.now(), policies=self._policies,
                                          worker=self.worker_id, alive=self.running_ids(), lease=self.opt.lease))
        for a in actions:
            log.warning("run %d (%s): worker %s lost, run %s", a.run_id, a.task_name, a.worker, a.action)
        if any(a.action == "requeued" for a in actions):
            self.notify()

    async def _maintain(self) -> None:
        last_prune = 0.0
        pruning: asyncio.Task[None] | None = None
        while True:
            await asyncio.sleep(self.opt.lease / 3 * self.clock.scale)
            try:
                await self._recover_orphans()
                # Retention beside orphan recovery, not in its way: a first retention of a big
                # history takes minutes (in short transactions; issue 19).
                if (pruning is None or pruning.done()) and time.monotonic() - last_prune >= self.opt.maintenance_every:
                    last_prune = time.monotonic()
                    pruning = asyncio.get_running_loop().create_task(self._prune(), name="retention")
                self._failing["maintenance step"].ok()
            except Exception as exc:
                if not self.connection.lost(exc, "maintenance") and self._failing["maintenance step"].failed(one_line(exc)):
                    _failed("maintenance step", exc, "retrying")

    async def _prune(self) -> None:
        try:
            # It stops between two delete transactions when the runtime stops (the next start goes on).
            removed = await asyncio.to_thread(maintenance.prune, self.db, keep=self.opt.retention,
                                              stop=self._stopping.is_set)
            if removed:
                log.info("retention: removed %d old run(s)", removed)
        except Exception as exc:
            if not self.connection.lost(exc, "retention"):
                _failed("retention", exc, "retrying at the next pass")


def _failed(what: str, exc: BaseException, then: str) -> None:
    """One line in the worker's log for a step that failed (database locked, disk full, ...).

    The database's own refusals are expected on a bad day and need no traceback; anything else
    is a bug, whose traceback is added with --verbose.
    """
    expected = isinstance(exc, (sqlite3.Error, peewee.DatabaseError, *backend_postgres.driver_errors()))
    log.log(logging.WARNING if expected else logging.ERROR, "%s failed: %s; %s", what, one_line(exc), then)
    if not expected:
        log.debug("%s failed", what, exc_info=exc)


def workers_alive(db: peewee.Database, now: float) -> list[tuple[str, str]]:
    """(worker id, role) of the runtimes whose presence lease is current."""
    rows = db.execute_sql(
        "SELECT holder, COALESCE(info, '') FROM lease WHERE name LIKE 'worker:%' AND expires_at > ?", (now,)
    ).fetchall()
    return [(r[0], r[1]) for r in rows]
