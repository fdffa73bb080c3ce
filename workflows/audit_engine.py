"""Firing actions on audit cases (履约检查) with the shared workflow machinery.

The audit workflow is a ``WorkflowDefinition`` like the bargaining ones, compiled by the same
``registry.compile_definition`` into one shared ``transitions`` Machine per version (``model=None``,
never one per row). What differs from ``workflows.engine`` is only the subject: an ``AuditCase``
(any object with ``id``, ``number``, ``state``, ``definition_name``, ``definition_version`` and
``version``) instead of a bargaining ``Case``, and its events go to the append-only
``audit_events`` table. Nothing here commits: the use case in ``services`` owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.errors import Conflict, TransitionRefused, ValidationError
from bargaining.models.audit import (
    AuditAnswer,
    AuditCase,
    AuditDeadline,
    AuditDocument,
    AuditEvent,
    ChecklistTemplateVersion,
    Finding,
    Rectification,
    SamplingInspector,
    SamplingRecord,
)
from bargaining.rules.calendar import HolidayCalendar
from bargaining.rules.compliance import (
    EMPLOYER_ANSWER,
    EMPLOYER_ANSWER_PERIOD,
    SUPERVISION_OPINION,
    CaseFacts,
    ChecklistTemplate,
    template_from_dict,
)
from bargaining.rules.periods import due_date, end_of_day_utc, legal_date

from .definitions.audit import AUDIT_DEFINITIONS
from .fields import Field, parse_fields, to_json
from .registry import Compiled, compile_definition
from .spec import Action, WorkflowDefinition


class AuditSubject(Protocol):
    """What the engine needs of the row it fires on."""

    id: int
    number: str
    state: str
    definition_name: str
    definition_version: int
    version: int


_COMPILED: dict[tuple[str, int], Compiled] = {
    (d.name, d.version): compile_definition(d) for d in AUDIT_DEFINITIONS
}
_CURRENT: dict[str, WorkflowDefinition] = {}
for _d in AUDIT_DEFINITIONS:
    if _d.name not in _CURRENT or _d.version > _CURRENT[_d.name].version:
        _CURRENT[_d.name] = _d


def compiled(name: str, version: int) -> Compiled:
    try:
        return _COMPILED[(name, version)]
    except KeyError:
        raise ValidationError(f"检查流程定义 {name}@{version} 不存在") from None


def definition(name: str, version: int) -> WorkflowDefinition:
    return compiled(name, version).definition


def current_definition(name: str = "audit") -> WorkflowDefinition:
    try:
        return _CURRENT[name]
    except KeyError:
        raise ValidationError(f"没有“{name}”检查流程定义") from None


@dataclass
class AuditFireContext:
    """What an audit action sees while it is checked and fired (cf. ``workflows.context``)."""

    session: Session
    case: AuditCase
    definition: WorkflowDefinition
    action: Action
    actor: Actor
    calendar: HolidayCalendar
    now: datetime
    today: date  # the legal date in China Standard Time
    values: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    request_id: str | None = None
    computed: dict[str, Any] = field(default_factory=dict)
    event: AuditEvent | None = None
    dest: str | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    def template(self) -> ChecklistTemplate:
        if "template" not in self._cache:
            row = self.session.get(ChecklistTemplateVersion, self.case.checklist_template_id)
            if row is None:  # pragma: no cover - foreign key
                raise ValidationError("检查表不存在")
            self._cache["template"] = template_from_raw(row)
        template: ChecklistTemplate = self._cache["template"]
        return template

    def answers(self) -> dict[str, AuditAnswer]:
        if "answers" not in self._cache:
            rows = self.session.scalars(select(AuditAnswer).where(AuditAnswer.audit_case_id == self.case.id))
            self._cache["answers"] = {a.item_code: a for a in rows}
        answers: dict[str, AuditAnswer] = self._cache["answers"]
        return answers

    def findings(self) -> list[Finding]:
        if "findings" not in self._cache:
            self._cache["findings"] = list(
                self.session.scalars(
                    select(Finding).where(Finding.audit_case_id == self.case.id).order_by(Finding.id)
                )
            )
        findings: list[Finding] = self._cache["findings"]
        return findings

    def rectifications(self) -> list[Rectification]:
        if "rectifications" not in self._cache:
            self._cache["rectifications"] = list(
                self.session.scalars(
                    select(Rectification)
                    .where(Rectification.audit_case_id == self.case.id)
                    .order_by(Rectification.id)
                )
            )
        items: list[Rectification] = self._cache["rectifications"]
        return items

    def inspector_ids(self) -> list[int]:
        if "inspectors" not in self._cache:
            self._cache["inspectors"] = inspector_ids(self.session, self.case)
        ids: list[int] = self._cache["inspectors"]
        return ids

    def facts(self) -> CaseFacts:
        if "facts" not in self._cache:
            # Date-dependent N/A rules are read as of the inspection (the date entered, or recorded).
            on = self.values.get("inspected_on")
            day = on if isinstance(on, date) else (self.case.inspected_on or self.today)
            self._cache["facts"] = case_facts(self.session, self.case, day)
        facts: CaseFacts = self._cache["facts"]
        return facts


def template_from_raw(row: ChecklistTemplateVersion) -> ChecklistTemplate:
    return template_from_dict(
        {
            "code": row.code,
            "version": row.version,
            "title": row.title,
            "legal_basis": row.legal_basis,
            "items": row.items,
        }
    )


def inspector_ids(session: Session, case: AuditCase) -> list[int]:
    """The inspectors drawn for the case's enterprise in its campaign's sampling record."""
    return list(
        session.scalars(
            select(SamplingInspector.user_id)
            .join(SamplingRecord, SamplingRecord.id == SamplingInspector.record_id)
            .where(SamplingRecord.campaign_id == case.campaign_id, SamplingInspector.unit_id == case.unit_id)
            .order_by(SamplingInspector.position)
        )
    )


def recusal_reason(session: Session, user_id: int | None, case: AuditCase) -> str | None:
    """Why this user must stand aside from this case's enterprise (回避), if a tie is declared."""
    if user_id is None:
        return None
    from bargaining.models.audit import InspectorLink

    relation = session.scalar(
        select(InspectorLink.relation).where(
            InspectorLink.user_id == user_id, InspectorLink.enterprise_id == case.enterprise_id
        )
    )
    return f"您与该企业有关联（{relation}），须回避" if relation else None


