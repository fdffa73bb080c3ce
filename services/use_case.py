"""What use cases that change one row share, whatever the row (bargaining case, audit case, campaign).

``changing``: one transaction on a row the actor may see, locked, and refused (409) if it changed
since the actor saw it. ``fire_on``: a workflow action fired on such a row through its engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.db import Database
from workflows.firing import FireResult, Numbered, check_version

from . import runtime
from .uow import unit_of_work

R = TypeVar("R", bound=Numbered)
# Finds a row by id or number if the actor may see it (else NotFound), locked with for_update=True:
# get_case, get_audit_case, get_campaign.
Getter = Callable[..., R]


@contextmanager
def changing(
    db: Database, actor: Actor, ref: str | int, get: Getter[R], noun: str, expected_version: int | None = None
) -> Iterator[tuple[Session, R]]:
    """The session and the row, locked and as the actor last saw it (``noun`` names it in the refusal)."""
    with unit_of_work(db) as uow:
        row = get(uow.session, actor, ref, for_update=True)
        check_version(row, noun, expected_version)
        yield uow.session, row


def fire_on(
    db: Database,
    actor: Actor,
    ref: str | int,
    trigger: str,
    *,
    get: Getter[R],
    fire: Callable[..., FireResult[R, Any]],
    summary: Callable[[R], dict[str, Any]],
    now: datetime | None,
    **options: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fire ``trigger`` on the row (``fire`` checks ``expected_version`` among the ``options``).

    Returns the row's ``summary`` with the event's id and the state it left, and what the action
    computed.
    """
    now = now or runtime.utcnow()
    with unit_of_work(db) as uow:
        s = uow.session
        row = get(s, actor, ref, for_update=True)
        result = fire(s, row, trigger, actor, calendar=runtime.calendar_loader(s), now=now, **options)
        out = summary(row)
        out["event_id"] = result.event.id
        out["from_state"] = result.from_state
        return out, result.computed
