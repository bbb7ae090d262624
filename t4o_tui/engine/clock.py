"""Clocks: the engine asks one for the time, so tests and rehearsals can control it."""

from __future__ import annotations

import os
import time
from typing import Protocol


class Clock(Protocol):
    #: Real seconds per clock second: waits and lease renewals are scaled by it.
    scale: float

    def now(self) -> float:
        """Wall-clock time as UTC epoch seconds."""
        ...


class SystemClock:
    scale = 1.0

    def now(self) -> float:
        return time.time()


class FakeClock:
    """A clock that moves only when told to."""

    scale = 1.0

    def __init__(self, start: float = 1_780_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class SpeedClock:
    """Simulated time that starts at `start` when real time is `anchor` and runs `speed` times faster.

    Several processes given the same three numbers agree on the time: this is how a race day is
    rehearsed in minutes (and how the multi-process schedule tests run hours in seconds).
    """

    def __init__(self, start: float, anchor: float, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start, self.anchor, self.speed = start, anchor, speed
        self.scale = 1.0 / speed

    def now(self) -> float:
        return self.start + (time.time() - self.anchor) * self.speed


SYSTEM_CLOCK = SystemClock()


def clock_from_env() -> Clock:
    """T4O_TUI_CLOCK="start=<epoch>,anchor=<real epoch>,speed=<x>" selects a SpeedClock."""
    spec = os.environ.get("T4O_TUI_CLOCK")
    if not spec:
        return SYSTEM_CLOCK
    try:
        parts = dict(p.split("=", 1) for p in spec.split(","))
        return SpeedClock(float(parts["start"]), float(parts.get("anchor", time.time())), float(parts.get("speed", 1)))
    except (KeyError, ValueError) as exc:
        raise ValueError(f"T4O_TUI_CLOCK='{spec}' is not start=EPOCH,anchor=EPOCH,speed=X ({exc})") from None
