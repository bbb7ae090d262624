"""The schedule commands as real processes: what `schedules`, `schedule show` and `schedule preview` print."""

from __future__ import annotations

import json
import time

from t4o_tui.store.models import Event, Race


def test_schedules_shows_the_pause_note_in_the_table_and_json(cli):
    cli("task", "add", "Export", "--job", "test", check=True)
    cli("schedule", "add", "Export", "--every", "1m", "--start", "now", "--expiry", "+2h", check=True)
    out = cli("schedule", "pause", "1", "--note", "course change", "--until", "+30m", check=True).stdout
    assert out.startswith("schedule 1 paused until ") and out.rstrip().endswith(": course change")
    table = cli("schedules", check=True).stdout.splitlines()
    assert "PAUSE NOTE" in table[0]
    assert "paused" in table[1] and "course change; until in " in table[1]
    [row] = json.loads(cli("schedules", "--json", check=True).stdout)
    assert (row["state"], row["pause_note"]) == ("paused", "course change") and row["paused_until"]
    cli("schedule", "resume", "1", check=True)
    table = cli("schedules", check=True).stdout.splitlines()
    assert "course change" not in table[1] and table[1].rstrip().endswith("-")


def test_preview_marks_the_repeated_hour_and_says_which_pass_fires(cli):
    """Issue 12: the spring gap was marked, fall-back's repeated hour (2027-10-31 in Oslo) was not."""
    args = ("schedule", "preview", "--cron", "30 2 * * *", "--tz", "Europe/Oslo", "--start", "2027-10-30T12:00", "-n", "2")
    lines = cli(*args, check=True).stdout.splitlines()
    assert lines[1:] == ["  2027-10-31T02:30:00.000+02:00  (DST: repeated hour; fires on this first pass only)",
                         "  2027-11-01T02:30:00.000+01:00"]
    fires = json.loads(cli(*args, "--json", check=True).stdout)["fires"]
    assert [f["dst"] for f in fires] == ["first", None]
    lines = cli("schedule", "preview", "--cron", "30 * * * *", "--tz", "Europe/Oslo", "--start", "2027-10-31T02:00",
                "-n", "3", check=True).stdout.splitlines()
    assert lines[1:] == ["  2027-10-31T02:30:00.000+02:00", "  2027-10-31T02:30:00.000+01:00  "
                         "(DST: repeated hour; second pass, fires too)", "  2027-10-31T03:30:00.000+01:00"]


def test_schedule_show_follows_a_moved_window_record(cli, db):
    """Issue 12: after the race's first start was edited, `schedules` kept the old start and expiry."""
    first = time.time() + 7200
    race = Race.create(event=Event.create(name="Demo"), name="Day 1", first_start=first)
    cli("task", "add", "Radio", "--job", "test", check=True)
    cli("schedule", "add", "Radio", "--window", f"race.first_start:{race.id}", "--from", "-1h", "--to", "+1h",
        "--every", "5m", check=True)
    race.first_start = first - 6600  # moved 1 h 50 min earlier: the window has begun
    race.save()
    shown = json.loads(cli("schedule", "show", "1", "--json", check=True).stdout)
    listed = json.loads(cli("schedules", "--json", check=True).stdout)[0]
    for row in (shown, listed):
        assert row["state"] == "active"
        assert row["start"] == _iso(first - 6600 - 3600) and row["expiry"] == _iso(first - 6600 + 3600)
        nxt = _epoch(row["next"])
        assert time.time() - 5 < nxt <= time.time() + 300  # the next 5-minute mark, not one in the past


def _iso(t: float) -> str:
    from t4o_tui.timefmt import iso

    return str(iso(t))


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


def test_pause_note_and_until_are_checked_as_in_the_forms(cli):
    cli("task", "add", "Export", "--job", "test", check=True)
    cli("schedule", "add", "Export", "--every", "1m", "--start", "now", "--expiry", "+2h", check=True)
    res = cli("schedule", "pause", "1", "--note", "x" * 201)
    assert res.returncode == 1 and res.stderr.strip().endswith("--note: at most 200 characters (got 201)")
    res = cli("schedule", "pause", "1", "--until", "2001-01-01T00:00Z")
    assert res.returncode == 1 and "--until: must be in the future" in res.stderr
    assert json.loads(cli("schedules", "--json", check=True).stdout)[0]["state"] == "active"  # nothing saved
    cli("schedule", "pause", "1", "--note", "  course   change\n", check=True)
    assert json.loads(cli("schedules", "--json", check=True).stdout)[0]["pause_note"] == "course change"
