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


class ArtifactData(BaseModel):
    """An artifact's bytes kept in the database (PostgreSQL), so a share server on another machine
    than the run's serves the file: in `bytes` up to executor.STORED_FILE_MAX, else in parts
    (artifact_chunk rows of the run, `chunks` of them); empty on SQLite."""

    artifact = peewee.ForeignKeyField(Artifact, primary_key=True, column_name="artifact_id", on_delete="CASCADE")
    bytes = peewee.BlobField()
    sha256 = peewee.TextField()
    size = peewee.IntegerField()
    chunks = peewee.IntegerField(default=0)  # > 0: the bytes are in artifact_chunk, in this many parts

    class Meta:
        table_name = "artifact_data"


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
    organiser = peewee.TextField(null=True)
    time_resolution = peewee.FloatField(default=1.0)  # seconds: 1, or 0.1 when the timing has tenths


class Race(BaseModel):
    id = peewee.AutoField()
    event = peewee.ForeignKeyField(Event, backref="races", on_delete="CASCADE")
    name = peewee.TextField()
    date = peewee.TextField(null=True)  # ISO date, in the event's time zone
    first_start = peewee.FloatField(null=True)
    zero_time = peewee.FloatField(null=True)
    race_number = peewee.IntegerField(null=True)
    discipline = peewee.TextField(null=True)  # sprint | middle | long | ultralong | night | relay | other


class Course(BaseModel):
    id = peewee.AutoField()
    race = peewee.ForeignKeyField(Race, backref="courses", on_delete="CASCADE")
    race_id: int
    name = peewee.TextField()
    length = peewee.FloatField(null=True)
    climb = peewee.FloatField(null=True)
    start_box = peewee.TextField(null=True)


class Control(BaseModel):
    id = peewee.AutoField()
    race = peewee.ForeignKeyField(Race, backref="controls", on_delete="CASCADE")
    race_id: int
    code = peewee.TextField()
    kind = peewee.TextField(default="control")  # start | control | finish
    description = peewee.TextField(null=True)
    exempt = peewee.BooleanField(default=False)  # not checked in the punch check


class CourseControl(BaseModel):
    id = peewee.AutoField()
    course = peewee.ForeignKeyField(Course, backref="course_controls", on_delete="CASCADE")
    course_id: int
    seq = peewee.IntegerField()
    control = peewee.ForeignKeyField(Control)
    control_id: int
    kind = peewee.TextField()  # start | control | finish
    leg_length = peewee.FloatField(null=True)


class Class(BaseModel):
    id = peewee.AutoField()
    race = peewee.ForeignKeyField(Race, backref="classes", on_delete="CASCADE")
    race_id: int
    name = peewee.TextField()
    short_name = peewee.TextField(null=True)
    sex = peewee.TextField(null=True)
    min_age = peewee.IntegerField(null=True)
    max_age = peewee.IntegerField(null=True)
    course = peewee.ForeignKeyField(Course, null=True, on_delete="SET NULL")
    course_id: int | None
    start_type = peewee.TextField(default="interval")  # interval | mass | free
    first_start = peewee.FloatField(null=True)
    start_interval = peewee.FloatField(null=True)
    bib_start = peewee.IntegerField(null=True)
    vacancies = peewee.IntegerField(default=0)  # vacant starts the draw places (first / last / mixed)
    # Vacant starts kept free at fixed places: before the first runner, after the last, one after every N.
    vacancies_before = peewee.IntegerField(default=0)
    vacancies_after = peewee.IntegerField(default=0)
    vacancy_every = peewee.IntegerField(null=True)
    draw_method = peewee.TextField(null=True)  # None: the draw task's settings decide
    draw_order = peewee.IntegerField(null=True)
    start_box = peewee.TextField(null=True)
    max_time = peewee.FloatField(null=True)
    result_type = peewee.TextField(default="normal")  # normal | unsorted | no_times
    start_source = peewee.TextField(default="drawn")  # drawn | punch
    ids = JSONField(default=dict)
    relay_multi_leg = peewee.BooleanField(default=False)  # relays: one runner may run several legs

    class Meta:
        table_name = "class"


