"""What instructors, federation admins and reviewers look at all day: inbox, dashboard, review queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, select

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.errors import ValidationError
from bargaining.models import Case, Deadline, Enterprise, OrgUnit, Sector, User
from bargaining.rules.periods import legal_date
from workflows.deadlines import DEADLINE_LABELS
from workflows.engine import record
from workflows.registry import definition

from . import runtime
from .case_list import ORDERS, listed_case, page_of, search_condition
from .cases import case_summary, require_role
from .repository import get_case, visible_cases, visible_org_units
from .uow import unit_of_work

SORTS = tuple(order for order in ORDERS if order != "id")  # what a person may sort the inbox by
PAGE_SIZES = (20, 50, 100)


@dataclass(frozen=True)
class InboxFilter:
    stage: str | None = None
    kind: str | None = None
    sector: str | None = None
    region: str | None = None  # org unit code: its subtree
    instructor: str | None = None  # username; "me" for the actor
    overdue: bool = False
    q: str | None = None
    sort: str = "next_due"
    limit: int = 50
    offset: int = 0


def inbox(db: Database, actor: Actor, f: InboxFilter, now: datetime | None = None) -> dict[str, Any]:
    now = now or runtime.utcnow()
    today = legal_date(now)
    if f.sort not in SORTS:
        raise ValidationError(f"未知的排序方式：{f.sort}")
    limit = max(1, min(f.limit, 200))
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        conditions = []
        if f.stage:
            conditions.append(Case.state == f.stage)
        if f.kind:
            conditions.append(Case.kind == f.kind)
        if f.sector:
            conditions.append(
                Case.sector_id == select(Sector.id).where(Sector.code == f.sector).scalar_subquery()
            )
        if f.region:
            region = s.scalar(visible_org_units(actor).where(OrgUnit.code == f.region))
            if region is None:
                raise ValidationError(f"找不到工会组织 {f.region}，或不在您的管辖范围内。")
            sub = select(OrgUnit.id).where(OrgUnit.path.startswith(region.path))
            conditions.append(Case.org_unit_id.in_(sub))
        if f.instructor == "me":
            conditions.append(Case.instructor_id == actor.user_id)
        elif f.instructor:
            conditions.append(
                Case.instructor_id == select(User.id).where(User.username == f.instructor).scalar_subquery()
            )
        if f.overdue:
            conditions.append(Case.next_due < today)
        if f.q and f.q.strip():
            conditions.append(search_condition(f.q))
        offset = max(0, f.offset)
        page = page_of(s, visible_cases(actor), conditions, order=f.sort, limit=limit, offset=offset)
        rows = [row[0] for row in page.rows]
        names = _names(s, rows)
        items = []
        for c in rows:
            item = listed_case(c, today)
            item["urgency"] = urgency(item["days_left"])
            item["enterprise"] = names["enterprise"].get(c.enterprise_id)
            item["instructor"] = names["instructor"].get(c.instructor_id)
            items.append(item)
        return page.to_json(items, limit=limit, offset=offset)


def urgency(days_left: int | None) -> str:
    """overdue (red), soon = due within 5 days (amber), ok."""
    if days_left is None:
        return "none"
    return "overdue" if days_left < 0 else "soon" if days_left <= 5 else "ok"


def _names(s: Any, rows: list[Case]) -> dict[str, dict[int | None, str]]:
    e_ids = {c.enterprise_id for c in rows if c.enterprise_id}
    u_ids = {c.instructor_id for c in rows if c.instructor_id}
    enterprises = (
        dict(s.execute(select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(e_ids))).all())
        if e_ids
        else {}
    )
    users = (
        dict(s.execute(select(User.id, User.display_name).where(User.id.in_(u_ids))).all()) if u_ids else {}
    )
    return {"enterprise": enterprises, "instructor": users}


def reassign(
    db: Database,
    actor: Actor,
    case_refs: list[str],
    instructor: str,
    *,
    now: datetime | None = None,
    request_id: str | None = None,
) -> int:
    """Bulk reassignment by a federation admin, one event per case, all or nothing."""
    require_role(actor, frozenset({"federation_admin"}), "批量调整指导员")
    if not case_refs:
        raise ValidationError("请选择要调整的协商。")
    now = now or runtime.utcnow()
    with unit_of_work(db) as uow:
        s = uow.session
        user = s.scalar(select(User).where(User.username == instructor))
        if user is None or "instructor" not in user.roles or not user.active:
            raise ValidationError(f"{instructor} 不是在岗的工资集体协商指导员。")
        user_path = s.scalar(select(OrgUnit.path).where(OrgUnit.id == user.org_unit_id))
        for ref in case_refs:
            case = get_case(s, actor, ref, for_update=True)
            case_path = s.scalar(select(OrgUnit.path).where(OrgUnit.id == case.org_unit_id)) or ""
            if user_path and not case_path.startswith(user_path) and not user_path.startswith(case_path):
                raise ValidationError(f"{user.display_name} 不负责 {case.number} 所在区域。")
            before = case.instructor_id
            case.instructor_id = user.id
            record(
                s,
                case,
                "reassign",
                actor,
                now=now,
                payload={"from": before, "to": user.id},
                request_id=request_id,
                role="federation_admin",
            )
        return len(case_refs)


def dashboard(db: Database, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    now = now or runtime.utcnow()
    today = legal_date(now)
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        scoped = visible_cases(actor).subquery()
        by_stage: dict[str, int] = dict(
            s.execute(select(scoped.c.state, func.count()).group_by(scoped.c.state)).all()
        )
        by_kind: dict[str, int] = dict(
            s.execute(select(scoped.c.kind, func.count()).group_by(scoped.c.kind)).all()
        )
        overdue_q = visible_cases(actor).where(Case.next_due < today).order_by(Case.next_due).limit(100)
        overdue = [
            {
                **case_summary(c),
                "next_due": c.next_due.isoformat() if c.next_due else None,
                "days_left": (c.next_due - today).days if c.next_due else None,
            }
            for c in s.scalars(overdue_q)
        ]
        overdue_total = (
            s.scalar(
                select(func.count()).select_from(visible_cases(actor).where(Case.next_due < today).subquery())
            )
            or 0
        )
        per_instructor = [
            {"instructor": name or "（未分配）", "total": total, "overdue": late or 0}
            for name, total, late in s.execute(
                select(
                    User.display_name,
                    func.count(scoped.c.id),
                    func.sum(sql_case((scoped.c.next_due < today, 1), else_=0)),
                )
                .select_from(scoped)
                .outerjoin(User, User.id == scoped.c.instructor_id)
                .group_by(User.display_name)
                .order_by(func.count(scoped.c.id).desc())
            )
        ]
    stages = _stage_labels()
    return {
        "by_stage": [
            {"state": k, "label": stages.get(k, k), "count": by_stage.get(k, 0)}
            for k in stages
            if by_stage.get(k)
        ],
        "by_kind": by_kind,
        "total": sum(by_stage.values()),
        "overdue": overdue,
        "overdue_total": overdue_total,
        "per_instructor": per_instructor,
    }


def _stage_labels() -> dict[str, str]:
    d = definition("enterprise", 1)
    return {s.name: s.label for s in d.states}


def review_queue(
    db: Database, actor: Actor, now: datetime | None = None, *, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """Filings awaiting the labour administration's review, with the days left of the 15."""
    now = now or runtime.utcnow()
    today = legal_date(now)
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        query = (
            visible_cases(actor)
            .where(Case.state == "under_review")
            .add_columns(Deadline.due, Deadline.start_date, Deadline.legal_basis)
            .join(
                Deadline,
                (Deadline.case_id == Case.id) & (Deadline.kind == "review") & Deadline.closed_at.is_(None),
            )
        )
        total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = s.execute(query.order_by(Deadline.due, Case.id).limit(limit).offset(offset)).all()
        names = _names(s, [r[0] for r in rows])
        items = []
        for c, due, received, basis in rows:
            item = case_summary(c)
            item.update(
                enterprise=names["enterprise"].get(c.enterprise_id),
                received_on=received.isoformat(),
                due=due.isoformat(),
                days_left=(due - today).days,
                urgency=urgency((due - today).days),
                legal_basis=basis,
                label=DEADLINE_LABELS["review"],
            )
            items.append(item)
        return {"total": total, "limit": limit, "offset": offset, "items": items}


def open_deadlines(
    db: Database,
    actor: Actor,
    *,
    overdue: bool = False,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or runtime.utcnow()
    today = legal_date(now)
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        cases = visible_cases(actor).subquery()
        query = (
            select(Deadline, cases.c.number)
            .join(cases, cases.c.id == Deadline.case_id)
            .where(Deadline.closed_at.is_(None))
        )
        if overdue:
            query = query.where(Deadline.due < today)
        total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = s.execute(
            query.order_by(Deadline.due, Deadline.id).limit(max(1, min(limit, 200))).offset(offset)
        ).all()
        from .queries import deadline_view

        return {
            "total": total,
            "limit": limit,
            "offset": offset,
            "items": [{**deadline_view(d, today), "case_number": number} for d, number in rows],
        }
