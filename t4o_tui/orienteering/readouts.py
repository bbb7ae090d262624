"""Lenient readers for card readout files (SI Config+ / SI Reader CSV) and radio punch CSV.

Readout times stay times of day (seconds since local midnight): the punch check places them on the
race's day (TimeBase.DAY, or TimeBase.HALF_DAY for 12-hour SI-Card 5 data). A row that cannot be read is
reported with its line number and skipped; only a header that is not a readout header is fatal.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import StrEnum

from t4o_tui.orienteering.punch_check import CardData, Punch, TimeBase, normalize_code

MAX_ERRORS = 50  # a wrong file would otherwise bury the log in one message per line
SI5_LAST_NUMBER = 499_999  # SI-Card 5 numbers; these cards keep 12-hour times without AM/PM


class ReadoutHeaderError(ValueError):
    """The first line is not a card readout header."""


class ReadoutFormat(StrEnum):
    SI_CONFIG_PLUS = "SI Config+"
    SI_READER = "SI Reader"


@dataclass(frozen=True)
class Readout:
    """One card read out: punch times are seconds of day (of half day when twelve_hour)."""

    line: int
    card: int
    read_on: datetime | None  # naive local time, None when the text was not understood
    read_on_text: str
    number: int | None
    start_no: str
    punches: tuple[Punch, ...]
    start: Punch | None
    finish: Punch | None
    check: Punch | None
    clear: Punch | None
    twelve_hour: bool
    raw: str
    uncounted: int = 0  # records in the row after the number its "No. of records" gives (not taken)

    @property
    def key(self) -> str:
        """Stable across re-exports: card, read-on time and a digest of every punch."""
        return readout_key(self)

    def card_data(self) -> CardData:
        """The readout as punch-check input."""
        return CardData(
            punches=self.punches, start=self.start, finish=self.finish, check=self.check,
            clear=self.clear, time_base=TimeBase.HALF_DAY if self.twelve_hour else TimeBase.DAY,
        )


@dataclass
class ReadoutFile:
    format: ReadoutFormat
    readouts: list[Readout] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # rows not read (each named)
    warnings: list[str] = field(default_factory=list)  # rows read, with something to check


def decode_text(data: str | bytes) -> str:
    """UTF-8 with or without BOM, else windows-1252, else ISO-8859-1 (never fails)."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


_MISSING_TIME = re.compile(r"^[-:.,\s]*$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?$")


def parse_time_of_day(text: str) -> float | None:
    """Seconds since midnight from 'HH:MM:SS', 'H:MM:SS.ss' or 'HH:MM'; None for '--:--:--' or blank.

    Raises ValueError for anything else.
    """
    s = text.strip()
    if _MISSING_TIME.match(s):
        return None
    m = _TIME.match(s)
    if not m:
        raise ValueError(s)
    h, mi, se = int(m[1]), int(m[2]), int(m[3] or 0)
    if h > 23 or mi > 59 or se > 59:
        raise ValueError(s)
    frac = float("0." + m[4]) if m[4] else 0.0
    return h * 3600 + mi * 60 + se + frac


_READ_ON_FORMATS = (
    "%d.%m.%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p", "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M",
)


def parse_read_on(text: str) -> datetime | None:
    """The read-out time as naive local time; None when no known layout fits."""
    s = " ".join(text.split())
    # SI Config+ may write milliseconds; a weekday in front appears in some localised exports.
    s = re.sub(r"[.,]\d{1,6}$", "", s)
    s = re.sub(r"^[A-Za-zÀ-ÿ]{2,3}\.?\s+(?=\d)", "", s)
    for fmt in _READ_ON_FORMATS:
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    return None


