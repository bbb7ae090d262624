"""The readout desk's unknown cards (issue 17): a card read out that is on no entry of the race is
given to its runner (an existing entry, or a new entry made for it).

The card goes on the entry in the race (entry_card, as Edit entry writes it), and the admin's act is
kept as a `correction` row of kind "card" (who, when, what: "card 7777777 given, was 2000001"), so
the runner's corrections show it beside the others. Nothing is deleted: the card's station data is
marked for processing again, and Process Station Data (jobs.card_desk runs it at once) finds the
runner by the card. A card on another entry of the race is refused unless the admin says to move it;
the other runner's result is then computed again from what is left of their data.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import peewee

from t4o_tui.engine.corrections import CorrectionError
from t4o_tui.orienteering.punch_check import DataStatus

KIND = "card"  # the correction kind of a card given at the readout desk


class CardDeskError(CorrectionError):
    """One field is wrong (`field` names it); the message is one line."""


class CardTaken(CardDeskError):
    """The card is on another entry of the race: the admin may move it (move=True)."""

    def __init__(self, holder: EntryChoice, card: str) -> None:
        super().__init__("card", f"card {card} is on {holder.label()}: move it to this runner?")
        self.holder = holder


@dataclass(frozen=True)
class EntryChoice:
    entry_id: int
    name: str
    class_name: str
    club: str
    bib: str
    card: str  # the entry's card now ("" when none)

    def label(self) -> str:
        bits = [self.name or f"entry {self.entry_id}", self.class_name]
        if self.bib:
            bits.append(f"bib {self.bib}")
        return " · ".join(b for b in bits if b)

    def matches(self, text: str) -> bool:
        """As the admin types: every word in the name, bib, club, class or card."""
        hay = f"{self.name} {self.bib} {self.club} {self.class_name} {self.card}".lower()
        return all(w in hay for w in text.lower().split())


@dataclass(frozen=True)
class CardDesk:
    """What the dialog needs: the card's race, its entries and its classes."""

    card: str
    race_id: int
    race_name: str
    entries: list[EntryChoice]
    classes: list[tuple[int, str]]  # (id, name), in the race's order


@dataclass(frozen=True)
class Given:
    entry_id: int
    race_id: int
    name: str
    moved_from: EntryChoice | None
    readouts: int  # station data rows of the card marked for processing


def _conn(db: peewee.Database | sqlite3.Connection) -> sqlite3.Connection:
    return db if isinstance(db, sqlite3.Connection) else db.connection()


def _card_race(conn: sqlite3.Connection, card: str) -> int:
    row = conn.execute("SELECT race_id FROM station_data WHERE card_number=? AND entry_id IS NULL AND active=1 "
                       "ORDER BY (data_status = ?) DESC, id DESC LIMIT 1",
                       (card, DataStatus.CARD_NOT_FOUND.value)).fetchone()
    if row is None:
        raise CardDeskError("card", f"card {card}: no readout of it is waiting for a runner")
    return int(row[0])


_ENTRIES = (
    "SELECT e.id, TRIM(COALESCE(p.given, '') || ' ' || COALESCE(p.family, '')), COALESCE(c.name, ''), "
    "COALESCE(o.name, ''), COALESCE(s.bib, e.bib, ''), "
    "COALESCE((SELECT MIN(ca.number) FROM entry_card ec JOIN card ca ON ca.id = ec.card_id WHERE ec.entry_id = e.id), '') "
    "FROM entry e LEFT JOIN person p ON p.id = e.person_id LEFT JOIN class c ON c.id = e.class_id "
    "LEFT JOIN organisation o ON o.id = e.organisation_id LEFT JOIN start s ON s.entry_id = e.id ")


def _choice(row: tuple[object, ...]) -> EntryChoice:
    eid, name, cls, club, bib, card = row
    return EntryChoice(int(str(eid)), str(name), str(cls), str(club), str(bib or ""), str(card or ""))


def desk(db: peewee.Database | sqlite3.Connection, card: str) -> CardDesk:
    """The card's race with its entries (by class and name) and classes (in a worker)."""
    conn = _conn(db)
    race_id = _card_race(conn, card)
    race = conn.execute("SELECT name FROM race WHERE id=?", (race_id,)).fetchone()
    entries = [_choice(r) for r in conn.execute(
        _ENTRIES + "WHERE e.race_id=? AND e.status != 'withdrawn' ORDER BY c.name, p.family, p.given, e.id", (race_id,))]
    classes = [(int(i), str(n)) for i, n in conn.execute(
        "SELECT id, name FROM class WHERE race_id=? ORDER BY name, id", (race_id,))]
    return CardDesk(card, race_id, str(race[0] if race else ""), entries, classes)


def _holder(conn: sqlite3.Connection, race_id: int, card: str, entry_id: int | None) -> EntryChoice | None:
    row = conn.execute(
        _ENTRIES + "WHERE e.race_id=? AND e.id != ? AND e.id IN (SELECT ec.entry_id FROM entry_card ec "
        "JOIN card ca ON ca.id = ec.card_id WHERE ca.number=?) ORDER BY e.id LIMIT 1",
        (race_id, entry_id if entry_id is not None else -1, card)).fetchone()
    return _choice(row) if row is not None else None


