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


ALL_MODELS: list[type[BaseModel]] = [Meta, Task, Run, RunLog, Artifact, Lease, TestMark]

# Run states: queued -> running -> succeeded | failed | cancelled.
QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
FINISHED_STATES = (SUCCEEDED, FAILED, CANCELLED)
# Lanes: the queue lane runs one at a time across all processes; the direct lane starts at once.
QUEUE_LANE, DIRECT_LANE = "queue", "direct"
# What made a run: an admin (TUI or CLI), a schedule, or a share link visitor.
TRIGGERS = ("manual", "schedule", "share")
ORPHAN_POLICIES = ("requeue", "fail")
