"""Schedule decisions as pure functions: what happens to the nominal times a step passes.

No database, no clock, no I/O: the evaluator (engine/evaluator.py) hands in plain values and
writes what comes out. Contract: docs/semantics.md, "Schedules" (catch-up, overlap, occurrences).

The catch-up rule, as the README and the occurrence reasons state it:

- A step handles the times that came due since the schedule's last step. When only one came due
  and it is at most ON_TIME (15 s) old, it fires: on time, or late (a busy evaluator, a standby
  taking over the lease) but not missed.
- Otherwise times were missed, and the schedule's catch-up policy decides, once for the whole
  backlog:
  * skip: none of the missed times fire. Only the newest, when it is at most 15 s old, fires
    late (the "grace": at most ONE late fire per schedule, however short its interval);
  * latest: exactly one run, for the newest time, if it lies within the catch-up window (or
    the 15 s grace); the older ones are recorded as covered by it (coalesced);
  * all: each in order, at most MAX_CATCH_UP_ALL; the rest are recorded as missed.
- Every time that does not fire leaves a record, and the counts in the reasons are exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from t4o_tui.engine.schedule_math import Fire, format_duration
from t4o_tui.store.models import (
    COALESCED,
    DST_SHIFTED,
    FIRED,
    MISSED,
    PAUSED_STATE,
    SKIPPED_OVERLAP,
)
from t4o_tui.timefmt import clock_time

# How late the newest time may be handled and still fire whatever the catch-up policy says:
# longer than a lease takeover (6 s + a tick), so a standby that takes over fires the time that
# came due meanwhile. One time per schedule and step at most (see the module docstring).
ON_TIME = 15.0
MAX_CATCH_UP_ALL = 100
FIRE = "fire"  # a Decision's `state` when the time is to be fired (the overlap policy may still say no)
NOT_RUNNING = "the scheduler was not running at that time"
# Appended to the reason of a schedule's last time when it did not fire (e.g. a once schedule
# coalesced into another schedule's queued run): the schedule shows as ended, and this says why.
ENDED_NOTE = "its last time: the schedule has ended"


@dataclass(frozen=True, slots=True)
class Decision:
    """One fire (state FIRE, one time) or one record of one or more times (a range)."""

    fires: tuple[Fire, ...]
    state: str
    reason: str | None
    #: For a fire: what an overlap record says instead of `reason` if the overlap policy says no
    #: (the same for all the times of one catch-up, so their records merge into one).
    context: str | None = None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def cause_text(nominal: float, busy_since: float | None, busy_why: str) -> str:
    """Why a time was not handled when it came due: the process was down, or it was up but its
    steps failed (e.g. the database locked by a long writer)."""
    if busy_since is not None and nominal > busy_since:
        return f"the scheduler could not write at that time ({busy_why})" if busy_why else \
            "the scheduler could not write at that time"
    return NOT_RUNNING


def _ranges(fires: Iterable[Fire], state: str, reason_of: Callable[[Fire], str] | str) -> list[Decision]:
    """Consecutive times with the same reason as one record each."""
    out: list[Decision] = []
    group: list[Fire] = []
    reason: str | None = None
    for f in fires:
        r = reason_of if isinstance(reason_of, str) else reason_of(f)
        if group and r != reason:
            out.append(Decision(tuple(group), state, reason))
            group = []
        group.append(f)
        reason = r
    if group:
        out.append(Decision(tuple(group), state, reason))
    return out


def decide_passed(
    fires: list[Fire], *, now: float, catch_up: str, window: float, pause_end: float | None = None,
    earlier: int = 0, busy_since: float | None = None, busy_why: str = "",
) -> list[Decision]:
    """What to do with the times a step passes (nominal in (evaluated_until, now], ascending).

    `pause_end`: times before it were passed while paused (None: not paused; inf: until resumed).
    `earlier`: how many still older times the caller already recorded as too long ago (a long
    downtime of a frequent schedule), so that the counts in the reasons stay exact.
    `busy_since`/`busy_why`: the evaluator was up but its steps failed from then on (reasons say so).
    """
    out: list[Decision] = []
    live: list[Fire] = []
    paused: list[Fire] = []
    for f in fires:
        (paused if pause_end is not None and f.nominal < pause_end else live).append(f)
    out += _ranges(paused, PAUSED_STATE, "schedule paused")
    if not live:
        return out
    newest = live[-1]
    late = now - newest.nominal
    if len(live) == 1 and not earlier and late <= ON_TIME:
        return [*out, Decision((newest,), FIRE, None)]
    n = len(live) + earlier  # every time not handled when it came due: the exact count

    def cause(f: Fire) -> str:
        return cause_text(f.nominal, busy_since, busy_why)

    if catch_up == "skip":
        grace = late <= ON_TIME
        out += _ranges(live[:-1] if grace else live, MISSED, lambda f: f"{cause(f)} (catch-up: skip)")
        if grace:
            out.append(Decision((newest,), FIRE,
                                f"late by {format_duration(late)}: the newest time fires within the "
                                f"{ON_TIME:g} s grace (catch-up: skip; {_plural(n - 1, 'earlier time')} missed)"))
    elif catch_up == "latest":
        if late <= max(window, ON_TIME):
            covered = f"covered by the catch-up run for {clock_time(newest.nominal)}"
            out += _ranges(live[:-1], COALESCED, lambda f: f"{cause(f)}; {covered}")
            out.append(Decision((newest,), FIRE, f"catch-up (latest of {n} missed)",
                                context=f"catch-up (latest of {n} missed)"))
        else:
            out += _ranges(live, MISSED,
                           lambda f: f"{cause(f)}; older than the catch-up window ({format_duration(window)})")
    else:  # all
        firing = min(len(live), MAX_CATCH_UP_ALL)
        context = f"catch-up (all {n} missed)"
        for i, f in enumerate(live[:firing]):
            out.append(Decision((f,), FIRE, f"catch-up ({earlier + i + 1} of {n} missed)", context=context))
        out += _ranges(live[firing:], MISSED,
                       lambda f: f"{cause(f)}; more than {MAX_CATCH_UP_ALL} missed times (catch-up limit)")
    return out


def overlap_decision(policy: str, running: int | None, queued: int | None) -> tuple[str, str] | None:
    """(state, reason) when the overlap policy keeps a fire from enqueuing a run; None: enqueue.

    `running`/`queued`: the task's first running and first queued run ids (None: none).
    """
    if policy == "skip" and (running or queued):
        return SKIPPED_OVERLAP, f"run {running or queued} still {'running' if running else 'queued'} (overlap: skip)"
    if policy == "buffer_one" and queued:
        return COALESCED, f"run {queued} is already waiting in the queue (overlap: buffer_one)"
    return None


def fired_state(dst: str | None, reason: str | None) -> tuple[str, str | None]:
    """The state and reason of a time that enqueued a run, with what daylight saving did to it."""
    why = {
        "gap": "wall time did not exist (DST change); fired at the first instant after the gap",
        "fold": "second pass of a repeated hour (DST change)",
        "first": "first pass of a repeated hour (DST change); the second pass does not fire",
    }.get(dst or "")
    if why:
        reason = f"{reason}; {why}" if reason else why
    return (DST_SHIFTED if dst == "gap" else FIRED), reason


def row_decision(t: float, *, now: float, paused: bool, catch_up: str, window: float) -> tuple[str, str | None]:
    """A per-row schedule's row whose time `t` has come: FIRE, or the state and reason of its record.

    Each row is its own time (each start, each runner): rows due together all fire. A row more
    than ON_TIME late fires only when catch-up is not "skip" and it lies within the window.
    """
    if paused:
        return PAUSED_STATE, "schedule paused"
    if now - t > ON_TIME and (catch_up == "skip" or now - t > window):
        return MISSED, f"{NOT_RUNNING} (catch-up: {catch_up})"
    return FIRE, None
