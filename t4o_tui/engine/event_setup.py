"""Event setup an admin does before race day: the event, its races (stages), class timing per race.

Everything here takes what an admin typed (text), checks all of it, and writes only when all of it
is right: a SetupError names the field and says why in one line, and the database is unchanged.
The CLI (cli_event) and the TUI's class timing editor both use these functions; the TUI calls
`check_class_field` on every key press for live validation.

Times of day: a first start given as a time without a date ("10:30", "10:30:15") is on the race's
date in the event's time zone; a race with no date makes that an error saying how to set it.
Moving a race to another date keeps every wall-clock time of it (race and class first starts and
the starts already created), and changing the event's time zone keeps the wall-clock times of the
races, classes and starts (a zone set after the times were typed means "those times, in this zone").
Punches and readouts are never moved: they are what the stations recorded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import peewee

from t4o_tui.orienteering.times_of_day import on_race_day, time_of_day_on
from t4o_tui.store.models import Class, Course, Entry, Event, Race, Start, StationData
from t4o_tui.timefmt import format_duration_text, local_zone_name, parse_duration_text

DISCIPLINES = ("sprint", "middle", "long", "ultralong", "night", "relay", "other")
START_TYPES = ("interval", "mass", "free")
# What the draw does in a class (None: the Assign Starts task's settings decide).
DRAW_METHODS = ("random", "club-separation", "seeded-highest-last", "seeded-lowest-last")
MAX_VACANCIES = 999
MAX_BIB = 999_999


class SetupError(ValueError):
    """One field is wrong: `field` names it; the message is one line for the admin."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# -- plain records -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventInfo:
    id: int | None  # None: no event yet
    name: str
    timezone: str
    organiser: str | None
    races: int
    time_resolution: float = 1.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RaceInfo:
    id: int
    number: int
    name: str
    date: str | None  # ISO date in the event's zone
    first_start: float | None  # epoch seconds
    timezone: str  # the event's
    discipline: str | None
    classes: int
    entries: int
    starts: int

    @property
    def label(self) -> str:
        return f"{self.number} {self.name}"

    def first_start_text(self) -> str:
        """The first start as an admin types it: HH:MM:SS on the race's date, else ISO."""
        return _clock_text(self.first_start, self.date, _zone(self.timezone))

    def as_json(self) -> dict[str, Any]:
        zone = _zone(self.timezone)
        return {
            "id": self.id, "number": self.number, "name": self.name, "date": self.date,
            "first_start": _iso(self.first_start, zone), "timezone": self.timezone,
            "discipline": self.discipline, "classes": self.classes, "entries": self.entries, "starts": self.starts,
        }


@dataclass(frozen=True)
class ClassInfo:
    id: int
    race_id: int
    name: str
    course: str | None
    start_type: str
    first_start: float | None
    start_interval: float | None
    bib_start: int | None
    vacancies: int
    vacancies_before: int
    vacancies_after: int
    vacancy_every: int | None
    max_time: float | None
    draw_method: str | None
    draw_order: int | None
    start_box: str | None
    entries: int
    starts: int
    race_date: str | None
    timezone: str

    def text(self, field: str) -> str:
        """A field's value as the admin would type it (what an editor shows)."""
        value = getattr(self, field)
        if value is None:
            return ""
        if field == "first_start":
            return _clock_text(value, self.race_date, _zone(self.timezone))
        if field in ("start_interval", "max_time"):
            return format_duration_text(float(value))
        return str(value)

    @property
    def bib_range(self) -> tuple[int, int] | None:
        """The bibs the class's series uses (at least one, even before entries come)."""
        if self.bib_start is None:
            return None
        return self.bib_start, self.bib_start + _series_size(self) - 1

    def as_json(self) -> dict[str, Any]:
        zone = _zone(self.timezone)
        return {
            "id": self.id, "race_id": self.race_id, "name": self.name, "course": self.course,
            "start_type": self.start_type, "first_start": _iso(self.first_start, zone),
            "start_interval": self.start_interval, "bib_start": self.bib_start, "vacancies": self.vacancies,
            "vacancies_before": self.vacancies_before, "vacancies_after": self.vacancies_after,
            "vacancy_every": self.vacancy_every, "max_time": self.max_time, "draw_method": self.draw_method,
            "draw_order": self.draw_order, "start_box": self.start_box, "entries": self.entries, "starts": self.starts,
        }


