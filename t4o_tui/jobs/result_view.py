"""The Results view's data: a race's result classes and one class ranked as the result list job
ranks it (a relay class by team and leg). Not a job: the TUI's query over the jobs' loaders."""

from __future__ import annotations

from dataclasses import dataclass

import peewee

from t4o_tui.engine import event_lists
from t4o_tui.engine.event_lists import ResultClass
from t4o_tui.engine.event_setup import RaceInfo
from t4o_tui.engine.queries.event import choose_race
from t4o_tui.jobs import relay_timing
from t4o_tui.jobs.event_data import event_zone
from t4o_tui.jobs.relay_store import relay_class_ids
from t4o_tui.jobs.result_list import clock, load_runners, rank
from t4o_tui.store.models import Race


@dataclass(frozen=True)
class ResultsData:
    races: list[RaceInfo]
    race: RaceInfo | None
    classes: list[ResultClass]
    class_id: int | None
    rows: list[tuple[str, ...]]  # key, place, bib, name, club, time, behind, status
    resolution: float = 1.0  # the event's time resolution: places and times as the result lists give them


def load_results(db: peewee.Database, wanted_race: int | None, class_id: int | None, now: float) -> ResultsData:
    """The chosen race's classes and one class's ranked results (in a worker thread)."""
    races, race = choose_race(db, wanted_race, now)
    if race is None:
        return ResultsData(races, None, [], None, [])
    classes = event_lists.result_classes(db, race.id)
    if not classes:
        return ResultsData(races, race, [], None, [])
    chosen = class_id if class_id is not None and class_id in {c.id for c in classes} else classes[0].id
    conn = db.connection()
    # Ranked and shown at the event's resolution, as the result list job does: at 0.1 s two runners
    # 0.2 s apart take different places and the view shows the tenths that separate them.
    race_row = Race.get_by_id(race.id)
    res = float(race_row.event.time_resolution or 1.0)
    if chosen in relay_class_ids(conn, race.id):
        # A relay class: each team with its legs (runner, leg time and place, changeover, place after).
        zone = event_zone(race_row)
        return ResultsData(races, race, classes, chosen,
                           relay_timing.result_rows(conn, race.id, chosen, zone, resolution=res), res)
    list_type = next(c.result_type for c in classes if c.id == chosen)
    runners = load_runners(conn, race.id).get(chosen, [])
    rows: list[tuple[str, ...]] = []
    for ranked, runner in rank(runners, list_type, res):
        rows.append((str(runner.entry_id), "" if ranked.place is None else f"{ranked.place}.", runner.bib or "",
                     runner.name, runner.club, clock(ranked.time, res) if ranked.time is not None else "",
                     f"+{clock(ranked.behind, res)}" if ranked.behind else "", ranked.status.value))
    return ResultsData(races, race, classes, chosen, rows, res)
