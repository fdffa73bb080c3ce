"""Use cases on bargaining cases: one function per user action, one transaction each."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.agreement_text import agreement_text_hash
from bargaining.db import Database
from bargaining.errors import Conflict, Forbidden, NotFound, ValidationError
from bargaining.models import (
    SIDES,
    Agreement,
    Case,
    CaseCoverage,
    Enterprise,
    OrgUnit,
    RateTable,
    Representative,
    Sector,
    User,
)
from bargaining.rules.periods import legal_date
from workflows import engine
from workflows.cases import start_case
from workflows.registry import definition

from . import runtime
from .orgs import get_enterprise, get_sector
from .repository import get_case, visible_cases, visible_enterprises
from .uow import unit_of_work
from .use_case import fire_on

STAFF = frozenset({"instructor", "federation_admin"})
REPS_EDITABLE = ("preparation", "offer_sent", "negotiating", "suspended")
TERMS_EDITABLE = (
    "preparation",
    "offer_sent",
    "negotiating",
    "suspended",
    "awaiting_congress",
    "awaiting_signature",
)


def require_role(actor: Actor, roles: frozenset[str], what: str) -> None:
    if not (actor.roles & roles) and not actor.is_system:
        raise Forbidden(f"您的角色无权{what}。")


def _check_version(case: Case, expected_version: int | None) -> None:
    if expected_version is not None and case.version != expected_version:
        raise Conflict(
            f"协商 {case.number} 已被他人修改（当前版本 {case.version}，您看到的是版本 {expected_version}），请刷新后重试。",
            details={"current_version": case.version},
        )


def create_case(
    db: Database,
    actor: Actor,
    *,
    kind: str,
    title: str | None = None,
    enterprise: str | None = None,
    sector: str | None = None,
    parent: str | None = None,
    instructor: str | None = None,
    jurisdiction: str | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    require_role(actor, STAFF, "新建协商")
    now = now or runtime.utcnow()
    with unit_of_work(db) as uow:
        s = uow.session
        enterprise_row: Enterprise | None = None
        sector_id: int | None = None
        parent_case: Case | None = None
        if kind in ("enterprise", "adoption"):
            if not enterprise:
                raise ValidationError("请指定企业（统一社会信用代码）。")
            enterprise_row = _visible_enterprise(s, actor, enterprise)
            org_unit_id = enterprise_row.org_unit_id
            sector_id = enterprise_row.sector_id
        if kind == "adoption":
            if not parent:
                raise ValidationError("履约协议须指定所采纳的行业协商（--parent）。")
            parent_case = get_case(s, actor, parent)
            if parent_case.kind != "sector":
                raise ValidationError(f"{parent_case.number} 不是行业协商。")
            assert enterprise_row is not None
            sector_id = parent_case.sector_id
            covered = s.scalar(
                select(CaseCoverage.id).where(
                    CaseCoverage.case_id == parent_case.id,
                    CaseCoverage.enterprise_id == enterprise_row.id,
                    CaseCoverage.bound.is_(True),
                )
            )
            if covered is None:
                raise ValidationError(
                    f"{enterprise_row.name} 不在行业协商 {parent_case.number} 的覆盖范围内。"
                )
        if kind == "sector" and parent:
            # A special agreement (专项集体协议) of the same sector round: same sector, federation and coverage.
            parent_case = get_case(s, actor, parent)
            if parent_case.kind != "sector" or parent_case.parent_id is not None:
                raise ValidationError(f"{parent_case.number} 不是行业协商主协议，不能在其下新建专项协议。")
            sector_id = parent_case.sector_id
            org_unit_id = parent_case.org_unit_id
        elif kind == "sector":
            if not sector:
                raise ValidationError("请指定行业（--sector）。")
            sector_id = get_sector(s, sector).id
            org_unit_id = _actor_org_unit(s, actor)
        elif kind not in ("enterprise", "adoption"):
            raise ValidationError(
                f"未知的协商类型：{kind}（可选：enterprise 企业、sector 行业、adoption 履约）"
            )
        if enterprise_row is not None:
            _refuse_second_open_case(s, kind, enterprise_row)
        org = s.get(OrgUnit, org_unit_id)
        assert org is not None
        instructor_id = _instructor_id(s, actor, instructor, org_unit_id)
        if title is None:
            what = {
                "enterprise": "工资专项集体合同",
                "sector": "行业性工资集体协议",
                "adoption": "履约集体协议",
            }[kind]
            if kind == "sector" and parent_case is not None:
                what = "专项集体协议"
            sector_name = s.scalar(select(Sector.name).where(Sector.id == sector_id)) or ""
            owner = enterprise_row.name if enterprise_row else f"{sector_name}行业"
            title = f"{owner}{legal_date(now).year}年度{what}"
        case = start_case(
            s,
            actor=actor,
            kind=kind,
            title=title,
            org_unit_id=org_unit_id,
            jurisdiction=_jurisdiction(actor, jurisdiction, org.jurisdiction),
            enterprise_id=enterprise_row.id if enterprise_row else None,
            sector_id=sector_id,
            parent_id=parent_case.id if parent_case else None,
            instructor_id=instructor_id,
            now=now,
            request_id=request_id,
        )
        if kind == "sector" and parent_case is not None:
            for row in s.scalars(select(CaseCoverage).where(CaseCoverage.case_id == parent_case.id)):
                s.add(CaseCoverage(case_id=case.id, enterprise_id=row.enterprise_id, headcount=row.headcount))
        return case_summary(case)


NOT_IN_PROGRESS = ("in_force", "expired", "terminated")


def _jurisdiction(actor: Actor, asked: str | None, federation: str) -> str:
    """A case follows its federation's rule set; only a federation admin may choose another."""
    if asked and asked != federation and "federation_admin" not in actor.roles and not actor.is_system:
        raise Forbidden("只有工会管理员可以为协商指定其他地区的规则。")
    return asked or federation


