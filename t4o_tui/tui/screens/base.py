"""The base of every full screen: the app's services, and polling that pauses while hidden."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import work
from textual.screen import Screen
from textual.timer import Timer

from t4o_tui.tui.services import Services

if TYPE_CHECKING:
    from t4o_tui.tui.host import T4oHost


@dataclass(frozen=True)
class PollTiming:
    """One refresh of a screen: fetching off the loop, then showing on it (seconds)."""

    load: float
    apply: float

    @property
    def total(self) -> float:
        return self.load + self.apply


class PollingScreen(Screen[Any]):
    """Polls by chaining: the next poll is scheduled when the last one has been applied.

    Slow polls never stack up, and polls and the 1 s tick stop while the screen is not on top
    (timers keep running on hidden screens otherwise), so an idle app costs next to nothing.
    """

    POLL_SECONDS: ClassVar[float] = 1.0

    def __init__(self) -> None:
        super().__init__()
        self._shown = False
        self._poll_timer: Timer | None = None
        self._tick_timer: Timer | None = None
        self._polling = False
        self._poll_again = False
        self.last_error: str | None = None
        # The last refreshes' durations: bench/tui_load.py reads them (a cheap, always-on hook).
        self.poll_timings: deque[PollTiming] = deque(maxlen=1000)

    @property
    def t4o(self) -> T4oHost:
        return cast("T4oHost", self.app)

    @property
    def services(self) -> Services:
        return self.t4o.services

    async def load(self) -> Any:
        """Fetch the screen's data (through self.services, off the event loop)."""
        raise NotImplementedError

    def apply(self, data: Any) -> None:
        """Show freshly loaded data."""
        raise NotImplementedError

    def keep_polling(self) -> bool:
        """False once nothing can change any more (a finished run's details)."""
        return True

    def tick(self) -> None:
        """Once a second while shown: rewrite relative times from the last data."""

    def show_error(self, message: str | None) -> None:
        """A poll failed (message) or works again (None)."""

    def on_screen_resume(self) -> None:
        self._shown = True
        self.poll_now()
        if self._tick_timer is None:
            self._tick_timer = self.set_interval(1.0, self.tick)
        else:
            self._tick_timer.resume()

    def on_screen_suspend(self) -> None:
        self._shown = False
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        if self._tick_timer is not None:
            self._tick_timer.pause()

    def poll_now(self) -> None:
        """Refresh at once (after a change made here), or right after the poll under way."""
        if self._polling:
            self._poll_again = True
            return
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        self._polling = True
        self._poll()

    @work(group="poll", exclusive=True)
    async def _poll(self) -> None:
        try:
            started = time.perf_counter()
            data = await self.load()
            loaded = time.perf_counter()
        except Exception as exc:  # a locked or unreadable database must not kill the screen; retry
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.show_error(self.last_error)
        else:
            if self.last_error is not None:
                self.last_error = None
                self.show_error(None)
            self.apply(data)
            self.poll_timings.append(PollTiming(loaded - started, time.perf_counter() - loaded))
        finally:
            self._polling = False
        if self._poll_again:
            self._poll_again = False
            self.poll_now()
        elif self._shown and self.is_attached and self.keep_polling():
            self._poll_timer = self.set_timer(self.POLL_SECONDS, self.poll_now)
