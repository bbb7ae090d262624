"""Readouts at the station, as the Readout view and split tickets see them: plain queries returning
dataclasses (no SQL in the TUI)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

import peewee

from t4o_tui.orienteering.punch_check import DataStatus, Status
from t4o_tui.orienteering.split_ticket import Ticket, TicketLine

SOURCE_PREFIX = "SI station"  # source of station data read straight from a station (si-readout)
STATE_KEY = "station"  # TaskState key of a si-readout task's connection state
FINAL = (Status.OK.value, Status.MISSING_PUNCH.value, Status.DID_NOT_FINISH.value, Status.DISQUALIFIED.value,
         Status.OVER_TIME.value)


@dataclass(frozen=True)
class ReadoutRow:
    station_data_id: int
    read_at: float | None
    card: str
    card_type: str | None
    entry_id: int | None
    name: str
    class_name: str
    club: str
    status: str  # the result's status, else the data status ("card not found"), else "not processed"
    time: float | None
    missing: str | None
    data_status: str | None


@dataclass(frozen=True)
class UnknownCard:
    card: str
    read_at: float | None
    times: int  # readouts of this card without a runner
    station_data_id: int


@dataclass(frozen=True)
class StationState:
    task: str
    state: str  # connected | waiting | disconnected | stopped
    port: str
    station: int | None
    message: str
    since: float | None
    readouts: int


def _conn(db: peewee.Database | sqlite3.Connection) -> sqlite3.Connection:
    return db if isinstance(db, sqlite3.Connection) else db.connection()


def recent_readouts(db: peewee.Database | sqlite3.Connection, limit: int = 50) -> list[ReadoutRow]:
    """The latest readouts from stations, newest first, with the runner and result they gave."""
    rows = _conn(db).execute(
        "SELECT sd.id, sd.read_at, COALESCE(sd.card_number, ''), sd.card_type, sd.entry_id, "
        "TRIM(COALESCE(p.given, '') || ' ' || COALESCE(p.family, '')), COALESCE(c.name, ''), COALESCE(o.name, ''), "
        "r.status, r.time, r.missing, sd.data_status, sd.processed_at "
        "FROM station_data sd LEFT JOIN entry e ON e.id = sd.entry_id LEFT JOIN person p ON p.id = e.person_id "
        "LEFT JOIN class c ON c.id = e.class_id LEFT JOIN organisation o ON o.id = e.organisation_id "
        "LEFT JOIN result r ON r.entry_id = sd.entry_id "
        "WHERE sd.source LIKE ? || '%' AND sd.active = 1 ORDER BY sd.id DESC LIMIT ?", (SOURCE_PREFIX, limit)).fetchall()
    out = []
    for sid, read_at, card, ctype, eid, name, cls, club, status, t, missing, data_status, processed in rows:
        shown = data_status if eid is None and data_status else status or ("not processed" if processed is None else "-")
        out.append(ReadoutRow(sid, read_at, card, ctype, eid, name, cls, club, shown, t, missing, data_status))
    return out


def unknown_cards(db: peewee.Database | sqlite3.Connection) -> list[UnknownCard]:
    """Cards read out that are on no entry of the race: for the admin to give to a runner."""
    rows = _conn(db).execute(
        "SELECT card_number, MAX(read_at), COUNT(*), MAX(id) FROM station_data "
        "WHERE entry_id IS NULL AND data_status = ? AND active = 1 AND source LIKE ? || '%' "
        "GROUP BY card_number ORDER BY MAX(id) DESC", (DataStatus.CARD_NOT_FOUND.value, SOURCE_PREFIX)).fetchall()
    return [UnknownCard(str(c), r, n, i) for c, r, n, i in rows]


def station_states(db: peewee.Database | sqlite3.Connection) -> list[StationState]:
    """The connection state every station readout task recorded last."""
    out = []
    for name, value in _conn(db).execute(
            "SELECT t.name, s.value FROM task_state s JOIN task t ON t.id = s.task_id WHERE s.key = ? ORDER BY t.name",
            (STATE_KEY,)):
        try:
            v: dict[str, Any] = json.loads(value)
        except ValueError:
            continue
        out.append(StationState(name, str(v.get("state", "?")), str(v.get("port", "")), v.get("station"),
                                str(v.get("message", "")), v.get("since"), int(v.get("readouts", 0))))
    return out


def ticket_for(conn: sqlite3.Connection, station_data_id: int, event_name: str) -> Ticket | None:
    """The split ticket of one readout: the runner's result now, place among the class so far."""
    row = conn.execute(
        "SELECT sd.card_number, sd.read_at, sd.created_at, sd.entry_id, sd.data_status, "
        "TRIM(COALESCE(p.given, '') || ' ' || COALESCE(p.family, '')), COALESCE(c.name, ''), COALESCE(o.name, ''), "
        "e.class_id, e.status, r.status, r.time, r.start_time, r.finish_time, r.splits "
        "FROM station_data sd LEFT JOIN entry e ON e.id = sd.entry_id LEFT JOIN person p ON p.id = e.person_id "
        "LEFT JOIN class c ON c.id = e.class_id LEFT JOIN organisation o ON o.id = e.organisation_id "
        "LEFT JOIN result r ON r.entry_id = sd.entry_id WHERE sd.id = ?", (station_data_id,)).fetchone()
    if row is None:
        return None
    (card, read_at, created, eid, data_status, name, cls, club, class_id, entry_status, status, t, start, finish,
     splits) = row
    read = read_at if read_at is not None else created
    if eid is None:
        return Ticket(event_name, "", "", "", str(card or ""), data_status or "not processed", None, None, 0, None,
                      None, read, (), note=f"Card {card}: {data_status or 'not processed'}. Please see the secretariat.")
    lines: list[TicketLine] = []
    previous: float | None = 0.0
    for n, (code, split) in enumerate(json.loads(splits or "[]"), start=1):
        leg = split - previous if split is not None and previous is not None else None
        lines.append(TicketLine(n, str(code), split, leg, missing=split is None))
        previous = split
    finish_leg = t - previous if t is not None and previous is not None else None
    place = None
    finished = 0
    if class_id is not None:
        marks = ",".join("?" * len(FINAL))
        finished = conn.execute(
            f"SELECT COUNT(*) FROM result r JOIN entry e ON e.id = r.entry_id WHERE e.class_id = ? AND r.status IN ({marks})",
            (class_id, *FINAL)).fetchone()[0]
        if status == Status.OK.value and t is not None and entry_status != "not_competing":
            place = 1 + conn.execute(
                "SELECT COUNT(*) FROM result r JOIN entry e ON e.id = r.entry_id WHERE e.class_id = ? AND r.status = 'OK' "
                "AND r.time < ? AND e.status != 'not_competing'", (class_id, t)).fetchone()[0]
    return Ticket(event_name, name, cls, club, str(card or ""), status or "not processed", t, place, finished, start,
                  finish, read, tuple(lines), finish_leg=finish_leg)
