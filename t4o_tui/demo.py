"""The demo event: the race-day story of product.md on a synthetic race, built in one place.

Before: classes, courses and entries are imported from generated IOF XML files, rental cards come
from a range, starts are created and drawn, cards assigned, the start list published; late entries
are re-imported every 5 minutes. During: Test Timing stands in for the runners, station data is
processed every few seconds, the result list is written every 30 s behind a share link, and an
overdue check fires for every runner at start + max time. After: the IOF XML result export and
backups. Everything is made of ordinary tasks, schedules and share links, as an admin would.
A relay class (12 teams x 3 legs, legs 1 and 3 forked) runs beside the individual classes: its
teams come from a CSV, Prepare Relay gives bibs, forking and a mass start 10 minutes after the
race's first start, and its result list (with the changeover order) is shared for the speaker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import peewee

from t4o_tui.config import data_dir_for
from t4o_tui.engine.clock import SYSTEM_CLOCK, Clock
from t4o_tui.engine.schedules import ScheduleInput, add_schedules
from t4o_tui.engine.tasks import create_task
from t4o_tui.orienteering import synthetic
from t4o_tui.share.links import create_share, share_url
from t4o_tui.store.models import Class, Schedule, Share, Task
from t4o_tui.timefmt import local_zone_name

ENTRIES = 300
DAYS = 7  # how long the demo's schedules stay active

RELAY_START = "@relay-start"  # replaced by the relay's mass start when the task is created
# The preparation, in the order the demo runs it the first time: (task, job, settings, direct).
TaskSpec = tuple[str, str, dict[str, Any], bool]
PREPARE: list[TaskSpec] = [
    ("Import classes", "import-classes", {"file": "classes.xml"}, False),
    ("Import courses", "import-courses", {"file": "courses.xml"}, False),
    ("Import entries", "import-entries", {"file": "entries.xml"}, False),
    ("Import rental cards", "import-cards", {"range_from": 9000001, "range_to": 9000150, "rental": True}, False),
]
PREPARE_AFTER_SETTINGS: list[TaskSpec] = [
    ("Create starts", "create-starts", {}, False),
    ("Draw starts", "assign-starts", {"seed": "demo"}, False),
    ("Assign rental cards", "assign-cards", {}, False),
    ("Start list", "start-list", {"format": "html"}, False),
    ("Import relay teams", "import-relay-entries", {"file": "relay-teams.csv"}, False),
    ("Prepare relay", "prepare-relay", {"classes": ["Relay Open"], "legs": 3, "leg_courses": "1=E,G; 2=D; 3=E,G",
                                        "mass_start": RELAY_START, "seed": 1}, False),
]
OTHER_TASKS: list[TaskSpec] = [
    ("Import late entries", "import-entries", {"file": "late-entries.xml"}, False),
    ("Test timing", "test-timing", {"test_event": True, "results_per_run": 4, "missing_probability": 0.06}, True),
    ("Process station data", "process-station-data", {}, True),
    ("Result list", "result-list", {"format": "html", "refresh": 30, "splits": True}, False),
    ("Relay results", "relay-list", {"format": "html", "refresh": 30}, False),
    ("Overdue check", "overdue-check", {}, True),
    ("Export results (IOF XML)", "result-list", {"format": "iof-xml"}, False),
    ("Export start list (IOF XML)", "start-list", {"format": "iof-xml"}, False),
    ("Backup", "backup", {"keep": 5}, False),
    ("Test quick", "test", {"seconds": 2}, False),
    ("Test that fails", "test", {"seconds": 1, "fail": True}, False),
]
# (task, schedule fields)
SCHEDULES: list[tuple[str, dict[str, Any]]] = [
    ("Import late entries", {"kind": "interval", "every": 300.0, "overlap": "skip"}),
    ("Create starts", {"kind": "interval", "every": 300.0, "overlap": "skip"}),
    ("Draw starts", {"kind": "interval", "every": 300.0, "overlap": "skip"}),
    ("Test timing", {"kind": "interval", "every": 5.0, "overlap": "skip"}),
    ("Process station data", {"kind": "interval", "every": 5.0, "overlap": "skip"}),
    ("Result list", {"kind": "interval", "every": 30.0}),
    ("Relay results", {"kind": "interval", "every": 30.0}),
    ("Overdue check", {"kind": "per_row", "source": "start.max_time", "row_offset": 0.0, "catch_up": "all"}),
    ("Backup", {"kind": "interval", "every": 15 * 60.0}),
    ("Test quick", {"kind": "interval", "every": 10.0}),
]
SHARED_TASKS = [("Start list", "start list"), ("Result list", "results for the speaker and the arena screen"),
                ("Relay results", "relay results and changeovers for the speaker")]


def demo_files(data_dir: Path) -> Path:
    return data_dir / "demo"


def write_demo_files(data_dir: Path, *, now: float) -> Path:
    """The generated IOF XML files the demo imports (a race that started 30 minutes ago)."""
    folder = demo_files(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    zone = ZoneInfo(local_zone_name())
    first = datetime.fromtimestamp(now - 30 * 60, zone).replace(second=0, microsecond=0)
    ev = synthetic.make_event(seed=1, entries=ENTRIES, date=first.date(), first_start=first, tz=zone)
    (folder / "classes.xml").write_bytes(synthetic.class_list_xml(ev))
    (folder / "courses.xml").write_bytes(synthetic.course_data_xml(ev))
    (folder / "entries.xml").write_bytes(synthetic.entry_list_xml(ev))
    (folder / "late-entries.xml").write_bytes(synthetic.late_entries(ev, 12, seed=2))
    (folder / "relay-teams.csv").write_text(relay_teams_csv(), encoding="utf-8")
    return folder


RELAY_CLUBS = ("OK Linne", "IL Tyrving", "Halden SK", "NTNUI", "Bækkelagets SK", "Fredrikstad SK")
RELAY_GIVEN = ("Ola", "Kari", "Per", "Ingrid", "Lars", "Marit", "Jonas", "Sofie", "Emil", "Nora", "Henrik", "Ida")
RELAY_FAMILY = ("Berg", "Dahl", "Lie", "Moen", "Strand", "Bakke", "Haugen", "Lund", "Vik", "Ruud", "Eide", "Solberg")


def relay_teams_csv(teams: int = 12) -> str:
    """The demo's relay entries: two teams per club, three runners each, cards 8100001 on."""
    lines = ["TEAM NAME;CLASS NAME;ORGANISATION NAME;LEG;PERSON NAME;CARD NO"]
    for t in range(teams):
        club = RELAY_CLUBS[t % len(RELAY_CLUBS)]
        for leg in (1, 2, 3):
            k = t * 3 + leg
            name = f"{RELAY_GIVEN[k % len(RELAY_GIVEN)]} {RELAY_FAMILY[(k * 5 + t) % len(RELAY_FAMILY)]}"
            lines.append(f"{club} {t // len(RELAY_CLUBS) + 1};Relay Open;{club};{leg};{name};{8100000 + k}")
    return "\n".join(lines) + "\n"