# Editable class fields: key -> (label, help). The order is the editor's.
CLASS_FIELDS: dict[str, tuple[str, str]] = {
    "first_start": ("First start", "HH:MM[:SS] on the race's date (or +30m after the race's first start); empty: the group's"),
    "start_interval": ("Start interval", "e.g. 2m, 90s; more than 0"),
    "bib_start": ("Bib start", "first bib of the class's series; empty: no bibs"),
    "vacancies": ("Vacant starts (drawn)", "vacant starts the draw places first, last or mixed"),
    "vacancies_before": ("Vacancies before", "vacant starts before the first runner"),
    "vacancies_after": ("Vacancies after", "vacant starts after the last runner"),
    "vacancy_every": ("Vacancy every", "one vacant start after every N runners; empty: none"),
    "max_time": ("Max time", "e.g. 2h; over it a runner is OverTime, past it without a finish overdue"),
    "draw_method": ("Draw method", f"{', '.join(DRAW_METHODS)}; empty: the draw task decides"),
    "draw_order": ("Draw order", "order of classes on one course or start box (lowest first)"),
    "start_box": ("Start box", "classes in one start box share the interval grid"),
    "course": ("Course", "a course of the race"),
    "start_type": ("Start type", ", ".join(START_TYPES)),
}

RACE_FIELDS = ("name", "date", "first_start", "discipline", "number")
EVENT_FIELDS = ("name", "timezone", "organiser", "time_resolution")
# Times are ranked and written to this resolution (IOF XML timeResolution): whole seconds or tenths.
TIME_RESOLUTIONS = {"1": 1.0, "1s": 1.0, "0.1": 0.1, "0.1s": 0.1}


# -- helpers -----------------------------------------------------------------------------------------


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _iso(ts: float | None, zone: tzinfo) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, zone).isoformat()


def _clock_text(ts: float | None, day: str | None, zone: tzinfo) -> str:
    if ts is None:
        return ""
    local = datetime.fromtimestamp(ts, zone)
    return local.strftime("%H:%M:%S") if day == local.date().isoformat() else local.isoformat()


def _series_size(c: ClassInfo) -> int:
    every = (max(c.entries - 1, 0) // c.vacancy_every) if c.vacancy_every else 0
    return max(c.entries + c.vacancies + c.vacancies_before + c.vacancies_after + every, c.starts, 1)


def event_zone_name() -> str:
    ev = Event.select().order_by(Event.id).first()
    return (ev.timezone if ev is not None and ev.timezone else None) or local_zone_name()


def how_to_set_date(race: Race | RaceInfo) -> str:
    number = race.number if isinstance(race, RaceInfo) else (race.race_number or race.id)
    return f"set it with: t4o-tui race set {number} --date YYYY-MM-DD"


def valid_zone(text: str) -> str:
    name = text.strip()
    if not name:
        raise SetupError("timezone", "is required (an IANA name such as Europe/Oslo)")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SetupError("timezone", f"'{name}' is not an IANA time zone name (e.g. Europe/Oslo, America/New_York)") from None
    return name


def parse_time_of_day(text: str, field: str, day: date | None, zone: tzinfo, *, no_date_hint: str = "",
                      reference: float | None = None, after: float | None = None) -> float:
    """A time of day on `day` in `zone` (the next day's soon after midnight when it falls before
    `after`: orienteering.times_of_day), or a full ISO date and time, or +offset from `reference`."""
    t = text.strip()
    if t[:1] in "+-" and len(t) > 1:
        if reference is None:
            raise SetupError(field, f"'{t}' is relative to the race's first start, which is not set")
        try:
            delta = parse_duration_text(t[1:])
        except ValueError as exc:
            raise SetupError(field, str(exc)) from None
        return reference + (delta if t[0] == "+" else -delta)
    m = re.fullmatch(r"(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?", t)
    if m:
        h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        if h > 23 or mi > 59 or s > 59:
            raise SetupError(field, f"'{t}' is not a time of day (HH:MM or HH:MM:SS)")
        if day is None:
            raise SetupError(field, f"'{t}' is a time without a date, and the race has no date: "
                                    f"{no_date_hint or 'give a full date and time (YYYY-MM-DDTHH:MM)'}")
        return time_of_day_on(day, time(h, mi, s), zone, after).timestamp()
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise SetupError(field, f"'{t}' is not a time (HH:MM[:SS], or YYYY-MM-DDTHH:MM[:SS])") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone)
    return dt.timestamp()


