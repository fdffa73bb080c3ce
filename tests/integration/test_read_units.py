"""A read-only unit of work ends its transaction with COMMIT, unless it wrote something.

Why it matters: psycopg forgets every prepared statement of a connection on a ROLLBACK (and sends
DEALLOCATE ALL). When every request's sign-in read rolled back, no statement ever reached
psycopg's prepare threshold and PostgreSQL parsed and planned each one on every request (measured:
3.2 ms of server CPU per HTTP transition, 1.1 ms with reads committed).
"""

from __future__ import annotations

from sqlalchemy import func, select, text, update

from bargaining.db import Database
from bargaining.models import OrgUnit
from services.uow import unit_of_work


def test_statements_stay_prepared_across_read_units_on_postgres(pg_db: Database) -> None:
    marker = "read_units_prepared_probe"
    query = select(func.count(OrgUnit.id)).where(OrgUnit.code != marker)
    connections = set()
    for _ in range(8):  # psycopg prepares a statement on its 5th execution on a connection
        with unit_of_work(pg_db, write=False) as uow:
            uow.session.execute(query).one()
            connections.add(uow.session.connection().connection.dbapi_connection)
    assert len(connections) == 1  # one connection, reused: the case this is about
    with unit_of_work(pg_db, write=False) as uow:
        prepared = uow.session.execute(
            text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :probe"),
            {"probe": "%org_units.code != %"},
        ).scalar_one()
    assert prepared >= 1


def _unit(db: Database) -> str:
    with unit_of_work(db) as uow:
        uow.session.add(OrgUnit(code="read-units", name="读事务测试", level="city", path="/read-units/"))
    return "read-units"


def test_a_read_unit_that_wrote_is_rolled_back(db: Database) -> None:
    code = _unit(db)
    with unit_of_work(db, write=False) as uow:
        uow.session.execute(update(OrgUnit).where(OrgUnit.code == code).values(name="不应保存"))
    with unit_of_work(db, write=False) as uow:
        assert uow.session.scalar(select(OrgUnit.name).where(OrgUnit.code == code)) == "读事务测试"


def test_a_read_unit_that_flushed_is_rolled_back(db: Database) -> None:
    code = _unit(db)
    with unit_of_work(db, write=False) as uow:
        unit = uow.session.scalars(select(OrgUnit).where(OrgUnit.code == code)).one()
        unit.name = "不应保存"
        uow.session.flush()
    with unit_of_work(db, write=False) as uow:
        assert uow.session.scalar(select(OrgUnit.name).where(OrgUnit.code == code)) == "读事务测试"


def test_a_single_read_runs_in_autocommit_on_postgres_and_leaves_the_pool_transactional(
    pg_db: Database,
) -> None:
    with pg_db.single_read() as conn:  # sign-in's statement: no BEGIN and COMMIT round trips
        assert conn.connection.dbapi_connection.autocommit is True
        assert conn.execute(select(func.count(OrgUnit.id))).scalar_one() >= 0
    with unit_of_work(pg_db) as uow:  # units of work keep their transactions
        assert uow.session.connection().connection.dbapi_connection.autocommit is False
