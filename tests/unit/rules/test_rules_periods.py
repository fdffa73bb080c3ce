from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from bargaining.errors import ValidationError
from bargaining.rules.calendar import HolidayCalendar, YearSchedule
from bargaining.rules.periods import (
    Period,
    add_months,
    due_date,
    end_of_day_utc,
    legal_date,
    window_opens,
)

DAYS_20 = Period(20, "calendar_days")
WORKING_10 = Period(10, "working_days")

SCHEDULE_2027 = YearSchedule(
    year=2027,
    days_off=frozenset({date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)}),
    makeup_workdays=frozenset({date(2027, 1, 9)}),
    source="测试用：国务院办公厅关于2027年部分节假日安排的通知",
)


@pytest.mark.parametrize(
    ("period", "text"),
    [(DAYS_20, "20日"), (WORKING_10, "10个工作日"), (Period(3, "months"), "3个月")],
)
def test_describe(period: Period, text: str) -> None:
    assert period.describe() == text


def test_period_rejects_nonsense() -> None:
    with pytest.raises(ValidationError, match="正整数"):
        Period(0, "calendar_days")
    with pytest.raises(ValidationError, match="期间单位"):
        Period(3, "weeks")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("start", "due", "why"),
    [
        (date(2025, 3, 4), date(2025, 3, 24), "ends on a Monday: no move"),
        (date(2025, 3, 2), date(2025, 3, 24), "ends on Saturday 3/22: moves to Monday"),
        (date(2025, 3, 3), date(2025, 3, 24), "ends on Sunday 3/23: moves to Monday"),
        (date(2025, 1, 10), date(2025, 2, 5), "ends 1/30 inside the Spring Festival block (1/28-2/4)"),
        (date(2025, 1, 14), date(2025, 2, 5), "ends 2/3, a day off in lieu"),
        (date(2025, 1, 25), date(2025, 2, 14), "the whole festival lies inside the period and still counts"),
        (date(2025, 1, 19), date(2025, 2, 8), "ends on make-up Saturday 2/8: no move"),
        (date(2025, 9, 21), date(2025, 10, 11), "ends on make-up Saturday 10/11: no move"),
        (date(2025, 9, 18), date(2025, 10, 9), "ends 10/8, the last day of the National Day block"),
        (date(2026, 9, 5), date(2026, 9, 28), "ends 9/25 in the 2026 Mid-autumn block (9/25-9/27)"),
    ],
)
def test_calendar_days(start: date, due: date, why: str) -> None:
    result = due_date(start, DAYS_20)
    assert result.due == due, why
    assert result.start == start
    assert result.period == DAYS_20
    assert not result.provisional


def test_ten_calendar_days_ending_on_make_up_sunday() -> None:
    # 9/18 + 10 = 9/28, a Sunday made a working day: it must not move.
    assert due_date(date(2025, 9, 18), Period(10, "calendar_days")).due == date(2025, 9, 28)


def test_working_days_across_2025_national_day() -> None:
    # 9/26 (1), 9/28 make-up Sunday (2), 9/29 (3), 9/30 (4), 10/1-10/8 off, 10/9 (5), 10/10 (6),
    # 10/11 make-up Saturday (7), 10/13 (8), 10/14 (9), 10/15 (10).
    result = due_date(date(2025, 9, 25), WORKING_10)
    assert result.due == date(2025, 10, 15)
    assert not result.provisional


def test_working_days_without_make_up_days_would_be_later() -> None:
    # Same count on a calendar that ignores make-up days (a wrong calendar) lands two days later.
    plain = HolidayCalendar(
        extra=[
            YearSchedule(
                year=2025,
                days_off=frozenset(date(2025, 10, d) for d in range(1, 9)),
                makeup_workdays=frozenset(),
                source="测试用：无调休",
            )
        ]
    )
    assert due_date(date(2025, 9, 25), WORKING_10, plain).due == date(2025, 10, 17)


def test_working_days_across_2026_spring_festival() -> None:
    # 2/13 (1), 2/14 make-up Saturday (2), 2/15-2/23 off, 2/24-2/27 (3-6), 2/28 make-up Saturday (7),
    # 3/2 (8).
    result = due_date(date(2026, 2, 12), Period(8, "working_days"))
    assert result.due == date(2026, 3, 2)


def test_working_days_start_on_a_holiday() -> None:
    # Offer received on 1 October 2025: 10/9 (1), 10/10 (2), 10/11 make-up (3), 10/13-10/17 (4-8),
    # 10/20 (9), 10/21 (10).
    assert due_date(date(2025, 10, 1), WORKING_10).due == date(2025, 10, 21)


