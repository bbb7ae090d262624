"""Import Classes: IOF XML 3.0 ClassList; creates or updates classes, matched by id, then by name."""

from __future__ import annotations

import json

from t4o_tui.jobs.base import Job, JobError, RunContext
from t4o_tui.jobs.event_data import FILE, RACE, name_key, read_input, resolve_race
from t4o_tui.jobs.settings import Schema
from t4o_tui.orienteering import iof


class ImportClassesJob(Job):
    id = "import-classes"
    title = "Import Classes"
    category = "Race classes"
    description = (
        "Imports an IOF XML 3.0 ClassList: creates classes that are new and updates name, short name, "
        "sex and ages of known ones (matched by id, then by name). Timing settings of a class (start "
        "interval, first start, course, max time) are the event's and are never overwritten."
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
        ctx.info(f"classes: {created} created, {updated} updated, {unchanged} unchanged")
