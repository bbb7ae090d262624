"""Glue the event-data jobs share: which race a run works on, and common settings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from t4o_tui.engine.job import JobError, RunContext
from t4o_tui.engine.settings import Setting
from t4o_tui.orienteering.entry_table import TableError
from t4o_tui.orienteering.model import EventInfo
from t4o_tui.store.models import Class, Event, Race
from t4o_tui.timefmt import local_zone_name

RACE = Setting("race", "integer", "Race", "Race number (or id). Default: the event's only race; "
               "required when the event has several.", min=1)
FILE = Setting("file", "file", "File", "The file to read.", required=True)
FORMAT_CHOICES = (("iof-xml", "IOF XML 3.0"), ("html", "HTML page"), ("csv", "CSV"))
# File name extension and media type of each list format.
FORMAT_FILES = {"iof-xml": ("xml", "application/xml"), "html": ("html", "text/html"), "csv": ("csv", "text/csv")}


def _describe(races: list[Race]) -> str:
    return ", ".join(f"{r.race_number or r.id} {r.name}" for r in races)


def resolve_race(ctx: RunContext, *, create: bool = False, event_name: str | None = None,
                 race_name: str | None = None, race_date: date | None = None) -> Race:
    """The race the run works on: the 'race' setting, else the only race; imports may create the first."""
    races = list(Race.select().order_by(Race.id))
    wanted = ctx.settings.get("race")
    if wanted is not None:
        for r in races:
            if r.race_number == wanted:
                return r
        for r in races:
            # An id only for a race without a number: race 3 must not be the race whose id is 3.
            if r.id == wanted and r.race_number is None:
                return r
        raise JobError(f"setting 'race': no race {wanted} (races: {_describe(races) or 'none yet'})")
    if len(races) == 1:
        return races[0]
    if races:
        raise JobError(f"the event has {len(races)} races: choose one in the setting 'race' ({_describe(races)})")
    if not create:
        raise JobError("the event has no race yet: import classes, courses or entries first")
    event = Event.select().first() or Event.create(name=event_name or "Event", timezone=local_zone_name())
    race = Race.create(event=event, name=race_name or event_name or "Race 1", race_number=1,
                       date=race_date.isoformat() if race_date else None)
    ctx.info(f"created race {race.race_number} '{race.name}' (the event had none)")
    return race


def fill_race_data(ctx: RunContext, race: Race, event: EventInfo) -> None:
    """What a file's Event (and Event/Race) says about the race, written where the race has nothing:
    date, first start, and the names while they are still the placeholders an import gave them.
    Never overwrites what the admin set (t4o-tui race set / event set)."""
    number = race.race_number or race.id
    info = next((r for r in event.races if r.number == number), None)
    if info is None and len(event.races) > 1:
        ctx.info(f"the file describes races {', '.join(str(r.number) for r in event.races)}; "
                 f"none is race {number}: race data left as it is")
        return
    day = info.date if info is not None and info.date else event.date
    first = info.first_start if info is not None and info.first_start else event.first_start
    name = info.name if info is not None and info.name else None
    filled: list[str] = []
    with ctx.transaction():
        race = Race.get_by_id(race.id)
        ev = race.event
        if event.name and ev.name in ("", "Event"):
            ev.name = event.name
            ev.save()
            filled.append(f"event name '{event.name}'")
        zone = event_zone(race)
        own_day = datetime.fromtimestamp(race.first_start, zone).date() if race.first_start is not None else None
        if race.date is None and day is not None and own_day in (None, day):
            race.date = day.isoformat()
            filled.append(f"date {race.date}")
        if race.first_start is None and first is not None and race.date == first.astimezone(zone).date().isoformat():
            race.first_start = first.timestamp()
            filled.append(f"first start {first.astimezone(zone):%H:%M:%S}")
        if name and race.name in (f"Race {number}", ev.name, event.name) and race.name != name:
            race.name = name
            filled.append(f"name '{name}'")
        race.save()
    if filled:
        ctx.info(f"race {number}: from the file's event data: {', '.join(filled)} (was not set)")
    if len(event.races) > 1:
        known = {r.race_number for r in Race.select(Race.race_number)}
        missing = [r for r in event.races if r.number not in known]
        if missing:
            ctx.info("the file describes races this event does not have: "
                     + ", ".join(f"{r.number} {r.name}" for r in missing)
                     + " (add them with: t4o-tui race add NAME --date YYYY-MM-DD)")


def no_date_hint(race: Race) -> str:
    return f"set it with: t4o-tui race set {race.race_number or race.id} --date YYYY-MM-DD"


def reference_problems(settings: dict[str, object]) -> list[str]:
    """Settings that name a race or classes that do not exist, each as one line; checked when a
    task is saved, so that `task set … race=99` is refused then rather than at the next run.
    An event without races accepts any race (the first import creates it)."""
    problems: list[str] = []
    races = list(Race.select().order_by(Race.race_number.is_null(), Race.race_number, Race.id))
    wanted = settings.get("race")
    race: Race | None = None
    if isinstance(wanted, int) and races:
        race = next((r for r in races if r.race_number == wanted), None) or next(
            (r for r in races if r.id == wanted and r.race_number is None), None)
        if race is None:
            problems.append(f"setting 'race': no race {wanted} (races: {_describe(races)})")
    if isinstance(settings.get("races"), str) and races:
        try:
            numbers = parse_races(settings["races"]) or []
        except ValueError as exc:
            problems.append(f"setting 'races': {exc}")
            numbers = []
        known_numbers = {r.race_number or r.id for r in races}
        missing_numbers = [n for n in numbers if n not in known_numbers]
        if missing_numbers:
            problems.append(f"setting 'races': no race {', '.join(map(str, missing_numbers))} (races: {_describe(races)})")
    names = settings.get("classes")
    if isinstance(names, list) and names and not problems:
        scope = [race] if race is not None else races
        known = {name_key(c.name) for c in Class.select(Class.name).where(Class.race.in_([r.id for r in scope]))} if scope else set()
        if scope and known:
            missing = [n for n in names if name_key(str(n)) not in known]
            if missing:
                where = f" in race {race.race_number or race.id}" if race is not None else ""
                listed = sorted({c.name for c in Class.select(Class.name).where(Class.race.in_([r.id for r in scope]))})
                problems.append(f"setting 'classes': no class {', '.join(map(str, missing))}{where} "
                                f"(classes: {', '.join(listed)})")
    return problems


def parse_races(text: object) -> list[int] | None:
    """Race numbers from '1,2,3' (or '1-3'); None for empty; ValueError naming what is wrong."""
    raw = str(text or "").strip()
    if not raw:
        return None
    out: list[int] = []
    for part in raw.replace(" ", "").split(","):
        lo, sep, hi = part.partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise ValueError(f"'{part}' is not a race number (e.g. 1,2,3 or 1-3)")
        out.extend(range(int(lo), int(hi) + 1) if sep else [int(lo)])
    return out


def event_zone(race: Race | None = None) -> ZoneInfo:
    """The event's time zone (IANA name stored on the event, else the machine's)."""
    event = race.event if race is not None else Event.select().first()
    name = (event.timezone if event is not None else None) or local_zone_name()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def name_key(name: str) -> str:
    """Class and course names match with spaces, hyphens and underscores ignored, any case."""
    return "".join(ch for ch in name.casefold() if ch not in " -_\t")


def read_input(ctx: RunContext, key: str = "file", *, max_bytes: int = 200 * 1024 * 1024) -> bytes:
    """The bytes of the file named by a setting, or a clear JobError."""
    path = ctx.settings.get(key)
    if not path:
        raise JobError(f"setting '{key}': no file given")
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise JobError(f"{p}: the file is {size // (1024 * 1024)} MB; at most {max_bytes // (1024 * 1024)} MB")
        data = p.read_bytes()
    except FileNotFoundError:
        raise JobError(f"file not found: {p}") from None
    except IsADirectoryError:
        raise JobError(f"{p} is a folder, not a file") from None
    except PermissionError:
        raise JobError(f"no permission to read {p}") from None
    except OSError as exc:
        raise JobError(f"cannot read {p}: {exc.strerror}") from None
    ctx.info(f"read {p} ({len(data)} bytes)")
    return data


class Progress:
    """Reports progress and checks for cancel every `every` items (jobs check at least each second)."""

    def __init__(self, ctx: RunContext, total: int, label: str, every: int = 200) -> None:
        self.ctx, self.total, self.label, self.every, self.n = ctx, max(total, 1), label, every, 0
        self.shown = 0  # the most reported: items done again (a step matched again) do not move it back

    def step(self) -> None:
        self.n += 1
        if self.n % self.every == 0:
            self.ctx.check()
            if self.n > self.shown:
                self.shown = self.n
                self.ctx.progress(self.n / self.total, f"{self.label} {self.n}/{self.total}")


class _Read(Protocol):
    @property
    def warnings(self) -> Sequence[str]: ...


ReadT = TypeVar("ReadT", bound=_Read)


def read_table(ctx: RunContext, read: Callable[[], ReadT]) -> ReadT:
    """A CSV file as `read` reads it (an entry table, a start file, a card list): its problems
    become the run's error (file_problems), its warnings go to the run's log."""
    try:
        table = read()
    except TableError as exc:
        raise file_problems(ctx, [str(x) for x in exc.problems]) from None
    for w in table.warnings:
        ctx.warning(w)
    return table


def file_problems(ctx: RunContext, problems: list[str]) -> JobError:
    """The run's one-line reason for a file with problems: the first, where it is, and how many
    more; every problem goes to the run's log first, so the admin can mend them all in one go."""
    file = ctx.settings.get("file")
    if any("the race has no date" in p for p in problems):
        try:
            hint = no_date_hint(resolve_race(ctx))
        except JobError:
            hint = "set it with: t4o-tui race set N --date YYYY-MM-DD"
        problems = [f"{p} ({hint})" if "the race has no date" in p else p for p in problems]
    if len(problems) > 1:
        for p in problems:
            ctx.warning(f"{file}: {p}")
    n = len(problems) - 1
    more = f" (and {n} more problem{'s' if n > 1 else ''}: see the log)" if n else ""
    return JobError(f"{file}: {problems[0] if problems else 'unreadable'}{more}")
