"""Executing one claimed run in the current thread: the run context a job sees, and the outcome."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import peewee

from t4o_tui.engine.clock import Clock
from t4o_tui.engine.job import Job, JobError, JobRegistry, RunCancelled, RunContext, UnknownJob
from t4o_tui.engine.queue import ArtifactRecord, Claimed, Outcome, write_tx
from t4o_tui.store.backend_postgres import connection_lost
from t4o_tui.store.models import CANCELLED, FAILED, QUEUED, SUCCEEDED

# Why a run was asked to stop.
CANCEL, TIMEOUT, STOPPING = "cancel", "timeout", "stopping"
# Progress is written at most this often per run; a job may report it on every item.
PROGRESS_INTERVAL_S = 0.5


# On PostgreSQL a run's files are kept in the database too, so that a share server on any machine
# serves them. Up to STORED_FILE_MAX in one row (artifact_data), written in the transaction that
# records the run's end — which for the queue lane holds its lock: 16 MB took 0.19 s to write on a
# local server, 64 MB 0.81 s — and kept in memory by the share servers. A larger file is written
# before that, in parts of STORED_CHUNK, each its own short transaction, and streamed part by
# part. Over STORED_FILE_LIMIT a file stays on its machine (the run's log says so).
STORED_FILE_MAX = 16 * 1024 * 1024
STORED_CHUNK = 4 * 1024 * 1024
STORED_FILE_LIMIT = 4 * 1024 * 1024 * 1024


def files_dir(data_dir: Path, task_id: int) -> Path:
    return data_dir / "files" / f"task-{task_id}"


class EngineRunContext(RunContext):
    """The run context the engine hands to a job; thread-safe where the supervisor touches it."""

    def __init__(
        self, claimed: Claimed, *, db: peewee.Database, data_dir: Path, clock: Clock, timeout: float,
    ) -> None:
        self.claimed = claimed
        self.run_id = claimed.id
        self.task_name = claimed.task_name
        self.settings: dict[str, Any] = {}
        self.row = claimed.context
        self.db = db
        self.data_dir = data_dir
        self.clock = clock
        self.timeout = timeout
        self.started_mono = time.monotonic()
        self.deadline = self.started_mono + timeout
        self._stop = threading.Event()
        self.stop_reason: str | None = None
        self.stop_requested_mono = 0.0
        self._lock = threading.Lock()
        self._logs: list[tuple[float, str, str]] = []
        self._progress: tuple[float | None, str | None] | None = None
        self._progress_dirty = False
        self._progress_written = 0.0
        self.artifacts: list[ArtifactRecord] = []
        # Set when the engine gave up on this run (the job ignored cancel): nothing may commit.
        self.abandoned = False

    # -- stopping ---------------------------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
            self.stop_requested_mono = time.monotonic()
        self._stop.set()

    @property
    def cancelled(self) -> bool:
        if not self._stop.is_set() and time.monotonic() >= self.deadline:
            self.request_stop(TIMEOUT)
        return self._stop.is_set()

    def sleep(self, seconds: float) -> None:
        wait = min(seconds, max(self.deadline - time.monotonic(), 0.0))
        if self._stop.wait(wait) or self.cancelled:
            raise RunCancelled()
        if wait < seconds:
            self.sleep(seconds - wait)

    # -- log and progress ---------------------------------------------------------------------------
    def log(self, level: str, message: str) -> None:
        with self._lock:
            self._logs.append((self.clock.now(), level, message))

    def progress(self, fraction: float | None, message: str | None = None) -> None:
        if fraction is not None:
            fraction = min(max(float(fraction), 0.0), 1.0)
        with self._lock:
            self._progress = (fraction, message)
            self._progress_dirty = True

    def take_live(self, now_mono: float) -> tuple[list[tuple[float, str, str]], tuple[float | None, str | None] | None]:
        """Log lines and (throttled) progress not yet written; called by the supervisor."""
        with self._lock:
            logs, self._logs = self._logs, []
            prog = None
            if self._progress_dirty and now_mono - self._progress_written >= PROGRESS_INTERVAL_S:
                prog, self._progress_dirty, self._progress_written = self._progress, False, now_mono
            return logs, prog

    def take_rest(self) -> tuple[list[tuple[float, str, str]], tuple[float | None, str | None] | None]:
        with self._lock:
            logs, self._logs = self._logs, []
            return logs, self._progress

    # -- database and files ---------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.db.atomic() as tx:
            yield tx
            # A cancelled run must leave the database as it was, even if the job finished its
            # block after the cancel came in.
            if self.cancelled or self.abandoned:
                raise RunCancelled()

    @contextmanager
    def output(self, name: str, media_type: str) -> Iterator[IO[bytes]]:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).lstrip(".") or "output"
        folder = files_dir(self.data_dir, self.claimed.task_id)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"run-{self.run_id}-{safe}"
        tmp = folder / f".{target.name}.{os.getpid()}.part"
        try:
            with open(tmp, "wb") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self.artifacts.append(ArtifactRecord(str(target), safe, media_type, target.stat().st_size, True))

    def register_output(self, path: Path, media_type: str) -> None:
        p = Path(path).resolve()
        self.artifacts.append(ArtifactRecord(str(p), p.name, media_type, p.stat().st_size, False))


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    detail = text[0] if text else ""
    name = type(exc).__name__
    return f"{name}: {detail}" if detail else name


def execute(ctx: EngineRunContext, *, worker: str, policy: str, jobs: JobRegistry) -> Outcome:
    """Run the claimed run's job (from `jobs`) in this thread and say how it ended. Never raises."""
    c = ctx.claimed
    ctx.log("info", f"started on {worker} ({c.lane} lane, trigger {c.trigger}, attempt {c.attempts})")
    status, error = SUCCEEDED, None
    try:
        job_cls = jobs.job(c.job)
        clean, problem = _validated(job_cls, c.settings_text)
        if problem:
            raise JobError(problem)
        ctx.settings = dict(clean)
        job_cls().run(ctx)
        if ctx.cancelled:
            raise RunCancelled()
    except RunCancelled:
        status, error = _stopped(ctx, policy)
    except (UnknownJob, JobError) as exc:
        status, error = FAILED, str(exc)
        ctx.log("debug", "traceback:\n" + traceback.format_exc().rstrip())
    except Exception as exc:
        if connection_lost(exc):
            # The database server went away under the job (restart, network cut): its open
            # transaction is gone with the connection. Not the job's fault: the run goes back to
            # the queue when its task may be repeated (on-orphan policy requeue), else it fails
            # saying why.
            ctx.log("debug", "traceback:\n" + traceback.format_exc().rstrip())
            if policy == "requeue":
                status, error = QUEUED, f"the database connection was lost during the run ({one_line(exc)})"
            else:
                status, error = FAILED, f"database connection lost during the run: {one_line(exc)}"
        else:  # a bug or an unexpected condition: reason on screen, traceback in log
            status, error = FAILED, one_line(exc)
            ctx.log("error", "traceback:\n" + traceback.format_exc().rstrip())
    elapsed = time.monotonic() - ctx.started_mono
    if status == SUCCEEDED:
        ctx.log("info", f"succeeded in {elapsed:.2f} s")
    elif status == QUEUED:
        ctx.log("warning", f"requeued after {elapsed:.2f} s: {error}")
    else:
        ctx.log("error" if status == FAILED else "warning", f"{status} after {elapsed:.2f} s: {error}")
    if status != SUCCEEDED:
        _drop_managed_files(ctx)
    elif isinstance(ctx.db, peewee.PostgresqlDatabase) and ctx.artifacts:
        if job_cls.files_in_database:
            ctx.artifacts = [_with_data(ctx, a) for a in ctx.artifacts]
        else:
            ctx.log("info", "its file is not kept in the database (a copy of the database does not go into it): "
                            "only this machine's share server can serve it")
    logs, prog = ctx.take_rest()
    return Outcome(
        run_id=c.id, status=status, finished_at=ctx.clock.now(), error=error if status != QUEUED else None,
        progress=prog[0] if prog else None, progress_msg=prog[1] if prog else None,
        logs=logs, artifacts=ctx.artifacts if status == SUCCEEDED else [], task_name=c.task_name, elapsed=elapsed,
    )


