"""Live Results: push the race to a live results service with the MeOS Online Protocol (MOP).

The first upload is complete; later ones carry only the records that changed since the service last
answered OK. What the service holds is kept per task (a digest per record in TaskState), updated
after each document it acknowledges: a service that is down loses nothing (the next run sends all
that is not acknowledged) and gets nothing twice.
"""

from __future__ import annotations

import json
import sqlite3
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree

from t4o_tui.config import default_config_path
from t4o_tui.engine.job import Job, JobError, RunContext
from t4o_tui.engine.settings import Schema, Setting, SettingError
from t4o_tui.jobs.event_data import RACE, event_zone, resolve_race
from t4o_tui.orienteering import mop
from t4o_tui.orienteering.xmlsafe import IofError, parse
from t4o_tui.store.backend_sqlite import backend_of
from t4o_tui.store.models import Race

ACK_KEY = "mop_acknowledged"
CHUNK = 250  # records per document: a large event goes up in pieces the service can take
MAX_ANSWER = 1024 * 1024
CONFIG_TABLE = "live_results"


class _LiveResultsSchema(Schema):
    """The settings, plus the checks that span fields: an http(s) address and a password somewhere."""

    def validate(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[SettingError]]:
        clean, errors = super().validate(values)
        url = clean.get("url")
        if isinstance(url, str) and not _url_ok(url):
            errors.append(SettingError("url", f"'{_shown_url(url)}' is not an http(s) address"))
        cid = clean.get("competition")
        if isinstance(cid, int) and not clean.get("password"):
            try:
                found = config_password(cid)
            except ValueError as exc:
                errors.append(SettingError("password", str(exc)))
            else:
                if found is None:
                    errors.append(SettingError(
                        "password", f"is required: set it here or in the config file [{CONFIG_TABLE}] "
                                    f"password = \"…\" (or [{CONFIG_TABLE}.passwords] \"{cid}\" = \"…\")"))
        return clean, errors


