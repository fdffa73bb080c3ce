"""Use cases on audit cases: workflow actions, checklist answers, findings, rectification.

One function per user action, one transaction each; every change writes an ``audit_events`` row
in the same transaction (workflows/audit_engine.py).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.errors import Forbidden, NotFound, ValidationError
from bargaining.models import Enterprise, OrgUnit
from bargaining.models.audit import (
    AuditAnswer,
    AuditCase,
    AuditDeadline,
    Evidence,
    Finding,
    Rectification,
)
from bargaining.rules.compliance import (
    ANSWER_LABELS,
    EMPLOYER_ANSWER,
    SEVERITIES,
    SEVERITY_LABELS,
    amount_owed,
    check_answer,
)
from bargaining.rules.periods import legal_date
from workflows import audit_engine

from .. import runtime
from ..use_case import fire_on
from .repository import changing_audit_case, get_audit_case, require_auditor

ANSWERABLE = ("planned", "notified")
FINDINGS_EDITABLE = ("inspected",)
RECTIFICATION_ADDABLE = ("findings", "rectification", "escalated")
RECTIFICATION_ACTIVE = ("rectification", "escalated")


def _require_inspector(s: Session, actor: Actor, case: AuditCase, what: str) -> None:
    if actor.is_system:
        return
    recused = audit_engine.recusal_reason(s, actor.user_id, case)
    if recused:
        raise Forbidden(f"{recused}，不能{what}。")
    if "federation_admin" in actor.roles:
        return
    if actor.user_id not in audit_engine.inspector_ids(s, case):
        raise Forbidden(f"只有本企业检查组成员才能{what}。")


def _state_label(case: AuditCase) -> str:
    return audit_engine.definition(case.definition_name, case.definition_version).state_label(case.state)


def case_summary(case: AuditCase) -> dict[str, Any]:
    return {
        "id": case.id,
        "number": case.number,
        "state": case.state,
        "state_label": _state_label(case),
        "version": case.version,
        "score": str(case.score) if case.score is not None else None,
        "compliant": case.compliant,
        "amount_owed": str(case.amount_owed),
        "amount_recovered": str(case.amount_recovered),
    }


def fire_action(
    db: Database,
    actor: Actor,
    ref: str | int,
    trigger: str,
    *,
    values: dict[str, Any] | None = None,
    reason: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    if trigger == "withdraw":
        raise ValidationError("替换出样本须通过抽样替换程序（audit replace），以便同层递补并记入抽样记录。")
    summary, _computed = fire_on(
        db,
        actor,
        ref,
        trigger,
        get=get_audit_case,
        fire=audit_engine.fire,
        summary=case_summary,
        now=now,
        values=values,
        reason=reason,
        request_id=request_id,
        expected_version=expected_version,
    )
    return summary


def save_answers(
    db: Database,
    actor: Actor,
    ref: str | int,
    answers: dict[str, tuple[str, str | None]],
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Record checklist answers (item code → (answer, note)); blank answers are left as they were."""
    require_auditor(actor, "填写检查表")
    now = now or runtime.utcnow()
    with changing_audit_case(db, actor, ref, expected_version) as (s, case):
        if case.state not in ANSWERABLE:
            raise ValidationError(
                f"当前阶段（{_state_label(case)}）不能修改检查表；检查表在登记现场检查前填写。"
            )
        _require_inspector(s, actor, case, "填写检查表")
        ctx_template = audit_engine.template_from_raw(_template_row(s, case))
        facts = audit_engine.case_facts(s, case, legal_date(now))
        existing = {
            a.item_code: a for a in s.scalars(select(AuditAnswer).where(AuditAnswer.audit_case_id == case.id))
        }
        problems = []
        changed: dict[str, str] = {}
        for code, (answer, note) in answers.items():
            if not answer:
                continue
            item = ctx_template.item(code)
            problem = check_answer(item, answer, facts, note)
            if problem:
                problems.append(problem)
                continue
            row = existing.get(code)
            if row is None:
                row = AuditAnswer(audit_case_id=case.id, item_code=code)
                s.add(row)
            if row.answer != answer or row.note != ((note or "").strip() or None):
                changed[code] = answer
            row.answer = answer
            row.note = (note or "").strip() or None
            row.answered_by_id = actor.user_id
            row.answered_at = now
        if problems:
            raise ValidationError("；".join(problems), details={"problems": problems})
        if changed:
            audit_engine.record(
                s,
                case,
                "answer_checklist",
                actor,
                now=now,
                payload={code: ANSWER_LABELS[a] for code, a in changed.items()},
                request_id=request_id,
            )
        out = case_summary(case)
        out["changed"] = sorted(changed)
        return out


