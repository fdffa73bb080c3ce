"""Minimum wage (最低工资标准) and the piece-rate floor it implies.

最低工资规定 (劳动和社会保障部令第21号) Art 12: piece-rate pay on a reasonable quota may not fall below
the minimum wage. Conversion (劳社部发〔2008〕3号): daily wage = monthly ÷ 21.75; part-time
(非全日制) workers are checked against the hourly minimum instead.

The tables are package data (``minimum_wages.json``): each entry has its source and effective date,
and a later entry for the same province supersedes the earlier one from its effective date.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import cache
from importlib import resources
from typing import Any

from bargaining.errors import ValidationError
from bargaining.rules._text import plain, small_number_cn, yuan

MONTHLY_PAY_DAYS = Decimal("21.75")  # 月计薪天数
_FEN = Fraction(1, 100)


@dataclass(frozen=True)
class MinimumWage:
    province: str
    province_name: str
    tier: int
    monthly: Decimal
    hourly: Decimal
    source: str
    effective_from: date

    def describe(self) -> str:
        """E.g. ``江苏省一类 月2660元/小时25元（苏人社规〔2025〕3号，2026-01-01起）``."""
        return (
            f"{self.province_name}{small_number_cn(self.tier)}类 "
            f"月{plain(self.monthly)}元/小时{plain(self.hourly)}元"
            f"（{self.source}，{self.effective_from.isoformat()}起）"
        )


@dataclass(frozen=True)
class _Table:
    province: str
    effective_from: date
    source: str
    monthly: tuple[Decimal, ...]
    hourly: tuple[Decimal, ...]


@dataclass(frozen=True)
class _Data:
    names: dict[str, str]
    aliases: dict[str, str]
    tables: tuple[_Table, ...]


def _amounts(raw: list[Any]) -> tuple[Decimal, ...]:
    amounts = tuple(Decimal(str(value)) for value in raw)
    if not amounts or any(amount <= 0 for amount in amounts):
        raise ValueError(f"minimum-wage amounts must be positive: {raw}")
    return amounts


@cache
def _data() -> _Data:
    text = resources.files("bargaining.rules").joinpath("minimum_wages.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    names = {code: entry["name"] for code, entry in raw["provinces"].items()}
    aliases = {alias: code for code, entry in raw["provinces"].items() for alias in entry.get("aliases", ())}
    tables = []
    for entry in raw["tables"]:
        table = _Table(
            province=entry["province"],
            effective_from=date.fromisoformat(entry["effective_from"]),
            source=entry["source"],
            monthly=_amounts(entry["monthly"]),
            hourly=_amounts(entry["hourly"]),
        )
        if table.province not in names or len(table.monthly) != len(table.hourly):
            raise ValueError(f"inconsistent minimum-wage table: {entry}")
        tables.append(table)
    return _Data(names, aliases, tuple(sorted(tables, key=lambda t: (t.province, t.effective_from))))


def provinces() -> dict[str, str]:
    """Province codes with minimum-wage data and their Chinese names."""
    return dict(_data().names)


def minimum_wage(province: str, tier: int, on: date) -> MinimumWage:
    """The minimum wage of ``tier`` (1 = highest) in force in ``province`` on ``on``."""
    data = _data()
    key = province.strip()
    code = key.lower() if key.lower() in data.names else data.aliases.get(key)
    if code is None:
        known = "、".join(f"{c}（{name}）" for c, name in data.names.items())
        raise ValidationError(f"没有“{province}”的最低工资标准数据，现有：{known}", code="unknown_province")
    name = data.names[code]
    in_force = [t for t in data.tables if t.province == code and t.effective_from <= on]
    if not in_force:
        earliest = min(t.effective_from for t in data.tables if t.province == code)
        raise ValidationError(
            f"{name}在{on.isoformat()}没有已登记的最低工资标准（现有数据自{earliest.isoformat()}起）",
            code="no_minimum_wage",
        )
    table = in_force[-1]
    if not 1 <= tier <= len(table.monthly):
        tiers = "、".join(f"{small_number_cn(i)}类" for i in range(1, len(table.monthly) + 1))
        raise ValidationError(
            f"{name}最低工资标准（{table.source}）只有{tiers}，没有第{tier}类", code="unknown_tier"
        )
    return MinimumWage(
        province=code,
        province_name=name,
        tier=tier,
        monthly=table.monthly[tier - 1],
        hourly=table.hourly[tier - 1],
        source=table.source,
        effective_from=table.effective_from,
    )


def _exact(value: Decimal, what: str) -> Fraction:
    if not isinstance(value, Decimal):
        raise TypeError(f"{what} must be a Decimal, got {type(value).__name__}")
    if not value.is_finite() or value <= 0:
        raise ValidationError(f"{what}应为正数，实际为{value}")
    return Fraction(value)


def _ceil_fen(value: Fraction) -> Decimal:
    # Round UP: a rate rounded down to the fen would pay less than the minimum at exactly the quota.
    return Decimal(math.ceil(value / _FEN)).scaleb(-2)


def piece_rate_floor(monthly_minimum: Decimal, quota_units_per_day: Decimal) -> Decimal:
    """Lowest rate per unit (元/件, 元/斤 …) at which the daily quota earns the daily minimum:
    monthly ÷ 21.75 ÷ quota, rounded up to the fen."""
    daily = _exact(monthly_minimum, "月最低工资") / Fraction(MONTHLY_PAY_DAYS)
    return _ceil_fen(daily / _exact(quota_units_per_day, "劳动定额"))


def check_piece_rate(
    rate: Decimal,
    quota_units_per_day: Decimal,
    wage: MinimumWage,
    part_time_hours: Decimal | None = None,
    *,
    unit: str = "件",
) -> str | None:
    """A Chinese message when ``rate`` × quota pays below the minimum, else None.

    Full-time: compared with the daily minimum (monthly ÷ 21.75) for the quota of a statutory 8-hour
    day. Part-time (非全日制): ``quota_units_per_day`` is the quota for ``part_time_hours`` and is
    compared with hourly minimum × hours.
    """
    exact_rate = _exact(rate, "计件单价")
    quota = _exact(quota_units_per_day, "劳动定额")
    earned = exact_rate * quota
    tier = f"{wage.province_name}{small_number_cn(wage.tier)}类"
    if part_time_hours is None:
        needed = Fraction(wage.monthly) / Fraction(MONTHLY_PAY_DAYS)
        if earned >= needed:
            return None
        return (
            f"计件单价{yuan(rate)}元/{unit}，劳动定额{plain(quota_units_per_day)}{unit}/日，日收入{yuan(earned)}元，"
            f"低于日最低工资{yuan(needed)}元（{tier}月最低工资{plain(wage.monthly)}元÷21.75，{wage.source}）；"
            f"按此定额，计件单价不得低于{piece_rate_floor(wage.monthly, quota_units_per_day)}元/{unit}"
        )
    hours = _exact(part_time_hours, "非全日制工作小时数")
    needed = Fraction(wage.hourly) * hours
    if earned >= needed:
        return None
    return (
        f"非全日制：计件单价{yuan(rate)}元/{unit}，{plain(part_time_hours)}小时劳动定额{plain(quota_units_per_day)}{unit}，"
        f"收入{yuan(earned)}元，低于小时最低工资{plain(wage.hourly)}元×{plain(part_time_hours)}小时＝{yuan(needed)}元"
        f"（{tier}，{wage.source}）；按此定额，计件单价不得低于{_ceil_fen(needed / quota)}元/{unit}"
    )
