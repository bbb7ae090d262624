"""`schedule preview` of a rule without a task shows sub-minute rules; the rule is the job's, on saving."""

from __future__ import annotations

from datetime import datetime


def test_a_sub_minute_cron_is_previewed_without_a_task(cli):
    res = cli("schedule", "preview", "--cron", "*/5 * * * * *", "-n", "3", "--tz", "UTC")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "every 5 seconds" and 'Job "?"' not in res.stdout + res.stderr
    assert "more often than once a minute: only on a task of a job that allows it" in lines[1]
    times = [datetime.fromisoformat(line.strip()) for line in lines[2:]]
    assert len(times) == 3 and all((b - a).total_seconds() == 5 for a, b in zip(times, times[1:], strict=False))


def test_the_sub_minute_rule_names_the_job_when_saved_on_a_task(cli):
    cli("task", "add", "Entries", "--job", "import-entries", "--set", "file=/nowhere.xml", check=True)
    res = cli("schedule", "add", "Entries", "--cron", "*/5 * * * * *", "--start", "now", "--expiry", "+5h")
    assert res.returncode != 0
    assert 'Job "Import Entries" may not run more often than once a minute' in res.stderr
    ok = cli("schedule", "preview", "--cron", "*/5 * * * *", "-n", "1")
    assert ok.returncode == 0 and "once a minute" not in ok.stdout
