"""The federation tree, sectors and enterprises."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bargaining.errors import NotFound, ValidationError
from bargaining.models import ORG_LEVELS, Enterprise, OrgUnit, Sector
from bargaining.rules.jurisdictions import get_rule_set
from bargaining.rules.uscc import validate_credit_code


def add_org_unit(
    session: Session,
    *,
    code: str,
    name: str,
    level: str,
    parent: OrgUnit | None = None,
    jurisdiction: str | None = None,
    province: str | None = None,
) -> OrgUnit:
    if level not in ORG_LEVELS:
        raise ValidationError(f"未知的组织层级：{level}（可选：{'、'.join(ORG_LEVELS)}）")
    if session.scalar(select(OrgUnit.id).where(OrgUnit.code == code)) is not None:
        raise ValidationError(f"组织代码 {code} 已存在。")
    jurisdiction = jurisdiction or (parent.jurisdiction if parent else "national")
    get_rule_set(jurisdiction)
    unit = OrgUnit(
        code=code,
        name=name,
        level=level,
        parent_id=parent.id if parent else None,
        jurisdiction=jurisdiction,
        province=province or (parent.province if parent else None),
        path="",
    )
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    return unit


def add_sector(session: Session, *, code: str, name: str) -> Sector:
    sector = Sector(code=code, name=name)
    session.add(sector)
    session.flush()
    return sector


def get_sector(session: Session, code: str) -> Sector:
    sector = session.scalar(select(Sector).where(Sector.code == code))
    if sector is None:
        raise NotFound(f"找不到行业 {code}。")
    return sector


def add_enterprise(
    session: Session,
    *,
    credit_code: str,
    name: str,
    org_unit: OrgUnit,
    sector: Sector | None = None,
    headcount: int = 0,
    min_wage_tier: int = 1,
    address: str | None = None,
    legal_representative: str | None = None,
    union_name: str | None = None,
    union_chair: str | None = None,
) -> Enterprise:
    code = validate_credit_code(credit_code)
    if not name.strip():
        raise ValidationError("企业名称不能为空。")
    if headcount < 0:
        raise ValidationError("职工人数不能为负数。")
    if min_wage_tier not in (1, 2, 3, 4):
        raise ValidationError("最低工资档次应为1至4档。")
    if session.scalar(select(Enterprise.id).where(Enterprise.credit_code == code)) is not None:
        raise ValidationError(f"统一社会信用代码 {code} 的企业已登记。")
    enterprise = Enterprise(
        credit_code=code,
        name=name.strip(),
        org_unit_id=org_unit.id,
        sector_id=sector.id if sector else None,
        headcount=headcount,
        min_wage_tier=min_wage_tier,
        address=address,
        legal_representative=legal_representative,
        union_name=union_name,
        union_chair=union_chair,
    )
    session.add(enterprise)
    session.flush()
    return enterprise


def get_enterprise(session: Session, ref: str) -> Enterprise:
    text = ref.strip().upper()
    enterprise = session.scalar(select(Enterprise).where(Enterprise.credit_code == text))
    if enterprise is None and text.isascii() and text.isdigit():
        enterprise = session.get(Enterprise, int(text))
    if enterprise is None:
        raise NotFound(f"找不到企业 {ref}，或您无权查看。")
    return enterprise
