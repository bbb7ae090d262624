"""Relay timing: the pass Process Station Data runs for relay runners, and relay standings.

A relay runner is an ordinary entry (identified by card like anyone), but a leg's start depends on
the team's previous leg, so relay runners are timed team by team: every runner of a touched team
is checked again from all their active station data (relay.time_team), the runners' Result rows
and the team's TeamResult row written in committed steps, like the individual pass.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from t4o_tui.engine import corrections
from t4o_tui.engine.job import RunContext
from t4o_tui.jobs.relay_store import (
    RelayClassInfo,
    RelayRace,
    TeamInfo,
    load_relay,
    relay_class_ids,
)
from t4o_tui.jobs.timing_data import RaceData, card_of
from t4o_tui.orienteering import relay
from t4o_tui.orienteering.punch_check import (
    CardData,
    SplitTime,
    StationReading,
    StationRole,
    Status,
    merge_station_statuses,
)
from t4o_tui.orienteering.ranking import ListType
from t4o_tui.orienteering.simulator import SimEntry, SimReadout, SimSettings, simulate_runner

TEAM_STEP = 1000  # teams whose results one committed step writes
_PUNCHING = (StationRole.READOUT.value, StationRole.OVERRIDE.value)


def relay_entries(conn: sqlite3.Connection, race_id: int) -> dict[int, int | None]:
    """Relay runners of the race: entry -> the course of the runner's position (None: not known yet)."""
    out: dict[int, int | None] = {}
    single: dict[tuple[int, int], int] = {}
    for cid, leg, course in conn.execute(
            "SELECT l.class_id, l.leg, MIN(lc.course_id) FROM relay_leg l JOIN class c ON c.id = l.class_id "
            "JOIN relay_leg_course lc ON lc.relay_leg_id = l.id WHERE c.race_id=? GROUP BY l.id "
            "HAVING count(*) = 1", (race_id,)):
        single[(cid, leg)] = course
    for eid, course, cid, leg in conn.execute(
            "SELECT m.entry_id, m.course_id, t.class_id, m.leg FROM team_member m JOIN team t ON t.id = m.team_id "
            "WHERE t.race_id=? AND m.entry_id IS NOT NULL", (race_id,)):
        out[eid] = course if course is not None else single.get((cid, leg))
    return out


def annotate(conn: sqlite3.Connection, rd: RaceData) -> set[int]:
    """Mark the relay runners in `rd`: their course is their position's (so identification says
    'no course' only where the position really has none); returns them, for the team pass."""
    members = relay_entries(conn, rd.race_id)
    for eid, course in members.items():
        info = rd.entries.get(eid)
        if info is not None:
            info.course_id = course
    return set(members)


def member_data(rd: RaceData, rows: Sequence[sqlite3.Row | dict[str, Any]]) -> tuple[relay.MemberData, int | None]:
    """What a runner's active station data says, as relay.time_team wants it: the best-priority
    readout (the later one on a tie), an override status, the status other stations give, and the
    first finish-station time (the changeover before the card is read); and the readout's id."""
    best: tuple[int, float] | None = None
    best_id: int | None = None
    card: CardData | None = None
    override: Status | None = None
    readings = []
    finish_seen: float | None = None
    edits: list[corrections.CardEdit] = []
    for sd in rows:
        _, role, prio = rd.stations.get(sd["station_id"], ("?", "readout", 10))
        # A punch or time correction (engine.corrections) edits the card below; it is not a card.
        edit = corrections.card_edit(sd) if corrections.edits_card(sd["source"]) else None
        if edit is not None:
            edits.append(edit)
            continue
        given = Status(sd["status"]) if sd["status"] else None
        if role == StationRole.OVERRIDE.value and given is not None:
            override = given
        if role in _PUNCHING and (sd["punches"] not in (None, "[]") or sd["finish_time"]):
            key = (prio, -(sd["read_at"] or sd["id"]))
            if best is None or key < best:
                best, card, best_id = key, card_of(dict(sd)), int(sd["id"])
        elif role not in _PUNCHING:
            readings.append(StationReading(StationRole(role), given, prio, float(sd["read_at"] or sd["id"])))
            if role == StationRole.FINISH.value:
                t = sd["finish_time"] or sd["read_at"]
                if t is not None and (finish_seen is None or t < finish_seen):
                    finish_seen = float(t)
    if edits:
        # No zone here to place a 12-hour card: its corrections are applied as given (SI 5 relays are rare).
        card, _ = corrections.apply_to_card(card if card is not None else CardData(), edits, reference=None,
                                            tz=datetime.now().astimezone().tzinfo or ZoneInfo("UTC"))
    seen = merge_station_statuses(readings) if readings else None
    return relay.MemberData(card, override, seen if seen is not Status.INACTIVE else None, finish_seen), best_id


