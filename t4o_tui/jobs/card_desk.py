"""Processing at once after the readout desk gives an unknown card to a runner (engine.card_desk):
Process Station Data's own run, as the station readout job runs it after each readout, so the
runner's result is the one a scheduled run would give. Called by the TUI (tui.services) in a thread."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import peewee

from t4o_tui.engine import card_desk
from t4o_tui.engine.card_desk import Given
from t4o_tui.engine.job import JobError, RunContext
from t4o_tui.jobs.process_station_data import ProcessStationDataJob

log = logging.getLogger("t4o_tui.card_desk")


class DeskContext(RunContext):
    """A run context without a queued run: the lines are kept for the admin (warnings and errors)."""

    def __init__(self, db: peewee.Database, race: int, data_dir: Path) -> None:
        self.run_id, self.task_name, self.row = 0, "readout desk", None
        self.db, self.data_dir = db, data_dir
        self.settings: dict[str, Any] = {"race": race}
        self.lines: list[tuple[str, str]] = []

    def log(self, level: str, message: str) -> None:
        self.lines.append((level, message))

    def progress(self, fraction: float | None, message: str | None = None) -> None:
        pass

    @property
    def cancelled(self) -> bool:
        return False

    def sleep(self, seconds: float) -> None:
        pass

    def transaction(self) -> Any:
        return self.db.atomic()

    @contextlib.contextmanager
    def output(self, name: str, media_type: str) -> Iterator[IO[bytes]]:
        raise JobError("the readout desk's processing writes no files")
        yield  # pragma: no cover

    def register_output(self, path: Path, media_type: str) -> None:
        raise JobError("the readout desk's processing writes no files")


def process_race(db: peewee.Database, race_id: int, data_dir: Path | None = None) -> list[str]:
    """Process the race's new station data now; the warnings of the run (empty when all went well).
    A failure is one of them: the card is given already (committed), and any later run of Process
    Station Data takes the readouts up, as after a readout whose processing failed (si-readout)."""
    row = db.connection().execute("SELECT race_number FROM race WHERE id=?", (race_id,)).fetchone()
    # The 'race' setting names a race by its number; a race without one by its id (jobs.event_data).
    ctx = DeskContext(db, row[0] if row and row[0] is not None else race_id, data_dir or Path("."))
    try:
        ProcessStationDataJob().run(ctx)
    except Exception as exc:
        log.warning("processing after a card given at the readout desk failed", exc_info=True)
        return [f"processing failed: {str(exc).splitlines()[0][:200]} (run Process Station Data once this is mended)"]
    return [m for level, m in ctx.lines if level not in ("info", "debug")]


def assign_and_process(db: peewee.Database, card: str, entry_id: int, *, move: bool, who: str,
                       now: float) -> tuple[Given, list[str]]:
    given = card_desk.assign_card(db, card, entry_id, move=move, who=who, now=now)
    return given, process_race(db, given.race_id)


def create_and_process(db: peewee.Database, card: str, *, given: str, family: str, class_id: int | None,
                       club: str, who: str, now: float) -> tuple[Given, list[str]]:
    made = card_desk.create_entry(db, card, given=given, family=family, class_id=class_id, club=club, who=who, now=now)
    return made, process_race(db, made.race_id)
