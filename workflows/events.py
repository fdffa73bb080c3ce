"""Writing the append-only event row that accompanies every change.

Bargaining cases log to ``events``, audit cases and campaigns to ``audit_events``: the same columns
but for the links to what the event is about, so one function writes both (``append_event``).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol, Required, TypedDict, TypeVar, Unpack

from sqlalchemy import Insert, insert
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.models import Case, Event, table_of
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
    # Written at once by one INSERT … RETURNING, nothing else flushed (default False: by the ORM).
    at_once: bool


def append_event(
    session: Session,
    model: type[E],
    links: dict[str, int | None],
    subject: Versioned | None,
    trigger: str,
    **fields: Unpack[EventFields],
) -> E:
    """Add a ``model`` event row about ``subject`` (None: about no case), linked by ``links``.

    ``at_once``: the row is inserted now by one prebuilt Core statement, and the object returned
    carries its id but stays out of the session; nothing else pending is flushed. For an action
    fired on its own, where the ORM's flush of an append-only row cost more than writing it.
    Otherwise the object is added and goes out with a flush (``flush``: now; the engine firing many
    actions links objects instead and flushes once at the end).
    """
    actor = fields["actor"]
    values: dict[str, Any] = {
        **links,
        "trigger": trigger,
        "from_state": fields.get("from_state"),
        "to_state": fields.get("to_state"),
        "actor_id": actor.user_id,
        "actor_name": actor.name,
        "role": fields["role"],
        "at": fields["now"],
        "reason": fields.get("reason"),
        "payload": fields.get("payload") or {},
        "definition_name": subject.definition_name if subject is not None else None,
        "definition_version": subject.definition_version if subject is not None else None,
        "request_id": fields.get("request_id"),
    }
    if fields.get("at_once"):
        new_id = session.connection().execute(_insert_returning_id(model), values).scalar_one()
        # Outside the session: rows link to it by id (``link_event``), and a rollback of the
        # transaction (or of a savepoint) leaves no stale object behind in the identity map.
        return model(id=new_id, **values)
    event = model(**values)
    session.add(event)
    if fields.get("flush", True):
        session.flush()
    return event


def link_event(row: Base, relation: str, event: Base | None) -> None:
    """Point ``row``'s many-to-one ``relation`` (``opened_by_event`` …) at ``event``: by id when the
    event is written already (``at_once``), by object while it waits for the same flush."""
    event_id = getattr(event, "id", None)
    if event_id is not None:
        setattr(row, f"{relation}_id", event_id)
    else:
        setattr(row, relation, event)


@lru_cache(maxsize=8)
def _insert_returning_id(model: type[Base]) -> Insert:
    table = table_of(model)
    return insert(table).returning(table.c.id)


def write_event(session: Session, case: Case | None, trigger: str, **fields: Unpack[EventFields]) -> Event:
    return append_event(
        session, Event, {"case_id": case.id if case is not None else None}, case, trigger, **fields
    )
