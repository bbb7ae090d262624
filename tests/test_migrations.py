"""Schema upgrades: a database made by an older version opens in this one, its data intact."""

from __future__ import annotations

import sqlite3

import pytest

from t4o_tui.engine.runs import list_runs
from t4o_tui.engine.tasks import list_tasks
from t4o_tui.store import migrations
from t4o_tui.store.db import DatabaseError, open_database


def _build_at(path, version: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrations.upgrade(conn, target=version) == version
    # Data as the older version wrote it (v1 has tasks, runs and logs).
    conn.execute("INSERT INTO task(id, name, job, settings, direct, created_at, updated_at) "
                 "VALUES (1, 'Old backup', 'backup', '{\"keep\": 3}', 0, 1.0, 1.0)")
    conn.execute("INSERT INTO run(id, task_id, status, lane, trigger, enqueued_at, started_at, finished_at, worker) "
                 "VALUES (7, 1, 'succeeded', 'queue', 'manual', 2.0, 3.0, 4.0, 'old:1:abc')")
    conn.execute("INSERT INTO run_log(run_id, ts, level, message) VALUES (7, 3.0, 'info', 'from the old days')")
    conn.close()


@pytest.mark.parametrize("version", range(1, migrations.LATEST))
def test_an_older_database_is_upgraded_on_open_with_its_data(tmp_path, version):
    path = tmp_path / "old.sqlite"
    _build_at(path, version)
    db = open_database(path)
    try:
        assert migrations.current_version(db.connection()) == migrations.LATEST
        [task] = list_tasks(db)
        assert (task.name, task.job, task.settings) == ("Old backup", "backup", {"keep": 3})
        [run] = list_runs(db)
        assert (run.id, run.status, run.worker, run.output) == (7, "succeeded", "old:1:abc", None)
        msgs = [r[0] for r in db.execute_sql("SELECT message FROM run_log").fetchall()]
        assert msgs == ["from the old days"]
        # The upgraded database works for the new version's features (artifacts since v2).
        db.execute_sql("INSERT INTO artifact(run_id, task_id, path, name, media_type, size, created_at) "
                       "VALUES (7, 1, '/x', 'x', 'text/plain', 1, 5.0)")
    finally:
        db.close()


def test_upgrade_is_idempotent_and_versioned(tmp_path):
    path = tmp_path / "ev.sqlite"
    open_database(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrations.current_version(conn) == migrations.LATEST
    assert migrations.upgrade(conn) == migrations.LATEST  # nothing left to do
    conn.close()


def test_a_foreign_sqlite_database_is_refused_untouched(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE something(x)")
    with pytest.raises(DatabaseError, match="not a t4o-tui database"):
        open_database(path)
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert tables == ["something"]
