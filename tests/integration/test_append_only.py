"""The event log is append-only: the database itself refuses UPDATE and DELETE.

The first migration installs triggers (SQLite and PostgreSQL) that stop everyone, the owner
included; on PostgreSQL a deployment also grants the application role only SELECT and INSERT, so
the application cannot even try.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, ProgrammingError

from bargaining.db import Database
from bargaining.models import Event
from services.uow import unit_of_work
from tests.integration.helpers import PG_APP_ROLE, PG_APP_URL, database_name, new_enterprise_case
from tests.support import build_world, walk


def _event_rows(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text("SELECT id, case_id, trigger, from_state, to_state, reason FROM events ORDER BY id")
            )
        ]


def _tamper(engine: Engine, statement: str, match: str) -> None:
    with engine.connect() as conn:
        with pytest.raises(DBAPIError, match=match):
            conn.execute(text(statement))
        conn.rollback()


def test_update_and_delete_of_events_are_refused(db: Database) -> None:
    w = build_world(db)
    case_id = new_enterprise_case(w)
    walk(w, case_id, "offer_sent")
    rows = _event_rows(db.write_engine)
    assert len(rows) >= 8

    for statement in (
        "UPDATE events SET reason = '事后篡改' WHERE case_id = " + str(case_id),
        "UPDATE events SET to_state = 'in_force'",
        "DELETE FROM events WHERE trigger = 'send_offer'",
        "DELETE FROM events",
    ):
        _tamper(db.write_engine, statement, "append-only")
    if db.is_postgres:
        _tamper(db.write_engine, "TRUNCATE events CASCADE", "append-only")
    assert _event_rows(db.write_engine) == rows

    # The ORM path a careless helper would take fails the same way, and the unit of work rolls back.
    with pytest.raises(DBAPIError, match="append-only"), unit_of_work(db) as uow:
        event = uow.session.scalar(select(Event).where(Event.case_id == case_id).limit(1))
        assert event is not None
        uow.session.delete(event)
    assert _event_rows(db.write_engine) == rows


@pytest.fixture
def app_engine(pg_db: Database) -> Iterator[Engine]:
    """The application role on the per-test database, with the grants a deployment gives it."""
    if not PG_APP_URL:
        pytest.skip("BARGAINING_TEST_POSTGRES_APP_URL not set (run through scripts/pg.sh)")
    with pg_db.write_engine.begin() as conn:  # the owner (admin) of this database grants
        sequence = conn.execute(text("SELECT pg_get_serial_sequence('events', 'id')")).scalar()
        conn.execute(text(f"GRANT SELECT, INSERT ON events TO {PG_APP_ROLE}"))
        conn.execute(text(f"GRANT USAGE ON SEQUENCE {sequence} TO {PG_APP_ROLE}"))
    engine = create_engine(make_url(PG_APP_URL).set(database=database_name(pg_db)))
    yield engine
    engine.dispose()


def test_application_role_can_append_but_not_change_events(pg_db: Database, app_engine: Engine) -> None:
    w = build_world(pg_db)
    case_id = new_enterprise_case(w)
    with app_engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == PG_APP_ROLE
        privileges = conn.execute(
            text(
                "SELECT has_table_privilege('events', 'INSERT'), has_table_privilege('events', 'UPDATE'), "
                "has_table_privilege('events', 'DELETE'), has_table_privilege('events', 'TRUNCATE')"
            )
        ).one()
        assert tuple(privileges) == (True, False, False, False)
        conn.execute(
            text(
                "INSERT INTO events (case_id, trigger, actor_name, role, at, payload) "
                "VALUES (:case_id, 'note', '应用', 'system', now(), '{}')"
            ),
            {"case_id": case_id},
        )
        conn.commit()
    rows = _event_rows(app_engine)
    assert rows[-1][1:3] == (case_id, "note")

    for statement in (
        f"UPDATE events SET reason = '事后篡改' WHERE case_id = {case_id}",
        "DELETE FROM events",
        "TRUNCATE events",
    ):
        with app_engine.connect() as conn:
            with pytest.raises(ProgrammingError, match="permission denied") as refused:
                conn.execute(text(statement))
            assert refused.value.orig is not None
            assert getattr(refused.value.orig, "sqlstate", None) == "42501"  # insufficient_privilege
            conn.rollback()
    assert _event_rows(app_engine) == rows


def test_trigger_still_stops_the_application_role_if_someone_grants_update(
    pg_db: Database, app_engine: Engine
) -> None:
    """Two layers: a mistaken GRANT does not open the log, the trigger still refuses."""
    w = build_world(pg_db)
    new_enterprise_case(w)
    with pg_db.write_engine.begin() as conn:
        conn.execute(text(f"GRANT UPDATE, DELETE ON events TO {PG_APP_ROLE}"))
    rows = _event_rows(app_engine)
    _tamper(app_engine, "UPDATE events SET reason = 'x'", "append-only")
    _tamper(app_engine, "DELETE FROM events", "append-only")
    assert _event_rows(app_engine) == rows
