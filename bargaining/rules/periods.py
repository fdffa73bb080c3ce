"""Counting legal periods (期间) per 民法典 Arts 201-203.

- Art 201: the day on which the period starts is not counted; counting begins the next day.
- Art 202: a period in months ends on the corresponding day of the last month, or on that month's
  last day when there is no corresponding day.
- Art 203: if the last day is a statutory rest day (法定休假日, weekends included), the period ends on
  the day after the rest day; the last day ends at 24:00.

Only the last day moves: rest days inside a calendar-day period still count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bargaining.errors import ValidationError
from bargaining.rules.calendar import HolidayCalendar, default_calendar

Unit = Literal["calendar_days", "working_days", "months"]
UNITS: tuple[Unit, ...] = get_args(Unit)

_ONE_DAY = timedelta(days=1)


def _legal_tz() -> tzinfo:
    try:
        return ZoneInfo("Asia/Shanghai")
    except ZoneInfoNotFoundError:  # pragma: no cover - hosts with neither system tz data nor `tzdata`
        # China has kept UTC+8 without daylight saving since 1991, so the fixed offset is exact.
        return timezone(timedelta(hours=8), "CST")


LEGAL_TZ = _legal_tz()


@dataclass(frozen=True)
class Period:
    """A legal period: ``amount`` calendar days, working days or months."""

    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValidationError(f"期间单位“{self.unit}”无效，应为{'、'.join(UNITS)}之一")
        if self.amount < 1:
            raise ValidationError(f"期间长度应为正整数，实际为{self.amount}")

    def describe(self) -> str:
        """Chinese wording: ``20日``, ``10个工作日``, ``3个月``."""
        suffix = {"calendar_days": "日", "working_days": "个工作日", "months": "个月"}[self.unit]
        return f"{self.amount}{suffix}"


@dataclass(frozen=True)
class DueDate:
    """The last day of a period.

    ``provisional``: a day the computation depended on lies where the holiday notice is not yet
    published, so it must be recomputed once that year's calendar is loaded.
    """

    start: date
    due: date
    provisional: bool
    period: Period


def add_months(d: date, months: int) -> date:
    """The corresponding day ``months`` later (or earlier), clamped to the month's last day (Art 202)."""
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    first_of_next = date(year + (month0 + 1) // 12, (month0 + 1) % 12 + 1, 1)
    last_day = (first_of_next - _ONE_DAY).day
    return date(year, month0 + 1, min(d.day, last_day))


def due_date(start: date, period: Period, calendar: HolidayCalendar | None = None) -> DueDate:
    """The day a period starting on ``start`` ends (``start`` itself is not counted)."""
    cal = calendar if calendar is not None else default_calendar()
    if period.unit == "working_days":
        # The n-th working day is never a rest day, so Art 203 has nothing to move.
        day, settled = _nth_working_day(start, period.amount, 1, cal)
    else:
        if period.unit == "calendar_days":
            day = start + timedelta(days=period.amount)
        else:
            day = add_months(start, period.amount)
        settled = cal.is_settled(day)
        # Art 203: only the last day moves, to the next working day.
        while cal.is_rest_day(day):
            day += _ONE_DAY
            settled = settled and cal.is_settled(day)
    return DueDate(start=start, due=day, provisional=not settled, period=period)


def _nth_working_day(origin: date, n: int, step: int, cal: HolidayCalendar) -> tuple[date, bool]:
    """The n-th working day after (step=1) or before (step=-1) ``origin``, and whether every day
    visited is settled. Holidays are skipped, make-up working days count."""
    day, counted, settled, delta = origin, 0, True, timedelta(days=step)
    while counted < n:
        day += delta
        settled = settled and cal.is_settled(day)
        if cal.is_working_day(day):
            counted += 1
    return day, settled


def window_opens(end: date, period: Period, calendar: HolidayCalendar | None = None) -> date:
    """The first day of a window of ``period`` before ``end`` (e.g. renewal may be requested within
    3 months before expiry): ``end`` minus the period, months clamped to the month's end, without
    rest-day extension. Working-day windows count back over working days."""
    if period.unit == "calendar_days":
        return end - timedelta(days=period.amount)
    if period.unit == "months":
        return add_months(end, -period.amount)
    cal = calendar if calendar is not None else default_calendar()
    day, _settled = _nth_working_day(end, period.amount, -1, cal)
    return day


def end_of_day_utc(d: date) -> datetime:
    """The instant the legal day ``d`` ends ("24:00" in Asia/Shanghai), as an aware UTC datetime."""
    return datetime.combine(d + _ONE_DAY, time(0), tzinfo=LEGAL_TZ).astimezone(UTC)


def legal_date(instant: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware instant."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("legal_date needs an aware datetime; naive times are ambiguous")
    return instant.astimezone(LEGAL_TZ).date()