def _refuse_second_open_case(session: Session, kind: str, enterprise: Enterprise) -> None:
    """One bargaining round at a time per enterprise and kind (a renewal may start while in force).

    The enterprise row is locked first on PostgreSQL, so two concurrent creations queue and the second
    sees the first (SQLite's BEGIN IMMEDIATE already serialises writers)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Enterprise.id).where(Enterprise.id == enterprise.id).with_for_update())
    open_number = session.scalar(
        select(Case.number).where(
            Case.enterprise_id == enterprise.id, Case.kind == kind, Case.state.not_in(NOT_IN_PROGRESS)
        )
    )
    if open_number is not None:
        raise ValidationError(f"{enterprise.name}已有进行中的协商 {open_number}，不能重复新建。")


def _visible_enterprise(session: Session, actor: Actor, ref: str) -> Enterprise:
    enterprise = get_enterprise(session, ref)
    visible = session.scalar(visible_enterprises(actor).where(Enterprise.id == enterprise.id))
    if visible is None:
        raise NotFound(f"找不到企业 {ref}，或您无权查看。")  # same answer as for no such enterprise
    return enterprise


def _actor_org_unit(session: Session, actor: Actor) -> int:
    if actor.user_id is None:
        raise ValidationError("请指定操作用户。")
    user = session.get(User, actor.user_id)
    assert user is not None
    return user.org_unit_id


def _instructor_id(session: Session, actor: Actor, username: str | None, org_unit_id: int) -> int | None:
    if username is None:
        return actor.user_id if "instructor" in actor.roles else None
    user = session.scalar(select(User).where(User.username == username))
    if user is None or "instructor" not in user.roles or not user.active:
        raise ValidationError(f"{username} 不是在岗的工资集体协商指导员。")
    user_path = session.scalar(select(OrgUnit.path).where(OrgUnit.id == user.org_unit_id)) or ""
    case_path = session.scalar(select(OrgUnit.path).where(OrgUnit.id == org_unit_id)) or ""
    if not case_path.startswith(user_path):
        raise ValidationError(f"{user.display_name} 不负责该协商所在区域，无法查看该协商。")
    return user.id


def fire_action(
    db: Database,
    actor: Actor,
    ref: str | int,
    trigger: str,
    *,
    values: dict[str, Any] | None = None,
    reason: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    summary, computed = fire_on(
        db,
        actor,
        ref,
        trigger,
        get=get_case,
        fire=engine.fire,
        summary=case_summary,
        now=now,
        values=values,
        reason=reason,
        request_id=request_id,
        expected_version=expected_version,
    )
    summary.update({k: v for k, v in computed.items() if isinstance(v, str | int | bool)})
    return summary


def add_representative(
    db: Database,
    actor: Actor,
    ref: str | int,
    *,
    side: str,
    name: str,
    person_key: str | None = None,
    position: str | None = None,
    chief: bool = False,
    outsider: bool = False,
    front_line: bool = False,
    expected_version: int | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    require_role(actor, STAFF, "登记协商代表")
    now = now or runtime.utcnow()
    if side not in SIDES:
        raise ValidationError("代表方应为 worker（职工方）或 employer（企业方）。")
    if not name.strip():
        raise ValidationError("请填写代表姓名。")
    with unit_of_work(db) as uow:
        s = uow.session
        case = get_case(s, actor, ref, for_update=True)
        _check_version(case, expected_version)
        allowed = REPS_EDITABLE if case.kind != "adoption" else ("preparation",)
        if case.state not in allowed:
            raise ValidationError(f"当前阶段（{_state_label(case)}）不能变更协商代表。")
        rep = Representative(
            case_id=case.id,
            side=side,
            name=name.strip(),
            person_key=(person_key or name).strip(),
            position=position,
            chief=chief,
            outsider=outsider,
            front_line=front_line,
            created_at=now,
        )
        s.add(rep)
        engine.record(
            s,
            case,
            "add_representative",
            actor,
            now=now,
            payload={"side": side, "name": rep.name, "chief": chief, "outsider": outsider},
            request_id=request_id,
        )
        return case_summary(case)


def _decimal(raw: Any, label: str) -> Decimal | None:
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ValidationError(f"“{label}”应为数字：{raw}") from None
    if not value.is_finite() or value < 0:
        raise ValidationError(f"“{label}”应为非负数：{raw}")
    return value


def _date(raw: Any, label: str) -> date | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ValidationError(f"“{label}”的日期格式应为 YYYY-MM-DD：{raw}") from None


TERM_FIELDS = {
    "title": "协议名称",
    "term_start": "合同期限起",
    "term_end": "合同期限止",
    "avg_wage_before": "协商前平均工资",
    "avg_wage_after": "协商后平均工资",
    "increase_pct": "增幅（%）",
    "minimum_wage_clause": "最低工资条款",
    "payment_day": "工资支付日",
    "clauses": "条款",
    "rate_tables": "计件单价表",
}


def set_agreement_terms(
    db: Database,
    actor: Actor,
    ref: str | int,
    terms: dict[str, Any],
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Create or change the draft's terms. A change after the congress vote sends it back."""
    require_role(actor, STAFF, "修改协议条款")
    now = now or runtime.utcnow()
    unknown = sorted(set(terms) - set(TERM_FIELDS))
    if unknown:
        raise ValidationError(f"不认识的条款字段：{'、'.join(unknown)}。可填写：{'、'.join(TERM_FIELDS)}")
    with unit_of_work(db) as uow:
        s = uow.session
        case = get_case(s, actor, ref, for_update=True)
        _check_version(case, expected_version)
        if case.state not in TERMS_EDITABLE:
            raise ValidationError(
                f"当前阶段（{_state_label(case)}）不能修改协议文本；如需变更，请开启新一轮协商。"
            )
        agreement = s.scalar(select(Agreement).where(Agreement.case_id == case.id))
        if agreement is None:
            agreement = Agreement(case_id=case.id, title=case.title, clauses=[])
            s.add(agreement)
            s.flush()
        old_hash = agreement.text_hash
        _apply_terms(s, agreement, terms)
        agreement.updated_at = now
        new_hash = agreement.text_hash
        changed = new_hash != old_hash
        engine.record(
            s,
            case,
            "update_agreement",
            actor,
            now=now,
            payload={"fields": sorted(terms), "text_hash": new_hash},
            request_id=request_id,
        )
        if changed and case.state == "awaiting_signature" and new_hash != agreement.approved_text_hash:
            engine.fire(
                s,
                case,
                "reopen_congress",
                actor,
                reason="职代会通过后协议文本被修改，须重新审议",
                calendar=runtime.calendar_loader(s),
                now=now,
                request_id=request_id,
            )
        summary = case_summary(case)
        summary["text_hash"] = new_hash
        return summary


