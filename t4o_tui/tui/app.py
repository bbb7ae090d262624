"""The t4o-tui terminal app: views, keys, the engine running inside Textual's loop, clean exits."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import peewee
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.reactive import reactive
from textual.screen import Screen

from t4o_tui.config import Config, data_dir_for
from t4o_tui.engine.clock import Clock, clock_from_env
from t4o_tui.engine.job import install_jobs
from t4o_tui.engine.queue import AlreadyEnded
from t4o_tui.engine.runs import RunRow
from t4o_tui.engine.runtime import Runtime, RuntimeOptions
from t4o_tui.engine.schedules import ScheduleRow
from t4o_tui.engine.tasks import TaskError, TaskRow
from t4o_tui.jobs.registry import REGISTRY
from t4o_tui.share.links import ShareRow, share_url
from t4o_tui.share.service import RuntimeShareServer
from t4o_tui.timefmt import local_zone
from t4o_tui.tui.commands import T4oCommands
from t4o_tui.tui.format import ACTIVE
from t4o_tui.tui.keys import bindings, unknown_ids
from t4o_tui.tui.screens.confirm import ConfirmScreen
from t4o_tui.tui.screens.dashboard import DashboardScreen
from t4o_tui.tui.screens.event import EventScreen
from t4o_tui.tui.screens.help import HelpScreen
from t4o_tui.tui.screens.in_forest import InForestScreen
from t4o_tui.tui.screens.occurrences import OccurrencesScreen
from t4o_tui.tui.screens.pause import PauseScreen
from t4o_tui.tui.screens.queue import QueueScreen
from t4o_tui.tui.screens.readout import ReadoutScreen
from t4o_tui.tui.screens.results import ResultsScreen
from t4o_tui.tui.screens.run_details import RunDetailsScreen
from t4o_tui.tui.screens.run_log import RunLogScreen
from t4o_tui.tui.screens.schedule_editor import ScheduleEditorScreen
from t4o_tui.tui.screens.share_editor import ShareEditorScreen
from t4o_tui.tui.screens.share_link import ShareLinkScreen
from t4o_tui.tui.screens.shares import SharesScreen
from t4o_tui.tui.screens.station_data import StationDataScreen
from t4o_tui.tui.screens.task_editor import TaskEditorScreen
from t4o_tui.tui.screens.tasks import TasksScreen
from t4o_tui.tui.services import ReadOnlyError, Services
from t4o_tui.worker import runtime_options

log = logging.getLogger("t4o_tui.tui")

# The main views in key order (1, 2, 3, …), as the header's tabs show them (widgets/header.py):
# short names; at 80 columns only the current one is named, the others by number; at 160 all of
# them, unless the view's status line needs the room.
VIEWS: list[tuple[str, str]] = [("dashboard", "Dashboard"), ("queue", "Queue"), ("tasks", "Tasks"),
                                ("shares", "Shares"), ("event", "Event"), ("results", "Results"),
                                ("station", "Station data"), ("readout", "Readout"), ("forest", "In forest")]
TERMINAL_CHECK_SECONDS = 3.0


class _NotifyHandler(logging.Handler):
    """Engine warnings become notifications: stderr would scribble over the screen."""

    def __init__(self, app: T4oApp, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.WARNING)
        self.app = app
        self.loop = loop

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            self.loop.call_soon_threadsafe(
                lambda: self.app.notify(message, title="Engine", severity="error" if record.levelno >= logging.ERROR else "warning"))
        except Exception:  # the loop is closing; nothing useful to do with the line
            pass


class T4oApp(App[int], inherit_bindings=False):
    CSS_PATH = "app.tcss"
    TITLE = "t4o-tui"
    VIEWS: ClassVar[list[tuple[str, str]]] = VIEWS
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "dashboard": DashboardScreen, "queue": QueueScreen, "tasks": TasksScreen, "shares": SharesScreen,
        "event": EventScreen, "results": ResultsScreen, "station": StationDataScreen,
        "readout": ReadoutScreen,  # key 8 (an app binding: the views before it need no change)
        "forest": InForestScreen,  # key 9, as Readout; the dashboard's f too
    }
    DEFAULT_MODE = "dashboard"
    COMMANDS = App.COMMANDS | {T4oCommands}
    BINDINGS = bindings("app.quit", "app.interrupt", "app.help", "app.palette", "view.readout", "view.forest")

    engine_state: reactive[str] = reactive("")

    def __init__(self, cfg: Config, db: peewee.Database, *, readonly: bool = False,
                 options: RuntimeOptions | None = None, watch_terminal: bool = True, clock: Clock | None = None,
                 worker_id: str | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.db = db
        self.readonly = readonly
        self.db_name = Path(str(db.database)).name
        self.watch_terminal = watch_terminal
        # The rehearsal clock, when set, as every other process uses it; tests give a fixed one
        # (and a fixed worker id) so that snapshots show the same times on every run.
        clock = clock or clock_from_env()
        # The engine runs jobs it is handed (the TUI's screens list them too), all imported now:
        # none in a run's thread mid-event, and start-up's gc.freeze() covers them.
        install_jobs(REGISTRY)
        REGISTRY.load_all()
        # Read-only: no runtime at all, so this process never claims or runs anything.
        self.runtime: Runtime | None = None if readonly else Runtime(
            db, data_dir=data_dir_for(cfg.db), options=options or runtime_options(cfg), role="tui", clock=clock,
            worker_id=worker_id, share_server=RuntimeShareServer)
        self.worker_id: str | None = self.runtime.worker_id if self.runtime else None
        self.services = Services(db, readonly=readonly, tz=local_zone(cfg.timezone), runtime=self.runtime,
                                 clock=clock, cfg=cfg)
        self.engine_started = False
        self.stopping = False
        # The race (stage) the Event and Results views show, once the admin chose one; None:
        # today's race by the event's date, else the first.
        self.race_id: int | None = None
        self._frozen: AbstractContextManager[None] | None = None
        self._log_handler: _NotifyHandler | None = None
        self._reported_clashes: set[str] = set()
        self._textual_sigcont: Any = None
        self._engine_start_done = asyncio.Event()
        self._gc_frozen = False
        self.engine_state = "READ-ONLY · runs nothing" if readonly else "engine starting…"
        if (os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_TTY")) and "NO_COLOR" not in os.environ:
            # The terminal's own palette: right over SSH and in 16 colours. Not with NO_COLOR:
            # Textual picks its colour-removing filter for the starting theme, and the one for
            # the default theme keeps ansi-dark's text readable.
            self.theme = "ansi-dark"

    # -- life cycle ---------------------------------------------------------------------------------
    def on_mount(self) -> None:
        logger = logging.getLogger("t4o_tui")
        self._log_handler = _NotifyHandler(self, asyncio.get_running_loop())
        logger.addHandler(self._log_handler)
        self._saved_propagate = logger.propagate
        logger.propagate = False
        self._apply_keymap()
        if self.runtime is not None:
            self.run_worker(self._start_engine(), group="engine")
        else:
            self.call_after_refresh(self._freeze_startup_objects)
        if self.watch_terminal and not self.is_headless:
            loop = asyncio.get_running_loop()
            # A hang-up sends SIGCONT right after SIGHUP. Textual's own SIGCONT handler would
            # restart terminal output (a new writer thread that dies on the dead terminal, after
            # which the loop blocks on a full output queue); it only runs while the terminal lives.
            self._textual_sigcont = signal.getsignal(signal.SIGCONT)
            for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT, signal.SIGCONT):
                loop.add_signal_handler(sig, self.on_signal, sig)
            self.set_interval(TERMINAL_CHECK_SECONDS, self.check_terminal)

    async def _start_engine(self) -> None:
        assert self.runtime is not None
        try:
            await self.runtime.start()
        except Exception as exc:
            self.engine_state = "engine failed: this TUI only watches"
            self.notify(f"The engine did not start: {exc}", severity="error", timeout=15)
            return
        else:
            self.engine_started = True
            if not self.stopping:
                self.engine_state = f"worker {self.runtime.worker_id}"
            # A database server lost (PostgreSQL: restart, network cut) shows in the status line
            # while the engine reconnects; the engine's log line about it is a notification too.
            self.set_interval(1.0, self._show_connection)
        finally:
            self._engine_start_done.set()
            self.call_after_refresh(self._freeze_startup_objects)

    def _show_connection(self) -> None:
        if self.runtime is None or self.stopping or self.runtime.stopping:
            return
        problem = self.runtime.status()
        state = f"⚠ {problem}" if problem else f"worker {self.runtime.worker_id}"
        if state != self.engine_state:
            self.engine_state = state

    def _freeze_startup_objects(self) -> None:
        # What start-up built (Textual, Rich, the styles, the engine's schedule state) lives as
        # long as the app. Moved out of the collector's reach, it no longer makes each full
        # collection stall the screen for 60-300 ms (bench/tui_load.py); unfrozen at exit.
        if not self._gc_frozen:
            gc.collect()
            gc.freeze()
            self._gc_frozen = True

    async def on_unmount(self) -> None:
        if self._gc_frozen:
            gc.unfreeze()
            self._gc_frozen = False
        # Reached on every way out, a crash included: the runtime must still stop gracefully.
        if self.runtime is not None and self.engine_started and not self.runtime.stopping:
            await self.runtime.stop()
        logger = logging.getLogger("t4o_tui")
        if self._log_handler is not None:
            logger.removeHandler(self._log_handler)
            logger.propagate = self._saved_propagate

    def _apply_keymap(self) -> None:
        keymap = dict(self.cfg.keys)
        unknown = unknown_ids(keymap)
        if unknown:
            self.notify(f"Unknown key binding id(s) in the config's [keys]: {', '.join(unknown)}. "
                        "Press ? to see the ids.", severity="warning", timeout=10)
        self.set_keymap({k: v for k, v in keymap.items() if k not in unknown})

    def handle_bindings_clash(self, clashed_bindings: set[Binding], node: DOMNode) -> None:
        ids = sorted({b.id for b in clashed_bindings if b.id} - self._reported_clashes)
        if ids:
            self._reported_clashes.update(ids)
            self.notify(f"Keys from the config's [keys] clash with: {', '.join(ids)}", severity="warning")

    # -- leaving ------------------------------------------------------------------------------------
    def action_quit(self) -> None:  # type: ignore[override]
        unsaved = getattr(self.screen, "has_unsaved_changes", None)
        if callable(unsaved) and unsaved():
            self.confirm("Quit and discard the unsaved changes?", yes="Discard and quit", no="Keep editing",
                         on_yes=self.shutdown)
            return
        self.shutdown()

    def shutdown(self, reason: str | None = None) -> None:
        """Stop the engine gracefully (running runs get the grace period), then exit."""
        if self.stopping:
            if reason is None:
                self.notify("Already stopping: running runs are being given their grace period.")
            return
        self.stopping = True
        self.run_worker(self._stop_and_exit(reason), group="shutdown")

    async def _stop_and_exit(self, reason: str | None) -> None:
        rt = self.runtime
        if rt is not None:
            # Quit right after start: let the start finish, or its lane threads would outlive us.
            await self._engine_start_done.wait()
        if rt is not None and self.engine_started:
            running = len(rt.running_ids())
            self.engine_state = "stopping…" + (f" {running} run(s) get {rt.opt.grace:g} s to finish" if running else "")
            try:
                await rt.stop()
            except Exception:
                log.exception("stopping the engine failed")
        terminal_gone = self._frozen is not None  # then nobody would read the message
        self.exit(0, message=f"t4o-tui: {reason}; engine stopped" if reason and not terminal_gone else None)

    def on_signal(self, sig: signal.Signals) -> None:
        if sig == signal.SIGHUP:
            self.terminal_lost("terminal hung up (SIGHUP)")
        elif sig == signal.SIGCONT:
            if not self.terminal_alive():
                self.terminal_lost("terminal hung up (SIGCONT after hang-up)")
            elif callable(self._textual_sigcont):
                self._textual_sigcont(signal.SIGCONT, None)  # resumed after a stop: Textual redraws
        else:
            self.shutdown(f"{sig.name} received")

    @staticmethod
    def terminal_alive() -> bool:
        try:
            return os.isatty(sys.__stdin__.fileno()) if sys.__stdin__ else False
        except (OSError, ValueError):
            return False

    def check_terminal(self) -> None:
        if not self.terminal_alive():
            self.terminal_lost("terminal lost (stdin is no longer a terminal)")

    def terminal_lost(self, reason: str) -> None:
        """The SSH session dropped: stop painting (writes to a dead terminal fill the output
        queue and would block the loop), then stop the engine and leave."""
        if self._frozen is None:
            self._frozen = self.batch_update()
            self._frozen.__enter__()
            driver = self._driver
            if driver is not None:
                # Nothing can be shown any more; a write would wait on an output queue that no
                # thread empties once the writer died on the dead terminal, and block the loop.
                driver.write = lambda data: None  # type: ignore[method-assign]
                # The input thread reads end-of-file from a hung-up terminal in a tight loop.
                exit_event = getattr(driver, "exit_event", None)
                if exit_event is not None:
                    exit_event.set()
        self.shutdown(reason)

    # -- views --------------------------------------------------------------------------------------
    def has_view(self, mode: str) -> bool:
        return any(m == mode for m, _ in self.VIEWS)

    def switch_view(self, mode: str) -> None:
        if self.has_view(mode) and mode != self.current_mode:
            self.switch_mode(mode)

    def cycle_view(self, step: int) -> None:
        modes = [m for m, _ in self.VIEWS]
        i = modes.index(self.current_mode) if self.current_mode in modes else 0
        self.switch_view(modes[(i + step) % len(modes)])

    def action_switch_view(self, mode: str) -> None:
        self.switch_view(mode)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen, getattr(self.screen, "HELP_TITLE", type(self.screen).__name__)))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Our own Quit (graceful) and help are elsewhere; keep Textual's theme and screenshot.
        for cmd in super().get_system_commands(screen):
            if cmd.title in ("Theme", "Screenshot"):
                yield cmd

    # -- shared actions ------------------------------------------------------------------------------
    def run_safely(self, work: Coroutine[Any, Any, None], what: str) -> None:
        """Run a change in a worker; an unexpected error (a locked database…) becomes a
        notification instead of ending the app."""

        async def guarded() -> None:
            try:
                await work
            except Exception as exc:
                self.notify(f"{what} failed: {type(exc).__name__}: {exc}", severity="error", timeout=10)

        self.run_worker(guarded(), group="change")

    def refuse_readonly(self, what: str) -> bool:
        if self.readonly:
            self.notify(f"Read-only mode: cannot {what}. Restart without --readonly to change things.",
                        severity="warning", title="Refused")
        return self.readonly

    def confirm(self, question: str, *, yes: str, no: str, on_yes: Callable[[], object]) -> None:
        def answered(ok: bool | None) -> None:
            if ok:
                on_yes()

        self.push_screen(ConfirmScreen(question, yes=yes, no=no), answered)

    def open_run_details(self, run_id: int) -> None:
        self.push_screen(RunDetailsScreen(run_id))

    def open_run_log(self, run_id: int) -> None:
        self.push_screen(RunLogScreen(run_id))

    def open_task_editor(self, task: TaskRow | None, on_saved: Callable[[str], object] | None = None) -> None:
        def done(name: str | None) -> None:
            if name and on_saved is not None:
                on_saved(name)

        self.push_screen(TaskEditorScreen(task, readonly=self.readonly), done)

    def edit_task_by_name(self, name: str) -> None:
        async def find_and_open() -> None:
            task = next((t for t in await self.services.tasks() if t.name == name), None)
            if task is None:
                self.notify(f"Task '{name}' no longer exists.", severity="warning")
                return
            if self.current_mode != "tasks":
                await self.switch_mode("tasks")
            tasks = self.screen if isinstance(self.screen, TasksScreen) else None
            self.open_task_editor(task, on_saved=tasks.select_task if tasks else None)

        self.run_safely(find_and_open(), "Opening the task")

    def open_occurrences(self, schedule_id: int) -> None:
        self.push_screen(OccurrencesScreen(schedule_id))

    def open_schedule_editor(self, schedule_id: int | None, *, task: str | None = None,
                             on_saved: Callable[[int], object] | None = None) -> None:
        """The editor of a schedule (None: a new one, of `task` or of a task chosen in the form)."""

        async def load_and_open() -> None:
            details = await self.services.schedule(schedule_id) if schedule_id is not None else None
            names = await self.services.task_names() if task is None and details is None else []

            def done(saved: int | None) -> None:
                if saved is not None and on_saved is not None:
                    on_saved(saved)

            await self.push_screen(ScheduleEditorScreen(details, task=task, tasks=names, readonly=self.readonly), done)

        self.run_safely(load_and_open(), "Opening the schedule")

    def open_pause_dialog(self, schedule: ScheduleRow, on_done: Callable[[], object] | None = None) -> None:
        def done(paused: bool | None) -> None:
            if paused and on_done is not None:
                on_done()

        self.push_screen(PauseScreen(schedule), done)

    def open_share_editor(self, share: ShareRow | None, *, task: str | None,
                          on_saved: Callable[[], object] | None = None) -> None:
        """Create a share (then show its URL in full, to copy) or change one."""

        def done(result: tuple[int, str] | None) -> None:
            if result is None:
                return
            if on_saved is not None:
                on_saved()
            if share is None:
                self.show_new_link(*result)
            else:
                self.notify(f"Share #{share.id} saved.")

        self.push_screen(ShareEditorScreen(share, task=task), done)

    def show_new_link(self, share_id: int, token: str) -> None:
        async def load_and_show() -> None:
            data = await self.services.shares()
            row = next((s for s in data.shares if s.id == share_id), None)
            url = share_url(data.base_url, token)
            if row is None:
                self.push_screen(ShareLinkScreen(url, title=f"New share #{share_id}"))
            else:
                self.push_screen(ShareLinkScreen.for_share(url, row, data.now, created=True))

        self.run_safely(load_and_show(), "Showing the new share")

    def show_share_link(self, url: str, share: ShareRow) -> None:
        self.push_screen(ShareLinkScreen.for_share(url, share, self.services.now()))

    def copy_link(self, url: str) -> None:
        # OSC 52 through the terminal: works over SSH and in tmux (set-clipboard on) in most terminals.
        self.copy_to_clipboard(url)
        self.notify(f"Copied {url}", title="Clipboard")

    def run_task_now(self, name: str, on_done: Callable[[], object] | None = None) -> None:
        if self.refuse_readonly("run tasks"):
            return

        async def enqueue() -> None:
            try:
                run_id = await self.services.enqueue(name)
            except (TaskError, ReadOnlyError) as exc:
                self.notify(str(exc), severity="error", title="Not queued")
                return
            self.notify(f"Run #{run_id} of '{name}' queued.")
            if on_done is not None:
                on_done()

        self.run_safely(enqueue(), f"Queueing a run of '{name}'")

    def request_cancel(self, run: RunRow, on_done: Callable[[], object] | None = None) -> None:
        if self.refuse_readonly("cancel runs"):
            return
        if run.status not in ACTIVE:
            self.notify(f"Run #{run.id} has already ended ({run.status}).", severity="warning")
            return

        async def cancel() -> None:
            try:
                state = await self.services.cancel(run.id)
            except (AlreadyEnded, LookupError, ReadOnlyError) as exc:
                self.notify(str(exc.args[0] if exc.args else exc), severity="warning", title="Not cancelled")
                return
            if state == "cancelled":
                self.notify(f"Run #{run.id} cancelled.")
            else:
                self.notify(f"Run #{run.id}: cancel requested; it stops within a second or two.")
            if on_done is not None:
                on_done()

        what = "It is running: it stops within a second or two and its changes are rolled back." \
            if run.status == "running" else "It has not started yet."
        self.confirm(f"Cancel run #{run.id} of '{run.task}'? {what}", yes="Cancel run", no="Keep it",
                     on_yes=lambda: self.run_safely(cancel(), f"Cancelling run #{run.id}"))


if TYPE_CHECKING:
    from t4o_tui.tui.host import T4oHost

    # Screens, widgets and the palette reach the app only through T4oHost: mypy holds the app to it.
    _APP_IS_A_HOST: type[T4oHost] = T4oApp


def run_tui(cfg: Config, db: peewee.Database, *, readonly: bool) -> int:
    """Run the terminal UI until the admin quits (or the terminal goes); the exit code."""
    app = T4oApp(cfg, db, readonly=readonly)
    result = app.run()
    if isinstance(result, int):
        return result
    return app.return_code or 0
