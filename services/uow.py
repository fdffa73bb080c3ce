"""Unit of work: one transaction per use case, rolled back unless it finishes.

Helpers never commit. Work that must not run inside the transaction (rendering PDFs, sending
notifications) is queued with ``after_commit`` and runs only once the commit succeeded.
A read-only unit (``write=False``) that finishes commits too, unless it wrote something (see below).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.exc import StaleDataError

from bargaining.db import Database
from bargaining.errors import Conflict

WROTE = "bargaining.wrote"  # session.info: the session flushed or executed something but a SELECT


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _context: object) -> None:
    session.info[WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if not state.is_select:
        state.session.info[WROTE] = True


class UnitOfWork:
    def __init__(self, session: Session):
        self.session = session
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, fn: Callable[[], None]) -> None:
        self._after_commit.append(fn)


@contextmanager
def unit_of_work(db: Database, *, write: bool = True) -> Iterator[UnitOfWork]:
    session = db.session(write=write)
    uow = UnitOfWork(session)
    try:
        yield uow
        if write:
            session.commit()
        elif session.in_transaction() and not session.info.get(WROTE):
            # A read ends with COMMIT, not ROLLBACK: the same for a read (nothing is expired), but
            # psycopg forgets every prepared statement on a ROLLBACK and sends DEALLOCATE ALL, so
            # with reads rolled back (every request signs in with one) PostgreSQL parsed and
            # planned every statement of every request anew. A read that wrote anything still rolls back.
            session.commit()
    except StaleDataError:
        session.rollback()
        raise Conflict("该记录已被他人修改，请刷新后重试。") from None
    except OperationalError as exc:
        session.rollback()
        if "database is locked" in str(exc) or "could not serialize" in str(exc):
            raise Conflict("数据库正忙，请稍后重试。") from None
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    for fn in uow._after_commit:
        fn()
