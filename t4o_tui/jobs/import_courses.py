"""Import Courses: IOF XML 3.0 CourseData from OCAD, Condes or Purple Pen.

Three steps (orienteering.md): create controls not yet known (never overwrite or delete), create or
update courses with their controls replaced to match the file (courses missing from the file are
kept and named in the log), and link courses to classes when the file says so.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from t4o_tui.engine.job import Job, JobError, RunContext
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.jobs.event_data import (
    FILE,
    RACE,
    event_zone,
    fill_race_data,
    name_key,
    read_input,
    resolve_race,
)
from t4o_tui.orienteering import iof
from t4o_tui.orienteering.model import PersonCourseAssignment

KINDS = {"Start": "start", "Finish": "finish", "Control": "control", "CrossingPoint": "crossing",
         "EndOfMarkedRoute": "marked-route"}


class ImportCoursesJob(Job):
    id = "import-courses"
    title = "Import Courses"
    category = "Courses"
    description = (
        "Imports an IOF XML 3.0 CourseData file (OCAD, Condes, Purple Pen): creates missing controls "
        "(existing ones are never changed or deleted), creates or updates courses and their controls, "
        "and links courses to classes by name (spaces, hyphens and underscores ignored)."
    )
    settings = Schema((
        FILE, RACE,
        Setting("start_codes", "text", "Start codes", "Codes beginning with these are starts when the file does not say.", default="S"),
        Setting("finish_codes", "text", "Finish codes", "Codes beginning with these are finishes when the file does not say.", default="F,M"),
        Setting("race_number", "integer", "Race in file", "For a file with several races: which one.", min=1),
    ))
    timeout = 300.0

    def run(self, ctx: RunContext) -> None:
        data = read_input(ctx)
        starts = tuple(c.strip() for c in str(ctx.settings.get("start_codes", "S")).split(",") if c.strip())
        finishes = tuple(c.strip() for c in str(ctx.settings.get("finish_codes", "F,M")).split(",") if c.strip())
        try:
            cd = iof.read_course_data(data, race_number=ctx.settings.get("race_number"), start_codes=starts,
                                      finish_codes=finishes, tz=event_zone())
        except iof.IofError as exc:
            raise JobError(f"{ctx.settings['file']}: {exc}") from None
        for w in cd.warnings:
            ctx.warning(w)
        ctx.info(f"CourseData with {len(cd.controls)} controls and {len(cd.courses)} courses"
                 + (f" from {cd.creator}" if cd.creator else ""))
        race = resolve_race(ctx, create=True, event_name=cd.event.name or None, race_date=cd.event.date)
        fill_race_data(ctx, race, cd.event)
        with ctx.transaction():
            conn = ctx.db.connection()
            controls = {code: cid for cid, code in conn.execute("SELECT id, code FROM control WHERE race_id=?", (race.id,))}
            created = []

            def control_id(code: str, ctype: str) -> int:
                if code not in controls:
                    cur = conn.execute("INSERT INTO control(race_id, code, kind) VALUES (?, ?, ?)",
                                       (race.id, code, KINDS.get(ctype, "control")))
                    controls[code] = int(cur.lastrowid or 0)
                    created.append(code)
                return controls[code]

            for c in cd.controls:
                control_id(c.code, c.type)
            ctx.info(f"controls: {len(created)} created" + (f" ({', '.join(created[:40])}{' …' if len(created) > 40 else ''})" if created else "")
                     + f", {len(controls) - len(created)} already known (kept as they are)")
            existing = {name: (cid, length, climb) for cid, name, length, climb in
                        conn.execute("SELECT id, name, length, climb FROM course WHERE race_id=?", (race.id,))}
            in_file = set()
            for course in cd.courses:
                ctx.check()
                in_file.add(course.name)
                wanted = [(i + 1, control_id(cc.code, cc.type), _course_kind(cc.type, i, len(course.controls)),
                           cc.leg_length) for i, cc in enumerate(course.controls)]
                if course.name in existing:
                    cid, length, climb = existing[course.name]
                    have = [tuple(r) for r in conn.execute(
                        "SELECT seq, control_id, kind, leg_length FROM course_control WHERE course_id=? ORDER BY seq", (cid,))]
                    same_controls = have == [tuple(w) for w in wanted]
                    if (length, climb) == (course.length, course.climb) and same_controls:
                        ctx.log("debug", f"course {course.name}: unchanged")
                        continue
                    conn.execute("UPDATE course SET length=?, climb=? WHERE id=?", (course.length, course.climb, cid))
                    what = "length/climb" if same_controls else "controls replaced"
                    ctx.info(f"course {course.name}: updated ({what}; {len(wanted)} controls)")
                else:
                    cur = conn.execute("INSERT INTO course(race_id, name, length, climb) VALUES (?, ?, ?, ?)",
                                       (race.id, course.name, course.length, course.climb))
                    cid = int(cur.lastrowid or 0)
                    same_controls = False
                    ctx.info(f"course {course.name}: created ({len(wanted)} controls, {course.length or '?'} m)")
                if not same_controls:
                    conn.execute("DELETE FROM course_control WHERE course_id=?", (cid,))
                    conn.executemany("INSERT INTO course_control(course_id, seq, control_id, kind, leg_length) "
                                     "VALUES (?, ?, ?, ?, ?)", [(cid, *w) for w in wanted])
            missing = sorted(set(existing) - in_file)
            if missing:
                ctx.info(f"courses not in the file, kept: {', '.join(missing)}")
            _link_classes(ctx, conn, race.id, cd.courses_for_class())
            _assign_persons(ctx, conn, race.id, cd.person_assignments)


def _course_kind(ctype: str, index: int, count: int) -> str:
    if ctype == "Start":
        return "start" if index == 0 else "exchange"  # a start mid-course is a map exchange
    if ctype == "Finish":
        return "finish"
    return KINDS.get(ctype, "control")


def _link_classes(ctx: RunContext, conn: sqlite3.Connection, race_id: int, links: dict[str, tuple[str, ...]]) -> None:
    if not links:
        return
    q = conn.execute
    classes = {name_key(name): (cid, name, course_id) for cid, name, course_id in
               q("SELECT id, name, course_id FROM class WHERE race_id=?", (race_id,))}
    courses = {name: cid for cid, name in q("SELECT id, name FROM course WHERE race_id=?", (race_id,))}
    linked = 0
    for class_name, course_names in links.items():
        target = classes.get(name_key(class_name))
        if target is None:
            ctx.warning(f"class {class_name} (in the file) does not exist: import classes first; not linked")
            continue
        found = [courses[n] for n in course_names if n in courses]
        if not found:
            ctx.warning(f"class {class_name}: course {', '.join(course_names)} not found; not linked")
            continue
        if len(found) > 1:
            ctx.info(f"class {target[1]}: {len(found)} courses (forked); linked to {course_names[0]}, starts carry the fork")
        if target[2] != found[0]:
            q("UPDATE class SET course_id=? WHERE id=?", (found[0], target[0]))
            linked += 1
            ctx.info(f"class {target[1]} → course {course_names[0]}")
    ctx.info(f"classes linked: {linked} changed, {len(links) - linked} as before or skipped")


def _assign_persons(ctx: RunContext, conn: sqlite3.Connection, race_id: int, assignments: Sequence[PersonCourseAssignment]) -> None:
    """Forked courses given per runner (by bib or entry id) go onto the runner's start."""
    if not assignments:
        return
    courses = {name: cid for cid, name in conn.execute("SELECT id, name FROM course WHERE race_id=?", (race_id,))}
    done = 0
    for a in assignments:
        course_id = courses.get(a.course_name or "")
        if course_id is None:
            ctx.warning(f"course {a.course_name} for bib {a.bib or a.entry_id} not found")
            continue
        if a.entry_id:
            row = conn.execute("SELECT s.id FROM start s JOIN entry e ON e.id = s.entry_id WHERE e.race_id=? AND e.identifier=?",
                               (race_id, a.entry_id)).fetchone()
        else:
            row = conn.execute("SELECT id FROM start WHERE race_id=? AND bib=?", (race_id, a.bib)).fetchone()
        if row is None:
            ctx.warning(f"no start with bib {a.bib} / entry {a.entry_id} for course {a.course_name}; create starts first")
            continue
        conn.execute("UPDATE start SET course_id=? WHERE id=?", (course_id, row[0]))
        done += 1
    ctx.info(f"runners' courses (forking): {done} of {len(assignments)} starts given their course")
