from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bargaining.errors import ValidationError
from bargaining.rules.minimum_wage import (
    MONTHLY_PAY_DAYS,
    check_piece_rate,
    minimum_wage,
    piece_rate_floor,
    provinces,
)

D = Decimal


@pytest.mark.parametrize(
    ("on", "tier", "monthly", "hourly", "source", "since"),
    [
        (date(2026, 1, 1), 1, "2660", "25", "苏人社规〔2025〕3号", date(2026, 1, 1)),
        (date(2026, 6, 30), 2, "2430", "23", "苏人社规〔2025〕3号", date(2026, 1, 1)),
        (date(2026, 4, 5), 3, "2180", "21", "苏人社规〔2025〕3号", date(2026, 1, 1)),
        (date(2025, 12, 31), 1, "2280", "22", "苏人社发〔2021〕72号", date(2021, 8, 1)),
        (date(2021, 8, 1), 2, "2070", "20", "苏人社发〔2021〕72号", date(2021, 8, 1)),
        (date(2024, 4, 1), 3, "1840", "18", "苏人社发〔2021〕72号", date(2021, 8, 1)),
        (date(2021, 7, 31), 1, "2020", "18.5", "苏人社发〔2018〕173号", date(2018, 8, 1)),
    ],
)
def test_jiangsu_tables(on: date, tier: int, monthly: str, hourly: str, source: str, since: date) -> None:
    wage = minimum_wage("jiangsu", tier, on)
    assert (wage.monthly, wage.hourly) == (D(monthly), D(hourly))
    assert source in wage.source
    assert wage.effective_from == since
    assert wage.tier == tier and wage.province_name == "江苏省"


def test_chinese_province_names_are_accepted() -> None:
    assert minimum_wage("江苏", 1, date(2026, 1, 1)) == minimum_wage("江苏省", 1, date(2026, 1, 1))
    assert provinces() == {"jiangsu": "江苏省"}


def test_describe() -> None:
    assert minimum_wage("jiangsu", 1, date(2026, 1, 1)).describe() == (
        "江苏省一类 月2660元/小时25元（江苏省人力资源和社会保障厅 苏人社规〔2025〕3号，2026-01-01起）"
    )


def test_errors() -> None:
    with pytest.raises(ValidationError, match="没有已登记的最低工资标准（现有数据自2018-08-01起）"):
        minimum_wage("jiangsu", 1, date(2018, 7, 31))
    with pytest.raises(ValidationError, match="只有一类、二类、三类，没有第4类"):
        minimum_wage("jiangsu", 4, date(2026, 1, 1))
    with pytest.raises(ValidationError, match="没有第0类"):
        minimum_wage("jiangsu", 0, date(2026, 1, 1))
    with pytest.raises(ValidationError, match="没有“浙江”的最低工资标准数据，现有：jiangsu（江苏省）"):
        minimum_wage("浙江", 1, date(2026, 1, 1))


def test_piece_rate_floor_rounds_up_to_the_fen() -> None:
    # Tier 1 2026: daily minimum 2660 / 21.75 = 122.2988... yuan.
    assert D("21.75") == MONTHLY_PAY_DAYS
    assert piece_rate_floor(D("2660"), D("4")) == D("30.58")  # 30.5747...: 30.57 x 4 = 122.28 < 122.30
    assert piece_rate_floor(D("2660"), D("8")) == D("15.29")  # 15.2873...
    assert piece_rate_floor(D("2175"), D("4")) == D("25.00")  # exact: no rounding up
    assert str(piece_rate_floor(D("2175"), D("4"))) == "25.00"


def test_floor_is_the_smallest_rate_that_passes() -> None:
    wage = minimum_wage("jiangsu", 1, date(2026, 4, 1))
    for quota in (D("3"), D("3.5"), D("4"), D("6"), D("8"), D("12.5")):
        floor = piece_rate_floor(wage.monthly, quota)
        assert check_piece_rate(floor, quota, wage) is None
        assert check_piece_rate(floor - D("0.01"), quota, wage) is not None


