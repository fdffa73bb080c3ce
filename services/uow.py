"""Unit of work: one transaction per use case, rolled back unless it finishes.

Helpers never commit. Work that must not run inside the transaction (rendering PDFs, sending
notifications) is queued with ``after_commit`` and runs only once the commit succeeded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bargaining.db import Database
from bargaining.errors import Conflict


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
        # A read-only unit just closes: the transaction ends without expiring what was read.
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