def _apply_terms(session: Session, agreement: Agreement, terms: dict[str, Any]) -> None:
    if "title" in terms:
        if not str(terms["title"]).strip():
            raise ValidationError("协议名称不能为空。")
        agreement.title = str(terms["title"]).strip()
    for key in ("term_start", "term_end"):
        if key in terms:
            setattr(agreement, key, _date(terms[key], TERM_FIELDS[key]))
    if agreement.term_start and agreement.term_end and agreement.term_end <= agreement.term_start:
        raise ValidationError("合同期限止日应晚于起日。")
    for key in ("avg_wage_before", "avg_wage_after", "increase_pct"):
        if key in terms:
            setattr(agreement, key, _decimal(terms[key], TERM_FIELDS[key]))
    if agreement.avg_wage_before and agreement.avg_wage_after and "increase_pct" not in terms:
        agreement.increase_pct = (
            (agreement.avg_wage_after - agreement.avg_wage_before) / agreement.avg_wage_before * 100
        ).quantize(Decimal("0.01"))
    if "minimum_wage_clause" in terms:
        agreement.minimum_wage_clause = terms["minimum_wage_clause"] or None
    if "payment_day" in terms:
        day = terms["payment_day"]
        if day in (None, ""):
            agreement.payment_day = None
        else:
            try:
                agreement.payment_day = int(day)
            except (TypeError, ValueError):
                raise ValidationError(f"工资支付日应为1至31的整数：{day}") from None
            if not 1 <= agreement.payment_day <= 31:
                raise ValidationError(f"工资支付日应为1至31的整数：{day}")
    if "clauses" in terms:
        clauses = terms["clauses"] or []
        if not isinstance(clauses, list) or not all(
            isinstance(c, dict) and str(c.get("title", "")).strip() and str(c.get("text", "")).strip()
            for c in clauses
        ):
            raise ValidationError("条款应为列表，每条包含标题（title）和内容（text）。")
        agreement.clauses = [{"title": str(c["title"]), "text": str(c["text"])} for c in clauses]
    if "rate_tables" in terms:
        _replace_rate_tables(session, agreement, terms["rate_tables"] or [])
    session.flush()
    agreement.text_hash = agreement_text_hash(session, agreement)


