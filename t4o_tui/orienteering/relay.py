"""Relays: teams, legs, forking, changeovers, team and leg results.

Pure functions over plain data (no database, no engine). Times are float seconds: UTC epoch for
instants, plain seconds for durations, as in punch_check. Each runner's card is checked against
that runner's course with punch_check.check_punches; this module adds what a relay adds on top.

Decisions where orienteering.md and race-day.md are silent (from MeOS, QuickEvent and the IOF
examples), written down here and next to the code that takes them:

- A leg may be run by several runners in parallel (IOF `LegOrder`, e.g. the IOF example's leg 2
  run by 1-3 runners). `ParallelRule.ALL` (MeOS parallel legs): every runner of the leg must
  complete it; the changeover is when the last of them finishes. `ParallelRule.FIRST` (the IOF
  example): the fastest runner with an OK leg changes over; the leg is OK when one of them is.
- A leg's start: leg 1 starts at the class's mass start (a runner's own start time, e.g. from a
  StartList or a chasing start, wins). A later leg starts at the previous leg's changeover; when
  the previous leg has not changed over by the leg's restart time, the runner starts at the
  restart time: start = min(changeover, restart). When the changeover is unknown (the previous
  runner has no finish punch), the runner's own start punch is used, else the restart time.
- The changeover is the previous runner's finish punch whatever that runner's status (a runner
  with a missing punch still handed over at the finish); a finish-station time stands in for a
  finish punch before the card is read out.
- Team time = the sum of the leg times. Without restarts this is last finish - first start; with
  a restart each restarted leg counts from the restart, so a team is never paid for the time it
  waited and never gains from the overlap (MeOS does the same).
- Team status: Disqualified on any leg wins; otherwise the first leg, in leg order, whose status
  is final and not OK decides (so one MissingPunch makes the team MissingPunch, a leg that
  did not finish makes it DidNotFinish). A leg without a runner, or whose runner did not start,
  makes the team DidNotFinish, or DidNotStart when none of its runners has started. A team time
  over the class's max time is OverTime. While a leg is still out and nothing is decided yet,
  the team shows that leg's in-the-forest status (Started, Checked, Finished, Inactive).
- Places: teams by status then team time (ranking.rank_class: ties share a place, 1, 2, 2, 4);
  leg places rank every OK leg time on that leg, also of teams that are out of the ranking (as
  speakers and result services show leg times); the standing after a leg ranks the cumulative
  time of the teams whose legs so far are all OK: the changeover order the speaker reads. Teams
  still out are listed right after the finished teams, in their standing after their last leg.
- Forking: the runner positions (leg, leg order) whose legs offer the same set of course
  variants form a group; every team runs every variant of the group equally often across the
  group's positions (once each when there are as many positions as variants), and over each run
  of n consecutive teams (n variants) every position sees every variant once.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from enum import StrEnum

from t4o_tui.orienteering.punch_check import (
    CardData,
    CourseControl,
    PunchResult,
    StartSource,
    Status,
    check_punches,
)
from t4o_tui.orienteering.ranking import ListType, ResultEntry, rank_class

Slot = tuple[int, int]
"""A runner position in a team: (leg, leg order), both from 1."""


class ParallelRule(StrEnum):
    ALL = "all"  # every parallel runner completes the leg; changeover at the last finish
    FIRST = "first"  # the fastest OK runner changes over


class RelayError(ValueError):
    """Bad relay input (settings, teams, forking): the message names the class, team and leg."""


@dataclass(frozen=True)
class LegSettings:
    """One leg of a relay class.

    variants: the course names this leg may run: one is a fixed course, several a forking pool.
    runners: how many runners may run the leg in parallel (IOF maxNumberOfCompetitors).
    restart: the instant runners of this leg not yet changed over are sent off (None: no restart).
    max_time: the longest leg time before the leg is OverTime.
    """

    variants: tuple[str, ...] = ()
    runners: int = 1
    min_runners: int = 1
    parallel: ParallelRule = ParallelRule.ALL
    restart: float | None = None
    max_time: float | None = None


@dataclass(frozen=True)
class RelayClass:
    """A relay class: its legs (leg 1 first), the first leg's mass start, the team max time."""

    name: str
    legs: tuple[LegSettings, ...]
    mass_start: float | None = None
    max_time: float | None = None
    start_source: StartSource = StartSource.DRAWN
    several_legs_per_runner: bool = False

    def leg(self, number: int) -> LegSettings:
        return self.legs[number - 1]

    def slots(self) -> list[Slot]:
        """Every runner position the class has, in leg then leg-order order."""
        return [(i, k) for i, leg in enumerate(self.legs, 1) for k in range(1, leg.runners + 1)]


