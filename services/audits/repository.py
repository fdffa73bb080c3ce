"""Region scoping for audits, in one place: every campaign and audit case a user can reach is read
through these queries.

A user sees the campaigns run by a federation in their subtree and the audit cases of enterprises
in their subtree; an inspector also sees the campaigns whose pool they are in and the cases they
were drawn for. Anything else is reported as not found, so its existence does not leak.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, or_, select
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.errors import Forbidden, NotFound
from bargaining.models import OrgUnit
from bargaining.models.audit import (
    AuditCase,
    Campaign,
    CampaignInspector,
    SamplingInspector,
    SamplingRecord,
)

from ..use_case import changing

AUDIT_ROLES = frozenset({"auditor", "federation_admin"})


def require_auditor(actor: Actor, what: str) -> None:
    if not (actor.roles & AUDIT_ROLES) and not actor.is_system:
        raise Forbidden(f"您的角色无权{what}（限督查员和工会管理员）。")


def visible_campaigns(actor: Actor) -> Select[Campaign]:
    query = select(Campaign)
    if actor.org_path is None:
        return query
    in_subtree = (
        exists()
        .where(OrgUnit.id == Campaign.org_unit_id, OrgUnit.path.startswith(actor.org_path))
        .correlate(Campaign)
    )
    if actor.user_id is None:
        return query.where(in_subtree)
    in_pool = (
        exists()
        .where(CampaignInspector.campaign_id == Campaign.id, CampaignInspector.user_id == actor.user_id)
        .correlate(Campaign)
    )
    return query.where(or_(in_subtree, in_pool))


def visible_audit_cases(actor: Actor) -> Select[AuditCase]:
    query = select(AuditCase)
    if actor.org_path is None:
        return query
    in_subtree = (
        exists()
        .where(OrgUnit.id == AuditCase.org_unit_id, OrgUnit.path.startswith(actor.org_path))
        .correlate(AuditCase)
    )
    if actor.user_id is None:
        return query.where(in_subtree)
    drawn = (
        exists()
        .where(
            SamplingRecord.campaign_id == AuditCase.campaign_id,
            SamplingInspector.record_id == SamplingRecord.id,
            SamplingInspector.unit_id == AuditCase.unit_id,
            SamplingInspector.user_id == actor.user_id,
        )
        .correlate(AuditCase)
    )
    return query.where(or_(in_subtree, drawn))


def _matches(id_column: Any, number_column: Any, ref: str | int) -> ColumnElement[bool]:
    text = str(ref).strip()
    if text.isdigit():
        return or_(id_column == int(text), number_column == text)
    return number_column == text  # type: ignore[no-any-return]


def get_campaign(session: Session, actor: Actor, ref: str | int, *, for_update: bool = False) -> Campaign:
    """A campaign by id or number, if the actor may see it; locked for update on PostgreSQL."""
    query = visible_campaigns(actor).where(_matches(Campaign.id, Campaign.number, ref))
    if for_update and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Campaign)
    campaign = session.scalars(query).first()
    if campaign is None:
        raise NotFound(f"找不到专项抽查 {str(ref).strip()}，或您无权查看。")
    return campaign


def get_audit_case(session: Session, actor: Actor, ref: str | int, *, for_update: bool = False) -> AuditCase:
    """An audit case by id or number, if the actor may see it; locked for update on PostgreSQL."""
    query = visible_audit_cases(actor).where(_matches(AuditCase.id, AuditCase.number, ref))
    if for_update and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=AuditCase)
    case = session.scalars(query).first()
    if case is None:
        raise NotFound(f"找不到检查 {str(ref).strip()}，或您无权查看。")
    return case


def changing_campaign(
    db: Database, actor: Actor, ref: str | int, expected_version: int | None = None
) -> AbstractContextManager[tuple[Session, Campaign]]:
    """One transaction on a campaign the actor may see: locked, and as they last saw it."""
    return changing(db, actor, ref, get_campaign, "专项抽查", expected_version)


def changing_audit_case(
    db: Database, actor: Actor, ref: str | int, expected_version: int | None = None
) -> AbstractContextManager[tuple[Session, AuditCase]]:
    """One transaction on an audit case the actor may see: locked, and as they last saw it."""
    return changing(db, actor, ref, get_audit_case, "检查", expected_version)
