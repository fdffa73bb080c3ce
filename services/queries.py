"""Read-only views of cases for the CLI, the API and the pages."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.models import (
    Agreement,
    Case,
    CaseCoverage,
    CongressVote,
    Deadline,
    Document,
    Enterprise,
    Event,
    NegotiationRound,
    RateTable,
    Representative,
    Sector,
)
from bargaining.rules.periods import legal_date
from workflows import engine
from workflows.deadlines import DEADLINE_LABELS, describe_period
from workflows.diagram import mermaid
from workflows.registry import definition

from . import runtime
from .case_list import listed_case, page_of, search_condition
from .cases import case_summary
from .repository import get_case, visible_cases
from .uow import unit_of_work


def list_cases(
    db: Database,
    actor: Actor,
    *,
    state: str | None = None,
    kind: str | None = None,
    search: str | None = None,
    mine: bool = False,
    overdue: bool = False,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or runtime.utcnow()
    today = legal_date(now)
    limit = max(1, min(limit, 500))
    offset = max(0, offset)
    conditions = []
    if state:
        conditions.append(Case.state == state)
    if kind:
        conditions.append(Case.kind == kind)
    if mine and actor.user_id is not None:
        conditions.append(Case.instructor_id == actor.user_id)
    if overdue:
        conditions.append(Case.next_due < today)
    if search and search.strip():
        conditions.append(search_condition(search))
    with unit_of_work(db, write=False) as uow:
        page = page_of(uow.session, visible_cases(actor), conditions, order="id", limit=limit, offset=offset)
        return page.to_json([listed_case(case, today) for (case,) in page.rows], limit=limit, offset=offset)


def case_detail(db: Database, actor: Actor, ref: str | int, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or runtime.utcnow()
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        case = get_case(s, actor, ref)
        d = definition(case.definition_name, case.definition_version)
        today = legal_date(now)
        out = case_summary(case)
        out["enterprise"] = _enterprise(s, case.enterprise_id)
        out["sector"] = (
            s.scalar(select(Sector.name).where(Sector.id == case.sector_id)) if case.sector_id else None
        )
        out["parent_id"] = case.parent_id
        out["previous_case_id"] = case.previous_case_id
        out["opened_at"] = case.opened_at.isoformat()
        out["representatives"] = [
            {"side": r.side, "name": r.name, "position": r.position, "chief": r.chief, "outsider": r.outsider}
            for r in s.scalars(
                select(Representative)
                .where(Representative.case_id == case.id)
                .order_by(Representative.side, Representative.id)
            )
        ]
        out["rounds"] = [
            {
                "number": r.number,
                "held_on": r.held_on.isoformat(),
                "chair_side": r.chair_side,
                "minutes": r.minutes,
            }
            for r in s.scalars(
                select(NegotiationRound)
                .where(NegotiationRound.case_id == case.id)
                .order_by(NegotiationRound.number)
            )
        ]
        out["congress_votes"] = [
            {
                "held_on": v.held_on.isoformat(),
                "total": v.total,
                "present": v.present,
                "for": v.votes_for,
                "against": v.against,
                "abstain": v.abstain,
                "passed": v.passed,
                "reason": v.reason,
            }
            for v in s.scalars(
                select(CongressVote).where(CongressVote.case_id == case.id).order_by(CongressVote.id)
            )
        ]
        out["agreement"] = _agreement(s, case.id)
        out["coverage"], out["coverage_summary"] = _coverage(s, case, d)
        out["special_agreements"] = [
            case_summary(c)
            for c in s.scalars(
                select(Case).where(Case.parent_id == case.id, Case.kind == "sector").order_by(Case.id)
            )
        ]
        out["deadlines"] = [
            deadline_view(dl, today)
            for dl in s.scalars(select(Deadline).where(Deadline.case_id == case.id).order_by(Deadline.id))
        ]
        out["timeline"] = [
            event_view(e, d)
            for e in s.scalars(select(Event).where(Event.case_id == case.id).order_by(Event.id))
        ]
        out["documents"] = [
            {"id": doc.id, "kind": doc.kind, "title": doc.title, "created_at": doc.created_at.isoformat()}
            for doc in s.scalars(select(Document).where(Document.case_id == case.id).order_by(Document.id))
        ]
        out["actions"] = [
            {
                "trigger": a.trigger,
                "label": a.label,
                "allowed": a.allowed,
                "reasons": list(a.reasons),
                "reason_required": a.reason_required,
                "fields": [
                    {
                        "name": f.name,
                        "label": f.label,
                        "kind": f.kind,
                        "required": f.required and not f.default_today,
                        "default_today": f.default_today,
                        "choices": [list(c) for c in f.choices],
                        "minimum": f.minimum,
                        "help": f.help,
                    }
                    for f in a.fields
                ],
                "description": a.description,
                "internal": a.internal,
            }
            for a in engine.allowed_actions(s, case, actor, calendar=runtime.calendar_loader(s), now=now)
        ]
        out["diagram"] = mermaid(d, case.state)
        return out


def _coverage(s: Session, case: Case, d: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The enterprises a sector case binds, each with its adoption case; lagging = not yet in force."""
    if case.kind != "sector":
        return [], {}
    adoption = {
        c.enterprise_id: c
        for c in s.scalars(select(Case).where(Case.parent_id == case.id, Case.kind == "adoption"))
    }
    rows: list[dict[str, Any]] = []
    for code, name, headcount, enterprise_id in s.execute(
        select(Enterprise.credit_code, Enterprise.name, CaseCoverage.headcount, Enterprise.id)
        .join(CaseCoverage, CaseCoverage.enterprise_id == Enterprise.id)
        .where(CaseCoverage.case_id == case.id)
        .order_by(Enterprise.id)
    ):
        child = adoption.get(enterprise_id)
        rows.append(
            {
                "credit_code": code,
                "name": name,
                "headcount": headcount,
                "adoption": child.number if child else None,
                "adoption_id": child.id if child else None,
                "adoption_state": definition(child.definition_name, child.definition_version).state_label(
                    child.state
                )
                if child
                else None,
                "lagging": case.state == "in_force" and (child is None or child.state != "in_force"),
            }
        )
    summary = {
        "enterprises": len(rows),
        "workers": sum(r["headcount"] for r in rows),
        "adoptions_opened": sum(1 for r in rows if r["adoption"]),
        "adoptions_in_force": sum(1 for r in rows if r["adoption_state"] == "生效"),
        "lagging": sum(1 for r in rows if r["lagging"]),
    }
    return rows, summary


