"""Result corrections by the admin: a runner's status (with a required note), a punch added or
removed (a failed control confirmed by a marshal), a start or finish time changed, and the undo of
any of them.

Each correction is written twice, in one transaction:
- as station data at the override station (source "correction:<kind>", the runner's entry set),
  so Process Station Data ranks it exactly as it ranks every override station today: a status
  correction is an override status (the newest wins), punch and time corrections edit the card the
  punch check reads (apply_to_card). Raw data is never deleted: an undo deactivates the row.
- as a `correction` row saying who, when and why (and who undid it, when, why).
The runner's result changes at the next processing; enqueue_processing starts it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

import peewee

from t4o_tui.engine.event_setup import SetupError, parse_time_of_day
from t4o_tui.orienteering.punch_check import (
    CardData,
    Punch,
    Status,
    TimeBase,
    _resolved_card,
    normalize_code,
)

SOURCE_PREFIX = "correction:"
KINDS = ("status", "add_punch", "remove_punch", "start_time", "finish_time")
KIND_LABELS = {"status": "status", "add_punch": "punch added", "remove_punch": "punch removed",
               "start_time": "start time", "finish_time": "finish time", "card": "card"}
# A card given to the runner at the readout desk (engine.card_desk): kept with the corrections for
# who/when, but no result correction (no station data of its own, nothing to undo here).
CARD_KIND = "card"
# The statuses an admin sets, with the short codes the screens show (an 80-column list has room for
# "DNF", not for "DidNotFinish").
STATUS_CHOICES: tuple[tuple[str, Status], ...] = (
    ("OK", Status.OK), ("MP", Status.MISSING_PUNCH), ("DNF", Status.DID_NOT_FINISH), ("DSQ", Status.DISQUALIFIED),
    ("DNS", Status.DID_NOT_START), ("NC", Status.NOT_COMPETING), ("OT", Status.OVER_TIME))
STATUS_NAMES = {Status.OK: "OK", Status.MISSING_PUNCH: "missing punch", Status.DID_NOT_FINISH: "did not finish",
                Status.DISQUALIFIED: "disqualified", Status.DID_NOT_START: "did not start",
                Status.NOT_COMPETING: "not competing", Status.OVER_TIME: "over time"}
SHORT = {s.value: code for code, s in STATUS_CHOICES} | {
    Status.INACTIVE.value: "–", Status.STARTED.value: "out", Status.CHECKED.value: "chk",
    Status.FINISHED.value: "fin", Status.ACTIVE.value: "out", Status.SPORTING_WITHDRAWAL.value: "SW",
    Status.DID_NOT_ENTER.value: "DNE", Status.CANCELLED.value: "CNC", Status.MOVED.value: "MOV",
    Status.MOVED_UP.value: "MUP"}
SAME_PUNCH = 1.0  # seconds: a removed punch's time matches the card's within this


class CorrectionError(SetupError):
    """One field of a correction is wrong: `field` names it, the message is one line."""


def short_status(status: str) -> str:
    """MP, DNF, OK… for a result status; the status itself when it has no short code."""
    return SHORT.get(status, status)


def kind_of(source: str | None) -> str | None:
    """The correction kind of a station data row's source; None for station data from a station."""
    if source and source.startswith(SOURCE_PREFIX):
        kind = source[len(SOURCE_PREFIX):]
        return kind if kind in KINDS else None
    return None


def edits_card(source: str | None) -> bool:
    """A punch or time correction: it edits the runner's card rather than giving a status."""
    kind = kind_of(source)
    return kind is not None and kind != "status"


# -- the punch check's input, corrected (pure) ---------------------------------------------------

@dataclass(frozen=True)
class CardEdit:
    kind: str  # add_punch | remove_punch | start_time | finish_time
    code: str | None
    time: float | None


