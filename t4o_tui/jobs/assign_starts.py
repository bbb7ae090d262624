"""Assign Starts (the draw): free starts to entries without one, club separation, seeding, vacancies."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace
from typing import Any

from t4o_tui.engine.job import Job, RunContext
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.jobs.create_starts import CLASSES, selected_classes
from t4o_tui.jobs.event_data import RACE, resolve_race
from t4o_tui.orienteering.draw import (
    DrawClass,
    DrawEntry,
    DrawOptions,
    DrawReport,
    DrawStart,
    Seeding,
    VacancyPlacement,
    draw_class,
)
from t4o_tui.orienteering.vacancies import reserved_positions
from t4o_tui.store.backend_sqlite import backend_of

# A class's draw method (class timing) as draw options; a class without one follows the task.
METHODS: dict[str, dict[str, Any]] = {
    "random": {"separate_clubs": False, "seeding": Seeding.NONE},
    "club-separation": {"separate_clubs": True, "seeding": Seeding.NONE},
    "seeded-highest-last": {"separate_clubs": True, "seeding": Seeding.HIGHEST_LAST},
    "seeded-lowest-last": {"separate_clubs": True, "seeding": Seeding.LOWEST_LAST},
}


class AssignStartsJob(Job):
    id = "assign-starts"
    title = "Assign Starts"
    category = "Starts"
    description = (
        "The draw: gives free starts to entries without a start, in random order, keeping runners of the "
        "same club apart where possible (the log says how many neighbours remain). Optional seeding "
        "(best last), vacant starts first, last or mixed, and redraw (never starts set by hand). Run it "
        "again after late entries. A seed makes the draw reproducible; without one, the seed used is logged."
    )
    settings = Schema((
        RACE, CLASSES,
        Setting("seed", "text", "Seed", "Any text or number; the same seed gives the same draw."),
        Setting("separate_clubs", "boolean", "Separate clubs", "Avoid same-club neighbours.", default=True),
        Setting("seeding", "choice", "Seeding", "Seeded runners start last (highest or lowest seeding value last).",
                default="none", choices=(("none", "None"), ("highest_last", "Highest last"), ("lowest_last", "Lowest last"))),
        Setting("vacancies", "choice", "Vacant starts", "Where the vacant starts go.", default="mixed",
                choices=(("first", "First"), ("last", "Last"), ("mixed", "Mixed"))),
        Setting("redraw", "boolean", "Redraw", "Remove drawn starts first (starts set by hand stay).", default=False),
    ))
    timeout = 300.0

    def run(self, ctx: RunContext) -> None:
        race = resolve_race(ctx)
        s = ctx.settings
        options = DrawOptions(seed=s.get("seed") or None, vacancies=VacancyPlacement(s.get("vacancies", "mixed")),
                              seeding=Seeding(s.get("seeding", "none")), redraw=bool(s.get("redraw")),
                              separate_clubs=bool(s.get("separate_clubs", True)))
        # The draw of a large race takes seconds: it is computed outside the write transaction from
        # what the database holds, and inside it only checked against a fresh read (drawn again in
        # the rare case another run changed the entries or starts meanwhile), then written.
        conn = ctx.db.connection()
        classes = selected_classes(ctx, conn, race.id)
        inputs = self._inputs(ctx, conn, classes)
        report = self._draw(conn, inputs, options)
        with ctx.transaction():
            conn = ctx.db.connection()
            fresh_classes = selected_classes(ctx, conn, race.id)
            fresh = self._inputs(ctx, conn, fresh_classes)
            if fresh_classes != classes or fresh != inputs:
                ctx.info("entries or starts changed while drawing: drawn again on the current data")
                classes, report = fresh_classes, self._draw(conn, fresh, replace(options, seed=report.seed))
            names = {c[0]: c[1] for c in classes}
            total_neighbours = 0
            for cd in report.classes:
                if cd.assignments:
                    ids = [a.start_id for a in cd.assignments]
                    # Unlink first: an entry may move from one start to another within the class.
                    conn.executemany("UPDATE start SET entry_id=NULL WHERE id=?", [(i,) for i in ids])
                    conn.executemany("UPDATE start SET entry_id=? WHERE id=?",
                                     [(a.entry_id, a.start_id) for a in cd.assignments if a.entry_id is not None])
                conn.execute("UPDATE entry SET bib=(SELECT bib FROM start WHERE start.entry_id=entry.id) "
                             "WHERE class_id=? AND status='entered' AND EXISTS (SELECT 1 FROM start WHERE start.entry_id=entry.id)",
                             (cd.class_id,))
                total_neighbours += cd.neighbours
                line = (f"class {names.get(cd.class_id, cd.class_id)}: {cd.drawn} drawn, {cd.vacancies} vacant, "
                        f"{cd.neighbours} same-club neighbour pair(s) left")
                ctx.info(line)
                for w in cd.warnings:
                    ctx.warning(f"class {names.get(cd.class_id, cd.class_id)}: {w}")
                if cd.without_start:
                    ctx.warning(f"class {names.get(cd.class_id, cd.class_id)}: {len(cd.without_start)} entries got no "
                                "start (not enough free starts: run Create Starts for late entries)")
        ctx.info(f"draw done with seed {report.seed!r}: {len(report.classes)} classes, {total_neighbours} same-club "
                 "neighbour pairs in all")

    @staticmethod
    def _draw(conn: sqlite3.Connection, inputs: list[DrawClass], options: DrawOptions) -> DrawReport:
        """The draw, each class by its own draw method (class timing) where it has one, else by the task's options."""
        seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**32)
        ids = [c.id for c in inputs]
        methods = dict(conn.execute(f"SELECT id, draw_method FROM class WHERE id IN ({','.join('?' * len(ids))})",
                                    ids).fetchall()) if ids else {}
        drawn = [draw_class(c, replace(options, **METHODS[m]) if (m := methods.get(c.id)) in METHODS else options, seed)
                 for c in sorted(inputs, key=lambda c: c.id)]
        return DrawReport(seed, drawn)

    @staticmethod
    def _inputs(ctx: RunContext, conn: sqlite3.Connection, classes: list[tuple]) -> list[DrawClass]:  # type: ignore[type-arg]
        """What the draw works on: each class's starts and entries as the database holds them. While
        the field is drawn (nobody in the class has a start yet, or a redraw), vacant starts at the
        class's fixed vacancy places are left out, so they stay vacant; a later draw gives them to
        late entries, which is what they are kept for."""
        inputs = []
        for c in classes:
            ctx.check()
            rows = conn.execute(
                "SELECT id, hand_set, entry_id FROM start WHERE class_id=? ORDER BY start_time IS NULL, start_time, "
                f"{backend_of(conn).cast_int('bib')}, id", (c[0],)).fetchall()
            n_entries, before, after, every = conn.execute(
                "SELECT (SELECT count(*) FROM entry WHERE class_id=class.id AND status='entered'), vacancies_before, "
                "vacancies_after, vacancy_every FROM class WHERE id=?", (c[0],)).fetchone()
            drawn = any(eid is not None for _, _, eid in rows) and not ctx.settings.get("redraw")
            keep_free = set() if drawn else reserved_positions(len(rows), n_entries, before or 0, after or 0, every)
            if len(rows) - len(keep_free) < n_entries:
                keep_free = set()  # starts made before the class had these vacancies: every runner needs one
            starts = [DrawStart(sid, order, bool(hand)) for order, (sid, hand, eid) in enumerate(rows)
                      if order not in keep_free or eid is not None]
            entries = [DrawEntry(eid, club, seed, start) for eid, club, seed, start in conn.execute(
                "SELECT e.id, e.organisation_id, p.seeding, s.id FROM entry e LEFT JOIN person p ON p.id = e.person_id "
                "LEFT JOIN start s ON s.entry_id = e.id WHERE e.class_id=? AND e.status='entered' ORDER BY e.id",
                (c[0],)).fetchall()]
            inputs.append(DrawClass(c[0], entries, starts, c[1]))
        return inputs