def _replace_rate_tables(session: Session, agreement: Agreement, tables: list[dict[str, Any]]) -> None:
    from sqlalchemy import delete

    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ValidationError("计件单价表应为列表，每张表是一个对象（名称、计价单位、行、时段、单价）。")
    session.execute(delete(RateTable).where(RateTable.agreement_id == agreement.id))
    for n, table in enumerate(tables, 1):
        rows = table.get("rows") or []
        periods = table.get("periods") or []
        cells = table.get("cells") or {}
        if not table.get("name") or not table.get("unit") or not rows or not periods:
            raise ValidationError(f"第{n}张计件单价表须有名称、计价单位、行（等级/品种）和列（时段）。")
        if (
            not (isinstance(rows, list) and isinstance(periods, list) and isinstance(cells, dict))
            or not all(isinstance(x, dict) and str(x.get("code", "")).strip() for x in (*rows, *periods))
            or not all(isinstance(v, dict) for v in cells.values())
        ):
            raise ValidationError(
                f"第{n}张计件单价表格式不正确：行和时段须为带代码（code）的对象，单价按行、时段嵌套。"
            )
        row_codes = {str(r["code"]) for r in rows}
        period_codes = {str(p["code"]) for p in periods}
        clean: dict[str, dict[str, str]] = {}
        for row_code, by_period in cells.items():
            if row_code not in row_codes:
                raise ValidationError(f"计件单价表“{table['name']}”中没有行 {row_code}。")
            for period_code, rate in by_period.items():
                if period_code not in period_codes:
                    raise ValidationError(f"计件单价表“{table['name']}”中没有时段 {period_code}。")
                value = _decimal(rate, f"{row_code}/{period_code} 单价")
                clean.setdefault(row_code, {})[period_code] = str(value)
        session.add(
            RateTable(
                agreement_id=agreement.id,
                name=str(table["name"]),
                unit=str(table["unit"]),
                currency=str(table.get("currency") or "CNY"),
                periods=[{k: str(v) for k, v in p.items()} for p in periods],
                rows=[{k: str(v) for k, v in r.items()} for r in rows],
                cells=clean,
                notes=table.get("notes"),
            )
        )
    session.flush()


