"""Checking and firing actions, whatever the workflow's subject.

A bargaining case (``workflows.engine``) and an audit case (``workflows.audit_engine``) run the same
sequence: look the action up, check the version, the state, the roles, the required documents and
the guards, parse the input, branch on the shared ``transitions`` Machine, run the effects, write
the event and the document. ``Engine`` is that sequence once; a subclass says where its subject's
definitions, events, documents and deadlines live. Nothing here commits.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar, Unpack, cast

from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.errors import Conflict, Forbidden, TransitionRefused, ValidationError
from bargaining.rules.calendar import HolidayCalendar
from bargaining.rules.periods import legal_date

from .context import ActionContext
from .events import EventFields
from .fields import Field, parse_fields, to_json
from .registry import Compiled
from .spec import Action, WorkflowDefinition
from .versioned import update_versioned


class Numbered(Protocol):
    """A row changed under optimistic locking, as its users name it."""

    @property
    def number(self) -> str: ...

    @property
    def version(self) -> int: ...


class Subject(Numbered, Protocol):
    """What the sequence reads of the row it fires on (the Machine sets ``state``)."""

    @property
    def id(self) -> int: ...

    @property
    def state(self) -> str: ...

    @property
    def definition_name(self) -> str: ...

    @property
    def definition_version(self) -> int: ...


def check_version(row: Numbered, noun: str, expected_version: int | None) -> None:
    """Refuse a change made on a stale view of ``row`` (``noun`` names it: 协商, 检查, 专项抽查)."""
    if expected_version is not None and row.version != expected_version:
        raise Conflict(
            f"{noun} {row.number} 已被他人修改（当前版本 {row.version}，您看到的是版本 {expected_version}），请刷新后重试。",
            details={"current_version": row.version},
        )


# Not bound to Subject: mypy checks a class's type arguments before it reads SQLAlchemy's Mapped
# descriptors, so Case would not pass; the methods read the row through ``Subject`` instead.
S = TypeVar("S")
E = TypeVar("E")
C = TypeVar("C", bound=ActionContext[Any, Any])


@dataclass(frozen=True)
class ActionStatus:
    """An action the subject's current state offers, and whether this actor may take it now."""

    trigger: str
    label: str
    allowed: bool
    reasons: tuple[str, ...]
    fields: tuple[Field, ...]
    reason_required: bool
    internal: bool
    description: str = ""


@dataclass
class FireResult(Generic[S, E]):
    case: S
    event: E
    from_state: str
    to_state: str
    computed: dict[str, Any] = field(default_factory=dict)


def refusal_reasons(ctx: ActionContext[Any, Any]) -> list[str]:
    """Every reason the action may not be taken now (empty = allowed)."""
    action, case = ctx.action, ctx.case
    if case.state not in action.sources:
        return [f"当前阶段为“{ctx.definition.state_label(case.state)}”，不能{action.label}"]
    reasons: list[str] = []
    unmet = ctx.rule_unmet()
    if unmet:
        reasons.append(unmet)
    if not (ctx.actor.roles & action.roles):
        reasons.append(f"您的角色无权执行“{action.label}”")
    if action.requires_documents:
        missing = [k for k in action.requires_documents if k not in ctx.document_kinds()]
        if missing:
            reasons.append("缺少文件：" + "、".join(ctx.definition.documents.get(k, k) for k in missing))
    for guard in action.guards:
        problem = guard(ctx)  # type: ignore[arg-type]  # each definition's guards read its own context
        if problem:
            reasons.append(problem)
    return reasons