def _int(text: str, field: str, *, lo: int, hi: int) -> int:
    t = text.strip()
    if not re.fullmatch(r"[+-]?\d+", t):
        raise SetupError(field, f"'{t}' is not a whole number")
    v = int(t)
    if v < lo:
        raise SetupError(field, f"must be at least {lo} (got {v})")
    if v > hi:
        raise SetupError(field, f"must be at most {hi} (got {v})")
    return v


def _duration(text: str, field: str) -> float:
    t = text.strip()
    negative = t.startswith("-")
    try:
        v = parse_duration_text(t.lstrip("+-"))
    except ValueError as exc:
        raise SetupError(field, str(exc)) from None
    if negative:
        v = -v
    if v <= 0:
        raise SetupError(field, f"must be more than 0 (got {t})")
    return v


def _choice(text: str, field: str, choices: tuple[str, ...]) -> str:
    t = text.strip().lower()
    if t not in choices:
        raise SetupError(field, f"'{text.strip()}' is not one of: {', '.join(choices)}")
    return t


def _move_days(ts: float | None, zone: tzinfo, days: int) -> float | None:
    """The same wall-clock time `days` later in `zone` (a DST change in between keeps the clock)."""
    if ts is None:
        return None
    local = datetime.fromtimestamp(ts, zone).replace(tzinfo=None)
    return (local + timedelta(days=days)).replace(tzinfo=zone).timestamp()


