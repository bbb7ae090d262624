"""Entry point: the scriptable CLI, `--worker` (headless runtime) and the TUI.

`--worker` and every subcommand branch off before anything imports Textual, so a headless
service never loads the UI toolkit (a test asserts it).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from t4o_tui import __version__

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A one-line error for the admin; exit code 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line, like every other error of the program, and the usage hint.
        sys.stderr.write(f"t4o-tui: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


def _common() -> _Parser:
    p = _Parser(add_help=False)
    # SUPPRESS: the option may stand before or after the subcommand without one hiding the other.
    p.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help="event database (default: config file, then the platform's data folder)")
    p.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="config file (TOML)")
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

    s = sub.add_parser("run", parents=[common], help="enqueue a run of a task")
    s.add_argument("task")
    s.add_argument("--wait", action="store_true", help="wait for the run; exit 0 if it succeeded, 1 otherwise")

    s = sub.add_parser("runs", parents=[common], help="list runs, newest first")
    s.add_argument("--task")
    s.add_argument("--status", action="append", choices=("queued", "running", "succeeded", "failed", "cancelled"))
    s.add_argument("--limit", type=int, default=50)
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("cancel", parents=[common], help="cancel a queued or running run")
    s.add_argument("run", type=int)

    s = sub.add_parser("log", parents=[common], help="a run's log")
    s.add_argument("run", type=int)
    s.add_argument("--follow", "-f", action="store_true", help="keep printing new lines until the run ends")
    return p


# -- plumbing ---------------------------------------------------------------------------------------
def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
    root = logging.getLogger("t4o_tui")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False


def _open(args: argparse.Namespace) -> tuple[Any, Any]:
    from t4o_tui.config import default_db_path, demo_db_path, load_config
    from t4o_tui.store.db import open_database

    cfg_path = getattr(args, "config", None)
    db_arg = getattr(args, "db", None)
    if getattr(args, "demo", False) and not db_arg:
        db_arg = str(demo_db_path())
        Path(db_arg).parent.mkdir(parents=True, exist_ok=True)
    cfg = load_config(Path(cfg_path) if cfg_path else None, db=db_arg)
    if cfg.db == default_db_path():
        # The default location is ours to create; an explicit path in a missing folder is an error.
        cfg.db.parent.mkdir(parents=True, exist_ok=True)
    db = open_database(cfg.db)
    return cfg, db


def _print_table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


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

    _, db = _open(args)
    rows = list_tasks(db)
    if args.json:
        print(json.dumps([r.as_json() for r in rows], indent=2))
        return EXIT_OK
    _print_table(
        [[str(r.id), r.name, r.job, "direct" if r.direct else "queue", r.last_status or "-"] for r in rows],
        ["ID", "NAME", "JOB", "LANE", "LAST RUN"],
    )
    return EXIT_OK


def _duration(text: str, what: str) -> float:
    from t4o_tui.jobs.settings import parse_duration_text

    try:
        v = parse_duration_text(text)
    except ValueError as exc:
        raise CliError(f"{what}: {exc}") from None
    return v


def cmd_task(args: argparse.Namespace) -> int:
    from t4o_tui.engine import tasks as svc

    _, db = _open(args)
    action = args.task_command
    if action == "add":
        settings = svc.parse_settings_text(args.job, args.sets)
        timeout = _duration(args.timeout, "timeout") if args.timeout else None
        t = svc.create_task(args.name, args.job, settings, direct=args.direct, timeout=timeout, on_orphan=args.on_orphan)
        print(f"task {t.id} '{t.name}' created ({t.job})")
    elif action == "set":
        t = svc.find_task(args.name)
        new_settings = svc.parse_settings_text(t.job, args.assignments) if args.assignments else None
        kwargs: dict[str, Any] = {}
        if args.timeout is not None:
            kwargs["timeout"] = None if args.timeout == "default" else _duration(args.timeout, "timeout")
        if args.on_orphan is not None:
            kwargs["on_orphan"] = None if args.on_orphan == "default" else args.on_orphan
        t = svc.update_task(t.id, name=args.rename, settings=new_settings, direct=args.direct, **kwargs)
        print(f"task {t.id} '{t.name}' saved")
    elif action == "delete":
        name = svc.find_task(args.name).name
        n = svc.delete_task(args.name)
        print(f"task '{name}' deleted with {n} run(s)")
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
            for k, v in row.settings.items():
                print(f"  {k} = {json.dumps(v)}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from t4o_tui.engine.runs import enqueue_run, get_run
    from t4o_tui.engine.runtime import workers_alive

    cfg, db = _open(args)
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
        return RuntimeOptions(lease=c.lease, direct_slots=c.direct_slots, retention=c.retention, grace=c.grace)

    asyncio.run(main())


def cmd_runs(args: argparse.Namespace) -> int:
    from t4o_tui.engine.runs import list_runs
    from t4o_tui.timefmt import iso

    _, db = _open(args)
    rows = list_runs(db, task=args.task, statuses=tuple(args.status) if args.status else None, limit=args.limit)
    if args.json:
        print(json.dumps([r.as_json() for r in rows], indent=2))
        return EXIT_OK
    _print_table(
        [[str(r.id), r.task, r.status, r.lane, r.trigger, (iso(r.enqueued_at) or "")[:19], (r.error or "")[:60]] for r in rows],
        ["RUN", "TASK", "STATUS", "LANE", "TRIGGER", "ENQUEUED", "ERROR"],
    )
    return EXIT_OK


def cmd_cancel(args: argparse.Namespace) -> int:
    from t4o_tui.engine.runs import cancel_run

    _, db = _open(args)
    state = cancel_run(db, args.run, by="admin (cli)")
    if state == "cancelled":
        print(f"run {args.run} cancelled")
    else:
        print(f"run {args.run}: cancel requested; it stops within a second or two")
    return EXIT_OK


def cmd_log(args: argparse.Namespace) -> int:
    from t4o_tui.engine.runs import get_run, run_log
    from t4o_tui.timefmt import iso

    _, db = _open(args)
    get_run(db, args.run)
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
    cfg, db = _open(args)
    if args.demo:
        from t4o_tui.demo import build_demo

        build_demo(db)
    return run_worker(cfg, db)


def cmd_tui(args: argparse.Namespace) -> int:
    cfg, db = _open(args)
    if args.demo:
        from t4o_tui.demo import build_demo

        build_demo(db)
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise CliError("the terminal UI needs a terminal; use --worker to run headless, or a command (see --help)")
    from t4o_tui.tui.app import run_tui

    return run_tui(cfg, db, readonly=args.readonly)


COMMANDS = {"jobs": cmd_jobs, "tasks": cmd_tasks, "task": cmd_task, "run": cmd_run, "runs": cmd_runs,
            "cancel": cmd_cancel, "log": cmd_log}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from t4o_tui.config import ConfigError
    from t4o_tui.engine.queue import AlreadyEnded
    from t4o_tui.engine.tasks import TaskError
    from t4o_tui.jobs.settings import SettingError
    from t4o_tui.store.db import DatabaseError

    try:
        if args.command:
            return COMMANDS[args.command](args)
        if args.worker:
            return cmd_worker(args)
        return cmd_tui(args)
    except (CliError, ConfigError, TaskError, SettingError, DatabaseError, LookupError, AlreadyEnded) as exc:
        msg = exc.args[0] if isinstance(exc, LookupError) and exc.args else str(exc)
        sys.stderr.write(f"t4o-tui: error: {msg}\n")
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # never a traceback on screen; T4O_TUI_DEBUG=1 shows it
        if os.environ.get("T4O_TUI_DEBUG"):
            raise
        sys.stderr.write(f"t4o-tui: error: {type(exc).__name__}: {exc} (set T4O_TUI_DEBUG=1 for details)\n")
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
