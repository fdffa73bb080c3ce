"""Golden tests: capital amounts (人民币大写) and Chinese dates.

The five amounts marked "official" are the People's Bank of China's own examples from
《正确填写票据和结算凭证的基本规定》 (shared/reference/documents-and-signing.md §5.1); where the
rule allows two spellings we write the example's first one.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bargaining.rules.numerals import (
    amount_in_capitals,
    counting_number,
    date_in_chinese,
    date_numeric,
    money,
    rmb_capital,
    to_fen,
    year_in_chinese,
)

OFFICIAL = [
    ("1409.50", "壹仟肆佰零玖元伍角"),  # a zero between digits → 零; nothing after 角
    ("6007.14", "陆仟零柒元壹角肆分"),  # a run of zeros → one 零
    ("1680.32", "壹仟陆佰捌拾元零叁角贰分"),  # 元 digit 0, 角 not: the rule's first spelling
    ("107000.53", "壹拾万柒仟元零伍角叁分"),  # the rule's first spelling
    ("325.04", "叁佰贰拾伍元零肆分"),  # 角 = 0, 分 ≠ 0 → 零 after 元
    ("16409.02", "壹万陆仟肆佰零玖元零贰分"),  # the rule's other 角-zero example
]

EDGES = [
    ("0", "零元整"),
    ("0.00", "零元整"),
    ("1600", "壹仟陆佰元整"),
    ("1600.00", "壹仟陆佰元整"),
    ("5450.00", "伍仟肆佰伍拾元整"),
    ("10", "壹拾元整"),  # a leading 拾 is written 壹拾
    ("110", "壹佰壹拾元整"),
    ("100000", "壹拾万元整"),  # not 拾万元整
    ("100010", "壹拾万零壹拾元整"),
    ("1005.05", "壹仟零伍元零伍分"),
    ("100000000", "壹亿元整"),
    ("100001000", "壹亿零壹仟元整"),
    ("1000000.01", "壹佰万元零壹分"),
    ("1000000000000", "壹万亿元整"),
    ("1000050000000", "壹万亿零伍仟万元整"),
    ("0.50", "伍角"),
    ("0.05", "伍分"),
    ("0.55", "伍角伍分"),
    ("12.30", "壹拾贰元叁角"),
    ("-25.5", "负贰拾伍元伍角"),
    ("9999999999999999.99", "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
]


@pytest.mark.parametrize(("amount", "expected"), OFFICIAL + EDGES)
def test_capitals(amount: str, expected: str) -> None:
    assert amount_in_capitals(Decimal(amount)) == expected
    assert amount_in_capitals(amount) == expected


def test_rmb_prefix_without_gap() -> None:
    assert rmb_capital(Decimal("1600")) == "人民币壹仟陆佰元整"
    assert rmb_capital(1680) == "人民币壹仟陆佰捌拾元整"


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("1.995", "贰元整"),  # half-up at the fen, then 整
        ("1.994", "壹元玖角玖分"),
        ("0.125", "壹角叁分"),  # cn2an truncates this to 壹角贰分
        ("0.005", "壹分"),
        ("0.004", "零元整"),
        ("2.675", "贰元陆角捌分"),  # a float would round this down (2.67499999…)
        ("-0.125", "负壹角叁分"),  # half-up is away from zero
    ],
)
def test_rounds_half_up_from_decimal(amount: str, expected: str) -> None:
    assert amount_in_capitals(Decimal(amount)) == expected


def test_refuses_floats_and_nonsense() -> None:
    with pytest.raises(TypeError):
        amount_in_capitals(1600.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        amount_in_capitals(True)
    with pytest.raises(ValueError):
        amount_in_capitals("12元")
    with pytest.raises(ValueError):
        amount_in_capitals(Decimal("NaN"))
    with pytest.raises(ValueError):
        amount_in_capitals(Decimal("10000000000000000"))  # 17 integer digits


def test_arabic_money() -> None:
    assert money(Decimal("5450")) == "5,450.00"
    assert money("1234567.005") == "1,234,567.01"
    assert to_fen("2.675") == Decimal("2.68")


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 26), "二〇二六年十一月二十六日"),
        (date(2026, 1, 1), "二〇二六年一月一日"),
        (date(2000, 10, 10), "二〇〇〇年十月十日"),
        (date(2025, 12, 31), "二〇二五年十二月三十一日"),
        (date(2019, 2, 20), "二〇一九年二月二十日"),
    ],
)
def test_dates_in_chinese(day: date, expected: str) -> None:
    assert date_in_chinese(day) == expected
    assert "\u3007" in year_in_chinese(day.year)  # 〇 is U+3007, never ○ or O
    assert "零" not in date_in_chinese(day)


def test_numeric_dates_and_counting_numbers() -> None:
    assert date_numeric(date(2026, 1, 3)) == "2026年1月3日"
    assert [counting_number(n) for n in (1, 10, 12, 20, 21, 100, 105, 110, 1001)] == [
        "一",
        "十",
        "十二",
        "二十",
        "二十一",
        "一百",
        "一百零五",
        "一百一十",
        "一千零一",
    ]
    with pytest.raises(ValueError):
        counting_number(10000)