class Organisation(BaseModel):
    id = peewee.AutoField()
    name = peewee.TextField()
    short_name = peewee.TextField(null=True)
    country = peewee.TextField(null=True)
    ids = JSONField(default=dict)


class Person(BaseModel):
    id = peewee.AutoField()
    given = peewee.TextField(default="")
    family = peewee.TextField(default="")
    sex = peewee.TextField(null=True)
    birth_date = peewee.TextField(null=True)
    birth_year = peewee.IntegerField(null=True)
    nationality = peewee.TextField(null=True)
    seeding = peewee.FloatField(null=True)
    points = peewee.FloatField(null=True)


class PersonIdentifier(BaseModel):
    person = peewee.ForeignKeyField(Person, backref="identifiers", on_delete="CASCADE")
    person_id: int
    type = peewee.TextField()
    value = peewee.TextField()

    class Meta:
        primary_key = peewee.CompositeKey("type", "value")


class Card(BaseModel):
    id = peewee.AutoField()
    number = peewee.TextField()
    card_type = peewee.TextField(default="SI")
    rental = peewee.BooleanField(default=False)
    info = peewee.TextField(null=True)


class Entry(BaseModel):
    id = peewee.AutoField()
    race = peewee.ForeignKeyField(Race, backref="entries", on_delete="CASCADE")
    race_id: int
    klass = peewee.ForeignKeyField(Class, column_name="class_id", null=True, on_delete="SET NULL", backref="entries")
    klass_id: int | None
    person = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL", backref="entries")
    person_id: int | None
    organisation = peewee.ForeignKeyField(Organisation, null=True, on_delete="SET NULL", backref="entries")
    organisation_id: int | None
    identifier = peewee.TextField(null=True)
    identifier_type = peewee.TextField(null=True)
    status = peewee.TextField(default="entered")  # entered | withdrawn | not_competing
    bib = peewee.TextField(null=True)
    hand_edited = peewee.BooleanField(default=False)
    created_at = peewee.FloatField()
    updated_at = peewee.FloatField()


class EntryCard(BaseModel):
    entry = peewee.ForeignKeyField(Entry, backref="entry_cards", on_delete="CASCADE")
    entry_id: int
    card = peewee.ForeignKeyField(Card, backref="entry_cards", on_delete="CASCADE")
    card_id: int

    class Meta:
        primary_key = peewee.CompositeKey("entry", "card")


class Start(BaseModel):
    id = peewee.AutoField()
    race = peewee.ForeignKeyField(Race, backref="starts", on_delete="CASCADE")
    race_id: int
    klass = peewee.ForeignKeyField(Class, column_name="class_id", on_delete="CASCADE", backref="starts")
    klass_id: int
    bib = peewee.TextField(null=True)
    start_time = peewee.FloatField(null=True)
    course = peewee.ForeignKeyField(Course, null=True, on_delete="SET NULL")
    course_id: int | None
    entry = peewee.ForeignKeyField(Entry, null=True, unique=True, on_delete="SET NULL", backref="start")
    entry_id: int | None
    hand_set = peewee.BooleanField(default=False)


class Station(BaseModel):
    id = peewee.AutoField()
    name = peewee.TextField(unique=True)
    role = peewee.TextField()  # override | readout | finish | start_check | card_check | radio
    priority = peewee.IntegerField()  # lowest wins
    card_types = peewee.TextField(null=True)


