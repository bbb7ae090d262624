"""Rank a class's results: order, places, time behind, per the class's result list type.

Decisions where orienteering.md is silent:
- Times are compared at the event's time resolution, truncated (as MeOS and the IOF rules do): at
  1 s (the default) 61.9 s ties 61 s; at 0.1 s, 61.3 s and 61.5 s rank apart and 61.31 s ties 61.3 s.
- Status order after OK: OverTime, MissingPunch, DidNotFinish, Disqualified, DidNotStart, then
  SportingWithdrawal, Finished, Started/Checked/Active, Inactive, Moved, MovedUp, DidNotEnter,
  Cancelled, and NotCompeting without a time last. Within a non-OK status, by name (then key), so the order reveals no ranking.
- NotCompeting (the status, or an OK result of an entry flagged not competing) is listed among the
  OK results at its time, with a time and time behind but no place; it never takes a place, never
  pushes anyone down and is never the winner.
- Equal times: same place, ordered by name then key; the next place is skipped (1, 2, 2, 4).
- Unsorted lists keep the caller's order (pass them sorted by name or start time), with times but
  no places. No-times lists keep the caller's order and drop times, places and time behind.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from t4o_tui.orienteering.punch_check import Status


class ListType(StrEnum):
    NORMAL = "normal"
    UNSORTED = "unsorted"
    NO_TIMES = "no_times"


STATUS_ORDER: tuple[Status, ...] = (
    Status.OK,
    Status.OVER_TIME,
    Status.MISSING_PUNCH,
    Status.DID_NOT_FINISH,
    Status.DISQUALIFIED,
    Status.DID_NOT_START,
    Status.SPORTING_WITHDRAWAL,
    Status.FINISHED,
    Status.STARTED,
    Status.CHECKED,
    Status.ACTIVE,
    Status.INACTIVE,
    Status.MOVED,
    Status.MOVED_UP,
    Status.DID_NOT_ENTER,
    Status.CANCELLED,
)
_RANK = {s: i for i, s in enumerate(STATUS_ORDER)}


@dataclass(frozen=True)
class ResultEntry:
    key: Hashable
    name: str
    status: Status
    time: float | None
    not_competing: bool = False  # entry status "not competing"


@dataclass(frozen=True)
class RankedRow:
    key: Hashable
    name: str
    status: Status
    time: float | None
    place: int | None
    behind: float | None
    not_competing: bool = False


def whole_seconds(t: float) -> int:
    """The time as ranked at 1 s: whole seconds, truncated."""
    return int(t // 1)


RESOLUTIONS = (1.0, 0.1)
"""The time resolutions an event may have, in seconds."""


def ticks(t: float, resolution: float = 1.0) -> int:
    """The time as ranked: whole units of `resolution`, truncated. The small slack keeps 61.3 s at
    0.1 s from becoming 612 tenths through binary floating point (61.3 / 0.1 = 612.999…)."""
    return math.floor(t / resolution + 1e-6)


def at_resolution(t: float, resolution: float = 1.0) -> float:
    """A time truncated to the resolution, as lists show it: 978.37 s at 0.1 s is 978.3 s."""
    if resolution == 1.0:
        return float(math.floor(t + 1e-6))  # the same number, without a call and a rounding per split
    return round(ticks(t, resolution) * resolution, 3)


def _is_nc(e: ResultEntry) -> bool:
    return e.not_competing or e.status is Status.NOT_COMPETING


def _timed_ok(e: ResultEntry) -> bool:
    # A NotCompeting status carries no verdict on punches; listed with a time if it has one.
    return e.status in (Status.OK, Status.NOT_COMPETING) and e.time is not None


def _group(e: ResultEntry) -> int:
    if _timed_ok(e):
        return 0
    if e.status is Status.OK:
        return _RANK[Status.FINISHED]  # OK without a time: incomplete data, listed with Finished
    return _RANK.get(e.status, len(STATUS_ORDER))


def rank_class(entries: Iterable[ResultEntry], list_type: ListType = ListType.NORMAL,
               resolution: float = 1.0) -> list[RankedRow]:
    """Rows in list order with places and time behind, as the class's result list type wants;
    times compared at `resolution` seconds (1 or 0.1), time behind in steps of it."""
    items = list(entries)
    if list_type is ListType.UNSORTED:
        return [RankedRow(e.key, e.name, e.status, e.time, None, None, _is_nc(e)) for e in items]
    if list_type is ListType.NO_TIMES:
        return [RankedRow(e.key, e.name, e.status, None, None, None, _is_nc(e)) for e in items]

    def sort_key(e: ResultEntry) -> tuple[int, int, str, str]:
        g = _group(e)
        t = ticks(e.time, resolution) if g == 0 and e.time is not None else 0
        return (g, t, e.name.casefold(), str(e.key))

    ordered = sorted(items, key=sort_key)
    competing = [ticks(e.time, resolution) for e in ordered if _timed_ok(e) and not _is_nc(e) and e.time is not None]
    winner = min(competing) if competing else None

    rows: list[RankedRow] = []
    counted = 0
    last_time: int | None = None
    last_place = 0
    for e in ordered:
        place: int | None = None
        behind: float | None = None
        if _timed_ok(e) and e.time is not None:
            t = ticks(e.time, resolution)
            if winner is not None:
                behind = round((t - winner) * resolution, 3)
            if not _is_nc(e):
                counted += 1
                if t != last_time:
                    last_place, last_time = counted, t
                place = last_place
        rows.append(RankedRow(e.key, e.name, e.status, e.time, place, behind, _is_nc(e)))
    return rows