def _enterprise(s: Session, enterprise_id: int | None) -> dict[str, Any] | None:
    if enterprise_id is None:
        return None
    e = s.get(Enterprise, enterprise_id)
    assert e is not None
    return {
        "credit_code": e.credit_code,
        "name": e.name,
        "headcount": e.headcount,
        "min_wage_tier": e.min_wage_tier,
    }


def _agreement(s: Session, case_id: int) -> dict[str, Any] | None:
    a = s.scalar(select(Agreement).where(Agreement.case_id == case_id))
    if a is None:
        return None
    tables = list(s.scalars(select(RateTable).where(RateTable.agreement_id == a.id)))
    return {
        "title": a.title,
        "term_start": a.term_start.isoformat() if a.term_start else None,
        "term_end": a.term_end.isoformat() if a.term_end else None,
        "avg_wage_before": str(a.avg_wage_before) if a.avg_wage_before is not None else None,
        "avg_wage_after": str(a.avg_wage_after) if a.avg_wage_after is not None else None,
        "increase_pct": str(a.increase_pct.quantize(Decimal("0.01"))) if a.increase_pct is not None else None,
        "payment_day": a.payment_day,
        "minimum_wage_clause": a.minimum_wage_clause,
        "clauses": a.clauses,
        "text_hash": a.text_hash,
        "approved_text_hash": a.approved_text_hash,
        "rate_tables": [
            {"name": t.name, "unit": t.unit, "periods": t.periods, "rows": t.rows, "cells": t.cells}
            for t in tables
        ],
        "signed_on": a.signed_on.isoformat() if a.signed_on else None,
        "filed_on": a.filed_on.isoformat() if a.filed_on else None,
        "disclosed_on": a.disclosed_on.isoformat() if a.disclosed_on else None,
        "in_force_on": a.in_force_on.isoformat() if a.in_force_on else None,
    }


def deadline_view(dl: Deadline, today: Any) -> dict[str, Any]:
    status = (
        "closed" if dl.closed_at else "paused" if dl.paused_at else "overdue" if dl.due < today else "open"
    )
    return {
        "id": dl.id,
        "kind": dl.kind,
        "label": DEADLINE_LABELS.get(dl.kind, dl.kind),
        "start": dl.start_date.isoformat(),
        "due": dl.due.isoformat(),
        "period": describe_period(dl.period),
        "legal_basis": dl.legal_basis,
        "provisional": dl.provisional,
        "status": status,
        "days_left": (dl.due - today).days,
        "fired_at": dl.fired_at.isoformat() if dl.fired_at else None,
        "closed_at": dl.closed_at.isoformat() if dl.closed_at else None,
    }


def event_view(e: Event, d: Any) -> dict[str, Any]:
    action = d.action(e.trigger)
    return {
        "id": e.id,
        "at": e.at.isoformat(),
        "trigger": e.trigger,
        "label": action.label if action else EVENT_LABELS.get(e.trigger, e.trigger),
        "from": e.from_state,
        "to": e.to_state,
        "actor": e.actor_name,
        "role": e.role,
        "reason": e.reason,
        "payload": e.payload,
    }


EVENT_LABELS = {
    "create": "新建协商",
    "add_representative": "登记协商代表",
    "update_agreement": "修改协议条款",
    "add_coverage": "登记覆盖企业",
    "deadline_overdue": "期限逾期提醒",
    "deadline_fire_failed": "期限自动处理失败",
}