def _rezone(ts: float | None, old: tzinfo, new: tzinfo) -> float | None:
    """The same wall-clock time read in another zone."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, old).replace(tzinfo=new).timestamp()


def _shift_starts(db: peewee.Database, race_id: int | None, move: Callable[[float], float | None]) -> None:
    """Every start time (of one race, or all) moved by `move`. The rows are read in full before
    any is written: a scan ordered by start time would meet the moved rows again, without end."""
    where = "WHERE start_time IS NOT NULL" + (" AND race_id = ?" if race_id is not None else "")
    rows = db.execute_sql(f"SELECT id, start_time FROM start {where}", (race_id,) if race_id is not None else ()).fetchall()
    db.connection().executemany("UPDATE start SET start_time = ? WHERE id = ?", [(move(t), sid) for sid, t in rows])


# -- the event ---------------------------------------------------------------------------------------


def get_event(db: peewee.Database) -> EventInfo:
    ev = Event.select().order_by(Event.id).first()
    races = Race.select().count()
    if ev is None:
        return EventInfo(None, "", local_zone_name(), None, races)
    return EventInfo(ev.id, ev.name, ev.timezone or local_zone_name(), ev.organiser, races,
                     ev.time_resolution or 1.0)


def _the_event(name: str | None = None) -> Event:
    ev = Event.select().order_by(Event.id).first()
    if ev is None:
        ev = Event.create(name=name or "Event", timezone=local_zone_name())
    return ev


def set_event(db: peewee.Database, changes: Mapping[str, str]) -> EventInfo:
    """Change the event's name, time zone (IANA) or organiser; creates the event when there is none."""
    unknown = [k for k in changes if k not in EVENT_FIELDS]
    if unknown:
        raise SetupError(unknown[0], f"unknown event field (fields: {', '.join(EVENT_FIELDS)})")
    clean: dict[str, Any] = {}
    if "name" in changes:
        name = " ".join(changes["name"].split())
        if not name:
            raise SetupError("name", "is required")
        clean["name"] = name
    if "timezone" in changes:
        clean["timezone"] = valid_zone(changes["timezone"])
    if "organiser" in changes:
        clean["organiser"] = " ".join(changes["organiser"].split()) or None
    if "time_resolution" in changes:
        given = changes["time_resolution"].strip().replace(",", ".")
        if given not in TIME_RESOLUTIONS:
            raise SetupError("time_resolution", f"'{changes['time_resolution']}' is not 1 or 0.1 (seconds)")
        clean["time_resolution"] = TIME_RESOLUTIONS[given]
    with db.atomic():
        ev = _the_event(clean.get("name"))
        old_zone = _zone(ev.timezone or local_zone_name())
        if "timezone" in clean and clean["timezone"] != ev.timezone:
            punched = StationData.select().count()
            if punched:
                # Punch times are instants the stations recorded: moving the starts' wall clock
                # under them would change every running time.
                raise SetupError("timezone", f"the event has {punched} station data read in "
                                             f"{ev.timezone or local_zone_name()}: the zone cannot change now")
            new_zone = _zone(clean["timezone"])
            # Lists read in full before the writes (see _shift_starts).
            for r in list(Race.select()):
                r.first_start = _rezone(r.first_start, old_zone, new_zone)
                r.zero_time = _rezone(r.zero_time, old_zone, new_zone)
                r.save()
            for c in list(Class.select().where(Class.first_start.is_null(False))):
                c.first_start = _rezone(c.first_start, old_zone, new_zone)
                c.save()
            _shift_starts(db, None, lambda t: _rezone(t, old_zone, new_zone))
        for k, v in clean.items():
            setattr(ev, k, v)
        ev.save()
    return get_event(db)


# -- races -------------------------------------------------------------------------------------------


def _race_info(r: Race, zone_name: str) -> RaceInfo:
    counts = (
        Class.select().where(Class.race == r.id).count(),
        Entry.select().where(Entry.race == r.id).count(),
        Start.select().where(Start.race == r.id).count(),
    )
    return RaceInfo(r.id, r.race_number or r.id, r.name, r.date, r.first_start, zone_name, r.discipline, *counts)


def list_races(db: peewee.Database) -> list[RaceInfo]:
    zone_name = event_zone_name()
    races = list(Race.select().order_by(Race.race_number.is_null(), Race.race_number, Race.id))
    return [_race_info(r, zone_name) for r in races]


def describe_races(races: list[RaceInfo]) -> str:
    return ", ".join(r.label for r in races) or "none yet: add one with t4o-tui race add NAME"


def find_race(ref: str | int | None, *, field: str = "race") -> Race:
    """A race by number, then by name (any case), then by id; None: the event's only race."""
    races = list(Race.select().order_by(Race.race_number.is_null(), Race.race_number, Race.id))
    zone_name = event_zone_name()
    known = ", ".join(_race_info(r, zone_name).label for r in races) or "none yet: add one with t4o-tui race add NAME"
    if ref is None or str(ref).strip() == "":
        if len(races) == 1:
            return races[0]
        if not races:
            raise SetupError(field, f"the event has no race ({known})")
        raise SetupError(field, f"the event has {len(races)} races: say which one ({known})")
    text = str(ref).strip()
    if text.isdigit():
        n = int(text)
        for r in races:
            if r.race_number == n:
                return r
        for r in races:
            if r.id == n and r.race_number is None:
                return r
    for r in races:
        if r.name.casefold() == text.casefold():
            return r
    raise SetupError(field, f"no race '{text}' (races: {known})")


def get_race(db: peewee.Database, race_id: int) -> RaceInfo:
    r = Race.get_or_none(Race.id == race_id)
    if r is None:
        raise SetupError("race", f"no race with id {race_id}")
    return _race_info(r, event_zone_name())


