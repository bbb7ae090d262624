"""Losing the database server and getting it back (PostgreSQL, issue 14): said once, not per try.

Every part of a runtime (the lanes, the supervisor, the scheduler, the listener, the share server)
meets a lost connection at its own next call. Each asks `lost(exc)`: True when the error says the
connection is gone (server restarted, network cut). The first to meet it logs one warning, and
`status()` says it for the TUI's status line; the callers wait `delay()` (growing from 0.1 s to
5 s while it lasts) and try again, each try connecting afresh. The first call that works again
(`ok()`) logs one line saying how long it was. Runs are not lost meanwhile: a run's end that could
not be written is retried, and a run whose worker stays cut off past its lease is recovered by
another worker (orphan recovery), as after a crash.

A server restart cuts every worker at once, and no lease can be renewed while it is down: right
after it, every running run looks orphaned. So a process that has just got its connection back
judges no other worker's lease until one lease period has passed (`settled`): the owners renew
theirs (or write their runs' ends) first, and only a worker that stays away loses its runs.
SQLite has no connection to lose: `lost` is always False there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from t4o_tui.store.backend_postgres import connection_lost

log = logging.getLogger("t4o_tui.engine")

FIRST_DELAY_S = 0.1
MAX_DELAY_S = 2.0
# A call that works this soon after the loss does not end it: while the server shuts down, a
# connection it has not cut yet still answers (the loss would be said twice).
BACK_AFTER_S = 1.0


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class ConnectionWatch:
    """Whether this process has lost its database server, since when, and how long to back off."""

    def __init__(self, on_lost: Callable[[], None] | None = None) -> None:
        """`on_lost`: called when a loss is first met (the database then retires every connection
        made before it: one thread's finding stands for all of them)."""
        self._on_lost = on_lost
        self._lock = threading.Lock()
        self.lost_since: float | None = None  # time.monotonic() of the first failure
        self.why = ""
        self.tries = 0  # failures since; the backoff grows with them
        self.losses = 0  # times lost since the process started (tests, status)
        self.back_at: float | None = None  # time.monotonic() when it was last back

    def lost(self, exc: BaseException, where: str) -> bool:
        """True (and said once) when `exc` is a lost connection; False for any other error."""
        if not connection_lost(exc):
            return False
        with self._lock:
            self.tries += 1
            if self.lost_since is not None:
                return True
            self.lost_since = time.monotonic()
            self.why = _first_line(exc)
            self.losses += 1
        if self._on_lost is not None:
            self._on_lost()
        log.warning("database connection lost (%s: %s); reconnecting with backoff", where, self.why)
        return True

    def ok(self) -> None:
        """A call on the database worked: if the connection had been lost, say it is back."""
        if self.lost_since is None or time.monotonic() - self.lost_since < BACK_AFTER_S:
            return
        with self._lock:
            since, self.lost_since, self.tries = self.lost_since, None, 0
            self.back_at = time.monotonic()
        if since is not None:
            log.warning("database connection back after %.1f s", time.monotonic() - since)

    def settled(self, period: float) -> bool:
        """Connected, and for at least `period` seconds if the connection was lost before."""
        return self.lost_since is None and (self.back_at is None or time.monotonic() - self.back_at >= period)

    def delay(self) -> float:
        """How long to wait before the next try: 0.1 s, doubling per failure, at most 2 s."""
        return min(FIRST_DELAY_S * 2 ** max(self.tries - 1, 0), MAX_DELAY_S)

    def status(self) -> str | None:
        """One line for a status line while the connection is lost, else None."""
        since = self.lost_since
        if since is None:
            return None
        return f"database connection lost {time.monotonic() - since:.0f} s ago ({self.why}); reconnecting"


REPEAT_SAID_EVERY_S = 60.0


class RepeatedFailure:
    """One loop's failures that are not a lost connection (disk full, database locked), said so a
    log stays readable while they last: the first in full, the same one again only counted — one
    line a minute with the count — and one line when the loop works again. A different failure is
    said at once. A loop retrying each second on a full disk would otherwise write 3,600 lines an
    hour, and the supervisor's four a second."""

    def __init__(self, what: str, every: float = REPEAT_SAID_EVERY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what = what
        self.every = every
        self._clock = clock
        self._why: str | None = None
        self._since = 0.0
        self._said_at = 0.0
        self._unsaid = 0  # failures since the last line
        self._tries = 0  # failures since the first

    def failed(self, why: str) -> bool:
        """Count a failure; True when the caller should say it in full (the first, or a new one)."""
        now = self._clock()
        self._tries += 1
        if why != self._why:
            self._why, self._since, self._said_at, self._unsaid, self._tries = why, now, now, 0, 1
            return True
        self._unsaid += 1
        if now - self._said_at >= self.every:
            log.warning("%s: still failing (%s): %d more tries in the last %.0f s", self.what, why, self._unsaid,
                        now - self._said_at)
            self._said_at, self._unsaid = now, 0
        return False

    def ok(self) -> None:
        """The loop worked: if it had failed more than once, say it works again, and forget."""
        if self._why is None:
            return
        if self._tries > 1:
            log.warning("%s: works again after %d failed tries in %.0f s", self.what, self._tries,
                        self._clock() - self._since)
        self._why, self._tries, self._unsaid = None, 0, 0
