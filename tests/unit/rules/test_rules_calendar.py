from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest

from bargaining.errors import ValidationError
from bargaining.rules.calendar import HolidayCalendar, YearSchedule, default_calendar, package_years


def _span(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# shared/domain.md, from the State Council notices.
DAYS_OFF_2025 = [
    date(2025, 1, 1),
    *_span(date(2025, 1, 28), date(2025, 2, 4)),
    *_span(date(2025, 4, 4), date(2025, 4, 6)),
    *_span(date(2025, 5, 1), date(2025, 5, 5)),
    *_span(date(2025, 5, 31), date(2025, 6, 2)),
    *_span(date(2025, 10, 1), date(2025, 10, 8)),
]
MAKEUP_2025 = [date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28), date(2025, 10, 11)]
DAYS_OFF_2026 = [
    *_span(date(2026, 1, 1), date(2026, 1, 3)),
    *_span(date(2026, 2, 15), date(2026, 2, 23)),
    *_span(date(2026, 4, 4), date(2026, 4, 6)),
    *_span(date(2026, 5, 1), date(2026, 5, 5)),
    *_span(date(2026, 6, 19), date(2026, 6, 21)),
    *_span(date(2026, 9, 25), date(2026, 9, 27)),
    *_span(date(2026, 10, 1), date(2026, 10, 7)),
]
MAKEUP_2026 = [
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
]


@pytest.mark.parametrize("day", DAYS_OFF_2025 + DAYS_OFF_2026, ids=str)
def test_days_off_are_rest_days(day: date) -> None:
    cal = default_calendar()
    assert cal.is_rest_day(day)
    assert not cal.is_working_day(day)


@pytest.mark.parametrize("day", MAKEUP_2025 + MAKEUP_2026, ids=str)
def test_makeup_days_are_working_weekend_days(day: date) -> None:
    cal = default_calendar()
    assert day.weekday() >= 5
    assert cal.is_working_day(day)
    assert not cal.is_rest_day(day)


@pytest.mark.parametrize("year", [2025, 2026])
def test_schedule_matches_the_notice_exactly(year: int) -> None:
    schedule = default_calendar().schedule(year)
    assert schedule is not None
    off, makeup = (DAYS_OFF_2025, MAKEUP_2025) if year == 2025 else (DAYS_OFF_2026, MAKEUP_2026)
    assert schedule.days_off == frozenset(off)
    assert schedule.makeup_workdays == frozenset(makeup)
    assert "chinesecalendar" in schedule.source


def test_ordinary_days() -> None:
    cal = default_calendar()
    assert cal.is_rest_day(date(2025, 3, 1))  # Saturday
    assert cal.is_rest_day(date(2025, 3, 2))  # Sunday
    assert cal.is_working_day(date(2025, 3, 3))  # Monday


def test_package_covers_2004_to_2026() -> None:
    assert package_years() == (2004, 2026)
    cal = default_calendar()
    assert cal.published_years() == frozenset(range(2004, 2027))
    assert cal.is_published(2004) and cal.is_published(2026)
    assert not cal.is_published(2003) and not cal.is_published(2027)
    # The package itself refuses the years outside; we must not.
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))


def test_unpublished_year_uses_weekends_and_never_raises() -> None:
    cal = default_calendar()
    assert cal.schedule(2027) is None
    assert cal.is_working_day(date(2027, 1, 1))  # a Friday: New Year's Day is unknown until published
    assert cal.is_rest_day(date(2027, 1, 2))
    assert cal.is_rest_day(date(2003, 1, 4))
    assert not cal.is_settled(date(2027, 6, 1))


def test_package_agrees_with_chinesecalendar_for_every_day() -> None:
    cal = default_calendar()
    first, last = package_years()
    for day in _span(date(first, 1, 1), date(last, 12, 31)):
        assert cal.is_working_day(day) == chinese_calendar.is_workday(day), day


def test_new_year_block_in_december_belongs_to_next_notice() -> None:
    cal = default_calendar()
    schedule_2019 = cal.schedule(2019)
    assert schedule_2019 is not None
    assert {date(2018, 12, 30), date(2018, 12, 31)} <= schedule_2019.days_off
    assert date(2018, 12, 29) in schedule_2019.makeup_workdays
    assert cal.is_working_day(date(2018, 12, 29))


def test_late_december_waits_for_next_years_notice() -> None:
    cal = default_calendar()
    assert cal.is_settled(date(2026, 12, 24))
    assert not cal.is_settled(date(2026, 12, 28))
    assert cal.is_settled(date(2025, 12, 28))


SCHEDULE_2027 = YearSchedule(
    year=2027,
    days_off=frozenset({date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)}),
    makeup_workdays=frozenset({date(2027, 1, 9)}),
    source="测试用：国务院办公厅关于2027年部分节假日安排的通知",
)


def test_extra_year_is_published_and_used() -> None:
    cal = HolidayCalendar(extra=[SCHEDULE_2027])
    assert cal.is_published(2027)
    assert cal.schedule(2027) is SCHEDULE_2027
    assert cal.is_rest_day(date(2027, 1, 1))
    assert cal.is_working_day(date(2027, 1, 9))  # a Saturday made a working day
    assert cal.is_settled(date(2026, 12, 28))
    assert not default_calendar().is_published(2027)


def test_extra_overrides_the_package_for_the_same_year() -> None:
    replacement = YearSchedule(
        year=2025, days_off=frozenset({date(2025, 1, 1)}), makeup_workdays=frozenset(), source="更正通知"
    )
    cal = HolidayCalendar(extra=[replacement])
    assert cal.schedule(2025) is replacement
    assert cal.is_working_day(date(2025, 10, 8))  # no longer a day off
    assert cal.is_rest_day(date(2025, 10, 11))  # no longer a make-up day: plain Saturday
    assert cal.is_rest_day(date(2026, 10, 7))  # other years untouched


def test_default_calendar_is_cached() -> None:
    assert default_calendar() is default_calendar()


@pytest.mark.parametrize(
    ("days_off", "makeup", "source", "message"),
    [
        ({date(2027, 1, 1)}, {date(2027, 1, 1)}, "通知", "既是放假日又是调休上班日"),
        ({date(2028, 1, 1)}, set(), "通知", "不属于2027年节假日安排的范围"),
        ({date(2026, 12, 1)}, set(), "通知", "不属于2027年节假日安排的范围"),
        (set(), {date(2027, 1, 8)}, "通知", "调休上班日应为周六或周日，2027-01-08不是"),
        (set(), set(), " ", "缺少来源"),
    ],
)
def test_year_schedule_rejects_inconsistent_data(
    days_off: set[date], makeup: set[date], source: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        YearSchedule(2027, frozenset(days_off), frozenset(makeup), source)
