"""Entry point: the scriptable CLI, `--worker` (headless runtime) and the TUI.

`--worker` and every subcommand branch off before anything imports Textual, so a headless
service never loads the UI toolkit (a test asserts it).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from t4o_tui import __version__, cli_event
from t4o_tui.cli_common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, CliError, open_db, print_table


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line, like every other error of the program, and the usage hint.
        sys.stderr.write(f"t4o-tui: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


def _common() -> _Parser:
    p = _Parser(add_help=False)
    # SUPPRESS: the option may stand before or after the subcommand without one hiding the other.
    p.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help="event database: an SQLite file, or postgresql://user@host:port/dbname "
                   "(default: config file, then the platform's data folder)")
    p.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="config file (TOML)")
    p.add_argument("--share-host", metavar="ADDR", default=argparse.SUPPRESS, help="share server address (default 127.0.0.1)")
    p.add_argument("--share-port", metavar="PORT", type=int, default=argparse.SUPPRESS, help="share server port (default 8470)")
    return p


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    p = _Parser(prog="t4o-tui", description="Tasks, queue, schedules and share links for an orienteering timing server.",
                parents=[common])
    p.add_argument("--version", action="version", version=f"t4o-tui {__version__}")
    p.add_argument("--worker", action="store_true", help="run the engine headless (a service); no terminal UI")
    p.add_argument("--demo", action="store_true", help="create or reuse the demo event and open it")
    p.add_argument("--readonly", action="store_true", help="TUI that shows everything and changes nothing")
    p.add_argument("--verbose", "-v", action="store_true", help="more log lines (worker)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("jobs", parents=[common], help="list the jobs this program knows")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("tasks", parents=[common], help="list tasks")
    s.add_argument("--json", action="store_true")

    task = sub.add_parser("task", parents=[common], help="create, change, show, duplicate or delete a task")
    tsub = task.add_subparsers(dest="task_command", metavar="ACTION", required=True, parser_class=_Parser)
    s = tsub.add_parser("add", parents=[common], help="create a task")
    s.add_argument("name")
    s.add_argument("--job", required=True)
    s.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    s.add_argument("--direct", action="store_true", help="runs skip the queue and start at once")
    s.add_argument("--timeout", metavar="DURATION")
    s.add_argument("--on-orphan", choices=("requeue", "fail"))
    s = tsub.add_parser("set", parents=[common], help="change settings (KEY=VALUE; an empty value clears it)")
    s.add_argument("name")
    s.add_argument("assignments", nargs="*", metavar="KEY=VALUE")
    # As `task add` takes them, so that the same habit works for both.
    s.add_argument("--set", dest="more_assignments", action="append", default=[], metavar="KEY=VALUE")
    s.add_argument("--rename", metavar="NEW_NAME")
    s.add_argument("--direct", dest="direct", action="store_true", default=None)
    s.add_argument("--no-direct", dest="direct", action="store_false")
    s.add_argument("--timeout", metavar="DURATION", help="run timeout ('default' for the job's)")
    s.add_argument("--on-orphan", choices=("requeue", "fail", "default"))
    s = tsub.add_parser("delete", parents=[common], help="delete a task and its runs")
    s.add_argument("name")
    s = tsub.add_parser("duplicate", parents=[common], help="copy a task under a new name")
    s.add_argument("name")
    s.add_argument("new_name", nargs="?")
    s = tsub.add_parser("show", parents=[common], help="a task's settings and last run")
    s.add_argument("name")
    s.add_argument("--json", action="store_true")

    _schedule_parsers(sub, common)
    cli_event.add_parsers(sub, common, _Parser)

    share = sub.add_parser("share", parents=[common], help="public links to a task's latest file")
    shsub = share.add_subparsers(dest="share_command", metavar="ACTION", required=True, parser_class=_Parser)
    s = shsub.add_parser("add", parents=[common], help="make a link; prints its URL")
    s.add_argument("task")
    s.add_argument("--run-task", action="store_true", help="run the task for a fresh file when the last is older than --cache")
    s.add_argument("--cache", metavar="DURATION", default="5m", help="how fresh a file must be for run-task links (default 5m)")
    s.add_argument("--expires", metavar="TIME", help="the link stops working at this time")
    s.add_argument("--label")
    revoke = ("the link stops working: within a second where a share server runs (it re-reads the links twice a "
              "second)")
    s = shsub.add_parser("revoke", parents=[common], help=revoke, description=revoke[:1].upper() + revoke[1:] + ".")
    s.add_argument("id", type=int)
    s = shsub.add_parser("set", parents=[common], help="change a link's options")
    s.add_argument("id", type=int)
    s.add_argument("--run-task", dest="run_task", action="store_true", default=None)
    s.add_argument("--no-run-task", dest="run_task", action="store_false")
    s.add_argument("--cache", metavar="DURATION")
    s.add_argument("--expires", metavar="TIME", help="a time, or 'never'")
    s.add_argument("--label")
    s = sub.add_parser("shares", parents=[common], help="list share links")
    s.add_argument("--task")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("run", parents=[common], help="enqueue a run of a task")
    s.add_argument("task")
    s.add_argument("--wait", action="store_true", help="wait for the run; exit 0 if it succeeded, 1 otherwise")

    s = sub.add_parser("runs", parents=[common], help="list runs, newest first")
    s.add_argument("--task")
    s.add_argument("--status", action="append", choices=("queued", "running", "succeeded", "failed", "cancelled"))
    s.add_argument("--limit", type=_limit, default=50, metavar="N", help="at most N runs (default 50; 'all' for every run)")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("cancel", parents=[common], help="cancel a queued or running run")
    s.add_argument("run", type=int)

    s = sub.add_parser("log", parents=[common], help="a run's log")
    s.add_argument("run", type=int)
    s.add_argument("--follow", "-f", action="store_true", help="keep printing new lines until the run ends")
    return p


def _schedule_parsers(sub: Any, common: _Parser) -> None:
    def rule(p: argparse.ArgumentParser, required: bool) -> None:
        g = p.add_mutually_exclusive_group(required=required)
        g.add_argument("--every", metavar="DURATION", help="interval: 30s, 5m, 1h")
        g.add_argument("--cron", metavar="EXPR", help="cron: 5 fields, or 6 with seconds first")
        g.add_argument("--at", metavar="TIME", help="once, at this time")
        g.add_argument("--per-row", metavar="SOURCE", help="once for each row of a date source (e.g. race.first_start)")

    def fields(p: argparse.ArgumentParser) -> None:
        p.add_argument("--start", metavar="TIME", help="ISO 8601, 'now' or '+10m'")
        p.add_argument("--expiry", metavar="TIME", help="ISO 8601, 'now' or '+5h'")
        p.add_argument("--tz", metavar="ZONE", help="IANA time zone (default: the machine's / config's)")
        p.add_argument("--max-runs", type=int, metavar="N")
        p.add_argument("--catch-up", choices=("skip", "latest", "all"))
        p.add_argument("--catch-up-window", metavar="DURATION")
        p.add_argument("--overlap", choices=("skip", "buffer_one", "allow"))
        p.add_argument("--window", metavar="SOURCE:KEY", help="anchored window: start/expiry from a record's date")
        p.add_argument("--from", dest="start_offset", metavar="OFFSET", help="window start offset, e.g. -1h")
        p.add_argument("--to", dest="expiry_offset", metavar="OFFSET", help="window expiry offset, e.g. +5h")
        p.add_argument("--offset", metavar="OFFSET", help="per-row: fire this long after the row's date (e.g. +90m)")

    sched = sub.add_parser("schedule", parents=[common], help="add, change, pause, resume, delete or preview a schedule")
    ssub = sched.add_subparsers(dest="schedule_command", metavar="ACTION", required=True, parser_class=_Parser)
    s = ssub.add_parser("add", parents=[common], help="add a schedule to a task")
    s.add_argument("task")
    rule(s, True)
    fields(s)
    s = ssub.add_parser("set", parents=[common], help="change a schedule (the next fire is recomputed from now)")
    s.add_argument("id", type=int)
    rule(s, False)
    fields(s)
    s = ssub.add_parser("pause", parents=[common], help="pause a schedule; passed times are recorded as 'paused'")
    s.add_argument("id", type=int)
    s.add_argument("--note", default=None)
    s.add_argument("--until", metavar="TIME", help="resume by itself at this time (ISO 8601, now, +10m or a clock time such as 14:30)")
    s = ssub.add_parser("resume", parents=[common])
    s.add_argument("id", type=int)
    s = ssub.add_parser("delete", parents=[common])
    s.add_argument("id", type=int)
    s = ssub.add_parser("preview", parents=[common], help="the next fire times of a schedule or of a rule")
    s.add_argument("id", type=int, nargs="?")
    rule(s, False)
    fields(s)
    s.add_argument("-n", type=_count(PREVIEW_MAX), default=5, help=f"how many fire times (default 5, at most {PREVIEW_MAX})")
    s.add_argument("--json", action="store_true")
    s = ssub.add_parser("show", parents=[common])
    s.add_argument("id", type=int)
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("schedules", parents=[common], help="list schedules with their next and last runs")
    s.add_argument("--task")
    s.add_argument("--json", action="store_true")
    s = sub.add_parser("occurrences", parents=[common], help="what each schedule did with each nominal time, and why; its pauses and resumes")
    s.add_argument("--schedule", type=int)
    s.add_argument("--limit", type=_limit, default=50, metavar="N", help="at most N records (default 50; 'all' for every one)")
    s.add_argument("--json", action="store_true")


# -- plumbing ---------------------------------------------------------------------------------------
# No interval, timeout, window or offset an event needs is longer than a year: a longer one is a typo.
DURATION_MAX_DAYS = 366
PREVIEW_MAX = 1000


def _count(most: int | None = None) -> Any:
    """An argparse type: a whole number from 1 (to `most`); the error names the option."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if n < 1 or (most is not None and n > most):
            raise argparse.ArgumentTypeError(f"must be at least 1{f' and at most {most}' if most else ''} (got {n})")
        return n

    return parse


