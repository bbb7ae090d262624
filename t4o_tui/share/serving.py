"""Which process serves a database's share links, and where: link URLs are built from it.

The configured port may be 0 (any free port) or taken, and the process that prints a link (`share
add`, `shares`, a TUI that serves nothing) is often not the one that serves it. The process whose
share server binds records its address in the `meta` table; the record counts only while that
process's presence lease is current, so a process that died leaves nothing misleading behind.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import peewee

from t4o_tui.config import Config, share_base_url
from t4o_tui.engine import queue

KEY = "share_server"


@dataclass(frozen=True)
class Serving:
    """The process that serves the links: its worker id, role (worker, tui) and address."""

    worker: str
    role: str
    host: str
    port: int
    since: float

    def describe(self) -> str:
        return f"{self.role} {self.worker} on {self.host}:{self.port}"


def record(db: peewee.Database, *, worker: str, role: str, host: str, port: int, now: float) -> None:
    """This process's share server listens: its links are at host:port from now on."""
    value = json.dumps({"worker": worker, "role": role, "host": host, "port": port, "since": now})
    with queue.write_tx(db.connection()) as conn:
        conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                     (KEY, value))


def clear(db: peewee.Database, worker: str) -> None:
    """This process stops serving: forget its record (not another process's, recorded since)."""
    with queue.write_tx(db.connection()) as conn:
        # The record is read here, not in SQL: SQLite and PostgreSQL spell JSON paths differently.
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (KEY,)).fetchone()
        if row is not None and _worker_of(row[0]) == worker:
            conn.execute("DELETE FROM meta WHERE key = ? AND value = ?", (KEY, row[0]))


def _worker_of(value: str) -> str | None:
    try:
        d = json.loads(value)
        return str(d["worker"]) if isinstance(d, dict) else None
    except (ValueError, KeyError):
        return None


def current(db: peewee.Database, now: float) -> Serving | None:
    """The process that serves the links now, or None (none does, or it is gone)."""
    row = db.execute_sql("SELECT value FROM meta WHERE key = ?", (KEY,)).fetchone()
    worker = _worker_of(row[0]) if row is not None else None
    if worker is None or db.execute_sql(
        "SELECT 1 FROM lease WHERE name = ? AND expires_at > ?", (f"worker:{worker}", now)).fetchone() is None:
        return None
    try:
        d = json.loads(row[0])
        return Serving(str(d["worker"]), str(d.get("role") or "worker"), str(d["host"]), int(d["port"]),
                       float(d.get("since") or 0.0))
    except (ValueError, KeyError, TypeError):  # a record written by another version: not trusted
        return None


def base_url(cfg: Config, serving: Serving | None) -> str:
    """Where links point: the configured public URL, else the serving process's address, else the
    configured one (the links work once a process serves them there)."""
    if cfg.share_public_url or serving is None:
        return share_base_url(cfg)
    return share_base_url(dataclasses.replace(cfg, share_host=serving.host, share_port=serving.port))


def who_serves(serving: Serving | None, cfg: Config) -> str:
    """One line for the admin: which process serves the links, or that none does."""
    if serving is not None:
        return f"share links served by {serving.describe()}"
    return (f"no process serves share links now: start `t4o-tui --worker` (or the TUI); "
            f"links use {share_base_url(cfg)}")
