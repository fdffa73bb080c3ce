"""Chinese statutory holiday calendar (法定节假日 with 调休 make-up working days).

Each year the State Council's general office publishes a notice (国务院办公厅关于20XX年部分节假日安排的
通知, usually in November) fixing the days off and the weekend days that become working days. The
``chinesecalendar`` package carries the published notices; newer notices are loaded from the database
by other code and passed in as ``extra`` schedules. A year without a published notice is counted
from weekends alone, and any deadline depending on it is provisional.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache

import chinese_calendar

from bargaining.errors import ValidationError

# A notice's New Year block can reach back into late December of the previous year (e.g. the 2019
# notice made 2018-12-29 a working day and 2018-12-30/31 days off). In the package's data (2004-2026)
# the earliest such day is 29 December; from this day on, December also waits for next year's notice.
_NEXT_NOTICE_REACH = (12, 25)

_NEW_YEARS_DAY = chinese_calendar.Holiday.new_years_day.value


@dataclass(frozen=True)
class YearSchedule:
    """One year's notice: its days off and its make-up working days.

    ``year`` is the notice's year; a few of its days may lie in late December of the year before.
    """

    year: int
    days_off: frozenset[date]
    makeup_workdays: frozenset[date]
    source: str

    def __post_init__(self) -> None:
        overlap = self.days_off & self.makeup_workdays
        if overlap:
            listed = "、".join(d.isoformat() for d in sorted(overlap))
            raise ValidationError(f"{self.year}年节假日安排中，{listed}既是放假日又是调休上班日")
        earliest = date(self.year - 1, *_NEXT_NOTICE_REACH)
        for day in self.days_off | self.makeup_workdays:
            if not earliest <= day <= date(self.year, 12, 31):
                raise ValidationError(f"{day.isoformat()}不属于{self.year}年节假日安排的范围")
        weekdays = sorted(d for d in self.makeup_workdays if d.weekday() < 5)
        if weekdays:
            listed = "、".join(d.isoformat() for d in weekdays)
            raise ValidationError(f"调休上班日应为周六或周日，{listed}不是")
        if not self.source.strip():
            raise ValidationError(f"{self.year}年节假日安排缺少来源（国务院办公厅通知）")


def _notice_year(day: date, holiday_name: str) -> int:
    # Late-December days that belong to a New Year block come from next year's notice.
    return day.year + 1 if day.month == 12 and holiday_name == _NEW_YEARS_DAY else day.year


def package_years() -> tuple[int, int]:
    """First and last year covered by the installed ``chinesecalendar`` (1.11.0: 2004-2026)."""
    years = [day.year for day in chinese_calendar.holidays]
    return min(years), max(years)


@cache
def _package_schedules() -> tuple[YearSchedule, ...]:
    """The notices carried by ``chinesecalendar``, one schedule per notice year."""
    off: dict[int, set[date]] = {}
    work: dict[int, set[date]] = {}
    for day, name in chinese_calendar.holidays.items():
        off.setdefault(_notice_year(day, name), set()).add(day)
    for day, name in chinese_calendar.workdays.items():
        work.setdefault(_notice_year(day, name), set()).add(day)
    # The package raises NotImplementedError outside the years of its own holiday table.
    first, last = package_years()
    return tuple(
        YearSchedule(
            year=year,
            days_off=frozenset(off.get(year, ())),
            makeup_workdays=frozenset(work.get(year, ())),
            source=f"chinesecalendar {chinese_calendar.__version__}"
            f"（国务院办公厅关于{year}年部分节假日安排的通知）",
        )
        for year in range(first, last + 1)
    )


class HolidayCalendar:
    """Rest days and working days, precomputed into sets for tight loops."""

    def __init__(self, extra: Iterable[YearSchedule] = ()) -> None:
        schedules = {schedule.year: schedule for schedule in _package_schedules()}
        # Extra schedules (from the database) replace the package's notice of the same year.
        schedules.update({schedule.year: schedule for schedule in extra})
        self._schedules = schedules
        self._published = frozenset(schedules)
        self._days_off = frozenset[date]().union(*(s.days_off for s in schedules.values()))
        self._makeup = frozenset[date]().union(*(s.makeup_workdays for s in schedules.values()))

    def is_published(self, year: int) -> bool:
        """Whether the holiday notice for ``year`` is known."""
        return year in self._published

    def published_years(self) -> frozenset[int]:
        return self._published

    def schedule(self, year: int) -> YearSchedule | None:
        return self._schedules.get(year)

    def is_rest_day(self, d: date) -> bool:
        """Statutory rest day (法定休假日, 民法典 Art 203): a holiday day off, or a weekend day that
        is not a make-up working day. Unpublished years: weekends only."""
        if d in self._makeup:
            return False
        return d in self._days_off or d.weekday() >= 5

    def is_working_day(self, d: date) -> bool:
        return not self.is_rest_day(d)

    def is_settled(self, d: date) -> bool:
        """Whether every notice that can change ``d`` is published, so its status is final.

        Late December also depends on the next year's notice (see ``_NEXT_NOTICE_REACH``).
        """
        if d.year not in self._published:
            return False
        return (d.month, d.day) < _NEXT_NOTICE_REACH or d.year + 1 in self._published


@cache
def default_calendar() -> HolidayCalendar:
    """The calendar built from the ``chinesecalendar`` package alone (cached)."""
    return HolidayCalendar()
