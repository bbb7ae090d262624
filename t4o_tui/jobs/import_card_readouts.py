"""Import Card Readouts: SportIdent SI Config+ / SI Reader CSV exports into station data."""

from __future__ import annotations

import time
from datetime import date, datetime, tzinfo

from t4o_tui.engine.job import Job, JobError, RunContext
from t4o_tui.engine.settings import Schema
from t4o_tui.jobs.event_data import FILE, RACE, event_zone, read_input, resolve_race
from t4o_tui.jobs.timing_data import insert_station_data, station_id
from t4o_tui.orienteering.punch_check import (
    CLOCK_AHEAD,
    CardData,
    Punch,
    TimeBase,
    latest_at_or_before,
    wall_clock,
)
from t4o_tui.orienteering.readouts import Readout, ReadoutHeaderError, parse_readouts, readout_key


class ImportCardReadoutsJob(Job):
    id = "import-card-readouts"
    title = "Import Card Readouts"
    category = "Station data"
    description = (
        "Reads a SportIdent card readout export (SI Config+ CSV, or the older SI Reader CSV) into station "
        "data from the readout station. A readout already imported is not imported again; broken rows are "
        "listed with their line and skipped. Run Process Station Data afterwards."
    )
    settings = Schema((FILE, RACE))
    idempotent = True
    timeout = 300.0

    def run(self, ctx: RunContext) -> None:
        race = resolve_race(ctx)
        zone = event_zone(race)
        data = read_input(ctx)
        try:
            parsed = parse_readouts(data)
        except ReadoutHeaderError as exc:
            raise JobError(f"{ctx.settings['file']}: {exc}") from None
        for e in (*parsed.errors, *parsed.warnings):
            ctx.warning(e)
        ref = race.zero_time or race.first_start
        day = datetime.fromisoformat(race.date).date() if race.date else None
        now = time.time()
        new = dup = 0
        with ctx.transaction():
            conn = ctx.db.connection()
            readout = station_id(conn, "readout")
            for r in parsed.readouts:
                ctx.check()
                read_at = r.read_on.replace(tzinfo=zone).timestamp() if r.read_on else None
                if r.twelve_hour or (read_at is None and day is None):
                    # SI-Card 5 (or no date anywhere): times stay as read and are resolved against the
                    # runner's start time when processed (a value past 12:00 counts as a 24-hour time).
                    card = CardData(r.punches, r.start, r.finish, r.check, r.clear, TimeBase.HALF_DAY)
                else:
                    card = _placed(r, read_at, day, zone)
                stored = insert_station_data(conn, race_id=race.id, station=readout, card=str(r.card), bib=r.start_no or None,
                                             read_at=read_at, card_data=card, source=f"readout file line {r.line}",
                                             dedupe_key="si:" + readout_key(r), now=now)
                if stored is None:
                    dup += 1
                else:
                    new += 1
        ctx.info(f"{new} readouts imported, {dup} already imported before, {len(parsed.errors)} rows with errors"
                 + ("" if ref else "; the race has no zero time: 12-hour cards resolve against start times"))


def _placed(r: Readout, read_at: float | None, day: date | None, zone: tzinfo) -> CardData:
    """A 24-hour card's times of day as instants: the latest at or before the readout (a night
    race's 23:45 punch on a card read at 00:30 is the evening before), else on the race's day."""

    def at(p: Punch | None) -> Punch | None:
        if p is None or p.time is None:
            return p
        if read_at is not None:
            return Punch(p.code, latest_at_or_before(p.time, read_at + CLOCK_AHEAD, zone))
        assert day is not None
        return Punch(p.code, wall_clock(day, p.time, zone))

    return CardData(tuple(at(p) or p for p in r.punches), at(r.start), at(r.finish), at(r.check), at(r.clear),
                    TimeBase.EPOCH)
