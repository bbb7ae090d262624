"""Split Results: points per leg from split times across races, best K races, as a JSON report."""

from __future__ import annotations

import json
from collections import defaultdict

from t4o_tui.engine.job import Job, JobError, RunContext
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.jobs.event_data import name_key
from t4o_tui.orienteering.split_points import (
    ClassRace,
    PointsDeduction,
    PointsSeries,
    RunnerLegs,
    split_points_report,
)


class SplitResultsJob(Job):
    id = "split-results"
    title = "Split Results"
    category = "Results"
    description = (
        "Gives points per leg from split times for the selected classes across the event's races: a points "
        "series (12,10,8,…,0 — the last value to everyone who completed the leg) or points deduction "
        "(winner points minus one per N seconds behind). Counts each runner's best K races. Writes a JSON "
        "report, typically published through a share link."
    )
    settings = Schema((
        Setting("classes", "multi-choice", "Classes", "Class names, comma separated; empty: all classes."),
        Setting("method", "choice", "Method", default="series", choices=(("series", "Points series"), ("deduction", "Points deduction"))),
        Setting("series", "text", "Points series", "Points for places 1, 2, 3, …; the last to all others who completed.",
                default="12,10,8,6,5,4,3,2,1,0"),
        Setting("winner_points", "number", "Winner points", default=100.0, min=0),
        Setting("seconds_per_point", "number", "Seconds per point", default=10.0, min=0.001),
        Setting("best_of", "integer", "Best K races", "Count each runner's best K races; empty: all.", min=1),
        Setting("require_ok", "boolean", "Only OK runners score", default=False),
    ))
    timeout = 300.0
    produces = "application/json"

    def run(self, ctx: RunContext) -> None:
        s = ctx.settings
        if s.get("method") == "deduction":
            method: PointsSeries | PointsDeduction = PointsDeduction(float(s["winner_points"]), float(s["seconds_per_point"]))
        else:
            try:
                method = PointsSeries(tuple(float(x) for x in str(s.get("series", "")).split(",") if x.strip()))
            except ValueError:
                raise JobError(f"setting 'series': '{s.get('series')}' is not a list of numbers like 12,10,8") from None
            if not method.values:
                raise JobError("setting 'series': at least one value is needed")
        wanted = {name_key(c) for c in s.get("classes") or []}
        conn = ctx.db.connection()
        races: list[ClassRace] = []
        groups: dict[tuple[int, str], list[tuple]] = defaultdict(list)  # type: ignore[type-arg]
        for row in conn.execute(
            "SELECT r.race_number, r.name, c.name, e.person_id, TRIM(COALESCE(p.given,'') || ' ' || COALESCE(p.family,'')), "
            "res.status, res.splits, res.time FROM result res JOIN entry e ON e.id = res.entry_id JOIN class c ON c.id = e.class_id "
            "JOIN race r ON r.id = e.race_id LEFT JOIN person p ON p.id = e.person_id ORDER BY r.id, c.name, e.id"):
            if wanted and name_key(row[2]) not in wanted:
                continue
            groups[(row[0] or 0, row[2])].append(row)
        for (_race_no, class_name), rows in groups.items():
            codes = [c for c, _ in json.loads(rows[0][6] or "[]")]
            labels = [f"{a}–{b}" for a, b in zip(["S", *codes], [*codes, "F"], strict=True)]
            runners = []
            for r in rows:
                splits = [t for _, t in json.loads(r[6] or "[]")]
                legs: list[float | None] = []
                prev: float | None = 0.0
                for t in [*splits, r[7]]:
                    legs.append(t - prev if (t is not None and prev is not None) else None)
                    prev = t
                runners.append(RunnerLegs(str(r[3] or r[4]), r[4], r[5], legs))
            races.append(ClassRace(str(rows[0][1]), class_name, labels, runners))
        if not races:
            raise JobError("no results to score" + (" in the selected classes" if wanted else "") + ": process station data first")
        best = s.get("best_of")
        report = split_points_report(races, method, best_of=int(best) if best else None, require_ok=bool(s.get("require_ok")))
        data = json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8")
        with ctx.output("split-results.json", "application/json") as fh:
            fh.write(data)
        ctx.info(f"split points for {len({r.class_name for r in races})} classes over {len({r.race for r in races})} races")