def apply_to_card(card: CardData, edits: Iterable[CardEdit], *, reference: float | None,
                  tz: tzinfo) -> tuple[CardData, bool]:
    """The card with the edits applied in order; True when a start time was set (the punch check
    must then take the card's start rather than the drawn one). Corrections are instants: a card
    with times of day is placed in time first (on `reference`, the drawn start or zero time)."""
    edits = list(edits)
    if not edits:
        return card, False
    if card.time_base is not TimeBase.EPOCH and reference is not None:
        card = _resolved_card(card, reference, tz)
    punches = list(card.punches)
    start_set = False
    for e in edits:
        if e.kind == "add_punch" and e.code is not None:
            punches.append(Punch(e.code, e.time))
            # Punches are kept in time order: the punch check walks them in order.
            punches.sort(key=lambda p: float("inf") if p.time is None else p.time)
        elif e.kind == "remove_punch" and e.code is not None:
            code = normalize_code(e.code)
            for i, p in enumerate(punches):
                if normalize_code(p.code) == code and (e.time is None or p.time is None
                                                       or abs(p.time - e.time) <= SAME_PUNCH):
                    del punches[i]
                    break
        elif e.kind == "start_time":
            card = replace(card, start=None if e.time is None else Punch("S", e.time))
            start_set = e.time is not None
        elif e.kind == "finish_time":
            card = replace(card, finish=None if e.time is None else Punch("F", e.time))
    return replace(card, punches=tuple(punches)), start_set


def card_edit(row: sqlite3.Row | dict[str, object]) -> CardEdit | None:
    """The edit a correction's station data row makes (None for a status correction)."""
    kind = kind_of(str(row["source"]))
    if kind is None or kind == "status":
        return None
    if kind in ("add_punch", "remove_punch"):
        punches = json.loads(str(row["punches"] or "[]"))
        if not punches:
            return None
        code, t = punches[0]
        return CardEdit(kind, str(code), t)
    column = "start_time" if kind == "start_time" else "finish_time"
    value = row[column]
    return CardEdit(kind, None, float(value) if isinstance(value, (int, float)) else None)


# -- reading -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CorrectionRow:
    id: int
    kind: str
    status: str | None
    control: str | None
    time: float | None
    note: str
    who: str
    created_at: float
    undone_at: float | None
    undone_by: str | None
    undo_note: str | None

    @property
    def active(self) -> bool:
        return self.undone_at is None

    @property
    def undoable(self) -> bool:
        """Active and a result correction: a card given at the readout desk is changed in Edit entry."""
        return self.active and self.kind != CARD_KIND

    def what(self, zone: tzinfo) -> str:
        """'status DSQ', 'punch added 45 at 10:32:15', 'finish time 11:02:03'."""
        at = f"{datetime.fromtimestamp(self.time, zone):%H:%M:%S}" if self.time is not None else ""
        if self.kind == "status":
            return f"status {short_status(self.status or '')}"
        if self.kind == CARD_KIND:
            return f"card {self.control} given"
        if self.kind in ("add_punch", "remove_punch"):
            return f"{KIND_LABELS[self.kind]} {self.control}" + (f" at {at}" if at else "")
        return f"{KIND_LABELS[self.kind]} {at or 'cleared'}"


@dataclass(frozen=True)
class RunnerCorrections:
    """A runner as the correction dialog shows them: the result now, the card, the corrections."""

    entry_id: int
    race_id: int
    name: str
    class_name: str
    club: str
    bib: str
    card: str | None
    zone: str
    day: str | None  # the race's date (ISO), for times typed as times of day
    status: str | None  # the result's status now (None: no result yet)
    start_time: float | None
    finish_time: float | None
    time: float | None
    missing: str | None
    punches: tuple[tuple[str, float | None], ...]  # the card's punches as processing read them
    controls: tuple[str, ...]  # the codes of the runner's course (empty: no course)
    corrections: tuple[CorrectionRow, ...]  # newest first

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def corrected(self) -> bool:
        return any(c.active and c.kind != CARD_KIND for c in self.corrections)


def _conn(db: peewee.Database | sqlite3.Connection) -> sqlite3.Connection:
    return db if isinstance(db, sqlite3.Connection) else db.connection()


