"""The schedule evaluator: turns nominal fire times into runs, and records every decision.

Only the process holding the `scheduler` lease evaluates (renewed every 2 s, valid 6 s); a
standby takes over when it lapses. Every step is one write transaction that first checks the
lease is still ours and that no admin changed a schedule meanwhile (fencing), then enqueues runs,
writes occurrences, and advances each schedule's `evaluated_until`. So a new holder takes up
exactly where the last commit left off: no duplicate and no lost fire.

The loop sleeps until the next due time and ticks every second to see changes made by other
processes (a trigger bumps `meta.schedule_rev` on every admin change).
"""

from __future__ import annotations

import heapq
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import peewee

from t4o_tui.engine import schedule_math as sm
from t4o_tui.engine.clock import Clock
from t4o_tui.engine.date_sources import SOURCES, DateRow
from t4o_tui.engine.queue import write_tx
from t4o_tui.engine.schedules import MAX_CATCH_UP_ALL, repeat_kind
from t4o_tui.store.models import (
    COALESCED,
    DST_SHIFTED,
    FIRED,
    MISSED,
    PAUSED_STATE,
    SKIPPED_OVERLAP,
)
from t4o_tui.timefmt import clock_time

log = logging.getLogger("t4o_tui.scheduler")

LEASE_NAME = "scheduler"
# How late a nominal time may be handled and still count as on time (not "missed"): longer than a
# lease takeover (6 s + a tick), so a standby that takes over fires what came due meanwhile.
ON_TIME = 15.0
# At most this many nominal times are looked at one by one per schedule and step; the rest of a
# long downtime is recorded as one range.
ENUM_LIMIT = 10_000
MERGEABLE = (MISSED, PAUSED_STATE, COALESCED, SKIPPED_OVERLAP)


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
    last_occ: tuple[int, str, str | None] | None = None
    due: float | None = None


@dataclass
class _Step:
    """What one step writes; applied in the step's transaction."""

    conn: Any
    now: float
    active: dict[int, dict[str, list[int]]]
    direct: dict[int, bool]
    enqueued: int = 0
    occurrences: int = 0
    lateness: list[float] = field(default_factory=list)


