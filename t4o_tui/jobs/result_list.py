"""Result List: IOF XML 3.0 ResultList with split times, an HTML page by class, or CSV."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from t4o_tui import __version__
from t4o_tui.engine.job import Job, RunContext
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.jobs.create_starts import CLASSES, selected_classes
from t4o_tui.jobs.event_data import FORMAT_CHOICES, FORMAT_FILES, RACE, event_zone, resolve_race
from t4o_tui.jobs.result_xml import Runner, result_list_xml
from t4o_tui.jobs.steps import long_lived_rows
from t4o_tui.orienteering import html_lists
from t4o_tui.orienteering.punch_check import Status
from t4o_tui.orienteering.ranking import ListType, RankedRow, ResultEntry, rank_class, ticks

ROWS_SQL = (
    "SELECT e.id, e.class_id, TRIM(COALESCE(p.given, '') || ' ' || COALESCE(p.family, '')), COALESCE(o.name, ''), "
    "COALESCE(s.bib, e.bib), r.status, r.time, r.start_time, r.finish_time, r.splits, e.status, s.start_time, "
    "p.given, p.family, p.sex, p.birth_date, p.birth_year, o.ids, e.identifier, COALESCE(s.course_id, c.course_id), "
    "(SELECT cd.number FROM entry_card ec JOIN card cd ON cd.id = ec.card_id WHERE ec.entry_id = e.id LIMIT 1) "
    "FROM entry e JOIN class c ON c.id = e.class_id LEFT JOIN person p ON p.id = e.person_id "
    "LEFT JOIN organisation o ON o.id = e.organisation_id LEFT JOIN start s ON s.entry_id = e.id "
    "LEFT JOIN result r ON r.entry_id = e.id WHERE e.race_id = ? AND e.status != 'withdrawn'"
)


def load_runners(conn: Any, race_id: int) -> dict[int, list[Runner]]:
    by_class: dict[int, list[Runner]] = defaultdict(list)
    for r in conn.execute(ROWS_SQL, (race_id,)):
        status = r[5] or Status.INACTIVE.value
        splits = [(str(c), t) for c, t in json.loads(r[9])] if r[9] else []
        by_class[r[1]].append(Runner(r[0], r[1], r[2], r[3], r[4], status, r[6], r[7] or r[11], r[8], splits,
                                     r[10] == "not_competing", r))
    return by_class


def rank(runners: list[Runner], list_type: str, resolution: float = 1.0) -> list[tuple[RankedRow, Runner]]:
    """The class in list order, times compared at the event's time resolution (seconds)."""
    by_key = {r.entry_id: r for r in runners}
    ranked = rank_class([ResultEntry(r.entry_id, r.name, Status(r.status) if r.status in Status._value2member_map_ else Status.INACTIVE,
                                     r.time, r.not_competing) for r in runners], ListType(list_type), resolution)
    return [(row, by_key[int(row.key)]) for row in ranked]  # type: ignore[call-overload]


def clock(seconds: float | None, resolution: float = 1.0) -> str:
    """A running time as lists show it: 16:18, 1:02:03; with tenths at 0.1 s resolution: 16:18.3."""
    if seconds is None:
        return ""
    if resolution < 1:
        tenths = ticks(seconds, 0.1)
        s, frac = divmod(tenths, 10)
        whole = f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
        return f"{whole}.{frac}"
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


# Statuses in capitals (the codes results boards use); runners still out in words. Inactive (no data
# yet) reads "not started" before the runner's start time and "in forest" after it (status_word).
STATUS_WORDS = {"OK": "", "MissingPunch": "MP", "DidNotFinish": "DNF", "DidNotStart": "DNS", "Disqualified": "DSQ",
                "OverTime": "OT", "Inactive": "not started", "Started": "in forest", "Checked": "checked",
                "Finished": "finished", "NotCompeting": "NC", "Active": "in forest"}


def status_word(status: str, start_time: float | None, now: float) -> str:
    if status == "Inactive":
        return "in forest" if start_time is not None and start_time <= now else "not started"
    return STATUS_WORDS.get(status, status)


