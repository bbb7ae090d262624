"""Overdue Check: who is past start time + the class's max time without a finish (safety)."""

from __future__ import annotations

import time
from datetime import datetime

from t4o_tui.engine.job import Job, RunContext
from t4o_tui.engine.settings import Schema
from t4o_tui.jobs.event_data import RACE, event_zone, resolve_race
from t4o_tui.store.models import Race

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
        "time' to check each runner the moment they become overdue, or by hand for everybody. Classes "
        "without a max time cannot be checked: the run says which."
    )
    settings = Schema((RACE,))
    sub_minute = True
    timeout = 60.0

    def run(self, ctx: RunContext) -> None:
        row = ctx.row or {}
        only = row.get("start_id")
        race = self._race(ctx, row)
        if race is None:
            return
        zone = event_zone(race)
        clock = getattr(ctx, "clock", None)  # the engine's (controllable) clock
        now = clock.now() if clock is not None else time.time()
        with ctx.transaction():
            conn = ctx.db.connection()
            if only is not None:
                rows = conn.execute(OVERDUE_SQL + " AND s.id = ?", (race.id, now, only)).fetchall()
                unchecked: list[str] = []
            else:
                rows = conn.execute(OVERDUE_SQL, (race.id, now)).fetchall()
                unchecked = [n for (n,) in conn.execute(
                    "SELECT c.name FROM class c WHERE c.race_id = ? AND c.max_time IS NULL AND EXISTS (SELECT 1 FROM "
                    "start s JOIN entry e ON e.id = s.entry_id WHERE s.class_id = c.id AND e.status = 'entered') "
                    "ORDER BY c.name", (race.id,))]
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
        if only is not None:
            if not rows:
                ctx.info(f"start {only} ({row.get('label') or row.get('name') or 'runner'}): finished, not overdue yet, "
                         "or its class has no max time")
            summary = f"start {only}: {'OVERDUE' if rows else 'not overdue'}"
        else:
            summary = f"{len(rows)} runners overdue ({flagged} newly flagged)"
        if unchecked:
            # Silence would read as "nobody is out there": say which classes could not be checked.
            shown = ", ".join(unchecked[:20]) + (f" and {len(unchecked) - 20} more" if len(unchecked) > 20 else "")
            ctx.warning(f"{len(unchecked)} classes have no max time and were not checked: {shown} "
                        f"(set it with: t4o-tui class set CLASS --race {race.race_number or race.id} --max-time 2h)")
            summary += f"; {len(unchecked)} classes not checked (no max time: {shown})"
        ctx.info(summary)
        ctx.progress(1.0, summary)

    @staticmethod
    def _race(ctx: RunContext, row: dict[str, object]) -> Race | None:
        """The race to check: the row's (a per-row schedule over every race's starts) unless the
        task names another, in which case the row is not this task's business."""
        row_race = row.get("race_id")
        if row.get("start_id") is None or row_race is None:
            return resolve_race(ctx)
        race = Race.get_or_none(Race.id == row_race)
        if race is None:
            ctx.info(f"start {row.get('start_id')}: its race is gone")
            return None
        wanted = ctx.settings.get("race")
        if wanted is not None and wanted not in (race.race_number, race.id):
            ctx.info(f"start {row.get('start_id')} is in race {race.race_number or race.id}; this task checks race {wanted}")
            return None
        return race
