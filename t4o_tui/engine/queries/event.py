"""The event's changes made by hand in the TUI (an entry edited, station data turned off) and the
station data list. The event's other lists are in engine.event_lists, readouts in engine.readouts."""

from __future__ import annotations

from dataclasses import dataclass

import peewee

from t4o_tui.engine import event_lists
from t4o_tui.engine.event_setup import RaceInfo, SetupError, list_races

STATION_DATA_SHOWN = 500


def choose_race(db: peewee.Database, wanted: int | None, now: float) -> tuple[list[RaceInfo], RaceInfo | None]:
    """The event's races and the one to show: `wanted` if it still exists, else today's."""
    choices = list_races(db)
    return choices, event_lists.pick_race(choices, wanted, event_lists.event_today(db, now))


@dataclass(frozen=True)
class StationDataLine:
    """One piece of station data (a readout or a punch) as the station sent it."""

    id: int
    station: str
    card: str
    bib: str
    runner: str
    read_at: float | None
    source: str
    data_status: str
    active: bool


def station_data_lines(db: peewee.Database, limit: int = STATION_DATA_SHOWN) -> list[StationDataLine]:
    """The newest station data, newest first."""
    rows = db.execute_sql(
        "SELECT sd.id, COALESCE(st.name, ''), COALESCE(sd.card_number, ''), COALESCE(sd.bib, ''), "
        "TRIM(COALESCE(p.given, '') || ' ' || COALESCE(p.family, '')), sd.read_at, sd.source, "
        "COALESCE(sd.data_status, ''), sd.active "
        "FROM station_data sd LEFT JOIN station st ON st.id = sd.station_id LEFT JOIN entry e ON e.id = sd.entry_id "
        "LEFT JOIN person p ON p.id = e.person_id ORDER BY sd.id DESC LIMIT ?", (int(limit),)).fetchall()
    return [StationDataLine(int(r[0]), r[1], str(r[2]), str(r[3]), r[4], r[5], str(r[6] or ""), r[7], bool(r[8]))
            for r in rows]


def toggle_station_data(db: peewee.Database, row_id: int) -> bool:
    """Turn one piece of station data off (or back on); whether it is active now."""
    with db.atomic():
        db.execute_sql("UPDATE station_data SET active = NOT active WHERE id = ?", (row_id,))
        row = db.execute_sql("SELECT active FROM station_data WHERE id = ?", (row_id,)).fetchone()
    return bool(row and row[0])


# Another entered runner of the entry's race holding what the condition names (a bib, an SI card).
_HOLDER = ("SELECT p.given, p.family, c.name FROM entry e LEFT JOIN person p ON p.id = e.person_id "
           "LEFT JOIN class c ON c.id = e.class_id WHERE e.race_id = (SELECT race_id FROM entry WHERE id = ?) "
           "AND e.id <> ? AND e.status = 'entered' AND {} LIMIT 1")
_HOLDS = {
    "bib": "e.bib = ?",
    "card": "e.id IN (SELECT ec.entry_id FROM entry_card ec JOIN card k ON k.id = ec.card_id "
            "WHERE k.number = ? AND k.card_type = 'SI')",
}


def _refuse_taken(db: peewee.Database, entry_id: int, bib: str | None, card: str | None, status: str) -> None:
    if status != "entered":
        return  # a withdrawn entry holds nothing another runner needs
    for field, value in (("card", card), ("bib", bib)):
        if not value:
            continue
        row = db.execute_sql(_HOLDER.format(_HOLDS[field]), (entry_id, entry_id, value)).fetchone()
        if row is not None:
            who = f"{row[0] or ''} {row[1] or ''}".strip() or "another runner"
            raise SetupError(field, f"{value} is {who}'s" + (f" ({row[2]})" if row[2] else "")
                                    + ": take it from them first")


def edit_entry(db: peewee.Database, entry_id: int, *, class_id: int | None, bib: str | None, card: str | None,
               status: str, now: float) -> None:
    """Save an entry edited by hand, and mark it so: imports will not overwrite it. A bib or card that
    another entered runner of the race holds is refused (SetupError naming them): station data of
    that card, or a finish by that bib, would be taken for either."""
    with db.atomic():
        _refuse_taken(db, entry_id, bib, card, status)
        db.execute_sql("UPDATE entry SET class_id=?, bib=?, status=?, hand_edited=1, updated_at=? WHERE id=?",
                       (class_id, bib, status, now, entry_id))
        db.execute_sql("UPDATE start SET bib=? WHERE entry_id=?", (bib, entry_id))
        db.execute_sql("DELETE FROM entry_card WHERE entry_id=?", (entry_id,))
        if card:
            db.execute_sql("INSERT OR IGNORE INTO card(number, card_type) VALUES (?, 'SI')", (card,))
            db.execute_sql("INSERT INTO entry_card(entry_id, card_id) SELECT ?, id FROM card "
                           "WHERE number=? AND card_type='SI'", (entry_id, card))
