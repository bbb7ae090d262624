"""Peewee models over the tables that `migrations` creates. Instants are UTC epoch seconds."""

from __future__ import annotations

import json
from typing import Any

import peewee

database_proxy = peewee.DatabaseProxy()


class JSONField(peewee.TextField):
    """A JSON document stored as text."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)

    def python_value(self, value: str | None) -> Any:
        return None if value is None else json.loads(value)


class BaseModel(peewee.Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False


class Meta(BaseModel):
    key = peewee.TextField(primary_key=True)
    value = peewee.TextField()


class Task(BaseModel):
    id = peewee.AutoField()
    name = peewee.TextField(unique=True)
    job = peewee.TextField()
    settings = JSONField(default=dict)
    direct = peewee.BooleanField(default=False)
    timeout = peewee.FloatField(null=True)
    on_orphan = peewee.TextField(null=True)
    created_at = peewee.FloatField()
    updated_at = peewee.FloatField()


class Run(BaseModel):
    id = peewee.AutoField()
    task = peewee.ForeignKeyField(Task, backref="runs", on_delete="CASCADE")
    status = peewee.TextField()
    lane = peewee.TextField()
    trigger = peewee.TextField()
    settings = JSONField(null=True)
    context = JSONField(null=True)
    enqueued_at = peewee.FloatField()
    started_at = peewee.FloatField(null=True)
    finished_at = peewee.FloatField(null=True)
    worker = peewee.TextField(null=True)
    lease_until = peewee.FloatField(null=True)
    cancel_requested = peewee.BooleanField(default=False)
    progress = peewee.FloatField(null=True)
    progress_msg = peewee.TextField(null=True)
    error = peewee.TextField(null=True)
    attempts = peewee.IntegerField(default=0)


class RunLog(BaseModel):
    id = peewee.AutoField()
    run = peewee.ForeignKeyField(Run, backref="log_lines", on_delete="CASCADE")
    ts = peewee.FloatField()
    level = peewee.TextField()
    message = peewee.TextField()


class Artifact(BaseModel):
    id = peewee.AutoField()
    run = peewee.ForeignKeyField(Run, backref="artifacts", on_delete="CASCADE")
    task = peewee.ForeignKeyField(Task, backref="artifacts", on_delete="CASCADE")
    path = peewee.TextField()
    name = peewee.TextField()
    media_type = peewee.TextField()
    size = peewee.IntegerField()
    created_at = peewee.FloatField()
    # False for files a job keeps in a place of the admin's choosing (backups): pruning old runs
    # then leaves the file to the job's own retention.
    managed = peewee.BooleanField(default=True)


class Lease(BaseModel):
    name = peewee.TextField(primary_key=True)
    holder = peewee.TextField()
    acquired_at = peewee.FloatField()
    expires_at = peewee.FloatField()
    info = peewee.TextField(null=True)


class TestMark(BaseModel):
    """A row the Test job writes in its transaction, to show that a run's changes are all or nothing."""

    __test__ = False  # not a pytest test class
    id = peewee.AutoField()
    run_id = peewee.IntegerField()
    created_at = peewee.FloatField()


class Event(BaseModel):
    id = peewee.AutoField()
    name = peewee.TextField()
    timezone = peewee.TextField(null=True)


class Race(BaseModel):
    id = peewee.AutoField()
    event = peewee.ForeignKeyField(Event, backref="races", on_delete="CASCADE")
    name = peewee.TextField()
    date = peewee.TextField(null=True)
    first_start = peewee.FloatField(null=True)
    zero_time = peewee.FloatField(null=True)


class Schedule(BaseModel):
    id = peewee.AutoField()
    task = peewee.ForeignKeyField(Task, backref="schedules", on_delete="CASCADE")
    task_id: int  # peewee's accessor for the foreign key column
    kind = peewee.TextField()  # interval | cron | once | window | per_row
    tz = peewee.TextField()
    start = peewee.FloatField()
    expiry = peewee.FloatField()
    every = peewee.FloatField(null=True)
    cron = peewee.TextField(null=True)
    at = peewee.FloatField(null=True)
    max_runs = peewee.IntegerField(null=True)
    catch_up = peewee.TextField(default="latest")
    catch_up_window = peewee.FloatField(default=3600.0)
    overlap = peewee.TextField(default="buffer_one")
    # Date-field modes: which date source and record anchor the window, or feed the rows.
    source = peewee.TextField(null=True)
    source_key = peewee.TextField(null=True)
    start_offset = peewee.FloatField(null=True)
    expiry_offset = peewee.FloatField(null=True)
    row_offset = peewee.FloatField(null=True)
    paused = peewee.BooleanField(default=False)
    pause_note = peewee.TextField(null=True)
    paused_until = peewee.FloatField(null=True)
    fired_count = peewee.IntegerField(default=0)
    # When the schedule was created or last edited: it never fires for times before this.
    armed_at = peewee.FloatField()
    # Every nominal time up to this instant has been handled (fired or recorded why not).
    evaluated_until = peewee.FloatField()
    next_fire = peewee.FloatField(null=True)
    created_at = peewee.FloatField()
    updated_at = peewee.FloatField()


class Occurrence(BaseModel):
    id = peewee.AutoField()
    schedule = peewee.ForeignKeyField(Schedule, backref="occurrences", on_delete="CASCADE")
    nominal = peewee.FloatField()
    # A run of missed or paused times is one record: nominal..last_nominal, `count` times.
    last_nominal = peewee.FloatField(null=True)
    count = peewee.IntegerField(default=1)
    actual = peewee.FloatField(null=True)
    state = peewee.TextField()
    run = peewee.ForeignKeyField(Run, null=True, on_delete="SET NULL")
    reason = peewee.TextField(null=True)
    row_key = peewee.TextField(null=True)


class Share(BaseModel):
    id = peewee.AutoField()
    task = peewee.ForeignKeyField(Task, backref="shares", on_delete="CASCADE")
    task_id: int
    token = peewee.TextField()
    token_hash = peewee.TextField(unique=True)
    label = peewee.TextField(null=True)
    run_task = peewee.BooleanField(default=False)
    cache_window = peewee.FloatField(default=300.0)
    expires_at = peewee.FloatField(null=True)
    revoked = peewee.BooleanField(default=False)
    hits = peewee.IntegerField(default=0)
    last_access = peewee.FloatField(null=True)
    created_at = peewee.FloatField()


ALL_MODELS: list[type[BaseModel]] = [
    Meta, Task, Run, RunLog, Artifact, Lease, TestMark, Event, Race, Schedule, Occurrence, Share,
]

# Run states: queued -> running -> succeeded | failed | cancelled.
QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
FINISHED_STATES = (SUCCEEDED, FAILED, CANCELLED)
# Lanes: the queue lane runs one at a time across all processes; the direct lane starts at once.
QUEUE_LANE, DIRECT_LANE = "queue", "direct"
# What made a run: an admin (TUI or CLI), a schedule, or a share link visitor.
TRIGGERS = ("manual", "schedule", "share")
ORPHAN_POLICIES = ("requeue", "fail")

# Occurrence states: what the evaluator did with a nominal time, and why.
FIRED, MISSED, SKIPPED_OVERLAP, COALESCED, PAUSED_STATE, DST_SHIFTED = (
    "fired", "missed", "skipped-overlap", "coalesced", "paused", "dst-shifted")
SCHEDULE_KINDS = ("interval", "cron", "once", "window", "per_row")
CATCH_UP_POLICIES = ("skip", "latest", "all")
OVERLAP_POLICIES = ("skip", "buffer_one", "allow")
