"""What the admin types into the schedule and share forms, turned into values (ValueError says why)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from t4o_tui.engine.schedule_math import ScheduleError, format_duration, parse_duration


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{name.strip()}' (use an IANA name like Europe/Oslo)") from None


def parse_duration_field(text: str, field: str = "every") -> float:
    """'30s', '5m', '1h30m', '90' (seconds); ScheduleError's words on failure."""
    try:
        return parse_duration(text, field)
    except ScheduleError as exc:
        raise ValueError(exc.message) from None


def parse_offset(text: str) -> float:
    """A signed duration: '-1h', '+90m', '0'."""
    t = text.strip()
    if t in ("0", "+0", "-0", "±0"):
        return 0.0
    sign = -1.0 if t.startswith(("-", "−")) else 1.0
    body = t.lstrip("+-−").strip()
    if not body:
        raise ValueError("an offset like -1h, +90m or 0")
    return sign * parse_duration_field(body, "offset")


def format_offset(seconds: float | None) -> str:
    if not seconds:
        return "0"
    return ("-" if seconds < 0 else "+") + format_duration(abs(seconds))


def parse_max_runs(text: str) -> int | None:
    t = text.strip()
    if not t:
        return None
    try:
        n = int(t)
    except ValueError:
        raise ValueError(f"'{t}' is not a whole number (empty: no limit)") from None
    if n < 1:
        raise ValueError("at least 1 (empty: no limit)")
    return n


def format_instant(ts: float | None, tz: tzinfo | None) -> str:
    """An instant as the forms show it: local ISO 8601 with its offset, to the second."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")
