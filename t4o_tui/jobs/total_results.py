"""Total Results: a multi-day event's totals — each runner's stages summed (orienteering/totals.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from t4o_tui import __version__
from t4o_tui.engine.job import Job, JobError, RunContext
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.jobs.event_data import FORMAT_CHOICES, FORMAT_FILES, event_zone, name_key, parse_races
from t4o_tui.jobs.result_list import STATUS_WORDS, clock
from t4o_tui.orienteering import html_lists
from t4o_tui.orienteering.totals import (
    ClassTotals,
    Stage,
    StageResult,
    TotalRunner,
    standings,
    totals_xml,
)
from t4o_tui.store.models import Event, Race

RACES = Setting("races", "text", "Races", "Race numbers, comma separated (e.g. 1,2,3); empty: every race of the event.")

STAGE_SQL = (
    "SELECT e.race_id, c.name, e.person_id, p.given, p.family, p.sex, p.birth_date, o.name, o.ids, e.identifier, "
    "COALESCE(s.bib, e.bib), r.status, r.time, e.status FROM entry e JOIN class c ON c.id = e.class_id "
    "LEFT JOIN person p ON p.id = e.person_id LEFT JOIN organisation o ON o.id = e.organisation_id "
    "LEFT JOIN start s ON s.entry_id = e.id LEFT JOIN result r ON r.entry_id = e.id "
    "WHERE e.status != 'withdrawn' AND e.race_id IN ({marks})"
)


class TotalResultsJob(Job):
    id = "total-results"
    title = "Total Results"
    category = "Results"
    description = (
        "Totals of a multi-day event: each runner's stage times summed per class (same person across the "
        "races), with places after each stage. A stage that is not OK makes the total not OK (the worst "
        "status decides: disqualified, missing punch, did not finish, …); a stage still to run leaves the "
        "total open. HTML page, CSV, or IOF XML 3.0 ResultList with OverallResult per stage."
    )
    settings = Schema((
        RACES,
        Setting("classes", "multi-choice", "Classes", "Class names, comma separated; empty: all classes."),
        Setting("format", "choice", "Format", "File format.", default="html", choices=FORMAT_CHOICES),
        Setting("refresh", "integer", "Auto-refresh (s)", "The HTML page reloads itself this often; 0: never.",
                default=0, min=0, max=3600),
    ))
    sub_minute = True
    timeout = 300.0
    produces = "text/html"

    def run(self, ctx: RunContext) -> None:
        races = self._races(ctx)
        event = Event.select().order_by(Event.id).first()
        resolution = float(getattr(event, "time_resolution", None) or 1.0)
        stages = [Stage(r.race_number or r.id, r.name, date.fromisoformat(r.date) if r.date else None) for r in races]
        classes = self._load(ctx, races)
        fmt = ctx.settings.get("format", "html")
        now = datetime.now(UTC)
        zone = event_zone(races[0])
        numbers = [s.number for s in stages]
        if fmt == "iof-xml":
            data = totals_xml(event.name if event else "", stages, classes, now.astimezone(zone),
                              creator=f"t4o-tui {__version__}", resolution=resolution)
        elif fmt == "csv":
            rows = []
            for c in classes:
                for st in standings(c.runners, numbers, resolution):
                    r = st.runner
                    rows.append([c.name, str(st.place or ""), r.name, r.club,
                                 *[self._stage_text(r.stage(n), resolution) for n in numbers],
                                 clock(st.time, resolution) if st.time is not None else "",
                                 clock(st.behind, resolution) if st.behind else "", st.status])
            data = html_lists.render_csv(["Class", "Place", "Name", "Club", *[f"Race {n}" for n in numbers],
                                          "Total", "Behind", "Status"], rows)
        else:
            data = self._html(ctx, event, stages, classes, resolution, now.astimezone(zone))
        ext, media = FORMAT_FILES[fmt]
        with ctx.output(f"totals-races{'-'.join(map(str, numbers))}.{ext}", media) as fh:
            fh.write(data)
        runners = sum(len(c.runners) for c in classes)
        placed = sum(1 for c in classes for st in standings(c.runners, numbers, resolution) if st.place)
        summary = (f"totals of races {', '.join(map(str, numbers))} ({fmt}): {len(classes)} classes, {runners} runners, "
                   f"{placed} with a total")
        ctx.info(summary)
        ctx.progress(1.0, summary)

    @staticmethod
    def _races(ctx: RunContext) -> list[Race]:
        all_races = list(Race.select().order_by(Race.race_number.is_null(), Race.race_number, Race.id))
        if not all_races:
            raise JobError("the event has no race yet: add them with t4o-tui race add NAME --date YYYY-MM-DD")
        try:
            wanted = parse_races(ctx.settings.get("races"))
        except ValueError as exc:
            raise JobError(f"setting 'races': {exc}") from None
        if wanted is None:
            return all_races
        by_number = {r.race_number or r.id: r for r in all_races}
        missing = [n for n in wanted if n not in by_number]
        if missing:
            known = ", ".join(f"{r.race_number or r.id} {r.name}" for r in all_races)
            raise JobError(f"setting 'races': no race {', '.join(map(str, missing))} (races: {known})")
        return [by_number[n] for n in dict.fromkeys(wanted)]

    @staticmethod
    def _load(ctx: RunContext, races: list[Race]) -> list[ClassTotals]:
        """The runners of each class across the races: the same person (or, without a person
        record, the same name and club) in classes of the same name is one runner."""
        number = {r.id: r.race_number or r.id for r in races}
        conn = ctx.db.connection()
        marks = ",".join("?" * len(races))
        class_names: dict[str, str] = {}
        runners: dict[str, dict[str, TotalRunner]] = {}
        for (race_id, cls, pid, given, family, sex, birth, club, club_ids, ident, bib, status, time, entry_status) in \
                conn.execute(STAGE_SQL.format(marks=marks), [r.id for r in races]):
            ckey = name_key(cls)
            class_names.setdefault(ckey, cls)
            name = f"{given or ''} {family or ''}".strip() or (ident or "?")
            key = f"p{pid}" if pid is not None else f"n{name.casefold()}|{(club or '').casefold()}"
            r = runners.setdefault(ckey, {}).get(key)
            if r is None:
                r = runners[ckey][key] = TotalRunner(
                    key, name, club or "", given or "", family or "", sex,
                    date.fromisoformat(birth) if birth else None, json.loads(club_ids) if club_ids else {})
            stage_status = "NotCompeting" if entry_status == "not_competing" and (status or "") in ("", "OK") else (status or "Inactive")
            r.stages[number[race_id]] = StageResult(stage_status, time, bib)
        wanted = ctx.settings.get("classes") or []
        keys = sorted(class_names, key=lambda k: class_names[k].casefold())
        if wanted:
            missing = [w for w in wanted if name_key(w) not in class_names]
            if missing:
                raise JobError(f"setting 'classes': no class {', '.join(missing)} "
                               f"(classes: {', '.join(class_names[k] for k in keys)})")
            keys = [name_key(w) for w in wanted]
        return [ClassTotals(class_names[k], list(runners[k].values())) for k in keys]

    @staticmethod
    def _stage_text(s: StageResult, resolution: float) -> str:
        if s.status in ("OK", "NotCompeting") and s.time is not None:
            return clock(s.time, resolution)
        if s.status == "DidNotEnter":
            return "-"
        return STATUS_WORDS.get(s.status) or s.status

    def _html(self, ctx: RunContext, event: Any, stages: list[Stage], classes: list[ClassTotals], resolution: float,
              now: datetime) -> bytes:
        numbers = [s.number for s in stages]
        cols = [html_lists.Column("#", numeric=True), html_lists.Column("Name"), html_lists.Column("Club"),
                *[html_lists.Column(f"R{n}", numeric=True, wide_only=True) for n in numbers],
                html_lists.Column("Total", numeric=True), html_lists.Column("Behind", numeric=True, wide_only=True)]
        sections = []
        for c in classes:
            body, dim = [], set()
            for i, st in enumerate(standings(c.runners, numbers, resolution)):
                r = st.runner
                if st.status != "OK":
                    dim.add(i)
                total_text = (clock(st.time, resolution) if st.time is not None
                              else ("" if st.status == "Active" else STATUS_WORDS.get(st.status) or st.status))
                body.append([str(st.place or ""), r.name, r.club,
                             *[self._stage_text(r.stage(n), resolution) for n in numbers],
                             total_text, f"+{clock(st.behind, resolution)}" if st.behind else ""])
            sections.append(html_lists.Section(c.name, f"{len(c.runners)} runners", body, frozenset(dim)))
        title = f"{event.name if event else 'Event'} — totals"
        meta = f"{' + '.join(f'{s.number} {s.name}' for s in stages)} · updated {now:%H:%M:%S}"
        return html_lists.render_page(title, meta, cols, sections, refresh_seconds=ctx.settings.get("refresh") or None)
