"""Starting a case: pinned to the current definition version, numbered, with its first event."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bargaining.actors import Actor
from bargaining.errors import ValidationError
from bargaining.models import CASE_KINDS, Case, table_of
from bargaining.rules.jurisdictions import get_rule_set
from bargaining.rules.periods import legal_date

from .events import write_event
from .registry import current_definition

KIND_LETTERS = {"enterprise": "E", "sector": "S", "adoption": "A"}


def start_case(
    session: Session,
    *,
    actor: Actor,
    kind: str,
    title: str,
    org_unit_id: int,
    jurisdiction: str,
    now: datetime,
    enterprise_id: int | None = None,
    sector_id: int | None = None,
    parent_id: int | None = None,
    instructor_id: int | None = None,
    previous_case_id: int | None = None,
    round: str = "new",
    request_id: str | None = None,
) -> Case:
    if kind not in CASE_KINDS:
        raise ValidationError(f"未知的协商类型：{kind}（可选：enterprise 企业、sector 行业、adoption 履约）")
    get_rule_set(jurisdiction)  # refuses an unknown jurisdiction with the list of valid ones
    definition = current_definition(kind)
    case = Case(
        number=f"tmp-{uuid.uuid4().hex[:24]}",
        title=title,
        kind=kind,
        parent_id=parent_id,
        enterprise_id=enterprise_id,
        sector_id=sector_id,
        org_unit_id=org_unit_id,
        jurisdiction=jurisdiction,
        definition_name=definition.name,
        definition_version=definition.version,
        state=definition.initial,
        instructor_id=instructor_id,
        round=round,
        previous_case_id=previous_case_id,
        opened_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    # The number needs the id; set it without bumping the optimistic-lock version.
    number = f"{legal_date(now).year}-{KIND_LETTERS[kind]}{case.id:07d}"
    # On the table: the ORM's bulk UPDATE would autoflush again, with nothing left to flush.
    session.execute(update(table_of(Case)).where(Case.id == case.id).values(number=number))
    set_committed_value(case, "number", number)
    write_event(
        session,
        case,
        "create",
        actor=actor,
        role=actor.primary_role(frozenset({"instructor", "federation_admin", "system"})),
        now=now,
        to_state=case.state,
        payload={"kind": kind, "round": round, "previous_case_id": previous_case_id, "parent_id": parent_id},
        request_id=request_id,
        flush=False,  # nothing needs its id before the caller's next flush
    )
    return case
