"""Import Results: an IOF XML 3.0 ResultList from another program as the results of a named race.

For multi-day totals with stages timed elsewhere, and to compare with this program's own timing.
The runners become entries as an entry import makes them (the same matching: entry id, person id,
card number and name, name, club and class), and each gets its result: status, start, finish,
time (tenths kept when the file has them) and split times. Results of entries that have station
data here are this program's own and are never overwritten. The file is read and parsed before
the write transaction; the transaction holds only the writes.
"""

from __future__ import annotations

import json
import time
from typing import Any

from t4o_tui.jobs.base import Job, JobError, RunContext
from t4o_tui.jobs.event_data import FILE, RACE, read_input, resolve_race
from t4o_tui.jobs.import_entries import _Importer
from t4o_tui.jobs.settings import Schema, Setting
from t4o_tui.orienteering import iof
from t4o_tui.orienteering.entry_table import ABSENT, EntryRow
from t4o_tui.orienteering.model import ClassResultRecord, PersonResultRecord
from t4o_tui.orienteering.punch_check import Status
from t4o_tui.orienteering.ranking import ResultEntry, rank_class

DIFFER_SHOWN = 10  # places that differ from the file's, named in the log


def _row(r: PersonResultRecord, cls: ClassResultRecord, line: int, id_type: str) -> EntryRow:
    p = r.person
    cards: dict[str | None, Any] = {}
    if r.card is not None and r.card.number.isdigit():
        cards[r.card.system] = int(r.card.number)
    return EntryRow(
        line=line,
        entry_identifiers={id_type: r.entry_id} if r.entry_id else {},
        person_identifiers={k or id_type: v for k, v in p.ids.items()},
        given_name=p.given or ABSENT, family_name=p.family or ABSENT, sex=p.sex or ABSENT,
        birth_year=p.birth_year if p.birth_year is not None else ABSENT,
        birth_date=p.birth_date or ABSENT,
        class_name=cls.class_def.name,
        organisation_name=r.organisation.name if r.organisation else ABSENT,
        cards=cards,
        bib=int(r.bib) if r.bib and r.bib.isdigit() else ABSENT,
    )


