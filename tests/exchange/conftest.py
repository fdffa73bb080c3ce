"""A second, empty migrated database on the same backend as ``db`` (to import what ``db`` exported)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bargaining.db import Database, open_database
from tests.conftest import drop_pg_database, new_pg_database


@pytest.fixture
def other_db(db: Database, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if db.is_sqlite:
        path = tmp_path / "other.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = open_database(f"sqlite:///{path}")
        yield database
        database.dispose()
        return
    name, url = new_pg_database(request.getfixturevalue("pg_template"))
    database = open_database(url)
    yield database
    database.dispose()
    drop_pg_database(name)
