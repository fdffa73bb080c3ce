"""Firing actions on bargaining cases: check, branch, write the event, the documents and the deadlines.

The sequence is ``workflows.firing.Engine``'s; what is a bargaining case's own is here: its
definitions (``registry``), its jurisdiction's rules in the context, the ``events`` and
``documents`` rows, and its deadlines, read once before the case changes and written so that the
whole action goes out in one flush. Nothing here commits: the use case in ``services`` owns the
transaction, so an action and all it writes land together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Unpack

from sqlalchemy import insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from bargaining.models import Case, Document, Event, table_of
from bargaining.rules.jurisdictions import get_rule_set

from . import deadlines as dl
from .context import FireContext
from .events import EventFields, write_event
from .firing import ActionStatus as ActionStatus
from .firing import Engine
from .firing import FireResult as _FireResult
from .firing import refusal_reasons as refusal_reasons
from .registry import Compiled, compiled

FireResult = _FireResult[Case, Event]
_INSERT_DOCUMENT = insert(table_of(Document))


class CaseEngine(Engine[Case, Event, FireContext]):
    noun = "协商"
    action_noun = "操作"
    forbid_roles = True
    record_roles = frozenset({"instructor", "federation_admin", "system"})
    context_type = FireContext

    def compiled(self, name: str, version: int) -> Compiled:
        return compiled(name, version)

    def context_fields(self, case: Case) -> dict[str, Any]:
        return {"rule_set": get_rule_set(case.jurisdiction)}

    def touch(self, case: Case, now: datetime) -> None:
        case.updated_at = now
        flag_modified(
            case, "updated_at"
        )  # an UPDATE even when the time is unchanged: the version always moves

    def write_event(self, session: Session, case: Case, trigger: str, **fields: Unpack[EventFields]) -> Event:
        return write_event(session, case, trigger, **fields)  # looked up here at call time (tests patch it)

    def add_document(self, ctx: FireContext, kind: str, title: str, data: dict[str, Any]) -> None:
        event = ctx.event
        if event is not None and event.id is not None:
            # The event is stored already (one action on its own): the document follows it by
            # id through one prebuilt INSERT, not the ORM's flush.
            ctx.session.connection().execute(
                _INSERT_DOCUMENT,
                {
                    "case_id": ctx.case.id,
                    "kind": kind,
                    "title": title,
                    "data": data,
                    "event_id": event.id,
                    "created_at": ctx.now,
                },
            )
            return
        ctx.session.add(
            Document(case_id=ctx.case.id, kind=kind, title=title, data=data, event=event, created_at=ctx.now)
        )

    def before_transition(self, ctx: FireContext) -> None:
        action = ctx.action
        if action.opens or action.closes or action.pauses or action.resumes:
            dl.prefetch(ctx)

    def after_event(self, ctx: FireContext) -> None:
        action = ctx.action
        dl.close_deadlines(ctx, action.closes)
        dl.pause_deadlines(ctx, action.pauses)
        dl.resume_deadlines(ctx, action.resumes)
        for opens in action.opens:
            dl.open_deadline(ctx, opens)
        dl.sync_next_due(ctx)


_ENGINE = CaseEngine()
allowed_actions = _ENGINE.allowed_actions
fire = _ENGINE.fire
record = _ENGINE.record