def _courses(rd: RaceData) -> dict[str, Any]:
    return {rd.course_names[cid]: controls for cid, controls in rd.courses.items()}


def time_teams(rd: RaceData, rr: RelayRace, team_ids: Iterable[int], rows_by_entry: dict[int, list[Any]],
               zone: Any) -> tuple[list[relay.TeamResult], dict[int, int | None]]:
    """The teams' results, and the readout each runner's result comes from (entry -> station data)."""
    courses = _courses(rd)
    out = []
    deciding: dict[int, int | None] = {}
    for tid in team_ids:
        t = rr.teams[tid]
        info = rr.classes[t.class_id]
        data = {}
        for slot, eid in t.entries.items():
            data[slot], deciding[eid] = member_data(rd, rows_by_entry.get(eid, []))
        out.append(relay.time_team(info.settings, t.team, t.forking, courses, data, zero_time=rd.zero_time, tz=zone))
    return out, deciding


def _result_row(rd: RaceData, eid: int, m: relay.MemberResult) -> dict[str, Any]:
    splits = m.punch.splits if m.punch is not None else ()
    return {"entry_id": eid, "status": m.status.value, "start_time": m.start, "finish_time": m.finish, "time": m.time,
            "splits": json.dumps([[s.code, s.time] for s in splits]),
            "missing": " ".join(m.punch.missing) if m.punch is not None and m.punch.missing else None}


def _legs_json(r: relay.TeamResult) -> str:
    return json.dumps([{"leg": leg.leg, "status": leg.status.value, "start": leg.start, "changeover": leg.changeover,
                        "time": leg.time, "overall_status": leg.overall_status.value, "overall_time": leg.overall_time,
                        "restarted": leg.restarted} for leg in r.legs], separators=(",", ":"))