@functools.lru_cache(maxsize=512)
def _validated(job_cls: type[Job], settings_text: str) -> tuple[dict[str, Any], str | None]:
    """The settings checked against the job's schema before the run starts (cached: most runs repeat)."""
    try:
        values = json.loads(settings_text)
    except ValueError:
        return {}, "the task's settings are not readable (not JSON)"
    clean, errors = job_cls.settings.validate(values if isinstance(values, dict) else {})
    return clean, ("; ".join(str(e) for e in errors) or None)


def _stopped(ctx: EngineRunContext, policy: str) -> tuple[str, str]:
    reason = ctx.stop_reason or CANCEL
    if reason == TIMEOUT:
        return FAILED, f"timed out after {ctx.timeout:g} s"
    if reason == STOPPING:
        if policy == "requeue":
            return QUEUED, "the worker stopped; the run goes back to the queue"
        return CANCELLED, "cancelled: the worker stopped"
    return CANCELLED, "cancelled by admin"


def _with_data(ctx: EngineRunContext, a: ArtifactRecord) -> ArtifactRecord:
    """The file with its bytes, to be kept in the database (several machines on one PostgreSQL
    server: a share server on another machine has no access to this machine's data folder)."""
    try:
        size = os.stat(a.path).st_size
        if size > STORED_FILE_LIMIT:
            ctx.log("warning", f"{a.name} ({_bytes_text(size)}) is over the {_bytes_text(STORED_FILE_LIMIT)} kept "
                               "in the database: only this machine's share server can serve it")
            return a
        if size > STORED_FILE_MAX:
            return _in_parts(ctx, a, size)
        data = Path(a.path).read_bytes()
    except OSError as exc:
        ctx.log("warning", f"{a.name} could not be read to keep it in the database: {exc.strerror or exc}; "
                           "only this machine's share server can serve it")
        return a
    except Exception as exc:  # the database refused a part (server gone, disk full): the run stands
        ctx.log("warning", f"{a.name} could not be kept in the database ({one_line(exc)}): only this machine's "
                           "share server can serve it")
        return a
    if len(data) > STORED_FILE_MAX:  # grew since: the next run's file is kept
        ctx.log("warning", f"{a.name} changed while it was read to keep it in the database: only this machine's "
                           "share server can serve it")
        return a
    return dataclasses.replace(a, data=data, sha256=hashlib.sha256(data).hexdigest())