def case_facts(session: Session, case: AuditCase, today: date) -> CaseFacts:
    """What the checklist's N/A rules read: the enterprise's agreement in force."""
    from bargaining.models import Agreement, RateTable

    if case.agreement_case_id is None:
        return CaseFacts(has_piece_rate=False, months_in_force=None)
    agreement = session.scalar(select(Agreement).where(Agreement.case_id == case.agreement_case_id))
    if agreement is None:
        return CaseFacts(has_piece_rate=False, months_in_force=None)
    has_rates = (
        session.scalar(select(RateTable.id).where(RateTable.agreement_id == agreement.id).limit(1))
        is not None
    )
    start = agreement.in_force_on or agreement.term_start
    months = None
    if start is not None:
        months = (
            (today.year - start.year) * 12 + (today.month - start.month) - (1 if today.day < start.day else 0)
        )
    return CaseFacts(has_piece_rate=has_rates, months_in_force=months)


@dataclass(frozen=True)
class ActionStatus:
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
    case: AuditCase
    event: AuditEvent
    from_state: str
    to_state: str
    computed: dict[str, Any] = field(default_factory=dict)


def _context(
    session: Session,
    case: AuditCase,
    definition_: WorkflowDefinition,
    action: Action,
    actor: Actor,
    *,
    calendar: HolidayCalendar,
    now: datetime,
    reason: str | None = None,
    request_id: str | None = None,
) -> AuditFireContext:
    return AuditFireContext(
        session=session,
        case=case,
        definition=definition_,
        action=action,
        actor=actor,
        calendar=calendar,
        now=now,
        today=legal_date(now),
        reason=reason,
        request_id=request_id,
    )