@pytest.mark.parametrize(
    ("start", "months", "due"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),  # no 31 February: last day of the month (Art 202)
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2025, 3, 31), 2, date(2025, 6, 3)),  # 5/31 is a Dragon Boat day off (5/31-6/2)
        (date(2025, 12, 31), 2, date(2026, 2, 28)),  # 2026-02-28 is a make-up Saturday: no move
        (date(2025, 8, 15), 3, date(2025, 11, 17)),  # 11/15 is a Saturday
        (date(2025, 11, 30), 3, date(2026, 2, 28)),  # 2/30 does not exist -> 2/28, a working Saturday
    ],
)
def test_months(start: date, months: int, due: date) -> None:
    assert due_date(start, Period(months, "months")).due == due


def test_add_months_clamps_and_goes_backwards() -> None:
    assert add_months(date(2025, 5, 31), -3) == date(2025, 2, 28)
    assert add_months(date(2025, 1, 15), -1) == date(2024, 12, 15)
    assert add_months(date(2025, 12, 31), 14) == date(2027, 2, 28)


def test_unpublished_year_is_provisional_and_counts_weekends_only() -> None:
    # 2027 is beyond chinesecalendar 1.11.0: 2026-12-20 + 12 days = 2027-01-01, a Friday.
    provisional = due_date(date(2026, 12, 20), Period(12, "calendar_days"))
    assert provisional.due == date(2027, 1, 1)
    assert provisional.provisional

    # Once the 2027 notice is loaded (1/1-1/3 off) the same period ends on Monday 1/4.
    final = due_date(date(2026, 12, 20), Period(12, "calendar_days"), HolidayCalendar(extra=[SCHEDULE_2027]))
    assert final.due == date(2027, 1, 4)
    assert not final.provisional


def test_unpublished_year_working_days() -> None:
    result = due_date(date(2027, 3, 1), WORKING_10)
    assert result.due == date(2027, 3, 15)
    assert result.provisional
    assert not due_date(date(2027, 3, 1), WORKING_10, HolidayCalendar(extra=[SCHEDULE_2027])).provisional


def test_unpublished_year_weekend_extension() -> None:
    # 2027-03-06 is a Saturday: weekend-only counting still moves the last day.
    result = due_date(date(2027, 2, 14), DAYS_20)
    assert result.due == date(2027, 3, 8)
    assert result.provisional


def test_late_december_depends_on_next_years_notice() -> None:
    assert due_date(date(2026, 12, 1), DAYS_20).provisional is False  # ends 12/21
    late = due_date(date(2026, 12, 10), DAYS_20)  # ends 12/30: the 2027 New Year block may reach it
    assert late.due == date(2026, 12, 30)
    assert late.provisional
    assert not due_date(date(2026, 12, 10), DAYS_20, HolidayCalendar(extra=[SCHEDULE_2027])).provisional


def test_period_inside_published_years_is_final_even_if_start_is_not() -> None:
    # The first day is not counted, so an unpublished start year does not matter.
    assert not due_date(date(2025, 1, 5), DAYS_20).provisional


@pytest.mark.parametrize(
    ("end", "period", "opens"),
    [
        (date(2025, 12, 31), Period(3, "months"), date(2025, 9, 30)),
        (date(2026, 5, 31), Period(3, "months"), date(2026, 2, 28)),
        (date(2026, 4, 30), Period(2, "months"), date(2026, 2, 28)),
        (date(2025, 12, 31), Period(90, "calendar_days"), date(2025, 10, 2)),
        (date(2026, 1, 4), Period(3, "months"), date(2025, 10, 4)),  # a holiday: no rest-day extension
        (date(2025, 10, 15), WORKING_10, date(2025, 9, 25)),  # counts back over make-up days
    ],
)
def test_window_opens(end: date, period: Period, opens: date) -> None:
    assert window_opens(end, period) == opens


def test_window_opens_working_days_inverts_due_date() -> None:
    start = date(2026, 2, 12)
    period = Period(8, "working_days")
    assert window_opens(due_date(start, period).due, period) == start


def test_end_of_day_utc() -> None:
    instant = end_of_day_utc(date(2025, 1, 1))
    assert instant == datetime(2025, 1, 1, 16, 0, tzinfo=UTC)
    assert instant.utcoffset() == timedelta(0)


def test_legal_date() -> None:
    assert legal_date(datetime(2025, 1, 1, 15, 59, 59, tzinfo=UTC)) == date(2025, 1, 1)
    assert legal_date(datetime(2025, 1, 1, 16, 0, tzinfo=UTC)) == date(2025, 1, 2)
    assert legal_date(datetime(2025, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=-8)))) == date(2025, 1, 2)
    assert legal_date(end_of_day_utc(date(2025, 6, 30))) == date(2025, 7, 1)
    with pytest.raises(ValueError, match="aware"):
        legal_date(datetime(2025, 1, 1, 12, 0))
