"""Pooled PostgreSQL connections: one that sat idle is pinged before use and replaced if the server
dropped it; one back in use within seconds is not pinged (a round trip less per unit of work); the
pool keeps ``BARGAINING_DB_POOL_SIZE`` of them open.

The server drops a connection the way a restart or failover does: ``pg_terminate_backend``.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bargaining import db as db_module
from bargaining.config import load_settings
from bargaining.db import Database, open_database
from services.uow import unit_of_work
from tests.integration.helpers import PG_ADMIN_URL


def _backend_pid(db: Database) -> int:
    with unit_of_work(db, write=False) as uow:
        return int(uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(db: Database, pid: int) -> None:
    admin = create_engine(
        make_url(PG_ADMIN_URL or db.url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    finally:
        admin.dispose()


def test_an_idle_connection_the_server_dropped_is_replaced_unnoticed(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)  # every connection counts as idle
    dropped = _backend_pid(pg_db)
    _terminate(pg_db, dropped)
    assert _backend_pid(pg_db) != dropped  # pinged, found gone, replaced: no error for the user


def test_a_busy_connection_is_not_pinged_and_the_pool_recovers_after_one_failure(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 3600.0)  # never idle long enough
    dropped = _backend_pid(pg_db)
    _terminate(pg_db, dropped)
    with pytest.raises(OperationalError):  # not pinged: the unit of work meets the dead connection
        _backend_pid(pg_db)
    assert _backend_pid(pg_db) != dropped  # the pool threw it away; the next unit reconnects


def test_the_pool_keeps_as_many_connections_open_as_configured(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BARGAINING_DB_POOL_SIZE", "7")
    assert load_settings().db_pool_size == 7
    db = open_database(pg_db.url, pool_size=load_settings().db_pool_size)
    try:
        for burst, kept in ((7, 7), (9, 7)):  # beyond the pool: opened for the burst, closed after
            connections = [db.write_engine.connect() for _ in range(burst)]
            for conn in connections:
                conn.execute(text("SELECT 1"))
                conn.close()
            assert db.write_engine.pool.checkedin() == kept  # type: ignore[attr-defined]
    finally:
        db.dispose()
