"""Import Classes: IOF XML 3.0 ClassList; creates or updates classes, matched by id, then by name."""

from __future__ import annotations

import json
import sqlite3

from t4o_tui.engine.job import Job, JobError, RunContext
from t4o_tui.engine.settings import Schema
from t4o_tui.jobs.event_data import FILE, RACE, event_zone, name_key, read_input, resolve_race
from t4o_tui.orienteering import iof
from t4o_tui.orienteering.race_classes import RaceClassInfo, for_race, read_race_classes
from t4o_tui.store.models import Race


class ImportClassesJob(Job):
    id = "import-classes"
    title = "Import Classes"
    category = "Race classes"
    description = (
        "Imports an IOF XML 3.0 ClassList: creates classes that are new and updates name, short name, "
        "sex and ages of known ones (matched by id, then by name). Timing settings of a class (start "
        "interval, first start, course, max time) are the event's and are never overwritten; a class's "
        "RaceClass first start fills the class's (and the race's date and first start) where none is set."
    )
    settings = Schema((FILE, RACE))
    timeout = 120.0

    def run(self, ctx: RunContext) -> None:
        data = read_input(ctx)
        try:
            cl = iof.read_class_list(data)
        except iof.IofError as exc:
            raise JobError(f"{ctx.settings['file']}: {exc}") from None
        for w in cl.warnings:
            ctx.warning(w)
        race = resolve_race(ctx, create=True)
        try:
            race_classes = for_race(read_race_classes(data, event_zone(race)), race.race_number or race.id)
        except iof.IofError as exc:
            raise JobError(f"{ctx.settings['file']}: {exc}") from None
        created = updated = unchanged = 0
        with ctx.transaction():
            conn = ctx.db.connection()
            rows = conn.execute("SELECT id, name, short_name, sex, min_age, max_age, ids FROM class WHERE race_id=?",
                                (race.id,)).fetchall()
            by_id = {(t, v): r[0] for r in rows for t, v in json.loads(r[6]).items()}
            by_name = {name_key(r[1]): r for r in rows}
            current = {r[0]: r for r in rows}
            for c in cl.classes:
                ctx.check()
                cid = next((by_id[k] for k in c.ids.items() if k in by_id), None)
                if cid is None and name_key(c.name) in by_name:
                    cid = by_name[name_key(c.name)][0]
                new = (c.name, c.short_name, c.sex, c.min_age, c.max_age)
                if cid is None:
                    cur = conn.execute("INSERT INTO class(race_id, name, short_name, sex, min_age, max_age, ids) "
                                       "VALUES (?, ?, ?, ?, ?, ?, ?)", (race.id, *new, json.dumps(c.ids, sort_keys=True)))
                    by_name[name_key(c.name)] = (int(cur.lastrowid or 0), *new, json.dumps(c.ids))
                    created += 1
                    ctx.info(f"class {c.name}: created")
                    continue
                old = current.get(cid)
                ids = {**(json.loads(old[6]) if old else {}), **c.ids}
                if old is not None and tuple(old[1:6]) == new and json.loads(old[6]) == ids:
                    unchanged += 1
                    continue
                conn.execute("UPDATE class SET name=?, short_name=?, sex=?, min_age=?, max_age=?, ids=? WHERE id=?",
                             (*new, json.dumps(ids, sort_keys=True), cid))
                updated += 1
                ctx.info(f"class {c.name}: updated")
            if race_classes:
                self._fill_first_starts(ctx, conn, race, race_classes)
        ctx.info(f"classes: {created} created, {updated} updated, {unchanged} unchanged")

    @staticmethod
    def _fill_first_starts(ctx: RunContext, conn: sqlite3.Connection, race: Race, infos: dict[str, RaceClassInfo]) -> None:
        """RaceClass first starts, where the class (and the race) have none: never over the admin's."""
        zone = event_zone(race)
        classes = {name_key(n): (cid, first) for cid, n, first in
                   conn.execute("SELECT id, name, first_start FROM class WHERE race_id=?", (race.id,))}
        times = [i.first_start for i in infos.values() if i.first_start is not None]
        date, first = conn.execute("SELECT date, first_start FROM race WHERE id=?", (race.id,)).fetchone()
        if times and date is None and first is None:
            date = min(times).astimezone(zone).date().isoformat()
            conn.execute("UPDATE race SET date=? WHERE id=?", (date, race.id))
            ctx.info(f"race {race.race_number or race.id}: date {date} from the classes' first starts (was not set)")
        on_day = [t for t in times if t.astimezone(zone).date().isoformat() == date]
        if on_day and first is None:
            conn.execute("UPDATE race SET first_start=? WHERE id=?", (min(on_day).timestamp(), race.id))
            ctx.info(f"race {race.race_number or race.id}: first start {min(on_day).astimezone(zone):%H:%M:%S} "
                     "from the classes' first starts (was not set)")
        filled = kept = 0
        for name, info in infos.items():
            cid, current = classes.get(name_key(name), (None, None))
            if cid is None or info.first_start is None:
                continue
            if current is not None:
                kept += current != info.first_start.timestamp()
                continue
            if info.first_start.astimezone(zone).date().isoformat() != date:
                ctx.warning(f"class {name}: first start {info.first_start.isoformat()} in the file is not on the "
                            f"race's date {date}: not taken")
                continue
            conn.execute("UPDATE class SET first_start=? WHERE id=?", (info.first_start.timestamp(), cid))
            filled += 1
        ctx.info(f"class first starts from the file: {filled} filled"
                 + (f", {kept} kept as set before (differ from the file)" if kept else ""))