def _race_changes(race: Race | None, changes: Mapping[str, str], zone: tzinfo) -> dict[str, Any]:
    """The checked new values of a race's fields (race None: a new race)."""
    unknown = [k for k in changes if k not in RACE_FIELDS]
    if unknown:
        raise SetupError(unknown[0], f"unknown race field (fields: {', '.join(RACE_FIELDS)})")
    out: dict[str, Any] = {}
    if "name" in changes:
        name = " ".join(changes["name"].split())
        if not name:
            raise SetupError("name", "is required")
        out["name"] = name
    if "number" in changes:
        n = _int(changes["number"], "number", lo=1, hi=999)
        clash = Race.select().where(Race.race_number == n)
        if race is not None:
            clash = clash.where(Race.id != race.id)
        if clash.exists():
            raise SetupError("number", f"race {n} exists already")
        out["race_number"] = n
    if "discipline" in changes:
        out["discipline"] = _choice(changes["discipline"], "discipline", DISCIPLINES) if changes["discipline"].strip() else None
    day: date | None = date.fromisoformat(race.date) if race is not None and race.date else None
    if "date" in changes:
        t = changes["date"].strip()
        if not t:
            day = None
        else:
            try:
                day = date.fromisoformat(t)
            except ValueError:
                raise SetupError("date", f"'{t}' is not a date (YYYY-MM-DD)") from None
        out["date"] = day.isoformat() if day else None
    if "first_start" in changes:
        t = changes["first_start"].strip()
        if not t:
            out["first_start"] = None
        else:
            hint = "give --date YYYY-MM-DD too" if race is None else how_to_set_date(race)
            ts = parse_time_of_day(t, "first_start", day, zone, no_date_hint=hint)
            local_day = datetime.fromtimestamp(ts, zone).date()
            if day is None:
                day = local_day  # a full date and time gives the race its date
                out["date"] = day.isoformat()
            elif local_day != day:
                raise SetupError("first_start", f"{datetime.fromtimestamp(ts, zone):%Y-%m-%d %H:%M} is not on the "
                                                f"race's date {day.isoformat()}")
            out["first_start"] = ts
    return out


def add_race(db: peewee.Database, name: str, changes: Mapping[str, str] | None = None) -> RaceInfo:
    """A new race (stage); its number is the next free one unless `changes` gives 'number'."""
    fields = {"name": name, **(changes or {})}
    with db.atomic():
        zone = _zone(event_zone_name())
        clean = _race_changes(None, fields, zone)
        if "race_number" not in clean:
            top = Race.select(peewee.fn.MAX(Race.race_number)).scalar() or 0
            clean["race_number"] = max(top, Race.select().count()) + 1
        ev = _the_event(clean["name"])
        r = Race.create(event=ev, **clean)
    return get_race(db, r.id)


def set_race(db: peewee.Database, ref: str | int | None, changes: Mapping[str, str]) -> RaceInfo:
    """Change a race; a new date moves its wall-clock times (race, class first starts, starts) along."""
    if not changes:
        raise SetupError("race", "nothing to change")
    with db.atomic():
        race = find_race(ref)
        zone = _zone(event_zone_name())
        clean = _race_changes(race, changes, zone)
        old_day = date.fromisoformat(race.date) if race.date else None
        new_day = date.fromisoformat(clean["date"]) if clean.get("date") else None
        if "date" in clean and old_day and new_day and new_day != old_day:
            punched = StationData.select().where(StationData.race == race.id).count()
            if punched:
                raise SetupError("date", f"race {race.race_number or race.id} has {punched} station data read on "
                                         f"{old_day.isoformat()}: its date cannot move now")
            days = (new_day - old_day).days
            if "first_start" not in clean:
                clean["first_start"] = _move_days(race.first_start, zone, days)
            race.zero_time = _move_days(race.zero_time, zone, days)
            # Read in full before the writes (see _shift_starts).
            for c in list(Class.select().where(Class.race == race.id, Class.first_start.is_null(False))):
                c.first_start = _move_days(c.first_start, zone, days)
                c.save()
            _shift_starts(db, race.id, lambda t: _move_days(t, zone, days))
        elif ("date" in clean and new_day and race.first_start is not None and "first_start" not in clean
              and datetime.fromtimestamp(race.first_start, zone).date() != new_day):
            # A first start (from an import) on another day than the date now given: say which to keep.
            raise SetupError("date", f"the race's first start {datetime.fromtimestamp(race.first_start, zone):%Y-%m-%d %H:%M} "
                                     "is on another day: give --first-start too")
        for k, v in clean.items():
            setattr(race, k, v)
        race.save()
    return get_race(db, race.id)


