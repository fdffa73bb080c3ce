"""Firing actions on audit cases (履约检查) with the shared workflow machinery.

The audit workflow is a ``WorkflowDefinition`` like the bargaining ones, compiled by the same
``registry.compile_definition`` into one shared ``transitions`` Machine per version (``model=None``,
never one per row), and fired by the same sequence (``workflows.firing.Engine``). What differs
from ``workflows.engine`` is only the subject: an ``AuditCase`` instead of a bargaining ``Case``,
its context's facts (checklist, answers, findings, rectifications), its events in the append-only
``audit_events`` table and its documents in ``audit_documents``; its deadlines are opened by its
effects and the sweep, not by the actions. Nothing here commits: the use case in ``services`` owns
the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Unpack

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bargaining.errors import ValidationError
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

from .context import ActionContext
from .definitions.audit import AUDIT_DEFINITIONS
from .events import EventFields, append_event
from .firing import ActionStatus as ActionStatus
from .firing import Engine
from .firing import FireResult as _FireResult
from .firing import refusal_reasons as refusal_reasons
from .registry import Compiled, compile_definition
from .spec import WorkflowDefinition

FireResult = _FireResult[AuditCase, AuditEvent]

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


@dataclass(kw_only=True)
class AuditFireContext(ActionContext[AuditCase, AuditEvent]):
    """What an audit action sees while it is checked and fired (cf. ``workflows.context``)."""

    def template(self) -> ChecklistTemplate:
        return self._cached("template", lambda: template_from_raw(self._template_row()))

    def _template_row(self) -> ChecklistTemplateVersion:
        row = self.session.get(ChecklistTemplateVersion, self.case.checklist_template_id)
        if row is None:  # pragma: no cover - foreign key
            raise ValidationError("检查表不存在")
        return row

    def answers(self) -> dict[str, AuditAnswer]:
        return self._cached(
            "answers",
            lambda: {
                a.item_code: a
                for a in self.session.scalars(
                    select(AuditAnswer).where(AuditAnswer.audit_case_id == self.case.id)
                )
            },
        )

    def findings(self) -> list[Finding]:
        return self._cached(
            "findings",
            lambda: list(
                self.session.scalars(
                    select(Finding).where(Finding.audit_case_id == self.case.id).order_by(Finding.id)
                )
            ),
        )

    def rectifications(self) -> list[Rectification]:
        return self._cached(
            "rectifications",
            lambda: list(
                self.session.scalars(
                    select(Rectification)
                    .where(Rectification.audit_case_id == self.case.id)
                    .order_by(Rectification.id)
                )
            ),
        )

    def document_kinds(self) -> set[str]:
        return self._cached(
            "doc_kinds",
            lambda: set(
                self.session.scalars(
                    select(AuditDocument.kind).where(AuditDocument.audit_case_id == self.case.id)
                )
            ),
        )

    def inspector_ids(self) -> list[int]:
        return self._cached("inspectors", lambda: inspector_ids(self.session, self.case))

    def facts(self) -> CaseFacts:
        # Date-dependent N/A rules are read as of the inspection (the date entered, or recorded).
        on = self.values.get("inspected_on")
        day = on if isinstance(on, date) else (self.case.inspected_on or self.today)
        return self._cached("facts", lambda: case_facts(self.session, self.case, day))


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


class AuditEngine(Engine[AuditCase, AuditEvent, AuditFireContext]):
    noun = "检查"
    action_noun = "检查操作"
    forbid_roles = False  # a role that may not act is one reason among the others
    record_roles = frozenset({"auditor", "federation_admin", "system"})
    context_type = AuditFireContext

    def compiled(self, name: str, version: int) -> Compiled:
        return compiled(name, version)

    def touch(self, case: AuditCase, now: datetime) -> None:
        case.updated_at = now  # dirties the row unless already at ``now``, so the version moves on

    def write_event(
        self, session: Session, case: AuditCase, trigger: str, **fields: Unpack[EventFields]
    ) -> AuditEvent:
        fields["flush"] = True  # audit documents link to their event by id
        return write_audit_event(session, trigger, case=case, **fields)

    def add_document(self, ctx: AuditFireContext, kind: str, title: str, data: dict[str, Any]) -> None:
        add_document(ctx.session, ctx.case, kind, title, data, event=ctx.event, now=ctx.now)


_ENGINE = AuditEngine()
allowed_actions = _ENGINE.allowed_actions
fire = _ENGINE.fire
record = _ENGINE.record


def write_audit_event(
    session: Session,
    trigger: str,
    *,
    case: AuditCase | None = None,
    campaign_id: int | None = None,
    **fields: Unpack[EventFields],
) -> AuditEvent:
    """An ``audit_events`` row about an audit case, or about a campaign as a whole."""
    links = {
        "audit_case_id": case.id if case is not None else None,
        "campaign_id": case.campaign_id if case is not None else campaign_id,
    }
    return append_event(session, AuditEvent, links, case, trigger, **fields)


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
