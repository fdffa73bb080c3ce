"""Firing actions on cases: check, branch, write the event, the documents and the deadlines.

Nothing here commits: the use case in ``services`` owns the transaction, so an action and all it
writes land together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from bargaining.actors import Actor
from bargaining.errors import Conflict, Forbidden, TransitionRefused, ValidationError
from bargaining.models import Case, Document, Event
from bargaining.rules.calendar import HolidayCalendar
from bargaining.rules.jurisdictions import get_rule_set
from bargaining.rules.periods import legal_date

from . import deadlines as dl
from .context import FireContext
from .events import write_event
from .fields import Field, parse_fields, to_json
from .registry import compiled
from .spec import Action, WorkflowDefinition


@dataclass(frozen=True)
class ActionStatus:
    """An action the case's current state offers, and whether this actor may take it now."""

    trigger: str
    label: str
    allowed: bool
    reasons: tuple[str, ...]
    fields: tuple[Field, ...]
    reason_required: bool
    internal: bool
    description: str = ""


@dataclass
class FireResult:
    case: Case
    event: Event
    from_state: str
    to_state: str
    computed: dict[str, Any] = field(default_factory=dict)


def _context(
    session: Session,
    case: Case,
    definition: WorkflowDefinition,
    action: Action,
    actor: Actor,
    *,
    calendar: HolidayCalendar,
    now: datetime,
    reason: str | None = None,
    request_id: str | None = None,
) -> FireContext:
    return FireContext(
        session=session,
        case=case,
        definition=definition,
        action=action,
        actor=actor,
        rule_set=get_rule_set(case.jurisdiction),
        calendar=calendar,
        now=now,
        today=legal_date(now),
        reason=reason,
        request_id=request_id,
    )


def refusal_reasons(ctx: FireContext) -> list[str]:
    """Every reason the action may not be taken now (empty = allowed)."""
    action, case = ctx.action, ctx.case
    reasons: list[str] = []
    if case.state not in action.sources:
        reasons.append(f"当前阶段为“{ctx.definition.state_label(case.state)}”，不能{action.label}")
        return reasons
    if action.if_rule is not None and not action.if_rule(ctx.rule_set):
        reasons.append(action.rule_unmet or f"本地规则（{ctx.rule_set.name}）无此步骤")
    if not (ctx.actor.roles & action.roles):
        reasons.append(f"您的角色无权执行“{action.label}”")
    if action.requires_documents:
        missing = [k for k in action.requires_documents if k not in ctx.document_kinds()]
        if missing:
            reasons.append("缺少文件：" + "、".join(ctx.definition.documents.get(k, k) for k in missing))
    for guard in action.guards:
        problem = guard(ctx)
        if problem:
            reasons.append(problem)
    return reasons


def allowed_actions(
    session: Session, case: Case, actor: Actor, *, calendar: HolidayCalendar, now: datetime
) -> list[ActionStatus]:
    definition = compiled(case.definition_name, case.definition_version).definition
    statuses = []
    for action in definition.actions:
        if case.state not in action.sources:
            continue
        if action.roles == frozenset({"system"}):
            continue  # only the deadline sweep fires these; nothing for a person to press
        ctx = _context(session, case, definition, action, actor, calendar=calendar, now=now)
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
    session: Session,
    case: Case,
    trigger: str,
    actor: Actor,
    *,
    values: dict[str, Any] | None = None,
    reason: str | None = None,
    calendar: HolidayCalendar,
    now: datetime,
    request_id: str | None = None,
    expected_version: int | None = None,
    legal_today: date | None = None,
) -> FireResult:
    """Fire ``trigger``. ``legal_today`` overrides the legal date the action takes effect on (the
    sweep passes the day a deadline fell due, so a late sweep records the lawful date, not its own)."""
    machine_def = compiled(case.definition_name, case.definition_version)
    definition = machine_def.definition
    action = definition.action(trigger)
    if action is None:
        known = "、".join(f"{a.trigger}（{a.label}）" for a in definition.actions)
        raise ValidationError(f"未知的操作“{trigger}”。可用操作：{known}")
    if expected_version is not None and case.version != expected_version:
        raise Conflict(
            f"协商 {case.number} 已被他人修改（当前版本 {case.version}，您看到的是版本 {expected_version}），请刷新后重试。",
            details={"current_version": case.version},
        )
    ctx = _context(
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
    if case.state not in action.sources:
        raise TransitionRefused(refusal_reasons(ctx)[0], details={"reasons": refusal_reasons(ctx)})
    if not (actor.roles & action.roles):
        # A refusal of access, not of the case's state: it is a 403 and the web layer logs it.
        raise Forbidden(f"您的角色无权执行“{action.label}”。")
    ctx.values = parse_fields(action.fields, values or {}, ctx.today)
    reasons = refusal_reasons(ctx)
    if action.reason_required and not (reason or "").strip():
        reasons.append("请填写原因")
    if reasons:
        raise TransitionRefused(f"不能{action.label}：" + "；".join(reasons), details={"reasons": reasons})
    if action.prepare is not None:
        action.prepare(ctx)
    if action.opens or action.closes or action.pauses or action.resumes:
        dl.prefetch(ctx)

    from_state = case.state
    if not machine_def.machine.events[trigger].trigger(case, ctx=ctx):
        raise TransitionRefused(f"不能{action.label}：没有满足条件的去向")
    ctx.dest = case.state
    case.updated_at = now
    flag_modified(case, "updated_at")  # an UPDATE even when the time is unchanged: the version always moves

    for effect in action.effects:
        effect(ctx)
    payload = to_json(ctx.values)
    payload.update({k: v for k, v in ctx.computed.items() if isinstance(v, str | int | bool)})
    role = actor.primary_role(action.roles)
    ctx.event = write_event(
        session,
        case,
        trigger,
        actor=actor,
        role=role,
        now=now,
        from_state=from_state,
        to_state=case.state,
        reason=reason,
        payload=payload,
        request_id=request_id,
        flush=False,
    )
    if action.produces_document:
        session.add(
            Document(
                case_id=case.id,
                kind=action.produces_document,
                title=definition.documents.get(action.produces_document, action.produces_document),
                data={"case_number": case.number, "values": to_json(ctx.values), "reason": reason, **payload},
                event=ctx.event,
                created_at=now,
            )
        )
    dl.close_deadlines(ctx, action.closes)
    dl.pause_deadlines(ctx, action.pauses)
    dl.resume_deadlines(ctx, action.resumes)
    for opens in action.opens:
        dl.open_deadline(ctx, opens)
    dl.sync_next_due(ctx)
    session.flush()
    return FireResult(case, ctx.event, from_state, case.state, ctx.computed)


def record(
    session: Session,
    case: Case,
    trigger: str,
    actor: Actor,
    *,
    now: datetime,
    payload: dict[str, Any] | None = None,
    reason: str | None = None,
    request_id: str | None = None,
    role: str | None = None,
) -> Event:
    """An event for a change that is not a workflow action (e.g. editing the agreement's terms)."""
    case.updated_at = now
    flag_modified(case, "updated_at")
    return write_event(
        session,
        case,
        trigger,
        actor=actor,
        role=role or actor.primary_role(frozenset({"instructor", "federation_admin", "system"})),
        now=now,
        from_state=case.state,
        to_state=case.state,
        reason=reason,
        payload=payload,
        request_id=request_id,
    )
