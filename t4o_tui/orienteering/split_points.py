"""Split Results: points per leg from split times, across races, best K races counted.

Decisions where orienteering.md is silent:
- Leg times are compared in whole seconds (truncated); equal times share a place and its points.
- A leg counts for every runner with a time on it, whatever the overall status, except
  Disqualified and NotCompeting runners, who never score (require_ok=True counts OK runners only).
- Deduction: max(0, winner_points − round_half_up(behind / seconds_per_point)).
- Standings are per class name (a multi-day event keeps its class names); equal totals share a
  place. Best K: a runner's K highest race totals; equal race totals keep race order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

NEVER_SCORE = frozenset({"Disqualified", "NotCompeting"})


@dataclass(frozen=True)
class PointsSeries:
    """Points by place on a leg; the last value goes to everyone further down who completed it."""

    values: tuple[float, ...]


@dataclass(frozen=True)
class PointsDeduction:
    """Winner points, minus one per seconds_per_point behind, rounded; never below zero."""

    winner_points: float
    seconds_per_point: float


PointsMethod = PointsSeries | PointsDeduction


@dataclass(frozen=True)
class RunnerLegs:
    key: str  # the person, stable across races
    name: str
    status: str  # IOF ResultStatus value
    legs: Sequence[float | None]  # leg times in course order, the leg to the finish last


@dataclass(frozen=True)
class ClassRace:
    race: str
    class_name: str
    leg_labels: Sequence[str]  # e.g. "S–31", "31–45", …, "100–F"
    runners: Sequence[RunnerLegs]


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _places(times: dict[str, int]) -> dict[str, int]:
    ordered = sorted(times.items(), key=lambda kv: (kv[1], kv[0]))
    places: dict[str, int] = {}
    last: int | None = None
    place = 0
    for n, (key, t) in enumerate(ordered, start=1):
        if t != last:
            place, last = n, t
        places[key] = place
    return places


def _points(method: PointsMethod, place: int, behind: int) -> float:
    if isinstance(method, PointsSeries):
        if not method.values:
            return 0.0
        return float(method.values[min(place, len(method.values)) - 1])
    steps = _round_half_up(behind / method.seconds_per_point) if method.seconds_per_point > 0 else 0
    return float(max(0.0, method.winner_points - steps))


def _method_json(method: PointsMethod) -> dict[str, Any]:
    if isinstance(method, PointsSeries):
        return {"type": "series", "values": list(method.values)}
    return {"type": "deduction", "winner_points": method.winner_points,
            "seconds_per_point": method.seconds_per_point}


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def leg_points(race: ClassRace, method: PointsMethod, *, require_ok: bool = False) -> dict[str, Any]:
    """One class in one race: per-leg places and points, and each runner's race total."""
    scoring = [
        r for r in race.runners
        if r.status not in NEVER_SCORE and (not require_ok or r.status == "OK")
    ]
    n_legs = max([len(race.leg_labels), *(len(r.legs) for r in scoring)], default=0)
    totals: dict[str, float] = {r.key: 0.0 for r in scoring}
    legs_out: list[dict[str, Any]] = []
    for i in range(n_legs):
        times = {
            r.key: int(t // 1)
            for r in scoring
            if i < len(r.legs) and (t := r.legs[i]) is not None and t >= 0
        }
        places = _places(times)
        best = min(times.values(), default=None)
        results = []
        for key, place in sorted(places.items(), key=lambda kv: (kv[1], kv[0])):
            pts = _points(method, place, times[key] - (best or 0))
            totals[key] += pts
            results.append({"runner": key, "time": times[key], "place": place, "points": _num(pts)})
        label = race.leg_labels[i] if i < len(race.leg_labels) else str(i + 1)
        legs_out.append({"leg": i + 1, "label": label, "best_time": best, "results": results})
    return {
        "race": race.race,
        "class": race.class_name,
        "legs": legs_out,
        "totals": {k: _num(v) for k, v in totals.items()},
    }


def split_points_report(races: Sequence[ClassRace], method: PointsMethod, *,
                        best_of: int | None = None, require_ok: bool = False) -> dict[str, Any]:
    """The JSON-ready report: per class, standings (best K races) and per-race, per-leg detail."""
    race_order: list[str] = []
    for r in races:
        if r.race not in race_order:
            race_order.append(r.race)
    class_order: list[str] = []
    for r in races:
        if r.class_name not in class_order:
            class_order.append(r.class_name)

    classes_out = []
    for cls in class_order:
        details = [leg_points(r, method, require_ok=require_ok) for r in races if r.class_name == cls]
        names: dict[str, str] = {}
        per_runner: dict[str, list[tuple[int, str, float]]] = {}
        for race, detail in zip([r for r in races if r.class_name == cls], details, strict=True):
            for runner in race.runners:
                names.setdefault(runner.key, runner.name)
            for key, pts in detail["totals"].items():
                per_runner.setdefault(key, []).append((race_order.index(race.race), race.race, float(pts)))

        standings: list[dict[str, Any]] = []
        for key, scores in per_runner.items():
            ranked = sorted(scores, key=lambda s: (-s[2], s[0]))
            counted = {s[0] for s in (ranked if best_of is None else ranked[: max(0, best_of)])}
            total = sum(s[2] for s in scores if s[0] in counted)
            standings.append({
                "runner": key,
                "name": names.get(key, key),
                "total": _num(total),
                "races": [{"race": name, "points": _num(pts), "counted": idx in counted}
                          for idx, name, pts in sorted(scores)],
            })
        standings.sort(key=lambda s: (-float(s["total"]), str(s["name"]).casefold(), s["runner"]))
        placed = []
        last: float | None = None
        place = 0
        for n, s in enumerate(standings, start=1):
            if s["total"] != last:
                place, last = n, s["total"]
            placed.append({"place": place, **s})
        classes_out.append({"class": cls, "standings": placed, "races": details})

    return {
        "kind": "split-points",
        "method": _method_json(method),
        "best_of": best_of,
        "races": race_order,
        "classes": classes_out,
    }
