"""How instants are written for people and for scripts: ISO 8601 with offset, and relative forms."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import humanize

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def local_zone(name: str | None = None) -> tzinfo:
    """The event's zone: an IANA name, or the machine's own zone."""
    if name:
        return ZoneInfo(name)
    tz = datetime.now().astimezone().tzinfo
    assert tz is not None
    return tz


def local_zone_name() -> str:
    """The machine's IANA zone name (from TZ or /etc/localtime), 'UTC' when unknown."""
    import os
    from pathlib import Path

    env = os.environ.get("TZ", "").lstrip(":")
    if env and "/" in env:
        return env
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        return "UTC"
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else "UTC"


def iso(ts: float | None, tz: tzinfo | None = None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz or local_zone()).isoformat(timespec="milliseconds")


def clock_time(ts: float | None, tz: tzinfo | None = None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz or local_zone()).strftime("%H:%M:%S")


def relative(ts: float | None, now: float) -> str:
    """'in 42 seconds' / '3 minutes ago' (humanize writes future times as '... from now')."""
    if ts is None:
        return ""
    delta = ts - now
    if abs(delta) < 1:
        return "now"
    text = humanize.naturaldelta(abs(delta))
    return f"in {text}" if delta > 0 else f"{text} ago"


def parse_duration_text(text: str) -> float:
    """Seconds from '90', '30s', '5m', '1h30m', '1.5h', '250ms'; ValueError when unreadable."""
    t = text.strip().lower().replace(" ", "")
    if not t:
        raise ValueError("empty duration")
    try:
        return float(t)
    except ValueError:
        pass
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(t):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2).lower()]
        pos = m.end()
    if pos != len(t) or pos == 0:
        raise ValueError(f"'{text}' is not a duration (examples: 30s, 5m, 1h30m)")
    return total


def format_duration_text(seconds: float) -> str:
    if seconds < 1 and seconds > 0:
        return f"{seconds * 1000:g}ms"
    s = int(round(seconds))
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            parts.append(f"{s // size}{unit}")
            s %= size
    return "".join(parts) or "0s"


def parse_instant(text: str, now: float, tz: tzinfo | None = None) -> float:
    """An instant from 'now', '+10m' / '-1h' (relative to now), or ISO 8601 (local time if no offset)."""
    t = text.strip()
    if t.lower() == "now":
        return now
    if t[:1] in "+-" and len(t) > 1:
        try:
            delta = parse_duration_text(t[1:])
        except ValueError:
            raise ValueError(f"'{text}' is not a time (use ISO 8601, 'now', '+10m' or '-1h')") from None
        return now + delta if t[0] == "+" else now - delta
    try:
        dt = datetime.fromisoformat(t[:-1] + "+00:00" if t.endswith("Z") else t)
    except ValueError:
        raise ValueError(f"'{text}' is not a time (use ISO 8601, 'now', '+10m' or '-1h')") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz or local_zone())
    return dt.timestamp()


_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
WHEN_HINT = "ISO 8601, 'now', '+10m', or a clock time like 14:30"


def parse_when(text: str, now: float, tz: tzinfo | None) -> float:
    """An instant as the forms take it: what parse_instant reads, and a bare clock time ('14:30'),
    the next one to come."""
    t = text.strip()
    m = _CLOCK.fullmatch(t)
    if m:
        hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise ValueError(f"'{t}' is not a clock time")
        today = datetime.fromtimestamp(now, tz)
        at = today.replace(hour=hour, minute=minute, second=second, microsecond=0)
        if at.timestamp() <= now:
            at = (today + timedelta(days=1)).replace(hour=hour, minute=minute, second=second, microsecond=0)
        return at.timestamp()
    try:
        return parse_instant(t, now, tz)
    except ValueError:
        raise ValueError(f"'{t}' is not a time (use {WHEN_HINT})") from None
