"""Multi-day totals: a runner's stages summed, with the standing after each stage.

Rules (race-day.md, and what MeOS and QuickEvent do):
- the total time is the sum of the stage times (each at the list's resolution, as the stage lists
  show them) when every stage is OK;
- otherwise the worst status decides: Disqualified, MissingPunch, DidNotFinish, OverTime,
  SportingWithdrawal, DidNotStart, DidNotEnter (a stage the runner was not entered in), Cancelled —
  a final verdict, so a later stage cannot mend it;
- with no such verdict but a stage still to come or still out (Inactive, Active, Started, Checked,
  Finished), the total is Active: no time, no place yet;
- NotCompeting in a stage makes the total NotCompeting (listed with a time, no place);
- places and time behind as in a stage list (ranking.rank_class): equal totals share a place.
The standing after stage k counts stages 1..k only (IOF XML: each Result's OverallResult).
Pure: no database, no files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from lxml import etree

from t4o_tui.orienteering.punch_check import Status
from t4o_tui.orienteering.ranking import ListType, ResultEntry, at_resolution, rank_class
from t4o_tui.orienteering.xmlsafe import IOF_NS

# Final non-OK verdicts, worst first.
VERDICTS: tuple[str, ...] = (
    "Disqualified", "MissingPunch", "DidNotFinish", "OverTime", "SportingWithdrawal", "DidNotStart",
    "DidNotEnter", "Cancelled", "Moved", "MovedUp",
)
PENDING = ("Inactive", "Active", "Started", "Checked", "Finished")


@dataclass(frozen=True)
class Stage:
    """One race of the totals: its number, name and date."""

    number: int
    name: str
    date: date | None = None


@dataclass(frozen=True)
class StageResult:
    status: str
    time: float | None = None
    bib: str | None = None


@dataclass
class TotalRunner:
    """A runner of a class across the stages; `stages` by race number (missing: not entered)."""

    key: str
    name: str
    club: str
    given: str = ""
    family: str = ""
    sex: str | None = None
    birth_date: date | None = None
    club_ids: dict[str, str] = field(default_factory=dict)
    stages: dict[int, StageResult] = field(default_factory=dict)

    def stage(self, number: int) -> StageResult:
        return self.stages.get(number) or StageResult("DidNotEnter")


@dataclass(frozen=True)
class Standing:
    """A runner's total after some stages: status, time, place and time behind."""

    runner: TotalRunner
    status: str
    time: float | None
    place: int | None
    behind: float | None


def total(stages: Sequence[StageResult], resolution: float = 1.0) -> tuple[str, float | None]:
    """The total status and time of a runner's stage results (the rules in the module docstring)."""
    statuses = [s.status for s in stages]
    verdicts = [s for s in statuses if s in VERDICTS]
    if verdicts:
        return min(verdicts, key=VERDICTS.index), None
    if any(s not in ("OK", "NotCompeting") for s in statuses):  # PENDING, or a status unknown here
        return "Active", None
    if any(s.time is None for s in stages):
        return "Active", None  # an OK without a time: incomplete data, no total yet
    time = sum(at_resolution(s.time, resolution) for s in stages if s.time is not None)
    return ("NotCompeting" if "NotCompeting" in statuses else "OK"), time


def standings(runners: Sequence[TotalRunner], numbers: Sequence[int], resolution: float = 1.0) -> list[Standing]:
    """The class's standing after the stages `numbers`, in list order."""
    totals = {r.key: total([r.stage(n) for n in numbers], resolution) for r in runners}
    by_key = {r.key: r for r in runners}
    ranked = rank_class(
        [ResultEntry(r.key, r.name, Status(totals[r.key][0]), totals[r.key][1]) for r in runners],
        ListType.NORMAL, resolution)
    return [Standing(by_key[str(row.key)], totals[str(row.key)][0], totals[str(row.key)][1], row.place, row.behind)
            for row in ranked]


