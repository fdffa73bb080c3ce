"""Engines and sessions for SQLite (embedded default) and PostgreSQL.

Writes and reads use separate engines on SQLite: a write transaction starts with
``BEGIN IMMEDIATE`` so two writers queue on the database lock instead of failing later with
SQLITE_BUSY_SNAPSHOT half-way through a use case; reads use a plain deferred ``BEGIN`` so they
never wait for a writer (WAL). On PostgreSQL one engine serves both and use cases lock the
case row with ``SELECT … FOR UPDATE``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

# SQLAlchemy's SQLite dialect drops table hints. Render them as written, so a query can say
# ``.with_hint(Case, "INDEXED BY ix_…", "sqlite")`` (SQLite's own syntax) where its planner,
# which has no statistics for a subquery, would pick the wrong index (services/case_list.py).
SQLiteCompiler.get_from_hint_text = lambda self, table, text: text  # type: ignore[method-assign]


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so BEGIN is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass
class Database:
    url: str
    write_engine: Engine
    read_engine: Engine
    # PostgreSQL: the same server, connections kept in autocommit, for ``single_read``.
    autocommit_engine: Engine | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.write_engine.dialect.name == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.write_engine.dialect.name == "postgresql"

    def __post_init__(self) -> None:
        # One factory per engine, made once: each sessionmaker() defines a Session subclass, and
        # setting up its event dispatch cost every request ~0.3 ms.
        self._write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)
        self._read_sessions = (
            self._write_sessions
            if self.read_engine is self.write_engine
            else sessionmaker(self.read_engine, expire_on_commit=False)
        )

    def session(self, *, write: bool = True) -> Session:
        return (self._write_sessions if write else self._read_sessions)()

    @contextmanager
    def single_read(self) -> Iterator[Connection]:
        """A connection for one SELECT that needs no transaction of its own (sign-in, on every request).

        On PostgreSQL it runs in autocommit: no BEGIN and COMMIT round trips around it, and no
        ROLLBACK either (which would make psycopg forget its prepared statements). Its connections
        come from a pool of their own that stays in autocommit, rather than switching a
        transactional one there and back for each request. On SQLite, where BEGIN and COMMIT cost
        no round trip, it is an ordinary read transaction.
        """
        if self.autocommit_engine is not None:
            with self.autocommit_engine.connect() as conn:
                yield conn
        else:
            with self.read_engine.connect() as conn:
                yield conn
                conn.commit()

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()
        if self.autocommit_engine is not None:
            self.autocommit_engine.dispose()


# A pooled PostgreSQL connection idle for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 5.0
_IDLE_SINCE = "bargaining.idle_since"


def _ping_idle_connections(engine: Engine) -> None:
    """Pessimistic disconnect handling for connections that sat idle, not for busy ones.

    ``pool_pre_ping`` pings on every checkout: under load that was one round trip (and two
    autocommit switches) more for each unit of work, two per API request. A connection back in use
    within seconds is not pinged; if the server went away meanwhile, the statement fails, the
    pool drops every connection made before the failure, and the next unit of work reconnects.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _fresh(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _idle(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
        if time.monotonic() - record.info.get(_IDLE_SINCE, 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            # The pool throws this connection away and checks out another (a new one if need be).
            raise DisconnectionError(f"idle connection is gone: {exc}") from exc


def open_database(url: str, *, pool_size: int = 10) -> Database:
    """``pool_size``: PostgreSQL connections kept open (``Settings.db_pool_size``); up to as many
    again are opened for a burst and closed after."""
    if url.startswith("sqlite"):
        return Database(url, _sqlite_engine(url, immediate=True), _sqlite_engine(url, immediate=False))
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size)
    autocommit = create_engine(url, pool_size=pool_size, max_overflow=pool_size, isolation_level="AUTOCOMMIT")
    for each in (engine, autocommit):
        _ping_idle_connections(each)
    return Database(url, engine, engine, autocommit)