def _zone(conn: sqlite3.Connection, race_id: int) -> str:
    row = conn.execute("SELECT e.timezone FROM race r JOIN event e ON e.id = r.event_id WHERE r.id=?",
                       (race_id,)).fetchone()
    if row and row[0]:
        return str(row[0])
    from t4o_tui.engine.event_setup import event_zone_name
    return event_zone_name()


def runner(db: peewee.Database | sqlite3.Connection, entry_id: int) -> RunnerCorrections:
    """The runner, their result and card now, and every correction made to them (in a worker)."""
    conn = _conn(db)
    row = conn.execute(
        "SELECT e.race_id, TRIM(COALESCE(p.given, '') || ' ' || COALESCE(p.family, '')), COALESCE(c.name, ''), "
        "COALESCE(o.name, ''), COALESCE(s.bib, e.bib, ''), r.date, "
        "(SELECT ca.number FROM entry_card ec JOIN card ca ON ca.id = ec.card_id WHERE ec.entry_id = e.id LIMIT 1), "
        "COALESCE(s.course_id, c.course_id) "
        "FROM entry e JOIN race r ON r.id = e.race_id LEFT JOIN person p ON p.id = e.person_id "
        "LEFT JOIN class c ON c.id = e.class_id LEFT JOIN organisation o ON o.id = e.organisation_id "
        "LEFT JOIN start s ON s.entry_id = e.id WHERE e.id=?", (entry_id,)).fetchone()
    if row is None:
        raise CorrectionError("runner", f"no entry {entry_id}")
    race_id, name, class_name, club, bib, day, card, course_id = row
    res = conn.execute("SELECT status, start_time, finish_time, time, missing, station_data_id FROM result "
                       "WHERE entry_id=?", (entry_id,)).fetchone()
    punches: tuple[tuple[str, float | None], ...] = ()
    if res is not None and res[5] is not None:
        sd = conn.execute("SELECT punches FROM station_data WHERE id=?", (res[5],)).fetchone()
        if sd is not None:
            punches = tuple((str(c), t) for c, t in json.loads(sd[0] or "[]"))
    controls = tuple(str(code) for (code,) in conn.execute(
        "SELECT c.code FROM course_control cc JOIN control c ON c.id = cc.control_id "
        "WHERE cc.course_id=? AND cc.kind='control' ORDER BY cc.seq", (course_id,))) if course_id else ()
    corrections = tuple(CorrectionRow(*r) for r in conn.execute(
        "SELECT id, kind, status, control, time, note, who, created_at, undone_at, undone_by, undo_note "
        "FROM correction WHERE entry_id=? ORDER BY id DESC", (entry_id,)))
    # The card as processing read it, with the active punch corrections applied: what the admin sees.
    active = [c for c in reversed(corrections) if c.active and c.kind in ("add_punch", "remove_punch")]
    edited, _ = apply_to_card(CardData(punches=tuple(Punch(c, t) for c, t in punches)),
                              [CardEdit(c.kind, c.control, c.time) for c in active], reference=None,
                              tz=ZoneInfo(_zone(conn, race_id)))
    return RunnerCorrections(
        entry_id, race_id, name, class_name, club, bib, card, _zone(conn, race_id), day,
        res[0] if res else None, res[1] if res else None, res[2] if res else None, res[3] if res else None,
        res[4] if res else None, tuple((p.code, p.time) for p in edited.punches), controls, corrections)


def corrected_entries(db: peewee.Database | sqlite3.Connection, race_id: int) -> dict[int, int]:
    """Entries of the race with active corrections: entry id -> how many (the lists mark them)."""
    return {eid: n for eid, n in _conn(db).execute(
        "SELECT entry_id, count(*) FROM correction WHERE race_id=? AND undone_at IS NULL AND kind != ? "
        "GROUP BY entry_id", (race_id, CARD_KIND))}


# -- checking what the admin typed ---------------------------------------------------------------

