"""A SportIdent BSM station in readout mode, simulated on a pseudo-terminal for tests and the bench.

It speaks the extended protocol from its own encoder (written here from the protocol description,
not with the program's module): it answers the host's greeting and system-data questions, announces
an inserted card, serves the card's memory block by block, and says when the card is removed
(after the host's ACK, or early when asked to). The port the program opens is a symlink, like
/dev/serial/by-id/…: unplugging closes the pseudo-terminal and removes the link, plugging in again
makes a new one behind the same link.
"""

from __future__ import annotations

import os
import select
import threading
import time
import tty
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

STX, ETX, ACK = 0x02, 0x03, 0x06


def crc(data: bytes) -> int:
    """SportIdent's CRC by another road than the program's: the bytewise CRC-16 (polynomial 0x8005,
    no reflection, start 0) of an even-length message; an odd one is that of all but its last byte,
    with the last byte added in the high half (the word-wise description pads it with one zero byte
    and no zero word); two bytes are their own CRC."""
    if len(data) == 2:
        return (data[0] << 8) | data[1]
    body, last = (data[:-1], data[-1]) if len(data) % 2 else (data, None)
    value = 0
    for byte in body:
        value ^= byte << 8
        for _ in range(8):
            value = ((value << 1) ^ 0x8005) & 0xFFFF if value & 0x8000 else (value << 1) & 0xFFFF
    return value ^ (last << 8) if last is not None else value


def frame(cmd: int, data: bytes) -> bytes:
    body = bytes((cmd, len(data))) + data
    c = crc(body)
    return bytes((STX,)) + body + bytes((c >> 8, c & 0xFF, ETX))


def _half_day(t: datetime) -> tuple[int, int]:
    """(seconds in the half day, PM bit)."""
    s = t.hour * 3600 + t.minute * 60 + t.second
    return s % 43200, 1 if s >= 43200 else 0


def _day_byte(t: datetime, code_high: int = 0) -> int:
    _, pm = _half_day(t)
    return pm | ((t.isoweekday() % 7) << 1) | (code_high << 6)


