"""Process Station Data: raw station data into results (identification, punch check, station priority).

Results are derived data: for every runner touched, the result is computed again from all of the
runner's active station data, so deleting results and processing again always gives the same answer.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import defaultdict
from typing import Any

from t4o_tui.engine import corrections
from t4o_tui.engine.job import Job, RunContext
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.jobs import relay_timing
from t4o_tui.jobs.event_data import RACE, event_zone, resolve_race
from t4o_tui.jobs.steps import long_lived_rows
from t4o_tui.jobs.timing_data import RaceData, card_of, load_race
from t4o_tui.orienteering.punch_check import (
    CardData,
    DataStatus,
    StartSource,
    StationReading,
    StationRole,
    Status,
    check_punches,
    has_no_punches,
    merge_station_statuses,
)

PUNCHING_ROLES = {StationRole.READOUT.value, StationRole.OVERRIDE.value}
DETAIL_MAX = 2000
STEP = 2000  # runners whose results one committed step writes


class ProcessStationDataJob(Job):
    id = "process-station-data"
    title = "Process Station Data"
    category = "Timing"
    description = (
        "Turns station data (card readouts, finish, start and card checks, radio punches, overrides) into "
        "results: finds the runner by card or bib, checks the punches against the course, and lets the "
        "station with the best priority decide the status (override > readout > finish > start check > "
        "card check). The log lists every readout with a data status or a non-OK status, and why. Writes in "
        "steps of 2,000 runners (each step committed and logged), so a long run never holds the database."
    )
    settings = Schema((
        RACE,
        Setting("all", "boolean", "All station data", "Process all station data again, not only new.", default=False),
    ))
    sub_minute = True
    timeout = 300.0

    def run(self, ctx: RunContext) -> None:
        # Tens of thousands of rows and parts of the output at once: no full garbage collection
        # walks them over and over while they are built (jobs/steps.py; a 10k ResultList 0.98 → 0.79 s).
        with long_lived_rows():
            self._run(ctx)

    def _run(self, ctx: RunContext) -> None:
        race = resolve_race(ctx)
        zone = event_zone(race)
        now = time.time()
        conn = ctx.db.connection()
        # Read and identify outside any write transaction: the race's courses, classes, entries and
        # stations, and the station data to process.
        rd = load_race(conn, race.id)
        # Relay runners are timed team by team (a leg starts at the previous leg's changeover): the
        # relay pass below, not the individual one.
        relay_runners = relay_timing.annotate(conn, rd)
        where = "race_id=?" if ctx.settings.get("all") else "race_id=? AND processed_at IS NULL"
        conn.row_factory = sqlite3.Row
        try:
            todo = conn.execute(f"SELECT * FROM station_data WHERE {where} ORDER BY id", (race.id,)).fetchall()
        finally:
            conn.row_factory = None
        if not todo:
            ctx.info("no new station data")
            return
        marks: list[tuple[int | None, str | None, str | None, float, int]] = []
        by_entry: dict[int | None, list[int]] = defaultdict(list)
        problems = 0
        for i, sd in enumerate(todo):
            if i % 500 == 0:
                ctx.check()
                ctx.progress(i / (len(todo) * 2), f"identifying {i}/{len(todo)}")
            if corrections.kind_of(sd["source"]) is not None and sd["entry_id"] in rd.entries:
                # A correction names its runner (engine.corrections): it is not identified again.
                entry, status, message = sd["entry_id"], None, None
            else:
                entry, status, message = _identify(rd, sd)
            if status is not None:
                problems += 1
                _detail(ctx, problems, f"station data {sd['id']} (card {sd['card_number'] or '-'}, "
                                     f"bib {sd['bib'] or '-'}): {status}" + (f" — {message}" if message else ""))
            marks.append((entry, status, message, now, sd["id"]))
            by_entry[entry].append(len(marks) - 1)
        # Results are derived data, so the writes commit in steps of STEP runners: the database is
        # never held for long, and a step cut short (cancel, crash) is simply processed again.
        runners = sorted(e for e in by_entry if e is not None)
        steps = [runners[i:i + STEP] for i in range(0, len(runners), STEP)] or [[]]
        counts: dict[str, int] = defaultdict(int)
        for k, step in enumerate(steps, start=1):
            with ctx.transaction():
                conn = ctx.db.connection()
                rows = [marks[i] for e in ([None] if k == 1 else []) + step for i in by_entry.get(e, [])]
                conn.executemany("UPDATE station_data SET entry_id=?, data_status=?, data_message=?, processed_at=? "
                                 "WHERE id=?", rows)
                conn.row_factory = sqlite3.Row  # station data by column name; put back before the commit
                try:
                    individual = [e for e in step if e not in relay_runners]
                    for status_name, n in self._results(ctx, conn, rd, individual, zone, now, done=(k - 1) * STEP,
                                                        total=len(runners)).items():
                        counts[status_name] += n
                finally:
                    conn.row_factory = None
            if len(steps) > 1:
                ctx.info(f"step {k} of {len(steps)} committed: results for {min(k * STEP, len(runners))} of "
                         f"{len(runners)} runners")
        relay_timing.process_teams(ctx, rd, [e for e in runners if e in relay_runners], zone, now)
        ctx.info(f"{len(todo)} station data processed, {problems} with a data status; results for {len(runners)} runners: "
                 + ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1])))

    def _results(self, ctx: RunContext, conn: sqlite3.Connection, rd: RaceData, ids: list[int], zone: Any,
                 now: float, *, done: int = 0, total: int = 0) -> dict[str, int]:
        by_entry: dict[int, list[sqlite3.Row]] = defaultdict(list)
        for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
            marks = ",".join("?" * len(chunk))
            for sd in conn.execute(f"SELECT * FROM station_data WHERE entry_id IN ({marks}) AND active=1 ORDER BY id", chunk):
                by_entry[sd["entry_id"]].append(sd)
        counts: dict[str, int] = defaultdict(int)
        shown = 0
        results: list[dict[str, Any]] = []
        for n, eid in enumerate(ids):
            if n % 500 == 0:
                ctx.check()
                ctx.progress(0.5 + (done + n) / (max(total, 1) * 2), f"results {done + n}/{total}")
            info = rd.entries[eid]
            row = compute_result(rd, eid, by_entry.get(eid, []), zone)
            counts[row["status"]] += 1
            results.append({**row, "entry_id": eid, "now": now})
            if row["status"] not in (Status.OK.value, Status.STARTED.value, Status.CHECKED.value, Status.FINISHED.value):
                shown += 1
                why = f": missing {row['missing']}" if row["missing"] else ""
                _detail(ctx, shown, f"{info.class_name} {info.bib or ''} {info.name}: {row['status']}{why}"
                        + (f" ({row['note']})" if row.get("note") else ""))
        # One statement for the step's results: a statement per runner cost more than the punch checks.
        conn.executemany(
            "INSERT INTO result(entry_id, status, start_time, finish_time, time, splits, missing, station_data_id, computed_at) "
            "VALUES (:entry_id, :status, :start_time, :finish_time, :time, :splits, :missing, :station_data_id, :now) "
            "ON CONFLICT(entry_id) DO UPDATE SET status=excluded.status, start_time=excluded.start_time, "
            "finish_time=excluded.finish_time, time=excluded.time, splits=excluded.splits, missing=excluded.missing, "
            "station_data_id=excluded.station_data_id, computed_at=excluded.computed_at, "
            "overdue=CASE WHEN excluded.finish_time IS NOT NULL THEN 0 ELSE result.overdue END",
            results)
        return counts


def compute_result(rd: RaceData, eid: int, data: list[sqlite3.Row], zone: Any) -> dict[str, Any]:
    """A runner's result from all their active station data; the same data always gives the same result."""
    info = rd.entries[eid]
    readings = []
    override_status: Status | None = None
    best_card: sqlite3.Row | None = None
    best_key: tuple[int, float] | None = None
    # Punch and time corrections (override station data from engine.corrections) edit the card the
    # punch check reads, in the order they were made; status corrections are override statuses.
    edits: list[corrections.CardEdit] = []
    edit_rows: list[sqlite3.Row] = []
    for sd in data:
        name, role, prio = rd.stations.get(sd["station_id"], ("?", "readout", 10))
        edit = corrections.card_edit(sd) if corrections.edits_card(sd["source"]) else None
        if edit is not None:
            edits.append(edit)
            edit_rows.append(sd)
            continue
        given = Status(sd["status"]) if sd["status"] else None
        if role == StationRole.OVERRIDE.value and given is not None:
            override_status = given
        if role in PUNCHING_ROLES and sd["punches"] not in (None, "[]") or (role in PUNCHING_ROLES and sd["finish_time"]):
            key = (prio, -(sd["read_at"] or sd["id"]))
            if best_key is None or key < best_key:
                best_key, best_card = key, sd
        readings.append((StationRole(role), given, prio, float(sd["read_at"] or sd["id"])))
    out: dict[str, Any] = {"status": Status.INACTIVE.value, "start_time": info.start_time, "finish_time": None, "time": None,
                           "splits": "[]", "missing": None, "station_data_id": None, "note": None}
    if best_card is None and edit_rows:
        # Corrections without a card (a lost card, a finish time from the finish clock): the
        # corrections are the card, ranked as the override station they were written at.
        first = edit_rows[0]
        name, role, prio = rd.stations.get(first["station_id"], ("?", StationRole.OVERRIDE.value, 0))
        readings.append((StationRole(role), None, prio, float(first["read_at"] or first["id"])))
    card_row = best_card if best_card is not None else (edit_rows[0] if edit_rows else None)
    punch_status: Status | None = None
    if card_row is not None:
        course = rd.courses.get(info.course_id or -1)
        start_source = info.start_source if info.start_source in ("punch", "drawn") else "drawn"
        if course is None:
            out["note"] = "no course"
        else:
            try:
                card = card_of(dict(best_card)) if best_card is not None else CardData()
                card, start_set = corrections.apply_to_card(
                    card, edits, reference=info.start_time if info.start_time is not None else rd.zero_time, tz=zone)
                if start_set:
                    start_source = StartSource.PUNCH.value  # a start time set by correction wins over the drawn one
                res = check_punches(course, card, start_source=StartSource(start_source),
                                    drawn_start=info.start_time, max_time=info.max_time, zero_time=rd.zero_time, tz=zone,
                                    override_status=override_status)
            except ValueError as exc:
                # One card that cannot be placed in time (12-hour times with nothing to anchor them)
                # must not stop the results of everyone else: it is said on this runner's result.
                out["note"] = f"{exc}: give the runner a start time, or the race a zero time or first start"
                res = None
            if res is not None:
                punch_status = res.status
                out.update(start_time=res.start, finish_time=res.finish, time=res.time, station_data_id=card_row["id"],
                           splits=json.dumps([[s.code, s.time] for s in res.splits]),
                           missing=" ".join(res.missing) or None)
    merged = merge_station_statuses(
        StationReading(role, punch_status if (sd_role_punches(role) and punch_status is not None) else given, prio, received)
        for role, given, prio, received in readings)
    out["status"] = (override_status or merged).value
    return out


