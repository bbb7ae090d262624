"""The schedule evaluator: turns nominal fire times into runs, and records every decision.

Only the process holding the `scheduler` lease evaluates (renewed every 2 s, valid 6 s); a
standby takes over when it lapses. A step writes in one transaction (a burst: several, of at
most CHUNK schedules each) that first checks the lease is still ours and that no admin changed a
schedule meanwhile (fencing), then enqueues runs, writes occurrences, and advances each of its
schedules' `evaluated_until`. So a new holder takes up exactly where the last commit left off: no
duplicate and no lost fire.

On PostgreSQL (issue 14), where a transaction does not lock out the other writers, a step first
locks the lease row and its schedules' rows FOR UPDATE: a standby's takeover and an admin's edit
of those schedules wait for its commit, and anything committed before shows in the fence's reads.
The lease itself is taken by one conditional upsert. Processes on several machines compare lease
times by their own clocks: keep them in step (NTP), as any lease across machines needs.

The loop sleeps until the next due time and ticks every second to see changes made by other
processes (a trigger bumps `meta.schedule_rev` on every admin change).

Cost (bench/schedule_latency.py: 10,000 schedules, ~2,000 fires/s): a transaction's fixed cost
(its locks, its commit, the WAL pages of the tables' tails) is paid once however many fires it
writes, so what comes due close together is written together: the loop wakes at the last due
time within `batch` of the next one (a lone fire is handled at its due time, never before). A
transaction writes its runs and occurrences with executemany, and nothing a step does scales
with the number of schedules or of queued runs.
"""

from __future__ import annotations

import heapq
import json
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import peewee

from t4o_tui.engine import schedule_math as sm
from t4o_tui.engine import schedule_rules as rules
from t4o_tui.engine.clock import Clock
from t4o_tui.engine.connection import ConnectionWatch, RepeatedFailure
from t4o_tui.engine.date_sources import SOURCES, DateRow
from t4o_tui.engine.queue import write_tx
from t4o_tui.engine.schedule_rules import ON_TIME
from t4o_tui.engine.schedules import repeat_kind
from t4o_tui.store.backend_sqlite import backend_of
from t4o_tui.store.models import (
    COALESCED,
    FIRED,
    MISSED,
    PAUSED_STATE,
    SKIPPED_OVERLAP,
)

log = logging.getLogger("t4o_tui.scheduler")

LEASE_NAME = "scheduler"
__all__ = ["ON_TIME", "Evaluator", "scheduler_holder"]  # ON_TIME: the late grace (schedule_rules)
# At most this many nominal times are looked at one by one per schedule and step; the rest of a
# long downtime is recorded as one range.
ENUM_LIMIT = 10_000
MERGEABLE = (MISSED, PAUSED_STATE, COALESCED, SKIPPED_OVERLAP)
# Schedules that come due within this many (clock) seconds of the next one share its step: the
# loop sleeps until the last of them. Never early; at most this much late for the first of them.
# 1 ms keeps the median lateness under a millisecond at ~2,000 fires/s (bench/README.md has the
# trade-off: each doubling saves a few % CPU and doubles the median).
BATCH = 0.001
# At most this many due schedules per transaction: a burst (thousands of cron schedules on the
# same second) commits its first runs early instead of all of them at the end.
CHUNK = 500
_UNKNOWN: Any = object()  # `last_occ` not looked up yet (done lazily: only merges need it)


@dataclass
class _State:
    id: int
    task_id: int
    kind: str
    spec: sm.ScheduleSpec | None
    catch_up: str
    window: float
    overlap: str
    paused: bool
    paused_until: float | None
    fired: int
    max_runs: int | None
    armed_at: float
    evaluated_until: float
    start: float
    expiry: float
    source: str | None = None
    row_offset: float = 0.0
    fired_rows: set[str] = field(default_factory=set)
    # (id, state, reason) of the schedule's newest occurrence, None if it has none, or _UNKNOWN.
    last_occ: Any = _UNKNOWN
    nxt: sm.Fire | None = None  # the first fire after evaluated_until (whatever pause/max runs say)
    due: float | None = None  # when the schedule next needs a step (nxt, or when a pause ends)


