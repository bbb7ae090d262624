"""Vacant starts at fixed places of a class's start list (class timing: before, after, every N).

A class may keep vacant starts before its first runner, after its last, and one after every N
runners (late entries then start among the field, and the start crew gets breathing room).
Create Starts makes that many more starts; the draw leaves those places free. The vacancies the
draw places itself (first / last / mixed) are a separate count.
"""

from __future__ import annotations


def every_count(entries: int, every: int | None) -> int:
    """How many 'one after every N runners' vacancies a class of `entries` runners gets: one
    between each full group of N and the next runner (none after the last runner)."""
    if not every or every <= 0 or entries <= 0:
        return 0
    return (entries - 1) // every


def reserved_positions(total: int, entries: int, before: int, after: int, every: int | None) -> set[int]:
    """Indices (0-based, in start order) of a `total`-start list that stay vacant."""
    before = max(0, min(before, total))
    after = max(0, min(after, total - before))
    reserved = set(range(before)) | set(range(total - after, total))
    n_every = every_count(entries, every)
    if n_every and every:
        # Counted from the first start after the 'before' vacancies: N runners, a vacancy, N runners, …
        for k in range(1, n_every + 1):
            pos = before + k * (every + 1) - 1
            if pos < total - after:
                reserved.add(pos)
    return reserved
