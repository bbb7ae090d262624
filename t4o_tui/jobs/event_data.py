"""Glue the event-data jobs share: which race a run works on, and common settings."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from t4o_tui.jobs.base import JobError, RunContext
from t4o_tui.jobs.settings import Setting
from t4o_tui.store.models import Event, Race
from t4o_tui.timefmt import local_zone_name

RACE = Setting("race", "integer", "Race", "Race number (or id). Default: the event's only race.", min=1)
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
            if r.id == wanted:
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

    def step(self) -> None:
        self.n += 1
        if self.n % self.every == 0:
            self.ctx.check()
            self.ctx.progress(self.n / self.total, f"{self.label} {self.n}/{self.total}")


def file_problems(ctx: RunContext, problems: list[str]) -> JobError:
    """The run's one-line reason for a file with problems: the first, where it is, and how many
    more; every problem goes to the run's log first, so the admin can mend them all in one go."""
    file = ctx.settings.get("file")
    if len(problems) > 1:
        for p in problems:
            ctx.warning(f"{file}: {p}")
    n = len(problems) - 1
    more = f" (and {n} more problem{'s' if n > 1 else ''}: see the log)" if n else ""
    return JobError(f"{file}: {problems[0] if problems else 'unreadable'}{more}")
