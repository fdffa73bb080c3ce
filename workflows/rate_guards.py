"""The piece-rate floor (最低工资规定 Art 12) as a guard on signing, and the checks behind it.

Every cell of every piece-rate table (rate × the row's daily quota) must pay at least the daily
minimum wage on every date of its period, for every employer the agreement binds:

- enterprise case: the enterprise's minimum-wage tier (``Enterprise.min_wage_tier``) in the
  province of its federation (the nearest ``OrgUnit.province`` up the tree);
- adoption case: the same for the adopting enterprise, checked against its own tables and the
  sector tables it adopts (a sector rate that is lawful for a tier-3 county can be unlawful for a
  tier-1 adopter);
- sector case: every enterprise it binds (``CaseCoverage`` rows still ``bound``) with its own
  province and tier, because the sector agreement binds each of them; only when no enterprise is
  listed, the sector federation's province at tier 1 (the highest minimum, so nothing unlawful
  passes unnoticed).

Minimum wages only ever rose in the tables we hold, so a period is checked on its first and last
day (a new table taking effect inside the period is caught on the last day). A period without
dates is checked on the agreement's term start and end.

What blocks signing: a cell below the floor, and a row with rates but no quota (the floor is per
quota). What does not: a federation with no province registered, or a province or date with no
minimum-wage table in ``minimum_wages.json`` — then the check cannot be made, which the rendered
agreement says next to the table ("未能核对"), instead of blocking every piece-rate agreement of
a province whose table has not been loaded yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session

from bargaining.errors import ValidationError
from bargaining.models import Agreement, Case, CaseCoverage, Enterprise, OrgUnit, RateTable
from bargaining.rules.minimum_wage import (
    MONTHLY_PAY_DAYS,
    MinimumWage,
    check_piece_rate,
    minimum_wage,
    piece_rate_floor,
)

from .context import FireContext

MAX_LISTED = 8  # problems spelled out in one refusal; the rest are counted
DAILY_DIVISOR = Fraction(MONTHLY_PAY_DAYS)  # daily minimum = monthly ÷ 21.75


@dataclass(frozen=True)
class WageTarget:
    """Whose minimum wage a rate must meet: a province and tier, and who it stands for."""

    province: str
    tier: int
    label: str  # e.g. "测试茶业0有限公司（一类）"


@dataclass(frozen=True)
class CellProblem:
    table: str
    row_code: str
    row: str
    period_code: str
    period: str
    rate: str
    floor: Decimal | None
    message: str


def _province_of(session: Session, org_unit_id: int) -> str | None:
    """The nearest province set on the org unit or its ancestors."""
    unit = session.get(OrgUnit, org_unit_id)
    if unit is None:
        return None
    if unit.province:
        return unit.province
    ids = [int(part) for part in unit.path.strip("/").split("/") if part.isdigit()]
    rows = session.execute(select(OrgUnit.id, OrgUnit.province).where(OrgUnit.id.in_(ids))).all()
    provinces: dict[int, str | None] = {row.id: row.province for row in rows}
    for ancestor in reversed(ids):
        found = provinces.get(ancestor)
        if found:
            return found
    return None


def wage_targets(session: Session, case: Case) -> tuple[list[WageTarget], list[str]]:
    """The (province, tier) pairs the case's rates must meet, and problems finding them."""
    problems: list[str] = []
    enterprises: list[Enterprise] = []
    if case.enterprise_id is not None:
        enterprise = session.get(Enterprise, case.enterprise_id)
        if enterprise is not None:
            enterprises.append(enterprise)
    elif case.kind == "sector":
        enterprises = list(
            session.scalars(
                select(Enterprise)
                .join(CaseCoverage, CaseCoverage.enterprise_id == Enterprise.id)
                .where(CaseCoverage.case_id == case.id, CaseCoverage.bound.is_(True))
                .order_by(Enterprise.id)
            )
        )
    targets: dict[tuple[str, int], WageTarget] = {}
    for enterprise in enterprises:
        province = _province_of(session, enterprise.org_unit_id)
        if province is None:
            problems.append(f"{enterprise.name}所属工会组织未登记所在省份，无法核对最低工资标准")
            continue
        key = (province, enterprise.min_wage_tier)
        targets.setdefault(key, WageTarget(province, enterprise.min_wage_tier, enterprise.name))
    if not enterprises:
        province = _province_of(session, case.org_unit_id)
        if province is None:
            problems.append("协商所属工会组织未登记所在省份，无法核对最低工资标准")
        else:
            targets[(province, 1)] = WageTarget(province, 1, "行业工会所在地（按一类地区核对）")
    return list(targets.values()), problems


