"""Fixtures of the integration tests on top of tests/conftest.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bargaining.db import Database, open_database
from services import runtime
from tests.conftest import PG_URL, drop_pg_database, new_pg_database


@pytest.fixture
def pg_db(request: pytest.FixtureRequest) -> Iterator[Database]:
    """PostgreSQL only (roles, advisory locks): a fresh migrated database."""
    template = request.getfixturevalue("pg_template")
    runtime.forget_calendar()
    name, url = new_pg_database(template)
    database = open_database(url)
    yield database
    database.dispose()
    drop_pg_database(name)
    runtime.forget_calendar()


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database (nothing migrated), on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    request.getfixturevalue("pg_template")  # skips (or fails under CI) without PostgreSQL
    assert PG_URL
    name = f"e_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    drop_pg_database(name)
