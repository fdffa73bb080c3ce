"""The audit sweep: campaign schedules (reminder, start, end of field work, report due) and the
deadlines of audit cases (a rectification's due date, the employer's 15-working-day answer).

Called from the scheduler tick next to the deadline sweep (``sweep_audits(db, now)``). Like the
deadline sweep it claims due rows in batches, fires each idempotently and marks it fired in the
same transaction: a crash before commit leaves the rows for the next sweep, a committed row is
never fired again, so a restart neither loses nor doubles a campaign start. On PostgreSQL rows
another sweep holds are skipped (``FOR UPDATE SKIP LOCKED``); audit cases are locked before their
deadlines, in id order, as a web request locks them. On SQLite ``BEGIN IMMEDIATE`` serialises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bargaining.actors import SYSTEM
from bargaining.db import Database
from bargaining.errors import DomainError
from bargaining.models import Enterprise
from bargaining.models.audit import (
    AuditCase,
    AuditDeadline,
    AuditEvent,
    Campaign,
    CampaignInspector,
    Finding,
    Rectification,
    ScheduleEntry,
)
from bargaining.models.org import User
from bargaining.rules.compliance import SUPERVISION_OPINION, SUPERVISION_SUGGESTION
from bargaining.rules.periods import legal_date
from workflows import audit_engine

from .. import runtime
from ..deadlines import record_fire_failure
from ..uow import unit_of_work
from .campaigns import SCHEDULE_LABELS, start_campaign


@dataclass
class AuditSweepReport:
    reminders: int = 0
    started: int = 0
    fieldwork_closed: int = 0
    reports_due: int = 0
    opinions: int = 0
    suggestions: int = 0
    pending_recheck: int = 0
    failed: int = 0
    details: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return (
            self.reminders
            + self.started
            + self.fieldwork_closed
            + self.reports_due
            + self.opinions
            + self.suggestions
            + self.pending_recheck
            + self.failed
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "reminders": self.reminders,
            "started": self.started,
            "fieldwork_closed": self.fieldwork_closed,
            "reports_due": self.reports_due,
            "opinions": self.opinions,
            "suggestions": self.suggestions,
            "pending_recheck": self.pending_recheck,
            "failed": self.failed,
            "details": self.details,
        }


def sweep_audits(
    db: Database, now: datetime | None = None, *, batch_size: int = 200, keep_details: bool = True
) -> AuditSweepReport:
    """Fire every due schedule entry and audit deadline as of ``now``; one transaction per batch."""
    now = now or runtime.utcnow()
    report = AuditSweepReport()
    for batch in (_schedule_batch, _deadline_batch):
        while True:
            with unit_of_work(db) as uow:
                processed = batch(uow.session, now, batch_size, report, keep_details)
            if processed < batch_size:
                break
    return report


def _postgres(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def _campaign_event(s: Session, campaign: Campaign, trigger: str, now: datetime, **kw: Any) -> AuditEvent:
    return audit_engine.write_audit_event(
        s,
        trigger,
        campaign_id=campaign.id,
        actor=SYSTEM,
        role="system",
        now=now,
        from_state=campaign.status,
        to_state=campaign.status,
        **kw,
    )


# ---- campaign schedules ---------------------------------------------------------------------------


def _schedule_batch(s: Session, now: datetime, limit: int, report: AuditSweepReport, keep: bool) -> int:
    query = (
        select(ScheduleEntry)
        .where(ScheduleEntry.fire_at <= now, ScheduleEntry.fired_at.is_(None))
        .order_by(ScheduleEntry.fire_at, ScheduleEntry.id)
        .limit(limit)
    )
    if _postgres(s):
        query = query.with_for_update(skip_locked=True)
    entries = list(s.scalars(query))
    for entry in entries:
        campaign_query = select(Campaign).where(Campaign.id == entry.campaign_id)
        if _postgres(s):
            campaign_query = campaign_query.with_for_update()
        campaign = s.scalars(campaign_query).one()
        try:
            with s.begin_nested():
                outcome = _fire_entry(s, entry, campaign, now, report)
        except DomainError as exc:
            s.expire(campaign)
            outcome = f"失败：{exc.message}"
            _campaign_event(
                s, campaign, "schedule_failed", now, reason=exc.message, payload={"kind": entry.kind}
            )
            report.failed += 1
        entry.fired_at = now
        entry.outcome = outcome
        if keep:
            report.details.append({"campaign": campaign.number, "kind": entry.kind, "outcome": outcome})
    s.flush()
    return len(entries)


def _recipients(s: Session, campaign: Campaign) -> list[str]:
    names = list(
        s.scalars(
            select(User.username)
            .join(CampaignInspector, CampaignInspector.user_id == User.id)
            .where(CampaignInspector.campaign_id == campaign.id)
            .order_by(User.username)
        )
    )
    if campaign.created_by_id is not None:
        creator = s.get(User, campaign.created_by_id)
        if creator is not None and creator.username not in names:
            names.append(creator.username)
    return names


def _fire_entry(
    s: Session, entry: ScheduleEntry, campaign: Campaign, now: datetime, report: AuditSweepReport
) -> str:
    label = SCHEDULE_LABELS.get(entry.kind, entry.kind)
    if entry.kind == "reminder":
        if campaign.status != "approved":
            return "已跳过：检查已启动"
        recipients = _recipients(s, campaign)
        _campaign_event(
            s,
            campaign,
            "campaign_reminder",
            now,
            reason=f"专项抽查“{campaign.title}”将于{campaign.start_on.isoformat()}启动，现场检查{campaign.fieldwork_start.isoformat()}至{campaign.fieldwork_end.isoformat()}",
            payload={"recipients": recipients},
        )
        report.reminders += 1
        return f"已提醒 {len(recipients)} 人"
    if entry.kind == "start":
        count = start_campaign(s, campaign, SYSTEM, now)
        report.started += 1
        return f"已启动，开立检查 {count} 件"
    states = dict(
        s.execute(select(AuditCase.number, AuditCase.state).where(AuditCase.campaign_id == campaign.id)).all()
    )
    if entry.kind == "fieldwork_end":
        pending = sorted(n for n, st in states.items() if st in ("planned", "notified"))
        _campaign_event(
            s,
            campaign,
            "fieldwork_ended",
            now,
            reason=f"现场检查期限（{campaign.fieldwork_end.isoformat()}）已届满，{len(pending)}件尚未完成现场检查",
            payload={"not_inspected": pending[:500], "count": len(pending)},
        )
        report.fieldwork_closed += 1
        return f"{label}：{len(pending)} 件未完成现场检查"
    open_cases = sum(1 for st in states.values() if st not in ("closed", "withdrawn"))
    _campaign_event(
        s,
        campaign,
        "report_due",
        now,
        reason=f"专项抽查报告应于{campaign.report_due.isoformat()}提交；{open_cases}件检查尚未结案",
        payload={"open_cases": open_cases, "cases": len(states)},
    )
    report.reports_due += 1
    return f"{label}：{open_cases} 件未结案"


# ---- audit-case deadlines -------------------------------------------------------------------------


def _deadline_batch(s: Session, now: datetime, limit: int, report: AuditSweepReport, keep: bool) -> int:
    candidates = s.execute(
        select(AuditDeadline.id, AuditDeadline.audit_case_id)
        .where(
            AuditDeadline.fire_at <= now, AuditDeadline.fired_at.is_(None), AuditDeadline.closed_at.is_(None)
        )
        .order_by(AuditDeadline.fire_at, AuditDeadline.id)
        .limit(limit)
    ).all()
    if not candidates:
        return 0
    case_query = (
        select(AuditCase).where(AuditCase.id.in_(sorted({c for _, c in candidates}))).order_by(AuditCase.id)
    )
    if _postgres(s):  # cases first, in id order, as a web request locks them
        case_query = case_query.with_for_update(skip_locked=True)
    cases = {c.id: c for c in s.scalars(case_query)}
    deadline_query = (
        select(AuditDeadline)
        .where(
            AuditDeadline.id.in_([d for d, _ in candidates]),
            AuditDeadline.audit_case_id.in_(list(cases)),
            AuditDeadline.fired_at.is_(None),
            AuditDeadline.closed_at.is_(None),
        )
        .order_by(AuditDeadline.fire_at, AuditDeadline.id)
    )
    if _postgres(s):
        deadline_query = deadline_query.with_for_update(skip_locked=True)
    deadlines = list(s.scalars(deadline_query)) if cases else []
    calendar = runtime.calendar(s)
    for deadline in deadlines:
        case = cases[deadline.audit_case_id]
        item = s.get(Rectification, deadline.rectification_id) if deadline.rectification_id else None
        try:
            with s.begin_nested():
                if item is None:
                    raise DomainError("期限没有对应的整改事项")
                if deadline.kind == audit_engine.RECTIFICATION_DUE:
                    event, action = _rectification_overdue(s, case, item, deadline, now, calendar, report)
                else:
                    event, action = _answer_overdue(s, case, item, deadline, now, calendar, report)
                deadline.fired_at = now
                deadline.fired_event_id = event.id
        except DomainError as exc:
            event = record_fire_failure(audit_engine.record, s, case, deadline, exc, now)
            deadline.fired_at = now
            deadline.fired_event_id = event.id
            report.failed += 1
            action = "failed"
        if keep:
            report.details.append({"case": case.number, "kind": deadline.kind, "action": action})
    s.flush()
    return len(deadlines)


def _document_data(
    s: Session, case: AuditCase, item: Rectification, deadline: AuditDeadline
) -> dict[str, Any]:
    enterprise = s.get(Enterprise, case.enterprise_id)
    finding = s.get(Finding, item.finding_id)
    return {
        "case_number": case.number,
        "enterprise": enterprise.name if enterprise else "",
        "credit_code": enterprise.credit_code if enterprise else "",
        "finding": finding.description if finding else "",
        "amount_owed": str(finding.amount_owed) if finding else "0.00",
        "rectification": item.action,
        "owner": item.owner,
        "due": deadline.due.isoformat(),
    }


def _rectification_overdue(
    s: Session,
    case: AuditCase,
    item: Rectification,
    deadline: AuditDeadline,
    now: datetime,
    calendar: Any,
    report: AuditSweepReport,
) -> tuple[AuditEvent, str]:
    """Step 1 of the ladder: the 监督意见书, and the employer's 15-working-day answer clock."""
    if item.status == "submitted":
        report.pending_recheck += 1
        event = audit_engine.record(
            s,
            case,
            "rectification_due_pending_recheck",
            SYSTEM,
            now=now,
            role="system",
            reason=f"整改期限（{deadline.due.isoformat()}）届满；企业已提交整改证据，待复查",
            payload={"rectification_id": item.id},
        )
        return event, "pending_recheck"
    served_on = legal_date(now)
    item.escalation = "opinion_issued"
    event = audit_engine.record(
        s,
        case,
        "supervision_opinion_issued",
        SYSTEM,
        now=now,
        role="system",
        reason=f"整改事项逾期未完成（期限{deadline.due.isoformat()}）：{SUPERVISION_OPINION.basis}",
        payload={"rectification_id": item.id, "due": deadline.due.isoformat()},
    )
    answer = audit_engine.open_answer_deadline(s, case, item, served_on=served_on, now=now, calendar=calendar)
    data = _document_data(s, case, item, deadline)
    data.update(
        {
            "issued_on": served_on.isoformat(),
            "answer_due": answer.due.isoformat(),
            "answer_due_provisional": answer.provisional,
            "basis": SUPERVISION_OPINION.basis,
        }
    )
    audit_engine.add_document(
        s,
        case,
        SUPERVISION_OPINION.kind,
        SUPERVISION_OPINION.title,
        data,
        event=event,
        now=now,
        rectification_id=item.id,
    )
    report.opinions += 1
    return event, "supervision_opinion"


