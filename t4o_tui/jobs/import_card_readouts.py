"""Import Card Readouts: SportIdent SI Config+ / SI Reader CSV exports into station data."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from t4o_tui.engine.job import Job, JobError, RunContext
from t4o_tui.engine.settings import Schema
from t4o_tui.jobs.event_data import FILE, RACE, event_zone, read_input, resolve_race
from t4o_tui.jobs.timing_data import insert_station_data, station_id
from t4o_tui.orienteering.punch_check import CardData, Punch, TimeBase
from t4o_tui.orienteering.readouts import ReadoutHeaderError, parse_readouts, readout_key


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
        for e in parsed.errors:
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
                base_day = r.read_on.date() if r.read_on else day
                if r.twelve_hour or base_day is None:
                    # SI-Card 5 (or no date anywhere): times stay as read and are resolved against the
                    # runner's start time when processed (a value past 12:00 counts as a 24-hour time).
                    card = CardData(r.punches, r.start, r.finish, r.check, r.clear, TimeBase.HALF_DAY)
                else:
                    midnight = datetime(base_day.year, base_day.month, base_day.day, tzinfo=zone)

                    def at(p: Punch | None, midnight: datetime = midnight) -> Punch | None:
                        if p is None or p.time is None:
                            return p
                        return Punch(p.code, (midnight + timedelta(seconds=p.time)).timestamp())

                    card = CardData(tuple(at(p) or p for p in r.punches), at(r.start), at(r.finish), at(r.check), at(r.clear), TimeBase.EPOCH)
                read_at = r.read_on.replace(tzinfo=zone).timestamp() if r.read_on else None
                stored = insert_station_data(conn, race_id=race.id, station=readout, card=str(r.card), bib=r.start_no or None,
                                             read_at=read_at, card_data=card, source=f"readout file line {r.line}",
                                             dedupe_key="si:" + readout_key(r), now=now)
                if stored is None:
                    dup += 1
                else:
                    new += 1
        ctx.info(f"{new} readouts imported, {dup} already imported before, {len(parsed.errors)} rows with errors"
                 + ("" if ref else "; the race has no zero time: 12-hour cards resolve against start times"))
