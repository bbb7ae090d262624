"""Backup: a consistent copy of the event database (SQLite online backup), keeping the last N copies."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from t4o_tui.jobs.base import Job, JobError, RunContext
from t4o_tui.jobs.settings import Schema, Setting

PREFIX = "backup-"
SUFFIX = ".sqlite"
# Pages copied per step (64 MiB at 4 KiB pages): few steps, because a write by another connection
# between steps restarts the copy, yet a huge database still checks for cancel now and then.
PAGES_PER_STEP = 16384


class BackupJob(Job):
    id = "backup"
    title = "Backup"
    category = "Other"
    description = (
        "Copies the event database into a folder with SQLite's online backup (consistent while "
        "the timing goes on), as backup-<event>-<time>.sqlite, and keeps the newest N copies. "
        "The run's file is the new copy."
    )
    settings = Schema(
        (
            Setting("folder", "file", "Folder", "Where the copies go (default: 'backups' beside the database)."),
            Setting("keep", "integer", "Keep copies", "How many copies to keep in the folder.", default=10, min=1, max=10000),
        )
    )
    idempotent = True
    timeout = 1800.0
    produces = "application/vnd.sqlite3"

    def run(self, ctx: RunContext) -> None:
        source_path = Path(str(ctx.db.database))
        folder = Path(ctx.settings.get("folder") or source_path.parent / "backups")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JobError(f"cannot create backup folder {folder}: {exc.strerror}") from None
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        target = folder / f"{PREFIX}{source_path.stem}-{stamp}-run{ctx.run_id}{SUFFIX}"
        tmp = target.with_name(target.name + ".part")
        ctx.info(f"copying {source_path} to {target}")
        try:
            dest = sqlite3.connect(str(tmp))
            try:
                src = ctx.db.connection()

                def step(status: int, remaining: int, total: int) -> None:
                    ctx.progress((total - remaining) / total if total else 1.0, f"{total - remaining}/{total} pages")
                    ctx.check()

                src.backup(dest, pages=PAGES_PER_STEP, progress=step)
                dest.execute("PRAGMA journal_mode=DELETE")
            finally:
                dest.close()
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise JobError(f"backup to {folder} failed: {exc.strerror or exc}") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        size = target.stat().st_size
        ctx.info(f"backup written: {target.name} ({size} bytes)")
        ctx.register_output(target, self.produces or "application/octet-stream")
        self._prune(ctx, folder, source_path.stem, int(ctx.settings.get("keep", 10)))

    @staticmethod
    def _prune(ctx: RunContext, folder: Path, stem: str, keep: int) -> None:
        copies = sorted(folder.glob(f"{PREFIX}{stem}-*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in copies[keep:]:
            try:
                old.unlink()
                ctx.info(f"removed old copy {old.name}")
            except OSError as exc:
                ctx.warning(f"could not remove old copy {old.name}: {exc.strerror}")
