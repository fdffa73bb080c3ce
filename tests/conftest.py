"""Shared fixtures: real databases on the migrated schema (SQLite and PostgreSQL).

Each test that asks for ``db`` runs once per backend on a database of its own: SQLite copies a
file migrated once per run; PostgreSQL clones a migrated template database
(``CREATE DATABASE … TEMPLATE``). Events are append-only, so nothing is ever cleaned up in place.
PostgreSQL comes from scripts/test.sh (BARGAINING_TEST_POSTGRES_URL); under CI its absence is an
error, elsewhere those tests are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bargaining.db import Database, open_database
from services import runtime
from services.migrate import upgrade

PG_URL = os.environ.get("BARGAINING_TEST_POSTGRES_URL")


def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.getbasetemp() / "template.sqlite3"
    if not path.exists():
        upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _sqlite_template(tmp_path_factory)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("BARGAINING_TEST_POSTGRES_URL is not set: run the suite through scripts/test.sh")
        pytest.skip("PostgreSQL not available (run through scripts/test.sh)")
    name = f"tmpl_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def new_pg_database(template: str) -> tuple[str, str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")  # type: ignore[arg-type]
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return name, make_url(PG_URL).set(database=name).render_as_string(hide_password=False)  # type: ignore[arg-type]


def drop_pg_database(name: str) -> None:
    admin = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")  # type: ignore[arg-type]
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    runtime.forget_calendar()
    if request.param == "sqlite":
        path = tmp_path / "bargaining.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = open_database(f"sqlite:///{path}")
        yield database
        database.dispose()
    else:
        template = request.getfixturevalue("pg_template")
        name, url = new_pg_database(template)
        database = open_database(url)
        yield database
        database.dispose()
        drop_pg_database(name)
    runtime.forget_calendar()


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """SQLite only, for tests about the embedded default itself."""
    path = tmp_path / "bargaining.sqlite3"
    shutil.copy(sqlite_template, path)
    database = open_database(f"sqlite:///{path}")
    yield database
    database.dispose()
