"""Compliance spot checks (专项抽查 / 履约检查): campaigns, the sampling record, audit cases,
checklist answers, findings, evidence, rectification and its deadlines.

The sampling record is immutable once approved and the audit event log is append-only: database
triggers refuse the changes (see migration 0004).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONData, Money, utcnow

CAMPAIGN_STATUSES = ("draft", "frozen", "seeded", "drawn", "approved", "started", "closed")
SCHEDULE_KINDS = ("reminder", "start", "fieldwork_end", "report_due")
RECTIFICATION_STATUSES = ("open", "submitted", "verified")
ESCALATION_LEVELS = ("none", "opinion_issued", "answered", "suggestion_sent")

_SCHEDULE_DUE = text("fired_at IS NULL")
_DEADLINE_OPEN = text("fired_at IS NULL AND closed_at IS NULL")


class ChecklistTemplateVersion(Base):
    """A checklist template version (检查表); never edited once stored: a change is a new version."""

    __tablename__ = "audit_checklist_templates"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(Text)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONData, default=list)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Campaign(Base):
    """A special spot-check campaign (专项抽查): scope, strata, allocation, checklist, schedule.

    ``status``: draft → frozen (frame snapshot taken) → seeded (seed fixed) → drawn → approved
    (the sampling record is immutable from here) → started (audit cases opened) → closed.
    """

    __tablename__ = "audit_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    legal_basis: Mapped[str] = mapped_column(Text)
    scope: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    strata: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    allocation: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    checklist_template_id: Mapped[int] = mapped_column(ForeignKey("audit_checklist_templates.id"))
    start_on: Mapped[date]
    reminder_days: Mapped[int] = mapped_column(default=3)
    fieldwork_start: Mapped[date]
    fieldwork_end: Mapped[date]
    report_due: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it as is)


class CampaignInspector(Base):
    """An inspector (督查员 / 劳动法律监督员) in a campaign's pool."""

    __tablename__ = "audit_campaign_inspectors"
    __table_args__ = (UniqueConstraint("campaign_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("audit_campaigns.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class InspectorLink(Base):
    """A declared tie between an inspector and an enterprise: the inspector never checks it (回避)."""

    __tablename__ = "audit_inspector_links"
    __table_args__ = (UniqueConstraint("user_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    relation: Mapped[str] = mapped_column(Text)
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)


class SamplingRecord(Base):
    """The record of a campaign's draw, enough to recompute it anywhere, years later."""

    __tablename__ = "audit_sampling_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("audit_campaigns.id"), unique=True)
    frame_definition: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    frame_sha256: Mapped[str] = mapped_column(String(64))
    frame_rows: Mapped[int]
    frozen_at: Mapped[datetime]
    frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    strata: Mapped[list[dict[str, Any]]] = mapped_column(JSONData, default=list)
    allocation: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    seed_entropy: Mapped[str | None] = mapped_column(Text)
    seed: Mapped[str | None] = mapped_column(String(64))
    seed_source: Mapped[str | None] = mapped_column(String(16))
    seed_provenance: Mapped[str | None] = mapped_column(Text)
    seed_fixed_at: Mapped[datetime | None]
    seed_fixed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    algorithm: Mapped[str] = mapped_column(String(32))
    algorithm_version: Mapped[int]
    drawn_at: Mapped[datetime | None]
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    selection_sha256: Mapped[str | None] = mapped_column(String(64))
    inspector_recusals: Mapped[list[dict[str, Any]]] = mapped_column(JSONData, default=list)
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    record_sha256: Mapped[str | None] = mapped_column(String(64))


class SamplingUnit(Base):
    """One enterprise of the frozen frame, with its stratum, weight, key and whether it was drawn."""

    __tablename__ = "audit_sampling_units"
    __table_args__ = (
        UniqueConstraint("record_id", "unit_id"),
        Index("ix_audit_sampling_units_record_stratum", "record_id", "stratum"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("audit_sampling_records.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    unit_id: Mapped[str] = mapped_column(String(18))
    agreement_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    stratum: Mapped[str] = mapped_column(String(300))
    weight: Mapped[int] = mapped_column(Integer, default=1)
    key: Mapped[str | None] = mapped_column(String(64))
    selected: Mapped[bool] = mapped_column(Boolean, default=False)
    rank: Mapped[int | None]
    inclusion_probability: Mapped[str | None] = mapped_column(String(64))


class SamplingInspector(Base):
    """An inspector drawn for a selected (or replacement) enterprise; ``position`` 1 or 2."""

    __tablename__ = "audit_sampling_inspectors"
    __table_args__ = (UniqueConstraint("record_id", "unit_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("audit_sampling_records.id"), index=True)
    unit_id: Mapped[str] = mapped_column(String(18))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    position: Mapped[int]
    key: Mapped[str] = mapped_column(String(64))


class SamplingReplacement(Base):
    """A drawn enterprise replaced (closed, relocated …) by the next one of its stratum. Append-only."""

    __tablename__ = "audit_sampling_replacements"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("audit_sampling_records.id"), index=True)
    replaced_unit_id: Mapped[str] = mapped_column(String(18))
    replacement_unit_id: Mapped[str | None] = mapped_column(String(18))
    replacement_key: Mapped[str | None] = mapped_column(String(64))
    stratum: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduleEntry(Base):
    """A campaign's scheduled moment (reminder, start, end of field work, report due).

    Fired once by the audit sweep: claimed, acted on and marked in one transaction, so a restart
    never loses one and a campaign never starts twice.
    """

    __tablename__ = "audit_schedule"
    __table_args__ = (
        UniqueConstraint("campaign_id", "kind"),
        Index("ix_audit_schedule_due", "fire_at", postgresql_where=_SCHEDULE_DUE, sqlite_where=_SCHEDULE_DUE),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("audit_campaigns.id"))
    kind: Mapped[str] = mapped_column(String(24))
    fire_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditCase(Base):
    """The check of one sampled enterprise, on the audit workflow (planned → … → closed)."""

    __tablename__ = "audit_cases"
    __table_args__ = (
        UniqueConstraint("campaign_id", "enterprise_id"),
        Index("ix_audit_cases_org_state", "org_unit_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("audit_campaigns.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    unit_id: Mapped[str] = mapped_column(String(18))
    stratum: Mapped[str] = mapped_column(String(300))
    agreement_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    checklist_template_id: Mapped[int] = mapped_column(ForeignKey("audit_checklist_templates.id"))
    definition_name: Mapped[str] = mapped_column(String(32))
    definition_version: Mapped[int]
    state: Mapped[str] = mapped_column(String(32), index=True)
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 1, asdecimal=True))
    compliant: Mapped[bool | None]
    inspected_on: Mapped[date | None]
    amount_owed: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    amount_recovered: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it as is)


class AuditEvent(Base):
    """One row per change to an audit case or campaign, written in the same transaction.

    The columns of ``events`` (with ``audit_case_id`` for ``case_id``) plus ``campaign_id``;
    append-only like ``events``: database triggers refuse UPDATE and DELETE.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_case_at", "audit_case_id", "id"),
        Index("ix_audit_events_campaign", "campaign_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    audit_case_id: Mapped[int | None] = mapped_column(ForeignKey("audit_cases.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("audit_campaigns.id"))
    trigger: Mapped[str] = mapped_column(String(40), index=True)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, object]] = mapped_column(JSONData, default=dict)
    definition_name: Mapped[str | None] = mapped_column(String(32))
    definition_version: Mapped[int | None]
    request_id: Mapped[str | None] = mapped_column(String(64))


class AuditAnswer(Base):
    """An answer on the checklist (符合 / 不符合 / 不适用) with the inspectors' note."""

    __tablename__ = "audit_answers"
    __table_args__ = (UniqueConstraint("audit_case_id", "item_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_case_id: Mapped[int] = mapped_column(ForeignKey("audit_cases.id"), index=True)
    item_code: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class Finding(Base):
    """A finding (检查发现): severity, workers affected and the amount owed, computed from wage data."""

    __tablename__ = "audit_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_case_id: Mapped[int] = mapped_column(ForeignKey("audit_cases.id"), index=True)
    item_code: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    affected_workers: Mapped[int] = mapped_column(default=0)
    amount_kind: Mapped[str] = mapped_column(String(24))
    amount_owed: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    amount_recovered: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    calculation: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rectification(Base):
    """A rectification item (整改): owner, due date, evidence required, re-check before closing.

    ``escalation`` walks the supervision ladder when the item is overdue: none → opinion_issued
    (监督意见书) → answered (the employer's written answer) or suggestion_sent (监督建议书).
    """

    __tablename__ = "audit_rectifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_case_id: Mapped[int] = mapped_column(ForeignKey("audit_cases.id"), index=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("audit_findings.id"), index=True)
    action: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(100))
    due: Mapped[date]
    required_evidence: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    escalation: Mapped[str] = mapped_column(String(24), default="none")
    submitted_at: Mapped[datetime | None]
    submitted_note: Mapped[str | None] = mapped_column(Text)
    verified_at: Mapped[datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recheck_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditDeadline(Base):
    """A clock on an audit case: a rectification's due date or the employer's 15-working-day answer."""

    __tablename__ = "audit_deadlines"
    __table_args__ = (
        Index(
            "ix_audit_deadlines_sweep",
            "fire_at",
            postgresql_where=_DEADLINE_OPEN,
            sqlite_where=_DEADLINE_OPEN,
        ),
        Index("ix_audit_deadlines_case", "audit_case_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_case_id: Mapped[int] = mapped_column(ForeignKey("audit_cases.id"))
    rectification_id: Mapped[int | None] = mapped_column(ForeignKey("audit_rectifications.id"))
    kind: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[date]
    due: Mapped[date]
    fire_at: Mapped[datetime]
    legal_basis: Mapped[str] = mapped_column(Text)
    provisional: Mapped[bool] = mapped_column(default=False)
    fired_at: Mapped[datetime | None]
    fired_event_id: Mapped[int | None] = mapped_column(ForeignKey("audit_events.id"))
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditDocument(Base):
    """A paper an audit step produces (检查通知书, 监督意见书, 书面答复, 监督建议书 …) as a data snapshot."""

    __tablename__ = "audit_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_case_id: Mapped[int] = mapped_column(ForeignKey("audit_cases.id"), index=True)
    rectification_id: Mapped[int | None] = mapped_column(ForeignKey("audit_rectifications.id"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("audit_events.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Evidence(Base):
    """An evidence file, stored outside the web root under a generated name, with its SHA-256."""

    __tablename__ = "audit_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_case_id: Mapped[int] = mapped_column(ForeignKey("audit_cases.id"), index=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("audit_findings.id"))
    rectification_id: Mapped[int | None] = mapped_column(ForeignKey("audit_rectifications.id"))
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = [
    "CAMPAIGN_STATUSES",
    "ESCALATION_LEVELS",
    "RECTIFICATION_STATUSES",
    "SCHEDULE_KINDS",
    "AuditAnswer",
    "AuditCase",
    "AuditDeadline",
    "AuditDocument",
    "AuditEvent",
    "Campaign",
    "CampaignInspector",
    "ChecklistTemplateVersion",
    "Evidence",
    "Finding",
    "InspectorLink",
    "Rectification",
    "SamplingInspector",
    "SamplingRecord",
    "SamplingReplacement",
    "SamplingUnit",
    "ScheduleEntry",
]