def check_note(text: str) -> str:
    note = " ".join(text.split())
    if not note:
        raise CorrectionError("note", "is required: say why (e.g. 'jury decision', 'control 45 confirmed by marshal')")
    if len(note) > 500:
        raise CorrectionError("note", f"at most 500 characters (got {len(note)})")
    return note


def check_status(text: str) -> Status:
    t = text.strip()
    for code, status in STATUS_CHOICES:
        if t.upper() == code or t == status.value or t.lower() == STATUS_NAMES[status]:
            return status
    raise CorrectionError("status", f"'{t}' is not one of " + ", ".join(c for c, _ in STATUS_CHOICES))


def check_control(text: str, controls: Sequence[str] = ()) -> str:
    code = text.strip()
    if not code:
        raise CorrectionError("control", "is required (the control's code, e.g. 45)")
    if not re.fullmatch(r"[A-Za-z0-9]{1,10}", code):
        raise CorrectionError("control", f"'{code}' is not a control code (letters and digits, e.g. 45)")
    if controls and normalize_code(code) not in {normalize_code(c) for c in controls}:
        raise CorrectionError("control", f"{code} is not on the runner's course ({' '.join(controls)})")
    return code


def check_time(text: str, field: str, runner: RunnerCorrections, *, required: bool = True) -> float | None:
    """A time typed as a time of day (HH:MM[:SS]) on the runner's start day (the next day soon after
    midnight, orienteering.times_of_day.OVER_MIDNIGHT) or the race's date, in the event's zone; or a full date and time."""
    if not text.strip():
        if required:
            raise CorrectionError(field, "is required (HH:MM:SS, the time of day)")
        return None
    # The runner's own start day first (the day they ran), else the race's date.
    day = datetime.fromtimestamp(runner.start_time, runner.tz).date() if runner.start_time is not None else (
        date.fromisoformat(runner.day) if runner.day else None)
    hint = "give the race a date (t4o-tui race set N --date YYYY-MM-DD)"
    try:
        # A runner out over midnight (a night race): a time of day soon after midnight is the next day's.
        return parse_time_of_day(text, field, day, runner.tz, no_date_hint=hint, after=runner.start_time)
    except SetupError as exc:
        raise CorrectionError(field, exc.message) from None


def check_remove(runner: RunnerCorrections, code: str, at: float | None) -> None:
    """A removed punch must be on the card (as it reads with the corrections so far)."""
    wanted = normalize_code(code)
    for c, t in runner.punches:
        if normalize_code(c) == wanted and (at is None or t is None or abs(t - at) <= SAME_PUNCH):
            return
    where = f" at {datetime.fromtimestamp(at, runner.tz):%H:%M:%S}" if at is not None else ""
    raise CorrectionError("control", f"no punch {code}{where} on the runner's card")


# -- writing -------------------------------------------------------------------------------------

def _override_station(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT id FROM station WHERE role='override' ORDER BY priority, id LIMIT 1").fetchone()
    if row is not None:
        return int(row[0])
    cur = conn.execute("INSERT INTO station(name, role, priority) VALUES ('Override', 'override', 0)")
    return int(cur.lastrowid or 0)


def _write(db: peewee.Database, r: RunnerCorrections, kind: str, *, status: Status | None = None,
           code: str | None = None, at: float | None = None, note: str, who: str, now: float) -> int:
    punches = json.dumps([[code, at]]) if code is not None else "[]"
    with db.atomic():
        conn = db.connection()
        station = _override_station(conn)
        # The entry is set here and kept by processing (a correction names its runner); card and bib
        # are copied so the row reads like any other station data in the Station data view.
        cur = conn.execute(
            "INSERT INTO station_data(race_id, station_id, card_number, bib, read_at, punches, start_time, "
            "finish_time, status, twelve_hour, source, active, entry_id, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 1, ?, ?)",
            (r.race_id, station, r.card, r.bib or None, now, punches, at if kind == "start_time" else None,
             at if kind == "finish_time" else None, status.value if status is not None else None,
             SOURCE_PREFIX + kind, r.entry_id, now))
        cur2 = conn.execute(
            "INSERT INTO correction(race_id, entry_id, kind, status, control, time, note, who, created_at, "
            "station_data_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (r.race_id, r.entry_id, kind, status.value if status is not None else None, code, at, note, who, now,
             cur.lastrowid))
        return int(cur2.lastrowid or 0)


