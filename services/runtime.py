"""Process-wide handles: the database and the holiday calendar (with years loaded later)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from bargaining.config import load_settings
from bargaining.db import Database, open_database
from bargaining.models import CalendarYear
from bargaining.rules.calendar import HolidayCalendar, YearSchedule

_CALENDAR_TTL_S = 60.0
_calendar_cache: dict[str, tuple[float, HolidayCalendar]] = {}


@lru_cache(maxsize=8)
def database(url: str | None = None) -> Database:
    return open_database(url or load_settings().database_url)


def calendar(session: Session) -> HolidayCalendar:
    """The package's holiday data plus every year loaded into the database.

    Cached per database for a minute, so a year loaded by another process is seen soon after;
    the process that loads a year drops its cache at once.
    """
    key = str(session.get_bind().url)
    hit = _calendar_cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < _CALENDAR_TTL_S:
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
    _calendar_cache[key] = (time.monotonic(), cal)
    return cal


def forget_calendar() -> None:
    _calendar_cache.clear()


def utcnow() -> datetime:
    return datetime.now(UTC)
