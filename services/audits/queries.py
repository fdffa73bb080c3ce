"""Read-only views of campaigns and audit cases for the CLI and the pages (region-scoped)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.models import Enterprise, OrgUnit, User
from bargaining.models.audit import (
    AuditAnswer,
    AuditCase,
    AuditDeadline,
    AuditDocument,
    AuditEvent,
    Campaign,
    CampaignInspector,
    ChecklistTemplateVersion,
    Evidence,
    Finding,
    Rectification,
    SamplingInspector,
    SamplingRecord,
    SamplingReplacement,
    SamplingUnit,
    ScheduleEntry,
)
from bargaining.rules.compliance import (
    AMOUNT_FIELDS,
    AMOUNT_LABELS,
    ANSWER_LABELS,
    NA_RULES,
    SEVERITY_LABELS,
    derived_na,
    score,
)
from bargaining.rules.periods import LEGAL_TZ, legal_date
from bargaining.rules.sampling import ALLOCATION_LABELS, AllocationRule, describe_stratum
from workflows import audit_engine

from .. import runtime
from ..uow import unit_of_work
from .campaigns import SCHEDULE_LABELS, SEED_SOURCES, campaign_summary, schedule_times
from .cases import case_summary
from .evidence import evidence_summary
from .frame import KIND_LABELS, region_names, sector_names
from .repository import get_audit_case, get_campaign, visible_audit_cases, visible_campaigns

ESCALATION_LABELS = {
    "none": "",
    "opinion_issued": "已发监督意见书，待书面答复",
    "answered": "用人单位已书面答复",
    "suggestion_sent": "已发监督建议书",
}
RECTIFICATION_LABELS = {"open": "整改中", "submitted": "已提交，待复查", "verified": "复查合格"}
EVENT_LABELS = {
    "campaign_created": "新建专项抽查",
    "inspectors_set": "调整检查人员库",
    "frame_frozen": "冻结抽样框",
    "seed_fixed": "确定随机种子",
    "sample_drawn": "抽样",
    "sampling_approved": "审批抽样记录",
    "unit_replaced": "替换抽中企业",
    "campaign_reminder": "启动提醒",
    "campaign_started": "启动检查",
    "fieldwork_ended": "现场检查截止",
    "report_due": "报告提交期限",
    "schedule_failed": "计划任务失败",
    "create": "列入抽查",
    "answer_checklist": "填写检查表",
    "add_finding": "登记检查发现",
    "upload_evidence": "上传证据",
    "add_rectification": "下达整改事项",
    "submit_rectification": "提交整改证据",
    "verify_rectification": "复查合格",
    "reject_rectification": "复查不合格",
    "record_employer_answer": "登记书面答复",
    "record_recovery": "登记补发金额",
    "supervision_opinion_issued": "发出劳动法律监督意见书",
    "supervision_suggestion_sent": "发出劳动法律监督建议书",
    "rectification_due_pending_recheck": "整改期限届满（待复查）",
    "deadline_fire_failed": "期限处理失败",
}


def _labels(s: Session, org_path: str) -> dict[str, str]:
    return {**region_names(s, org_path), **sector_names(s)}


def local_time(value: datetime | None) -> str:
    """A UTC instant as China time for people: ``2026-03-04 09:00``."""
    return value.astimezone(LEGAL_TZ).strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _target(fraction: str | None) -> str:
    """An exact share like ``3/2`` as people read it (``1.5``)."""
    if not fraction:
        return ""
    value = Fraction(fraction)
    return str(value.numerator) if value.denominator == 1 else f"{float(value):.2f}".rstrip("0")


def _event_row(e: AuditEvent, definition: Any = None) -> dict[str, Any]:
    label = EVENT_LABELS.get(e.trigger, e.trigger)
    if definition is not None and e.trigger not in EVENT_LABELS:
        action = definition.action(e.trigger)
        label = action.label if action else e.trigger
    states = definition.state_label if definition is not None else (lambda name: name)
    return {
        "id": e.id,
        "trigger": e.trigger,
        "label": label,
        "at": e.at.isoformat(),
        "date": legal_date(e.at).isoformat(),
        "actor": e.actor_name,
        "role": e.role,
        "from": e.from_state,
        "to": e.to_state,
        "from_label": states(e.from_state) if e.from_state else "",
        "to_label": states(e.to_state) if e.to_state else "",
        "time": local_time(e.at),
        "reason": e.reason,
        "payload": e.payload,
    }


def list_campaigns(db: Database, actor: Actor) -> list[dict[str, Any]]:
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        campaigns = list(s.scalars(visible_campaigns(actor).order_by(Campaign.id.desc())))
        ids = [c.id for c in campaigns]
        states: dict[int, Counter[str]] = defaultdict(Counter)
        if ids:
            for campaign_id, state, n in s.execute(
                select(AuditCase.campaign_id, AuditCase.state, func.count())
                .where(AuditCase.campaign_id.in_(ids))
                .group_by(AuditCase.campaign_id, AuditCase.state)
            ):
                states[campaign_id][state] = n
        orgs = dict(s.execute(select(OrgUnit.id, OrgUnit.name)).all())
        out = []
        for c in campaigns:
            item = campaign_summary(c)
            counts = states[c.id]
            total = sum(n for st, n in counts.items() if st != "withdrawn")
            item["org"] = orgs.get(c.org_unit_id, "")
            item["cases"] = total
            item["closed"] = counts.get("closed", 0)
            item["progress"] = round(100 * counts.get("closed", 0) / total) if total else 0
            out.append(item)
        return out


def my_audit_cases(db: Database, actor: Actor) -> list[dict[str, Any]]:
    """Open audit cases the actor was drawn for."""
    if actor.user_id is None:
        return []
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        rows = s.execute(
            visible_audit_cases(actor)
            .add_columns(Enterprise.name, Campaign.number)
            .join(Enterprise, Enterprise.id == AuditCase.enterprise_id)
            .join(Campaign, Campaign.id == AuditCase.campaign_id)
            .join(SamplingRecord, SamplingRecord.campaign_id == AuditCase.campaign_id)
            .join(
                SamplingInspector,
                (SamplingInspector.record_id == SamplingRecord.id)
                & (SamplingInspector.unit_id == AuditCase.unit_id),
            )
            .where(
                SamplingInspector.user_id == actor.user_id, AuditCase.state.not_in(("closed", "withdrawn"))
            )
            .order_by(AuditCase.id)
        ).all()
        out = []
        for case, name, campaign_number in rows:
            item = case_summary(case)
            item["enterprise"] = name
            item["campaign"] = campaign_number
            out.append(item)
        return out


def campaign_detail(
    db: Database, actor: Actor, ref: str | int, *, now: datetime | None = None
) -> dict[str, Any]:
    now = now or runtime.utcnow()
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        campaign = get_campaign(s, actor, ref)
        org = s.get(OrgUnit, campaign.org_unit_id)
        assert org is not None
        labels = _labels(s, org.path)
        template = s.get(ChecklistTemplateVersion, campaign.checklist_template_id)
        users = dict(s.execute(select(User.id, User.display_name)).all())
        out = campaign_summary(campaign)
        out["legal_basis"] = campaign.legal_basis
        out["org"] = org.name
        out["org_code"] = org.code
        out["scope"] = {
            "sectors": [labels.get(f"sector={c}", c) for c in campaign.scope.get("sectors", [])]
            or ["全部行业"],
            "kinds": [KIND_LABELS.get(k, k) for k in campaign.scope.get("kinds", [])],
            "min_months_in_force": campaign.scope.get("min_months_in_force", 0),
        }
        rule = AllocationRule.from_dict(campaign.allocation)
        out["strata_config"] = {
            "dimensions": campaign.strata.get("dimensions", []),
            "size_bands": campaign.strata.get("size_bands", []),
        }
        out["allocation_rule"] = rule.describe()
        out["allocation_method"] = ALLOCATION_LABELS[rule.method]
        out["checklist"] = f"{template.title}（{template.code} 第{template.version}版）" if template else ""
        out["inspectors"] = [
            {"username": u.username, "name": u.display_name}
            for u in s.scalars(
                select(User)
                .join(CampaignInspector, CampaignInspector.user_id == User.id)
                .where(CampaignInspector.campaign_id == campaign.id)
                .order_by(User.username)
            )
        ]
        entries = {
            e.kind: e
            for e in s.scalars(select(ScheduleEntry).where(ScheduleEntry.campaign_id == campaign.id))
        }
        fired = {k: e.fired_at.isoformat() for k, e in entries.items() if e.fired_at is not None}
        times = schedule_times(campaign)
        out["schedule"] = [
            {
                "kind": kind,
                "label": SCHEDULE_LABELS[kind],
                "at": times[kind].isoformat(),
                "date": legal_date(times[kind]).isoformat(),
                "time": local_time(times[kind]),
                "scheduled": kind in entries,
                "fired_at": fired.get(kind),
                "outcome": entries[kind].outcome if kind in entries else None,
            }
            for kind in ("reminder", "start", "fieldwork_end", "report_due")
        ]
        record = s.scalar(select(SamplingRecord).where(SamplingRecord.campaign_id == campaign.id))
        out["record"] = _record_view(s, record, labels, users) if record else None
        out["sample"] = _sample_view(s, campaign, record, labels) if record and record.drawn_at else []
        counts = Counter(s.scalars(select(AuditCase.state).where(AuditCase.campaign_id == campaign.id)))
        definition = audit_engine.current_definition("audit")
        out["progress"] = [
            {"state": st.name, "label": st.label, "count": counts.get(st.name, 0)}
            for st in definition.states
            if counts.get(st.name, 0)
        ]
        total = sum(n for st, n in counts.items() if st != "withdrawn")
        out["cases_total"] = total
        out["cases_closed"] = counts.get("closed", 0)
        out["events"] = [
            _event_row(e)
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.campaign_id == campaign.id, AuditEvent.audit_case_id.is_(None))
                .order_by(AuditEvent.id)
            )
        ]
        out["next_step"] = {
            "draft": "freeze",
            "frozen": "seed",
            "seeded": "draw",
            "drawn": "approve",
        }.get(campaign.status)
        out["can_refreeze"] = campaign.status in ("frozen", "seeded", "drawn")
        out["seed_sources"] = SEED_SOURCES
        out["today"] = legal_date(now).isoformat()
        return out


def _record_view(
    s: Session, record: SamplingRecord, labels: dict[str, str], users: dict[int, str]
) -> dict[str, Any]:
    allocation = {a["stratum"]: a for a in (record.allocation or {}).get("strata", [])}
    return {
        "frame_sha256": record.frame_sha256,
        "frame_rows": record.frame_rows,
        "as_of": record.frame_definition.get("as_of"),
        "agreement_rule": record.frame_definition.get("agreement_rule"),
        "risk_formula": record.frame_definition.get("risk_formula"),
        "frozen_at": local_time(record.frozen_at),
        "frozen_by": users.get(record.frozen_by_id or 0, ""),
        "seed": record.seed,
        "seed_entropy": record.seed_entropy,
        "seed_source": SEED_SOURCES.get(record.seed_source or "", record.seed_source),
        "seed_provenance": record.seed_provenance,
        "seed_fixed_at": local_time(record.seed_fixed_at) or None,
        "seed_fixed_by": users.get(record.seed_fixed_by_id or 0, ""),
        "algorithm": f"{record.algorithm} 第{record.algorithm_version}版",
        "drawn_at": local_time(record.drawn_at) or None,
        "drawn_by": users.get(record.drawn_by_id or 0, ""),
        "selection_sha256": record.selection_sha256,
        "approved_at": local_time(record.approved_at) or None,
        "approved_by": users.get(record.approved_by_id or 0, ""),
        "record_sha256": record.record_sha256,
        "strata": [
            {
                "stratum": st["stratum"],
                "label": describe_stratum(st["stratum"], labels),
                "population": st["population"],
                "weight_total": st["weight_total"],
                "target": _target(allocation.get(st["stratum"], {}).get("target")),
                "allocated": allocation.get(st["stratum"], {}).get("allocated"),
                "shortfall": allocation.get(st["stratum"], {}).get("shortfall"),
            }
            for st in record.strata
        ],
        "notes": (record.allocation or {}).get("notes", []),
        "allocation_total": (record.allocation or {}).get("total"),
        "recusals": record.inspector_recusals,
        "replacements": [
            {
                "replaced": r.replaced_unit_id,
                "replacement": r.replacement_unit_id,
                "reason": r.reason,
                "at": local_time(r.at),
                "by": r.actor_name,
            }
            for r in s.scalars(
                select(SamplingReplacement)
                .where(SamplingReplacement.record_id == record.id)
                .order_by(SamplingReplacement.id)
            )
        ],
    }


def _sample_view(
    s: Session, campaign: Campaign, record: SamplingRecord, labels: dict[str, str]
) -> list[dict[str, Any]]:
    replaced = {
        r.replaced_unit_id
        for r in s.scalars(select(SamplingReplacement).where(SamplingReplacement.record_id == record.id))
    }
    inspectors: dict[str, list[str]] = defaultdict(list)
    for unit_id, name in s.execute(
        select(SamplingInspector.unit_id, User.display_name)
        .join(User, User.id == SamplingInspector.user_id)
        .where(SamplingInspector.record_id == record.id)
        .order_by(SamplingInspector.unit_id, SamplingInspector.position)
    ):
        inspectors[unit_id].append(name)
    cases = {c.unit_id: c for c in s.scalars(select(AuditCase).where(AuditCase.campaign_id == campaign.id))}
    in_sample = set(inspectors)
    rows = s.execute(
        select(SamplingUnit, Enterprise.name)
        .join(Enterprise, Enterprise.id == SamplingUnit.enterprise_id)
        .where(SamplingUnit.record_id == record.id, SamplingUnit.unit_id.in_(in_sample))
        .order_by(SamplingUnit.stratum, SamplingUnit.rank, SamplingUnit.unit_id)
    ).all()
    definition = audit_engine.current_definition("audit")
    out = []
    for unit, name in rows:
        case = cases.get(unit.unit_id)
        out.append(
            {
                "unit_id": unit.unit_id,
                "enterprise": name,
                "stratum": describe_stratum(unit.stratum, labels),
                "rank": unit.rank,
                "key": unit.key,
                "probability": unit.inclusion_probability,
                "selected": unit.selected,
                "replaced": unit.unit_id in replaced,
                "inspectors": inspectors[unit.unit_id],
                "case_id": case.id if case else None,
                "case_number": case.number if case else None,
                "state_label": definition.state_label(case.state) if case else None,
                "state": case.state if case else None,
            }
        )
    return out


def audit_case_detail(
    db: Database, actor: Actor, ref: str | int, *, now: datetime | None = None
) -> dict[str, Any]:
    now = now or runtime.utcnow()
    today = legal_date(now)
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        case = get_audit_case(s, actor, ref)
        definition = audit_engine.definition(case.definition_name, case.definition_version)
        campaign = s.get(Campaign, case.campaign_id)
        enterprise = s.get(Enterprise, case.enterprise_id)
        assert campaign is not None and enterprise is not None
        org = s.get(OrgUnit, enterprise.org_unit_id)
        template_row = s.get(ChecklistTemplateVersion, case.checklist_template_id)
        assert template_row is not None
        template = audit_engine.template_from_raw(template_row)
        # N/A rules that depend on dates are read as of the inspection once it is recorded.
        facts = audit_engine.case_facts(s, case, case.inspected_on or today)
        answers = {
            a.item_code: a for a in s.scalars(select(AuditAnswer).where(AuditAnswer.audit_case_id == case.id))
        }
        result = score(template, {c: a.answer for c, a in answers.items()}, facts)
        users = dict(s.execute(select(User.id, User.display_name)).all())
        inspector_ids = audit_engine.inspector_ids(s, case)
        out = case_summary(case)
        out["campaign"] = {"id": campaign.id, "number": campaign.number, "title": campaign.title}
        out["enterprise"] = {
            "name": enterprise.name,
            "credit_code": enterprise.credit_code,
            "headcount": enterprise.headcount,
            "tier": enterprise.min_wage_tier,
            "org": org.name if org else "",
            "province": org.province if org else None,
        }
        out["stratum"] = describe_stratum(case.stratum, _labels(s, "/"))
        out["inspectors"] = [users.get(i, "") for i in inspector_ids]
        out["is_inspector"] = actor.user_id in inspector_ids or "federation_admin" in actor.roles
        out["checklist"] = {
            "title": template.title,
            "version": template.version,
            "legal_basis": template.legal_basis,
            "items": [
                {
                    "code": item.code,
                    "title": item.title,
                    "legal_basis": item.legal_basis,
                    "clause": item.clause,
                    "weight": item.weight,
                    "critical": item.critical,
                    "guidance": item.guidance,
                    "na_rule": NA_RULES[item.na_rule][0] if item.na_rule else None,
                    "na_declared": bool(item.na_rule and NA_RULES[item.na_rule][1] == "declared"),
                    "derived_na": derived_na(item, facts),
                    "answer": answers[item.code].answer if item.code in answers else None,
                    "answer_label": ANSWER_LABELS.get(answers[item.code].answer, "")
                    if item.code in answers
                    else "",
                    "note": answers[item.code].note if item.code in answers else None,
                    "amount_kind": item.amount_kind,
                    "amount_label": AMOUNT_LABELS[item.amount_kind],
                    "amount_fields": AMOUNT_FIELDS[item.amount_kind],
                    "default_severity": item.default_severity,
                }
                for item in template.items
            ],
            "score": str(result.score) if result.score is not None else None,
            "complete": result.complete,
            "unanswered": len(result.unanswered),
        }
        evidence_rows = list(
            s.scalars(select(Evidence).where(Evidence.audit_case_id == case.id).order_by(Evidence.id))
        )
        findings = list(
            s.scalars(select(Finding).where(Finding.audit_case_id == case.id).order_by(Finding.id))
        )
        titles = {i.code: i.title for i in template.items}
        out["findings"] = [
            {
                "id": f.id,
                "item_code": f.item_code,
                "item": titles.get(f.item_code, f.item_code),
                "severity": f.severity,
                "severity_label": SEVERITY_LABELS.get(f.severity, f.severity),
                "description": f.description,
                "workers": f.affected_workers,
                "amount_owed": str(f.amount_owed),
                "amount_recovered": str(f.amount_recovered),
                "amount_label": AMOUNT_LABELS.get(f.amount_kind, ""),
                "calculation": f.calculation,
                "evidence": [evidence_summary(e) for e in evidence_rows if e.finding_id == f.id],
            }
            for f in findings
        ]
        deadlines = list(
            s.scalars(
                select(AuditDeadline).where(AuditDeadline.audit_case_id == case.id).order_by(AuditDeadline.id)
            )
        )
        documents = list(
            s.scalars(
                select(AuditDocument).where(AuditDocument.audit_case_id == case.id).order_by(AuditDocument.id)
            )
        )
        out["rectifications"] = [
            {
                "id": r.id,
                "finding_id": r.finding_id,
                "action": r.action,
                "owner": r.owner,
                "due": r.due.isoformat(),
                "days_left": (r.due - today).days,
                "overdue": r.status != "verified" and r.due < today,
                "required_evidence": r.required_evidence,
                "status": r.status,
                "status_label": RECTIFICATION_LABELS.get(r.status, r.status),
                "escalation": r.escalation,
                "escalation_label": ESCALATION_LABELS.get(r.escalation, r.escalation),
                "submitted_note": r.submitted_note,
                "recheck_note": r.recheck_note,
                "verified_at": r.verified_at.isoformat() if r.verified_at else None,
                "evidence": [evidence_summary(e) for e in evidence_rows if e.rectification_id == r.id],
                "deadlines": [
                    {
                        "kind": d.kind,
                        "label": audit_engine.AUDIT_DEADLINE_LABELS.get(d.kind, d.kind),
                        "due": d.due.isoformat(),
                        "status": "closed"
                        if d.closed_at
                        else ("fired" if d.fired_at else ("overdue" if d.due < today else "open")),
                        "legal_basis": d.legal_basis,
                        "provisional": d.provisional,
                    }
                    for d in deadlines
                    if d.rectification_id == r.id
                ],
                "documents": [
                    {
                        "id": d.id,
                        "kind": d.kind,
                        "title": d.title,
                        "date": legal_date(d.created_at).isoformat(),
                    }
                    for d in documents
                    if d.rectification_id == r.id
                ],
            }
            for r in s.scalars(
                select(Rectification).where(Rectification.audit_case_id == case.id).order_by(Rectification.id)
            )
        ]
        out["evidence"] = [evidence_summary(e) for e in evidence_rows]
        out["documents"] = [
            {
                "id": d.id,
                "kind": d.kind,
                "title": d.title,
                "date": legal_date(d.created_at).isoformat(),
                "data": d.data,
            }
            for d in documents
        ]
        out["timeline"] = [
            _event_row(e, definition)
            for e in s.scalars(
                select(AuditEvent).where(AuditEvent.audit_case_id == case.id).order_by(AuditEvent.id)
            )
        ]
        out["actions"] = [
            {
                "trigger": a.trigger,
                "label": a.label,
                "allowed": a.allowed,
                "reasons": list(a.reasons),
                "fields": a.fields,
                "reason_required": a.reason_required,
                "description": a.description,
            }
            for a in audit_engine.allowed_actions(
                s, case, actor, calendar=runtime.calendar_loader(s), now=now
            )
            if a.trigger != "withdraw"
        ]
        out["definition"] = f"{case.definition_name}@{case.definition_version}"
        out["severities"] = SEVERITY_LABELS
        out["inspected_on"] = case.inspected_on.isoformat() if case.inspected_on else None
        out["editable_answers"] = case.state in ("planned", "notified")
        out["editable_findings"] = case.state == "inspected"
        out["rectification_open"] = case.state in ("findings", "rectification", "escalated")
        out["rectification_active"] = case.state in ("rectification", "escalated")
        return out


def campaign_cases(db: Database, actor: Actor, ref: str | int) -> list[dict[str, Any]]:
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        campaign = get_campaign(s, actor, ref)
        rows = s.execute(
            visible_audit_cases(actor)
            .add_columns(Enterprise.name)
            .join(Enterprise, Enterprise.id == AuditCase.enterprise_id)
            .where(AuditCase.campaign_id == campaign.id)
            .order_by(AuditCase.id)
        ).all()
        out = []
        for case, name in rows:
            item = case_summary(case)
            item["enterprise"] = name
            out.append(item)
        return out
