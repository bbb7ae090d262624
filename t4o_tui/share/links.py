"""Share links: public URLs to a task's latest file. Create, revoke, list; tokens and their checks."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

import peewee

from t4o_tui.engine.clock import SYSTEM_CLOCK, Clock
from t4o_tui.engine.job import UnknownJob, installed_jobs
from t4o_tui.engine.tasks import find_task
from t4o_tui.store.models import Share
from t4o_tui.timefmt import iso

# 32 random bytes: 256 bits, URL-safe base64 (43 characters).
TOKEN_BYTES = 32
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{20,100}")
CACHE_MAX = 7 * 86400.0


class ShareError(ValueError):
    """A share link cannot be made or found; the message names the field."""


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def share_url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}/s/{token}"


@dataclass(frozen=True)
class ShareRow:
    id: int
    task_id: int
    task: str
    token: str
    label: str | None
    run_task: bool
    cache_window: float
    expires_at: float | None
    revoked: bool
    hits: int
    last_access: float | None
    created_at: float
    #: When a share server last wrote hit counts (any link's): visits since then are not counted
    #: yet (it writes them every few seconds). None: never.
    hits_written_at: float | None = None

    def state(self, now: float) -> str:
        if self.revoked:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"

    def as_json(self, base: str, now: float) -> dict[str, Any]:
        return {
            "id": self.id, "task": self.task, "url": share_url(base, self.token), "label": self.label,
            "run_task": self.run_task, "cache_window": self.cache_window, "expires_at": iso(self.expires_at),
            "state": self.state(now), "hits": self.hits, "last_access": iso(self.last_access),
            "created_at": iso(self.created_at), "hits_written_at": iso(self.hits_written_at),
        }


def create_share(
    db: peewee.Database, task: str | int, *, run_task: bool = False, cache_window: float = 300.0,
    expires_at: float | None = None, label: str | None = None, clock: Clock = SYSTEM_CLOCK,
) -> Share:
    now = clock.now()
    if not 0 <= cache_window <= CACHE_MAX:
        raise ShareError("cache: must be between 0 and 7 days")
    if expires_at is not None and expires_at <= now:
        raise ShareError("expires: must be in the future")
    with db.atomic():
        t = find_task(task)
        refuse_fileless(t.name, t.job)
        token = new_token()
        return Share.create(
            task=t, token=token, token_hash=token_hash(token), label=(label or None), run_task=run_task,
            cache_window=cache_window, expires_at=expires_at, created_at=now,
        )


def refuse_fileless(task_name: str, job_id: str) -> None:
    """A link serves the task's latest file: a task whose job writes none would answer 404 forever."""
    try:
        job = installed_jobs().job(job_id)
    except UnknownJob:
        return  # a job of another version: the link may still serve the files its runs left
    if job.produces is None:
        raise ShareError(f"task: '{task_name}' runs {job.title}, which writes no file: a link would have "
                         "nothing to serve (share a task that writes a list, a ticket or a backup)")


def get_share(share_id: int) -> Share:
    s = Share.get_or_none(Share.id == share_id)
    if s is None:
        raise LookupError(f"unknown share {share_id}")
    return s


def revoke_share(db: peewee.Database, share_id: int) -> Share:
    with db.atomic():
        s = get_share(share_id)
        s.revoked = True
        s.save()
        return s


def update_share(db: peewee.Database, share_id: int, **changes: Any) -> Share:
    """Change run_task, cache_window, expires_at or label of a link."""
    allowed = {"run_task", "cache_window", "expires_at", "label"}
    with db.atomic():
        s = get_share(share_id)
        for key, value in changes.items():
            if key not in allowed:
                raise ShareError(f"{key}: cannot be changed")
            if key == "cache_window" and not 0 <= value <= CACHE_MAX:
                raise ShareError("cache: must be between 0 and 7 days")
            setattr(s, key, value)
        s.save()
        return s


def list_shares(db: peewee.Database, *, task: str | int | None = None) -> list[ShareRow]:
    sql = (
        "SELECT s.id, s.task_id, t.name, s.token, s.label, s.run_task, s.cache_window, s.expires_at, s.revoked, "
        "s.hits, s.last_access, s.created_at FROM share s JOIN task t ON t.id = s.task_id"
    )
    params: list[Any] = []
    if task is not None:
        sql += " WHERE s.task_id = ?"
        params.append(find_task(task).id)
    rows = db.execute_sql(sql + " ORDER BY s.id", params).fetchall()
    written = hits_written_at(db)
    return [ShareRow(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7], bool(r[8]), r[9], r[10], r[11], written)
            for r in rows]


def hits_written_at(db: peewee.Database) -> float | None:
    """When hit counts were last written (a trigger records it), or None if never."""
    row = db.execute_sql("SELECT value FROM meta WHERE key = 'share_hits_written'").fetchone()
    try:
        return float(row[0]) if row and row[0] else None
    except ValueError:
        return None