def _settings(settings: dict[str, Any], folder: Path, now: float | None = None) -> dict[str, Any]:
    def value(k: str, v: Any) -> Any:
        if k == "file":
            return str(folder / v)
        if v == RELAY_START and now is not None:
            start = race_first_start(now) + 600
            return datetime.fromtimestamp(start, ZoneInfo(local_zone_name())).isoformat()
        return v

    return {k: value(k, v) for k, v in settings.items()}


def build_demo(db: peewee.Database, data_dir: Path | None = None, *, clock: Clock = SYSTEM_CLOCK) -> list[str]:
    """Create what is missing of the demo (files, tasks, schedules, share links); returns the new tasks' names."""
    if data_dir is None:
        data_dir = data_dir_for(Path(str(db.database)))
    now = clock.now()
    folder = demo_files(data_dir)
    if not (folder / "entries.xml").exists():
        write_demo_files(data_dir, now=now)
    created = []
    with db.atomic():
        for name, job, settings, direct in PREPARE + PREPARE_AFTER_SETTINGS + OTHER_TASKS:
            if not Task.select().where(Task.name == name).exists():
                create_task(name, job, _settings(settings, folder, now), direct=direct)
                created.append(name)
        fresh = []
        for task_name, fields in SCHEDULES:
            task = Task.get(Task.name == task_name)
            # A demo reopened days later gets fresh schedules once the old ones have expired.
            if not Schedule.select().where(Schedule.task == task, Schedule.expiry > now).exists():
                fresh.append(ScheduleInput(task=task.id, start=now, expiry=now + DAYS * 86400, tz=local_zone_name(),
                                           **fields))
        add_schedules(db, fresh, clock=clock)  # all checked first, then written together
        for task_name, label in SHARED_TASKS:
            task = Task.get(Task.name == task_name)
            if not Share.select().where(Share.task == task, Share.revoked == False).exists():  # noqa: E712
                create_share(db, task.id, label=label, clock=clock)
    return created