@dataclass(frozen=True)
class TeamMember:
    """A runner on a leg of a team; `key` is whatever identifies the runner (an entry id)."""

    leg: int
    order: int = 1
    name: str = ""
    card: str | None = None
    key: Hashable | None = None
    start: float | None = None  # the runner's own start time (StartList, chasing start)
    course: str | None = None  # a course given for this runner, winning over the forking
    line: int | None = field(default=None, compare=False)  # the runner's line in a file, for messages

    @property
    def at(self) -> str:
        """' (line N)' for messages, when the runner came from a file's line."""
        return f" (line {self.line})" if self.line else ""

    @property
    def slot(self) -> Slot:
        return (self.leg, self.order)


@dataclass(frozen=True)
class Team:
    key: Hashable
    name: str
    bib: str | None = None
    club: str | None = None
    members: tuple[TeamMember, ...] = ()
    not_competing: bool = False

    def label(self) -> str:
        """How messages name the team: its name and bib."""
        return f"team '{self.name}'" + (f" (bib {self.bib})" if self.bib else "")

    def on_leg(self, leg: int) -> list[TeamMember]:
        return sorted((m for m in self.members if m.leg == leg), key=lambda m: m.order)


# --- checking settings and teams ---------------------------------------------------------------


@dataclass(frozen=True)
class Problems:
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def class_problems(cls: RelayClass) -> Problems:
    """What is wrong with a relay class's settings: legs without a course are warnings (the
    class can be entered before course data arrives), impossible settings are errors."""
    errors: list[str] = []
    warnings: list[str] = []
    if not cls.legs:
        errors.append(f"class '{cls.name}': a relay class needs at least one leg")
    for i, leg in enumerate(cls.legs, 1):
        if not leg.variants:
            warnings.append(f"class '{cls.name}' leg {i}: no course")
        if leg.runners < 1 or leg.min_runners < 0 or leg.min_runners > leg.runners:
            errors.append(f"class '{cls.name}' leg {i}: runners {leg.min_runners}-{leg.runners} is not a valid range")
        if i == 1 and leg.restart is not None:
            warnings.append(f"class '{cls.name}' leg 1: a restart on the first leg is ignored (it has the mass start)")
    return Problems(tuple(errors), tuple(warnings))


def team_problems(cls: RelayClass, team: Team) -> Problems:
    """What is wrong with a team in its class, each message naming the team and the leg.

    Errors (the team cannot be timed as given): a leg the class does not have, more parallel
    runners than the leg allows, two runners on one position, a card used twice in the team (its
    readouts could not be told apart), one runner on several legs where the class forbids it.
    Warnings: a leg without a runner (the team will be DidNotFinish), fewer parallel runners than
    the leg's minimum.
    """
    errors: list[str] = []
    warnings: list[str] = []
    who = team.label()
    seen_slots: dict[Slot, TeamMember] = {}
    for m in team.members:
        if m.leg < 1 or m.leg > len(cls.legs):
            errors.append(f"{who}: leg {m.leg}{m.at} but class '{cls.name}' has {len(cls.legs)} legs")
            continue
        leg = cls.leg(m.leg)
        if m.order < 1 or m.order > leg.runners:
            allowed = "1 runner" if leg.runners == 1 else f"{leg.runners} runners"
            errors.append(f"{who} leg {m.leg}{m.at}: runner {m.order} but the leg allows {allowed}")
            continue
        if m.slot in seen_slots:
            errors.append(f"{who} leg {m.leg}{m.at}" + (f" runner {m.order}" if leg.runners > 1 else "")
                          + f": two runners ({seen_slots[m.slot].name or '?'} and {m.name or '?'})")
            continue
        seen_slots[m.slot] = m
    cards: dict[str, TeamMember] = {}
    for m in sorted(team.members, key=lambda m: m.slot):
        if not m.card:
            continue
        first = cards.get(m.card)
        if first is not None and first.slot != m.slot:
            errors.append(f"{who} leg {m.leg}{m.at}: card {m.card} is already used on leg {first.leg} of the team")
        else:
            cards.setdefault(m.card, m)
    if not cls.several_legs_per_runner:
        runners: dict[Hashable, TeamMember] = {}
        for m in sorted(team.members, key=lambda m: m.slot):
            if m.key is None:
                continue
            first = runners.get(m.key)
            if first is not None and first.leg != m.leg:
                errors.append(f"{who} leg {m.leg}{m.at}: {m.name or m.key} already runs leg {first.leg} "
                              f"and class '{cls.name}' allows one leg per runner")
            else:
                runners.setdefault(m.key, m)
    for i, leg in enumerate(cls.legs, 1):
        n = sum(1 for m in team.members if m.leg == i and 1 <= m.order <= leg.runners)
        if n == 0:
            warnings.append(f"{who} leg {i}: no runner")
        elif n < leg.min_runners:
            warnings.append(f"{who} leg {i}: {n} runners, the leg wants at least {leg.min_runners}")
    return Problems(tuple(errors), tuple(warnings))