def _tables(session: Session, case: Case, agreement: Agreement) -> list[RateTable]:
    tables = list(
        session.scalars(
            select(RateTable).where(RateTable.agreement_id == agreement.id).order_by(RateTable.id)
        )
    )
    if case.kind == "adoption" and case.parent_id is not None:
        parent_agreement_id = session.scalar(select(Agreement.id).where(Agreement.case_id == case.parent_id))
        if parent_agreement_id is not None:
            tables += list(
                session.scalars(
                    select(RateTable)
                    .where(RateTable.agreement_id == parent_agreement_id)
                    .order_by(RateTable.id)
                )
            )
    return tables


def _decimal(raw: object) -> Decimal | None:
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _dates(period: dict[str, str], agreement: Agreement) -> list[date]:
    found: list[date] = []
    for key, fallback in (("start", agreement.term_start), ("end", agreement.term_end)):
        raw = period.get(key)
        try:
            value = date.fromisoformat(raw) if raw else fallback
        except ValueError:
            value = fallback
        if value is not None and value not in found:
            found.append(value)
    return found


@dataclass
class TableCheck:
    cells: list[CellProblem]  # below the floor: blocks signing
    blocking: list[str]  # rates without a quota: blocks signing
    unchecked: list[str]  # no province or no minimum-wage data: shown, does not block


def check_tables(
    session: Session, case: Case, agreement: Agreement, tables: list[RateTable] | None = None
) -> TableCheck:
    """Every cell below the floor, rows that cannot be checked, and checks that could not be made.

    Each cell is compared exactly (fractions) with the daily minimum of every target on every
    date of its period; the full message is only composed for the cells that fail.
    """
    tables = _tables(session, case, agreement) if tables is None else tables
    if not any(t.rows for t in tables):
        return TableCheck([], [], [])
    targets, unchecked = wage_targets(session, case)
    blocking: list[str] = []
    cells: list[CellProblem] = []
    wages: dict[tuple[str, int, date], MinimumWage | None] = {}

    def wage_on(target: WageTarget, day: date) -> MinimumWage | None:
        key = (target.province, target.tier, day)
        if key not in wages:
            try:
                wages[key] = minimum_wage(target.province, target.tier, day)
            except ValidationError as exc:
                unchecked.append(exc.message)
                wages[key] = None
        return wages[key]

    for table in tables:
        # (period code, name, [(target, day, wage, daily minimum)]) computed once per table
        periods = []
        for period in table.periods:
            checks = []
            for target in targets:
                for day in _dates(period, agreement):
                    wage = wage_on(target, day)
                    if wage is not None:
                        checks.append((target, day, wage, Fraction(wage.monthly) / DAILY_DIVISOR))
            periods.append(
                (str(period.get("code", "")), str(period.get("name") or period.get("code", "")), checks)
            )
        for row in table.rows:
            row_code, row_name = str(row.get("code", "")), str(row.get("name") or row.get("code", ""))
            quota = _decimal(row.get("quota"))
            hours = _decimal(row.get("part_time_hours"))
            by_period = table.cells.get(row_code, {})
            if quota is None or quota <= 0:
                if by_period:
                    blocking.append(f"计件单价表“{table.name}”中“{row_name}”未填写劳动定额，无法核对最低工资")
                continue
            exact_quota = Fraction(quota)
            for period_code, period_name, checks in periods:
                rate = _decimal(by_period.get(period_code))
                if rate is None:
                    continue
                earned = Fraction(rate) * exact_quota
                for target, day, wage, daily in checks:
                    needed = daily if hours is None else Fraction(wage.hourly) * Fraction(hours)
                    if rate > 0 and earned >= needed:
                        continue
                    if rate <= 0:
                        message = f"计件单价应为正数，实际为{rate}"
                    else:
                        message = check_piece_rate(rate, quota, wage, hours, unit=table.unit) or ""
                    cells.append(
                        CellProblem(
                            table=table.name,
                            row_code=row_code,
                            row=row_name,
                            period_code=period_code,
                            period=period_name,
                            rate=str(rate),
                            floor=piece_rate_floor(wage.monthly, quota)
                            if hours is None and rate > 0
                            else None,
                            message=f"计件单价表“{table.name}”“{row_name}”·“{period_name}”"
                            f"（{day.isoformat()}，{target.label}）：{message}",
                        )
                    )
                    break  # one message per cell
    return TableCheck(cells, list(dict.fromkeys(blocking)), list(dict.fromkeys(unchecked)))


def piece_rates_above_floor(ctx: FireContext) -> str | None:
    """Guard on signing: no piece rate below the minimum-wage floor for its quota."""
    agreement = ctx.agreement()
    if agreement is None:
        return None
    check = check_tables(ctx.session, ctx.case, agreement)
    problems = check.blocking + [c.message for c in check.cells]
    if not problems:
        return None
    shown = problems[:MAX_LISTED]
    more = f"；另有{len(problems) - MAX_LISTED}处" if len(problems) > MAX_LISTED else ""
    return "计件单价核对未通过：" + "；".join(shown) + more