@dataclass
class _Step:
    """What one transaction writes; runs and occurrences are inserted together at its end.

    Ids are assigned here (max(id) + 1, ...): the step holds the write lock from its first
    statement (BEGIN IMMEDIATE), so nobody else can take them, and an occurrence can name its run
    before either is written. On PostgreSQL, where other writers go on meanwhile, they are
    replaced by ids from the tables' sequences before the rows are written (Evaluator._renumber).
    """

    conn: Any
    now: float
    run_id: int  # the last id given out
    occ_id: int
    # task id -> [first running run id, first queued run id]; only for tasks whose due schedules
    # have an overlap policy that looks at them.
    active: dict[int, list[int | None]]
    first_occ: int = field(init=False)  # occurrence ids above this one are still in `occs`
    runs: list[tuple[int, int, str]] = field(default_factory=list)  # (id, task id, context)
    # [id, schedule id, nominal, last_nominal, count, fired, state, run id, reason, row key];
    # `fired` rows get the step's enqueue time as `actual` when they are written.
    occs: list[list[Any]] = field(default_factory=list)
    occurrences: int = 0
    lateness: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.first_occ = self.occ_id


class Evaluator:
    """Runs in its own thread inside a runtime; `is_holder` tells whether it evaluates right now."""

    def __init__(
        self, db: peewee.Database, *, clock: Clock, holder: str, notify: Any = None,
        lease: float = 6.0, renew: float = 2.0, tick: float = 1.0, batch: float = BATCH,
        connection: ConnectionWatch | None = None,
    ) -> None:
        """`connection`: the runtime's watch, which says once that the database server is lost."""
        self.db = db
        self.connection = connection or ConnectionWatch()
        self._failing = RepeatedFailure("scheduler step")  # a lasting failure said once, then counted
        self.clock = clock
        self.holder = holder
        self.notify = notify
        self.lease, self.renew, self.tick, self.batch = lease, renew, tick, batch
        self.is_holder = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rev: str | None = None
        self._states: dict[int, _State] = {}
        self._heap: list[tuple[float, int]] = []
        self._per_row: list[_State] = []
        self._rows_cache: dict[str, list[DateRow]] = {}
        # Anchored windows whose record moved since their row was written: the next step writes
        # their start, expiry and next fire, so every reader of the schedule row sees the move.
        self._moved: list[int] = []
        # (cron, tz, after) -> the next cron fire: the schedules of one expression come due
        # together, and the next fire after that instant is the same for all of them.
        self._cron_next: dict[tuple[str, str, float], sm.Fire | None] = {}
        self.steps = 0
        self.lateness: list[float] = []  # seconds, kept for benchmarks (bounded)
        # While steps fail (database locked past the busy timeout, disk full), times missed from
        # the last good step on are recorded as such, not as "the scheduler was not running".
        self.busy_since: float | None = None
        self.busy_why = ""
        self._last_ok: float | None = None

    # -- life cycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        if self.is_holder:
            try:
                with write_tx(self.db.connection()) as conn:
                    conn.execute("DELETE FROM lease WHERE name=? AND holder=?", (LEASE_NAME, self.holder))
                log.info("scheduler lease released")
            except Exception as exc:  # the database refused or is gone: the lease runs out by itself
                log.warning("could not release the scheduler lease: %s", exc)
            self.is_holder = False

    def _loop(self) -> None:
        next_renew = 0.0
        while not self._stop.is_set():
            renew = time.monotonic() >= next_renew
            if renew:
                next_renew = time.monotonic() + self.renew * self.clock.scale
            wake = self.turn(renew=renew)
            now = self.clock.now()
            delay = self.tick if wake is None else min(max(wake - now, 0.0), self.tick)
            if not self.is_holder:
                delay = min(self.tick, self.renew)
            renew_in = (next_renew - time.monotonic()) / self.clock.scale
            self._stop.wait(max(min(delay, renew_in), 0.0) * self.clock.scale)

    def turn(self, *, renew: bool = True) -> float | None:
        """One turn of the loop: renew the lease (when it is time), then step if we hold it.

        Returns when to wake next (None: nothing due). A failure (database locked past the busy
        timeout, disk full) is logged and retried at the next turn; it marks the evaluator busy.
        """
        try:
            if renew:
                self._acquire()
            if self.is_holder:
                wake = self.step(self.clock.now())
                self.connection.ok()
                self._failing.ok()
                return self._batch_end(wake) if wake is not None else None
            self.connection.ok()
            self._failing.ok()
        except Exception as exc:
            # A lost server is said once, not per turn; another lasting failure once, then counted.
            if not self.connection.lost(exc, "scheduler") and self._failing.failed(str(exc)):
                log.warning("scheduler step failed: %s; retrying", exc)
            self._rev = None
            if self.busy_since is None:
                self.busy_since = self._last_ok if self._last_ok is not None else self.clock.now()
            self.busy_why = str(exc)
        return None

    def _batch_end(self, first: float) -> float:
        """When to wake for the schedules due from `first` on: the last due time within `batch`.

        So the ones due close together share one transaction. A walk of the heap's top: its
        entries due by `first + batch` form a subtree at the root; 64 of them are plenty.
        """
        limit = first + self.batch
        heap, end, seen, todo = self._heap, first, 0, [0]
        while todo and seen < 64:
            i = todo.pop()
            if i < len(heap) and heap[i][0] <= limit:
                end = max(end, heap[i][0])
                seen += 1
                todo += (2 * i + 1, 2 * i + 2)
        return end

    def _acquire(self) -> None:
        now = self.clock.now()
        with write_tx(self.db.connection()) as conn:
            row = conn.execute("SELECT holder, expires_at FROM lease WHERE name=?", (LEASE_NAME,)).fetchone()
            mine = row is not None and row[0] == self.holder
            # One statement decides, on the row as the last commit left it: taken when there is
            # none, when it is ours, or when it has expired. (On PostgreSQL this transaction does
            # not lock out the others as BEGIN IMMEDIATE does: two standbys that both read an
            # expired row cannot both take it, and a holder's renewal is never overwritten.)
            held = conn.execute(
                "INSERT INTO lease(name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET holder=excluded.holder, expires_at=excluded.expires_at, "
                "acquired_at=CASE WHEN lease.holder=excluded.holder THEN lease.acquired_at ELSE excluded.acquired_at END "
                "WHERE lease.holder=excluded.holder OR lease.expires_at <= ? RETURNING holder",
                (LEASE_NAME, self.holder, now, now + self.lease, now),
            ).fetchone() is not None
            if held and not mine:
                before = f" from {row[0]} (lease expired)" if row is not None else ""
                log.info("scheduler lease taken%s: this process evaluates schedules", before)
                self._rev = None  # take up from what the database says
            elif not held and mine:
                row = conn.execute("SELECT holder, expires_at FROM lease WHERE name=?", (LEASE_NAME,)).fetchone()
        if self.is_holder and not held:
            log.warning("scheduler lease lost to %s", row[0] if row else "?")
        self.is_holder = held

    # -- loading ------------------------------------------------------------------------------------
    def _reload(self, conn: Any) -> bool:
        """Load the schedules if an admin changed any since the last load; True if it did."""
        rev = conn.execute("SELECT value FROM meta WHERE key='schedule_rev'").fetchone()[0]
        if rev == self._rev:
            return False
        self._load(conn)
        self._rev = rev
        return True

    def _load(self, conn: Any) -> None:
        rows = conn.execute(
            "SELECT id, task_id, kind, tz, start, expiry, every, cron, at, max_runs, catch_up, catch_up_window, "
            "overlap, source, source_key, start_offset, expiry_offset, row_offset, paused, paused_until, "
            "fired_count, armed_at, evaluated_until FROM schedule"
        ).fetchall()
        fired_rows: dict[int, set[str]] = {}
        for sid, key in conn.execute("SELECT schedule_id, row_key FROM schedule_row").fetchall():
            fired_rows.setdefault(sid, set()).add(key)
        races = {str(r[0]): r[1] for r in conn.execute("SELECT id, first_start FROM race").fetchall()}
        states: dict[int, _State] = {}
        moved: list[int] = []
        for (sid, task_id, kind, tz, start, expiry, every, cron, at, max_runs, catch_up, window, overlap,
             source, source_key, start_off, expiry_off, row_off, paused, paused_until, fired, armed,
             evaluated) in rows:
            spec: sm.ScheduleSpec | None = None
            if kind == "window":
                anchor = self._anchor(conn, source, source_key, races)
                if anchor is not None:
                    bounds = anchor + (start_off or 0.0), anchor + (expiry_off or 0.0)
                    if bounds != (start, expiry):
                        moved.append(sid)  # its record's date changed: write the new bounds soon
                    start, expiry = bounds
                else:
                    start, expiry = 0.0, -1.0  # record gone or date not set: nothing fires
            if kind != "per_row" and expiry >= start:
                spec = sm.ScheduleSpec(kind=repeat_kind(kind, every, cron), start=start, expiry=expiry, tz=tz,
                                       every=every, cron=cron, at=at, max_runs=None)
            states[sid] = _State(
                id=sid, task_id=task_id, kind=kind, spec=spec, catch_up=catch_up, window=window, overlap=overlap,
                paused=bool(paused), paused_until=paused_until, fired=fired, max_runs=max_runs, armed_at=armed,
                evaluated_until=evaluated, start=start, expiry=expiry, source=source, row_offset=row_off or 0.0,
                fired_rows=fired_rows.get(sid, set()),
            )
        self._states = states
        self._moved = moved
        self._per_row = [st for st in states.values() if st.kind == "per_row"]
        self._cron_next = {}
        self._heap = []
        for st in states.values():
            st.due = self._next_due(st, st.evaluated_until)
            if st.due is not None:
                self._heap.append((st.due, st.id))
        heapq.heapify(self._heap)

    def _anchor(self, conn: Any, source: str | None, key: str | None, races: dict[str, float | None]) -> float | None:
        if source == "race.first_start":
            return races.get(str(key))
        src = SOURCES.get(source or "")
        if src is None:
            return None
        row = next((r for r in src.fetch(self.db) if r.key == str(key)), None)
        return row.at if row else None

    # -- one step -----------------------------------------------------------------------------------
    def step(self, now: float) -> float | None:
        """Handle every schedule due at `now`; returns the next due instant (or None)."""
        conn = self.db.connection()
        if self._rev is None:
            self._reload(conn)
        self._rows_cache = {}
        if len(self._cron_next) > 10_000:
            self._cron_next = {}
        due = self._pop_due(now)
        if not due and self._reload(conn):
            # Nothing to write: the moment to look for an admin's changes. (A working step needs
            # no look of its own: its fence sees them, and the step after it reloads.)
            due = self._pop_due(now)
        if self._moved:
            seen = {st.id for st in due}
            due += [self._states[sid] for sid in self._moved if sid in self._states and sid not in seen]
            self._moved = []
        for i in range(0, len(due), CHUNK):
            if not self._write(conn, now, due[i:i + CHUNK]):
                return now  # fenced: reload and look again at once
        self._last_ok, self.busy_since = now, None
        return self._heap[0][0] if self._heap else None

    def _pop_due(self, now: float) -> list[_State]:
        """The schedules due at `now`, soonest first (per-row ones are looked at every step)."""
        seen: set[int] = set()
        due: list[_State] = []
        heap, states = self._heap, self._states
        while heap and heap[0][0] <= now:
            _, sid = heapq.heappop(heap)
            st = states.get(sid)
            if st is not None and st.due is not None and st.due <= now and sid not in seen:
                seen.add(sid)
                due.append(st)
        due.extend(st for st in self._per_row if st.id not in seen and self._row_due(st, now))
        return due

    def _write(self, conn: Any, now: float, batch: list[_State]) -> bool:
        """One transaction for `batch`: fence, decide, write. False when fenced (nothing written)."""
        self.steps += 1
        try:
            with write_tx(conn):
                backend = backend_of(conn)
                if backend.for_update:
                    # PostgreSQL: this transaction does not lock out other writers as BEGIN
                    # IMMEDIATE does on SQLite, so it locks what its fence relies on. The lease
                    # row: a standby's takeover waits for this commit, and the holder read below
                    # stays true until then. The batch's schedule rows: an admin's change to one
                    # waits too (and is applied after this step, as on SQLite); one committed
                    # before the lock shows in schedule_rev, read below, after it.
                    conn.execute("SELECT 1 FROM lease WHERE name=?" + backend.for_update, (LEASE_NAME,))
                    conn.execute(f"SELECT 1 FROM schedule WHERE id IN ({','.join('?' * len(batch))}) ORDER BY id"
                                 + backend.for_update, [st.id for st in batch])
                rev, holder, max_run, max_occ = conn.execute(
                    "SELECT (SELECT value FROM meta WHERE key='schedule_rev'), "
                    "(SELECT holder FROM lease WHERE name=? AND expires_at > ?), "
                    "(SELECT max(id) FROM run), (SELECT max(id) FROM occurrence)",
                    (LEASE_NAME, now),
                ).fetchone()
                if holder != self.holder:
                    self.is_holder = False
                    log.warning("scheduler lease lost before a step; this process stops evaluating")
                    raise _Fenced()
                if rev != self._rev:
                    raise _Fenced()
                step = _Step(conn, now, max_run or 0, max_occ or 0, self._active_runs(conn, batch))
                for st in batch:
                    self._process(step, st)
                if not backend.own_ids:
                    self._renumber(step, batch)
                self._flush(step)
                # An anchored window's bounds come from its record: kept in the row for the lists.
                conn.executemany(
                    "UPDATE schedule SET evaluated_until=?, fired_count=?, next_fire=?, paused=?, paused_until=?, "
                    "start=coalesce(?, start), expiry=coalesce(?, expiry) WHERE id=?",
                    [(s.evaluated_until, s.fired, s.due, int(s.paused), s.paused_until,
                      *((s.start, s.expiry) if s.kind == "window" and s.spec is not None else (None, None)), s.id)
                     for s in batch],
                )
        except _Fenced:
            self._rev = None
            return False
        except BaseException:
            self._rev = None  # in-memory states may be ahead of the rolled-back database
            raise
        for st in batch:
            if st.due is not None:
                heapq.heappush(self._heap, (st.due, st.id))
        if len(self.lateness) < 1_000_000:
            self.lateness.extend(step.lateness)
        if step.runs and self.notify is not None:
            self.notify()
        return True

    @staticmethod
    def _renumber(step: _Step, batch: list[_State]) -> None:
        """Give the step's new runs and occurrences ids from the tables' sequences (PostgreSQL).

        The step numbered them on from max(id), which is safe only while it holds the database's
        one write lock (SQLite); elsewhere an enqueue may take those ids meanwhile. Ids stay in
        the step's order, so the queue takes its runs in that order.
        """
        backend = backend_of(step.conn)
        runs: dict[int, int] = {}
        occs: dict[int, int] = {}
        if step.runs:
            first = step.run_id - len(step.runs) + 1
            runs = dict(zip(range(first, step.run_id + 1), backend.next_ids(step.conn, "run", len(step.runs)),
                            strict=True))
            step.runs = [(runs[rid], tid, ctx) for rid, tid, ctx in step.runs]
        if step.occs:
            occs = dict(zip(range(step.first_occ + 1, step.occ_id + 1),
                            backend.next_ids(step.conn, "occurrence", len(step.occs)), strict=True))
            for o in step.occs:
                o[0] = occs[o[0]]
                if o[7] is not None:
                    o[7] = runs[o[7]]
        for st in batch:  # the newest occurrence each keeps for merging, when this step wrote it
            last = st.last_occ
            if isinstance(last, tuple) and last[0] in occs and last[0] > step.first_occ:
                st.last_occ = (occs[last[0]], *last[1:])

    def _flush(self, step: _Step) -> None:
        """Insert the step's runs and occurrences (runs first: occurrences reference them)."""
        # The enqueue time: read once, right before the rows are written. A fire's lateness
        # (actual - nominal) therefore includes the deciding of everything in its transaction.
        actual = self.clock.now()
        if step.runs:
            # The lane comes from the task in the same statement: an admin may change a task's
            # lane at any time (that does not bump schedule_rev), and this costs no extra query.
            step.conn.executemany(
                "INSERT INTO run(id, task_id, status, lane, trigger, enqueued_at, context) "
                "SELECT ?, id, 'queued', CASE WHEN direct <> 0 THEN 'direct' ELSE 'queue' END, 'schedule', ?, ? "
                "FROM task WHERE id=?",
                [(rid, actual, ctx, tid) for rid, tid, ctx in step.runs],
            )
            # Workers on other machines wake at the commit (PostgreSQL; nothing on SQLite). The
            # lane is the task's, read in the INSERT: listeners wake both lanes for "schedule".
            backend_of(step.conn).notify(step.conn, f"enqueued schedule {len(step.runs)}")
        if step.occs:
            step.conn.executemany(
                "INSERT INTO occurrence(id, schedule_id, nominal, last_nominal, count, actual, state, run_id, "
                "reason, row_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(o[0], o[1], o[2], o[3], o[4], actual if o[5] else None, o[6], o[7], o[8], o[9]) for o in step.occs],
            )
            step.lateness = [actual - o[2] for o in step.occs if o[5]]

    def _active_runs(self, conn: Any, batch: list[_State]) -> dict[int, list[int | None]]:
        """[first running, first queued] run id of the tasks whose overlap policy needs them.

        Overlap "allow" never looks, so a task whose runs pile up costs nothing here; the others
        read two ids per task, not every queued run.
        """
        task_ids = {st.task_id for st in batch if st.overlap != "allow" and st.kind != "per_row"}
        active: dict[int, list[int | None]] = {t: [None, None] for t in task_ids}
        if not task_ids:
            return active
        marks = ",".join("?" * len(task_ids))
        for tid, status, rid in conn.execute(
            f"SELECT task_id, status, min(id) FROM run WHERE status IN ('queued', 'running') "
            f"AND task_id IN ({marks}) GROUP BY task_id, status",
            tuple(task_ids),
        ).fetchall():
            active[tid][0 if status == "running" else 1] = rid
        return active

    def _next_fire(self, st: _State, after: float) -> sm.Fire | None:
        """sm.next_fire, shared between the cron schedules of one expression (see _cron_next)."""
        spec = st.spec
        assert spec is not None
        if spec.kind != "cron" or after < spec.start:
            return sm.next_fire(spec, after)
        # From `after` on, the start bound no longer matters: the answer is the expression's own
        # next time, which each schedule then checks against its expiry.
        key = (spec.cron or "", spec.tz, after)
        try:
            nxt = self._cron_next[key]
        except KeyError:
            nxt = self._cron_next[key] = sm.next_fire(
                sm.ScheduleSpec(kind="cron", start=after, expiry=math.inf, tz=spec.tz, cron=spec.cron), after)
        return nxt if nxt is not None and nxt.nominal <= spec.expiry else None

    def _next_due(self, st: _State, after: float) -> float | None:
        """Set `st.nxt` to the first fire after `after` and return when the schedule is next due."""
        st.nxt = None
        if st.max_runs is not None and st.fired >= st.max_runs:
            return None
        if st.kind == "per_row":
            return None  # rows are looked at every tick
        if st.spec is None:
            return None
        st.nxt = self._next_fire(st, after)
        return self._due(st)

    def _due(self, st: _State) -> float | None:
        if st.max_runs is not None and st.fired >= st.max_runs:
            return None
        due = st.nxt.nominal if st.nxt else None
        if st.paused and st.paused_until is not None and (due is None or st.paused_until < due):
            due = st.paused_until
        return due

    # -- deciding -----------------------------------------------------------------------------------
    def _process(self, step: _Step, st: _State) -> None:
        now = step.now
        # Times before the pause's end were passed while paused, even when this step comes later.
        pause_end = (math.inf if st.paused_until is None else st.paused_until) if st.paused else None
        if st.paused and st.paused_until is not None and st.paused_until <= now:
            # The resume goes into the schedule's history (who NULL: the scheduler), at the pause's end.
            step.conn.execute("INSERT INTO schedule_event(schedule_id, kind, at, paused_until) VALUES (?, 'resume', ?, ?)",
                              (st.id, st.paused_until, st.paused_until))
            st.paused, st.paused_until = False, None
        if st.kind == "per_row":
            self._process_rows(step, st)
            st.evaluated_until = now
            st.due = self._next_due(st, now)
            return
        if self._process_on_time(step, st):
            st.due = self._due(st)  # st.nxt is already the first fire after now
        else:
            if st.spec is not None:
                self._process_all(step, st, pause_end)
            st.due = self._next_due(st, now)
        st.evaluated_until = now
        if st.nxt is None and st.spec is not None and (st.max_runs is None or st.fired < st.max_runs):
            self._note_ended(step, st)

    def _note_ended(self, step: _Step, st: _State) -> None:
        """The schedule's last time passed without a run (coalesced, skipped, missed): say it ended.

        Only a record this step wrote is changed; a fired last time needs no word (nor a merge).
        """
        last = st.last_occ
        if last is _UNKNOWN or last is None or last[0] <= step.first_occ or last[1] == FIRED:
            return
        pending = step.occs[last[0] - step.first_occ - 1]
        if pending[5] or rules.ENDED_NOTE in (pending[8] or ""):
            return
        pending[8] = f"{pending[8]}; {rules.ENDED_NOTE}" if pending[8] else rules.ENDED_NOTE
        st.last_occ = (last[0], last[1], pending[8])

    def _process_on_time(self, step: _Step, st: _State) -> bool:
        """The usual case: not paused, and one time came due, at most ON_TIME ago: it fires.

        Walks on from the cached next fire (one next_fire per nominal time). False (nothing
        done) when more than one time came due or it is older: the catch-up rule decides then.
        """
        nxt = st.nxt
        if st.paused or nxt is None or not 0.0 <= step.now - nxt.nominal <= ON_TIME:
            return False
        after = self._next_fire(st, nxt.nominal)
        if after is not None and after.nominal <= step.now:
            return False
        self._fire(step, st, nxt, None)
        st.nxt = after
        return True

    def _process_all(self, step: _Step, st: _State, pause_end: float | None) -> None:
        """Every other case: pauses, catch-up after downtime, long gaps (ENUM_LIMIT)."""
        now = step.now
        assert st.spec is not None
        fires = sm.fires_between(st.spec, st.evaluated_until, now, limit=ENUM_LIMIT)
        earlier = 0
        if len(fires) == ENUM_LIMIT:
            # A long downtime of a frequent schedule: the oldest times beyond the limit are one
            # record, and only the newest ENUM_LIMIT go through the catch-up policy.
            fires, earlier = self._skip_oldest(step, st, fires, now)
        for d in rules.decide_passed(fires, now=now, catch_up=st.catch_up, window=st.window, pause_end=pause_end,
                                     earlier=earlier, busy_since=self.busy_since, busy_why=self.busy_why):
            if d.state != rules.FIRE:
                self._record_range(step, st, list(d.fires), d.state, d.reason)
            elif not self._fire(step, st, d.fires[0], d.reason, context=d.context):
                break  # max runs reached

    def _skip_oldest(self, step: _Step, st: _State, first: list[sm.Fire], now: float) -> tuple[list[sm.Fire], int]:
        """Record the oldest times beyond ENUM_LIMIT as missed; the newest ones, and how many were recorded."""
        assert st.spec is not None
        too_old = f"{rules.cause_text(first[0].nominal, self.busy_since, self.busy_why)} (too long ago for catch-up)"
        if st.spec.kind == "interval" and st.spec.every:
            every = st.spec.every
            total = int((min(now, st.spec.expiry) - first[0].nominal) // every) + 1
            keep_from = first[0].nominal + (total - ENUM_LIMIT) * every
            older = total - ENUM_LIMIT
            if older > 0:
                self._record(step, st, first[0].nominal, MISSED, too_old, None, last=keep_from - every, count=older)
            return sm.fires_between(st.spec, keep_from - every / 2, now, limit=ENUM_LIMIT), max(older, 0)
        # cron: walk forward in pages, recording each page but the last as missed
        page, older = first, 0
        while True:
            nxt = sm.fires_between(st.spec, page[-1].nominal, now, limit=ENUM_LIMIT)
            if not nxt:
                return page, older
            self._record_range(step, st, page, MISSED, too_old)
            older += len(page)
            page = nxt
            if len(page) < ENUM_LIMIT:
                return page, older

    def _fire(self, step: _Step, st: _State, f: sm.Fire, reason: str | None, row: DateRow | None = None,
              context: str | None = None) -> bool:
        """Enqueue a run for one nominal time, unless the overlap policy says no. False once max runs is reached.

        `context`: what a record the overlap policy makes says before its own reason (a catch-up).
        """
        if st.max_runs is not None and st.fired >= st.max_runs:
            return False
        active = step.active.get(st.task_id)
        if row is None and active is not None:  # loaded for overlap "skip" and "buffer_one" only
            held = rules.overlap_decision(st.overlap, active[0], active[1])
            if held is not None:
                state, why = held
                self._record(step, st, f.nominal, state, f"{context}: {why}" if context else why, None)
                return True
        step.run_id += 1
        run_id = step.run_id
        if row is None:
            # What json.dumps writes for these two numbers, without its per-call overhead.
            run_context = f'{{"schedule": {st.id}, "nominal": {f.nominal!r}}}'
        else:
            run_context = json.dumps({"schedule": st.id, "nominal": f.nominal, **row.context, "row_key": row.key},
                                     default=str)
        step.runs.append((run_id, st.task_id, run_context))
        if active is not None and active[1] is None:
            active[1] = run_id
        st.fired += 1
        state, reason = rules.fired_state(f.dst, reason)
        self._record(step, st, f.nominal, state, reason, run_id, row_key=row.key if row else None)
        return True

    def _process_rows(self, step: _Step, st: _State) -> None:
        now = step.now
        for row in self._rows(st):
            if row.at is None or row.key in st.fired_rows:
                continue
            t = row.at + st.row_offset
            if t > now or t <= st.armed_at or not st.start <= t <= st.expiry:
                continue
            state, why = rules.row_decision(t, now=now, paused=st.paused, catch_up=st.catch_up, window=st.window)
            if state != rules.FIRE:
                self._record(step, st, t, state, why, None, row_key=row.key)
            elif not self._fire(step, st, sm.Fire(t), f"row {row.key} ({row.label})", row=row):
                return
            st.fired_rows.add(row.key)
            step.conn.execute("INSERT INTO schedule_row(schedule_id, row_key, fired_at) VALUES (?, ?, ?) "
                              "ON CONFLICT DO NOTHING", (st.id, row.key, now))

    def _rows(self, st: _State) -> list[DateRow]:
        key = st.source or ""
        if key not in self._rows_cache:
            src = SOURCES.get(key)
            self._rows_cache[key] = src.fetch(self.db) if src else []
        return self._rows_cache[key]

    def _row_due(self, st: _State, now: float) -> bool:
        if st.max_runs is not None and st.fired >= st.max_runs:
            return False
        for row in self._rows(st):
            if row.at is None or row.key in st.fired_rows:
                continue
            t = row.at + st.row_offset
            if st.armed_at < t <= now and st.start <= t <= st.expiry:
                return True
        return False

    # -- occurrences --------------------------------------------------------------------------------
    def _record_range(self, step: _Step, st: _State, fires: list[sm.Fire], state: str, reason: str | None) -> None:
        self._record(step, st, fires[0].nominal, state, reason, None,
                     last=fires[-1].nominal if len(fires) > 1 else None, count=len(fires))

    def _record(
        self, step: _Step, st: _State, nominal: float, state: str, reason: str | None, run_id: int | None, *,
        last: float | None = None, count: int = 1, row_key: str | None = None,
    ) -> None:
        """Add an occurrence (written by _flush); a fired one gets the enqueue time as `actual`."""
        step.occurrences += count
        if run_id is None and row_key is None and state in MERGEABLE:
            prev = st.last_occ
            if prev is _UNKNOWN:
                prev = st.last_occ = step.conn.execute(
                    "SELECT id, state, reason FROM occurrence WHERE schedule_id=? ORDER BY id DESC LIMIT 1", (st.id,)
                ).fetchone()
            if prev and prev[1] == state and prev[2] == reason:
                # A run of the same decision is one record: "paused, 14:00:05 … 14:20:00, 240 times".
                if prev[0] > step.first_occ:  # written by this step: still in memory
                    pending = step.occs[prev[0] - step.first_occ - 1]
                    pending[3], pending[4] = last or nominal, pending[4] + count
                else:
                    step.conn.execute(
                        "UPDATE occurrence SET last_nominal=?, count=count+? WHERE id=?", (last or nominal, count, prev[0])
                    )
                return
        step.occ_id += 1
        step.occs.append([step.occ_id, st.id, nominal, last, count, run_id is not None, state, run_id, reason, row_key])
        st.last_occ = (step.occ_id, state, reason)


class _Fenced(Exception):
    """The lease was lost or a schedule changed since loading: this step writes nothing."""


def scheduler_holder(db: peewee.Database, now: float) -> str | None:
    row = db.execute_sql(
        "SELECT holder FROM lease WHERE name=? AND expires_at > ?", (LEASE_NAME, now)
    ).fetchone()
    return row[0] if row else None