def delete_race(db: peewee.Database, ref: str | int | None, *, force: bool = False) -> RaceInfo:
    """Delete a race with its classes, courses, entries, starts and station data; `force` when it holds any."""
    with db.atomic():
        race = find_race(ref)
        info = _race_info(race, event_zone_name())
        data = StationData.select().where(StationData.race == race.id).count()
        if not force and (info.entries or info.starts or data):
            raise SetupError("race", f"race {info.label} holds {info.entries} entries, {info.starts} starts and "
                                     f"{data} station data: add --force to delete it with them")
        race.delete_instance()
    return info


# -- classes -----------------------------------------------------------------------------------------


_CLASS_SQL = (
    "SELECT c.id, c.race_id, c.name, co.name, c.start_type, c.first_start, c.start_interval, c.bib_start, "
    "c.vacancies, c.vacancies_before, c.vacancies_after, c.vacancy_every, c.max_time, c.draw_method, c.draw_order, "
    "c.start_box, (SELECT count(*) FROM entry e WHERE e.class_id = c.id AND e.status = 'entered'), "
    "(SELECT count(*) FROM start s WHERE s.class_id = c.id), r.date "
    "FROM class c JOIN race r ON r.id = c.race_id LEFT JOIN course co ON co.id = c.course_id WHERE c.race_id = ? "
)


def list_classes(db: peewee.Database, race_id: int) -> list[ClassInfo]:
    """The race's classes in draw order (classes without one last), then by name."""
    zone_name = event_zone_name()
    rows = db.execute_sql(_CLASS_SQL + "ORDER BY c.draw_order IS NULL, c.draw_order, c.name", (race_id,)).fetchall()
    return [ClassInfo(*row, zone_name) for row in rows]  # type: ignore[call-arg, misc]


def _key(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch not in " -_\t")


def find_class(db: peewee.Database, race_id: int, class_name: str) -> ClassInfo:
    classes = list_classes(db, race_id)
    for c in classes:
        if c.name == class_name:
            return c
    matches = [c for c in classes if _key(c.name) == _key(class_name)]
    if len(matches) == 1:
        return matches[0]
    race = Race.get_or_none(Race.id == race_id)
    where = f"race {race.race_number or race.id}" if race is not None else "this race"
    known = ", ".join(c.name for c in classes) or "none yet: import a ClassList or entries"
    raise SetupError("class", f"no class '{class_name}' in {where} (classes: {known})")