class Evaluator:
    """Runs in its own thread inside a runtime; `is_holder` tells whether it evaluates right now."""

    def __init__(
        self, db: peewee.Database, *, clock: Clock, holder: str, notify: Any = None,
        lease: float = 6.0, renew: float = 2.0, tick: float = 1.0,
    ) -> None:
        self.db = db
        self.clock = clock
        self.holder = holder
        self.notify = notify
        self.lease, self.renew, self.tick = lease, renew, tick
        self.is_holder = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rev: str | None = None
        self._states: dict[int, _State] = {}
        self._heap: list[tuple[float, int]] = []
        self._rows_cache: dict[str, list[DateRow]] = {}
        self.steps = 0
        self.lateness: list[float] = []  # seconds, kept for benchmarks (bounded)

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
            except peewee.DatabaseError as exc:
                log.warning("could not release the scheduler lease: %s", exc)
            self.is_holder = False

    def _loop(self) -> None:
        next_renew = 0.0
        while not self._stop.is_set():
            wake: float | None = None
            try:
                if time.monotonic() >= next_renew:
                    next_renew = time.monotonic() + self.renew * self.clock.scale
                    self._acquire()
                if self.is_holder:
                    wake = self.step(self.clock.now())
            except Exception as exc:  # locked past the busy timeout, disk full: try again next tick
                log.warning("scheduler step failed: %s; retrying", exc)
                self._rev = None
            now = self.clock.now()
            delay = self.tick if wake is None else min(max(wake - now, 0.0), self.tick)
            if not self.is_holder:
                delay = min(self.tick, self.renew)
            renew_in = (next_renew - time.monotonic()) / self.clock.scale
            self._stop.wait(max(min(delay, renew_in), 0.0) * self.clock.scale)

    def _acquire(self) -> None:
        now = self.clock.now()
        with write_tx(self.db.connection()) as conn:
            row = conn.execute("SELECT holder, expires_at FROM lease WHERE name=?", (LEASE_NAME,)).fetchone()
            mine = row is not None and row[0] == self.holder
            if row is None or mine or row[1] <= now:
                conn.execute(
                    "INSERT INTO lease(name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET holder=excluded.holder, expires_at=excluded.expires_at, "
                    "acquired_at=CASE WHEN lease.holder=excluded.holder THEN lease.acquired_at ELSE excluded.acquired_at END",
                    (LEASE_NAME, self.holder, now, now + self.lease),
                )
                if not mine:
                    before = f" from {row[0]} (lease expired)" if row is not None else ""
                    log.info("scheduler lease taken%s: this process evaluates schedules", before)
                    self._rev = None  # take up from what the database says
                held = True
            else:
                held = False
        if self.is_holder and not held:
            log.warning("scheduler lease lost to %s", row[0] if row else "?")
        self.is_holder = held

    # -- loading ------------------------------------------------------------------------------------
    def _load(self, conn: Any) -> None:
        rows = conn.execute(
            "SELECT id, task_id, kind, tz, start, expiry, every, cron, at, max_runs, catch_up, catch_up_window, "
            "overlap, source, source_key, start_offset, expiry_offset, row_offset, paused, paused_until, "
            "fired_count, armed_at, evaluated_until FROM schedule"
        ).fetchall()
        last = {
            r[0]: (r[1], r[2], r[3])
            for r in conn.execute(
                "SELECT schedule_id, id, state, reason FROM occurrence WHERE id IN "
                "(SELECT max(id) FROM occurrence GROUP BY schedule_id)"
            ).fetchall()
        }
        fired_rows: dict[int, set[str]] = {}
        for sid, key in conn.execute("SELECT schedule_id, row_key FROM schedule_row").fetchall():
            fired_rows.setdefault(sid, set()).add(key)
        races = {str(r[0]): r[1] for r in conn.execute("SELECT id, first_start FROM race").fetchall()}
        states: dict[int, _State] = {}
        for (sid, task_id, kind, tz, start, expiry, every, cron, at, max_runs, catch_up, window, overlap,
             source, source_key, start_off, expiry_off, row_off, paused, paused_until, fired, armed,
             evaluated) in rows:
            spec: sm.ScheduleSpec | None = None
            if kind == "window":
                anchor = self._anchor(conn, source, source_key, races)
                if anchor is not None:
                    start, expiry = anchor + (start_off or 0.0), anchor + (expiry_off or 0.0)
                else:
                    start, expiry = 0.0, -1.0  # record gone or date not set: nothing fires
            if kind != "per_row" and expiry >= start:
                spec = sm.ScheduleSpec(kind=repeat_kind(kind, every, cron), start=start, expiry=expiry, tz=tz,
                                       every=every, cron=cron, at=at, max_runs=None)
            states[sid] = _State(
                id=sid, task_id=task_id, kind=kind, spec=spec, catch_up=catch_up, window=window, overlap=overlap,
                paused=bool(paused), paused_until=paused_until, fired=fired, max_runs=max_runs, armed_at=armed,
                evaluated_until=evaluated, start=start, expiry=expiry, source=source, row_offset=row_off or 0.0,
                fired_rows=fired_rows.get(sid, set()), last_occ=last.get(sid),
            )
        self._states = states
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
        rev = conn.execute("SELECT value FROM meta WHERE key='schedule_rev'").fetchone()[0]
        if rev != self._rev:
            self._load(conn)
            self._rev = rev
        self._rows_cache = {}
        due_ids: list[int] = []
        while self._heap and self._heap[0][0] <= now:
            _, sid = heapq.heappop(self._heap)
            st = self._states.get(sid)
            if st is not None and st.due is not None and st.due <= now and sid not in due_ids:
                due_ids.append(sid)
        per_row = [st for st in self._states.values() if st.kind == "per_row" and st.id not in due_ids]
        for st in per_row:
            if self._row_due(st, now):
                due_ids.append(st.id)
        if not due_ids:
            return self._heap[0][0] if self._heap else None
        self.steps += 1
        try:
            with write_tx(conn):
                fence = conn.execute(
                    "SELECT (SELECT value FROM meta WHERE key='schedule_rev'), "
                    "(SELECT holder FROM lease WHERE name=? AND expires_at > ?)",
                    (LEASE_NAME, now),
                ).fetchone()
                if fence[1] != self.holder:
                    self.is_holder = False
                    log.warning("scheduler lease lost before a step; this process stops evaluating")
                    raise _Fenced()
                if fence[0] != self._rev:
                    raise _Fenced()
                task_ids = {self._states[i].task_id for i in due_ids}
                step = _Step(conn, now, self._active_runs(conn, task_ids), self._directs(conn, task_ids))
                for sid in due_ids:
                    self._process(step, self._states[sid])
                conn.executemany(
                    "UPDATE schedule SET evaluated_until=?, fired_count=?, next_fire=?, paused=?, paused_until=? WHERE id=?",
                    [(s.evaluated_until, s.fired, s.due, int(s.paused), s.paused_until, s.id)
                     for s in (self._states[i] for i in due_ids)],
                )
        except _Fenced:
            self._rev = None
            return now
        except BaseException:
            self._rev = None  # in-memory states may be ahead of the rolled-back database
            raise
        for sid in due_ids:
            st = self._states[sid]
            if st.due is not None:
                heapq.heappush(self._heap, (st.due, sid))
        if len(self.lateness) < 1_000_000:
            self.lateness.extend(step.lateness)
        if step.enqueued and self.notify is not None:
            self.notify()
        return self._heap[0][0] if self._heap else None

    def _active_runs(self, conn: Any, task_ids: set[int]) -> dict[int, dict[str, list[int]]]:
        marks = ",".join("?" * len(task_ids))
        active: dict[int, dict[str, list[int]]] = {t: {"queued": [], "running": []} for t in task_ids}
        for rid, tid, status in conn.execute(
            f"SELECT id, task_id, status FROM run WHERE status IN ('queued', 'running') AND task_id IN ({marks})",
            tuple(task_ids),
        ).fetchall():
            active[tid][status].append(rid)
        return active

    def _directs(self, conn: Any, task_ids: set[int]) -> dict[int, bool]:
        marks = ",".join("?" * len(task_ids))
        return {r[0]: bool(r[1]) for r in conn.execute(
            f"SELECT id, direct FROM task WHERE id IN ({marks})", tuple(task_ids)).fetchall()}

    def _next_due(self, st: _State, after: float) -> float | None:
        if st.max_runs is not None and st.fired >= st.max_runs:
            return None
        if st.kind == "per_row":
            return None  # rows are looked at every tick
        if st.spec is None:
            return None
        nxt = sm.next_fire(st.spec, after)
        due = nxt.nominal if nxt else None
        if st.paused and st.paused_until is not None and (due is None or st.paused_until < due):
            due = st.paused_until
        return due

    # -- deciding -----------------------------------------------------------------------------------
    def _process(self, step: _Step, st: _State) -> None:
        now = step.now
        if st.paused and st.paused_until is not None and st.paused_until <= now:
            st.paused, st.paused_until = False, None
        if st.kind == "per_row":
            self._process_rows(step, st)
        elif st.spec is not None:
            fires = sm.fires_between(st.spec, st.evaluated_until, now, limit=ENUM_LIMIT)
            if len(fires) == ENUM_LIMIT:
                # A long downtime of a frequent schedule: the oldest times beyond the limit are one
                # record, and only the newest ENUM_LIMIT go through the catch-up policy.
                fires = self._skip_oldest(step, st, fires, now)
            missed: list[sm.Fire] = []
            on_time: list[sm.Fire] = []
            for f in fires:
                if st.paused:
                    self._record(step, st, f.nominal, PAUSED_STATE, "schedule paused", None)
                elif now - f.nominal > ON_TIME:
                    missed.append(f)
                else:
                    on_time.append(f)
            if missed:
                self._catch_up(step, st, missed)
            for f in on_time:
                if not self._fire(step, st, f, None):
                    break
        st.evaluated_until = now
        st.due = self._next_due(st, now)

    def _skip_oldest(self, step: _Step, st: _State, first: list[sm.Fire], now: float) -> list[sm.Fire]:
        assert st.spec is not None
        if st.spec.kind == "interval" and st.spec.every:
            every = st.spec.every
            total = int((min(now, st.spec.expiry) - first[0].nominal) // every) + 1
            keep_from = first[0].nominal + (total - ENUM_LIMIT) * every
            older = total - ENUM_LIMIT
            if older > 0:
                self._record(step, st, first[0].nominal, MISSED, "the scheduler was not running at that time "
                             "(too long ago for catch-up)", None, last=keep_from - every, count=older)
            return sm.fires_between(st.spec, keep_from - every / 2, now, limit=ENUM_LIMIT)
        # cron: walk forward in pages, recording each page but the last as missed
        page = first
        while True:
            nxt = sm.fires_between(st.spec, page[-1].nominal, now, limit=ENUM_LIMIT)
            if not nxt:
                return page
            self._record_range(step, st, page, MISSED, "the scheduler was not running at that time "
                               "(too long ago for catch-up)")
            page = nxt
            if len(page) < ENUM_LIMIT:
                return page

    def _catch_up(self, step: _Step, st: _State, missed: list[sm.Fire]) -> None:
        down = "the scheduler was not running at that time"
        if st.catch_up == "skip":
            self._record_range(step, st, missed, MISSED, f"{down} (catch-up: skip)")
        elif st.catch_up == "latest":
            newest = missed[-1]
            if step.now - newest.nominal <= st.window:
                if len(missed) > 1:
                    self._record_range(step, st, missed[:-1], COALESCED,
                                       f"{down}; covered by the catch-up run for {clock_time(newest.nominal)}")
                self._fire(step, st, newest, f"catch-up (latest of {len(missed)} missed)")
            else:
                self._record_range(step, st, missed, MISSED,
                                   f"{down}; older than the catch-up window ({sm.format_duration(st.window)})")
        else:  # all
            for i, f in enumerate(missed[:MAX_CATCH_UP_ALL]):
                if not self._fire(step, st, f, f"catch-up ({i + 1} of {len(missed)} missed)"):
                    return
            if len(missed) > MAX_CATCH_UP_ALL:
                self._record_range(step, st, missed[MAX_CATCH_UP_ALL:], MISSED,
                                   f"{down}; more than {MAX_CATCH_UP_ALL} missed times (catch-up limit)")

    def _fire(self, step: _Step, st: _State, f: sm.Fire, reason: str | None, row: DateRow | None = None) -> bool:
        """Enqueue a run for one nominal time, unless the overlap policy says no. False once max runs is reached."""
        if st.max_runs is not None and st.fired >= st.max_runs:
            return False
        active = step.active[st.task_id]
        if row is None and st.overlap == "skip" and (active["running"] or active["queued"]):
            rid = (active["running"] or active["queued"])[0]
            self._record(step, st, f.nominal, SKIPPED_OVERLAP,
                         f"run {rid} still {'running' if active['running'] else 'queued'} (overlap: skip)", None)
            return True
        if row is None and st.overlap == "buffer_one" and active["queued"]:
            self._record(step, st, f.nominal, COALESCED,
                         f"run {active['queued'][0]} is already waiting in the queue (overlap: buffer_one)", None)
            return True
        context: dict[str, Any] = {"schedule": st.id, "nominal": f.nominal}
        if row is not None:
            context.update(row.context, row_key=row.key)
        actual = self.clock.now()
        cur = step.conn.execute(
            "INSERT INTO run(task_id, status, lane, trigger, enqueued_at, context) VALUES (?, 'queued', ?, 'schedule', ?, ?)",
            (st.task_id, "direct" if step.direct.get(st.task_id) else "queue", actual, json.dumps(context, default=str)),
        )
        run_id = int(cur.lastrowid or 0)
        active["queued"].append(run_id)
        st.fired += 1
        step.enqueued += 1
        step.lateness.append(actual - f.nominal)
        if f.dst == "gap":
            state, why = DST_SHIFTED, "wall time did not exist (DST change); fired at the first instant after the gap"
            reason = f"{reason}; {why}" if reason else why
        else:
            state = FIRED
            if f.dst == "fold":
                why = "second pass of a repeated hour (DST change)"
                reason = f"{reason}; {why}" if reason else why
        self._record(step, st, f.nominal, state, reason, run_id, actual=actual, row_key=row.key if row else None)
        return True

    def _process_rows(self, step: _Step, st: _State) -> None:
        now = step.now
        for row in self._rows(st):
            if row.at is None or row.key in st.fired_rows:
                continue
            t = row.at + st.row_offset
            if t > now or t <= st.armed_at or not st.start <= t <= st.expiry:
                continue
            f = sm.Fire(t)
            if st.paused:
                self._record(step, st, t, PAUSED_STATE, "schedule paused", None, row_key=row.key)
            elif now - t > ON_TIME and (st.catch_up == "skip" or now - t > st.window):
                self._record(step, st, t, MISSED, "the scheduler was not running at that time "
                             f"(catch-up: {st.catch_up})", None, row_key=row.key)
            elif not self._fire(step, st, f, f"row {row.key} ({row.label})", row=row):
                return
            st.fired_rows.add(row.key)
            step.conn.execute("INSERT OR IGNORE INTO schedule_row(schedule_id, row_key, fired_at) VALUES (?, ?, ?)",
                              (st.id, row.key, now))

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
    def _record_range(self, step: _Step, st: _State, fires: list[sm.Fire], state: str, reason: str) -> None:
        self._record(step, st, fires[0].nominal, state, reason, None,
                     last=fires[-1].nominal if len(fires) > 1 else None, count=len(fires))

    def _record(
        self, step: _Step, st: _State, nominal: float, state: str, reason: str | None, run_id: int | None, *,
        actual: float | None = None, last: float | None = None, count: int = 1, row_key: str | None = None,
    ) -> None:
        step.occurrences += count
        prev = st.last_occ
        if run_id is None and row_key is None and state in MERGEABLE and prev and prev[1] == state and prev[2] == reason:
            # A run of the same decision is one record: "paused, 14:00:05 … 14:20:00, 240 times".
            step.conn.execute(
                "UPDATE occurrence SET last_nominal=?, count=count+? WHERE id=?", (last or nominal, count, prev[0])
            )
            return
        cur = step.conn.execute(
            "INSERT INTO occurrence(schedule_id, nominal, last_nominal, count, actual, state, run_id, reason, row_key) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (st.id, nominal, last, count, actual, state, run_id, reason, row_key),
        )
        st.last_occ = (int(cur.lastrowid or 0), state, reason)


class _Fenced(Exception):
    """The lease was lost or a schedule changed since loading: this step writes nothing."""


def scheduler_holder(db: peewee.Database, now: float) -> str | None:
    row = db.execute_sql(
        "SELECT holder FROM lease WHERE name=? AND expires_at > ?", (LEASE_NAME, now)
    ).fetchone()
    return row[0] if row else None