def check_teams(cls: RelayClass, teams: Iterable[Team]) -> Problems:
    """Class and team problems together, plus bibs or cards shared between teams of the class."""
    errors: list[str] = []
    warnings: list[str] = []
    p = class_problems(cls)
    errors += p.errors
    warnings += p.warnings
    bibs: dict[str, Team] = {}
    cards: dict[str, Team] = {}
    for t in teams:
        p = team_problems(cls, t)
        errors += p.errors
        warnings += p.warnings
        if t.bib:
            other = bibs.setdefault(t.bib, t)
            if other is not t:
                errors.append(f"{t.label()}: bib {t.bib} is also {other.label()}'s")
        for m in t.members:
            if m.card:
                other = cards.setdefault(m.card, t)
                if other is not t:
                    warnings.append(f"{t.label()} leg {m.leg}: card {m.card} is also used by {other.label()}")
    return Problems(tuple(errors), tuple(warnings))


# --- forking -------------------------------------------------------------------------------------

Forking = dict[Slot, str]
"""The course of each runner position of one team."""


def _groups(cls: RelayClass) -> list[tuple[tuple[str, ...], list[Slot]]]:
    """Positions grouped by the variants their leg offers (in first-seen order); the pool is
    sorted so the same set of variants written in another order is the same group."""
    groups: dict[tuple[str, ...], list[Slot]] = {}
    for slot in cls.slots():
        pool = tuple(sorted(set(cls.leg(slot[0]).variants)))
        if pool:
            groups.setdefault(pool, []).append(slot)
    return list(groups.items())


def _bases(pool: Sequence[str], rng: random.Random | None) -> list[tuple[str, ...]]:
    """Orders of the pool whose cyclic shifts are all distinct from the other bases' shifts:
    every permutation keeping the first variant first ((n-1)! of them, up to 6 variants)."""
    items = list(pool)
    if rng is not None:
        rng.shuffle(items)
    if len(items) > 6:
        return [tuple(items)]
    first, rest = items[0], items[1:]
    bases = [(first, *p) for p in itertools.permutations(rest)]
    if rng is not None:
        rng.shuffle(bases)
    return bases


