"""Start List: IOF XML 3.0 StartList, an HTML page by class, or CSV; the file is the task's latest file."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from t4o_tui import __version__
from t4o_tui.engine.job import Job, RunContext
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.jobs.create_starts import CLASSES, selected_classes
from t4o_tui.jobs.event_data import FORMAT_CHOICES, FORMAT_FILES, RACE, event_zone, resolve_race
from t4o_tui.jobs.steps import long_lived_rows
from t4o_tui.orienteering import html_lists, iof
from t4o_tui.orienteering.model import (
    Card,
    ClassDef,
    ClassStart,
    Course,
    EventInfo,
    Organisation,
    Person,
    RaceInfo,
    StartRecord,
)
from t4o_tui.store.backend_sqlite import backend_of


def start_sql(b: Any) -> str:
    """Every start of a race with its runner, in the backend `b`'s words."""
    return (
        "SELECT s.class_id, s.bib, s.start_time, co.name, co.length, co.climb, e.identifier, p.given, p.family, p.sex, "
        "p.birth_date, p.birth_year, o.name, o.ids, "
        "(SELECT c.number || ':' || c.card_type FROM entry_card ec JOIN card c ON c.id = ec.card_id "
        "WHERE ec.entry_id = e.id LIMIT 1), "
        f"(SELECT {b.json_object_agg('pi.type', 'pi.value')} FROM person_identifier pi WHERE pi.person_id = p.id) "
        "FROM start s LEFT JOIN course co ON co.id = s.course_id LEFT JOIN entry e ON e.id = s.entry_id "
        "LEFT JOIN person p ON p.id = e.person_id LEFT JOIN organisation o ON o.id = e.organisation_id "
        f"WHERE s.race_id = ? ORDER BY s.class_id, s.start_time IS NULL, s.start_time, {b.cast_int('s.bib')}, s.id"
    )


class StartListJob(Job):
    id = "start-list"
    title = "Start List"
    category = "Starts"
    description = (
        "Writes the start list: IOF XML 3.0 StartList (for other programs and Eventor), an HTML page by "
        "class that reads well on a phone and an arena screen, or CSV. Share it with a share link."
    )
    settings = Schema((
        RACE, CLASSES,
        Setting("format", "choice", "Format", "File format.", default="html", choices=FORMAT_CHOICES),
        Setting("include_vacant", "boolean", "Vacant starts", "List vacant starts too.", default=False),
    ))
    timeout = 300.0
    produces = "text/html"

    def run(self, ctx: RunContext) -> None:
        # Tens of thousands of rows and parts of the output at once: no full garbage collection
        # walks them over and over while they are built (jobs/steps.py; a 10k ResultList 0.98 → 0.79 s).
        with long_lived_rows():
            self._run(ctx)

    def _run(self, ctx: RunContext) -> None:
        race = resolve_race(ctx)
        zone = event_zone(race)
        fmt = ctx.settings.get("format", "html")
        conn = ctx.db.connection()
        classes = selected_classes(ctx, conn, race.id)
        by_class: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for row in conn.execute(start_sql(backend_of(conn)), (race.id,)):
            by_class[row[0]].append(row)
        # Every format honours the setting: a StartList for the arena speaker or Eventor without vacant slots.
        vacant = bool(ctx.settings.get("include_vacant"))
        sections = [(c, [r for r in by_class.get(c[0], []) if vacant or r[8] is not None or r[7] is not None]) for c in classes]
        total = sum(len(rows) for _, rows in sections)
        ext, media = FORMAT_FILES[fmt]
        now = datetime.now(UTC)
        if fmt == "iof-xml":
            data = self._xml(race, sections, zone, now)
        elif fmt == "csv":
            data = html_lists.render_csv(
                ["Class", "Bib", "Start", "Name", "Club", "Card", "Course"],
                [[c[1], r[1] or "", _clock(r[2], zone), _name(r), r[12] or "", (r[14] or "").split(":")[0], r[3] or ""]
                 for c, rows in sections for r in rows])
        else:
            event_name = race.event.name
            meta = f"{race.name} · {race.date or ''} · updated {now.astimezone(zone):%H:%M:%S}"
            secs = []
            for c, rows in sections:
                course = next((r for r in rows if r[3]), None)
                note = f"{course[3]} {course[4] / 1000:.1f} km" if course and course[4] else (course[3] if course else "")
                secs.append(html_lists.Section(c[1], f"{note} · {len(rows)} starts".strip(" ·"), [
                    [_clock(r[2], zone), r[1] or "", _name(r) or "vacant", r[12] or "", (r[14] or "").split(":")[0]] for r in rows
                ], frozenset(i for i, r in enumerate(rows) if r[7] is None and r[8] is None)))
            cols = [html_lists.Column("Start", numeric=True), html_lists.Column("Bib", numeric=True), html_lists.Column("Name"),
                    html_lists.Column("Club"), html_lists.Column("Card", numeric=True, wide_only=True)]
            data = html_lists.render_page(f"{event_name} – Start list", meta, cols, secs)
        with ctx.output(f"startlist-race{race.race_number or race.id}.{ext}", media) as fh:
            fh.write(data)
        ctx.info(f"start list ({fmt}): {len(sections)} classes, {total} starts, {len(data)} bytes")

    @staticmethod
    def _xml(race: Any, sections: list[tuple[Any, list[tuple[Any, ...]]]], zone: Any, now: datetime) -> bytes:
        first = datetime.fromtimestamp(race.first_start, zone) if race.first_start else None
        day = date.fromisoformat(race.date) if race.date else None
        event = EventInfo(name=race.event.name, date=day, races=(RaceInfo(race.race_number or 1, race.name, day, first),))
        out = []
        for c, rows in sections:
            starts = []
            for r in rows:
                person = None
                if r[7] is not None or r[8] is not None:
                    birth = date.fromisoformat(r[10]) if r[10] else None
                    person = Person(given=r[7] or "", family=r[8] or "", sex=r[9], birth_date=birth, birth_year=r[11],
                                    ids=json.loads(r[15]) if r[15] else {})
                org = Organisation(r[12], ids=json.loads(r[13]) if r[13] else {}) if r[12] and person else None
                card = None
                if r[14] and person:
                    number, _, system = r[14].partition(":")
                    card = Card(number, system or None)
                starts.append(StartRecord(
                    person=person, organisation=org, bib=r[1], course=Course(r[3], r[4], r[5]) if r[3] else None,
                    start_time=datetime.fromtimestamp(r[2], zone) if r[2] is not None else None, card=card,
                    entry_id=r[6] if person else None,
                ))
            out.append(ClassStart(ClassDef(c[1]), tuple(starts)))
        return iof.write_start_list(event, out, creator=f"t4o-tui {__version__}", create_time=now.astimezone(zone),
                                    time_resolution=float(race.event.time_resolution or 1.0))


def _clock(ts: float | None, zone: Any) -> str:
    return datetime.fromtimestamp(ts, zone).strftime("%H:%M:%S") if ts is not None else ""


def _name(r: tuple[Any, ...]) -> str:
    return f"{r[7] or ''} {r[8] or ''}".strip()