def _limit(text: str) -> int | None:
    """--limit: a number of rows from 1, or 'all' (None: no limit)."""
    if text.strip().lower() == "all":
        return None
    try:
        return _count()(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc}; or 'all' for every one") from None


class _OneLineFormatter(logging.Formatter):
    """One line per event in the worker's log (journald, a log file): an exception is named at the
    end of its line; its traceback only with --verbose. A run's traceback is in the run's log."""

    def __init__(self, verbose: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z")
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and not self.verbose:
            from t4o_tui.engine.executor import one_line

            exc = record.exc_info[1]
            record = logging.makeLogRecord(record.__dict__)
            record.msg, record.args = f"{record.getMessage()} ({one_line(exc) if exc else 'error'})", None
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return super().format(record)


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter(verbose))
    root = logging.getLogger("t4o_tui")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False


# -- commands ---------------------------------------------------------------------------------------
def cmd_jobs(args: argparse.Namespace) -> int:
    from t4o_tui.jobs.registry import JOBS

    jobs = sorted(JOBS.values(), key=lambda j: (j.category, j.title))
    if args.json:
        print(json.dumps([j.describe() for j in jobs], indent=2))
        return EXIT_OK
    for j in jobs:
        flags = [f"timeout {j.timeout:g}s", "idempotent" if j.idempotent else "not idempotent"]
        if j.sub_minute:
            flags.append("may run more often than once a minute")
        print(f"{j.id}  [{j.category}] {j.title} — {', '.join(flags)}")
        print(f"    {j.description}")
        for f in j.settings.fields:
            default = "" if f.default is None else f" (default {f.format(f.default)})"
            print(f"    {f.key}: {f.describe_type()}{default} — {f.help or f.label}")
    return EXIT_OK


