"""The `:` command palette: go to a view, run or edit a task by name, quit."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from t4o_tui.tui.host import T4oHost


# The score of a command-line form's hit: above any fuzzy match (Textual's scores are not bounded by 1).
EXACT = 1e9


class T4oCommands(Provider):
    """Commands of t4o-tui; the task names are read once when the palette opens."""

    async def startup(self) -> None:
        self._task_names: list[str] = []
        try:
            self._task_names = await self.t4o.services.task_names()
        except Exception:  # the palette still works for views and quitting
            self._task_names = []

    @property
    def t4o(self) -> T4oHost:
        return cast("T4oHost", self.app)

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = self.t4o
        out: list[tuple[str, str, Callable[[], object]]] = []
        for n, (mode, label) in enumerate(app.VIEWS, start=1):
            out.append((f"Go to {label}", f"Show the {label} view (key {n})", partial(app.switch_view, mode)))
        for name in self._task_names:
            out.append((f"Run task: {name}", "Enqueue a run of this task now", partial(app.run_task_now, name)))
        for name in self._task_names:
            out.append((f"Edit task: {name}", "Open the task's settings and runs", partial(app.edit_task_by_name, name)))
        out.append(("Quit", "Stop the engine gracefully and leave (q)", app.action_quit))
        return out

    async def discover(self) -> Hits:
        for text, help_text, callback in self._commands():
            if text.startswith(("Go to", "Quit")):
                yield DiscoveryHit(text, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        # The command-line forms tui.md names come first: `:q` quits, `:task NAME` opens the task
        # (never runs it: an import started by a mistyped Enter is not undone), `:queue` a view.
        # Fuzzy matches follow, below them.
        words = query.strip().casefold()
        commands = self._commands()
        exact: set[str] = set()
        for text, help_text, callback in commands:
            if ((words in ("q", "quit", "q!") and text == "Quit")
                    or (words.startswith("task ") and words[5:].strip() and text.startswith("Edit task: ")
                        and text[11:].casefold().startswith(words[5:].strip()))
                    or (text.startswith("Go to ") and text[6:].casefold() == words)):
                exact.add(text)
                yield Hit(EXACT, text, callback, help=help_text)
        matcher = self.matcher(query)
        for text, help_text, callback in commands:
            score = matcher.match(text)
            if score > 0 and text not in exact:
                yield Hit(score, matcher.highlight(text), callback, help=help_text)
