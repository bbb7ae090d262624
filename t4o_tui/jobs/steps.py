"""Writing a large import in steps, so that it never holds the database's write lock for long.

SQLite has one writer at a time. A file import that wrote everything in one transaction held the
lock for seconds on a large file (2.2 s at 200,000 starts, 47 s at 2,000,000): the scheduler, the
queue, the run's own lease renewal and every other writer waited that long. So an import first
reads, parses and checks its file and works out what to write (no lock held), then writes it in
steps of a bounded number of rows, each step its own committed transaction, and leaves the lock
free after each (at least as long as the step held it) so that writers waiting for it get it
(SQLite's busy handler polls: a writer that takes the lock again at once would keep it from them).
A step worked out before its transaction checks there that what it read still holds; when another
writer changed it meanwhile, the step is discarded (StepDiscarded: rolled back, not counted) and
worked out again.

The rule an admin can rely on when such a run stops mid-way (cancel, timeout, a crash, a full
disk): a file with a problem is refused before anything is written; the steps committed before the
stop stay in the event and the run's log says how many rows they were; the step under way is
rolled back whole. Running the same import again finishes it: the rows written are found again
by the import's own matching (the same as for any re-import), so nothing is doubled. A crashed
run of an idempotent job is requeued when its worker's lease runs out and does exactly that.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from t4o_tui.engine.job import RunCancelled, RunContext

T = TypeVar("T")

# The write lock is left free after each step at least this long and at least as long as the step
# held it: a writer waiting in SQLite's busy handler sleeps between tries (1, 2, 5, 10 … ms at first,
# 100 ms once it has waited a while), so the lock must be free often and long enough for it to
# find it so (the soak at 2,000,000 starts: with a fixed 30 ms pause after 85 ms steps, another
# writer waited up to 1.1 s; with the lock free at least half the time, see README). What the run
# does meanwhile without the lock (working out its next step) counts: it only sleeps the rest.
STEP_PAUSE_S = 0.03


class StepDiscarded(Exception):
    """Raised inside a step's transaction when what the step was worked out from no longer holds
    (another writer changed it meanwhile): the step is rolled back and not counted."""


# While an import holds millions of rows, a full garbage collection (Python's oldest generation)
# walks all of them: 0.7-0.9 s at 2,000,000 starts, with every thread of the worker stopped (the
# scheduler, lease renewals, the other lane), several times as the rows pile up. Young generations
# are still collected; the oldest waits until no import holds many rows.
_quiet_lock = threading.Lock()
_quiet_depth = 0
_quiet_threshold: tuple[int, int, int] | None = None
NO_FULL_COLLECTIONS = 1_000_000_000


@contextmanager
def long_lived_rows() -> Iterator[None]:
    """No full garbage collection while the block runs (in any thread; nested and concurrent runs
    count, the first to enter saves the thresholds, the last to leave restores them)."""
    global _quiet_depth, _quiet_threshold
    with _quiet_lock:
        if _quiet_depth == 0:
            _quiet_threshold = gc.get_threshold()
            gc.set_threshold(_quiet_threshold[0], _quiet_threshold[1], NO_FULL_COLLECTIONS)
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0 and _quiet_threshold is not None:
                gc.set_threshold(*_quiet_threshold)


def let_go(*held: list[Any] | dict[Any, Any]) -> None:
    """Free large lists and dicts a slice at a time. Freed at once (the last reference dropped), 2,000,000
    rows take 0.3-0.5 s in one step of the interpreter, with every other thread of the worker (the
    scheduler, leases) stopped; a slice at a time, they get their turns in between."""
    for h in held:
        if isinstance(h, list):
            while h:
                del h[-LET_GO_SLICE:]
        else:
            while h:
                h.popitem()


LET_GO_SLICE = 20_000


class StepWriter:
    """Writes one import's rows in committed steps and keeps count, to say what a stop left."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.steps = 0  # committed steps
        self.discarded = 0  # steps rolled back by StepDiscarded (and done again)
        self.done: dict[str, list[int]] = {}  # what → [rows in committed steps, rows in all]
        self.longest = 0.0  # seconds the longest step's transaction took, from BEGIN to COMMIT
        self.last = 0.0  # seconds the last step took
        self.ended: float | None = None  # when the last step's transaction ended (time.monotonic)

    def expect(self, what: str, rows: int) -> None:
        """`rows` more of `what` to write (in steps given `what` and their rows): a stop says how many were."""
        self.done.setdefault(what, [0, 0])[1] += rows

    def write(self, what: str, items: Sequence[T], size: int, write: Callable[[Any, Sequence[T]], None]) -> None:
        """Write `items` `size` at a time: `write(conn, chunk)` runs inside each step's transaction."""
        self.expect(what, len(items))
        for lo in range(0, len(items), size):
            chunk = items[lo:lo + size]

            def one(conn: Any, chunk: Sequence[T] = chunk) -> None:
                write(conn, chunk)

            self.step(one, what, len(chunk))

    def step(self, write: Callable[[Any], None], what: str | None = None, rows: int = 0) -> bool:
        """One step: `write(conn)` inside its own transaction (`rows` of `what` when given). False when
        `write` raised StepDiscarded: rolled back, nothing written."""
        self._pause()
        began = time.monotonic()
        try:
            with self.ctx.transaction():
                write(self.ctx.db.connection())
        except StepDiscarded:
            self._held(began)
            self.discarded += 1
            return False
        self._held(began)
        self.steps += 1
        if what is not None:
            self.done.setdefault(what, [0, 0])[0] += rows
        return True

    def _held(self, began: float) -> None:
        self.ended = time.monotonic()
        self.last = self.ended - began
        self.longest = max(self.longest, self.last)

    def _pause(self) -> None:
        if self.ended is not None:
            # Other writers' turn: the lock has been free since the last step ended. Raises
            # RunCancelled when the run is stopped.
            rest = max(STEP_PAUSE_S, self.last) - (time.monotonic() - self.ended)
            self.ctx.sleep(max(rest, 0.0))

    def finished(self) -> None:
        """Say in the run's log how the writes went: steps, and the longest (the write lock's longest hold)."""
        if self.steps:
            redone = (f" ({self.discarded} worked out again: another writer changed what they were worked out from)"
                      if self.discarded else "")
            self.ctx.info(f"written in {self.steps} committed steps{redone}; the longest held the write lock "
                          f"{self.longest * 1000:.0f} ms")

    def stopped(self) -> None:
        """Say in the run's log what a run that stops now leaves in the event."""
        if not self.steps:
            self.ctx.warning("stopped before writing anything: the event is as it was")
            return
        parts = ", ".join(f"{done} of {total} {what}" for what, (done, total) in self.done.items())
        self.ctx.warning(
            f"stopped after writing {parts or 'its first steps'} in {self.steps} committed steps; they stay in the "
            "event (the step under way was undone, the rest not written): run the import again with the same file "
            "to finish it, what is written is found again and not doubled")


class StopReport:
    """`with StopReport(writer):` says what a stop left when the block ends by an exception (a cancel
    always; another error only once something was written, or the error alone says it)."""

    def __init__(self, writer: StepWriter) -> None:
        self.writer = writer

    def __enter__(self) -> StepWriter:
        return self.writer

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if kind is None:
            self.writer.finished()
            return
        if issubclass(kind, RunCancelled) or self.writer.steps:
            self.writer.stopped()