def _url_ok(url: str) -> bool:
    parts = urllib.parse.urlparse(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _shown_url(url: str) -> str:
    """The address without user information, for logs and reasons (it may carry a password)."""
    parts = urllib.parse.urlparse(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunparse(parts._replace(netloc=netloc, query="", fragment=""))


def config_password(competition: int, path: Path | None = None) -> str | None:
    """The password from the config file's [live_results] table: per competition id, else the
    table's `password`; None when there is none. ValueError for an unreadable file."""
    cfg = path or default_config_path()
    if not cfg.is_file():
        return None
    try:
        data = tomllib.loads(cfg.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"config file {cfg}: {exc}") from None
    table = data.get(CONFIG_TABLE, {})
    if not isinstance(table, dict):
        raise ValueError(f"config file {cfg}: [{CONFIG_TABLE}] must be a table")
    per = table.get("passwords", {})
    if isinstance(per, dict) and str(competition) in per:
        return str(per[str(competition)])
    value = table.get("password")
    return None if value is None else str(value)


class LiveResultsJob(Job):
    id = "live-results"
    title = "Live Results"
    category = "Results"
    description = (
        "Uploads the race to a live results service with the MeOS Online Protocol (MOP): competition, "
        "radio controls, classes, clubs and competitors with start, status, running time and radio times. "
        "The first upload is complete, later ones only what changed since the service last answered OK. "
        "A service that is down fails the run with the reason and loses nothing: the next run sends all "
        "that was not acknowledged. The password can live in the config file ([live_results] password) "
        "and is never written to logs. Usually on a 10 s schedule."
    )
    settings = _LiveResultsSchema((
        Setting("url", "text", "Address", "The service's MOP upload address, http(s)://…", required=True),
        Setting("competition", "integer", "Competition id", "The id the service gave the competition.",
                required=True, min=1),
        Setting("password", "text", "Password", "The service's password for the competition. Leave empty to "
                "take it from the config file ([live_results] password, or [live_results.passwords] \"ID\")."),
        RACE,
        Setting("radio", "text", "Radio controls", "Control codes whose split times are sent as radio times, "
                "separated by commas. Empty: every control of the course."),
        Setting("resend", "boolean", "Resend everything", "Send the complete document at the next run (the run "
                "that sends it turns this off again).", default=False),
        Setting("timeout", "duration", "Timeout", "How long to wait for the service's answer.", default=10.0,
                min=0.5, max=120),
        Setting("retries", "integer", "Retries", "Tries more per document when the service is down or fails, "
                "waiting retry wait, then twice as long each time.", default=2, min=0, max=10),
        Setting("retry_wait", "duration", "Retry wait", "Wait before the first retry.", default=1.0, min=0.05, max=60),
    ))
    sub_minute = True
    idempotent = True
    timeout = 300.0

    def run(self, ctx: RunContext) -> None:
        url = str(ctx.settings["url"])
        shown = _shown_url(url)
        if not _url_ok(url):
            raise JobError(f"setting 'url': '{shown}' is not an http(s) address")
        cid = int(ctx.settings["competition"])
        password = ctx.settings.get("password") or None
        if password is None:
            try:
                password = config_password(cid)
            except ValueError as exc:
                raise JobError(str(exc)) from None
        race = resolve_race(ctx)
        conn = ctx.db.connection()
        task_id = conn.execute("SELECT task_id FROM run WHERE id=?", (ctx.run_id,)).fetchone()[0]
        current = race_snapshot(conn, race, radio_codes(ctx.settings.get("radio")))
        row = conn.execute("SELECT value FROM task_state WHERE task_id=? AND key=?", (task_id, ACK_KEY)).fetchone()
        held: dict[str, str] | None = json.loads(row[0]) if row else None
        resend = bool(ctx.settings.get("resend"))
        upload = mop.plan(current, None if resend else held)
        if upload.empty:
            ctx.info(f"nothing changed since the last upload ({len(current)} records held by {shown})")
            return
        parts = mop.chunks(upload, CHUNK)
        what = "complete" if upload.complete else "difference"
        ctx.info(f"{what}: {len(upload.elements)} records, {len(upload.deleted)} deletions in {len(parts)} "
                 f"document{'s' if len(parts) > 1 else ''}" + (" (resend requested)" if resend and held is not None else ""))
        for n, chunk in enumerate(parts, start=1):
            ctx.check()
            try:
                self._post(ctx, url, cid, password, chunk.document)
            except _UploadFailed as exc:
                left = len(upload.elements) + len(upload.deleted) - sum(
                    len(c.elements) + len(c.deleted) for c in parts[:n - 1])
                raise JobError(f"{shown}: {exc}; {left} changes not acknowledged are sent at the next run") from None
            held = mop.acknowledge(held, chunk)
            with ctx.transaction():
                c = ctx.db.connection()
                c.execute("INSERT INTO task_state(task_id, key, value) VALUES (?, ?, ?) ON CONFLICT(task_id, key) "
                          "DO UPDATE SET value=excluded.value", (task_id, ACK_KEY, json.dumps(held, sort_keys=True)))
                if chunk.complete and resend:
                    # Done once: the next runs send differences again.
                    # Read and written here rather than with SQLite's json_set: one SQL for both backends.
                    row = c.execute("SELECT settings FROM task WHERE id=?" + backend_of(c).for_update,
                                    (task_id,)).fetchone()
                    settings = {**json.loads(row[0]), "resend": False}
                    c.execute("UPDATE task SET settings=? WHERE id=?",
                              (json.dumps(settings, separators=(",", ":"), sort_keys=True), task_id))
            ctx.info(f"document {n}/{len(parts)} ({'MOPComplete' if chunk.complete else 'MOPDiff'}, "
                     f"{len(chunk.elements)} records, {len(chunk.deleted)} deletions, {len(chunk.document)} bytes): OK")
        ctx.info(f"{shown} holds {len(held or {})} records of competition {cid}")

    def _post(self, ctx: RunContext, url: str, cid: int, password: str | None, body: bytes) -> None:
        retries = int(ctx.settings.get("retries", 2))
        wait = float(ctx.settings.get("retry_wait", 1.0))
        for attempt in range(retries + 1):
            try:
                post_document(url, cid, password, body, timeout=float(ctx.settings.get("timeout", 10.0)))
                return
            except _UploadFailed as exc:
                if not exc.transient or attempt == retries:
                    raise
                ctx.warning(f"try {attempt + 1} failed ({exc}); trying again in {wait:g} s")
                ctx.sleep(wait)
                wait = min(wait * 2, 30.0)


class _UploadFailed(Exception):
    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


def post_document(url: str, cid: int, password: str | None, body: bytes, *, timeout: float) -> None:
    """POST one MOP document; returns when the service answered OK, else _UploadFailed saying why.
    The password goes in a request header only, never into a message."""
    headers = {"competition": str(cid), "Content-Type": "text/plain"}
    if password:
        headers["pwd"] = password
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - http(s) checked by the job
            answer = resp.read(MAX_ANSWER + 1)
    except urllib.error.HTTPError as exc:
        raise _UploadFailed(f"the service answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _UploadFailed(f"no answer ({reason})") from None
    status = answer_status(answer)
    if status == "OK":
        return
    if status in mop.SERVER_ANSWERS:
        raise _UploadFailed(f"{status}: {mop.SERVER_ANSWERS[status]}", transient=status == "ERROR")
    raise _UploadFailed(f"the answer is not a MOP status ({status})")


def answer_status(answer: bytes) -> str:
    """The status of a <MOPStatus status="…"/> answer (attribute or child element), else a short
    description of what came instead."""
    if len(answer) > MAX_ANSWER:
        return "answer larger than 1 MB"
    if not answer.strip():
        return "empty answer"
    try:
        root, _ = parse(answer)
    except (IofError, etree.XMLSyntaxError) as exc:
        return f"not XML: {str(exc)[:80]}"
    if etree.QName(root).localname != "MOPStatus":
        return f"<{etree.QName(root).localname}> instead of <MOPStatus>"
    value = root.get("status")
    if value is None:
        child = next((el for el in root if isinstance(el.tag, str) and etree.QName(el).localname == "status"), None)
        value = child.text if child is not None else None
    return (value or "no status").strip()


def radio_codes(text: object) -> set[str] | None:
    """The radio setting as normalised codes; None (every control) when empty."""
    if not text:
        return None
    codes = {c.strip().lstrip("0") or "0" for c in str(text).replace(";", ",").split(",") if c.strip()}
    return codes or None


@dataclass
class _Course:
    codes: list[str]
    length: float | None
    climb: float | None


def _radio_ids(codes: list[str], wanted: set[str] | None) -> list[tuple[str, int]]:
    """(code, MOP control id) for the course's radio controls; a control visited again gets the id
    code + 100000 × visit, as MeOS numbers repeated controls."""
    seen: dict[str, int] = {}
    out = []
    for code in codes:
        n = seen.get(code, 0)
        seen[code] = n + 1
        if code.isdigit() and (wanted is None or code in wanted):
            out.append((code, int(code) + 100000 * n))
    return out


def race_snapshot(conn: sqlite3.Connection, race: Race, wanted: set[str] | None) -> dict[str, str]:
    """The race as MOP records (see orienteering.mop.snapshot), read in a handful of queries."""
    zone = event_zone(race)
    event = race.event
    several = conn.execute("SELECT COUNT(*) FROM race WHERE event_id=?", (event.id,)).fetchone()[0] > 1
    zero = race.zero_time if race.zero_time is not None else race.first_start
    if zero is None and race.date:
        zero = datetime.fromisoformat(race.date).replace(tzinfo=zone).timestamp()
    zero_text = datetime.fromtimestamp(zero, zone).strftime("%H:%M:%S") if zero is not None else "00:00:00"
    name = f"{event.name} – {race.name}" if several and race.name and race.name != event.name else event.name
    competition = mop.MopCompetition(name, race.date or "", event.organiser or "", "", zero_text)

    courses: dict[int, _Course] = {}
    for cid, length, climb in conn.execute("SELECT id, length, climb FROM course WHERE race_id=?", (race.id,)):
        courses[cid] = _Course([], length, climb)
    names: dict[str, str] = {}
    for course_id, code, desc in conn.execute(
            "SELECT cc.course_id, c.code, c.description FROM course_control cc JOIN control c ON c.id=cc.control_id "
            "JOIN course co ON co.id=cc.course_id WHERE co.race_id=? AND cc.kind='control' ORDER BY cc.course_id, cc.seq",
            (race.id,)):
        code = str(code).strip().lstrip("0") or "0"
        courses[course_id].codes.append(code)
        names.setdefault(code, desc or code)

    classes: list[mop.MopClass] = []
    used_ids: dict[int, str] = {}
    rows = conn.execute(f"SELECT id, name, course_id FROM class WHERE race_id=? ORDER BY {backend_of(conn).nocase('name')}, id",
                        (race.id,)).fetchall()
    for order, (cls_id, cls_name, course_id) in enumerate(rows, start=1):
        course = courses.get(course_id) if course_id is not None else None
        on_course = _radio_ids(course.codes, wanted) if course else []
        used_ids.update({rid: code for code, rid in on_course})
        classes.append(mop.MopClass(cls_id, cls_name, order * 10, tuple(rid for _, rid in on_course),
                                    int(course.length) if course and course.length else None,
                                    int(course.climb) if course and course.climb else None))

    competitors: list[mop.MopCompetitor] = []
    orgs_used: set[int] = set()
    for (eid, person, org, cls, entry_status, bib, start, status, rtime, splits, nat, card, course_id) in conn.execute(
            "SELECT e.id, TRIM(COALESCE(p.given,'') || ' ' || COALESCE(p.family,'')), COALESCE(e.organisation_id, 0), "
            "COALESCE(e.class_id, 0), e.status, COALESCE(s.bib, e.bib), COALESCE(r.start_time, s.start_time), "
            "r.status, r.time, r.splits, p.nationality, "
            f"(SELECT MIN({backend_of(conn).cast_int('c.number')}) FROM entry_card ec JOIN card c ON c.id=ec.card_id WHERE ec.entry_id=e.id), "
            "COALESCE(s.course_id, cl.course_id) "
            "FROM entry e LEFT JOIN person p ON p.id=e.person_id LEFT JOIN start s ON s.entry_id=e.id "
            "LEFT JOIN result r ON r.entry_id=e.id LEFT JOIN class cl ON cl.id=e.class_id "
            "WHERE e.race_id=? AND e.status != 'withdrawn' ORDER BY e.id", (race.id,)):
        has_time = rtime is not None
        stat, prel = mop.mop_status(status or "Inactive", has_time=has_time, not_competing=entry_status == "not_competing")
        st = -1
        if start is not None and zero is not None:
            st = mop.tenths((start - zero) % 86400.0)  # MeOS times are within a day from the zero time
        radio: list[tuple[int, int]] = []
        course = courses.get(course_id) if course_id is not None else None
        if course and splits:
            times = [t for _, t in json.loads(splits)]
            split_codes = [str(c).strip().lstrip("0") or "0" for c, _ in json.loads(splits)]
            wanted_ids = dict(_radio_ids(course.codes, wanted))
            seen: dict[str, int] = {}
            for code, t in zip(split_codes, times, strict=True):
                n = seen.get(code, 0)
                seen[code] = n + 1
                rid = int(code) + 100000 * n if code.isdigit() else None
                if rid is not None and code in wanted_ids and t is not None and t > 0:
                    radio.append((rid, mop.tenths(t)))
                    used_ids.setdefault(rid, code)
        if org:
            orgs_used.add(org)
        running = status in ("Started", "Checked")
        competitors.append(mop.MopCompetitor(
            id=eid, name=person or "", org=org, cls=cls, stat=stat, st=st, rt=mop.tenths(rtime) if has_time else 0,
            card=int(card or 0), bib=str(bib) if bib else None, nat=nat or None, prel=prel, competing=running,
            radio=tuple(radio), it=0, tstat=stat))

    organisations = [mop.MopOrganisation(oid, oname or "", country or None) for oid, oname, country in conn.execute(
        "SELECT id, name, country FROM organisation ORDER BY id") if oid in orgs_used]
    controls = [mop.MopControl(rid, names.get(code, code) + (f"-{rid // 100000 + 1}" if rid >= 100000 else ""))
                for rid, code in sorted(used_ids.items())]
    return mop.snapshot(competition, controls, classes, organisations, competitors)

