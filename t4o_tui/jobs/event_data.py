"""Glue the event-data jobs share: which race a run works on, and common settings."""

from __future__ import annotations

from datetime import date

from t4o_tui.jobs.base import JobError, RunContext
from t4o_tui.jobs.settings import Setting
from t4o_tui.store.models import Event, Race
from t4o_tui.timefmt import local_zone_name

RACE = Setting("race", "integer", "Race", "Race number (or id). Default: the event's only race.", min=1)
FILE = Setting("file", "file", "File", "The file to read.", required=True)
FORMAT_CHOICES = (("iof-xml", "IOF XML 3.0"), ("html", "HTML page"), ("csv", "CSV"))


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