class StationData(BaseModel):
    id = peewee.AutoField()
    race = peewee.ForeignKeyField(Race, on_delete="CASCADE")
    race_id: int
    station = peewee.ForeignKeyField(Station)
    station_id: int
    card_number = peewee.TextField(null=True)
    card_type = peewee.TextField(null=True)
    bib = peewee.TextField(null=True)
    read_at = peewee.FloatField(null=True)
    punches = JSONField(default=list)  # [[code, epoch seconds], ...]
    start_time = peewee.FloatField(null=True)
    finish_time = peewee.FloatField(null=True)
    check_time = peewee.FloatField(null=True)
    clear_time = peewee.FloatField(null=True)
    status = peewee.TextField(null=True)  # a status given by the station (override)
    twelve_hour = peewee.BooleanField(default=False)  # SI-Card 5 and older
    source = peewee.TextField()
    dedupe_key = peewee.TextField(null=True)
    active = peewee.BooleanField(default=True)
    data_status = peewee.TextField(null=True)
    data_message = peewee.TextField(null=True)
    entry = peewee.ForeignKeyField(Entry, null=True, on_delete="SET NULL")
    entry_id: int | None
    processed_at = peewee.FloatField(null=True)
    created_at = peewee.FloatField()

    class Meta:
        table_name = "station_data"


class Result(BaseModel):
    id = peewee.AutoField()
    entry = peewee.ForeignKeyField(Entry, unique=True, on_delete="CASCADE", backref="result")
    entry_id: int
    status = peewee.TextField()
    start_time = peewee.FloatField(null=True)
    finish_time = peewee.FloatField(null=True)
    time = peewee.FloatField(null=True)
    splits = JSONField(default=list)
    missing = peewee.TextField(null=True)
    station_data = peewee.ForeignKeyField(StationData, null=True, on_delete="SET NULL")
    station_data_id: int | None
    overdue = peewee.BooleanField(default=False)
    computed_at = peewee.FloatField()


class RelayLeg(BaseModel):
    """A leg of a relay class (a class with legs is a relay class); its courses in RelayLegCourse."""

    id = peewee.AutoField()
    klass = peewee.ForeignKeyField(Class, column_name="class_id", on_delete="CASCADE", backref="relay_legs")
    klass_id: int
    leg = peewee.IntegerField()
    runners = peewee.IntegerField(default=1)  # parallel runners allowed (IOF LegOrder 1..runners)
    min_runners = peewee.IntegerField(default=1)
    parallel = peewee.TextField(default="all")  # all | first (see orienteering/relay.py)
    restart = peewee.FloatField(null=True)
    max_time = peewee.FloatField(null=True)

    class Meta:
        table_name = "relay_leg"


class RelayLegCourse(BaseModel):
    """A course a relay leg may run: one per leg is a fixed course, several a forking pool."""

    relay_leg = peewee.ForeignKeyField(RelayLeg, on_delete="CASCADE", backref="leg_courses")
    relay_leg_id: int
    course = peewee.ForeignKeyField(Course, on_delete="CASCADE")
    course_id: int

    class Meta:
        table_name = "relay_leg_course"
        primary_key = peewee.CompositeKey("relay_leg", "course")


class Team(BaseModel):
    id = peewee.AutoField()
    race = peewee.ForeignKeyField(Race, backref="teams", on_delete="CASCADE")
    race_id: int
    klass = peewee.ForeignKeyField(Class, column_name="class_id", null=True, on_delete="SET NULL", backref="teams")
    klass_id: int | None
    name = peewee.TextField()
    bib = peewee.TextField(null=True)
    identifier = peewee.TextField(null=True)
    identifier_type = peewee.TextField(null=True)
    status = peewee.TextField(default="entered")  # entered | withdrawn | not_competing
    hand_edited = peewee.BooleanField(default=False)
    created_at = peewee.FloatField()
    updated_at = peewee.FloatField()


class TeamOrganisation(BaseModel):
    team = peewee.ForeignKeyField(Team, on_delete="CASCADE", backref="team_organisations")
    team_id: int
    organisation = peewee.ForeignKeyField(Organisation, on_delete="CASCADE")
    organisation_id: int
    seq = peewee.IntegerField(default=0)

    class Meta:
        table_name = "team_organisation"
        primary_key = peewee.CompositeKey("team", "organisation")


