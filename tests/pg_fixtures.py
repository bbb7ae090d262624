"""Tests on both backends (issue 14): `from pg_fixtures import *` in a test module makes its `db`
an SQLite file for one half of each test and a fresh database on a real PostgreSQL server for the
other (tests/pg_server.py says where the server comes from, and when the half is skipped).

`backend` names the half ("sqlite" or "postgresql"); `db_target` is what `--db` would be given (the
file's path or the server's URL). A test that only makes sense on one of them parametrizes
`backend` itself: `@only_sqlite` (it reads the SQLite file directly, say).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import peewee
import pg_server
import pytest

from t4o_tui.store.db import open_database

pg_admin_url, pg_url = pg_server.pg_admin_url, pg_server.pg_url

BACKENDS = ["sqlite", "postgresql"]
only_sqlite = pytest.mark.parametrize("backend", ["sqlite"])
only_postgresql = pytest.mark.parametrize("backend", ["postgresql"])

__all__ = ["BACKENDS", "backend", "db", "db_target", "only_postgresql", "only_sqlite", "pg_admin_url", "pg_url"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_target(backend: str, db_path: Path, request: pytest.FixtureRequest) -> str:
    """The database as `--db` names it: the SQLite file, or a new database on the PostgreSQL server."""
    if backend == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return str(db_path)


@pytest.fixture
def db(db_target: str) -> Iterator[peewee.Database]:
    database = open_database(db_target)
    yield database
    database.close()