def _answer_overdue(
    s: Session,
    case: AuditCase,
    item: Rectification,
    deadline: AuditDeadline,
    now: datetime,
    calendar: Any,
    report: AuditSweepReport,
) -> tuple[AuditEvent, str]:
    """Step 3 of the ladder: no written answer in 15 working days → 监督建议书, case escalated."""
    item.escalation = "suggestion_sent"
    reason = f"用人单位未在{deadline.due.isoformat()}前书面答复劳动法律监督意见书"
    event = audit_engine.record(
        s,
        case,
        "supervision_suggestion_sent",
        SYSTEM,
        now=now,
        role="system",
        reason=f"{reason}：{SUPERVISION_SUGGESTION.basis}",
        payload={"rectification_id": item.id, "answer_due": deadline.due.isoformat()},
    )
    data = _document_data(s, case, item, deadline)
    data.update(
        {
            "issued_on": legal_date(now).isoformat(),
            "to": "人力资源和社会保障部门",
            "basis": SUPERVISION_SUGGESTION.basis,
        }
    )
    audit_engine.add_document(
        s,
        case,
        SUPERVISION_SUGGESTION.kind,
        SUPERVISION_SUGGESTION.title,
        data,
        event=event,
        now=now,
        rectification_id=item.id,
    )
    if case.state == "rectification":
        audit_engine.fire(s, case, "escalate", SYSTEM, reason=reason, calendar=calendar, now=now)
    report.suggestions += 1
    return event, "supervision_suggestion"