@dataclass
class SimCard:
    number: int
    kind: str  # SI5, SI6, SI8, SI9, SI10, SI11, SIAC
    punches: list[tuple[int, datetime]] = field(default_factory=list)
    start: datetime | None = None
    finish: datetime | None = None
    check: datetime | None = None
    clear: datetime | None = None

    def detection(self) -> tuple[int, bytes]:
        n = self.number
        if self.kind == "SI5":
            series, low = (n // 100000, n % 100000) if n >= 100000 else (1, n)
            return 0xE5, bytes((0, series)) + low.to_bytes(2, "big")
        if self.kind == "SI6":
            return 0xE6, b"\x00" + n.to_bytes(3, "big")
        series = {"SI9": 1, "SI8": 2}.get(self.kind, 0x0F)
        return 0xE8, bytes((series,)) + n.to_bytes(3, "big")

    def memory(self) -> bytes:
        """The card's memory, as many 128-byte blocks as the card type has."""
        if self.kind == "SI5":
            return self._si5()
        if self.kind == "SI6":
            return self._si6()
        return self._si8()

    def _si5(self) -> bytes:
        m = bytearray(b"\x00" * 128)
        n = self.number
        series, low = (n // 100000, n % 100000) if n >= 100000 else (1, n)
        m[4:6] = low.to_bytes(2, "big")
        m[6] = series

        def put(pos: int, t: datetime | None) -> None:
            m[pos:pos + 2] = b"\xee\xee" if t is None else _half_day(t)[0].to_bytes(2, "big")

        put(19, self.start)
        put(21, self.finish)
        put(25, self.check)
        m[23] = len(self.punches) + 1
        for k, (code, t) in enumerate(self.punches[:36]):
            if k < 30:
                line, slot = divmod(k, 5)
                pos = 0x20 + 16 * line + 1 + 3 * slot
                m[pos] = code
                m[pos + 1:pos + 3] = _half_day(t)[0].to_bytes(2, "big")
            else:
                m[0x20 + 16 * (k - 30)] = code  # 31-36: code only
        return bytes(m)

    @staticmethod
    def _record(code: int, t: datetime) -> bytes:
        return bytes((_day_byte(t, code >> 8), code & 0xFF)) + _half_day(t)[0].to_bytes(2, "big")

    @staticmethod
    def _timed(m: bytearray, pos: int, t: datetime | None) -> None:
        """Day byte at pos, then (after one byte) the time."""
        if t is None:
            m[pos + 2:pos + 4] = b"\xee\xee"
        else:
            m[pos] = _day_byte(t)
            m[pos + 2:pos + 4] = _half_day(t)[0].to_bytes(2, "big")

    def _si6(self) -> bytes:
        m = bytearray(b"\xee" * 128 * 8)
        m[10] = 0
        m[11:14] = self.number.to_bytes(3, "big")
        m[18] = len(self.punches)
        self._timed(m, 20, self.finish)
        self._timed(m, 24, self.start)
        self._timed(m, 28, self.check)
        self._timed(m, 32, self.clear)
        # Punches 1-64 in blocks 6 and 7, 65-192 in blocks 2-5.
        slots = [6 * 128 + 4 * k for k in range(64)] + [2 * 128 + 4 * k for k in range(128)]
        for (code, t), pos in zip(self.punches, slots, strict=False):
            m[pos:pos + 4] = self._record(code, t)
        return bytes(m)

    def _si8(self) -> bytes:
        blocks = 8 if self.kind in ("SI10", "SI11", "SIAC") else 2
        m = bytearray(b"\xee" * 128 * blocks)
        self._timed(m, 8, self.check)
        self._timed(m, 12, self.start)
        self._timed(m, 16, self.finish)
        m[22] = len(self.punches)
        m[24] = {"SI9": 1, "SI8": 2}.get(self.kind, 0x0F)
        m[25:28] = self.number.to_bytes(3, "big")
        first = {"SI8": 136, "SI9": 56}.get(self.kind, 4 * 128)
        for k, (code, t) in enumerate(self.punches):
            m[first + 4 * k:first + 4 * k + 4] = self._record(code, t)
        return bytes(m)


@dataclass
class Event:
    at: float
    what: str
    card: int | None = None


class StationSimulator:
    """One station behind a stable link path; `insert` a card, the host reads it."""

    def __init__(self, link: Path, code: int = 42) -> None:
        self.link, self.code = link, code
        self.events: list[Event] = []
        self.requests: list[tuple[int, bytes]] = []
        self._lock = threading.Lock()
        self._master: int | None = None
        self._slave: int | None = None
        self._card: SimCard | None = None
        self._pull_after: int | None = None
        self._served = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.acked = threading.Condition()
        self.acks = 0
        self.plug()

    # -- the cable ---------------------------------------------------------------------------
    def plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line editing: bytes as sent
        self._master, self._slave = master, slave
        tmp = self.link.with_name(self.link.name + ".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.link)
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self.events.append(Event(time.time(), "plugged"))

    def unplug(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.link.unlink(missing_ok=True)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None
        self._card = None
        self.events.append(Event(time.time(), "unplugged"))

    def close(self) -> None:
        if self._master is not None:
            self.unplug()

    # -- cards ---------------------------------------------------------------------------------
    def insert(self, card: SimCard, *, pull_after: int | None = None) -> float:
        """Put a card in; `pull_after` blocks served, the card is pulled out (a partial read)."""
        with self._lock:
            self._card, self._pull_after, self._served = card, pull_after, 0
            cmd, data = card.detection()
            at = time.time()
            self.events.append(Event(at, "inserted", card.number))
            self._write(frame(cmd, self._station() + data))
        return at

    def wait_acks(self, n: int, timeout: float = 10) -> None:
        with self.acked:
            if not self.acked.wait_for(lambda: self.acks >= n, timeout):
                raise AssertionError(f"the host acknowledged {self.acks} cards, expected {n}")

    def _station(self) -> bytes:
        return self.code.to_bytes(2, "big")

    def _write(self, data: bytes) -> None:
        if self._master is not None:
            os.write(self._master, data)

    def _remove(self) -> None:
        card = self._card
        if card is not None:
            self._write(frame(0xE7, self._station() + b"\x00" + card.number.to_bytes(3, "big")))
            self.events.append(Event(time.time(), "removed", card.number))
        self._card = None

    # -- the host's commands ---------------------------------------------------------------------
    def _serve(self) -> None:
        buf = bytearray()
        master = self._master
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(master, 4096)  # type: ignore[arg-type]
            except OSError:
                time.sleep(0.02)  # nobody has the port open yet
                continue
            buf.extend(data)
            while buf:
                if buf[0] == ACK:
                    del buf[0]
                    with self._lock:
                        self.events.append(Event(time.time(), "ack", self._card.number if self._card else None))
                        self._remove()
                    with self.acked:
                        self.acks += 1
                        self.acked.notify_all()
                    continue
                if buf[0] != STX:
                    del buf[0]  # wake-up bytes
                    continue
                if len(buf) < 3 or len(buf) < 6 + buf[2]:
                    break
                n = buf[2]
                raw = bytes(buf[:6 + n])
                del buf[:6 + n]
                if crc(raw[1:3 + n]) != (raw[3 + n] << 8 | raw[4 + n]) or raw[5 + n] != ETX:
                    continue  # a real station ignores a garbled command
                with self._lock:
                    self._command(raw[1], raw[3:3 + n])

    def _command(self, cmd: int, params: bytes) -> None:
        self.requests.append((cmd, params))
        st = self._station()
        if cmd == 0xF0:  # hello: direct mode
            self._write(frame(0xF0, st + params[:1]))
        elif cmd == 0x83:  # system data
            offset, count = params[0], params[1]
            system = {0x71: 0x05, 0x72: self.code & 0xFF, 0x74: 0x05}  # readout mode; extended + handshake
            self._write(frame(0x83, st + bytes((offset,)) + bytes(system.get(offset + i, 0) for i in range(count))))
        elif cmd in (0xB1, 0xE1, 0xEF):
            card = self._card
            if card is None:
                return
            if self._pull_after is not None and self._served >= self._pull_after:
                self._remove()  # pulled out too early: the host gets the removal, not the block
                return
            memory = card.memory()
            if cmd == 0xB1:
                self._write(frame(0xB1, st + memory[:128]))
            else:
                block = params[0]
                self._write(frame(cmd, st + bytes((block,)) + memory[block * 128:(block + 1) * 128]))
            self._served += 1
