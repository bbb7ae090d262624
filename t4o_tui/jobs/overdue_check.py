"""Overdue Check: who is past start time + the class's max time without a finish (safety)."""

from __future__ import annotations

import time
from datetime import datetime

from t4o_tui.jobs.base import Job, RunContext
from t4o_tui.jobs.event_data import RACE, event_zone, resolve_race
from t4o_tui.jobs.settings import Schema

OVERDUE_SQL = (
    "SELECT e.id, s.id, c.name, COALESCE(s.bib, e.bib), TRIM(COALESCE(p.given, '') || ' ' || COALESCE(p.family, '')), "
    "s.start_time, c.max_time, r.status, r.overdue FROM start s JOIN class c ON c.id = s.class_id "
    "JOIN entry e ON e.id = s.entry_id LEFT JOIN person p ON p.id = e.person_id LEFT JOIN result r ON r.entry_id = e.id "
    "WHERE s.race_id = ? AND e.status = 'entered' AND s.start_time IS NOT NULL AND c.max_time IS NOT NULL "
    "AND s.start_time + c.max_time <= ? AND (r.finish_time IS NULL) "
    "AND COALESCE(r.status, 'Inactive') IN ('Inactive', 'Started', 'Checked', 'Active')"
)


class OverdueCheckJob(Job):
    id = "overdue-check"
    title = "Overdue Check"
    category = "Timing"
    description = (
        "Safety: flags every runner past their start time + the class's max time without a finish as "
        "overdue and logs who is still out. Run it from a per-row schedule on 'Start time + class max "
        "time' to check each runner the moment they become overdue, or by hand for everybody."
    )
    settings = Schema((RACE,))
    sub_minute = True
    timeout = 60.0

    def run(self, ctx: RunContext) -> None:
        race = resolve_race(ctx)
        zone = event_zone(race)
        now = time.time()
        only = ctx.row.get("start_id") if ctx.row else None
        with ctx.transaction():
            conn = ctx.db.connection()
            rows = conn.execute(OVERDUE_SQL, (race.id, now)).fetchall()
            if only is not None:
                rows = [r for r in rows if r[1] == only]
            flagged = 0
            for eid, _sid, cls, bib, name, start, max_time, status, overdue in rows:
                if not overdue:
                    conn.execute(
                        "INSERT INTO result(entry_id, status, start_time, overdue, computed_at) VALUES (?, ?, ?, 1, ?) "
                        "ON CONFLICT(entry_id) DO UPDATE SET overdue=1", (eid, status or "Inactive", start, now))
                    flagged += 1
                ctx.log("warning", f"OVERDUE: {cls} {bib or ''} {name or '?'} started "
                        f"{datetime.fromtimestamp(start, zone):%H:%M}, max time {int(max_time // 60)} min, no finish "
                        f"(status {status or 'Inactive'})")
        if only is not None and not rows:
            ctx.info(f"start {only}: finished or not overdue")
        ctx.info(f"{len(rows)} runners overdue ({flagged} newly flagged)")
