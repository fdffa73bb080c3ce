"""Audit documents (检查通知书, 监督意见书, 书面答复, 监督建议书 …) rendered from their data snapshot.

The snapshot written with each step is the document; this renders it as a PDF on request (the
same data gives the same text). Nothing external is fetched while rendering.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.errors import NotFound
from bargaining.models import OrgUnit
from bargaining.models.audit import AuditDocument, Campaign
from bargaining.rules.periods import legal_date

from ..uow import unit_of_work
from .repository import get_audit_case

TEMPLATES = Path(__file__).parent / "templates"
FIELD_LABELS = {
    "case_number": "检查编号",
    "notified_on": "通知日期",
    "method": "通知方式",
    "inspected_on": "检查日期",
    "participants": "企业方参加人员",
    "rechecked_on": "复查日期",
    "score": "得分",
    "compliant": "履约",
    "answered_on": "答复日期",
    "summary": "答复要点",
    "reason": "说明",
    "basis": "依据",
}
METHOD_LABELS = {"written": "书面送达", "onsite": "现场告知", "unannounced": "不预先通知（突击检查）"}


def document_for(db: Database, actor: Actor, document_id: int) -> dict[str, Any]:
    """A document's data for rendering, if the actor may see its audit case."""
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        doc = s.get(AuditDocument, document_id)
        try:
            case = get_audit_case(s, actor, doc.audit_case_id) if doc is not None else None
        except NotFound:
            case = None  # out of scope answers as a missing document does (the case id is not shown)
        if doc is None or case is None:
            raise NotFound("找不到该文书。")
        campaign = s.get(Campaign, case.campaign_id)
        org = s.get(OrgUnit, campaign.org_unit_id) if campaign else None
        data = dict(doc.data)
        values = data.pop("values", {}) if isinstance(data.get("values"), dict) else {}
        flat = {**values, **data}
        rows = []
        for key, value in flat.items():
            if key not in FIELD_LABELS or value in (None, "", {}):
                continue
            if key == "method":
                value = METHOD_LABELS.get(str(value), value)
            if key == "compliant":
                value = "是" if value else "否"
            rows.append((FIELD_LABELS[key], value))
        return {
            "doc": {
                "kind": doc.kind,
                "title": doc.title,
                "number": f"{case.number}-{doc.id:04d}",
                "date": legal_date(doc.created_at).isoformat(),
            },
            "d": flat,
            "rows": rows,
            "org": org.name if org else "",
        }


def render_document_pdf(context: dict[str, Any]) -> bytes:
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from weasyprint import HTML, URLFetcher

    class NoFetch(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            raise ValueError(f"external resources are not allowed in documents: {url[:80]}")

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    html = env.get_template("audit_document.html").render(**context)
    pdf = HTML(string=html, base_url=str(TEMPLATES), url_fetcher=NoFetch()).write_pdf()
    assert pdf is not None
    return bytes(pdf)
