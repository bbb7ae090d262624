"""What the timing jobs read from the event: courses as punch-check input, entries, stations."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from t4o_tui.orienteering.punch_check import CardData, ControlKind, CourseControl, Punch, TimeBase

# Course control kinds the punch check walks; crossing points and map exchanges are not punched.
_PUNCH_KINDS = {"start": ControlKind.START, "control": ControlKind.CONTROL, "finish": ControlKind.FINISH}


@dataclass
class EntryInfo:
    id: int
    class_id: int | None
    class_name: str
    name: str
    club: str
    bib: str | None
    start_time: float | None
    course_id: int | None
    max_time: float | None
    start_source: str
    result_type: str
    status: str


@dataclass
class RaceData:
    race_id: int
    zero_time: float | None
    courses: dict[int, list[CourseControl]] = field(default_factory=dict)
    course_names: dict[int, str] = field(default_factory=dict)
    course_lengths: dict[int, float | None] = field(default_factory=dict)
    entries: dict[int, EntryInfo] = field(default_factory=dict)
    by_card: dict[str, list[int]] = field(default_factory=dict)
    by_bib: dict[str, list[int]] = field(default_factory=dict)
    stations: dict[int, tuple[str, str, int]] = field(default_factory=dict)  # id -> (name, role, priority)


def load_race(conn: sqlite3.Connection, race_id: int) -> RaceData:
    """Everything the punch check needs for a race, in a handful of queries."""
    race = conn.execute("SELECT zero_time, first_start FROM race WHERE id=?", (race_id,)).fetchone()
    rd = RaceData(race_id, race[0] if race[0] is not None else race[1])
    for cid, name, length in conn.execute("SELECT id, name, length FROM course WHERE race_id=?", (race_id,)):
        rd.courses[cid], rd.course_names[cid], rd.course_lengths[cid] = [], name, length
    for course_id, code, kind, exempt, leg in conn.execute(
        "SELECT cc.course_id, c.code, cc.kind, c.exempt, cc.leg_length FROM course_control cc "
        "JOIN control c ON c.id = cc.control_id JOIN course co ON co.id = cc.course_id "
        "WHERE co.race_id=? ORDER BY cc.course_id, cc.seq", (race_id,)):
        if kind in _PUNCH_KINDS:
            rd.courses[course_id].append(CourseControl(code, _PUNCH_KINDS[kind], bool(exempt), leg))
    for row in conn.execute(
        "SELECT e.id, e.class_id, COALESCE(c.name, ''), TRIM(COALESCE(p.given, '') || ' ' || COALESCE(p.family, '')), "
        "COALESCE(o.name, ''), COALESCE(s.bib, e.bib), s.start_time, COALESCE(s.course_id, c.course_id), c.max_time, "
        "COALESCE(c.start_source, 'drawn'), COALESCE(c.result_type, 'normal'), e.status "
        "FROM entry e LEFT JOIN class c ON c.id = e.class_id LEFT JOIN person p ON p.id = e.person_id "
        "LEFT JOIN organisation o ON o.id = e.organisation_id LEFT JOIN start s ON s.entry_id = e.id "
        "WHERE e.race_id=? AND e.status != 'withdrawn'", (race_id,)):
        info = EntryInfo(*row)
        rd.entries[info.id] = info
        if info.bib:
            rd.by_bib.setdefault(str(info.bib), []).append(info.id)
    for eid, number in conn.execute(
        "SELECT ec.entry_id, c.number FROM entry_card ec JOIN card c ON c.id = ec.card_id JOIN entry e ON e.id = ec.entry_id "
        "WHERE e.race_id=? AND e.status != 'withdrawn'", (race_id,)):
        rd.by_card.setdefault(str(number), []).append(eid)
    for sid, name, role, prio in conn.execute("SELECT id, name, role, priority FROM station"):
        rd.stations[sid] = (name, role, prio)
    return rd


def station_id(conn: sqlite3.Connection, role: str) -> int:
    row = conn.execute("SELECT id FROM station WHERE role=? ORDER BY priority, id LIMIT 1", (role,)).fetchone()
    if row is None:
        cur = conn.execute("INSERT INTO station(name, role, priority) VALUES (?, ?, ?)", (role.replace("_", " ").title(), role, 50))
        return int(cur.lastrowid or 0)
    return int(row[0])


def card_of(row: dict[str, Any]) -> CardData:
    """Station data (a row as a dict) as punch-check input."""
    def p(code: str, t: float | None) -> Punch | None:
        return Punch(code, t) if t is not None else None

    punches = tuple(Punch(str(c), t) for c, t in json.loads(row["punches"] or "[]"))
    return CardData(punches=punches, start=p("S", row["start_time"]), finish=p("F", row["finish_time"]),
                    check=p("C", row["check_time"]), clear=p("CL", row["clear_time"]),
                    time_base=TimeBase.HALF_DAY if row["twelve_hour"] else TimeBase.EPOCH)


def insert_station_data(conn: sqlite3.Connection, *, race_id: int, station: int, card: str | None, bib: str | None,
                        read_at: float | None, card_data: CardData | None, source: str, dedupe_key: str | None,
                        now: float, status: str | None = None) -> int | None:
    """Store raw data as received; None when the same data (dedupe key) is already stored."""
    def t(p: Punch | None) -> float | None:
        return p.time if p is not None else None

    punches = json.dumps([[p.code, p.time] for p in card_data.punches]) if card_data else "[]"
    cur = conn.execute(
        "INSERT OR IGNORE INTO station_data(race_id, station_id, card_number, bib, read_at, punches, start_time, "
        "finish_time, check_time, clear_time, status, twelve_hour, source, dedupe_key, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (race_id, station, card, bib, read_at, punches, t(card_data.start) if card_data else None,
         t(card_data.finish) if card_data else None, t(card_data.check) if card_data else None,
         t(card_data.clear) if card_data else None, status, int(bool(card_data and card_data.time_base == TimeBase.HALF_DAY)),
         source, dedupe_key, now))
    return int(cur.lastrowid or 0) if cur.rowcount else None