def sd_role_punches(role: StationRole) -> bool:
    return role in (StationRole.READOUT, StationRole.OVERRIDE)


def _identify(rd: RaceData, sd: sqlite3.Row) -> tuple[int | None, str | None, str | None]:
    """(entry, data status, message): by card number, else by bib."""
    card, bib = sd["card_number"], sd["bib"]
    if card:
        found = rd.by_card.get(str(card), [])
        if len(found) > 1:
            return None, DataStatus.SEVERAL_ENTRIES.value, f"card {card} belongs to {len(found)} entries"
        if found:
            return found[0], _data_warning(rd, found[0], sd), None
    if bib:
        found = rd.by_bib.get(str(bib), [])
        if len(found) > 1:
            return None, DataStatus.SEVERAL_ENTRIES.value, f"bib {bib} is on {len(found)} entries"
        if found:
            return found[0], _data_warning(rd, found[0], sd), None
        return None, DataStatus.START_NOT_FOUND.value, f"no runner with bib {bib}"
    return None, DataStatus.CARD_NOT_FOUND.value, f"card {card} is not on any entry of this race" if card else "no card, no bib"


def _data_warning(rd: RaceData, eid: int, sd: sqlite3.Row) -> str | None:
    info = rd.entries[eid]
    role = rd.stations.get(sd["station_id"], ("?", "readout", 0))[1]
    if role == StationRole.READOUT.value:
        if info.course_id is None or info.course_id not in rd.courses:
            return DataStatus.NO_COURSE.value
        # A start or finish time is something: the punches are decoded only for cards without either.
        if sd["start_time"] is None and sd["finish_time"] is None and has_no_punches(card_of(dict(sd))):
            return DataStatus.NO_PUNCHES.value
    return None


def _detail(ctx: RunContext, n: int, message: str) -> None:
    if n <= DETAIL_MAX:
        ctx.info(message)
    elif n == DETAIL_MAX + 1:
        ctx.info("… more lines not shown")