class ImportResultsJob(Job):
    id = "import-results"
    title = "Import Results"
    category = "Results"
    description = (
        "Imports an IOF XML 3.0 ResultList from another program as the results of a race (the 'race' "
        "setting): for multi-day totals with stages timed elsewhere, and to compare. Runners become "
        "entries as an entry import makes them; times keep their tenths. Lenient: decimal commas, no "
        "namespace, windows-1252 are read with a warning. Relay (team) results are counted and skipped."
    )
    settings = Schema((
        FILE,
        RACE,
        Setting("id_type", "text", "Identifier type", "Identifier type for ids without one (e.g. Eventor).", default="Eventor"),
        Setting("card_type", "text", "Card type", "Card type for card numbers without one.", default="SI"),
    ))
    idempotent = True
    timeout = 600.0

    def run(self, ctx: RunContext) -> None:
        data = read_input(ctx)
        try:
            doc = iof.read_result_list(data)
        except iof.IofError as exc:
            raise JobError(f"{ctx.settings['file']}: {exc}") from None
        for w in doc.warnings:
            ctx.warning(w)
        race = resolve_race(ctx, create=True, event_name=doc.event.name or None, race_date=doc.event.date)
        number = race.race_number
        id_type = str(ctx.settings.get("id_type") or "Eventor")
        # A ResultList of several races marks each Result with its race number: this race's only.
        picked: list[tuple[ClassResultRecord, PersonResultRecord, EntryRow]] = []
        other_races = 0
        for cls in doc.classes:
            for r in cls.results:
                if r.race_number is not None and number is not None and r.race_number != number:
                    other_races += 1
                    continue
                line = r.line if r.line is not None else len(picked) + 1
                picked.append((cls, r, _row(r, cls, line, id_type)))
        ctx.info(f"IOF XML ResultList with {len(picked)} results in {len(doc.classes)} classes"
                 + (f" from {doc.creator}" if doc.creator else "") + f", into race {number or race.id} '{race.name}'")
        if other_races:
            ctx.info(f"{other_races} results of other races in the file left out")
        if doc.team_results:
            ctx.warning(f"{doc.team_results} team results skipped: relay results are not imported (only individual results)")
        resolution = float(race.event.time_resolution or 1.0)
        finer = sorted({c.time_resolution for c in doc.classes if c.time_resolution < resolution})
        if finer:
            ctx.warning(f"the file's times have a resolution of {finer[0]:g} s; the event ranks at {resolution:g} s "
                        f"(set the event's time resolution to {finer[0]:g} to rank as the file does)")
        importer = _Importer(ctx, race.id, id_type)
        counts = {"created": 0, "updated": 0, "unchanged": 0, "kept": 0}
        now = time.time()
        with ctx.transaction():
            conn = ctx.db.connection()
            importer.begin(conn)
            entry_of = importer.rows([row for _, _, row in picked])
            timed_here = {e for (e,) in conn.execute(
                "SELECT DISTINCT sd.entry_id FROM station_data sd JOIN entry e ON e.id = sd.entry_id "
                "WHERE e.race_id=? AND sd.active=1", (race.id,))}
            old = {r[0]: r[1:] for r in conn.execute(
                "SELECT r.entry_id, r.status, r.start_time, r.finish_time, r.time, r.splits FROM result r "
                "JOIN entry e ON e.id = r.entry_id WHERE e.race_id=?", (race.id,))}
            for (_, r, row), eid in zip(picked, entry_of, strict=True):
                ctx.check()
                if eid is None:
                    continue  # not imported as an entry (ambiguous): said in the log by line
                if eid in timed_here:
                    counts["kept"] += 1
                    importer.note("warning", f"line {row.line}: {r.person.name} has station data here: "
                                             "the result is computed from it and not overwritten")
                    continue
                splits = json.dumps([[s.code, s.time if s.status != "Missing" else None]
                                     for s in r.splits if s.status != "Additional"])
                missing = " ".join(s.code for s in r.splits if s.status == "Missing") or None
                new = (r.status, r.start_time.timestamp() if r.start_time else None,
                       r.finish_time.timestamp() if r.finish_time else None, r.time, splits)
                if old.get(eid) == new:
                    counts["unchanged"] += 1
                    continue
                counts["updated" if eid in old else "created"] += 1
                conn.execute(
                    "INSERT INTO result(entry_id, status, start_time, finish_time, time, splits, missing, station_data_id, "
                    "computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?) ON CONFLICT(entry_id) DO UPDATE SET "
                    "status=excluded.status, start_time=excluded.start_time, finish_time=excluded.finish_time, "
                    "time=excluded.time, splits=excluded.splits, missing=excluded.missing, station_data_id=NULL, "
                    "computed_at=excluded.computed_at", (eid, *new[:4], splits, missing, now))
                old[eid] = new
        importer.report()
        ctx.info(f"results: {counts['created']} created, {counts['updated']} updated, {counts['unchanged']} unchanged, "
                 f"{counts['kept']} kept (timed here)")
        self._compare(ctx, picked, resolution)

    @staticmethod
    def _compare(ctx: RunContext, picked: list[tuple[ClassResultRecord, PersonResultRecord, EntryRow]],
                 resolution: float) -> None:
        """The file's places against this program's ranking of the same times at the event's resolution."""
        by_class: dict[str, list[tuple[int, int, PersonResultRecord]]] = {}
        for i, (cls, r, row) in enumerate(picked):
            by_class.setdefault(cls.class_def.name, []).append((i, row.line, r))
        with_place = agree = 0
        differ: list[str] = []
        for name, results in by_class.items():
            known = {s.value for s in Status}
            ranked = rank_class([ResultEntry(i, r.person.name, Status(r.status) if r.status in known else Status.INACTIVE,
                                             r.time) for i, _, r in results], resolution=resolution)
            ours = {row.key: row.place for row in ranked}
            for i, line, r in results:
                if r.position is None and ours[i] is None:
                    continue
                with_place += 1
                if r.position == ours[i]:
                    agree += 1
                elif len(differ) < DIFFER_SHOWN:
                    differ.append(f"line {line}: {r.person.name} ({name}) is {r.position or 'unplaced'} in the file, "
                                  f"{ours[i] or 'unplaced'} here")
        if with_place:
            ctx.info(f"places as the file: {agree} of {with_place} agree at {resolution:g} s resolution")
        for d in differ:
            ctx.warning(d)