class Engine(ABC, Generic[S, E, C]):
    """The fire sequence; a subclass supplies its subject's vocabulary, rows and deadlines."""

    noun: ClassVar[str]  # the subject in messages: 协商, 检查
    action_noun: ClassVar[str]  # its actions in messages: 操作, 检查操作
    # A role that may not take the action: a 403 before anything else (True), or one reason
    # among the others (False).
    forbid_roles: ClassVar[bool]
    record_roles: ClassVar[frozenset[str]]  # whose role an event outside the workflow is written as
    context_type: type[C]

    @abstractmethod
    def compiled(self, name: str, version: int) -> Compiled: ...

    def context_fields(self, case: S) -> dict[str, Any]:
        """Fields the subject's context adds to the common ones."""
        return {}

    @abstractmethod
    def touch(self, case: S, now: datetime) -> None:
        """Mark the subject changed, so its optimistic-lock version moves on."""

    @abstractmethod
    def write_event(self, session: Session, case: S, trigger: str, **fields: Unpack[EventFields]) -> E: ...

    @abstractmethod
    def add_document(self, ctx: C, kind: str, title: str, data: dict[str, Any]) -> None:
        """The document the action produces, linked to ``ctx.event``."""

    def before_transition(self, ctx: C) -> None:
        """Read what the action's later writes need while nothing has changed yet."""

    def after_event(self, ctx: C) -> None:
        """The deadlines the action closes, pauses, resumes and opens."""

    def context(
        self,
        session: Session,
        case: S,
        definition: WorkflowDefinition,
        action: Action,
        actor: Actor,
        *,
        calendar: HolidayCalendar | Callable[[], HolidayCalendar],
        now: datetime,
        reason: str | None = None,
        request_id: str | None = None,
    ) -> C:
        return self.context_type(
            session=session,
            case=case,
            definition=definition,
            action=action,
            actor=actor,
            calendar_source=calendar,
            now=now,
            today=legal_date(now),
            reason=reason,
            request_id=request_id,
            **self.context_fields(case),
        )

    def allowed_actions(
        self,
        session: Session,
        case: S,
        actor: Actor,
        *,
        calendar: HolidayCalendar | Callable[[], HolidayCalendar],
        now: datetime,
    ) -> list[ActionStatus]:
        subject = cast(Subject, case)
        definition = self.compiled(subject.definition_name, subject.definition_version).definition
        statuses = []
        for action in definition.actions:
            if subject.state not in action.sources:
                continue
            if action.roles == frozenset({"system"}):
                continue  # only the deadline sweep fires these; nothing for a person to press
            ctx = self.context(session, case, definition, action, actor, calendar=calendar, now=now)
            reasons = refusal_reasons(ctx)
            statuses.append(
                ActionStatus(
                    trigger=action.trigger,
                    label=action.label,
                    allowed=not reasons,
                    reasons=tuple(reasons),
                    fields=action.fields,
                    reason_required=action.reason_required,
                    internal=action.internal,
                    description=action.description,
                )
            )
        return statuses

    def fire(
        self,
        session: Session,
        case: S,
        trigger: str,
        actor: Actor,
        *,
        values: dict[str, Any] | None = None,
        reason: str | None = None,
        calendar: HolidayCalendar | Callable[[], HolidayCalendar],
        now: datetime,
        request_id: str | None = None,
        expected_version: int | None = None,
        legal_today: date | None = None,
        preloaded: dict[str, Any] | None = None,
        flush: bool = True,
    ) -> FireResult[S, E]:
        """Fire ``trigger``. ``legal_today`` overrides the legal date the action takes effect on (the
        sweep passes the day a deadline fell due, so a late sweep records the lawful date, not its own).

        For firing many actions in one go: ``preloaded`` is what the context would otherwise read
        about the subject (``workflows.context.preload``), and ``flush=False`` leaves the writes
        pending for the caller's one flush (the event has no id until then)."""
        subject = cast(Subject, case)
        machine_def = self.compiled(subject.definition_name, subject.definition_version)
        definition = machine_def.definition
        action = definition.action(trigger)
        if action is None:
            known = "、".join(f"{a.trigger}（{a.label}）" for a in definition.actions)
            raise ValidationError(f"未知的{self.action_noun}“{trigger}”。可用操作：{known}")
        check_version(subject, self.noun, expected_version)
        ctx = self.context(
            session,
            case,
            definition,
            action,
            actor,
            calendar=calendar,
            now=now,
            reason=reason,
            request_id=request_id,
        )
        if legal_today is not None:
            ctx.today = legal_today
        if preloaded:
            ctx._cache.update(preloaded)
        if subject.state not in action.sources:
            reasons = refusal_reasons(ctx)
            raise TransitionRefused(reasons[0], details={"reasons": reasons})
        if self.forbid_roles and not (actor.roles & action.roles):
            # A refusal of access, not of the subject's state: a 403, and the web layer logs it.
            raise Forbidden(f"您的角色无权执行“{action.label}”。")
        ctx.values = parse_fields(action.fields, values or {}, ctx.today)
        reasons = refusal_reasons(ctx)
        if action.reason_required and not (reason or "").strip():
            reasons.append("请填写原因")
        if reasons:
            raise TransitionRefused(
                f"不能{action.label}：" + "；".join(reasons), details={"reasons": reasons}
            )
        if action.prepare is not None:
            action.prepare(ctx)  # type: ignore[arg-type]
        self.before_transition(ctx)

        from_state = subject.state
        if not machine_def.machine.events[trigger].trigger(case, ctx=ctx):
            raise TransitionRefused(f"不能{action.label}：没有满足条件的去向")
        ctx.dest = subject.state
        self.touch(case, now)
        for effect in action.effects:
            effect(ctx)  # type: ignore[arg-type]
        payload = to_json(ctx.values)
        payload.update({k: v for k, v in ctx.computed.items() if isinstance(v, str | int | bool)})
        event = ctx.event = self.write_event(
            session,
            case,
            trigger,
            actor=actor,
            role=actor.primary_role(action.roles),
            now=now,
            from_state=from_state,
            to_state=subject.state,
            reason=reason,
            payload=payload,
            request_id=request_id,
            # One action: the event row now, so its document can follow by id. Many actions: the
            # event goes out with their one flush, documents and deadlines linked by object.
            flush=False,
            at_once=flush,
        )
        if action.produces_document:
            kind = action.produces_document
            data = {"case_number": subject.number, "values": to_json(ctx.values), "reason": reason, **payload}
            self.add_document(ctx, kind, definition.documents.get(kind, kind), data)
        self.after_event(ctx)
        if flush:
            update_versioned(session, case)  # the subject's UPDATE without the unit of work
            session.flush()  # whatever else the action changed (deadlines, the agreement …)
        return FireResult(case, event, from_state, subject.state, ctx.computed)

    def record(
        self,
        session: Session,
        case: S,
        trigger: str,
        actor: Actor,
        *,
        now: datetime,
        payload: dict[str, Any] | None = None,
        reason: str | None = None,
        request_id: str | None = None,
        role: str | None = None,
        touch: bool = True,
    ) -> E:
        """An event for a change that is not a workflow action (editing terms, an answer, evidence …)."""
        if touch:
            self.touch(case, now)
        state = cast(Subject, case).state
        return self.write_event(
            session,
            case,
            trigger,
            actor=actor,
            role=role or actor.primary_role(self.record_roles),
            now=now,
            from_state=state,
            to_state=state,
            reason=reason,
            payload=payload,
            request_id=request_id,
        )