def test_piece_rate_errors() -> None:
    with pytest.raises(ValidationError, match="劳动定额应为正数"):
        piece_rate_floor(D("2660"), D("0"))
    with pytest.raises(ValidationError, match="月最低工资应为正数"):
        piece_rate_floor(D("-1"), D("4"))
    with pytest.raises(TypeError):
        piece_rate_floor(2660.0, D("4"))  # type: ignore[arg-type]


# Tea picking: yuan per 斤 of fresh leaf, quota = 斤 a picker reaches in a statutory 8-hour day.
def test_bud_picking_below_the_minimum_names_rate_quota_and_floor() -> None:
    wage = minimum_wage("jiangsu", 1, date(2026, 3, 25))  # 明前 bud picking, tier 1 (e.g. 宜兴)
    message = check_piece_rate(D("30"), D("4"), wage, unit="斤")
    assert message == (
        "计件单价30.00元/斤，劳动定额4斤/日，日收入120.00元，低于日最低工资122.30元"
        "（江苏省一类月最低工资2660元÷21.75，江苏省人力资源和社会保障厅 苏人社规〔2025〕3号）；"
        "按此定额，计件单价不得低于30.58元/斤"
    )


def test_tea_rates_that_pass() -> None:
    wage = minimum_wage("jiangsu", 1, date(2026, 4, 10))
    assert check_piece_rate(D("40"), D("4"), wage, unit="斤") is None  # bud tips, Xinyang-level rate
    assert check_piece_rate(D("20"), D("8"), wage, unit="斤") is None  # one bud one leaf
    assert check_piece_rate(D("15"), D("8"), wage, unit="斤") is not None  # Wuhan 2014 rate, 2026 minimum


def test_same_rate_passes_under_the_older_table() -> None:
    # 15 yuan x 8 斤 = 120 yuan: enough under the 2021 table (2280 / 21.75 = 104.83), not under 2026.
    old = minimum_wage("jiangsu", 1, date(2025, 4, 1))
    new = minimum_wage("jiangsu", 1, date(2026, 4, 1))
    assert check_piece_rate(D("15"), D("8"), old, unit="斤") is None
    assert check_piece_rate(D("15"), D("8"), new, unit="斤") is not None


def test_part_time_picker_is_checked_against_the_hourly_minimum() -> None:
    wage = minimum_wage("jiangsu", 1, date(2026, 4, 1))
    # 4 hours at 25 yuan/hour = 100 yuan; 3 斤 in 4 hours at 30 yuan = 90 yuan.
    message = check_piece_rate(D("30"), D("3"), wage, part_time_hours=D("4"), unit="斤")
    assert message == (
        "非全日制：计件单价30.00元/斤，4小时劳动定额3斤，收入90.00元，低于小时最低工资25元×4小时＝100.00元"
        "（江苏省一类，江苏省人力资源和社会保障厅 苏人社规〔2025〕3号）；按此定额，计件单价不得低于33.34元/斤"
    )
    assert check_piece_rate(D("33.34"), D("3"), wage, part_time_hours=D("4"), unit="斤") is None
    # The hourly minimum (25 yuan) is stricter than monthly / 174 hours (15.29 yuan): a rate that meets
    # the full-time floor can still fail for a part-timer.
    assert check_piece_rate(D("30.58"), D("4"), wage) is None
    assert check_piece_rate(D("30.58"), D("2"), wage, part_time_hours=D("2.5"), unit="斤") is not None


def test_part_time_hours_must_be_positive() -> None:
    wage = minimum_wage("jiangsu", 1, date(2026, 4, 1))
    with pytest.raises(ValidationError, match="非全日制工作小时数应为正数"):
        check_piece_rate(D("30"), D("3"), wage, part_time_hours=D("0"))
