"""Checklist templates: versioned, never edited in place (a change is a new version)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.errors import NotFound, ValidationError
from bargaining.models.audit import ChecklistTemplateVersion
from bargaining.rules.compliance import DEFAULT_TEMPLATES, ChecklistTemplate, template_from_dict

from .. import runtime
from ..uow import unit_of_work
from .repository import require_auditor


def _row(template: ChecklistTemplate, actor: Actor | None, now: datetime) -> ChecklistTemplateVersion:
    data = template.as_dict()
    return ChecklistTemplateVersion(
        code=template.code,
        version=template.version,
        title=template.title,
        legal_basis=template.legal_basis,
        items=data["items"],
        sha256=template.sha256(),
        created_by_id=actor.user_id if actor else None,
        created_at=now,
    )


def ensure_default_templates(session: Session, now: datetime) -> None:
    """Store the built-in templates the first time they are needed."""
    for template in DEFAULT_TEMPLATES:
        exists = session.scalar(
            select(ChecklistTemplateVersion.id).where(
                ChecklistTemplateVersion.code == template.code,
                ChecklistTemplateVersion.version == template.version,
            )
        )
        if exists is None:
            session.add(_row(template, None, now))
    session.flush()


def find_template(session: Session, code: str, version: int | None = None) -> ChecklistTemplateVersion:
    """A template version (the latest when ``version`` is None)."""
    ensure_default_templates(session, runtime.utcnow())
    query = select(ChecklistTemplateVersion).where(ChecklistTemplateVersion.code == code)
    if version is not None:
        query = query.where(ChecklistTemplateVersion.version == version)
    row = session.scalars(query.order_by(ChecklistTemplateVersion.version.desc())).first()
    if row is None:
        raise NotFound(f"找不到检查表 {code}" + (f" 第{version}版" if version else ""))
    return row


def add_template(
    db: Database, actor: Actor, data: dict[str, Any], *, now: datetime | None = None
) -> dict[str, Any]:
    """Store a new template version from JSON; an existing version can never change."""
    require_auditor(actor, "新增检查表")
    now = now or runtime.utcnow()
    template = template_from_dict(data)
    with unit_of_work(db) as uow:
        s = uow.session
        ensure_default_templates(s, now)
        existing = s.scalar(
            select(ChecklistTemplateVersion).where(
                ChecklistTemplateVersion.code == template.code,
                ChecklistTemplateVersion.version == template.version,
            )
        )
        if existing is not None:
            if existing.sha256 == template.sha256():
                return template_summary(existing)
            raise ValidationError(
                f"检查表 {template.code} 第{template.version}版已存在且内容不同；已发布的版本不能修改，请使用新的版本号。"
            )
        row = _row(template, actor, now)
        s.add(row)
        s.flush()
        return template_summary(row)


def list_templates(db: Database) -> list[dict[str, Any]]:
    with unit_of_work(db) as uow:
        ensure_default_templates(uow.session, runtime.utcnow())
        rows = uow.session.scalars(
            select(ChecklistTemplateVersion).order_by(
                ChecklistTemplateVersion.code, ChecklistTemplateVersion.version
            )
        )
        return [template_summary(r) for r in rows]


def template_summary(row: ChecklistTemplateVersion) -> dict[str, Any]:
    return {
        "id": row.id,
        "code": row.code,
        "version": row.version,
        "title": row.title,
        "legal_basis": row.legal_basis,
        "items": len(row.items),
        "sha256": row.sha256,
    }