class TeamMember(BaseModel):
    """A runner position of a team (leg, leg order): its course and its runner (an entry, or none:
    a missing leg)."""

    id = peewee.AutoField()
    team = peewee.ForeignKeyField(Team, on_delete="CASCADE", backref="members")
    team_id: int
    leg = peewee.IntegerField()
    leg_order = peewee.IntegerField(default=1)
    entry = peewee.ForeignKeyField(Entry, null=True, unique=True, on_delete="SET NULL", backref="team_member")
    entry_id: int | None
    start_time = peewee.FloatField(null=True)
    course = peewee.ForeignKeyField(Course, null=True, on_delete="SET NULL")
    course_id: int | None

    class Meta:
        table_name = "team_member"


class TeamResult(BaseModel):
    """A team's result (derived from its runners' results); per-member results are Result rows."""

    team = peewee.ForeignKeyField(Team, primary_key=True, on_delete="CASCADE", backref="team_result")
    team_id: int
    status = peewee.TextField()
    start_time = peewee.FloatField(null=True)
    finish_time = peewee.FloatField(null=True)
    time = peewee.FloatField(null=True)
    legs = JSONField(default=list)
    computed_at = peewee.FloatField()

    class Meta:
        table_name = "team_result"


class TaskState(BaseModel):
    task = peewee.ForeignKeyField(Task, on_delete="CASCADE")
    task_id: int
    key = peewee.TextField()
    value = peewee.TextField()

    class Meta:
        table_name = "task_state"
        primary_key = peewee.CompositeKey("task", "key")


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


class ScheduleEvent(BaseModel):
    """A pause or a resume of a schedule (engine.schedules): its history beside the occurrences."""

    id = peewee.AutoField()
    schedule = peewee.ForeignKeyField(Schedule, backref="events", on_delete="CASCADE")
    schedule_id: int
    kind = peewee.TextField()  # pause | resume
    at = peewee.FloatField()
    who = peewee.TextField(null=True)  # None: the scheduler resumed it, the pause's end having passed
    note = peewee.TextField(null=True)
    paused_until = peewee.FloatField(null=True)  # a pause's end as set; a resume's: the end that passed

    class Meta:
        table_name = "schedule_event"


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


class Correction(BaseModel):
    """A result correction by the admin (engine.corrections): its station data row, who, when, why."""

    id = peewee.AutoField()
    race = peewee.ForeignKeyField(Race, on_delete="CASCADE")
    race_id: int
    entry = peewee.ForeignKeyField(Entry, on_delete="CASCADE", backref="corrections")
    entry_id: int
    kind = peewee.TextField()  # status | add_punch | remove_punch | start_time | finish_time
    status = peewee.TextField(null=True)
    control = peewee.TextField(null=True)
    time = peewee.FloatField(null=True)
    note = peewee.TextField()
    who = peewee.TextField()
    created_at = peewee.FloatField()
    station_data = peewee.ForeignKeyField(StationData, null=True, on_delete="SET NULL")
    station_data_id: int | None
    undone_at = peewee.FloatField(null=True)
    undone_by = peewee.TextField(null=True)
    undo_note = peewee.TextField(null=True)


ALL_MODELS: list[type[BaseModel]] = [
    Meta, Task, Run, RunLog, Artifact, ArtifactData, Lease, TestMark, Event, Race, Schedule, Occurrence, Share,
    Course, Control, CourseControl, Class, Organisation, Person, PersonIdentifier, Card, Entry, EntryCard, Start,
    Station, StationData, Result, TaskState, RelayLeg, RelayLegCourse, Team, TeamOrganisation, TeamMember,
    TeamResult, Correction, ScheduleEvent,
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
