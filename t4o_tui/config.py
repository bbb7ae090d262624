"""Configuration: a TOML file in the platform's config folder, environment overrides, defaults."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

APP = "t4o-tui"


class ConfigError(Exception):
    """The config file is unreadable or holds a wrong value; the message names file, key and why."""


# A database given as one of these URLs is a PostgreSQL server (issue 14), not a file.
POSTGRES_URL_SCHEMES = ("postgresql://", "postgres://")


@dataclass
class Config:
    db: Path  # the SQLite file; with db_url, where that database's files would live (see data_dir_for)
    db_url: str | None = None  # a postgresql:// URL when the database is PostgreSQL
    lease: float = 15.0
    direct_slots: int = 4
    retention: int = 500
    grace: float = 10.0
    share_host: str = "127.0.0.1"
    share_port: int = 8470
    share_public_url: str | None = None
    share_header_timeout: float = 10.0  # seconds a connection has to send a complete request head
    share_max_connections_per_client: int = 64  # open at once from one client address (loopback: no limit)
    share_max_connections: int = 1000  # open at once from all clients together (lowered to fit the open-file limit)
    timezone: str | None = None
    keys: dict[str, str] = field(default_factory=dict)
    source: Path | None = None


def default_config_path() -> Path:
    env = os.environ.get("T4O_TUI_CONFIG")
    return Path(env) if env else Path(platformdirs.user_config_dir(APP)) / "config.toml"


def default_db_path() -> Path:
    env = os.environ.get("T4O_TUI_DB")
    return Path(env) if env else Path(platformdirs.user_data_dir(APP)) / "event.sqlite"


def demo_db_path() -> Path:
    return Path(platformdirs.user_data_dir(APP)) / "demo.sqlite"


def data_dir_for(db_path: Path) -> Path:
    """Where the event's files (run outputs) live: beside its database, so every process finds them."""
    return db_path.parent / f"{db_path.stem}-files"


_RANGES: dict[str, tuple[type, float, float]] = {
    "lease": (float, 3.0, 600.0),
    "direct_slots": (int, 1, 64),
    "retention": (int, 1, 1_000_000),
    "grace": (float, 0.0, 3600.0),
    "share_port": (int, 0, 65535),
    "share_header_timeout": (float, 1.0, 300.0),
    "share_max_connections_per_client": (int, 1, 100_000),
    "share_max_connections": (int, 1, 1_000_000),
}


def _check(key: str, value: Any, where: str) -> Any:
    if key in _RANGES:
        kind, lo, hi = _RANGES[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and not isinstance(value, int)):
            raise ConfigError(f"{where}: '{key}' must be {'a whole number' if kind is int else 'a number'}")
        if not lo <= value <= hi:
            raise ConfigError(f"{where}: '{key}' must be between {lo:g} and {hi:g} (got {value})")
        return kind(value)
    if key in ("share_host", "share_public_url", "timezone") and not isinstance(value, str):
        raise ConfigError(f"{where}: '{key}' must be text")
    return value


def load_config(path: Path | None = None, *, db: str | None = None) -> Config:
    """Read the config file (if any); `db` (from --db) wins over the file and T4O_TUI_DB."""
    cfg_path = path or default_config_path()
    data: dict[str, Any] = {}
    try:
        exists = cfg_path.is_file()
    except OSError as exc:
        raise ConfigError(f"config file {cfg_path}: {exc.strerror}") from None
    if exists:
        try:
            data = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {cfg_path}: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"config file {cfg_path}: {exc.strerror}") from None
    elif path is not None:
        raise ConfigError(f"config file {cfg_path} does not exist")
    where = f"config file {cfg_path}"
    engine = data.get("engine", {})
    share = data.get("share", {})
    keys = data.get("keys", {})
    if not isinstance(engine, dict) or not isinstance(share, dict) or not isinstance(keys, dict):
        raise ConfigError(f"{where}: [engine], [share] and [keys] must be tables")
    db_value = db or os.environ.get("T4O_TUI_DB") or data.get("db")
    if db_value is not None and not isinstance(db_value, str):
        raise ConfigError(f"{where}: 'db' must be text (a file path or a postgresql:// URL)")
    if db_value and db_value.startswith(POSTGRES_URL_SCHEMES):
        # A URL is not a path (Path would fold its "//"); the event's files go under the data
        # folder, named after the database.
        name = db_value.rsplit("/", 1)[-1].split("?", 1)[0] or "postgresql"
        cfg = Config(db=Path(platformdirs.user_data_dir(APP)) / f"{name}.postgresql", db_url=db_value,
                     source=cfg_path if exists else None)
    else:
        cfg = Config(db=Path(db_value).expanduser() if db_value else default_db_path(),
                     source=cfg_path if exists else None)
    known = {"lease", "direct_slots", "retention", "grace"}
    for key, value in engine.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown key 'engine.{key}' (known: {', '.join(sorted(known))})")
        setattr(cfg, key, _check(key, value, where))
    share_known = ("host", "port", "public_url", "header_timeout", "max_connections_per_client", "max_connections")
    for key, value in share.items():
        if key not in share_known:
            raise ConfigError(f"{where}: unknown key 'share.{key}' (known: {', '.join(share_known)})")
        setattr(cfg, f"share_{key}", _check(f"share_{key}", value, where))
    if "timezone" in data:
        cfg.timezone = _check("timezone", data["timezone"], where)
    cfg.keys = {str(k): str(v) for k, v in keys.items()}
    return cfg


def share_base_url(cfg: Config) -> str:
    """The address printed in share links: the configured public URL, else the listening address."""
    if cfg.share_public_url:
        return cfg.share_public_url.rstrip("/")
    host = cfg.share_host
    if host in ("0.0.0.0", "::", ""):
        import socket

        host = socket.gethostname()
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{cfg.share_port}"