@dataclass(frozen=True)
class ClassTotals:
    name: str
    runners: Sequence[TotalRunner]


def _sub(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{IOF_NS}}}{name}", {k: v for k, v in attrs.items()})
    if text is not None:
        el.text = text
    return el


def _seconds(t: float) -> str:
    return f"{t:g}" if t != int(t) else str(int(t))


def _person(parent: etree._Element, r: TotalRunner) -> None:
    person = _sub(parent, "Person", **({"sex": r.sex} if r.sex in ("M", "F") else {}))
    name = _sub(person, "Name")
    _sub(name, "Family", r.family or r.name)
    _sub(name, "Given", r.given)
    if r.birth_date is not None:
        _sub(person, "BirthDate", r.birth_date.isoformat())
    if r.club:
        org = _sub(parent, "Organisation")
        for t, v in sorted(r.club_ids.items()):
            _sub(org, "Id", v, **({"type": t} if t else {}))
        _sub(org, "Name", r.club)


def _iof_status(status: str) -> str:
    return "Active" if status in ("Started", "Checked") else status


def totals_xml(event_name: str, stages: Sequence[Stage], classes: Sequence[ClassTotals], now: datetime, *,
               creator: str, resolution: float = 1.0) -> bytes:
    """IOF XML 3.0 ResultList: per runner one Result per stage (raceNumber) with its stage result
    and an OverallResult for the standing after that stage."""
    root = etree.Element(f"{{{IOF_NS}}}ResultList", nsmap={None: IOF_NS})
    root.set("iofVersion", "3.0")
    root.set("createTime", now.isoformat(timespec="seconds"))
    root.set("creator", creator)
    root.set("status", "Complete")
    event = _sub(root, "Event")
    _sub(event, "Name", event_name or "Event")
    for stage in stages:
        race = _sub(event, "Race")
        _sub(race, "RaceNumber", str(stage.number))
        _sub(race, "Name", stage.name)
        if stage.date is not None:
            _sub(_sub(race, "StartTime"), "Date", stage.date.isoformat())
    numbers = [s.number for s in stages]
    for c in classes:
        after = {n: {s.runner.key: s for s in standings(c.runners, numbers[: i + 1], resolution)}
                 for i, n in enumerate(numbers)}
        stage_ranks = {n: {str(row.key): row for row in rank_class(
            [ResultEntry(r.key, r.name, Status(_known(r.stage(n).status)), r.stage(n).time) for r in c.runners],
            ListType.NORMAL, resolution)} for n in numbers}
        cr = _sub(root, "ClassResult", timeResolution=_seconds(resolution))
        _sub(_sub(cr, "Class"), "Name", c.name)
        for final in standings(c.runners, numbers, resolution):
            r = final.runner
            pr = _sub(cr, "PersonResult")
            _person(pr, r)
            for n in numbers:
                sr = r.stage(n)
                res = _sub(pr, "Result", raceNumber=str(n))
                if sr.bib:
                    _sub(res, "BibNumber", sr.bib)
                row = stage_ranks[n][r.key]
                timed = sr.status in ("OK", "NotCompeting") and sr.time is not None
                if timed and sr.time is not None:
                    _sub(res, "Time", _seconds(at_resolution(sr.time, resolution)))
                    if row.place and row.behind is not None:
                        _sub(res, "TimeBehind", _seconds(row.behind))
                if row.place:
                    _sub(res, "Position", str(row.place))
                _sub(res, "Status", _iof_status(sr.status))
                st = after[n][r.key]
                overall = _sub(res, "OverallResult")
                if st.time is not None:
                    _sub(overall, "Time", _seconds(st.time))
                    if st.place and st.behind is not None:
                        _sub(overall, "TimeBehind", _seconds(st.behind))
                if st.place:
                    _sub(overall, "Position", str(st.place))
                _sub(overall, "Status", _iof_status(st.status))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _known(status: str) -> str:
    return status if status in Status._value2member_map_ else "Inactive"
