"""SportIdent extended protocol: frames, CRC, card detection and card memory, for BSM7/8 and BSF7/8
stations in readout mode. Pure: bytes in, frames and cards out; the serial port is the caller's.

Written from SportIdent's published protocol description (the PC programmer's guide) and checked
against the layouts other readers use. A frame is

    STX(0x02) CMD LEN DATA[LEN] CRC16(hi, lo) ETX(0x03)

with the CRC over CMD LEN DATA. Frames from the station carry the station code in their first two
data bytes. In readout mode the station announces a card (0xE5 SI-Card 5, 0xE6 SI-Card 6, 0xE8
SI-Card 8/9/10/11/SIAC), the host asks for its memory (0xB1 for SI5; 0xE1 block n for SI6; 0xEF
block n for SI8 and newer), acknowledges with ACK (0x06; the station beeps), and the station says
when the card is removed (0xE7).

Card times are 12-hour seconds (0xEEEE: no time). From SI-Card 6 on a day byte goes with each time
(bit 0: PM, bits 1-3: day of week, Sunday = 0; bits 6-7 of a punch's day byte are the high bits of
its control code), so times resolve to instants; SI-Card 5 keeps only the 12-hour time, resolved
later against the runner's start (punch_check's TimeBase.HALF_DAY).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import tzinfo
from enum import StrEnum

from t4o_tui.orienteering.punch_check import (
    CLOCK_AHEAD,
    CardData,
    Punch,
    TimeBase,
    latest_at_or_before,
)

STX, ETX, ACK, NAK, DLE, WAKEUP = 0x02, 0x03, 0x06, 0x15, 0x10, 0xFF

# Commands (extended protocol)
SET_MS = 0xF0  # direct ("M") or remote ("S") station; the host's hello
GET_SYS_VAL = 0x83  # read the station's system data: offset, count
BEEP = 0xF9
GET_SI5 = 0xB1
GET_SI6 = 0xE1
GET_SI8 = 0xEF  # SI-Card 8, 9, 10, 11, SIAC, pCard
SI5_DETECTED = 0xE5
SI6_DETECTED = 0xE6
SI8_DETECTED = 0xE8
CARD_REMOVED = 0xE7
MS_DIRECT = 0x4D

# System data
O_MODE = 0x71
O_PROTO = 0x74
MODE_READOUT = 0x05
PROTO_EXTENDED = 0x01
PROTO_AUTOSEND = 0x02
PROTO_HANDSHAKE = 0x04

NO_TIME = 0xEEEE
HALF_DAY = 12 * 3600
BLOCK = 128


def crc16(data: bytes) -> int:
    """SportIdent's CRC: polynomial 0x8005 over 16-bit words, the first word as the start value; the
    rest is padded with one zero byte when it is odd, else with a zero word (as the programmer's
    guide's example does: 02 F0 01 4D gives 6D 0A)."""
    if len(data) < 2:
        return data[0] if data else 0
    crc = (data[0] << 8) | data[1]
    if len(data) == 2:
        return crc
    tail = data[2:]
    rest = tail + (b"\x00" if len(tail) % 2 else b"\x00\x00")
    for i in range(0, len(rest), 2):
        word = (rest[i] << 8) | rest[i + 1]
        for _ in range(16):
            carry = crc & 0x8000
            crc = ((crc << 1) & 0xFFFF) | (1 if word & 0x8000 else 0)
            if carry:
                crc ^= 0x8005
            word = (word << 1) & 0xFFFF
    return crc


def encode_frame(cmd: int, data: bytes = b"") -> bytes:
    if len(data) > 255:
        raise ValueError("a frame holds at most 255 data bytes")
    body = bytes((cmd, len(data))) + data
    crc = crc16(body)
    return bytes((STX,)) + body + bytes((crc >> 8, crc & 0xFF, ETX))


@dataclass(frozen=True)
class Frame:
    cmd: int
    data: bytes  # as sent: from the station, the first two bytes are the station code

    @property
    def station(self) -> int:
        return int.from_bytes(self.data[:2], "big") if len(self.data) >= 2 else 0

    @property
    def payload(self) -> bytes:
        return self.data[2:]


@dataclass
class FrameDecoder:
    """Frames out of a byte stream: wake-up bytes and noise between frames are skipped, a frame with a
    wrong CRC or no ETX is dropped (counted, with why) and the search goes on at the next STX."""

    buffer: bytearray = field(default_factory=bytearray)
    errors: list[str] = field(default_factory=list)
    naks: int = 0

    def feed(self, data: bytes) -> list[Frame]:
        self.buffer.extend(data)
        out: list[Frame] = []
        while self.buffer:
            if self.buffer[0] != STX:
                if self.buffer[0] == NAK:
                    self.naks += 1
                del self.buffer[0]
                continue
            if len(self.buffer) < 3:
                break
            cmd, length = self.buffer[1], self.buffer[2]
            if cmd < 0x80:
                # Basic protocol (or a stray STX): extended frames only. Skip this STX.
                self.errors.append(f"frame 0x{cmd:02X} is not an extended-protocol frame "
                                   "(set the station to extended protocol)")
                del self.buffer[0]
                continue
            end = 3 + length + 3
            if len(self.buffer) < end:
                break
            frame = bytes(self.buffer[:end])
            crc = (frame[-3] << 8) | frame[-2]
            if frame[-1] != ETX:
                self.errors.append(f"frame 0x{cmd:02X}: no ETX")
                del self.buffer[0]
                continue
            if crc16(frame[1:-3]) != crc:
                self.errors.append(f"frame 0x{cmd:02X}: CRC error")
                del self.buffer[0]
                continue
            out.append(Frame(cmd, frame[3:-3]))
            del self.buffer[:end]
        return out


class CardType(StrEnum):
    SI5 = "SI5"
    SI6 = "SI6"
    SI8 = "SI8"
    SI9 = "SI9"
    SI10 = "SI10"
    SI11 = "SI11"
    SIAC = "SIAC"
    PCARD = "pCard"


# Card series by number (SI-Card 6 and newer carry a 24-bit number).
_RANGES = (
    (1_000_000, 1_999_999, CardType.SI9),
    (2_000_000, 2_999_999, CardType.SI8),
    (4_000_000, 4_999_999, CardType.PCARD),
    (7_000_000, 7_999_999, CardType.SI10),
    (8_000_000, 8_999_999, CardType.SIAC),
    (9_000_000, 9_999_999, CardType.SI11),
)
SI10_FAMILY = (CardType.SI10, CardType.SI11, CardType.SIAC)


class CardError(ValueError):
    """Card data that cannot be read: unknown card series, too little memory, a wrong block."""


def si5_number(series: int, number: int) -> int:
    """SI-Card 5 numbers: series 1 (and 0) are printed without it; 2-4 as series × 100000 + number."""
    return number if series < 2 else series * 100_000 + number


def detected_card(frame: Frame) -> tuple[int, CardType]:
    """The card number and type a detection frame (0xE5, 0xE6, 0xE8) announces."""
    p = frame.payload
    if len(p) < 4:
        raise CardError(f"card detection 0x{frame.cmd:02X} with {len(p)} bytes")
    if frame.cmd == SI5_DETECTED:
        return si5_number(p[1], int.from_bytes(p[2:4], "big")), CardType.SI5
    if frame.cmd == SI6_DETECTED:
        return int.from_bytes(p[1:4], "big"), CardType.SI6
    if frame.cmd == SI8_DETECTED:
        number = int.from_bytes(p[1:4], "big")  # the first byte is the series, not part of the number
        for lo, hi, kind in _RANGES:
            if lo <= number <= hi:
                return number, kind
        if 500_000 <= number <= 999_999 or number >= 16_711_680:
            return number, CardType.SI6  # an SI-Card 6 announced as a newer card (station option)
        raise CardError(f"card {number}: unknown card series")
    raise CardError(f"0x{frame.cmd:02X} is not a card detection")


@dataclass(frozen=True)
class Request:
    cmd: int
    block: int | None  # None: the whole card (SI5)

    def frame(self) -> bytes:
        return encode_frame(self.cmd, b"" if self.block is None else bytes((self.block,)))


class CardRead:
    """Which blocks to ask for, in order, and the memory they make; the blocks to read after the
    first depend on the punch count the first one holds (SI6 with more than 64 punches, SI10 and
    newer: only the blocks that hold punches)."""

    def __init__(self, number: int, card_type: CardType) -> None:
        self.number, self.card_type = number, card_type
        self.blocks: dict[int, bytes] = {}
        self._plan: list[Request] = [self._first()]

    def _first(self) -> Request:
        if self.card_type is CardType.SI5:
            return Request(GET_SI5, None)
        if self.card_type is CardType.SI6:
            return Request(GET_SI6, 0)
        return Request(GET_SI8, 0)

    @property
    def pending(self) -> Request | None:
        return self._plan[0] if self._plan else None

    def accept(self, frame: Frame) -> bool:
        """Take the answer to the pending request; False when the frame is not that answer."""
        req = self.pending
        if req is None or frame.cmd != req.cmd:
            return False
        p = frame.payload
        if req.block is None:
            if len(p) < BLOCK:
                raise CardError(f"card {self.number}: {len(p)} bytes of SI-Card 5 memory, expected {BLOCK}")
            self.blocks[0] = p[:BLOCK]
        else:
            if len(p) < BLOCK + 1 or p[0] != req.block:
                return False
            self.blocks[req.block] = p[1:BLOCK + 1]
        self._plan.pop(0)
        if req.block == 0 and req.cmd != GET_SI5:
            self._plan.extend(self._after_block0())
        return True

    def _after_block0(self) -> list[Request]:
        b0 = self.blocks[0]
        if self.card_type is CardType.SI6:
            count = b0[18]
            extra = [] if count <= 64 else [2, 3, 4, 5][:(count - 64 + 31) // 32]
            return [Request(GET_SI6, b) for b in [6, 7, *extra]]
        if self.card_type in SI10_FAMILY:
            count = min(b0[22], 128)
            return [Request(GET_SI8, 4 + i) for i in range((count + 31) // 32)]
        return [Request(GET_SI8, 1)]

    @property
    def done(self) -> bool:
        return not self._plan

    def card(self) -> SiCard:
        if not self.done:
            raise CardError(f"card {self.number}: not all of its memory was read")
        return parse_card(self.card_type, self.blocks)


@dataclass(frozen=True)
class RawTime:
    """A time as the card keeps it: seconds in the half day; PM and day of week from SI-Card 6 on."""

    seconds: int
    pm: bool | None = None
    weekday: int | None = None  # 0 = Sunday … 6 = Saturday; 7: not known

    def text(self) -> str:
        s = self.seconds + (HALF_DAY if self.pm else 0)
        return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}" + ("" if self.pm is not None else " (12 h)")


@dataclass(frozen=True)
class SiPunch:
    code: int
    time: RawTime | None


@dataclass(frozen=True)
class SiCard:
    number: int
    card_type: CardType
    punches: tuple[SiPunch, ...]
    start: RawTime | None = None
    finish: RawTime | None = None
    check: RawTime | None = None
    clear: RawTime | None = None
    punch_count: int = 0  # as the card says; more than it holds means punches were lost

    @property
    def twelve_hour(self) -> bool:
        return self.card_type is CardType.SI5


def _time(hi: int, lo: int, day: int | None = None) -> RawTime | None:
    value = (hi << 8) | lo
    if value == NO_TIME:
        return None
    if day is None:
        return RawTime(value)
    return RawTime(value, bool(day & 0x01), (day >> 1) & 0x07)


def parse_card(card_type: CardType, blocks: dict[int, bytes]) -> SiCard:
    """A card out of its memory blocks (SI5: block 0 is the whole 128 bytes)."""
    try:
        if card_type is CardType.SI5:
            return _si5(blocks[0])
        if card_type is CardType.SI6:
            return _si6(blocks)
        return _si8(card_type, blocks)
    except (KeyError, IndexError):
        raise CardError(f"{card_type.value}: card memory incomplete") from None


def _si5(m: bytes) -> SiCard:
    number = si5_number(m[6], (m[4] << 8) | m[5])
    count = max(m[23] - 1, 0)  # the card keeps the index of the next punch
    punches: list[SiPunch] = []
    for k in range(min(count, 30)):
        pos = 0x10 + 16 * (k // 5 + 1) + 1 + 3 * (k % 5)  # five 3-byte punches after each line's first byte
        punches.append(SiPunch(m[pos], _time(m[pos + 1], m[pos + 2])))
    for k in range(30, min(count, 36)):
        # Punches 31-36 keep their code (the first byte of each line) but no time.
        punches.append(SiPunch(m[0x20 + 16 * (k - 30)], None))
    return SiCard(number, CardType.SI5, tuple(punches), start=_time(m[19], m[20]), finish=_time(m[21], m[22]),
                  check=_time(m[25], m[26]), clear=None, punch_count=count)


def _punches(m: bytes, first: int, count: int) -> tuple[SiPunch, ...]:
    out = []
    for k in range(count):
        day, cn, hi, lo = m[first + 4 * k:first + 4 * k + 4]
        out.append(SiPunch(cn | ((day >> 6) & 0x03) << 8, _time(hi, lo, day)))
    return tuple(out)


def _si6(blocks: dict[int, bytes]) -> SiCard:
    b0 = blocks[0]
    count = b0[18]
    memory = b0 + blocks[6] + blocks[7] + b"".join(blocks[b] for b in (2, 3, 4, 5) if b in blocks)
    held = min(count, (len(memory) - BLOCK) // 4, 192)
    return SiCard(int.from_bytes(b0[11:14], "big"), CardType.SI6, _punches(memory, BLOCK, held),
                  start=_time(b0[26], b0[27], b0[24]), finish=_time(b0[22], b0[23], b0[20]),
                  check=_time(b0[30], b0[31], b0[28]), clear=_time(b0[34], b0[35], b0[32]), punch_count=count)


def _si8(card_type: CardType, blocks: dict[int, bytes]) -> SiCard:
    b0 = blocks[0]
    count = b0[22]
    if card_type in SI10_FAMILY:
        memory = b"".join(blocks[4 + i] for i in range((min(count, 128) + 31) // 32))
        first, capacity = 0, 128
    else:
        memory = b0 + blocks[1]
        first, capacity = (136, 30) if card_type is CardType.SI8 else (56, 50)
        if card_type is CardType.PCARD:
            first, capacity = 176, 20
    held = min(count, capacity, (len(memory) - first) // 4)
    return SiCard(int.from_bytes(b0[25:28], "big"), card_type, _punches(memory, first, held),
                  start=_time(b0[14], b0[15], b0[12]), finish=_time(b0[18], b0[19], b0[16]),
                  check=_time(b0[10], b0[11], b0[8]), clear=None, punch_count=count)


# --- times to instants ----------------------------------------------------------------------------


def resolve(t: RawTime, read_at: float, tz: tzinfo, *, ahead: float = CLOCK_AHEAD) -> float:
    """The instant of a 24-hour card time (SI-Card 6 and newer): the latest matching day and time
    that is not more than `ahead` seconds after the readout (station clocks run a little ahead),
    on the card's day of week when it has one."""
    if t.pm is None:
        raise ValueError("a 12-hour time (SI-Card 5) has no instant of its own")
    weekday = t.weekday if t.weekday is not None and t.weekday < 7 else None
    return latest_at_or_before(t.seconds + (HALF_DAY if t.pm else 0), read_at + ahead, tz, weekday)


def card_data(card: SiCard, read_at: float, tz: tzinfo) -> CardData:
    """The card as punch-check input: instants for SI-Card 6 and newer, 12-hour seconds for SI5."""
    def conv(code: str, t: RawTime | None) -> Punch | None:
        if t is None:
            return None
        return Punch(code, float(t.seconds) if card.twelve_hour else resolve(t, read_at, tz))

    punches = tuple(Punch(str(p.code), None if p.time is None else conv(str(p.code), p.time).time)  # type: ignore[union-attr]
                    for p in card.punches)
    return CardData(punches=punches, start=conv("S", card.start), finish=conv("F", card.finish),
                    check=conv("C", card.check), clear=conv("CL", card.clear),
                    time_base=TimeBase.HALF_DAY if card.twelve_hour else TimeBase.EPOCH)


def card_key(card: SiCard) -> str:
    """Identifies one readout of a card by what the card holds, not by when it was read: the same
    card put in the station twice is one readout."""
    def fmt(t: RawTime | None) -> str:
        return "-" if t is None else f"{t.seconds}/{t.pm}/{t.weekday}"

    parts = [card.card_type.value, str(card.number), fmt(card.clear), fmt(card.check), fmt(card.start), fmt(card.finish)]
    parts += [f"{p.code}@{fmt(p.time)}" for p in card.punches]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