def _in_parts(ctx: EngineRunContext, a: ArtifactRecord, size: int) -> ArtifactRecord:
    """A file larger than one row holds, written in parts of STORED_CHUNK before the run's end, each
    in its own transaction (no lock held for long). The parts are keyed by the run and the file's
    SHA-256: a second attempt of the run that wrote the same bytes finds them there."""
    digest = hashlib.sha256()
    with open(a.path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    sha = digest.hexdigest()
    conn = ctx.db.connection()
    parts = written = 0
    with open(a.path, "rb") as fh:
        while chunk := fh.read(STORED_CHUNK):
            with write_tx(conn):
                conn.execute("INSERT INTO artifact_chunk(run_id, sha256, seq, bytes) VALUES (?, ?, ?, ?) "
                             "ON CONFLICT DO NOTHING", (ctx.run_id, sha, parts, chunk))
            parts += 1
            written += len(chunk)
    if written != size:
        ctx.log("warning", f"{a.name} changed while it was kept in the database: only this machine's share "
                           "server can serve it")
        return a
    ctx.log("info", f"{a.name} ({_bytes_text(size)}) kept in the database in {parts} parts for the share "
                    "servers of the other machines")
    return dataclasses.replace(a, data=b"", sha256=sha, chunks=parts)


def _bytes_text(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n} bytes"


def _drop_managed_files(ctx: EngineRunContext) -> None:
    for a in ctx.artifacts:
        if a.managed:
            Path(a.path).unlink(missing_ok=True)
    ctx.artifacts = []