def process_teams(ctx: RunContext, rd: RaceData, entry_ids: Iterable[int], zone: Any, now: float) -> dict[str, int]:
    """Time every team that has a runner among `entry_ids`; returns team counts by status."""
    conn = ctx.db.connection()
    wanted = set(entry_ids)
    if not wanted:
        return {}
    rr = load_relay(conn, rd.race_id)
    team_ids = sorted({rr.member_of[e][0] for e in wanted if e in rr.member_of})
    counts: dict[str, int] = defaultdict(int)
    shown = 0
    for k in range(0, len(team_ids), TEAM_STEP):
        step = team_ids[k:k + TEAM_STEP]
        ctx.check()
        entries = [eid for tid in step for eid in rr.teams[tid].entries.values()]
        rows_by_entry: dict[int, list[Any]] = defaultdict(list)
        conn.row_factory = sqlite3.Row
        try:
            for chunk in (entries[i:i + 500] for i in range(0, len(entries), 500)):
                marks = ",".join("?" * len(chunk))
                for sd in conn.execute(f"SELECT * FROM station_data WHERE entry_id IN ({marks}) AND active=1 ORDER BY id", chunk):
                    rows_by_entry[sd["entry_id"]].append(sd)
        finally:
            conn.row_factory = None
        results, deciding = time_teams(rd, rr, step, rows_by_entry, zone)
        with ctx.transaction():
            c = ctx.db.connection()
            member_rows = []
            for r in results:
                t = rr.teams[int(str(r.team.key))]
                for leg in r.legs:
                    for m in leg.members:
                        eid = t.entries[(m.leg, m.order)]
                        row = _result_row(rd, eid, m)
                        row["station_data_id"] = deciding.get(eid) if m.punch is not None else None
                        row["now"] = now
                        member_rows.append(row)
                counts[r.status.value] += 1
                if r.status not in (Status.OK, Status.STARTED, Status.CHECKED, Status.FINISHED, Status.INACTIVE, Status.ACTIVE):
                    shown += 1
                    if shown <= 200:
                        why = "; ".join(m for m in r.messages if "restart" not in m)
                        ctx.info(f"{rr.classes[t.class_id].name} {t.bib or ''} {t.name}: {r.status.value}" + (f" ({why})" if why else ""))
            c.executemany(
                "INSERT INTO result(entry_id, status, start_time, finish_time, time, splits, missing, station_data_id, computed_at) "
                "VALUES (:entry_id, :status, :start_time, :finish_time, :time, :splits, :missing, :station_data_id, :now) "
                "ON CONFLICT(entry_id) DO UPDATE SET status=excluded.status, start_time=excluded.start_time, "
                "finish_time=excluded.finish_time, time=excluded.time, splits=excluded.splits, missing=excluded.missing, "
                "station_data_id=excluded.station_data_id, computed_at=excluded.computed_at, "
                "overdue=CASE WHEN excluded.finish_time IS NOT NULL THEN 0 ELSE result.overdue END", member_rows)
            c.executemany(
                "INSERT INTO team_result(team_id, status, start_time, finish_time, time, legs, computed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(team_id) DO UPDATE SET status=excluded.status, "
                "start_time=excluded.start_time, finish_time=excluded.finish_time, time=excluded.time, legs=excluded.legs, "
                "computed_at=excluded.computed_at",
                [(int(str(r.team.key)), r.status.value, r.start, r.finish, r.time, _legs_json(r), now) for r in results])
    ctx.info(f"relay: {len(team_ids)} teams timed: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1])))
    return counts


# ---- standings from stored results (lists, TUI) ------------------------------------------------------


@dataclass
class ClassStanding:
    info: RelayClassInfo
    ranking: relay.RelayRanking
    teams: dict[int, TeamInfo]
    splits: dict[int, list[tuple[str, float | None]]]  # entry -> splits as stored


def _member_from_row(m: relay.TeamMember, eid: int, row: tuple[Any, ...] | None, course: str | None) -> relay.MemberResult:
    if row is None:
        return relay.MemberResult(m.leg, m.order, m.name, m.key, course, Status.INACTIVE, None, None, None)
    status, start, finish, t = row
    return relay.MemberResult(m.leg, m.order, m.name, m.key, course,
                              Status(status) if status in Status._value2member_map_ else Status.INACTIVE, start, finish, t)


def standings(conn: sqlite3.Connection, race_id: int, *, class_ids: Iterable[int] | None = None,
              resolution: float = 1.0) -> list[ClassStanding]:
    """Each relay class's ranking rebuilt from the stored results (team_result + the runners'
    results): what the lists and the TUI show, without processing anything again."""
    ids = set(class_ids) if class_ids is not None else relay_class_ids(conn, race_id)
    rr = load_relay(conn, race_id, class_ids=ids)
    stored: dict[int, tuple[Any, ...]] = {}
    for row in conn.execute("SELECT r.team_id, r.status, r.start_time, r.finish_time, r.time, r.legs FROM team_result r "
                            "JOIN team t ON t.id = r.team_id WHERE t.race_id=?", (race_id,)):
        stored[row[0]] = row
    results: dict[int, tuple[Any, ...]] = {}
    splits: dict[int, list[tuple[str, float | None]]] = {}
    for eid, status, start, finish, t, sp in conn.execute(
            "SELECT r.entry_id, r.status, r.start_time, r.finish_time, r.time, r.splits FROM result r "
            "JOIN entry e ON e.id = r.entry_id WHERE e.race_id=?", (race_id,)):
        if eid in rr.member_of:
            results[eid] = (status, start, finish, t)
            splits[eid] = [(str(c), x) for c, x in json.loads(sp or "[]")]
    out = []
    for cid, info in sorted(rr.classes.items(), key=lambda kv: kv[1].name.casefold()):
        team_results = []
        for t in rr.by_class(cid):
            members_by_leg: dict[int, list[relay.MemberResult]] = defaultdict(list)
            for m in t.team.members:
                eid = t.entries[m.slot]
                members_by_leg[m.leg].append(_member_from_row(m, eid, results.get(eid), t.forking.get(m.slot)))
            row = stored.get(t.id)
            legs_json = json.loads(row[5]) if row else []
            legs = []
            for i in range(1, len(info.settings.legs) + 1):
                lj = next((x for x in legs_json if x["leg"] == i), None)
                members = tuple(sorted(members_by_leg.get(i, []), key=lambda m: m.order))
                if lj is None:
                    status = Status.INACTIVE if members else Status.DID_NOT_START
                    legs.append(relay.LegResult(i, members, status, None, None, None, Status.INACTIVE, None))
                else:
                    legs.append(relay.LegResult(i, members, Status(lj["status"]), lj["start"], lj["changeover"], lj["time"],
                                                Status(lj["overall_status"]), lj["overall_time"], bool(lj.get("restarted"))))
            status = Status(row[1]) if row else Status.INACTIVE
            team_results.append(relay.TeamResult(t.team, status, row[2] if row else None, row[3] if row else None,
                                                 row[4] if row else None, tuple(legs)))
        lt = ListType(info.result_type) if info.result_type in ListType._value2member_map_ else ListType.NORMAL
        ranking = relay.rank_relay(team_results, resolution=resolution, list_type=lt)
        out.append(ClassStanding(info, ranking, {t.id: t for t in rr.by_class(cid)}, splits))
    return out


def split_times(splits: Sequence[tuple[str, float | None]]) -> tuple[SplitTime, ...]:
    return tuple(SplitTime(c, t, t is None) for c, t in splits)


# ---- Test Timing -------------------------------------------------------------------------------------


def simulate_relays(conn: sqlite3.Connection, rd: RaceData, settings: SimSettings, now: float,
                    done: set[int]) -> list[SimReadout]:
    """Test Timing for relay runners: each team's legs chained, leg 1 from the mass start, each
    later leg from the simulated changeover (or the restart, when that came first). Every runner's
    race is seeded by the runner alone (as simulator.simulate_runner), so the chain is the same on
    every run. Readouts of runners not in `done` whose finish has passed, earliest first."""
    rr = load_relay(conn, rd.race_id)
    due: list[SimReadout] = []
    for t in rr.teams.values():
        cls = rr.classes[t.class_id].settings
        changeover: float | None = None
        for leg_no, leg in enumerate(cls.legs, 1):
            finishes: list[float] = []
            members = t.team.on_leg(leg_no)
            for m in members:
                eid = t.entries[m.slot]
                course = t.forking.get(m.slot) or (leg.variants[0] if len(leg.variants) == 1 else None)
                cid = rr.course_ids.get(course or "")
                if leg_no == 1:
                    start = m.start if m.start is not None else cls.mass_start
                elif changeover is None:
                    start = leg.restart
                else:
                    start = min(changeover, leg.restart) if leg.restart is not None else changeover
                if start is None or cid is None or cid not in rd.courses:
                    continue
                r = simulate_runner(SimEntry(eid, start, rd.courses[cid], rd.course_lengths.get(cid)), settings)
                if r is None or r.card.finish is None or r.card.finish.time is None:
                    continue
                finishes.append(r.card.finish.time)
                if eid not in done and r.card.finish.time <= now:
                    due.append(SimReadout(r.key, r.card, min(r.read_at, now), r.pace, r.missing))
            if not finishes or len(finishes) < len(members):
                changeover = min(finishes) if finishes and leg.parallel is relay.ParallelRule.FIRST else None
            else:
                changeover = min(finishes) if leg.parallel is relay.ParallelRule.FIRST else max(finishes)
    due.sort(key=lambda r: (r.card.finish.time if r.card.finish and r.card.finish.time else 0.0, repr(r.key)))
    return due


def result_rows(conn: sqlite3.Connection, race_id: int, class_id: int, zone: Any,
                resolution: float = 1.0) -> list[tuple[str, ...]]:
    """A relay class as the TUI's Results view lists it (key, place, bib, name, club, time, behind,
    status): each team's row (team place, team time), then a row per runner of each leg: leg time
    and leg place, the changeover clock time, and the team's place after the leg (→ 3.)."""
    from t4o_tui.jobs.result_list import clock

    found = standings(conn, race_id, class_ids=[class_id], resolution=resolution)
    if not found:
        return []
    c = found[0]
    rows: list[tuple[str, ...]] = []
    for rt in c.ranking.teams:
        r = rt.result
        t = c.teams[int(str(r.team.key))]
        rows.append((f"team{t.id}", f"{rt.place}." if rt.place else "", t.bib or "", t.name, ", ".join(t.clubs),
                     clock(r.time, resolution) if r.time is not None else "",
                     f"+{clock(rt.behind, resolution)}" if rt.behind else "", r.status.value))
        for rl in rt.legs:
            leg = rl.result
            members = leg.members or (relay.MemberResult(leg.leg, 1, "– no runner", None, None, leg.status, None, None, None),)
            for m in members:
                over = datetime.fromtimestamp(leg.changeover, zone).strftime("%H:%M:%S") if leg.changeover else ""
                place = f" ({rl.place}.)" if rl.place and len(members) == 1 else ""
                rows.append((f"team{t.id}/{m.leg}.{m.order}", "", f"  {m.leg}" + (f".{m.order}" if len(members) > 1 else ""),
                             f"  {m.name}", (over + " restart" if leg.restarted else over).strip(),
                             (clock(m.time, resolution) + place) if m.time is not None else "",
                             f"→ {rl.overall_place}." if rl.overall_place else "", m.status.value))
    return rows