def cmd_tasks(args: argparse.Namespace) -> int:
    from t4o_tui.engine.tasks import list_tasks

    _, db = open_db(args, readonly=True)
    rows = list_tasks(db)
    if args.json:
        print(json.dumps([r.as_json() for r in rows], indent=2))
        return EXIT_OK
    print_table(
        [[str(r.id), r.name, r.job, "direct" if r.direct else "queue", r.last_status or "-"] for r in rows],
        ["ID", "NAME", "JOB", "LANE", "LAST RUN"],
    )
    return EXIT_OK


def _duration(text: str, what: str) -> float:
    """A duration option's value in seconds: never negative, at most DURATION_MAX_DAYS."""
    from t4o_tui.timefmt import parse_duration_text

    if text.strip().startswith("-"):
        raise CliError(f"{what}: must not be negative (got {text})")
    try:
        v = parse_duration_text(text)
    except ValueError as exc:
        raise CliError(f"{what}: {exc}") from None
    if not math.isfinite(v):
        raise CliError(f"{what}: '{text}' is not a duration (examples: 30s, 5m, 1h30m)")
    if v > DURATION_MAX_DAYS * 86400:
        raise CliError(f"{what}: at most {DURATION_MAX_DAYS} days (got {text})")
    return v


def cmd_task(args: argparse.Namespace) -> int:
    from t4o_tui.engine import tasks as svc

    _, db = open_db(args, readonly=args.task_command == "show")
    action = args.task_command
    if action == "add":
        settings = svc.parse_settings_text(args.job, args.sets)
        timeout = _duration(args.timeout, "timeout") if args.timeout else None
        t = svc.create_task(args.name, args.job, settings, direct=args.direct, timeout=timeout, on_orphan=args.on_orphan)
        print(f"task {t.id} '{t.name}' created ({t.job})")
    elif action == "set":
        t = svc.find_task(args.name)
        assignments = [*args.assignments, *args.more_assignments]
        new_settings = svc.parse_settings_text(t.job, assignments) if assignments else None
        kwargs: dict[str, Any] = {}
        if args.timeout is not None:
            kwargs["timeout"] = None if args.timeout == "default" else _duration(args.timeout, "timeout")
        if args.on_orphan is not None:
            kwargs["on_orphan"] = None if args.on_orphan == "default" else args.on_orphan
        t = svc.update_task(t.id, name=args.rename, settings=new_settings, direct=args.direct, **kwargs)
        print(f"task {t.id} '{t.name}' saved")
    elif action == "delete":
        name = svc.find_task(args.name).name
        gone = svc.task_dependents(args.name)
        n = svc.delete_task(args.name)
        # The count of runs as before (scripts read it); then what else went with the task.
        print(f"task '{name}' deleted with {n} run(s)" + (
            f", {gone.schedules} schedule(s)" if gone.schedules else "") + (
            f" and {gone.shares} share link(s) (their URLs no longer work)" if gone.shares else ""))
    elif action == "duplicate":
        t = svc.duplicate_task(args.name, args.new_name)
        print(f"task {t.id} '{t.name}' created as a copy of '{args.name}'")
    elif action == "show":
        t = svc.find_task(args.name)
        row = next(r for r in svc.list_tasks(db) if r.id == t.id)
        if args.json:
            print(json.dumps(row.as_json(), indent=2))
        else:
            print(f"{row.name} (task {row.id})\n  job: {row.job} ({row.job_title}, {row.category})")
            print(f"  lane: {'direct' if row.direct else 'queue'}\n  timeout: {row.effective_timeout:g} s")
            print(f"  on orphan: {row.effective_on_orphan}\n  last run: {row.last_run_id or '-'} {row.last_status or ''}")
            for k, v in row.as_json()["settings"].items():  # secrets masked
                print(f"  {k} = {json.dumps(v)}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from t4o_tui.engine.runs import enqueue_run, get_run
    from t4o_tui.engine.runtime import workers_alive

    cfg, db = open_db(args)
    run_id = enqueue_run(db, args.task, trigger="manual")
    print(f"run {run_id} queued", flush=True)
    if not args.wait:
        return EXIT_OK
    if workers_alive(db, time.time()):
        while (r := get_run(db, run_id)).status in ("queued", "running"):
            time.sleep(0.2)
    else:
        print("no worker is running on this database: running the engine here until the run ends", file=sys.stderr)
        _setup_logging(False)
        _run_in_process(cfg, db, run_id)
        r = get_run(db, run_id)
    tail = f": {r.error}" if r.error else ""
    out = f" (file: {r.output})" if r.output else ""
    print(f"run {run_id} {r.status}{tail}{out}")
    return EXIT_OK if r.status == "succeeded" else EXIT_FAIL


def _run_in_process(cfg: Any, db: Any, run_id: int) -> None:
    import asyncio

    from t4o_tui.config import data_dir_for
    from t4o_tui.engine.runs import get_run
    from t4o_tui.engine.runtime import Runtime, RuntimeOptions

    async def main() -> None:
        rt = Runtime(db, data_dir=data_dir_for(cfg.db), options=_options(cfg), role="cli")
        await rt.start()
        try:
            while (await asyncio.to_thread(get_run, db, run_id)).status in ("queued", "running"):
                await asyncio.sleep(0.05)
        finally:
            await rt.stop()

    def _options(c: Any) -> RuntimeOptions:
        # A helper engine for one run: no schedule evaluation, no share server.
        return RuntimeOptions(lease=c.lease, direct_slots=c.direct_slots, retention=c.retention, grace=c.grace,
                              scheduler=False)

    asyncio.run(main())


def cmd_runs(args: argparse.Namespace) -> int:
    from t4o_tui.engine.runs import list_runs
    from t4o_tui.timefmt import iso

    _, db = open_db(args, readonly=True)
    rows = list_runs(db, task=args.task, statuses=tuple(args.status) if args.status else None, limit=args.limit)
    if args.json:
        print(json.dumps([r.as_json() for r in rows], indent=2))
        return EXIT_OK
    print_table(
        [[str(r.id), r.task, r.status, r.lane, r.trigger, (iso(r.enqueued_at) or "")[:19], (r.error or "")[:60]] for r in rows],
        ["RUN", "TASK", "STATUS", "LANE", "TRIGGER", "ENQUEUED", "ERROR"],
    )
    return EXIT_OK


def cmd_cancel(args: argparse.Namespace) -> int:
    from t4o_tui.engine.runs import cancel_run

    _, db = open_db(args)
    state = cancel_run(db, args.run, by="admin (cli)")
    if state == "cancelled":
        print(f"run {args.run} cancelled")
    else:
        print(f"run {args.run}: cancel requested; it stops within a second or two")
    return EXIT_OK


def cmd_log(args: argparse.Namespace) -> int:
    from t4o_tui.engine.runs import get_run, run_log
    from t4o_tui.timefmt import iso

    _, db = open_db(args, readonly=True)
    get_run(db, args.run)
    if args.follow and db.immutable:
        # Read-only and open in no process: nothing can add to the log while we watch.
        print("the database is read-only and no process has it open: the log as it stands", file=sys.stderr)
        args.follow = False
    last = 0
    while True:
        for line in run_log(db, args.run, after=last):
            stamp = (iso(line.ts) or "")[11:23]
            for i, text in enumerate(line.message.splitlines() or [""]):
                print(f"{stamp} {line.level.upper():7} {text}" if i == 0 else f"{'':20} {text}")
            last = line.id
        sys.stdout.flush()
        if not args.follow or get_run(db, args.run).status not in ("queued", "running"):
            if args.follow:
                for line in run_log(db, args.run, after=last):
                    print(f"{(iso(line.ts) or '')[11:23]} {line.level.upper():7} {line.message}")
            return EXIT_OK
        time.sleep(0.3)


def cmd_worker(args: argparse.Namespace) -> int:
    from t4o_tui.worker import run_worker

    _setup_logging(args.verbose)
    cfg, db = open_db(args)
    if args.demo:
        _demo(cfg, db)
    return run_worker(cfg, db)


def _demo(cfg: Any, db: Any) -> None:
    from t4o_tui.config import data_dir_for, share_base_url
    from t4o_tui.demo import build_demo, demo_share_urls, prepare_demo

    created = build_demo(db, data_dir_for(cfg.db))
    if "Import entries" in created:
        prepare_demo(db, data_dir_for(cfg.db), say=lambda line: print(line, file=sys.stderr))
    print(f"demo event: {cfg.db}", file=sys.stderr)
    for url in demo_share_urls(share_base_url(cfg)):
        print(f"demo share link: {url}", file=sys.stderr)


def cmd_tui(args: argparse.Namespace) -> int:
    # --readonly changes nothing, so it does not create the event database either.
    cfg, db = open_db(args, must_exist="--readonly" if args.readonly and not args.demo else None)
    if args.demo:
        _demo(cfg, db)
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise CliError("the terminal UI needs a terminal; use --worker to run headless, or a command (see --help)")
    from t4o_tui.tui.app import run_tui

    return run_tui(cfg, db, readonly=args.readonly)


def _schedule_input_changes(args: argparse.Namespace, tzname: str, now: float) -> dict[str, Any]:
    """What the schedule options say, as ScheduleInput fields (only those given)."""
    from zoneinfo import ZoneInfo

    from t4o_tui.timefmt import parse_instant

    tz = ZoneInfo(tzname) if _zone_ok(tzname) else None
    out: dict[str, Any] = {}

    def when(value: str, field: str) -> float:
        try:
            return parse_instant(value, now, tz)
        except ValueError as exc:
            raise CliError(f"--{field}: {exc}") from None

    def offset(value: str, field: str) -> float:
        text = value.strip()
        sign = -1.0 if text.startswith("-") else 1.0
        return sign * _duration(text.lstrip("+-"), f"--{field}")

    if getattr(args, "every", None):
        out.update(kind="interval", every=_duration(args.every, "--every"), cron=None, at=None)
    if getattr(args, "cron", None):
        out.update(kind="cron", cron=args.cron, every=None, at=None)
    if getattr(args, "at", None):
        out.update(kind="once", at=when(args.at, "at"), every=None, cron=None)
    if getattr(args, "per_row", None):
        out.update(kind="per_row", source=args.per_row, every=None, cron=None, at=None)
    if args.window:
        source, _, key = args.window.partition(":")
        out.update(kind="window", source=source, source_key=key or None)
    if args.start:
        out["start"] = when(args.start, "start")
    if args.expiry:
        out["expiry"] = when(args.expiry, "expiry")
    if args.tz:
        out["tz"] = args.tz
    if args.max_runs is not None:
        out["max_runs"] = args.max_runs
    if args.catch_up:
        out["catch_up"] = args.catch_up
    if args.catch_up_window:
        out["catch_up_window"] = _duration(args.catch_up_window, "--catch-up-window")
    if args.overlap:
        out["overlap"] = args.overlap
    if args.start_offset:
        out["start_offset"] = offset(args.start_offset, "from")
    if args.expiry_offset:
        out["expiry_offset"] = offset(args.expiry_offset, "to")
    if args.offset:
        out["row_offset"] = offset(args.offset, "offset")
    return out


def _zone_ok(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _default_tz(cfg: Any) -> str:
    if cfg.timezone:
        return str(cfg.timezone)
    from t4o_tui.timefmt import local_zone_name

    return local_zone_name()


_OPTION_OF = {"every": "--every", "cron": "--cron", "at": "--at", "start": "--start", "expiry": "--expiry",
              "tz": "--tz", "max_runs": "--max-runs", "catch_up": "--catch-up", "catch_up_window": "--catch-up-window",
              "overlap": "--overlap", "source": "--window/--per-row", "source_key": "--window", "start_offset": "--from",
              "expiry_offset": "--to", "row_offset": "--offset", "until": "--until", "note": "--note", "task": "TASK", "kind": "kind"}


def _invalid(exc: Any) -> CliError:
    parts = [f"{_OPTION_OF.get(e.field, e.field)}: {e.message}" for e in exc.errors]
    return CliError("schedule not saved: " + "; ".join(parts))


def cmd_schedule(args: argparse.Namespace) -> int:
    from t4o_tui.engine import schedules as svc
    from t4o_tui.engine.tasks import find_task
    from t4o_tui.timefmt import iso

    cfg, db = open_db(args, readonly=args.schedule_command in ("show", "preview"))
    now = time.time()
    action = args.schedule_command
    try:
        if action == "add":
            # The task first: without it every job-dependent check would add errors of its own.
            find_task(args.task)
            tzname = args.tz or _default_tz(cfg)
            data = svc.ScheduleInput(task=args.task, kind="interval", tz=tzname)
            for key, value in _schedule_input_changes(args, tzname, now).items():
                setattr(data, key, value)
            sch = svc.add_schedule(db, data)
            print(f"schedule {sch.id} added to '{args.task}': {svc.describe(db, sch)}")
            print(f"  next: {iso(sch.next_fire) or 'none (nothing to fire in its window)'}")
        elif action == "set":
            cur = svc.get_schedule(args.id)
            changes = _schedule_input_changes(args, args.tz or cur.tz, now)
            if not changes:
                raise CliError("nothing to change (give --every, --cron, --start, --expiry, ...)")
            sch = svc.edit_schedule(db, args.id, changes)
            print(f"schedule {sch.id} saved: {svc.describe(db, sch)}; next {iso(sch.next_fire) or 'none'}")
        elif action == "pause":
            until = None
            if args.until:
                try:
                    # the forms' one rule: ISO 8601, now, +10m or a clock time, held to the pause's bounds
                    until = svc.parse_pause_until(args.until, now, None)
                except ValueError as exc:
                    raise CliError(f"--until: {exc}") from None
            sch = svc.pause_schedule(db, args.id, note=args.note, until=until)
            print(f"schedule {args.id} paused" + (f" until {iso(until)}" if until else "")
                  + (f": {sch.pause_note}" if sch.pause_note else ""))
        elif action == "resume":
            svc.resume_schedule(db, args.id)
            print(f"schedule {args.id} resumed")
        elif action == "delete":
            svc.delete_schedule(db, args.id)
            print(f"schedule {args.id} deleted")
        elif action == "show":
            sch = svc.get_schedule(args.id)
            row = next(r for r in svc.list_schedules(db, now=now) if r.id == sch.id)
            if args.json:
                print(json.dumps(row.as_json(), indent=2))
            else:
                for k, v in row.as_json().items():
                    print(f"{k:16} {v}")
        elif action == "preview":
            return _preview(args, cfg, db, now)
    except svc.ScheduleInvalid as exc:
        raise _invalid(exc) from None
    return EXIT_OK


def _preview(args: argparse.Namespace, cfg: Any, db: Any, now: float) -> int:
    from zoneinfo import ZoneInfo

    from t4o_tui.engine import schedule_math as sm
    from t4o_tui.engine import schedules as svc
    from t4o_tui.jobs.registry import JOBS
    from t4o_tui.timefmt import iso

    note = ""
    if args.id is not None:
        target: Any = svc.get_schedule(args.id)
        tzname = target.tz
    else:
        tzname = args.tz or _default_tz(cfg)
        changes = _schedule_input_changes(args, tzname, now)
        if "kind" not in changes:
            raise CliError("preview needs a schedule ID, or --every / --cron / --at")
        changes.setdefault("start", now)
        changes.setdefault("expiry", now + 10 * 366 * 86400)
        target = svc.ScheduleInput(task="", kind=changes.pop("kind"), tz=tzname)
        for key, value in changes.items():
            setattr(target, key, value)
        # No task, so no job: the sub-minute rule is the job's and applies when the schedule is saved on a task.
        spec = svc.spec_of(target)
        rule = {e.message for e in sm.validate(spec, job_title="?", allows_sub_minute=False)} - {
            e.message for e in sm.validate(spec, job_title="?", allows_sub_minute=True)}
        errors = [e for e in svc.validate(db, target)[1] if e.field != "task" and e.message not in rule]
        if errors:
            raise _invalid(svc.ScheduleInvalid(errors))
        if rule:
            fast = ", ".join(sorted(j for j, cls in JOBS.items() if cls.sub_minute))
            note = f"  (more often than once a minute: only on a task of a job that allows it: {fast})"
    fires = svc.preview(db, target, after=now, k=args.n)
    zone = ZoneInfo(tzname) if _zone_ok(tzname) else None
    desc = svc.describe(db, target)
    if args.json:
        print(json.dumps({"description": desc, "fires": [{"at": iso(f.nominal, zone), "dst": f.dst} for f in fires]}, indent=2))
        return EXIT_OK
    print(desc)
    if note:
        print(note)
    if not fires:
        print("  (no fire times in its window)")
    for f in fires:
        print(f"  {iso(f.nominal, zone)}{_DST_MARKS.get(f.dst or '', '')}")
    return EXIT_OK


# What a preview says beside a fire time that daylight saving moved or repeated (schedule_math.Fire.dst).
_DST_MARKS = {
    "gap": "  (DST: wall time did not exist, shifted)",
    "first": "  (DST: repeated hour; fires on this first pass only)",
    "fold": "  (DST: repeated hour; second pass, fires too)",
}


def cmd_schedules(args: argparse.Namespace) -> int:
    from t4o_tui.engine.schedules import list_schedules
    from t4o_tui.timefmt import iso, relative

    _, db = open_db(args, readonly=True)
    now = time.time()
    rows = list_schedules(db, now=now, task=args.task)
    if args.json:
        print(json.dumps([r.as_json() for r in rows], indent=2))
        return EXIT_OK

    def note(r: Any) -> str:
        """Why and how long a schedule is paused (the admin's note), '-' when it runs."""
        if not r.paused:
            return "-"
        until = f"until {relative(r.paused_until, now)}" if r.paused_until else ""
        return "; ".join(t for t in ((r.pause_note or "")[:40], until) if t) or "-"

    print_table(
        [[str(r.id), r.task, r.state, r.description[:40], relative(r.next_fire, now) if r.next_fire else "-",
          (iso(r.next_fire) or "")[11:19], r.last_state or "-", (iso(r.expiry) or "")[:16], note(r)] for r in rows],
        ["ID", "TASK", "STATE", "RULE", "NEXT", "AT", "LAST", "EXPIRY", "PAUSE NOTE"],
    )
    return EXIT_OK


def cmd_occurrences(args: argparse.Namespace) -> int:
    from t4o_tui.engine.schedules import ScheduleEventRow, schedule_history
    from t4o_tui.timefmt import iso

    _, db = open_db(args, readonly=True)
    # The occurrences with the schedules' pauses and resumes among them (state pause / resume;
    # NOMINAL is when it happened), newest first.
    rows = schedule_history(db, schedule_id=args.schedule, limit=args.limit)
    if args.json:
        print(json.dumps([r.as_json() for r in rows], indent=2))
        return EXIT_OK

    def line(r: Any) -> list[str]:
        if isinstance(r, ScheduleEventRow):
            return [str(r.schedule_id), (iso(r.at) or "")[:23], r.kind, "-", "-",
                    r.reason_text(lambda t: (iso(t) or "")[:19])[:70]]
        return [str(r.schedule_id), (iso(r.nominal) or "")[:23] + (f" (+{r.count - 1} more)" if r.count > 1 else ""),
                r.state, f"{r.lateness_ms:.1f}" if r.lateness_ms is not None else "-", str(r.run_id or "-"),
                (r.reason or "")[:70]]

    print_table([line(r) for r in rows], ["SCHEDULE", "NOMINAL", "STATE", "LATE ms", "RUN", "REASON"])
    return EXIT_OK


def _share_base(cfg: Any, db: Any) -> tuple[str, Any]:
    """Where links point (the address of the process that serves them, see share.serving), and it."""
    from t4o_tui.engine.clock import clock_from_env
    from t4o_tui.share import serving

    server = serving.current(db, clock_from_env().now())
    return serving.base_url(cfg, server), server


def cmd_share(args: argparse.Namespace) -> int:
    from t4o_tui.share import links, serving
    from t4o_tui.timefmt import parse_instant

    cfg, db = open_db(args)
    now = time.time()
    base, server = _share_base(cfg, db)

    def expires(text: str) -> float:
        try:
            return parse_instant(text, now)
        except ValueError as exc:
            raise CliError(f"--expires: {exc}") from None

    try:
        if args.share_command == "add":
            sh = links.create_share(db, args.task, run_task=args.run_task, cache_window=_duration(args.cache, "--cache"),
                                    expires_at=expires(args.expires) if args.expires else None, label=args.label)
            print(links.share_url(base, sh.token))
            if server is None:  # the link is right, but nothing answers it yet
                print(f"t4o-tui: note: {serving.who_serves(None, cfg)}", file=sys.stderr)
        elif args.share_command == "revoke":
            links.revoke_share(db, args.id)
            print(f"share {args.id} revoked: a running share server stops serving it within a second")
        elif args.share_command == "set":
            changes: dict[str, Any] = {}
            if args.run_task is not None:
                changes["run_task"] = args.run_task
            if args.cache:
                changes["cache_window"] = _duration(args.cache, "--cache")
            if args.expires:
                changes["expires_at"] = None if args.expires == "never" else expires(args.expires)
            if args.label is not None:
                changes["label"] = args.label
            links.update_share(db, args.id, **changes)
            print(f"share {args.id} saved")
    except links.ShareError as exc:
        raise CliError(str(exc)) from None
    return EXIT_OK


def cmd_shares(args: argparse.Namespace) -> int:
    from t4o_tui.share import serving
    from t4o_tui.share.links import list_shares, share_url
    from t4o_tui.timefmt import iso, relative

    cfg, db = open_db(args, readonly=True)
    now = time.time()
    rows = list_shares(db, task=args.task)
    base, server = _share_base(cfg, db)
    if args.json:
        served_by = server.worker if server is not None else None
        print(json.dumps([{**r.as_json(base, now), "served_by": served_by} for r in rows], indent=2))
        return EXIT_OK
    print_table(
        [[str(r.id), r.task, r.state(now), "run-task" if r.run_task else "-", str(r.hits),
          relative(r.last_access, now) if r.last_access else "-", share_url(base, r.token)] for r in rows],
        ["ID", "TASK", "STATE", "MODE", "HITS", "LAST", "URL"],
    )
    print(f"\n{serving.who_serves(server, cfg)}")
    if rows:
        # A share server counts visits in memory and writes them every 5 s: say how fresh HITS is.
        written = rows[0].hits_written_at
        print("Hits as last written by a share server: " + (f"{relative(written, now)} ({iso(written)}); "
              "it writes them every 5 s while it runs" if written else "none yet"))
    return EXIT_OK


COMMANDS = {"jobs": cmd_jobs, "share": cmd_share, "shares": cmd_shares, "schedule": cmd_schedule, "schedules": cmd_schedules, "occurrences": cmd_occurrences, "tasks": cmd_tasks, "task": cmd_task, "run": cmd_run, "runs": cmd_runs,
            "cancel": cmd_cancel, "log": cmd_log, **cli_event.COMMANDS}


# Options whose value may be a negative offset ("-1h"), which argparse would take for an option;
# and durations, where a negative one ("--every -5s") must reach the value check and its error.
_SIGNED_OPTIONS = {"--from", "--to", "--offset", "--expires", "--start", "--expiry", "--at", "--until",
                   "--every", "--timeout", "--cache", "--catch-up-window", *cli_event.SIGNED_OPTIONS}


def _join_signed(argv: Sequence[str]) -> list[str]:
    out: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg in _SIGNED_OPTIONS:
            nxt = next(it, None)
            if nxt is not None and len(nxt) > 1 and nxt[0] == "-" and (nxt[1].isdigit() or nxt[1] == "."):
                out.append(f"{arg}={nxt}")
                continue
            out.append(arg)
            if nxt is not None:
                out.append(nxt)
            continue
        out.append(arg)
    return out


def _reader_gone() -> int:
    """The reader of our output stopped reading (`t4o-tui occurrences | head`): end quietly, with
    the status of a process ended by SIGPIPE, as other command-line tools do."""
    try:
        # The interpreter flushes stdout at exit: into the void, not into a closed pipe.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 128 + 13


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(_join_signed(sys.argv[1:] if argv is None else argv))
    if args.worker and not args.command:
        from t4o_tui.stop_signals import catch_early

        catch_early()  # before the engine loads: a SIGTERM during start-up is a clean stop
    import sqlite3

    import peewee

    from t4o_tui.config import ConfigError
    from t4o_tui.engine.job import install_jobs
    from t4o_tui.engine.queue import AlreadyEnded
    from t4o_tui.engine.settings import SettingError
    from t4o_tui.engine.tasks import TaskError
    from t4o_tui.jobs.registry import REGISTRY
    from t4o_tui.store.db import DatabaseError

    # The engine runs the jobs it is handed. A command imports a job when it first needs it (most
    # need none: `race list`, `log`); the worker and the TUI import them all as they start.
    install_jobs(REGISTRY)
    try:
        if args.command:
            code = COMMANDS[args.command](args)
            sys.stdout.flush()  # a reader that went away (`| head`) shows here, inside the try
            return code
        if args.worker:
            return cmd_worker(args)
        return cmd_tui(args)
    except BrokenPipeError:
        return _reader_gone()
    except (CliError, ConfigError, TaskError, SettingError, DatabaseError, LookupError, AlreadyEnded) as exc:
        msg = exc.args[0] if isinstance(exc, LookupError) and exc.args else str(exc)
        sys.stderr.write(f"t4o-tui: error: {msg}\n")
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130
    except (sqlite3.OperationalError, peewee.OperationalError) as exc:
        # The database refused (disk full, locked past the busy timeout, read-only): not a bug.
        where = getattr(args, "db_path", None)
        if "://" in str(where):
            where = None  # a server URL may carry a password: not for a terminal or a log
        sys.stderr.write(f"t4o-tui: error: database {where}: {exc}\n" if where else f"t4o-tui: error: database: {exc}\n")
        return EXIT_FAIL
    except Exception as exc:  # never a traceback on screen; T4O_TUI_DEBUG=1 shows it
        if type(exc).__module__.startswith("psycopg") and not os.environ.get("T4O_TUI_DEBUG"):
            # PostgreSQL refused the statement or the server is gone (restart, network cut): not
            # a bug. Its message's first line says what (DETAIL and HINT lines follow it).
            lines = str(exc).strip().splitlines()
            sys.stderr.write(f"t4o-tui: error: database: {lines[0] if lines else type(exc).__name__}\n")
            return EXIT_FAIL
        if os.environ.get("T4O_TUI_DEBUG"):
            raise
        sys.stderr.write(f"t4o-tui: error: {type(exc).__name__}: {exc} (set T4O_TUI_DEBUG=1 for details)\n")
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