def set_class_timing(db: peewee.Database, *, first_start: float) -> None:
    """What the admin types into the class settings before creating starts: first start, interval, bibs."""
    with db.atomic():
        for i, cls in enumerate(Class.select().order_by(Class.name)):
            cls.first_start = cls.first_start or first_start
            cls.start_interval = cls.start_interval or 60.0
            cls.bib_start = cls.bib_start or 100 * (i + 1)
            cls.vacancies = cls.vacancies or 1
            cls.max_time = cls.max_time or 2 * 3600.0
            cls.draw_order = cls.draw_order if cls.draw_order is not None else i
            cls.save()


def preparation_steps() -> tuple[list[str], list[str]]:
    """Task names run once when the demo is new: before, then after the class settings."""
    return [p[0] for p in PREPARE], [p[0] for p in PREPARE_AFTER_SETTINGS]


def race_first_start(now: float) -> float:
    """The demo race starts 30 minutes before the demo is built, on the minute."""
    return float(int((now - 30 * 60) // 60) * 60)


def demo_share_urls(base: str) -> list[str]:
    """The demo's live share links, to print at start-up."""
    return [f"{share_url(base, s.token)}  ({s.label})" for s in Share.select().where(Share.revoked == False)]  # noqa: E712



def prepare_demo(db: peewee.Database, data_dir: Path, *, say: Callable[[str], None] = print,
                 clock: Clock = SYSTEM_CLOCK) -> bool:
    """Run the preparation once for a new demo, through a real runtime; False when it failed."""
    from t4o_tui.engine.runs import enqueue_run, get_run
    from t4o_tui.engine.runtime import Runtime, RuntimeOptions

    before, after = preparation_steps()

    async def run_all(names: list[str]) -> bool:
        rt = Runtime(db, data_dir=data_dir, options=RuntimeOptions(poll=0.02, scheduler=False), role="demo setup", clock=clock)
        await rt.start()
        ok = True
        try:
            for name in names:
                rid = await asyncio.to_thread(enqueue_run, db, name)
                rt.notify()
                while (run := await asyncio.to_thread(get_run, db, rid)).status in ("queued", "running"):
                    await asyncio.sleep(0.02)
                say(f"  {name}: {run.status}" + (f" ({run.error})" if run.error else ""))
                ok = ok and run.status == "succeeded"
        finally:
            await rt.stop()
        return ok

    say("preparing the demo race (imports, starts, draw, cards, start list)…")
    ok = asyncio.run(run_all(before))
    db.connect(reuse_if_open=True)
    set_class_timing(db, first_start=race_first_start(clock.now()))
    ok = asyncio.run(run_all(after)) and ok
    db.connect(reuse_if_open=True)
    return ok
