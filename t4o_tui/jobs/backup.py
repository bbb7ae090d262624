"""Backup: a consistent copy of the event database (SQLite online backup, or pg_dump for
PostgreSQL), keeping the last N copies."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from glob import glob
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from t4o_tui.engine.job import Job, JobError, RunContext
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.store.db import is_postgres

PREFIX = "backup-"
SUFFIX = ".sqlite"
PG_SUFFIX = ".dump"  # pg_dump's custom format: pg_restore reads it
# Pages copied per step (64 MiB at 4 KiB pages): few steps, because a write by another connection
# between steps restarts the copy, yet a huge database still checks for cancel now and then.
PAGES_PER_STEP = 16384
# Each task's latest file: the newest file of a succeeded run (as the share server resolves it).
LATEST_FILES_SQL = (
    "SELECT a.path FROM artifact a WHERE a.id IN (SELECT max(a2.id) FROM artifact a2 JOIN run r ON r.id = a2.run_id "
    "WHERE r.status = 'succeeded' GROUP BY a2.task_id)"
)


def _target(ctx: RunContext, folder: Path, stem: str, suffix: str) -> tuple[Path, Path]:
    """The new copy's name in `folder` (created if need be), and the temporary file written first."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JobError(f"cannot create backup folder {folder}: {exc.strerror}") from None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    target = folder / f"{PREFIX}{stem}-{stamp}-run{ctx.run_id}{suffix}"
    return target, target.with_name(target.name + ".part")


@contextmanager
def _writing(folder: Path, tmp: Path, target: Path) -> Iterator[None]:
    """The body writes `tmp`; then it is synced and renamed to `target`, so a copy is whole or
    absent. On any failure (a cancel too) the temporary file goes; OSError becomes one line."""
    try:
        yield
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise JobError(f"backup to {folder} failed: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class BackupJob(Job):
    id = "backup"
    title = "Backup"
    category = "Other"
    description = (
        "Copies the event database into a folder with SQLite's online backup (consistent while "
        "the timing goes on), as backup-<event>-<time>.sqlite, and keeps the newest N copies. "
        "The run's file is the new copy. The copy a task's latest run recorded is never removed "
        "(a share link serves it while the next copy is written): with N = 1 the copy before the "
        "newest stays until the next run, so the folder holds the newest two. A PostgreSQL "
        "database is copied with pg_dump (custom format, for pg_restore) as backup-<database>-<time>.dump, "
        "by default into 'backups' in the event's data folder."
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
    # Kept in the database, each pg_dump would hold the copy before it (which held the one before).
    files_in_database = False

    def run(self, ctx: RunContext) -> None:
        if is_postgres(ctx.db):
            self._run_pg_dump(ctx)
            return
        source_path = Path(str(ctx.db.database))
        folder = Path(ctx.settings.get("folder") or source_path.parent / "backups")
        target, tmp = _target(ctx, folder, source_path.stem, SUFFIX)
        ctx.info(f"copying {source_path} to {target}")
        with _writing(folder, tmp, target):
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
        self._done(ctx, folder, target, source_path.stem, self.produces or "application/octet-stream", SUFFIX)

    def _run_pg_dump(self, ctx: RunContext) -> None:
        """A PostgreSQL database is copied by pg_dump (one consistent snapshot, custom format)."""
        pg_dump = shutil.which("pg_dump") or next(iter(sorted(glob("/usr/lib/postgresql/*/bin/pg_dump"))[::-1]), None)
        if pg_dump is None:
            raise JobError("pg_dump is not installed: a PostgreSQL database is backed up with it "
                           "(install PostgreSQL's client programs, e.g. apt-get install postgresql-client)")
        parts = urlsplit(str(ctx.db.database))
        name = parts.path.lstrip("/") or "postgresql"
        env = dict(os.environ)
        if parts.password is not None:
            # In the environment, not on pg_dump's command line, where every user's ps would see it.
            env["PGPASSWORD"] = unquote(parts.password)
            netloc = (parts.username or "") + "@" + (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
            parts = parts._replace(netloc=netloc)
        folder = Path(ctx.settings.get("folder") or ctx.data_dir / "backups")
        target, tmp = _target(ctx, folder, name, PG_SUFFIX)
        ctx.info(f"copying PostgreSQL database {name} to {target} with {pg_dump}")
        with _writing(folder, tmp, target):
            proc = subprocess.Popen(
                [pg_dump, "--format=custom", "--no-password", f"--file={tmp}", f"--dbname={urlunsplit(parts)}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
            )
            try:
                while True:
                    try:
                        proc.wait(timeout=0.2)
                        break
                    except subprocess.TimeoutExpired:
                        ctx.check()  # a cancel stops pg_dump; its half-written file goes
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            err = proc.stderr.read() if proc.stderr else ""
            if proc.returncode != 0:
                first = next((line for line in err.splitlines() if line.strip()), f"exit status {proc.returncode}")
                raise JobError(f"pg_dump failed: {first.removeprefix('pg_dump: ').removeprefix('error: ')}")
        self._done(ctx, folder, target, name, "application/octet-stream", PG_SUFFIX)

    def _done(self, ctx: RunContext, folder: Path, target: Path, stem: str, mime: str, suffix: str) -> None:
        """The new copy recorded as the run's file, and the old ones pruned."""
        ctx.info(f"backup written: {target.name} ({target.stat().st_size} bytes)")
        ctx.register_output(target, mime)
        self._prune(ctx, folder, target, stem, int(ctx.settings.get("keep", 10)), suffix=suffix)

    @staticmethod
    def _prune(ctx: RunContext, folder: Path, new: Path, stem: str, keep: int, suffix: str = SUFFIX) -> None:
        """Keep this run's copy and the newest `keep` - 1 others, and never a task's latest file:
        this run is not recorded yet, so the copy of the task's last run is still what its share
        link serves (and a second backup task writing to the same folder has its own latest copy).
        The new copy is kept by name, not by time: copies made within one tick of the file
        system's clock have the same modification time."""
        latest = {os.path.realpath(row[0]) for row in ctx.db.connection().execute(LATEST_FILES_SQL).fetchall()}
        others: list[tuple[float, str, Path]] = []
        for p in folder.glob(f"{PREFIX}{stem}-*{suffix}"):
            if p.name == new.name:
                continue
            try:
                others.append((p.stat().st_mtime, p.name, p))
            except OSError:
                continue  # removed meanwhile (another process's backup)
        others.sort(reverse=True)
        for _mtime, _name, old in others[keep - 1 :]:
            if os.path.realpath(old) in latest:
                ctx.info(f"kept {old.name}: it is the task's latest file until this run is recorded")
                continue
            try:
                old.unlink()
                ctx.info(f"removed old copy {old.name}")
            except FileNotFoundError:
                pass
            except OSError as exc:
                ctx.warning(f"could not remove old copy {old.name}: {exc.strerror}")