def add_coverage(
    db: Database,
    actor: Actor,
    ref: str | int,
    enterprises: list[str],
    *,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """List the enterprises a sector case binds (with their headcount at the time)."""
    require_role(actor, STAFF, "登记行业协商覆盖企业")
    now = now or runtime.utcnow()
    with unit_of_work(db) as uow:
        s = uow.session
        case = get_case(s, actor, ref, for_update=True)
        if case.kind != "sector":
            raise ValidationError("只有行业协商可以登记覆盖企业。")
        if case.state not in ("preparation", "offer_sent", "negotiating", "suspended"):
            raise ValidationError(f"当前阶段（{_state_label(case)}）不能变更覆盖企业。")
        added = []
        for ref_e in enterprises:
            enterprise = _visible_enterprise(s, actor, ref_e)
            exists = s.scalar(
                select(CaseCoverage.id).where(
                    CaseCoverage.case_id == case.id, CaseCoverage.enterprise_id == enterprise.id
                )
            )
            if exists is None:
                s.add(
                    CaseCoverage(case_id=case.id, enterprise_id=enterprise.id, headcount=enterprise.headcount)
                )
                added.append(enterprise.credit_code)
        engine.record(
            s, case, "add_coverage", actor, now=now, payload={"enterprises": added}, request_id=request_id
        )
        return case_summary(case)


def _state_label(case: Case) -> str:
    return definition(case.definition_name, case.definition_version).state_label(case.state)


def case_summary(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "number": case.number,
        "title": case.title,
        "kind": case.kind,
        "state": case.state,
        "state_label": _state_label(case),
        "jurisdiction": case.jurisdiction,
        "definition": f"{case.definition_name}@{case.definition_version}",
        "version": case.version,
        "round": case.round,
    }


def count_cases(session: Session, actor: Actor) -> int:
    return session.scalar(select(func.count()).select_from(visible_cases(actor).subquery())) or 0


def open_adoptions(
    db: Database, actor: Actor, ref: str | int, *, now: datetime | None = None, request_id: str | None = None
) -> dict[str, Any]:
    """Open an adoption case (履约协议) for every covered enterprise that has none yet."""
    require_role(actor, STAFF, "开启履约协议")
    now = now or runtime.utcnow()
    with unit_of_work(db) as uow:
        s = uow.session
        sector_case = get_case(s, actor, ref, for_update=True)
        if sector_case.kind != "sector":
            raise ValidationError("只有行业协商可以开启履约协议。")
        if sector_case.state != "in_force":
            raise ValidationError("行业集体合同生效后才能开启各企业的履约协议。")
        have = set(
            s.scalars(
                select(Case.enterprise_id).where(Case.parent_id == sector_case.id, Case.kind == "adoption")
            )
        )
        opened = []
        rows = s.execute(
            select(Enterprise)
            .join(CaseCoverage, CaseCoverage.enterprise_id == Enterprise.id)
            .where(CaseCoverage.case_id == sector_case.id, CaseCoverage.bound.is_(True))
            .order_by(Enterprise.id)
        ).scalars()
        sector_name = s.scalar(select(Sector.name).where(Sector.id == sector_case.sector_id)) or ""
        for enterprise in rows:
            if enterprise.id in have:
                continue
            case = start_case(
                s,
                actor=actor,
                kind="adoption",
                title=f"{enterprise.name}履行{sector_name}行业工资集体协议",
                org_unit_id=enterprise.org_unit_id,
                jurisdiction=sector_case.jurisdiction,
                enterprise_id=enterprise.id,
                sector_id=sector_case.sector_id,
                parent_id=sector_case.id,
                instructor_id=sector_case.instructor_id,
                now=now,
                request_id=request_id,
            )
            opened.append(case.number)
        engine.record(
            s,
            sector_case,
            "open_adoptions",
            actor,
            now=now,
            payload={"opened": opened},
            request_id=request_id,
        )
        summary = case_summary(sector_case)
        summary["opened"] = opened
        return summary