def _give(conn: sqlite3.Connection, race_id: int, card: str, entry_id: int, name: str, *, move: bool, who: str,
          now: float, created: bool) -> Given:
    holder = _holder(conn, race_id, card, entry_id)
    if holder is not None and not move:
        raise CardTaken(holder, card)
    previous = conn.execute("SELECT MIN(ca.number) FROM entry_card ec JOIN card ca ON ca.id = ec.card_id "
                            "WHERE ec.entry_id=?", (entry_id,)).fetchone()[0]
    conn.execute("INSERT OR IGNORE INTO card(number, card_type) VALUES (?, 'SI')", (card,))
    card_ids = [int(i) for (i,) in conn.execute("SELECT id FROM card WHERE number=?", (card,))]
    marks = ",".join("?" * len(card_ids))
    if holder is not None:
        conn.execute(f"DELETE FROM entry_card WHERE entry_id=? AND card_id IN ({marks})", (holder.entry_id, *card_ids))
        conn.execute("UPDATE entry SET hand_edited=1, updated_at=? WHERE id=?", (now, holder.entry_id))
        # The other runner's data is read again (what was theirs by this card goes to the new
        # runner); with nothing left, they have no result.
        left = conn.execute("UPDATE station_data SET processed_at=NULL WHERE entry_id=? AND active=1",
                            (holder.entry_id,)).rowcount
        if not left:
            conn.execute("DELETE FROM result WHERE entry_id=?", (holder.entry_id,))
    # One card per runner (as Edit entry): the card given replaces the one the entry had.
    conn.execute("DELETE FROM entry_card WHERE entry_id=?", (entry_id,))
    conn.execute("INSERT INTO entry_card(entry_id, card_id) SELECT ?, id FROM card WHERE number=? AND card_type='SI'",
                 (entry_id, card))
    if not created:
        # Imports keep a hand-edited entry as the admin left it.
        conn.execute("UPDATE entry SET hand_edited=1, updated_at=? WHERE id=?", (now, entry_id))
    readouts = conn.execute(
        "UPDATE station_data SET processed_at=NULL WHERE race_id=? AND card_number=? AND active=1 "
        "AND (entry_id IS NULL OR entry_id=?)", (race_id, card, holder.entry_id if holder else -1)).rowcount
    if previous and str(previous) != card:
        # Readouts of the card the entry had are no longer theirs: identified again.
        conn.execute("UPDATE station_data SET processed_at=NULL WHERE entry_id=? AND card_number=? AND active=1",
                     (entry_id, str(previous)))
    what = "new entry for card " + card if created else f"card {card} given" + (
        f" (was {previous})" if previous and str(previous) != card else "")
    if holder is not None:
        what += f", moved from {holder.label()}"
    conn.execute("INSERT INTO correction(race_id, entry_id, kind, control, note, who, created_at) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)", (race_id, entry_id, KIND, card, what, who, now))
    return Given(entry_id, race_id, name, holder, int(readouts or 0))


def assign_card(db: peewee.Database, card: str, entry_id: int, *, move: bool = False, who: str, now: float) -> Given:
    """Give the unknown card to an entry of its race. CardTaken when another entry of the race has
    it (move=True moves it). The results change when Process Station Data runs (jobs.card_desk)."""
    card = card.strip()
    with db.atomic():
        conn = db.connection()
        race_id = _card_race(conn, card)
        row = conn.execute(_ENTRIES + "WHERE e.id=?", (entry_id,)).fetchone()
        if row is None:
            raise CardDeskError("entry", f"no entry {entry_id}")
        if conn.execute("SELECT race_id FROM entry WHERE id=?", (entry_id,)).fetchone()[0] != race_id:
            raise CardDeskError("entry", f"entry {entry_id} is not in the card's race")
        return _give(conn, race_id, card, entry_id, _choice(row).name, move=move, who=who, now=now, created=False)


def check_name(text: str, field: str, *, required: bool) -> str:
    name = " ".join(text.split())
    if not name and required:
        raise CardDeskError(field, "is required")
    if len(name) > 100:
        raise CardDeskError(field, f"at most 100 characters (got {len(name)})")
    return name


def create_entry(db: peewee.Database, card: str, *, given: str, family: str, class_id: int | None,
                 club: str = "", who: str, now: float) -> Given:
    """A new entry of the card's race for the runner of an unknown card (name, class; club optional)."""
    card = card.strip()
    g = check_name(given, "given", required=False)
    f = check_name(family, "family", required=True)
    c = check_name(club, "club", required=False)
    with db.atomic():
        conn = db.connection()
        race_id = _card_race(conn, card)
        if class_id is None:
            raise CardDeskError("class", "choose the runner's class")
        if conn.execute("SELECT count(*) FROM class WHERE id=? AND race_id=?", (class_id, race_id)).fetchone()[0] == 0:
            raise CardDeskError("class", f"class {class_id} is not in the card's race")
        holder = _holder(conn, race_id, card, None)
        if holder is not None:
            # A new runner cannot take a card from another: give that entry the card instead.
            raise CardDeskError("card", f"card {card} is on {holder.label()}: assign it (a), not a new entry")
        org_id = None
        if c:
            found = conn.execute("SELECT id FROM organisation WHERE lower(name)=lower(?) OR lower(short_name)=lower(?) "
                                 "ORDER BY id LIMIT 1", (c, c)).fetchone()
            org_id = int(found[0]) if found else int(conn.execute(
                "INSERT INTO organisation(name, ids) VALUES (?, '{}')", (c,)).lastrowid or 0)
        person = int(conn.execute("INSERT INTO person(given, family) VALUES (?, ?)", (g, f)).lastrowid or 0)
        entry_id = int(conn.execute(
            "INSERT INTO entry(race_id, class_id, person_id, organisation_id, status, hand_edited, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, 'entered', 1, ?, ?)", (race_id, class_id, person, org_id, now, now)).lastrowid or 0)
        return _give(conn, race_id, card, entry_id, f"{g} {f}".strip(), move=False, who=who, now=now, created=True)
