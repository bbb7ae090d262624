"""Test Timing (id `test-timing`): simulated readouts for runners without a result, so a schedule plays a live race."""

from __future__ import annotations

import hashlib
import time

from t4o_tui.engine.job import Job, JobError, RunContext
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.jobs import relay_timing
from t4o_tui.jobs.event_data import RACE, resolve_race
from t4o_tui.jobs.timing_data import insert_station_data, load_race, station_id
from t4o_tui.orienteering.simulator import SimEntry, SimSettings, simulate


class SimulatedTimingJob(Job):
    id = "test-timing"
    title = "Test Timing"
    category = "Station data"
    description = (
        "Simulates card readouts for runners who have started but have no result: a running time from "
        "the course length and a pace per runner, a punch per control in order, sometimes a missing "
        "punch. Only runners whose simulated finish has passed are read out, at most 'results per run', "
        "so a schedule every few seconds plays a live race. Never on a real event."
    )
    settings = Schema((
        RACE,
        Setting("test_event", "boolean", "This is a test event", "Simulated readouts become station data: confirm this is not a real event.",
                default=False),
        Setting("results_per_run", "integer", "Results per run", "At most this many readouts per run.", default=10, min=1, max=100000),
        Setting("missing_probability", "number", "Chance of a missing punch", "Per runner, 0..1.", default=0.05, min=0, max=1),
        Setting("pace_min", "number", "Fastest pace (min/km)", default=5.0, min=2, max=30),
        Setting("pace_max", "number", "Slowest pace (min/km)", default=12.0, min=2, max=60),
        Setting("seed", "integer", "Seed", "Same seed, same runners' times.", default=1),
    ))
    sub_minute = True
    timeout = 120.0

    def run(self, ctx: RunContext) -> None:
        s = ctx.settings
        if not s.get("test_event"):
            raise JobError("setting 'test_event' is off: Test Timing writes simulated readouts and is only for test events")
        if s["pace_max"] < s["pace_min"]:
            raise JobError("setting 'pace_max': must not be below 'pace_min'")
        race = resolve_race(ctx)
        now = time.time()
        # The simulation is computed before the write transaction; the readouts' dedupe keys make a
        # readout that another run stored meanwhile a no-op.
        conn = ctx.db.connection()
        rd = load_race(conn, race.id)
        done = {r[0] for r in conn.execute(
            "SELECT entry_id FROM result WHERE finish_time IS NOT NULL UNION "
            "SELECT entry_id FROM station_data WHERE entry_id IS NOT NULL AND race_id=? UNION "
            "SELECT e.id FROM entry e JOIN entry_card ec ON ec.entry_id = e.id JOIN card c ON c.id = ec.card_id "
            "JOIN station_data sd ON sd.card_number = c.number AND sd.race_id = e.race_id WHERE e.race_id=? UNION "
            "SELECT e.id FROM entry e JOIN station_data sd ON sd.bib = e.bib AND sd.race_id = e.race_id WHERE e.race_id=?",
            (race.id, race.id, race.id))}
        entries = [SimEntry(eid, info.start_time, rd.courses.get(info.course_id or -1, []), rd.course_lengths.get(info.course_id or -1))
                   for eid, info in rd.entries.items()
                   if eid not in done and info.start_time is not None and info.course_id in rd.courses and info.status == "entered"]
        settings = SimSettings(seed=int(s.get("seed", 1)), pace_min=float(s["pace_min"]) * 60, pace_max=float(s["pace_max"]) * 60,
                               missing_probability=float(s["missing_probability"]), results_per_run=int(s["results_per_run"]))
        # Relay runners start at their team's changeover, not at a drawn time: simulated team by team.
        relay_runners = relay_timing.annotate(conn, rd)
        entries = [e for e in entries if e.key not in relay_runners]
        readouts = simulate(entries, settings, now)
        if relay_runners:
            readouts = sorted(readouts + relay_timing.simulate_relays(conn, rd, settings, now, done),
                              key=lambda r: (r.card.finish.time if r.card.finish and r.card.finish.time else 0.0,
                                             repr(r.key)))[:settings.results_per_run]
        with ctx.transaction():
            conn = ctx.db.connection()
            readout = station_id(conn, "readout")
            cards = {eid: n for n, eids in rd.by_card.items() for eid in eids}
            for r in readouts:
                eid = int(r.key)  # type: ignore[call-overload]
                info = rd.entries[eid]
                key = "sim:" + hashlib.sha1(f"{race.id}:{eid}".encode()).hexdigest()[:16]
                insert_station_data(conn, race_id=race.id, station=readout, card=cards.get(eid), bib=None if eid in cards else info.bib,
                                    read_at=r.read_at, card_data=r.card, source="test-timing", dedupe_key=key, now=now)
                miss = f", missing {' '.join(r.missing)}" if r.missing else ""
                ctx.info(f"{info.class_name} {info.bib or ''} {info.name}: read out ({r.pace / 60:.1f} min/km{miss})")
        waiting = len(entries) + len(relay_runners - done) - len(readouts)
        ctx.info(f"{len(readouts)} simulated readouts; {waiting} runners still out on the course")