def _class_value(race: Race, cls: ClassInfo, field: str, text: str, zone: tzinfo) -> Any:
    """One field's new value from typed text (None clears it), or SetupError."""
    t = text.strip()
    if field not in CLASS_FIELDS:
        raise SetupError(field, f"unknown class field (fields: {', '.join(CLASS_FIELDS)})")
    if field in ("vacancies", "vacancies_before", "vacancies_after"):
        return _int(t or "0", field, lo=0, hi=MAX_VACANCIES)
    if not t:
        if field == "start_type":
            return "interval"
        return None
    if field == "first_start":
        day = date.fromisoformat(race.date) if race.date else None
        ts = parse_time_of_day(t, field, day, zone, reference=race.first_start, after=race.first_start,
                               no_date_hint=how_to_set_date(race))
        # On the race's date, or soon after midnight in a night race.
        if day is not None and not on_race_day(ts, day, zone, race.first_start):
            raise SetupError(field, f"{datetime.fromtimestamp(ts, zone):%Y-%m-%d %H:%M} is not on the race's date "
                                    f"{day.isoformat()}" + (" (nor less than 12 hours after its first start)"
                                                            if race.first_start is not None else ""))
        return ts
    if field in ("start_interval", "max_time"):
        return _duration(t, field)
    if field == "bib_start":
        return _int(t, field, lo=1, hi=MAX_BIB)
    if field == "vacancy_every":
        v = _int(t, field, lo=0, hi=MAX_VACANCIES)
        return v or None
    if field == "draw_order":
        return _int(t, field, lo=-9999, hi=9999)
    if field == "draw_method":
        return _choice(t, field, DRAW_METHODS)
    if field == "start_type":
        return _choice(t, field, START_TYPES)
    if field == "start_box":
        return " ".join(t.split())
    if field == "course":
        courses = {c.name: c.id for c in Course.select().where(Course.race == race.id)}
        if t in courses:
            return t
        match = [n for n in courses if _key(n) == _key(t)]
        if len(match) == 1:
            return match[0]
        known = ", ".join(sorted(courses)) or "none yet: import courses first"
        raise SetupError(field, f"no course '{t}' in race {race.race_number or race.id} (courses: {known})")
    raise SetupError(field, "cannot be set here")  # pragma: no cover - every field is handled above


def _check_bibs(db: peewee.Database, cls: ClassInfo) -> None:
    rng = cls.bib_range
    if rng is None:
        return
    for other in list_classes(db, cls.race_id):
        if other.id == cls.id:
            continue
        o = other.bib_range
        if o is not None and rng[0] <= o[1] and o[0] <= rng[1]:
            raise SetupError("bib_start", f"bibs {rng[0]}–{rng[1]} of {cls.name} overlap {other.name}'s "
                                          f"{o[0]}–{o[1]}")


def _apply(db: peewee.Database, race_id: int, class_name: str, changes: Mapping[str, str]) -> tuple[ClassInfo, dict[str, Any]]:
    race = Race.get_or_none(Race.id == race_id)
    if race is None:
        raise SetupError("race", f"no race with id {race_id} (races: {describe_races(list_races(db))})")
    cls = find_class(db, race_id, class_name)
    zone = _zone(cls.timezone)
    clean: dict[str, Any] = {}
    for field, text in changes.items():
        clean[field] = _class_value(race, cls, field, text, zone)
    fields = {k: v for k, v in clean.items() if k != "course"}
    after = ClassInfo(**{**asdict(cls), **fields, **({"course": clean["course"]} if "course" in clean else {})})
    if after.start_type == "interval" and "start_interval" in clean and after.start_interval is None and after.starts:
        raise SetupError("start_interval", f"class {cls.name} has {after.starts} starts with times: an interval is needed")
    _check_bibs(db, after)
    return after, clean


def check_class_field(db: peewee.Database, race_id: int, class_name: str, field: str, text: str) -> str | None:
    """Live validation for an editor: the error for this one field's text, or None when it is right."""
    try:
        _apply(db, race_id, class_name, {field: text})
    except SetupError as exc:
        return exc.message if exc.field == field else str(exc)
    return None


def preview_class(db: peewee.Database, race_id: int, class_name: str, changes: Mapping[str, str]) -> ClassInfo:
    """The class as `set_class` with these changes would make it, nothing written; SetupError when
    they do not hold (for an editor's preview of all its fields together)."""
    return _apply(db, race_id, class_name, changes)[0]


def set_class(db: peewee.Database, race_id: int, class_name: str, changes: Mapping[str, str]) -> ClassInfo:
    """Change a class's timing fields (typed text; empty clears); all checked before anything is written."""
    if not changes:
        raise SetupError("class", "nothing to change")
    with db.atomic():
        after, clean = _apply(db, race_id, class_name, changes)
        cls = Class.get_by_id(after.id)
        for field, value in clean.items():
            if field == "course":
                cls.course_id = (Course.get((Course.race == race_id) & (Course.name == value)).id
                                 if value is not None else None)
            else:
                setattr(cls, field, value)
        cls.save()
    return find_class(db, race_id, after.name)
