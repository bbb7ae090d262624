"""What the CLI's command modules share (cli.py and cli_event.py): exit codes, the one-line error,
opening the event's database from the common options, and plain tables."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A one-line error for the admin; exit code 1."""


def open_db(args: argparse.Namespace, *, readonly: bool = False, must_exist: str | None = None) -> tuple[Any, Any]:
    """The config and the database; `readonly` for commands that only read (they then also work
    on a database that cannot be written here: a read-only file, folder or file system). With
    `must_exist` (the option that asks it), a missing SQLite file is an error, not created."""
    from t4o_tui.config import default_db_path, demo_db_path, load_config
    from t4o_tui.store.db import open_database

    cfg_path = getattr(args, "config", None)
    db_arg = getattr(args, "db", None)
    if getattr(args, "demo", False) and not db_arg:
        db_arg = str(demo_db_path())
        Path(db_arg).parent.mkdir(parents=True, exist_ok=True)
    cfg = load_config(Path(cfg_path) if cfg_path else None, db=db_arg)
    db_url = getattr(cfg, "db_url", None)
    if getattr(args, "share_host", None):
        cfg.share_host = args.share_host
    if getattr(args, "share_port", None) is not None:
        if not 0 <= args.share_port <= 65535:
            raise CliError(f"--share-port: must be between 0 and 65535 (got {args.share_port})")
        cfg.share_port = args.share_port
    if must_exist and not db_url and not Path(cfg.db).exists():
        raise CliError(f"{must_exist}: there is no event database at {cfg.db}; give --db FILE, or start without "
                       f"{must_exist} to create one")
    if cfg.db == default_db_path():
        # The default location is ours to create; an explicit path in a missing folder is an error.
        cfg.db.parent.mkdir(parents=True, exist_ok=True)
    if db_url:
        # PostgreSQL (issue 14): the server's database; the event's files (run outputs) go in the
        # data folder under its name (config.data_dir_for). Without psycopg, open_database says
        # in one line what to install.
        cfg.db.parent.mkdir(parents=True, exist_ok=True)
        return cfg, open_database(db_url, readonly=readonly)
    args.db_path = cfg.db  # named in the one-line error when the database refuses a write
    db = open_database(cfg.db, readonly=readonly)
    return cfg, db


def print_table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
