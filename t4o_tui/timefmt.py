"""How instants are written for people and for scripts: ISO 8601 with offset, and relative forms."""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

import humanize


def local_zone(name: str | None = None) -> tzinfo:
    """The event's zone: an IANA name, or the machine's own zone."""
    if name:
        return ZoneInfo(name)
    tz = datetime.now().astimezone().tzinfo
    assert tz is not None
    return tz


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
