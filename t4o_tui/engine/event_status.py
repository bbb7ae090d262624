"""The event's status counts for the dashboard: who is out, who is home, how it went."""

from __future__ import annotations

from dataclasses import dataclass

import peewee

STATUS_SQL = (
    "SELECT COALESCE(r.status, 'Inactive'), s.start_time IS NOT NULL AND s.start_time > ?, COALESCE(r.overdue, 0), count(*) "
    "FROM entry e LEFT JOIN start s ON s.entry_id = e.id LEFT JOIN result r ON r.entry_id = e.id "
    "WHERE e.status = 'entered' {race} GROUP BY 1, 2, 3"
)


@dataclass(frozen=True)
class EventStatus:
    entries: int
    not_started: int  # start time still ahead
    in_forest: int  # started (or no start time) and no finish yet
    finished: int  # finish passed, card not read out
    ok: int
    missing_punch: int
    did_not_finish: int
    did_not_start: int
    disqualified: int
    other: int  # over time and the rest
    overdue: int

    @property
    def home(self) -> int:
        return self.finished + self.ok + self.missing_punch + self.did_not_finish + self.disqualified + self.other


def event_status(db: peewee.Database, *, now: float, race_id: int | None = None) -> EventStatus:
    """Counts over entered runners; one query."""
    sql = STATUS_SQL.format(race="AND e.race_id = ?" if race_id is not None else "")
    params: tuple[object, ...] = (now, race_id) if race_id is not None else (now,)
    c = dict.fromkeys(("entries", "not_started", "in_forest", "finished", "ok", "missing_punch", "did_not_finish",
                       "did_not_start", "disqualified", "other", "overdue"), 0)
    for status, ahead, overdue, n in db.execute_sql(sql, params).fetchall():
        c["entries"] += n
        if overdue:
            c["overdue"] += n
        if status in ("Inactive", "Started", "Checked", "Active"):
            c["not_started" if ahead and status == "Inactive" else "in_forest"] += n
        else:
            key = {"Finished": "finished", "OK": "ok", "MissingPunch": "missing_punch", "DidNotFinish": "did_not_finish",
                   "DidNotStart": "did_not_start", "Disqualified": "disqualified"}.get(status, "other")
            c[key] += n
    return EventStatus(**c)