def set_status(db: peewee.Database, entry_id: int, status: str, note: str, *, who: str, now: float) -> int:
    """A status for the runner, whatever the punches say; the note is required."""
    s, n = check_status(status), check_note(note)
    return _write(db, runner(db, entry_id), "status", status=s, note=n, who=who, now=now)


def add_punch(db: peewee.Database, entry_id: int, control: str, time_text: str, note: str, *, who: str,
              now: float) -> int:
    """A punch the card lacks (a failed unit, a marshal's record)."""
    r = runner(db, entry_id)
    code, n = check_control(control, r.controls), check_note(note)
    at = check_time(time_text, "time", r)
    return _write(db, r, "add_punch", code=code, at=at, note=n, who=who, now=now)


def remove_punch(db: peewee.Database, entry_id: int, control: str, time_text: str, note: str, *, who: str,
                 now: float) -> int:
    """A punch on the card that must not count (the time is needed only when the code is there twice)."""
    r = runner(db, entry_id)
    code, n = check_control(control), check_note(note)
    at = check_time(time_text, "time", r, required=False)
    check_remove(r, code, at)
    return _write(db, r, "remove_punch", code=code, at=at, note=n, who=who, now=now)


def set_time(db: peewee.Database, entry_id: int, which: str, time_text: str, note: str, *, who: str,
             now: float) -> int:
    """The runner's start or finish time (which: 'start' or 'finish')."""
    if which not in ("start", "finish"):
        raise CorrectionError("kind", f"'{which}' is not start or finish")
    r = runner(db, entry_id)
    n = check_note(note)
    at = check_time(time_text, "time", r)
    if which == "finish" and at is not None and r.start_time is not None and at <= r.start_time:
        raise CorrectionError("time", "the finish must come after the start "
                                      f"({datetime.fromtimestamp(r.start_time, r.tz):%H:%M:%S})")
    return _write(db, r, f"{which}_time", at=at, note=n, who=who, now=now)


def undo(db: peewee.Database, correction_id: int, note: str, *, who: str, now: float) -> None:
    """Undo a correction: its station data is deactivated (kept, as all raw data) and marked for
    processing again, so the runner's result goes back to what the rest of the data says."""
    with db.atomic():
        conn = db.connection()
        row = conn.execute("SELECT station_data_id, undone_at, kind FROM correction WHERE id=?",
                           (correction_id,)).fetchone()
        if row is None:
            raise CorrectionError("correction", f"no correction {correction_id}")
        if row[2] == CARD_KIND:
            raise CorrectionError("correction", "a card given at the readout desk is changed in Edit entry, not undone")
        if row[1] is not None:
            raise CorrectionError("correction", "is already undone")
        conn.execute("UPDATE correction SET undone_at=?, undone_by=?, undo_note=? WHERE id=?",
                     (now, who, " ".join(note.split()) or None, correction_id))
        if row[0] is not None:
            conn.execute("UPDATE station_data SET active=0, processed_at=NULL WHERE id=?", (row[0],))


def processing_tasks(db: peewee.Database | sqlite3.Connection, race_id: int) -> list[str]:
    """The Process Station Data tasks that process this race (their 'race' setting, or none set)."""
    conn = _conn(db)
    race = conn.execute("SELECT race_number, id FROM race WHERE id=?", (race_id,)).fetchone()
    races = conn.execute("SELECT count(*) FROM race").fetchone()[0]
    names = []
    for name, settings in conn.execute("SELECT name, settings FROM task WHERE job='process-station-data' ORDER BY id"):
        wanted = json.loads(settings or "{}").get("race")
        if (wanted is None and races == 1) or (race and wanted in (race[0], None if race[0] else race[1])):
            names.append(str(name))
    return names
