"""Region scoping in one place: every case a user can reach is read through these queries.

A user sees the subtree of the federation they belong to; the system sees everything. A case
outside the subtree is reported as not found, so its existence does not leak.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import BindParameter, Integer, Select, String, bindparam, select
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.errors import NotFound
from bargaining.models import Case, Enterprise, OrgUnit


def visible_cases(actor: Actor) -> Select[Case]:
    return _scoped_cases(actor.org_path)


def _scoped_cases(org_path: str | BindParameter[str] | None) -> Select[Case]:
    query = select(Case)
    if org_path is not None:
        # A semi-join on the subtree's units, not a JOIN: a list of a city's cases can then walk
        # an index in its own order instead of going through org_units (services/case_list.py).
        query = query.where(Case.org_unit_id.in_(_units_under(org_path).with_only_columns(OrgUnit.id)))
    return query


def visible_enterprises(actor: Actor) -> Select[Enterprise]:
    query = select(Enterprise)
    if actor.org_path is not None:
        query = query.join(OrgUnit, OrgUnit.id == Enterprise.org_unit_id).where(
            OrgUnit.path.startswith(actor.org_path)
        )
    return query


def visible_org_units(actor: Actor) -> Select[OrgUnit]:
    return _units_under(actor.org_path)


def _units_under(org_path: str | BindParameter[str] | None) -> Select[OrgUnit]:
    """The org units of the subtree at ``org_path`` (None: all of them); the value may be bound."""
    query = select(OrgUnit)
    if org_path is not None:
        query = query.where(OrgUnit.path.startswith(org_path))
    return query


def get_case(session: Session, actor: Actor, ref: str | int, *, for_update: bool = False) -> Case:
    """A case by id or number, if the actor may see it; locked for update on PostgreSQL."""
    text = str(ref).strip()
    by_id = text.isascii() and text.isdigit()
    lock = for_update and session.get_bind().dialect.name == "postgresql"
    params: dict[str, object] = {"id": int(text)} if by_id else {"number": text}
    if actor.org_path is not None:
        params["org_path"] = actor.org_path
    case = session.scalars(_case_query(actor.org_path is not None, by_id, lock), params).first()
    if case is None:
        raise NotFound(f"找不到协商 {text}，或您无权查看。")
    return case


@lru_cache(maxsize=8)
def _case_query(scoped: bool, by_id: bool, lock: bool) -> Select[Case]:
    """``get_case``'s statement, built once per shape with the values bound: it runs on every action
    and page of a case, and building it cost more than running it."""
    query = _scoped_cases(bindparam("org_path", type_=String) if scoped else None)
    number = Case.number == bindparam("number", type_=String)
    # All digits is an id: a number is always "YYYY-" and a letter before its digits (start_case).
    # By id alone, PostgreSQL's plan is one primary-key probe; with "OR number = …" it was a
    # bitmap OR of two index scans for every unit of the subtree (12× the buffers).
    query = query.where(Case.id == bindparam("id", type_=Integer) if by_id else number)
    return query.with_for_update(of=Case) if lock else query


def get_org_unit(session: Session, code: str) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        raise NotFound(f"找不到工会组织 {code}。")
    return unit
