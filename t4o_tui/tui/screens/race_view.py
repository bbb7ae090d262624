"""What the Event and Results views share: they show one race (stage) at a time, and `r` goes to
the next one when the event has several. The choice is the app's, so both views follow it."""

from __future__ import annotations

from typing import ClassVar

from t4o_tui.engine.event_setup import RaceInfo
from t4o_tui.engine.queries.event import choose_race
from t4o_tui.tui.format import clip
from t4o_tui.tui.screens.view import ViewScreen

__all__ = ["RaceViewScreen", "choose_race", "race_label"]


def race_label(race: RaceInfo) -> str:
    """'Day 2, 2026-07-02': the race's name and date."""
    return f"{race.name}, {race.date}" if race.date else race.name


class RaceViewScreen(ViewScreen):
    """A main view of one race. Subclasses load through choose_race and call show_races."""

    RACE_NAME_WIDTH: ClassVar[int] = 32

    def __init__(self) -> None:
        super().__init__()
        self.races: list[RaceInfo] = []
        self.race: RaceInfo | None = None

    def show_races(self, races: list[RaceInfo], race: RaceInfo | None) -> bool:
        """Take the races of a load; False when the admin chose another race while it loaded
        (a new load is under way then)."""
        wanted = self.t4o.race_id
        if wanted is not None and race is not None and race.id != wanted and wanted in {r.id for r in races}:
            self.poll_now()
            return False
        several = len(races) > 1
        if several != (len(self.races) > 1):
            self.races = races
            self.refresh_bindings()  # the race key shows only when there is a race to go to
        self.races, self.race = races, race
        return True

    def race_title(self) -> str:
        """'Day 2, 2026-07-02 · race 2/3 · ' ('Day 2 (2/3) · ' when narrow) before the view's own
        title; nothing with one race."""
        if len(self.races) < 2 or self.race is None:
            return ""
        pos = next(i for i, r in enumerate(self.races, start=1) if r.id == self.race.id)
        if self.app.size.width < 110:  # the view's own title must keep its room at 80 columns
            return f"{clip(self.race.name, 14)} ({pos}/{len(self.races)}) · "
        return f"{clip(race_label(self.race), self.RACE_NAME_WIDTH)} · race {pos}/{len(self.races)} · "

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_race":
            return len(self.races) > 1
        return super().check_action(action, parameters)

    def action_next_race(self) -> None:
        if len(self.races) < 2:
            return
        ids = [r.id for r in self.races]
        i = ids.index(self.race.id) if self.race is not None and self.race.id in ids else -1
        self.t4o.race_id = ids[(i + 1) % len(ids)]
        self.race = self.races[(i + 1) % len(ids)]
        self.race_changed()
        self.poll_now()

    def race_changed(self) -> None:
        """The admin went to another race: forget what was shown of the last one."""
