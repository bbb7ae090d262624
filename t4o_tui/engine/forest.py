"""Who is in the forest (started, not home) and who has not started yet: the lists behind the
dashboard's "in forest" and "not started" counts, with the same rule (engine.event_status), for the
finish crew (who is still out, who is overdue) and the start crew (who is still to start)."""

from __future__ import annotations

from dataclasses import dataclass

import peewee

# Statuses that mean "not home yet" (engine.event_status counts them as in the forest).
OUT = ("Inactive", "Started", "Checked", "Active")

SQL = (
    "SELECT e.id, COALESCE(c.name, ''), TRIM(COALESCE(p.given, '') || ' ' || COALESCE(p.family, '')), "
    "COALESCE(o.short_name, o.name, ''), COALESCE(s.bib, e.bib, ''), s.start_time, c.max_time, "
    "COALESCE(r.status, 'Inactive'), COALESCE(r.overdue, 0), ra.name, "
    "(SELECT ca.number FROM entry_card ec JOIN card ca ON ca.id = ec.card_id WHERE ec.entry_id = e.id LIMIT 1) "
    "FROM entry e JOIN race ra ON ra.id = e.race_id LEFT JOIN start s ON s.entry_id = e.id "
    "LEFT JOIN result r ON r.entry_id = e.id LEFT JOIN class c ON c.id = e.class_id "
    "LEFT JOIN person p ON p.id = e.person_id LEFT JOIN organisation o ON o.id = e.organisation_id "
    "WHERE e.status = 'entered' AND COALESCE(r.status, 'Inactive') IN ('Inactive', 'Started', 'Checked', 'Active')"
)


@dataclass(frozen=True)
class OutRunner:
    entry_id: int
    class_name: str
    name: str
    club: str
    bib: str
    card: str | None
    start_time: float | None
    max_time: float | None
    status: str  # Inactive (no sign yet), Started / Checked (a start check or radio punch saw them)
    overdue_flag: bool  # set by the overdue check job
    race: str

    def time_out(self, now: float) -> float | None:
        return None if self.start_time is None else now - self.start_time

    def time_left(self, now: float) -> float | None:
        """Max time left (negative: over it); None without a max time or a start."""
        out = self.time_out(now)
        return None if out is None or self.max_time is None else self.max_time - out

    def overdue(self, now: float) -> bool:
        left = self.time_left(now)
        return self.overdue_flag or (left is not None and left < 0)


@dataclass(frozen=True)
class ForestData:
    in_forest: list[OutRunner]  # longest out first; no start time last
    not_started: list[OutRunner]  # next start first
    races: int


def forest(db: peewee.Database, *, now: float) -> ForestData:
    """Runners out and runners still to start, over every race (as the dashboard counts them)."""
    out: list[OutRunner] = []
    ahead: list[OutRunner] = []
    for row in db.execute_sql(SQL).fetchall():
        r = OutRunner(row[0], row[1], row[2], row[3], row[4], str(row[10]) if row[10] is not None else None,
                      row[5], row[6], row[7], bool(row[8]), row[9])
        # The dashboard's rule: a start ahead with no sign of the runner is "not started".
        if r.start_time is not None and r.start_time > now and r.status == "Inactive":
            ahead.append(r)
        else:
            out.append(r)
    out.sort(key=lambda r: (r.start_time is None, r.start_time if r.start_time is not None else 0, r.entry_id))
    ahead.sort(key=lambda r: (r.start_time or 0, r.entry_id))
    races = int(db.execute_sql("SELECT count(*) FROM race").fetchone()[0])
    return ForestData(out, ahead, races)
