"""Writing the append-only event row that accompanies every change.

Bargaining cases log to ``events``, audit cases and campaigns to ``audit_events``: the same columns
but for the links to what the event is about, so one function writes both (``append_event``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, Required, TypedDict, TypeVar, Unpack

from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.models import Case, Event
from bargaining.models.base import Base

E = TypeVar("E", bound=Base)


class Versioned(Protocol):
    """What an event copies from its subject: the workflow definition the subject runs on."""

    @property
    def definition_name(self) -> str: ...

    @property
    def definition_version(self) -> int: ...


class EventFields(TypedDict, total=False):
    """Every event row's columns but its links, as keyword arguments."""

    actor: Required[Actor]
    role: Required[str]
    now: Required[datetime]
    from_state: str | None
    to_state: str | None
    reason: str | None
    payload: dict[str, Any] | None
    request_id: str | None
    flush: bool  # default True: the id links deadlines and documents to the event


def append_event(
    session: Session,
    model: type[E],
    links: dict[str, int | None],
    subject: Versioned | None,
    trigger: str,
    **fields: Unpack[EventFields],
) -> E:
    """Add a ``model`` event row about ``subject`` (None: about no case), linked by ``links``."""
    actor = fields["actor"]
    event = model(
        **links,
        trigger=trigger,
        from_state=fields.get("from_state"),
        to_state=fields.get("to_state"),
        actor_id=actor.user_id,
        actor_name=actor.name,
        role=fields["role"],
        at=fields["now"],
        reason=fields.get("reason"),
        payload=fields.get("payload") or {},
        definition_name=subject.definition_name if subject is not None else None,
        definition_version=subject.definition_version if subject is not None else None,
        request_id=fields.get("request_id"),
    )
    session.add(event)
    if fields.get("flush", True):  # the engine links objects instead, and flushes once at the end
        session.flush()
    return event


def write_event(session: Session, case: Case | None, trigger: str, **fields: Unpack[EventFields]) -> Event:
    return append_event(
        session, Event, {"case_id": case.id if case is not None else None}, case, trigger, **fields
    )