class ResultListJob(Job):
    id = "result-list"
    title = "Result List"
    category = "Results"
    description = (
        "Writes the result list: IOF XML 3.0 ResultList with split times (for the federation's system), "
        "an HTML page by class (place, name, club, time, behind, status; optional splits and auto-refresh; "
        "reads well on a phone and an arena screen), or CSV. Respects each class's result list type."
    )
    settings = Schema((
        RACE, CLASSES,
        Setting("format", "choice", "Format", "File format.", default="html", choices=FORMAT_CHOICES),
        Setting("splits", "boolean", "Split times", "Show split times in the HTML list.", default=False),
        Setting("refresh", "integer", "Auto-refresh (s)", "The HTML page reloads itself this often; 0: never.", default=0, min=0, max=3600),
        Setting("in_forest", "boolean", "List runners still out", "Also list runners without a result.", default=True),
        Setting("arena", "boolean", "Arena screen", "The HTML page opens in arena mode: as many columns of classes "
                "as a large screen holds, turning to the next classes by itself. Any share link of the page can "
                "ask for it too: add ?arena (or ?arena=0 to turn it off) and &cycle=SECONDS.", default=False),
        Setting("cycle", "integer", "Arena cycle (s)", "In arena mode, how long each screen of classes shows.",
                default=12, min=2, max=600),
    ))
    sub_minute = True
    timeout = 300.0
    produces = "text/html"
    resolution = 1.0  # the event's time resolution, set by each run

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
        types = dict(conn.execute("SELECT id, result_type FROM class WHERE race_id=?", (race.id,)).fetchall())
        runners = load_runners(conn, race.id)
        out_too = bool(ctx.settings.get("in_forest", True))
        res = self.resolution = float(race.event.time_resolution or 1.0)
        ranked = {c[0]: [(row, r) for row, r in rank(runners.get(c[0], []), types.get(c[0]) or "normal", res)
                         if out_too or r.status not in ("Inactive", "Started", "Checked")] for c in classes}
        now = datetime.now(UTC)
        ext, media = FORMAT_FILES[fmt]
        if fmt == "iof-xml":
            data = self._xml(conn, race, classes, ranked, zone, now)
        elif fmt == "csv":
            data = html_lists.render_csv(
                ["Class", "Place", "Bib", "Name", "Club", "Time", "Behind", "Status"],
                [[c[1], str(row.place or ""), r.bib or "", r.name, r.club, clock(row.time, res),
                  clock(row.behind, res) if row.behind else "",
                  r.status] for c in classes for row, r in ranked[c[0]]])
        else:
            data = self._html(ctx, race, classes, ranked, types, zone, now)
        with ctx.output(f"results-race{race.race_number or race.id}.{ext}", media) as fh:
            fh.write(data)
        total = sum(len(v) for v in ranked.values())
        ok = sum(1 for v in ranked.values() for row, _ in v if row.place)
        ctx.info(f"result list ({fmt}): {len(classes)} classes, {total} runners, {ok} placed, {len(data)} bytes")

    def _html(self, ctx: RunContext, race: Any, classes: list[Any], ranked: dict[int, list[tuple[RankedRow, Runner]]],
              types: dict[int, str], zone: Any, now: datetime) -> bytes:
        splits = bool(ctx.settings.get("splits"))
        cols = [html_lists.Column("#", numeric=True), html_lists.Column("Name"), html_lists.Column("Club"),
                html_lists.Column("Time", numeric=True), html_lists.Column("Behind", numeric=True, wide_only=True)]
        if splits:
            cols.append(html_lists.Column("Splits", wide_only=True))
        sections = []
        for c in classes:
            rows = ranked[c[0]]
            no_times = types.get(c[0]) == "no_times"
            body, dim = [], set()
            for i, (row, r) in enumerate(rows):
                word = status_word(r.status, r.start, now.timestamp())
                res = self.resolution
                time_text = "" if no_times else (clock(row.time, res) if r.status == "OK" or row.not_competing else word)
                if r.status != "OK":
                    dim.add(i)
                cells = [str(row.place or ""), r.name, r.club, time_text or word,
                         f"+{clock(row.behind, res)}" if row.behind and not no_times else ""]
                if splits:
                    cells.append(" · ".join(f"{code} {clock(t, res) if t is not None else '–'}" for code, t in r.splits))
                body.append(cells)
            home = sum(1 for _, r in rows if r.status not in ("Inactive", "Started", "Checked"))
            sections.append(html_lists.Section(c[1], f"{home}/{len(rows)} finished", body, frozenset(dim)))
        # No empty slots in the header: a race without a date says nothing about it.
        meta = " · ".join(p for p in (race.name, race.date, f"updated {now.astimezone(zone):%H:%M:%S}") if p)
        return html_lists.render_page(f"{race.event.name} – Results", meta, cols, sections,
                                      refresh_seconds=int(ctx.settings.get("refresh") or 0) or None,
                                      arena=bool(ctx.settings.get("arena")),
                                      cycle_seconds=int(ctx.settings.get("cycle") or 12))

    def _xml(self, conn: Any, race: Any, classes: list[Any], ranked: dict[int, list[tuple[RankedRow, Runner]]],
             zone: Any, now: datetime) -> bytes:

        return result_list_xml(conn, race, classes, ranked, zone, now, creator=f"t4o-tui {__version__}",
                               resolution=self.resolution)

