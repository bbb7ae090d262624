"""The IOF XML 3.0 ResultList of a race, from the ranked rows the Result List job computed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from t4o_tui.orienteering.iof_write import (
    ClassResultOut,
    PersonResultOut,
    SplitOut,
    write_result_list,
)
from t4o_tui.orienteering.model import (
    Card,
    ClassDef,
    Course,
    EventInfo,
    Organisation,
    Person,
    RaceInfo,
)
from t4o_tui.orienteering.ranking import at_resolution

if TYPE_CHECKING:
    from t4o_tui.orienteering.ranking import RankedRow


@dataclass
class Runner:
    """One runner's row as the lists need it; defined here so that result_list imports this module, not the reverse."""

    entry_id: int
    class_id: int
    name: str
    club: str
    bib: str | None
    status: str
    time: float | None
    start: float | None
    finish: float | None
    splits: list[tuple[str, float | None]]
    not_competing: bool
    row: tuple[Any, ...]


def result_list_xml(conn: Any, race: Any, classes: list[Any], ranked: dict[int, list[tuple[RankedRow, Runner]]],
                    zone: Any, now: datetime, *, creator: str, resolution: float = 1.0) -> bytes:
    """Times truncated to the event's time resolution (as ranked), which each ClassResult states."""
    courses = {cid: Course(name, int(length) if length else None, int(climb) if climb else None)
               for cid, name, length, climb in conn.execute("SELECT id, name, length, climb FROM course WHERE race_id=?", (race.id,))}
    day = date.fromisoformat(race.date) if race.date else None
    first = datetime.fromtimestamp(race.first_start, zone) if race.first_start else None
    event = EventInfo(name=race.event.name, date=day, races=(RaceInfo(race.race_number or 1, race.name, day, first),))
    out = []
    orgs: dict[tuple[str, str | None], Organisation] = {}  # ~50 clubs for 10,000 runners: build each once
    for c in classes:
        results = []
        for row, r in ranked[c[0]]:
            x = r.row
            person = Person(given=x[12] or "", family=x[13] or "", sex=x[14], birth_date=date.fromisoformat(x[15]) if x[15] else None,
                            birth_year=x[16])
            org = None
            if r.club:
                org = orgs.get((r.club, x[17]))
                if org is None:
                    org = orgs[(r.club, x[17])] = Organisation(r.club, ids=json.loads(x[17]) if x[17] else {})
            has_result = r.status not in ("Inactive", "Started", "Checked", "Active")
            splits = tuple(SplitOut(code, at_resolution(t, resolution) if t is not None else None,
                                    "OK" if t is not None else "Missing") for code, t in r.splits) if has_result else ()
            results.append(PersonResultOut(
                person=person, status=r.status, organisation=org, bib=r.bib,
                start_time=datetime.fromtimestamp(r.start, zone) if r.start else None,
                finish_time=datetime.fromtimestamp(r.finish, zone) if r.finish else None,
                time=at_resolution(r.time, resolution) if has_result and r.time is not None else None,
                time_behind=row.behind if row.place else None,
                position=row.place, splits=splits, card=Card(str(x[20])) if x[20] else None,
                course=courses.get(x[19]), entry_id=x[18],
            ))
        out.append(ClassResultOut(ClassDef(c[1]), tuple(results), time_resolution=resolution))
    return write_result_list(event, out, creator=creator, create_time=now.astimezone(zone))