def generate_forking(cls: RelayClass, team_count: int, *, seed: int | None = None) -> list[Forking]:
    """A fair forking for `team_count` teams, in the order the caller lists them (by bib).

    Team i runs, on the j-th position of a group of n variants, base[(j + i) % n] where the
    base changes every n teams: each team runs every variant equally often across the group,
    and every n consecutive teams put every variant once on each position (so a mass start
    spreads). Positions of a leg with one course get that course. A seed shuffles the variant
    order and the bases, reproducibly; without one the order is alphabetical.
    """
    if class_problems(cls).errors:
        raise RelayError(class_problems(cls).errors[0])
    rng = random.Random(seed) if seed is not None else None
    plans = [(slots, _bases(pool, rng)) for pool, slots in _groups(cls)]
    out: list[Forking] = []
    for i in range(team_count):
        fork: Forking = {}
        for slots, bases in plans:
            n = len(bases[0])
            base = bases[(i // n) % len(bases)]
            for j, slot in enumerate(slots):
                fork[slot] = base[(j + i) % n]
        out.append(fork)
    return out


def parse_forking_key(cls: RelayClass, key: Sequence[str] | str) -> Forking:
    """A forking key as given (one course per position in position order, as a sequence, or as
    text with one letter per position when every course name is one character) to a Forking."""
    slots = cls.slots()
    names = list(key) if not isinstance(key, str) else list(key.replace(" ", "").replace(",", ""))
    if isinstance(key, str) and "," in key:
        names = [n.strip() for n in key.split(",")]
    if len(names) != len(slots):
        raise RelayError(f"class '{cls.name}': forking key {key!r} has {len(names)} courses, "
                         f"the class has {len(slots)} runner positions")
    fork: Forking = {}
    for slot, name in zip(slots, names, strict=True):
        variants = cls.leg(slot[0]).variants
        if variants and name not in variants:
            raise RelayError(f"class '{cls.name}' leg {slot[0]}: course {name!r} of forking key "
                             f"{key!r} is not one of the leg's courses ({', '.join(variants)})")
        fork[slot] = name
    return fork


def assign_forking_keys(cls: RelayClass, team_count: int, keys: Sequence[Sequence[str] | str]) -> list[Forking]:
    """A given forking key list to teams in order, repeated when there are more teams than keys."""
    if not keys:
        raise RelayError(f"class '{cls.name}': the forking key list is empty")
    parsed = [parse_forking_key(cls, k) for k in keys]
    return [dict(parsed[i % len(parsed)]) for i in range(team_count)]


def forking_problems(cls: RelayClass, forkings: Sequence[tuple[str, Forking]]) -> list[str]:
    """Where a forking is not fair: a team (named by its label) whose positions of a group do not
    cover the group's variants equally often, or a course a leg does not offer."""
    problems: list[str] = []
    groups = _groups(cls)
    for label, fork in forkings:
        for pool, slots in groups:
            counts = Counter(fork.get(s) for s in slots)
            for s in slots:
                if fork.get(s) not in pool:
                    problems.append(f"{label} leg {s[0]}: course {fork.get(s)!r} is not one of {', '.join(pool)}")
            used = [counts.get(v, 0) for v in pool]
            if len(slots) >= len(pool) and max(used) - min(used) > 1:
                detail = ", ".join(f"{v}×{c}" for v, c in zip(pool, used, strict=True))
                legs = ", ".join(str(s[0]) for s in slots)
                problems.append(f"{label}: legs {legs} run {detail}, not each variant equally often")
    return problems


def forking_balance(cls: RelayClass, forkings: Sequence[Forking]) -> dict[Slot, Counter[str]]:
    """How often each course runs on each position: the per-leg spread a mass start cares for."""
    out: dict[Slot, Counter[str]] = {}
    for fork in forkings:
        for slot, course in fork.items():
            out.setdefault(slot, Counter())[course] += 1
    return out


# --- timing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberData:
    """What the stations say about one runner: the deciding readout (if any), a status set
    through the override station, the best status other stations give (Started, Checked,
    Finished) and the finish-station time (the changeover before the card is read out)."""

    card: CardData | None = None
    override: Status | None = None
    seen: Status | None = None
    finish_seen: float | None = None


@dataclass(frozen=True)
class MemberResult:
    leg: int
    order: int
    name: str
    key: Hashable | None
    course: str | None
    status: Status
    start: float | None
    finish: float | None
    time: float | None
    punch: PunchResult | None = None
    restarted: bool = False
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class LegResult:
    """One leg of a team: its runners, the leg's status, start, changeover and time, and the
    team's standing after the leg (cumulative status and time)."""

    leg: int
    members: tuple[MemberResult, ...]
    status: Status
    start: float | None
    changeover: float | None
    time: float | None
    overall_status: Status
    overall_time: float | None
    restarted: bool = False


@dataclass(frozen=True)
class TeamResult:
    team: Team
    status: Status
    start: float | None
    finish: float | None
    time: float | None
    legs: tuple[LegResult, ...]
    messages: tuple[str, ...] = ()


_FINAL_BAD = (Status.DISQUALIFIED, Status.MISSING_PUNCH, Status.DID_NOT_FINISH, Status.OVER_TIME,
              Status.DID_NOT_START, Status.SPORTING_WITHDRAWAL)
_IN_FOREST = (Status.FINISHED, Status.STARTED, Status.CHECKED, Status.ACTIVE, Status.INACTIVE)
# Worst first, for combining parallel runners of one leg under ParallelRule.ALL.
_LEG_WORST = (Status.DISQUALIFIED, Status.MISSING_PUNCH, Status.DID_NOT_FINISH, Status.SPORTING_WITHDRAWAL,
              Status.DID_NOT_START, Status.OVER_TIME, Status.INACTIVE, Status.CHECKED, Status.STARTED,
              Status.ACTIVE, Status.FINISHED, Status.OK)


def _has_data(d: MemberData | None) -> bool:
    return d is not None and (d.card is not None or d.override not in (None, Status.DID_NOT_START)
                              or d.seen is not None or d.finish_seen is not None)


def _leg_start(cls: RelayClass, leg_no: int, member: TeamMember, changeover: float | None,
               card_start: float | None) -> tuple[float | None, bool, str | None]:
    """(start, restarted, note) for a runner of leg `leg_no` given the previous changeover."""
    if member.start is not None:
        return member.start, False, None
    if leg_no == 1:
        return cls.mass_start, False, None
    restart = cls.leg(leg_no).restart
    if changeover is not None:
        if restart is not None and restart < changeover:
            return restart, True, "restart: not changed over by the restart time"
        return changeover, False, None
    if card_start is not None:
        if restart is not None and restart < card_start:
            return restart, True, "restart: not changed over by the restart time"
        return card_start, False, "no changeover time: the runner's start punch used"
    if restart is not None:
        return restart, True, "restart: the previous leg did not change over"
    return None, False, None


def _card_start(card: CardData | None) -> float | None:
    return card.start.time if card is not None and card.start is not None else None


def _time_member(cls: RelayClass, member: TeamMember, course_name: str | None,
                 courses: Mapping[str, Sequence[CourseControl]], data: MemberData | None,
                 changeover: float | None, zero_time: float | None, tz: tzinfo) -> MemberResult:
    leg = cls.leg(member.leg)
    d = data or MemberData()
    start, restarted, note = _leg_start(cls, member.leg, member, changeover, _card_start(d.card))
    messages = [note] if note else []
    course = courses.get(course_name) if course_name is not None else None

    def result(status: Status, finish: float | None, time: float | None,
               punch: PunchResult | None = None) -> MemberResult:
        return MemberResult(member.leg, member.order, member.name, member.key, course_name, status,
                            start, finish, time, punch, restarted, tuple(messages))

    if d.card is None:
        # No readout yet: what other stations (or an override) say; a finish-station time is
        # the changeover, the leg time stays open until the card is checked. A runner whose
        # team changed over to them is out on the course (Started) even before any station saw them.
        status = d.override or d.seen or (Status.STARTED if member.leg > 1 and changeover is not None
                                          else Status.INACTIVE)
        return result(status, d.finish_seen, None)
    if course is None:
        messages.append(f"leg {member.leg}: no course" if course_name is None
                        else f"leg {member.leg}: course {course_name!r} not known")
        finish = d.card.finish.time if d.card.finish is not None else d.finish_seen
        return result(d.override or Status.MISSING_PUNCH, finish, None)
    source = StartSource.DRAWN if member.leg > 1 or member.start is None else cls.start_source
    r = check_punches(course, d.card, start_source=source, drawn_start=start, max_time=leg.max_time,
                      zero_time=zero_time if zero_time is not None else start, tz=tz,
                      override_status=d.override)
    messages += r.messages
    status = r.status
    if start is None and r.start is None:
        # Only the start is unknown (previous leg never changed over, no restart): the card itself
        # may be fine; the leg has no time and the team is decided by the earlier leg.
        messages.append("no start time: the previous leg did not change over and the leg has no restart")
        if not r.missing and d.override is None:
            status = Status.FINISHED if r.finish is not None else Status.DID_NOT_FINISH
    if r.start is not None and start is None:
        start = r.start
    return MemberResult(member.leg, member.order, member.name, member.key, course_name, status,
                        start, r.finish, r.time, r, restarted, tuple(messages))


def _combine_leg(leg_no: int, settings: LegSettings, members: list[MemberResult]) -> tuple[Status, float | None, float | None]:
    """(status, start, changeover) of a leg from its runners."""
    if not members:
        return Status.DID_NOT_START, None, None
    starts = [m.start for m in members if m.start is not None]
    start = min(starts) if starts else None
    if len(members) == 1:
        m = members[0]
        return m.status, m.start, m.finish
    if settings.parallel is ParallelRule.FIRST:
        ok = [m for m in members if m.status is Status.OK and m.finish is not None]
        if ok:
            return Status.OK, start, min(m.finish for m in ok if m.finish is not None)
    status = min((m.status for m in members), key=lambda s: _LEG_WORST.index(s) if s in _LEG_WORST else 0)
    finishes = [m.finish for m in members if m.finish is not None]
    changeover = max(finishes) if len(finishes) == len(members) else None
    if settings.parallel is ParallelRule.FIRST and finishes:
        changeover = min(finishes)
    return status, start, changeover


def _team_status(legs: Sequence[tuple[Status, bool]], any_data: bool) -> Status:
    """The team's status from its legs' (status, has_runner) in leg order (see the module doc)."""
    if any(s is Status.DISQUALIFIED for s, _ in legs):
        return Status.DISQUALIFIED
    for status, has_runner in legs:
        if not has_runner or status is Status.DID_NOT_START:
            return Status.DID_NOT_FINISH if any_data else Status.DID_NOT_START
        if status in _FINAL_BAD:
            return status
    for status, _ in legs:
        if status is not Status.OK:
            return status if status in _IN_FOREST else Status.ACTIVE
    return Status.OK


def time_team(cls: RelayClass, team: Team, forking: Mapping[Slot, str],
              courses: Mapping[str, Sequence[CourseControl]], data: Mapping[Slot, MemberData],
              *, zero_time: float | None = None, tz: tzinfo = UTC) -> TeamResult:
    """A team's result: every runner's punch check on the course of its position (the runner's
    own course, else the forking, else the leg's single course), changeovers leg by leg, the
    team's status and time. The same inputs always give the same result."""
    legs: list[LegResult] = []
    messages: list[str] = []
    changeover: float | None = None
    cumulative: float | None = 0.0
    any_data = any(_has_data(data.get(m.slot)) for m in team.members if 1 <= m.leg <= len(cls.legs))
    so_far: list[tuple[Status, bool]] = []
    for leg_no, settings in enumerate(cls.legs, 1):
        members: list[MemberResult] = []
        for m in team.on_leg(leg_no):
            if m.order > settings.runners:
                continue
            course = m.course or forking.get(m.slot)
            if course is None and len(settings.variants) == 1:
                course = settings.variants[0]
            mr = _time_member(cls, m, course, courses, data.get(m.slot), changeover, zero_time, tz)
            members.append(mr)
            messages += [f"{team.label()} leg {leg_no}: {msg}" for msg in mr.messages
                         if not msg.startswith(f"leg {leg_no}:")]
            messages += [f"{team.label()} {msg}" for msg in mr.messages if msg.startswith(f"leg {leg_no}:")]
        status, start, leg_changeover = _combine_leg(leg_no, settings, members)
        if not members:
            messages.append(f"{team.label()} leg {leg_no}: no runner")
        leg_time = leg_changeover - start if leg_changeover is not None and start is not None and status is Status.OK else None
        if leg_time is not None and cumulative is not None:
            cumulative += leg_time
        else:
            cumulative = None
        so_far.append((status, bool(members)))
        overall = _team_status(so_far, any_data)
        legs.append(LegResult(leg_no, tuple(members), status, start, leg_changeover, leg_time,
                              overall, cumulative if overall is Status.OK else None,
                              any(mr.restarted for mr in members)))
        changeover = leg_changeover
    team_status = legs[-1].overall_status if legs else Status.DID_NOT_START
    time = legs[-1].overall_time if legs and team_status is Status.OK else None
    if team_status is Status.OK and cls.max_time is not None and time is not None and time > cls.max_time:
        team_status = Status.OVER_TIME
        messages.append(f"{team.label()}: team time over the class max time")
    return TeamResult(team, team_status, legs[0].start if legs else None,
                      legs[-1].changeover if legs else None,
                      time if team_status in (Status.OK, Status.OVER_TIME) else None,
                      tuple(legs), tuple(messages))


# --- places --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedLeg:
    result: LegResult
    place: int | None  # the leg time's place among all teams' OK legs
    behind: float | None
    overall_place: int | None  # the team's place after this leg
    overall_behind: float | None


@dataclass(frozen=True)
class RankedTeam:
    result: TeamResult
    place: int | None
    behind: float | None
    legs: tuple[RankedLeg, ...]


@dataclass(frozen=True)
class RelayRanking:
    teams: tuple[RankedTeam, ...]  # in list order
    # The changeover order after each leg (leg number → teams in order): the speaker's view.
    changeovers: dict[int, tuple[RankedTeam, ...]] = field(default_factory=dict)


def _name(t: TeamResult) -> str:
    return t.team.name


def rank_relay(results: Iterable[TeamResult], *, resolution: float = 1.0,
               list_type: ListType = ListType.NORMAL) -> RelayRanking:
    """Team places, leg places and the standing after each leg (see the module doc)."""
    items = list(results)
    by_index: dict[Hashable, TeamResult] = dict(enumerate(items))
    team_rows = rank_class([ResultEntry(i, _name(r), r.status, r.time, r.team.not_competing)
                            for i, r in enumerate(items)], list_type, resolution)
    leg_count = max((len(r.legs) for r in items), default=0)
    leg_place: dict[tuple[Hashable, int], tuple[int | None, float | None]] = {}
    overall_place: dict[tuple[Hashable, int], tuple[int | None, float | None]] = {}
    overall_order: dict[int, list[Hashable]] = {}
    for leg_no in range(1, leg_count + 1):
        with_leg = [(i, r.legs[leg_no - 1], r) for i, r in enumerate(items) if len(r.legs) >= leg_no]
        rows = rank_class([ResultEntry(i, _name(r), leg.status, leg.time, r.team.not_competing)
                           for i, leg, r in with_leg], ListType.NORMAL, resolution)
        for row in rows:
            leg_place[(row.key, leg_no)] = (row.place, row.behind)
        rows = rank_class([ResultEntry(i, _name(r), leg.overall_status, leg.overall_time, r.team.not_competing)
                           for i, leg, r in with_leg], ListType.NORMAL, resolution)
        overall_order[leg_no] = [row.key for row in rows]
        for row in rows:
            overall_place[(row.key, leg_no)] = (row.place, row.behind)
    ranked: dict[Hashable, RankedTeam] = {}
    ordered: list[RankedTeam] = []
    for row in team_rows:
        r = by_index[row.key]
        legs = tuple(RankedLeg(leg, *leg_place[(row.key, leg.leg)], *overall_place[(row.key, leg.leg)])
                     for leg in r.legs)
        rt = RankedTeam(r, row.place, row.behind, legs)
        ranked[row.key] = rt
        ordered.append(rt)
    if list_type is ListType.NORMAL:
        ordered = _live_order(ordered)
    changeovers = {leg: tuple(ranked[k] for k in keys) for leg, keys in overall_order.items()}
    return RelayRanking(tuple(ordered), changeovers)


def _live_order(ordered: list[RankedTeam]) -> list[RankedTeam]:
    """Teams still out follow the finished OK teams, in their standing after their last leg
    (most legs done first, then cumulative time): the live order a speaker reads; teams out of
    the ranking (MP, DNF, ...) follow them."""
    def done(rt: RankedTeam) -> tuple[int, float, str]:
        legs = [rl for rl in rt.legs if rl.result.overall_status is Status.OK and rl.result.overall_time is not None]
        last = legs[-1].result.overall_time if legs else 0.0
        return (-len(legs), last or 0.0, rt.result.team.name.casefold())

    ok = [rt for rt in ordered if rt.result.status is Status.OK]
    out = [rt for rt in ordered if rt.result.status in _IN_FOREST]
    rest = [rt for rt in ordered if rt.result.status is not Status.OK and rt.result.status not in _IN_FOREST]
    return ok + sorted(out, key=done) + rest