def refusal_reasons(ctx: AuditFireContext) -> list[str]:
    """Every reason the action may not be taken now (empty = allowed)."""
    action, case = ctx.action, ctx.case
    if case.state not in action.sources:
        return [f"当前阶段为“{ctx.definition.state_label(case.state)}”，不能{action.label}"]
    reasons: list[str] = []
    if not (ctx.actor.roles & action.roles):
        reasons.append(f"您的角色无权执行“{action.label}”")
    for guard in action.guards:
        problem = guard(ctx)  # type: ignore[arg-type]  # audit guards read an AuditFireContext
        if problem:
            reasons.append(problem)
    return reasons


def allowed_actions(
    session: Session, case: AuditCase, actor: Actor, *, calendar: HolidayCalendar, now: datetime
) -> list[ActionStatus]:
    definition_ = compiled(case.definition_name, case.definition_version).definition
    statuses = []
    for action in definition_.actions:
        if case.state not in action.sources or action.roles == frozenset({"system"}):
            continue
        ctx = _context(session, case, definition_, action, actor, calendar=calendar, now=now)
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
    case: AuditCase,
    trigger: str,
    actor: Actor,
    *,
    values: dict[str, Any] | None = None,
    reason: str | None = None,
    calendar: HolidayCalendar,
    now: datetime,
    request_id: str | None = None,
    expected_version: int | None = None,
) -> FireResult:
    machine_def = compiled(case.definition_name, case.definition_version)
    definition_ = machine_def.definition
    action = definition_.action(trigger)
    if action is None:
        known = "、".join(f"{a.trigger}（{a.label}）" for a in definition_.actions)
        raise ValidationError(f"未知的检查操作“{trigger}”。可用操作：{known}")
    if expected_version is not None and case.version != expected_version:
        raise Conflict(
            f"检查 {case.number} 已被他人修改（当前版本 {case.version}，您看到的是版本 {expected_version}），请刷新后重试。",
            details={"current_version": case.version},
        )
    ctx = _context(
        session,
        case,
        definition_,
        action,
        actor,
        calendar=calendar,
        now=now,
        reason=reason,
        request_id=request_id,
    )
    if case.state not in action.sources:
        reasons = refusal_reasons(ctx)
        raise TransitionRefused(reasons[0], details={"reasons": reasons})
    ctx.values = parse_fields(action.fields, values or {}, ctx.today)
    reasons = refusal_reasons(ctx)
    if action.reason_required and not (reason or "").strip():
        reasons.append("请填写原因")
    if reasons:
        raise TransitionRefused(f"不能{action.label}：" + "；".join(reasons), details={"reasons": reasons})
    if action.prepare is not None:
        action.prepare(ctx)  # type: ignore[arg-type]

    from_state = case.state
    if not machine_def.machine.events[trigger].trigger(case, ctx=ctx):
        raise TransitionRefused(f"不能{action.label}：没有满足条件的去向")
    ctx.dest = case.state
    case.updated_at = now  # always dirties the row, so the optimistic-lock version moves on
    for effect in action.effects:
        effect(ctx)  # type: ignore[arg-type]
    payload = to_json(ctx.values)
    payload.update({k: v for k, v in ctx.computed.items() if isinstance(v, str | int | bool)})
    ctx.event = write_audit_event(
        session,
        trigger,
        case=case,
        actor=actor,
        role=actor.primary_role(action.roles),
        now=now,
        from_state=from_state,
        to_state=case.state,
        reason=reason,
        payload=payload,
        request_id=request_id,
    )
    if action.produces_document:
        add_document(
            session,
            case,
            action.produces_document,
            definition_.documents.get(action.produces_document, action.produces_document),
            {"case_number": case.number, "values": to_json(ctx.values), "reason": reason, **payload},
            event=ctx.event,
            now=now,
        )
    session.flush()
    return FireResult(case, ctx.event, from_state, case.state, ctx.computed)


