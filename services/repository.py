"""Region scoping in one place: every case a user can reach is read through these queries.

A user sees the subtree of the federation they belong to; the system sees everything. A case
outside the subtree is reported as not found, so its existence does not leak.
"""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.errors import NotFound
from bargaining.models import Case, Enterprise, OrgUnit


def visible_cases(actor: Actor) -> Select[tuple[Case]]:
    query = select(Case)
    if actor.org_path is not None:
        # A semi-join on the subtree's units, not a JOIN: a list of a city's cases can then walk
        # an index in its own order instead of going through org_units (services/case_list.py).
        query = query.where(Case.org_unit_id.in_(visible_org_units(actor).with_only_columns(OrgUnit.id)))
    return query


def visible_enterprises(actor: Actor) -> Select[tuple[Enterprise]]:
    query = select(Enterprise)
    if actor.org_path is not None:
        query = query.join(OrgUnit, OrgUnit.id == Enterprise.org_unit_id).where(
            OrgUnit.path.startswith(actor.org_path)
        )
    return query


def visible_org_units(actor: Actor) -> Select[tuple[OrgUnit]]:
    query = select(OrgUnit)
    if actor.org_path is not None:
        query = query.where(OrgUnit.path.startswith(actor.org_path))
    return query


def get_case(session: Session, actor: Actor, ref: str | int, *, for_update: bool = False) -> Case:
    """A case by id or number, if the actor may see it; locked for update on PostgreSQL."""
    query = visible_cases(actor)
    text = str(ref).strip()
    if text.isascii() and text.isdigit():
        query = query.where(or_(Case.id == int(text), Case.number == text))
    else:
        query = query.where(Case.number == text)
    if for_update and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Case)
    case = session.scalars(query).first()
    if case is None:
        raise NotFound(f"找不到协商 {text}，或您无权查看。")
    return case


def get_org_unit(session: Session, code: str) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        raise NotFound(f"找不到工会组织 {code}。")
    return unit
