"""Schema versions and their upgrade steps, as plain SQL.

The schema is kept as an ordered list of steps rather than generated from the models, so that a
database made by any older version of t4o-tui opens in a newer one: each step runs once, in its
own transaction, and the version reached is stored in the `meta` table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import suppress

Step = Callable[[sqlite3.Connection], None]


class SchemaError(Exception):
    """The database's schema cannot be used by this version of the program."""


def _script(conn: sqlite3.Connection, sql: str) -> None:
    # Not executescript(): it commits first, which would break the step's transaction.
    # Pieces are joined until SQLite says the statement is complete (triggers hold semicolons).
    buffer = ""
    for piece in sql.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n;"):
                conn.execute(buffer)
            buffer = ""
    if buffer.strip(" \n;"):
        conn.execute(buffer)


def _v1_core(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE task (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            job TEXT NOT NULL,
            settings TEXT NOT NULL DEFAULT '{}',
            direct INTEGER NOT NULL DEFAULT 0,
            timeout REAL,
            on_orphan TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE run (
            id INTEGER PRIMARY KEY,
            task_id INTEGER NOT NULL REFERENCES task(id) ON DELETE CASCADE,
            status TEXT NOT NULL,
            lane TEXT NOT NULL,
            trigger TEXT NOT NULL,
            settings TEXT,
            context TEXT,
            enqueued_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL,
            worker TEXT,
            lease_until REAL,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            progress REAL,
            progress_msg TEXT,
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 0
        );
        -- The claim reads only queued and running runs: partial indexes keep it fast however
        -- many finished runs the table holds.
        CREATE INDEX run_queued ON run(lane, id) WHERE status = 'queued';
        CREATE INDEX run_running ON run(lane, worker) WHERE status = 'running';
        CREATE INDEX run_task ON run(task_id, id);
        CREATE TABLE run_log (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
            ts REAL NOT NULL,
            level TEXT NOT NULL,
            message TEXT NOT NULL
        );
        CREATE INDEX run_log_run ON run_log(run_id, id);
        CREATE TABLE lease (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            acquired_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            info TEXT
        );
        """
    )


def _v2_artifacts(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE artifact (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
            task_id INTEGER NOT NULL REFERENCES task(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            name TEXT NOT NULL,
            media_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            created_at REAL NOT NULL,
            managed INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX artifact_task ON artifact(task_id, id);
        CREATE INDEX artifact_run ON artifact(run_id);
        CREATE TABLE test_mark (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL,
            created_at REAL NOT NULL
        );
        """
    )


def _v3_schedules(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE event (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            timezone TEXT
        );
        CREATE TABLE race (
            id INTEGER PRIMARY KEY,
            event_id INTEGER NOT NULL REFERENCES event(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            date TEXT,
            first_start REAL,
            zero_time REAL
        );
        CREATE TABLE schedule (
            id INTEGER PRIMARY KEY,
            task_id INTEGER NOT NULL REFERENCES task(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            tz TEXT NOT NULL,
            start REAL NOT NULL,
            expiry REAL NOT NULL,
            every REAL,
            cron TEXT,
            at REAL,
            max_runs INTEGER,
            catch_up TEXT NOT NULL DEFAULT 'latest',
            catch_up_window REAL NOT NULL DEFAULT 3600,
            overlap TEXT NOT NULL DEFAULT 'buffer_one',
            source TEXT,
            source_key TEXT,
            start_offset REAL,
            expiry_offset REAL,
            row_offset REAL,
            paused INTEGER NOT NULL DEFAULT 0,
            pause_note TEXT,
            paused_until REAL,
            fired_count INTEGER NOT NULL DEFAULT 0,
            armed_at REAL NOT NULL,
            evaluated_until REAL NOT NULL,
            next_fire REAL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX schedule_task ON schedule(task_id);
        CREATE TABLE occurrence (
            id INTEGER PRIMARY KEY,
            schedule_id INTEGER NOT NULL REFERENCES schedule(id) ON DELETE CASCADE,
            nominal REAL NOT NULL,
            last_nominal REAL,
            count INTEGER NOT NULL DEFAULT 1,
            actual REAL,
            state TEXT NOT NULL,
            run_id INTEGER REFERENCES run(id) ON DELETE SET NULL,
            reason TEXT,
            row_key TEXT
        );
        CREATE INDEX occurrence_schedule ON occurrence(schedule_id, id);
        CREATE INDEX occurrence_run ON occurrence(run_id);
        CREATE TABLE schedule_row (
            schedule_id INTEGER NOT NULL REFERENCES schedule(id) ON DELETE CASCADE,
            row_key TEXT NOT NULL,
            fired_at REAL NOT NULL,
            PRIMARY KEY (schedule_id, row_key)
        );
        INSERT INTO meta(key, value) VALUES ('schedule_rev', '0');
        CREATE TRIGGER schedule_rev_insert AFTER INSERT ON schedule BEGIN
            UPDATE meta SET value = value + 1 WHERE key = 'schedule_rev';
        END;
        CREATE TRIGGER schedule_rev_delete AFTER DELETE ON schedule BEGIN
            UPDATE meta SET value = value + 1 WHERE key = 'schedule_rev';
        END;
        -- The evaluator's own bookkeeping (evaluated_until, fired_count, next_fire) leaves
        -- updated_at alone, so only an admin's change makes the evaluator reload.
        CREATE TRIGGER schedule_rev_update AFTER UPDATE ON schedule
            WHEN NEW.updated_at IS NOT OLD.updated_at BEGIN
            UPDATE meta SET value = value + 1 WHERE key = 'schedule_rev';
        END;
        -- Anchored windows and per-row schedules follow the race's first start.
        CREATE TRIGGER schedule_rev_race AFTER UPDATE OF first_start ON race BEGIN
            UPDATE meta SET value = value + 1 WHERE key = 'schedule_rev';
        END;
        CREATE TRIGGER schedule_rev_race_insert AFTER INSERT ON race BEGIN
            UPDATE meta SET value = value + 1 WHERE key = 'schedule_rev';
        END;
        CREATE TRIGGER schedule_rev_race_delete AFTER DELETE ON race BEGIN
            UPDATE meta SET value = value + 1 WHERE key = 'schedule_rev';
        END
        """,
    )


def _v4_shares(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE share (
            id INTEGER PRIMARY KEY,
            task_id INTEGER NOT NULL REFERENCES task(id) ON DELETE CASCADE,
            token TEXT NOT NULL,
            -- Looked up by the token's SHA-256, then compared in constant time: the index search
            -- never sees the token itself.
            token_hash TEXT NOT NULL UNIQUE,
            label TEXT,
            run_task INTEGER NOT NULL DEFAULT 0,
            cache_window REAL NOT NULL DEFAULT 300,
            expires_at REAL,
            revoked INTEGER NOT NULL DEFAULT 0,
            hits INTEGER NOT NULL DEFAULT 0,
            last_access REAL,
            created_at REAL NOT NULL
        );
        CREATE INDEX share_task ON share(task_id)
        """,
    )


def _v5_event_data(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        ALTER TABLE race ADD COLUMN race_number INTEGER;
        CREATE TABLE course (
            id INTEGER PRIMARY KEY,
            race_id INTEGER NOT NULL REFERENCES race(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            length REAL,
            climb REAL,
            start_box TEXT,
            UNIQUE (race_id, name)
        );
        CREATE TABLE control (
            id INTEGER PRIMARY KEY,
            race_id INTEGER NOT NULL REFERENCES race(id) ON DELETE CASCADE,
            code TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'control',
            description TEXT,
            exempt INTEGER NOT NULL DEFAULT 0,
            UNIQUE (race_id, code)
        );
        CREATE TABLE course_control (
            id INTEGER PRIMARY KEY,
            course_id INTEGER NOT NULL REFERENCES course(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            control_id INTEGER NOT NULL REFERENCES control(id),
            kind TEXT NOT NULL,
            leg_length REAL,
            UNIQUE (course_id, seq)
        );
        CREATE TABLE class (
            id INTEGER PRIMARY KEY,
            race_id INTEGER NOT NULL REFERENCES race(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            short_name TEXT,
            sex TEXT,
            min_age INTEGER,
            max_age INTEGER,
            course_id INTEGER REFERENCES course(id) ON DELETE SET NULL,
            start_type TEXT NOT NULL DEFAULT 'interval',
            first_start REAL,
            start_interval REAL,
            bib_start INTEGER,
            vacancies INTEGER NOT NULL DEFAULT 0,
            draw_order INTEGER,
            start_box TEXT,
            max_time REAL,
            result_type TEXT NOT NULL DEFAULT 'normal',
            start_source TEXT NOT NULL DEFAULT 'drawn',
            ids TEXT NOT NULL DEFAULT '{}',
            UNIQUE (race_id, name)
        );
        CREATE TABLE organisation (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            short_name TEXT,
            country TEXT,
            ids TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX organisation_name ON organisation(name);
        CREATE TABLE person (
            id INTEGER PRIMARY KEY,
            given TEXT NOT NULL DEFAULT '',
            family TEXT NOT NULL DEFAULT '',
            sex TEXT,
            birth_date TEXT,
            birth_year INTEGER,
            nationality TEXT,
            seeding REAL,
            points REAL
        );
        CREATE TABLE person_identifier (
            person_id INTEGER NOT NULL REFERENCES person(id) ON DELETE CASCADE,
            type TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (type, value)
        );
        CREATE INDEX person_identifier_person ON person_identifier(person_id);
        CREATE TABLE card (
            id INTEGER PRIMARY KEY,
            number TEXT NOT NULL,
            card_type TEXT NOT NULL DEFAULT 'SI',
            rental INTEGER NOT NULL DEFAULT 0,
            info TEXT,
            UNIQUE (number, card_type)
        );
        CREATE TABLE entry (
            id INTEGER PRIMARY KEY,
            race_id INTEGER NOT NULL REFERENCES race(id) ON DELETE CASCADE,
            class_id INTEGER REFERENCES class(id) ON DELETE SET NULL,
            person_id INTEGER REFERENCES person(id) ON DELETE SET NULL,
            organisation_id INTEGER REFERENCES organisation(id) ON DELETE SET NULL,
            identifier TEXT,
            identifier_type TEXT,
            status TEXT NOT NULL DEFAULT 'entered',
            bib TEXT,
            hand_edited INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX entry_race_class ON entry(race_id, class_id);
        CREATE UNIQUE INDEX entry_identifier ON entry(race_id, identifier_type, identifier) WHERE identifier IS NOT NULL;
        CREATE INDEX entry_person ON entry(person_id);
        CREATE TABLE entry_card (
            entry_id INTEGER NOT NULL REFERENCES entry(id) ON DELETE CASCADE,
            card_id INTEGER NOT NULL REFERENCES card(id) ON DELETE CASCADE,
            PRIMARY KEY (entry_id, card_id)
        );
        CREATE INDEX entry_card_card ON entry_card(card_id);
        CREATE TABLE start (
            id INTEGER PRIMARY KEY,
            race_id INTEGER NOT NULL REFERENCES race(id) ON DELETE CASCADE,
            class_id INTEGER NOT NULL REFERENCES class(id) ON DELETE CASCADE,
            bib TEXT,
            start_time REAL,
            course_id INTEGER REFERENCES course(id) ON DELETE SET NULL,
            entry_id INTEGER UNIQUE REFERENCES entry(id) ON DELETE SET NULL,
            hand_set INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX start_class ON start(class_id, start_time);
        CREATE INDEX start_time ON start(race_id, start_time);
        -- Per-row schedules on start times and class first starts follow their rows.
        CREATE TRIGGER schedule_rev_class AFTER UPDATE OF first_start ON class BEGIN
            UPDATE meta SET value = value + 1 WHERE key = 'schedule_rev';
        END
        """,
    )


def _v6_timing(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE station (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            priority INTEGER NOT NULL,
            card_types TEXT
        );
        -- Raw data as received. The program never changes or deletes it: it can only be
        -- deactivated and re-activated; corrections come as new rows from the override station.
        CREATE TABLE station_data (
            id INTEGER PRIMARY KEY,
            race_id INTEGER NOT NULL REFERENCES race(id) ON DELETE CASCADE,
            station_id INTEGER NOT NULL REFERENCES station(id),
            card_number TEXT,
            card_type TEXT,
            bib TEXT,
            read_at REAL,
            punches TEXT NOT NULL DEFAULT '[]',
            start_time REAL,
            finish_time REAL,
            check_time REAL,
            clear_time REAL,
            status TEXT,
            twelve_hour INTEGER NOT NULL DEFAULT 0,
            source TEXT NOT NULL,
            dedupe_key TEXT,
            active INTEGER NOT NULL DEFAULT 1,
            data_status TEXT,
            data_message TEXT,
            entry_id INTEGER REFERENCES entry(id) ON DELETE SET NULL,
            processed_at REAL,
            created_at REAL NOT NULL
        );
        CREATE UNIQUE INDEX station_data_dedupe ON station_data(dedupe_key) WHERE dedupe_key IS NOT NULL;
        CREATE INDEX station_data_unprocessed ON station_data(id) WHERE processed_at IS NULL;
        CREATE INDEX station_data_card ON station_data(card_number);
        CREATE INDEX station_data_entry ON station_data(entry_id);
        CREATE TABLE result (
            id INTEGER PRIMARY KEY,
            entry_id INTEGER NOT NULL UNIQUE REFERENCES entry(id) ON DELETE CASCADE,
            status TEXT NOT NULL,
            start_time REAL,
            finish_time REAL,
            time REAL,
            splits TEXT NOT NULL DEFAULT '[]',
            missing TEXT,
            station_data_id INTEGER REFERENCES station_data(id) ON DELETE SET NULL,
            overdue INTEGER NOT NULL DEFAULT 0,
            computed_at REAL NOT NULL
        );
        CREATE INDEX result_status ON result(status);
        -- Small per-task memory between runs (e.g. the last radio punch id seen).
        CREATE TABLE task_state (
            task_id INTEGER NOT NULL REFERENCES task(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (task_id, key)
        );
        INSERT INTO station(name, role, priority) VALUES
            ('Override', 'override', 0), ('Readout', 'readout', 10), ('Finish', 'finish', 20),
            ('Start check', 'start_check', 30), ('Radio', 'radio', 30), ('Card check', 'card_check', 40)
        """,
    )


def _v7_failed_index(conn: sqlite3.Connection) -> None:
    # "Failed in the last hour" on the dashboard reads only recent failures, however long the history.
    _script(conn, "CREATE INDEX run_failed ON run(finished_at) WHERE status = 'failed'")


def _v8_event_setup(conn: sqlite3.Connection) -> None:
    # Event and race data an admin sets (issue 11), and class timing beyond one vacancy count:
    # vacant starts kept free before the first runner, after the last, and one after every N.
    _script(
        conn,
        """
        ALTER TABLE event ADD COLUMN organiser TEXT;
        ALTER TABLE race ADD COLUMN discipline TEXT;
        ALTER TABLE class ADD COLUMN vacancies_before INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE class ADD COLUMN vacancies_after INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE class ADD COLUMN vacancy_every INTEGER;
        ALTER TABLE class ADD COLUMN draw_method TEXT
        """,
    )


def _v9_time_resolution(conn: sqlite3.Connection) -> None:
    # Issue 16: the event's time resolution in seconds (1 s, or 0.1 s when the timing has tenths):
    # results are ranked at it and IOF XML writes it as timeResolution.
    _script(conn, "ALTER TABLE event ADD COLUMN time_resolution REAL NOT NULL DEFAULT 1.0")


def _v10_share_hits_written(conn: sqlite3.Connection) -> None:
    # Issue 12: a share server counts hits in memory and writes them every few seconds, so the
    # counts in `shares` lag; this records when they were last written (by any process), to show.
    _script(
        conn,
        """
        INSERT OR IGNORE INTO meta(key, value) VALUES ('share_hits_written', '');
        CREATE TRIGGER share_hits_written AFTER UPDATE OF hits ON share BEGIN
            UPDATE meta SET value = CAST((julianday('now') - 2440587.5) * 86400.0 AS TEXT)
            WHERE key = 'share_hits_written';
        END
        """,
    )


def _v11_relays(conn: sqlite3.Connection) -> None:
    # Issue 13: relays. A relay class has legs (relay_leg: parallel runners, restart, max time) and
    # the courses each leg may run (relay_leg_course: one fixed course or a forking pool). A team
    # has one team_member row per runner position (leg, leg order): the position's course (the
    # forking, or a course given by a file) and its runner, an ordinary entry (cards, person,
    # club, result rows as for individuals). A position without a runner is a missing leg.
    # team_result holds the team's status and time and the per-leg changeovers (derived data).
    _script(
        conn,
        """
        ALTER TABLE class ADD COLUMN relay_multi_leg INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE relay_leg (
            id INTEGER PRIMARY KEY,
            class_id INTEGER NOT NULL REFERENCES class(id) ON DELETE CASCADE,
            leg INTEGER NOT NULL,
            runners INTEGER NOT NULL DEFAULT 1,
            min_runners INTEGER NOT NULL DEFAULT 1,
            parallel TEXT NOT NULL DEFAULT 'all',
            restart REAL,
            max_time REAL,
            UNIQUE(class_id, leg)
        );
        CREATE TABLE relay_leg_course (
            relay_leg_id INTEGER NOT NULL REFERENCES relay_leg(id) ON DELETE CASCADE,
            course_id INTEGER NOT NULL REFERENCES course(id) ON DELETE CASCADE,
            PRIMARY KEY (relay_leg_id, course_id)
        );
        CREATE TABLE team (
            id INTEGER PRIMARY KEY,
            race_id INTEGER NOT NULL REFERENCES race(id) ON DELETE CASCADE,
            class_id INTEGER REFERENCES class(id) ON DELETE SET NULL,
            name TEXT NOT NULL,
            bib TEXT,
            identifier TEXT,
            identifier_type TEXT,
            status TEXT NOT NULL DEFAULT 'entered',
            hand_edited INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX team_race_class ON team(race_id, class_id);
        CREATE TABLE team_organisation (
            team_id INTEGER NOT NULL REFERENCES team(id) ON DELETE CASCADE,
            organisation_id INTEGER NOT NULL REFERENCES organisation(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (team_id, organisation_id)
        );
        CREATE TABLE team_member (
            id INTEGER PRIMARY KEY,
            team_id INTEGER NOT NULL REFERENCES team(id) ON DELETE CASCADE,
            leg INTEGER NOT NULL,
            leg_order INTEGER NOT NULL DEFAULT 1,
            entry_id INTEGER UNIQUE REFERENCES entry(id) ON DELETE SET NULL,
            start_time REAL,
            course_id INTEGER REFERENCES course(id) ON DELETE SET NULL,
            UNIQUE(team_id, leg, leg_order)
        );
        CREATE TABLE team_result (
            team_id INTEGER PRIMARY KEY REFERENCES team(id) ON DELETE CASCADE,
            status TEXT NOT NULL,
            start_time REAL,
            finish_time REAL,
            time REAL,
            legs TEXT NOT NULL DEFAULT '[]',
            computed_at REAL NOT NULL
        );
        """,
    )


def _v12_corrections(conn: sqlite3.Connection) -> None:
    # Issue 17: result corrections by the admin (status with a note, a punch added or removed, a
    # start or finish time). Each is written as station data at the override station (so processing
    # ranks it as it ranks every override) and described here: who, when, why, and its undo.
    _script(
        conn,
        """
        CREATE TABLE correction (
            id INTEGER PRIMARY KEY,
            race_id INTEGER NOT NULL REFERENCES race(id) ON DELETE CASCADE,
            entry_id INTEGER NOT NULL REFERENCES entry(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            status TEXT,
            control TEXT,
            time REAL,
            note TEXT NOT NULL,
            who TEXT NOT NULL,
            created_at REAL NOT NULL,
            station_data_id INTEGER REFERENCES station_data(id) ON DELETE SET NULL,
            undone_at REAL,
            undone_by TEXT,
            undo_note TEXT
        );
        CREATE INDEX correction_entry ON correction(entry_id);
        """,
    )


def _v13_schedule_events(conn: sqlite3.Connection) -> None:
    # Issue 17: each pause and resume of a schedule, for its history beside the occurrences. A
    # table of its own, not occurrence rows: the evaluator numbers and merges occurrences itself
    # (an admin's row written between its steps would break both), and an occurrence is a
    # nominal time. `who` is NULL when the scheduler resumed it because the pause's end passed.
    _script(
        conn,
        """
        CREATE TABLE schedule_event (
            id INTEGER PRIMARY KEY,
            schedule_id INTEGER NOT NULL REFERENCES schedule(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            at REAL NOT NULL,
            who TEXT,
            note TEXT,
            paused_until REAL
        );
        CREATE INDEX schedule_event_schedule ON schedule_event(schedule_id, id);
        """,
    )


def _v14_artifact_data(conn: sqlite3.Connection) -> None:
    # Issue 14: on PostgreSQL several machines share one database, but each keeps run files in its
    # own data folder; a share link served on another machine than the run's needs the bytes. A
    # run's file up to a size is also kept here (written with its artifact row, gone with it).
    # On SQLite (one machine) the table stays empty: the data folder is the only copy.
    _script(
        conn,
        """
        CREATE TABLE artifact_data (
            artifact_id INTEGER PRIMARY KEY REFERENCES artifact(id) ON DELETE CASCADE,
            bytes BLOB NOT NULL,
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL
        );
        """,
    )


def _v15_artifact_chunks(conn: sqlite3.Connection) -> None:
    # Issue 14: a run's file larger than one row holds (executor.STORED_FILE_MAX) is kept in parts,
    # each written in its own transaction before the run's end (the queue lane's lock is not held
    # meanwhile), so a share server on another machine streams it part by part. The parts belong
    # to the run (gone with it; a second attempt writing the same bytes finds them there); the
    # artifact_data row (bytes empty, chunks = how many) says they make a whole file.
    _script(
        conn,
        """
        CREATE TABLE artifact_chunk (
            run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
            sha256 TEXT NOT NULL,
            seq INTEGER NOT NULL,
            bytes BLOB NOT NULL,
            PRIMARY KEY (run_id, sha256, seq)
        );
        ALTER TABLE artifact_data ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0;
        """,
    )


# The columns of each table that Import Entries matches on (jobs/import_entries._Index): a change
# to one of them by another writer while an import runs means the import's index no longer holds.
ENTRY_REV_COLUMNS = {
    "class": "race_id, name",
    "organisation": "name",
    "person": "given, family, birth_year",
    "person_identifier": "person_id, type, value",
    "card": "number, card_type",
    "entry": "race_id, identifier_type, identifier, person_id, class_id, organisation_id, status, bib, hand_edited",
    "entry_card": "entry_id, card_id",
}


def _v16_entry_rev(conn: sqlite3.Connection) -> None:
    # An import writes a large file in committed steps, matching rows against an index of the
    # event it loaded before; between steps another writer (the TUI, the card desk, another
    # import) may change what it matched against. New rows show in the tables' largest rowids;
    # an update of a matched column or a delete bumps meta.entry_rev (an INSERT trigger would cost
    # the import ~1 us a row it writes, and the largest rowids already say it).
    bump = "UPDATE meta SET value = value + 1 WHERE key = 'entry_rev';"
    parts = ["INSERT INTO meta(key, value) VALUES ('entry_rev', '0');"]
    for table, columns in ENTRY_REV_COLUMNS.items():
        parts.append(f"CREATE TRIGGER entry_rev_{table}_update AFTER UPDATE OF {columns} ON {table} BEGIN {bump} END;")
        parts.append(f"CREATE TRIGGER entry_rev_{table}_delete AFTER DELETE ON {table} BEGIN {bump} END;")
    _script(conn, "\n".join(parts))


# Append only. Never edit a step that has been released: databases in the field ran it.
STEPS: list[Step] = [_v1_core, _v2_artifacts, _v3_schedules, _v4_shares, _v5_event_data, _v6_timing, _v7_failed_index,
                     _v8_event_setup, _v9_time_resolution, _v10_share_hits_written, _v11_relays,
                     _v12_corrections, _v13_schedule_events, _v14_artifact_data, _v15_artifact_chunks,
                     _v16_entry_rev]
LATEST = len(STEPS)


def current_version(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name='meta'"
    ).fetchone()
    if row is None:
        return 0
    got = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return int(got[0]) if got else 0


def check_version(conn: sqlite3.Connection) -> int:
    version = current_version(conn)
    if version > LATEST:
        raise SchemaError(
            f"schema version {version} is newer than this t4o-tui understands ({LATEST}); "
            "upgrade t4o-tui"
        )
    return version


def upgrade(conn: sqlite3.Connection, target: int = LATEST) -> int:
    """Run the missing steps up to `target`, each in its own transaction; return the version."""
    version = check_version(conn)
    if version == 0:
        has_tables = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        ).fetchone()[0]
        if has_tables:
            raise SchemaError("it holds tables but no t4o-tui schema version (not a t4o-tui database)")
    while version < target:
        step = STEPS[version]
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have upgraded while we waited for the lock.
            if current_version(conn) != version:
                conn.execute("ROLLBACK")
                version = check_version(conn)
                continue
            step(conn)
            conn.execute(
                "INSERT INTO meta(key, value) VALUES('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (str(version + 1),),
            )
            conn.execute("COMMIT")
        except BaseException:
            _rollback_quietly(conn)
            raise
        version += 1
    return version


def _rollback_quietly(conn: sqlite3.Connection) -> None:
    """End a failed step without hiding why it failed (as the engine's queue.rollback_quietly).

    On SQLITE_FULL or an I/O error SQLite may already have rolled back, and a bare ROLLBACK would
    raise "cannot rollback - no transaction is active" in place of the real cause.
    """
    if not conn.in_transaction:
        return
    with suppress(sqlite3.Error):  # the error being raised is the one that says what went wrong
        conn.execute("ROLLBACK")

