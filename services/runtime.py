"""Process-wide handles: the database and the holiday calendar (with years loaded later)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import cache, lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bargaining.config import load_settings
from bargaining.db import Database, open_database
from bargaining.models import CalendarYear
from bargaining.rules.calendar import HolidayCalendar, YearSchedule

_calendar_cache: dict[str, tuple[tuple[object, ...], HolidayCalendar]] = {}
# Built once: it runs in every action's transaction.
_LOADED_YEARS = select(func.count(), func.max(CalendarYear.loaded_at))


@lru_cache(maxsize=8)
def database(url: str | None = None) -> Database:
    settings = load_settings()
    return open_database(url or settings.database_url, pool_size=settings.db_pool_size)


def calendar(session: Session, *, cache: bool = True) -> HolidayCalendar:
    """The package's holiday data plus every year loaded into the database.

    Cached per database and checked on every call against a cheap fingerprint of the loaded years
    (count and latest load time), so a year loaded by any process is used at once by all of them.
    ``cache=False`` builds from what this session has flushed (e.g. an uncommitted load) without keeping it.
    """
    key = str(session.get_bind().engine.url)
    # No autoflush: an action may ask for the calendar half-way, with its writes still pending.
    with session.no_autoflush:
        fingerprint = tuple(session.execute(_LOADED_YEARS).one())
        hit = _calendar_cache.get(key)
        if cache and hit is not None and hit[0] == fingerprint:
            return hit[1]
        extra = [
            YearSchedule(
                year=row.year,
                days_off=frozenset(date.fromisoformat(d) for d in row.days_off),
                makeup_workdays=frozenset(date.fromisoformat(d) for d in row.makeup_workdays),
                source=row.source,
            )
            for row in session.scalars(select(CalendarYear))
        ]
    cal = HolidayCalendar(extra)
    if cache:
        _calendar_cache[key] = (fingerprint, cal)
    return cal


def calendar_loader(session: Session) -> Callable[[], HolidayCalendar]:
    """``calendar(session)`` when first asked for, then the same: for actions, most of which compute
    no date and so need not pay the freshness check (a statement) at all."""
    return cache(lambda: calendar(session))


def forget_calendar() -> None:
    _calendar_cache.clear()


def utcnow() -> datetime:
    return datetime.now(UTC)