def _norm(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").strip().strip('"').replace("_", " ").split()).casefold()


_RECORD = re.compile(r"^(?:record (\d+) (cn|dow|time)|(\d+)\.(cn|dow|time))$")
_CARD_NAMES = ("siid", "si-card", "si card", "card no", "card number")
_FIXED = {  # field → name prefixes used by SI Config+ and SI Reader
    "clear": ("clear", "clr"),
    "check": ("check", "chk"),
    "start": ("start", "st"),
    "finish": ("finish", "fi"),
}

EXPECTED_HEADER = (
    "SI Config+ ('No;Read on;SIID;…;Start CN;Start DOW;Start time;…;No. of records;Record 1 CN;"
    "Record 1 DOW;Record 1 time;…') or SI Reader ('No.;read at;SI-Card;…;No. of punches;1.CN;1.DOW;"
    "1.Time;…')"
)


@dataclass
class _Columns:
    names: list[str]
    card: int
    number: int | None = None
    read_on: int | None = None
    start_no: int | None = None
    count: int | None = None
    fixed: dict[str, tuple[int | None, int | None, int | None]] = field(default_factory=dict)
    records: dict[int, tuple[int | None, int | None, int | None]] = field(default_factory=dict)


def _find(normed: Sequence[str], *names: str) -> int | None:
    for i, n in enumerate(normed):
        if n in names:
            return i
    return None


def _columns(header: list[str]) -> tuple[_Columns, ReadoutFormat]:
    normed = [_norm(h) for h in header]
    card = _find(normed, *_CARD_NAMES)
    records: dict[int, list[int | None]] = {}
    fmt: ReadoutFormat | None = None
    for i, n in enumerate(normed):
        m = _RECORD.match(n)
        if not m:
            continue
        k = int(m[1] or m[3])
        part = m[2] or m[4]
        slot = records.setdefault(k, [None, None, None])
        idx = ("cn", "dow", "time").index(part)
        if slot[idx] is None:
            slot[idx] = i
        if k == 1 and fmt is None:
            fmt = ReadoutFormat.SI_CONFIG_PLUS if m[1] else ReadoutFormat.SI_READER
    first = records.get(1)
    if card is None or fmt is None or first is None or first[0] is None or first[2] is None:
        shown = ";".join(h.strip() for h in header[:8]) + (";…" if len(header) > 8 else "")
        raise ReadoutHeaderError(
            f"not a card readout file: expected a header like {EXPECTED_HEADER}; "
            f"it needs a card column (SIID or SI-Card) and record 1's CN and time columns; "
            f"found '{shown}'"
        )
    cols = _Columns(
        names=[h.replace("\ufeff", "").strip() for h in header], card=card,
        number=_find(normed, "no", "no."), read_on=_find(normed, "read on", "read at"),
        start_no=_find(normed, "start no", "st no"),
        count=_find(normed, "no. of records", "no. of punches", "no of records", "no of punches"),
    )
    for key, prefixes in _FIXED.items():
        cols.fixed[key] = (
            _find(normed, *(f"{p} cn" for p in prefixes)),
            _find(normed, *(f"{p} dow" for p in prefixes)),
            _find(normed, *(f"{p} time" for p in prefixes)),
        )
    # Keep only the unbroken run 1..n of records that have both a CN and a time column.
    k = 1
    while k in records and records[k][0] is not None and records[k][2] is not None:
        cn, dow, tm = records[k]
        cols.records[k] = (cn, dow, tm)
        k += 1
    return cols, fmt


class _RowError(Exception):
    pass


def _cell(row: Sequence[str], i: int | None) -> str:
    if i is None or i >= len(row):
        return ""
    return row[i].strip().strip('"').strip()


def _sniff_delimiter(line: str) -> str:
    return max((";", "\t", ","), key=line.count)


def _split(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def _read_row(cols: _Columns, row: list[str], line_no: int, raw: str) -> Readout:
    def time_at(i: int | None) -> float | None:
        text = _cell(row, i)
        try:
            return parse_time_of_day(text)
        except ValueError:
            raise _RowError(f"column '{cols.names[i or 0]}': '{text}' is not a time") from None

    card_text = _cell(row, cols.card)
    if not card_text.isdigit() or int(card_text) == 0:
        raise _RowError(f"column '{cols.names[cols.card]}': '{card_text}' is not a card number")
    card = int(card_text)

    blank_dow = False

    def punch(cn: int | None, dow: int | None, tm: int | None, *, need_code: bool) -> Punch | None:
        nonlocal blank_dow
        t = time_at(tm)
        code = _cell(row, cn)
        if need_code and not code:
            raise _RowError(f"column '{cols.names[cn or 0]}': no control code")
        if t is None and not need_code:
            return None
        if t is not None and dow is not None and not _cell(row, dow):
            blank_dow = True  # SI-Card 5 has no day of week: its times are 12-hour
        return Punch(normalize_code(code) if code else "", t)

    fixed = {
        key: punch(*cols.fixed[key], need_code=False) for key in ("clear", "check", "start", "finish")
    }

    count_text = _cell(row, cols.count)
    if cols.count is not None and count_text:
        if not count_text.isdigit():
            raise _RowError(f"column '{cols.names[cols.count]}': '{count_text}' is not a number")
        count = int(count_text)
        if count > len(cols.records):
            raise _RowError(
                f"column '{cols.names[cols.count]}': {count} records but the header has {len(cols.records)}"
            )
    else:
        # No count: records run until the first empty code.
        count = 0
        while count + 1 in cols.records and _cell(row, cols.records[count + 1][0]):
            count += 1

    # Records past the count: the count is what the card said it holds, so they are not taken, but
    # a runner may then miss a control they punched: said, with the card, for the admin to check.
    uncounted = sum(1 for k in cols.records if k > count and _cell(row, cols.records[k][0]))
    punches = []
    for k in range(1, count + 1):
        p = punch(*cols.records[k], need_code=True)
        assert p is not None
        punches.append(p)

    number_text = _cell(row, cols.number)
    read_on_text = _cell(row, cols.read_on)
    return Readout(
        line=line_no, card=card, read_on=parse_read_on(read_on_text) if read_on_text else None,
        read_on_text=read_on_text, number=int(number_text) if number_text.isdigit() else None,
        start_no=_cell(row, cols.start_no), punches=tuple(punches), start=fixed["start"],
        finish=fixed["finish"], check=fixed["check"], clear=fixed["clear"],
        twelve_hour=blank_dow or card <= SI5_LAST_NUMBER, raw=raw, uncounted=uncounted,
    )


def _add_error(errors: list[str], message: str, dropped: list[int]) -> None:
    if len(errors) < MAX_ERRORS:
        errors.append(message)
    else:
        dropped[0] += 1


def parse_readouts(data: str | bytes) -> ReadoutFile:
    """Read an SI Config+ or SI Reader export; bad rows become errors, a wrong header raises."""
    lines = decode_text(data).splitlines()
    header_at = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_at is None:
        raise ReadoutHeaderError(f"empty file: expected a header like {EXPECTED_HEADER}")
    delimiter = _sniff_delimiter(lines[header_at])
    cols, fmt = _columns(_split(lines[header_at], delimiter))
    result = ReadoutFile(format=fmt)
    dropped = [0]
    for i in range(header_at + 1, len(lines)):
        raw = lines[i]
        if not raw.strip() or not raw.strip(delimiter + " \t"):
            continue
        try:
            readout = _read_row(cols, _split(raw, delimiter), i + 1, raw)
            result.readouts.append(readout)
            if readout.uncounted and cols.count is not None:
                result.warnings.append(
                    f"line {i + 1}: card {readout.card}: {readout.uncounted} more record(s) after the "
                    f"{len(readout.punches)} that '{cols.names[cols.count]}' gives: not taken (check the card's punches)")
        except _RowError as exc:
            _add_error(result.errors, f"line {i + 1}: {exc}", dropped)
    if dropped[0]:
        result.errors.append(f"… and {dropped[0]} more errors")
    return result


def readout_key(r: Readout) -> str:
    """A digest that identifies one readout, so importing the same file twice adds nothing."""
    def fmt(p: Punch | None) -> str:
        if p is None:
            return "-"
        return f"{p.code}@{'' if p.time is None else f'{p.time:.3f}'}"

    read_on = r.read_on.isoformat() if r.read_on is not None else r.read_on_text
    parts = [str(r.card), read_on, fmt(r.clear), fmt(r.check), fmt(r.start), fmt(r.finish)]
    parts.extend(fmt(p) for p in r.punches)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


# --- radio punches ------------------------------------------------------------------------------


class RadioShape(StrEnum):
    SEMICOLON = "punchId;code;card;time"  # YYYY-MM-DD HH:MM:SS, event local time
    COMMA = "id,card,epoch_ms,code,type"


@dataclass(frozen=True)
class RadioPunch:
    id: int
    card: int
    code: str
    time: float  # UTC epoch seconds
    type: str = ""
    line: int = 0


@dataclass
class RadioParse:
    punches: list[RadioPunch] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    shape: RadioShape | None = None


_STAMP_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f")


def _stamp(text: str, tz: tzinfo) -> float:
    for fmt in _STAMP_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz).timestamp()
        except ValueError:
            continue
    raise ValueError(text)


def _radio_line(text: str, line_no: int, tz: tzinfo) -> tuple[RadioPunch, RadioShape]:
    if ";" in text:
        f = [c.strip() for c in text.split(";")]
        if len(f) < 4:
            raise ValueError(f"expected {RadioShape.SEMICOLON.value}, got {len(f)} fields")
        pid, code, card, stamp = f[:4]
        if not pid.isdigit() or not card.isdigit() or not code:
            raise ValueError("id and card must be numbers, code not empty")
        try:
            t = _stamp(stamp, tz)
        except ValueError:
            raise ValueError(f"'{stamp}' is not a YYYY-MM-DD HH:MM:SS time") from None
        return RadioPunch(int(pid), int(card), normalize_code(code), t, "", line_no), RadioShape.SEMICOLON
    f = [c.strip() for c in text.split(",")]
    if len(f) < 4:
        raise ValueError(f"expected {RadioShape.SEMICOLON.value} or {RadioShape.COMMA.value}")
    pid, card, ms, code = f[:4]
    if not pid.isdigit() or not card.isdigit() or not code:
        raise ValueError("id and card must be numbers, code not empty")
    try:
        t = float(ms) / 1000.0
    except ValueError:
        raise ValueError(f"'{ms}' is not a time in epoch milliseconds") from None
    kind = f[4] if len(f) > 4 else ""
    return RadioPunch(int(pid), int(card), normalize_code(code), t, kind, line_no), RadioShape.COMMA


def parse_radio_punches(data: str | bytes, tz: tzinfo) -> RadioParse:
    """Radio punches in either public shape (detected per line); garbage lines are reported, not fatal."""
    result = RadioParse()
    dropped = [0]
    first = True
    for i, raw in enumerate(decode_text(data).splitlines(), start=1):
        text = raw.strip()
        if not text:
            continue
        is_first, first = first, False
        head = re.split(r"[;,]", text, maxsplit=1)[0].strip().strip('"')
        if is_first and head and not head.isdigit() and head[0].isalpha():
            continue  # a column header line
        try:
            p, shape = _radio_line(text, i, tz)
        except ValueError as exc:
            shown = text if len(text) <= 60 else text[:57] + "…"
            _add_error(result.errors, f"line {i}: {exc}: '{shown}'", dropped)
            continue
        result.shape = result.shape or shape
        result.punches.append(p)
    if dropped[0]:
        result.errors.append(f"… and {dropped[0]} more errors")
    return result


def max_punch_id(punches: Iterable[RadioPunch], previous: int | None = None) -> int | None:
    """The highest punch id seen, to poll for punches after it next time."""
    best = previous
    for p in punches:
        if best is None or p.id > best:
            best = p.id
    return best
