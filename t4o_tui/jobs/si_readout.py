"""SI Station Readout: cards read straight from a SportIdent BSM/BSF station on a serial port.

A long-running run on the Direct lane: it opens the port, greets the station (extended protocol,
readout mode), and for each card inserted reads its memory, acknowledges it (the station beeps),
stores it as station data (deduplicated by what the card holds, so a card read twice is one
readout), processes station data with Process Station Data's own code (one code path for results),
and writes a split ticket. A station unplugged is waited for with a growing pause and taken up again
when it is back; the run goes on until it is cancelled. The connection state is kept per task
(TaskState 'station') for the Readout view.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import serial

from t4o_tui.engine.job import Job, JobError, RunCancelled, RunContext
from t4o_tui.engine.readouts import SOURCE_PREFIX, STATE_KEY, ticket_for
from t4o_tui.engine.settings import Schema, Setting
from t4o_tui.jobs.event_data import RACE, event_zone, resolve_race
from t4o_tui.jobs.process_station_data import ProcessStationDataJob
from t4o_tui.jobs.timing_data import insert_station_data, station_id
from t4o_tui.orienteering import si_protocol as si
from t4o_tui.orienteering import split_ticket
from t4o_tui.orienteering.punch_check import DataStatus
from t4o_tui.store.models import Race

ANSWER_TIMEOUT = 3.0  # seconds the station may take to send a requested block
POLL = 0.2  # read timeout: cancel is seen within this (and well within a second)
GREETING_TIMEOUT = 1.5


class StationUnavailable(Exception):
    """The port cannot be opened, the station does not answer, or it went away."""


class StationLink:
    """The serial line to one station (pyserial), speaking frames."""

    def __init__(self, port: str, baud: int, check: Callable[[], None] = lambda: None) -> None:
        self.port, self.baud = port, baud
        self.check = check  # the run's cancel check: greeting a silent port takes seconds
        self.decoder = si.FrameDecoder()
        self.station: int | None = None
        self._serial: serial.Serial | None = None

    def open(self) -> None:
        try:
            self._serial = serial.Serial(self.port, self.baud, timeout=POLL, write_timeout=2.0)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise StationUnavailable(f"cannot open {self.port}: {_why(exc)}") from None
        # The greeting: wake the station, ask for direct mode; old stations talk 4800 baud.
        for baud in dict.fromkeys((self.baud, 38400, 4800)):
            self._serial.baudrate = baud
            self._serial.reset_input_buffer()
            self.send(bytes((si.WAKEUP,)) + si.encode_frame(si.SET_MS, bytes((si.MS_DIRECT,))))
            answer = self.wait_for(si.SET_MS, GREETING_TIMEOUT)
            if answer is not None:
                self.baud, self.station = baud, answer.station
                break
        else:
            raise StationUnavailable(f"no SportIdent station answers on {self.port} (38400 or 4800 baud)")
        mode = self._sys_value(si.O_MODE)
        proto = self._sys_value(si.O_PROTO)
        if mode is not None and mode != si.MODE_READOUT:
            raise StationUnavailable(f"the station on {self.port} is in mode 0x{mode:02X}, not readout: set it to "
                                     "'Readout' with SI Config+")
        if proto is not None and not proto & si.PROTO_EXTENDED:
            raise StationUnavailable(f"the station on {self.port} uses the basic protocol: set it to the extended "
                                     "protocol with SI Config+")

    def _sys_value(self, offset: int) -> int | None:
        self.send(si.encode_frame(si.GET_SYS_VAL, bytes((offset, 1))))
        answer = self.wait_for(si.GET_SYS_VAL, GREETING_TIMEOUT)
        if answer is None or len(answer.payload) < 2:
            return None
        return answer.payload[1]

    def send(self, data: bytes) -> None:
        assert self._serial is not None
        try:
            self._serial.write(data)
            self._serial.flush()
        except (serial.SerialException, OSError) as exc:
            raise StationUnavailable(f"{self.port}: {_why(exc)}") from None

    def read(self) -> list[si.Frame]:
        """The frames that came within one poll interval."""
        assert self._serial is not None
        try:
            data = self._serial.read(max(1, self._serial.in_waiting))
        except (serial.SerialException, OSError, TypeError) as exc:
            raise StationUnavailable(f"{self.port}: {_why(exc)}") from None
        return self.decoder.feed(data) if data else []

    def wait_for(self, cmd: int, timeout: float) -> si.Frame | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.check()
            for frame in self.read():
                if frame.cmd == cmd:
                    return frame
        return None

    def close(self) -> None:
        if self._serial is not None:
            with suppress(Exception):
                self._serial.close()
            self._serial = None


def _why(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "returned no data" in text:
        return "the station went away (unplugged?)"
    return text.splitlines()[0][:160]


@dataclass
class _Reading:
    read: si.CardRead
    detected_at: float
    deadline: float


class SIReadoutJob(Job):
    id = "si-readout"
    title = "SI Station Readout"
    category = "Station data"
    description = (
        "Reads SportIdent cards (SI-Card 5, 6, 8, 9, 10, 11, SIAC) from a BSM/BSF station in readout mode on a "
        "serial port, as long as the run goes (a Direct task: task add … --direct). Each card is stored as "
        "station data from the readout station (a card read twice is stored once), results are processed at "
        "once, cards on no entry are listed as unknown cards, and a split ticket is written (HTML in the task's "
        "files folder, under tickets/; ESC/POS to a receipt printer when set). An unplugged station is waited for and taken up again."
    )
    settings = Schema((
        Setting("port", "text", "Serial port", "The station's port, e.g. /dev/ttyUSB0 or /dev/serial/by-id/…",
                required=True),
        Setting("baud", "choice", "Speed", "38400 for BSM7/8 and BSF7/8; 4800 for old stations (both are tried).",
                default="38400", choices=(("38400", "38400 baud"), ("4800", "4800 baud"))),
        RACE,
        Setting("tickets", "boolean", "Split tickets", "Write a split ticket (HTML) at each readout.", default=True),
        Setting("printer", "text", "Receipt printer", "Device or file the ESC/POS ticket is written to "
                "(e.g. /dev/usb/lp0). Empty: no printing."),
        Setting("width", "integer", "Ticket width", "Characters per line on the receipt paper.", default=42,
                min=32, max=48),
        Setting("max_wait", "duration", "Longest reconnect wait", "When the station is away, try again after "
                "0.5 s, then twice as long each time up to this.", default=5.0, min=0.5, max=60),
    ))
    sub_minute = False
    idempotent = True  # a lost worker's run is started again: readouts are deduplicated
    timeout = 6 * 86400.0

    def run(self, ctx: RunContext) -> None:
        conn = ctx.db.connection()
        task_id, lane = conn.execute("SELECT task_id, lane FROM run WHERE id=?", (ctx.run_id,)).fetchone()
        if lane != "direct":
            raise JobError("SI Station Readout runs until cancelled: make it a Direct task "
                           f"(t4o-tui task set '{ctx.task_name}' --direct) so it does not hold the queue")
        race = resolve_race(ctx)
        session = _Session(ctx, task_id, race)
        try:
            session.serve()
        finally:
            session.set_state("stopped", "the run ended")


class _Session:
    def __init__(self, ctx: RunContext, task_id: int, race: Race) -> None:
        self.ctx, self.task_id, self.race = ctx, task_id, race
        self.zone = event_zone(race)
        self.port = str(ctx.settings["port"])
        self.baud = int(ctx.settings.get("baud", "38400"))
        self.readouts = 0
        self.state: dict[str, Any] = {}
        self.event_name = race.event.name + (f" – {race.name}" if race.name and race.name != race.event.name else "")

    def set_state(self, state: str, message: str, station: int | None = None) -> None:
        if self.state.get("state") == state and self.state.get("message") == message and station is None:
            return
        self.state = {"state": state, "port": self.port, "station": station if station is not None else
                      self.state.get("station"), "message": message, "since": time.time(), "readouts": self.readouts}
        # Written whatever the run's fate (also when it is being cancelled): it is what the view shows.
        with self.ctx.db.atomic():
            self.ctx.db.execute_sql(
                "INSERT INTO task_state(task_id, key, value) VALUES (?, ?, ?) ON CONFLICT(task_id, key) "
                "DO UPDATE SET value=excluded.value", (self.task_id, STATE_KEY, json.dumps(self.state)))

    def serve(self) -> None:
        ctx = self.ctx
        wait, longest = 0.5, float(ctx.settings.get("max_wait", 5.0))
        while True:
            ctx.check()
            link = StationLink(self.port, self.baud, ctx.check)
            try:
                link.open()
            except RunCancelled:
                link.close()
                raise
            except StationUnavailable as exc:
                link.close()
                if self.state.get("message") != str(exc):
                    ctx.warning(f"{exc}; trying again (every {longest:g} s at most)")
                self.set_state("waiting", str(exc))
                ctx.sleep(wait)
                wait = min(wait * 2, longest)
                continue
            wait = 0.5
            ctx.info(f"station {link.station} on {self.port} at {link.baud} baud: ready for cards")
            self.set_state("connected", f"station {link.station} at {link.baud} baud", station=link.station)
            try:
                self._read_cards(link)
            except StationUnavailable as exc:
                ctx.warning(f"{exc}; waiting for the station to come back")
                self.set_state("disconnected", str(exc))
            finally:
                link.close()

    def _read_cards(self, link: StationLink) -> None:
        ctx = self.ctx
        reading: _Reading | None = None
        errors_seen = 0
        while True:
            ctx.check()
            frames = link.read()
            if len(link.decoder.errors) > errors_seen:
                for e in link.decoder.errors[errors_seen:]:
                    ctx.warning(f"station {link.station}: {e}")
                errors_seen = len(link.decoder.errors)
            for frame in frames:
                if frame.cmd in (si.SI5_DETECTED, si.SI6_DETECTED, si.SI8_DETECTED):
                    try:
                        number, kind = si.detected_card(frame)
                    except si.CardError as exc:
                        ctx.warning(f"station {link.station}: {exc}")
                        continue
                    if reading is not None:
                        ctx.warning(f"card {number} inserted before card {reading.read.number} was read: card "
                                    f"{reading.read.number} is not stored, insert it again")
                    reading = _Reading(si.CardRead(number, kind), time.time(), time.monotonic() + ANSWER_TIMEOUT)
                    link.send(reading.read.pending.frame())  # type: ignore[union-attr]
                elif frame.cmd == si.CARD_REMOVED:
                    if reading is not None:
                        ctx.warning(f"card {reading.read.number} was removed before it was read: nothing stored, "
                                    "insert it again")
                        reading = None
                elif reading is not None:
                    try:
                        if not reading.read.accept(frame):
                            continue
                    except si.CardError as exc:
                        ctx.warning(f"{exc}: nothing stored, insert the card again")
                        reading = None
                        continue
                    if reading.read.done:
                        link.send(bytes((si.ACK,)))
                        done, reading = reading, None
                        self._readout(done.read, done.detected_at, link.station)
                    else:
                        reading.deadline = time.monotonic() + ANSWER_TIMEOUT
                        link.send(reading.read.pending.frame())  # type: ignore[union-attr]
            if reading is not None and time.monotonic() > reading.deadline:
                ctx.warning(f"card {reading.read.number}: the station sent no data for {ANSWER_TIMEOUT:g} s: nothing "
                            "stored, insert the card again")
                reading = None

    def _readout(self, read: si.CardRead, detected_at: float, station: int | None) -> None:
        ctx = self.ctx
        try:
            card = read.card()
        except si.CardError as exc:
            ctx.warning(f"{exc}: nothing stored, insert the card again")
            return
        data = si.card_data(card, detected_at, self.zone)
        key = "si:" + si.card_key(card)
        with ctx.transaction():
            conn = ctx.db.connection()
            readout = station_id(conn, "readout")
            sid = insert_station_data(
                conn, race_id=self.race.id, station=readout, card=str(card.number), bib=None, read_at=detected_at,
                card_data=data, source=f"{SOURCE_PREFIX} {station} on {self.port} ({card.card_type.value})",
                dedupe_key=key, now=time.time())
            if sid is not None:
                conn.execute("UPDATE station_data SET card_type=? WHERE id=?", (card.card_type.value, sid))
        if sid is None:
            ctx.info(f"card {card.number} read again: the same readout is already stored, no new ticket")
            return
        self.readouts += 1
        if card.punch_count > len(card.punches):
            ctx.warning(f"card {card.number} says {card.punch_count} punches, it holds {len(card.punches)}")
        # Results: Process Station Data's own run, so a readout here and a readout file give the same result.
        try:
            ProcessStationDataJob().run(_Quiet(ctx))
        except RunCancelled:
            raise
        except Exception as exc:  # the readout is stored; a run of Process Station Data takes it up later
            ctx.warning(f"card {card.number} stored, but processing failed: {str(exc).splitlines()[0][:200]} "
                        "(run Process Station Data once this is mended)")
            ctx.log("debug", "traceback:\n" + traceback.format_exc().rstrip())
            return
        conn = ctx.db.connection()
        entry_id, data_status, status, t = conn.execute(
            "SELECT sd.entry_id, sd.data_status, r.status, r.time FROM station_data sd LEFT JOIN result r "
            "ON r.entry_id = sd.entry_id WHERE sd.id=?", (sid,)).fetchone()
        if entry_id is None:
            level = "warning"
            what = f"{data_status or 'not processed'}" + (": listed under unknown cards"
                                                        if data_status == DataStatus.CARD_NOT_FOUND.value else "")
        else:
            level = "info"
            what = f"{status} {split_ticket.clock(t)}"
        ctx.log(level, f"card {card.number} ({card.card_type.value}, {len(card.punches)} punches): {what}")
        self.state["readouts"] = self.readouts
        self.set_state("connected", self.state.get("message", ""), station=station)
        self._ticket(conn, sid, card.number)

    def _ticket(self, conn: Any, sid: int, number: int) -> None:
        ctx = self.ctx
        printer = ctx.settings.get("printer")
        if not ctx.settings.get("tickets", True) and not printer:
            return
        ticket = ticket_for(conn, sid, self.event_name)
        if ticket is None:
            return
        if ctx.settings.get("tickets", True):
            # Beside the run's files, in a folder of their own: the run ends by being cancelled,
            # and a cancelled run's managed outputs are removed; tickets must outlive it.
            folder = tickets_dir(ctx.data_dir, self.task_id)
            try:
                _write_atomic(folder / f"run-{ctx.run_id}-ticket-{number}-{sid}.html", split_ticket.html(ticket, self.zone).encode())
            except OSError as exc:
                ctx.warning(f"{folder}: {exc.strerror or exc}: ticket for card {number} not written")
        if printer:
            try:
                # Appending: a device takes it as a print job; a file collects the tickets in order.
                with open(Path(printer), "ab") as dev:
                    dev.write(split_ticket.escpos(ticket, self.zone, int(ctx.settings.get("width", 42))))
            except OSError as exc:
                ctx.warning(f"printer {printer}: {exc.strerror or exc}: ticket for card {number} not printed")


def tickets_dir(data_dir: Path, task_id: int) -> Path:
    """Where a readout task's split tickets (HTML) go: 'tickets' in its files folder (the executor's
    files_dir layout; not imported from there, which imports the job registry)."""
    return data_dir / "files" / f"task-{task_id}" / "tickets"


def _write_atomic(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
    os.replace(tmp, target)


class _Quiet(RunContext):
    """The readout run's context for processing one readout: its progress and routine lines stay out of
    the readout log (the readout line says the outcome); warnings still show."""

    def __init__(self, inner: RunContext) -> None:
        self._inner = inner
        self.run_id, self.task_name, self.row = inner.run_id, inner.task_name, inner.row
        self.db, self.data_dir = inner.db, inner.data_dir
        self.settings = {"race": inner.settings.get("race")} if inner.settings.get("race") is not None else {}

    def log(self, level: str, message: str) -> None:
        if level not in ("info", "debug"):
            self._inner.log(level, message)

    def progress(self, fraction: float | None, message: str | None = None) -> None:
        pass

    @property
    def cancelled(self) -> bool:
        return self._inner.cancelled

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)

    def transaction(self) -> Any:
        return self._inner.transaction()

    def output(self, name: str, media_type: str) -> Any:
        return self._inner.output(name, media_type)

    def register_output(self, path: Path, media_type: str) -> None:
        self._inner.register_output(path, media_type)

