"""Writing the append-only event row that accompanies every change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.models import Case, Event


def write_event(
    session: Session,
    case: Case | None,
    trigger: str,
    *,
    actor: Actor,
    role: str,
    now: datetime,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    payload: dict[str, Any] | None = None,
    request_id: str | None = None,
    flush: bool = True,
) -> Event:
    event = Event(
        case_id=case.id if case is not None else None,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        actor_id=actor.user_id,
        actor_name=actor.name,
        role=role,
        at=now,
        reason=reason,
        payload=payload or {},
        definition_name=case.definition_name if case is not None else None,
        definition_version=case.definition_version if case is not None else None,
        request_id=request_id,
    )
    session.add(event)
    if flush:  # the id links deadlines and documents to the event (the engine links objects instead)
        session.flush()
    return event