def write_audit_event(
    session: Session,
    trigger: str,
    *,
    actor: Actor,
    role: str,
    now: datetime,
    case: AuditCase | None = None,
    campaign_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    payload: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> AuditEvent:
    event = AuditEvent(
        audit_case_id=case.id if case is not None else None,
        campaign_id=case.campaign_id if case is not None else campaign_id,
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
    session.flush()  # the id links documents and deadlines to the event
    return event


def record(
    session: Session,
    case: AuditCase,
    trigger: str,
    actor: Actor,
    *,
    now: datetime,
    payload: dict[str, Any] | None = None,
    reason: str | None = None,
    request_id: str | None = None,
    role: str | None = None,
    touch: bool = True,
) -> AuditEvent:
    """An event for a change that is not a workflow action (an answer, a finding, evidence …)."""
    if touch:
        case.updated_at = now
    return write_audit_event(
        session,
        trigger,
        case=case,
        actor=actor,
        role=role or actor.primary_role(frozenset({"auditor", "federation_admin", "system"})),
        now=now,
        from_state=case.state,
        to_state=case.state,
        reason=reason,
        payload=payload,
        request_id=request_id,
    )


def add_document(
    session: Session,
    case: AuditCase,
    kind: str,
    title: str,
    data: dict[str, Any],
    *,
    event: AuditEvent | None,
    now: datetime,
    rectification_id: int | None = None,
) -> AuditDocument:
    document = AuditDocument(
        audit_case_id=case.id,
        rectification_id=rectification_id,
        kind=kind,
        title=title,
        data=data,
        event_id=event.id if event is not None else None,
        created_at=now,
    )
    session.add(document)
    return document


# ---- deadlines of audit cases ---------------------------------------------------------------------

RECTIFICATION_DUE = "rectification_due"
EMPLOYER_ANSWER_DUE = "employer_answer"
AUDIT_DEADLINE_LABELS = {
    RECTIFICATION_DUE: "整改期限",
    EMPLOYER_ANSWER_DUE: "用人单位书面答复期限（15个工作日）",
}


def open_rectification_deadline(
    session: Session, case: AuditCase, item: Rectification, *, now: datetime, calendar: HolidayCalendar
) -> AuditDeadline:
    """The rectification's own due date: at its end (24:00 China time) the sweep escalates."""
    deadline = AuditDeadline(
        audit_case_id=case.id,
        rectification_id=item.id,
        kind=RECTIFICATION_DUE,
        start_date=legal_date(now),
        due=item.due,
        fire_at=end_of_day_utc(item.due),
        legal_basis=f"整改通知书确定的整改期限；逾期未完成的，{SUPERVISION_OPINION.basis}",
        provisional=False,
        created_at=now,
    )
    session.add(deadline)
    return deadline


def open_answer_deadline(
    session: Session,
    case: AuditCase,
    item: Rectification,
    *,
    served_on: date,
    now: datetime,
    calendar: HolidayCalendar,
) -> AuditDeadline:
    """The employer's written answer: 15 working days from the day the opinion is served."""
    result = due_date(served_on, EMPLOYER_ANSWER_PERIOD, calendar)
    deadline = AuditDeadline(
        audit_case_id=case.id,
        rectification_id=item.id,
        kind=EMPLOYER_ANSWER_DUE,
        start_date=served_on,
        due=result.due,
        fire_at=end_of_day_utc(result.due),
        legal_basis=EMPLOYER_ANSWER.basis,
        provisional=result.provisional,
        created_at=now,
    )
    session.add(deadline)
    return deadline


def close_deadlines(
    session: Session,
    case_id: int,
    *,
    now: datetime,
    rectification_id: int | None = None,
    kinds: tuple[str, ...] | None = None,
) -> int:
    """Close the open deadlines of a case (or of one rectification item); returns how many."""
    query = (
        update(AuditDeadline)
        .where(
            AuditDeadline.audit_case_id == case_id,
            AuditDeadline.fired_at.is_(None),
            AuditDeadline.closed_at.is_(None),
        )
        .values(closed_at=now)
        .execution_options(synchronize_session=False)
    )
    if rectification_id is not None:
        query = query.where(AuditDeadline.rectification_id == rectification_id)
    if kinds is not None:
        query = query.where(AuditDeadline.kind.in_(kinds))
    result = session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)
