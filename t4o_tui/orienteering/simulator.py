"""Test Timing: simulated readouts for entries without a result. Never on a real event.

Each runner's race comes from a random.Random seeded by (seed, entry key) alone, so a runner's
finish time is the same on every run whatever else is in the list: a schedule every few seconds
sees runners come home as the clock passes their finish, and no runner changes their mind.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from t4o_tui.orienteering.punch_check import CardData, ControlKind, CourseControl, Punch

DEFAULT_LEG_METRES = 400.0  # course length unknown and no leg lengths: a short-ish leg per control


@dataclass(frozen=True)
class SimSettings:
    seed: int = 0
    pace_min: float = 5 * 60.0  # seconds per km
    pace_max: float = 12 * 60.0
    missing_probability: float = 0.05  # per runner: one control punch left out
    results_per_run: int = 10
    readout_delay: float = 60.0  # finish to readout, capped at now
    finish_code: str = "F1"  # when the course names no finish control
    start_code: str = "S1"


@dataclass(frozen=True)
class SimEntry:
    key: Hashable
    start: float | None  # drawn start time (epoch); None: nothing to simulate from
    course: Sequence[CourseControl]
    length: float | None = None  # course length in metres


@dataclass(frozen=True)
class SimReadout:
    key: Hashable
    card: CardData
    read_at: float
    pace: float  # seconds per km, for the log
    missing: tuple[str, ...]


def _runner_rng(seed: int, key: Hashable) -> random.Random:
    # A string seed hashes the same in every process (unlike hash() of a str).
    return random.Random(f"t4o-sim:{seed}:{key!r}")


def _legs(entry: SimEntry) -> tuple[list[CourseControl], list[float]]:
    """Controls to punch and the metres of each leg (one more leg than controls: to the finish)."""
    controls = [c for c in entry.course if c.kind is ControlKind.CONTROL]
    finish = next((c for c in entry.course if c.kind is ControlKind.FINISH), None)
    ends = [*controls, finish]
    known = [c.leg_length if c is not None and c.leg_length and c.leg_length > 0 else None for c in ends]
    lengths = [x for x in known if x is not None]
    if lengths:
        # Legs without a length (often the run-in to the finish) get the average known leg.
        mean = sum(lengths) / len(lengths)
        legs = [x if x is not None else mean for x in known]
    else:
        per_leg = (entry.length / len(ends)) if entry.length else DEFAULT_LEG_METRES
        legs = [per_leg] * len(ends)
    if entry.length:
        # The course length is the truth for running time; leg lengths only share it out.
        scale = entry.length / sum(legs)
        legs = [x * scale for x in legs]
    return controls, legs


def simulate_runner(entry: SimEntry, settings: SimSettings) -> SimReadout | None:
    """The runner's whole simulated race (regardless of now); None without a start time."""
    if entry.start is None:
        return None
    rng = _runner_rng(settings.seed, entry.key)
    pace = rng.uniform(settings.pace_min, settings.pace_max)
    controls, legs = _legs(entry)
    t = entry.start
    punches: list[Punch] = []
    for control, metres in zip(controls, legs, strict=False):
        t += metres / 1000.0 * pace
        punches.append(Punch(control.code, float(int(t))))  # whole seconds, like SI stations
    t += legs[-1] / 1000.0 * pace
    finish_time = float(int(t))
    missing: tuple[str, ...] = ()
    if punches and rng.random() < settings.missing_probability:
        dropped = punches.pop(rng.randrange(len(punches)))
        missing = (dropped.code,)
    finish_code = next((c.code for c in entry.course if c.kind is ControlKind.FINISH), settings.finish_code)
    start_code = next((c.code for c in entry.course if c.kind is ControlKind.START), settings.start_code)
    card = CardData(
        punches=tuple(punches), start=Punch(start_code, entry.start), finish=Punch(finish_code, finish_time),
    )
    return SimReadout(entry.key, card, finish_time + settings.readout_delay, pace, missing)


def simulate(entries: Iterable[SimEntry], settings: SimSettings, now: float) -> list[SimReadout]:
    """Readouts of runners whose simulated finish is <= now, earliest first, at most results_per_run."""
    due: list[SimReadout] = []
    for entry in entries:
        r = simulate_runner(entry, settings)
        if r is not None and r.card.finish is not None and r.card.finish.time is not None \
                and r.card.finish.time <= now:
            due.append(SimReadout(r.key, r.card, min(r.read_at, now), r.pace, r.missing))
    due.sort(key=lambda r: (r.card.finish.time if r.card.finish else 0.0, repr(r.key)))
    return due[: max(0, settings.results_per_run)]