def _template_row(s: Session, case: AuditCase) -> Any:
    from bargaining.models.audit import ChecklistTemplateVersion

    row = s.get(ChecklistTemplateVersion, case.checklist_template_id)
    assert row is not None
    return row


def _province_and_tier(s: Session, case: AuditCase) -> tuple[str | None, int]:
    enterprise = s.get(Enterprise, case.enterprise_id)
    assert enterprise is not None
    org = s.get(OrgUnit, enterprise.org_unit_id)
    return (org.province if org else None), enterprise.min_wage_tier


def _refresh_totals(s: Session, case: AuditCase) -> None:
    owed, recovered = s.execute(
        select(
            func.coalesce(func.sum(Finding.amount_owed), 0),
            func.coalesce(func.sum(Finding.amount_recovered), 0),
        ).where(Finding.audit_case_id == case.id)
    ).one()
    case.amount_owed = Decimal(owed).quantize(Decimal("0.01"))
    case.amount_recovered = Decimal(recovered).quantize(Decimal("0.01"))


def add_finding(
    db: Database,
    actor: Actor,
    ref: str | int,
    *,
    item_code: str,
    severity: str | None,
    description: str,
    rows: list[dict[str, Any]] | None = None,
    affected_workers: int | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """A finding on a non-compliant item, with the amount owed computed from the wage data entered."""
    require_auditor(actor, "登记检查发现")
    now = now or runtime.utcnow()
    if not description.strip():
        raise ValidationError("请填写检查发现的具体情况。")
    with changing_audit_case(db, actor, ref, expected_version) as (s, case):
        if case.state not in FINDINGS_EDITABLE:
            raise ValidationError(
                f"当前阶段（{_state_label(case)}）不能登记检查发现；检查发现在登记现场检查后、认定问题前登记。"
            )
        _require_inspector(s, actor, case, "登记检查发现")
        template = audit_engine.template_from_raw(_template_row(s, case))
        item = template.item(item_code)
        answer = s.scalar(
            select(AuditAnswer.answer).where(
                AuditAnswer.audit_case_id == case.id, AuditAnswer.item_code == item_code
            )
        )
        if answer != "noncompliant":
            raise ValidationError(f"检查项“{item.title}”的结论不是“不符合”，不能登记检查发现。")
        chosen = severity or item.default_severity
        if chosen not in SEVERITIES:
            raise ValidationError(
                "严重程度应为：" + "、".join(f"{k}（{v}）" for k, v in SEVERITY_LABELS.items())
            )
        province, tier = _province_and_tier(s, case)
        result = amount_owed(item.amount_kind, rows or [], province=province, tier=tier)
        workers = affected_workers if affected_workers is not None else result.workers
        if workers < 0:
            raise ValidationError("涉及人数不能为负。")
        finding = Finding(
            audit_case_id=case.id,
            item_code=item_code,
            severity=chosen,
            description=description.strip(),
            affected_workers=workers,
            amount_kind=item.amount_kind,
            amount_owed=result.total,
            amount_recovered=Decimal("0.00"),
            calculation=result.as_dict(),
            created_by_id=actor.user_id,
            created_at=now,
        )
        s.add(finding)
        s.flush()
        _refresh_totals(s, case)
        audit_engine.record(
            s,
            case,
            "add_finding",
            actor,
            now=now,
            payload={
                "finding_id": finding.id,
                "item": item_code,
                "severity": chosen,
                "workers": workers,
                "amount_owed": str(result.total),
            },
            request_id=request_id,
        )
        out = case_summary(case)
        out["finding_id"] = finding.id
        out["finding_amount"] = str(result.total)
        out["calculation"] = result.as_dict()
        return out


def record_recovery(
    db: Database,
    actor: Actor,
    ref: str | int,
    *,
    finding_id: int,
    amount: Any,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The amount the employer has paid back (补发) on a finding, in total so far."""
    require_auditor(actor, "登记补发金额")
    now = now or runtime.utcnow()
    try:
        value = Decimal(str(amount).strip()).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise ValidationError(f"补发金额应为数字：{amount}") from None
    if value < 0:
        raise ValidationError("补发金额不能为负。")
    with changing_audit_case(db, actor, ref) as (s, case):
        finding = s.get(Finding, finding_id)
        if finding is None or finding.audit_case_id != case.id:
            raise NotFound("找不到该检查发现。")
        if value > finding.amount_owed:
            raise ValidationError(f"补发金额（{value}元）超过应补发金额（{finding.amount_owed}元）。")
        finding.amount_recovered = value
        s.flush()
        _refresh_totals(s, case)
        audit_engine.record(
            s,
            case,
            "record_recovery",
            actor,
            now=now,
            payload={"finding_id": finding.id, "recovered": str(value)},
            request_id=request_id,
        )
        return case_summary(case)


def _date(raw: Any, label: str) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise ValidationError(f"“{label}”的日期格式应为 YYYY-MM-DD：{raw}") from None


def add_rectification(
    db: Database,
    actor: Actor,
    ref: str | int,
    *,
    finding_id: int,
    action: str,
    owner: str,
    due: Any,
    required_evidence: str,
    expected_version: int | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """A rectification item on a finding: what, who, by when, and the evidence that proves it."""
    require_auditor(actor, "下达整改事项")
    now = now or runtime.utcnow()
    due_on = _date(due, "整改期限")
    for value, label in ((action, "整改要求"), (owner, "责任人"), (required_evidence, "须提交的证据")):
        if not value.strip():
            raise ValidationError(f"请填写“{label}”。")
    with changing_audit_case(db, actor, ref, expected_version) as (s, case):
        if case.state not in RECTIFICATION_ADDABLE:
            raise ValidationError(f"当前阶段（{_state_label(case)}）不能下达整改事项；须先认定检查问题。")
        finding = s.get(Finding, finding_id)
        if finding is None or finding.audit_case_id != case.id:
            raise NotFound("找不到该检查发现。")
        today = legal_date(now)
        if due_on <= today:
            raise ValidationError(f"整改期限（{due_on.isoformat()}）应晚于今天（{today.isoformat()}）。")
        item = Rectification(
            audit_case_id=case.id,
            finding_id=finding.id,
            action=action.strip(),
            owner=owner.strip(),
            due=due_on,
            required_evidence=required_evidence.strip(),
            status="open",
            escalation="none",
            created_at=now,
        )
        s.add(item)
        s.flush()
        if case.state in RECTIFICATION_ACTIVE:
            audit_engine.open_rectification_deadline(s, case, item, now=now, calendar=runtime.calendar(s))
        audit_engine.record(
            s,
            case,
            "add_rectification",
            actor,
            now=now,
            payload={
                "rectification_id": item.id,
                "finding_id": finding.id,
                "owner": item.owner,
                "due": due_on.isoformat(),
            },
            request_id=request_id,
        )
        out = case_summary(case)
        out["rectification_id"] = item.id
        return out


def _rectification(s: Session, case: AuditCase, rectification_id: int) -> Rectification:
    item = s.get(Rectification, rectification_id)
    if item is None or item.audit_case_id != case.id:
        raise NotFound("找不到该整改事项。")
    return item


def submit_rectification(
    db: Database,
    actor: Actor,
    ref: str | int,
    *,
    rectification_id: int,
    note: str,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The employer reports the item done; the evidence it requires must be attached first."""
    require_auditor(actor, "登记整改完成情况")
    now = now or runtime.utcnow()
    with changing_audit_case(db, actor, ref) as (s, case):
        if case.state not in RECTIFICATION_ACTIVE:
            raise ValidationError(f"当前阶段（{_state_label(case)}）不在整改期间。")
        item = _rectification(s, case, rectification_id)
        if item.status != "open":
            raise ValidationError("该整改事项已提交或已复查合格。")
        files = (
            s.scalar(select(func.count()).select_from(Evidence).where(Evidence.rectification_id == item.id))
            or 0
        )
        if not files:
            raise ValidationError(f"请先上传整改证据（须提交：{item.required_evidence}）。")
        item.status = "submitted"
        item.submitted_at = now
        item.submitted_note = note.strip() or None
        audit_engine.record(
            s,
            case,
            "submit_rectification",
            actor,
            now=now,
            payload={"rectification_id": item.id, "evidence_files": files},
            request_id=request_id,
        )
        return case_summary(case)


def verify_rectification(
    db: Database,
    actor: Actor,
    ref: str | int,
    *,
    rectification_id: int,
    passed: bool,
    note: str,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Re-check one item: passed closes its clocks; failed sends it back to open, clocks running."""
    require_auditor(actor, "复查整改事项")
    now = now or runtime.utcnow()
    if not note.strip():
        raise ValidationError("请填写复查意见。")
    with changing_audit_case(db, actor, ref) as (s, case):
        if case.state not in RECTIFICATION_ACTIVE:
            raise ValidationError(f"当前阶段（{_state_label(case)}）不在整改期间。")
        _require_inspector(s, actor, case, "复查整改")
        item = _rectification(s, case, rectification_id)
        if item.status != "submitted":
            raise ValidationError("只有已提交整改证据的事项才能复查。")
        item.recheck_note = note.strip()
        if passed:
            item.status = "verified"
            item.verified_at = now
            item.verified_by_id = actor.user_id
            audit_engine.close_deadlines(s, case.id, now=now, rectification_id=item.id)
        else:
            item.status = "open"
        audit_engine.record(
            s,
            case,
            "verify_rectification" if passed else "reject_rectification",
            actor,
            now=now,
            reason=note.strip(),
            payload={"rectification_id": item.id, "passed": passed},
            request_id=request_id,
        )
        return case_summary(case)


def record_employer_answer(
    db: Database,
    actor: Actor,
    ref: str | int,
    *,
    rectification_id: int,
    answered_on: Any,
    summary: str,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The employer's written answer to the supervision opinion, within 15 working days."""
    require_auditor(actor, "登记用人单位书面答复")
    now = now or runtime.utcnow()
    on = _date(answered_on, "答复日期")
    if not summary.strip():
        raise ValidationError("请填写答复要点（事实情况和整改措施）。")
    with changing_audit_case(db, actor, ref) as (s, case):
        item = _rectification(s, case, rectification_id)
        if item.escalation != "opinion_issued":
            raise ValidationError("该整改事项没有待答复的劳动法律监督意见书。")
        if on > legal_date(now):
            raise ValidationError("答复日期不能晚于今天。")
        deadline = s.scalar(
            select(AuditDeadline).where(
                AuditDeadline.rectification_id == item.id,
                AuditDeadline.kind == audit_engine.EMPLOYER_ANSWER_DUE,
                AuditDeadline.closed_at.is_(None),
                AuditDeadline.fired_at.is_(None),
            )
        )
        late = deadline is not None and on > deadline.due
        audit_engine.close_deadlines(
            s, case.id, now=now, rectification_id=item.id, kinds=(audit_engine.EMPLOYER_ANSWER_DUE,)
        )
        item.escalation = "answered"
        event = audit_engine.record(
            s,
            case,
            "record_employer_answer",
            actor,
            now=now,
            payload={"rectification_id": item.id, "answered_on": on.isoformat(), "late": late},
            request_id=request_id,
        )
        audit_engine.add_document(
            s,
            case,
            EMPLOYER_ANSWER.kind,
            EMPLOYER_ANSWER.title,
            {
                "case_number": case.number,
                "rectification_id": item.id,
                "answered_on": on.isoformat(),
                "summary": summary.strip(),
                "basis": EMPLOYER_ANSWER.basis,
            },
            event=event,
            now=now,
            rectification_id=item.id,
        )
        return case_summary(case)
