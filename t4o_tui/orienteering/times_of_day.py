"""Times of day typed or read without a date, placed on a day: the night race's rule."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

# A time of day read before `after` (a runner's start, a race's first start) is the next day's when
# that puts it less than this after `after`: a night race out past midnight (first start 22:00, a
# start at 00:30, a finish at 00:10). Else it stays on its day (a typo, refused where it must be later).
OVER_MIDNIGHT = 12 * 3600.0


def on_race_day(at: float, day: date, zone: tzinfo, first_start: float | None) -> bool:
    """Whether instant `at` is on the race's `day` in `zone`, or in its night: less than
    OVER_MIDNIGHT after its first start."""
    if datetime.fromtimestamp(at, zone).date() == day:
        return True
    return first_start is not None and 0 <= at - first_start < OVER_MIDNIGHT


def time_of_day_on(day: date, clock: time, zone: tzinfo, after: float | None = None) -> datetime:
    """`clock` on `day` in `zone`, or on the next day by the OVER_MIDNIGHT rule when `after` is given.
    The next day's is the same wall-clock time a calendar day later (a DST change keeps the clock)."""
    at = datetime.combine(day, clock, zone)
    if after is not None and at.timestamp() < after:
        later = datetime.combine(day + timedelta(days=1), clock, zone)
        if later.timestamp() - after < OVER_MIDNIGHT:
            return later
    return at
