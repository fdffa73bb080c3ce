"""The campaign report (专项抽查报告) as PDF (WeasyPrint) and XLSX (openpyxl).

Both are rendered from one dict (``report_data``) built with a handful of aggregate queries:
scope, the sampling record, results by stratum and by checklist item, the compliance (履约)
rate, amounts owed and recovered, open rectifications, and every case. Charts: bar charts of
the compliance rate by stratum and of non-compliance by item (bars drawn as blocks in the PDF, native charts in
the workbook). Heavy libraries are imported only when a report is rendered.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html import escape
from io import BytesIO
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bargaining.actors import Actor
from bargaining.db import Database
from bargaining.models import Enterprise, OrgUnit, User
from bargaining.models.audit import (
    AuditAnswer,
    AuditCase,
    ChecklistTemplateVersion,
    Finding,
    Rectification,
    SamplingRecord,
    SamplingReplacement,
)
from bargaining.rules.compliance import SEVERITY_LABELS, compliance_rate
from bargaining.rules.periods import legal_date
from bargaining.rules.sampling import AllocationRule, describe_stratum
from workflows import audit_engine

from .. import runtime
from ..uow import unit_of_work
from .campaigns import SEED_SOURCES, STATUS_LABELS
from .frame import KIND_LABELS, region_names, sector_names
from .queries import ESCALATION_LABELS, RECTIFICATION_LABELS, local_time
from .repository import get_campaign

TEMPLATES = Path(__file__).parent / "templates"
ZERO = Decimal("0.00")


def _pct(value: Decimal | None) -> str:
    return f"{value}%" if value is not None else "—"


def report_data(db: Database, actor: Actor, ref: str | int, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or runtime.utcnow()
    today = legal_date(now)
    with unit_of_work(db, write=False) as uow:
        s = uow.session
        campaign = get_campaign(s, actor, ref)
        org = s.get(OrgUnit, campaign.org_unit_id)
        assert org is not None
        labels = {**region_names(s, org.path), **sector_names(s)}
        template_row = s.get(ChecklistTemplateVersion, campaign.checklist_template_id)
        assert template_row is not None
        template = audit_engine.template_from_raw(template_row)
        record = s.scalar(select(SamplingRecord).where(SamplingRecord.campaign_id == campaign.id))
        users = dict(s.execute(select(User.id, User.display_name)).all())
        definition = audit_engine.current_definition("audit")

        cases = s.execute(
            select(
                AuditCase.id,
                AuditCase.number,
                AuditCase.stratum,
                AuditCase.state,
                AuditCase.compliant,
                AuditCase.score,
                AuditCase.amount_owed,
                AuditCase.amount_recovered,
                AuditCase.inspected_on,
                Enterprise.name,
                Enterprise.credit_code,
            )
            .join(Enterprise, Enterprise.id == AuditCase.enterprise_id)
            .where(AuditCase.campaign_id == campaign.id)
            .order_by(AuditCase.stratum, AuditCase.number)
        ).all()
        active = [c for c in cases if c.state != "withdrawn"]
        by_stratum: dict[str, dict[str, Any]] = defaultdict(
            lambda: {"cases": 0, "inspected": 0, "compliant": 0, "owed": ZERO, "recovered": ZERO}
        )
        for c in active:
            row = by_stratum[c.stratum]
            row["cases"] += 1
            row["inspected"] += c.compliant is not None
            row["compliant"] += bool(c.compliant)
            row["owed"] += c.amount_owed
            row["recovered"] += c.amount_recovered
        population = {st["stratum"]: st for st in (record.strata if record else [])}
        strata_rows = []
        for stratum in sorted(set(by_stratum) | set(population)):
            row = by_stratum[stratum]
            rate = compliance_rate(row["compliant"], row["inspected"])
            strata_rows.append(
                {
                    "stratum": stratum,
                    "label": describe_stratum(stratum, labels),
                    "group": stratum.split("|")[0],
                    "group_label": describe_stratum(stratum.split("|")[0], labels),
                    "population": population.get(stratum, {}).get("population", 0),
                    "cases": row["cases"],
                    "inspected": row["inspected"],
                    "compliant": row["compliant"],
                    "rate": rate,
                    "rate_text": _pct(rate),
                    "owed": row["owed"],
                    "recovered": row["recovered"],
                }
            )

        answer_counts: dict[str, Counter[str]] = defaultdict(Counter)
        for code, answer, n in s.execute(
            select(AuditAnswer.item_code, AuditAnswer.answer, func.count())
            .join(AuditCase, AuditCase.id == AuditAnswer.audit_case_id)
            .where(AuditCase.campaign_id == campaign.id, AuditCase.compliant.is_not(None))
            .group_by(AuditAnswer.item_code, AuditAnswer.answer)
        ):
            answer_counts[code][answer] = n
        finding_sums = {
            code: (n, owed or ZERO, workers or 0)
            for code, n, owed, workers in s.execute(
                select(
                    Finding.item_code,
                    func.count(),
                    func.sum(Finding.amount_owed),
                    func.sum(Finding.affected_workers),
                )
                .join(AuditCase, AuditCase.id == Finding.audit_case_id)
                .where(AuditCase.campaign_id == campaign.id)
                .group_by(Finding.item_code)
            )
        }
        inspected_total = sum(1 for c in active if c.compliant is not None)
        item_rows = []
        for item in template.items:
            counts = answer_counts[item.code]
            checked = counts["compliant"] + counts["noncompliant"]
            na = inspected_total - checked  # derived N/A items have no answer row
            bad_rate = (
                (Decimal(counts["noncompliant"]) * 100 / Decimal(checked)).quantize(Decimal("0.1"))
                if checked
                else None
            )
            findings_n, owed, workers = finding_sums.get(item.code, (0, ZERO, 0))
            item_rows.append(
                {
                    "code": item.code,
                    "title": item.title,
                    "legal_basis": item.legal_basis,
                    "weight": item.weight,
                    "checked": checked,
                    "compliant": counts["compliant"],
                    "noncompliant": counts["noncompliant"],
                    "na": max(na, 0),
                    "noncompliance_rate": bad_rate,
                    "noncompliance_text": _pct(bad_rate),
                    "findings": findings_n,
                    "workers": int(workers),
                    "owed": Decimal(owed).quantize(Decimal("0.01")),
                }
            )
        severities = {
            sev: {"count": n, "owed": Decimal(owed or 0).quantize(Decimal("0.01"))}
            for sev, n, owed in s.execute(
                select(Finding.severity, func.count(), func.sum(Finding.amount_owed))
                .join(AuditCase, AuditCase.id == Finding.audit_case_id)
                .where(AuditCase.campaign_id == campaign.id)
                .group_by(Finding.severity)
            )
        }
        open_items = s.execute(
            select(Rectification, AuditCase.number, Enterprise.name)
            .join(AuditCase, AuditCase.id == Rectification.audit_case_id)
            .join(Enterprise, Enterprise.id == AuditCase.enterprise_id)
            .where(
                AuditCase.campaign_id == campaign.id,
                Rectification.status != "verified",
                AuditCase.state.not_in(("closed", "withdrawn")),
            )
            .order_by(Rectification.due, Rectification.id)
        ).all()
        replacements = (
            list(
                s.scalars(
                    select(SamplingReplacement)
                    .where(SamplingReplacement.record_id == record.id)
                    .order_by(SamplingReplacement.id)
                )
            )
            if record
            else []
        )
        state_counts = Counter(c.state for c in cases)
        compliant_total = sum(1 for c in active if c.compliant)
        owed_total = sum((c.amount_owed for c in active), ZERO)
        recovered_total = sum((c.amount_recovered for c in active), ZERO)
        rule = AllocationRule.from_dict(campaign.allocation)
        return {
            "generated_on": today.isoformat(),
            "generated_at": local_time(now),
            "campaign": {
                "number": campaign.number,
                "title": campaign.title,
                "status": STATUS_LABELS.get(campaign.status, campaign.status),
                "org": org.name,
                "legal_basis": campaign.legal_basis,
                "start_on": campaign.start_on.isoformat(),
                "fieldwork": f"{campaign.fieldwork_start.isoformat()} 至 {campaign.fieldwork_end.isoformat()}",
                "report_due": campaign.report_due.isoformat(),
                "checklist": f"{template.title}（第{template.version}版）",
            },
            "scope": {
                "org": org.name,
                "sectors": "、".join(labels.get(f"sector={c}", c) for c in campaign.scope.get("sectors", []))
                or "全部行业",
                "kinds": "、".join(KIND_LABELS.get(k, k) for k in campaign.scope.get("kinds", [])),
                "min_months": campaign.scope.get("min_months_in_force", 0),
                "dimensions": "、".join(
                    {"region": "地区", "sector": "行业", "size": "规模"}.get(d, d)
                    for d in campaign.strata.get("dimensions", [])
                )
                or "不分层",
                "size_bands": "、".join(str(b) for b in campaign.strata.get("size_bands", [])),
            },
            "record": None
            if record is None
            else {
                "as_of": record.frame_definition.get("as_of"),
                "agreement_rule": record.frame_definition.get("agreement_rule"),
                "frame_sha256": record.frame_sha256,
                "frame_rows": record.frame_rows,
                "allocation": rule.describe(),
                "notes": (record.allocation or {}).get("notes", []),
                "seed": record.seed,
                "seed_entropy": record.seed_entropy,
                "seed_source": SEED_SOURCES.get(record.seed_source or "", record.seed_source or ""),
                "seed_provenance": record.seed_provenance,
                "seed_fixed_at": local_time(record.seed_fixed_at) or None,
                "algorithm": f"{record.algorithm} 第{record.algorithm_version}版",
                "selection_sha256": record.selection_sha256,
                "record_sha256": record.record_sha256,
                "approved_by": users.get(record.approved_by_id or 0, ""),
                "approved_at": local_time(record.approved_at) or None,
                "selected": (record.allocation or {}).get("total"),
                "recusals": len(record.inspector_recusals or []),
                "replacements": [
                    {
                        "replaced": r.replaced_unit_id,
                        "replacement": r.replacement_unit_id or "（层内已无可替换企业）",
                        "reason": r.reason,
                    }
                    for r in replacements
                ],
            },
            "totals": {
                "cases": len(active),
                "inspected": inspected_total,
                "compliant": compliant_total,
                "noncompliant": inspected_total - compliant_total,
                "rate": compliance_rate(compliant_total, inspected_total),
                "rate_text": _pct(compliance_rate(compliant_total, inspected_total)),
                "owed": owed_total,
                "recovered": recovered_total,
                "recovery_rate": _pct(
                    (recovered_total * 100 / owed_total).quantize(Decimal("0.1")) if owed_total else None
                ),
                "withdrawn": state_counts.get("withdrawn", 0),
                "open_rectifications": len(open_items),
                "overdue_rectifications": sum(1 for r, _, _ in open_items if r.due < today),
            },
            "states": [
                {"label": st.label, "count": state_counts.get(st.name, 0)}
                for st in definition.states
                if state_counts.get(st.name)
            ],
            "strata": strata_rows,
            "item_results": item_rows,
            "severities": [
                {"label": SEVERITY_LABELS[sev], **severities[sev]}
                for sev in ("high", "medium", "low")
                if sev in severities
            ],
            "open_rectifications": [
                {
                    "case": number,
                    "enterprise": name,
                    "action": r.action,
                    "owner": r.owner,
                    "due": r.due.isoformat(),
                    "overdue_days": max(0, (today - r.due).days),
                    "status": RECTIFICATION_LABELS.get(r.status, r.status),
                    "escalation": ESCALATION_LABELS.get(r.escalation, ""),
                }
                for r, number, name in open_items
            ],
            "cases": [
                {
                    "number": c.number,
                    "enterprise": c.name,
                    "credit_code": c.credit_code,
                    "stratum": describe_stratum(c.stratum, labels),
                    "state": definition.state_label(c.state),
                    "inspected_on": c.inspected_on.isoformat() if c.inspected_on else "",
                    "score": c.score,
                    "compliant": "—" if c.compliant is None else ("履约" if c.compliant else "未完全履约"),
                    "owed": c.amount_owed,
                    "recovered": c.amount_recovered,
                }
                for c in cases
            ],
        }


# ---- charts ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal | None
    note: str = ""


MAX_BARS = 24


def bar_chart_html(
    title: str, bars: list[Bar], *, color: str = "#b91c1c", maximum: Decimal = Decimal(100)
) -> str:
    """A horizontal bar chart in plain blocks (for the PDF: WeasyPrint lays blocks out far faster
    than SVG text). Only the bar widths are inline styles; the report is never served to a browser."""
    rows = [f'<div class="chart"><p class="chart-title">{escape(title)}</p>']
    for bar in bars:
        share = Decimal(0) if bar.value is None or maximum <= 0 else min(Decimal(1), bar.value / maximum)
        value = "—" if bar.value is None else f"{bar.value}%"
        rows.append(
            f'<div class="bar-row"><span class="bar-label">{escape(bar.label)}</span>'
            f'<span class="bar-track"><span class="bar-fill" style="width: {share * 100:.1f}%; '
            f'background: {color}"></span></span><span class="bar-value">{escape(value + bar.note)}</span></div>'
        )
    rows.append("</div>")
    return "".join(rows)


def _stratum_bars(strata: list[dict[str, Any]]) -> tuple[str, list[Bar]]:
    """One bar per stratum, or per value of the first stratification dimension when there are many."""
    if len(strata) <= MAX_BARS:
        return "各层履约率", [
            Bar(r["label"], r["rate"], f"（{r['compliant']}/{r['inspected']}）") for r in strata
        ]
    groups: dict[str, list[int]] = {}
    labels: dict[str, str] = {}
    for r in strata:
        entry = groups.setdefault(r["group"], [0, 0])
        entry[0] += r["compliant"]
        entry[1] += r["inspected"]
        labels[r["group"]] = r["group_label"]
    return "履约率（按分层第一维度汇总）", [
        Bar(labels[g], compliance_rate(c, n), f"（{c}/{n}）") for g, (c, n) in sorted(groups.items())
    ][:60]


def charts(data: dict[str, Any]) -> dict[str, str]:
    title, bars = _stratum_bars(data["strata"])
    return {
        "by_stratum": bar_chart_html(title, bars),
        "by_item": bar_chart_html(
            "各检查项不符合率",
            [
                Bar(i["title"], i["noncompliance_rate"], f"（{i['noncompliant']}/{i['checked']}）")
                for i in data["item_results"]
            ],
            color="#d97706",
        ),
    }


# ---- PDF ------------------------------------------------------------------------------------------


def render_pdf(data: dict[str, Any]) -> bytes:
    """The report as PDF; external resources are refused (nothing is fetched while rendering)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from weasyprint import HTML, URLFetcher

    class NoFetch(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            raise ValueError(f"external resources are not allowed in reports: {url[:80]}")

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    html = env.get_template("campaign_report.html").render(d=data, charts=charts(data))
    pdf = HTML(string=html, base_url=str(TEMPLATES), url_fetcher=NoFetch()).write_pdf()
    assert pdf is not None
    return bytes(pdf)


# ---- XLSX -----------------------------------------------------------------------------------------


def render_xlsx(data: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="F1F5F9")
    money = "#,##0.00"

    def sheet(title: str, headers: list[str], rows: list[list[Any]], widths: list[int] | None = None) -> Any:
        ws = wb.create_sheet(title)
        ws.append(headers)
        for cell in ws[1]:
            cell.font = bold
            cell.fill = head_fill
        for row in rows:
            ws.append(row)
        ws.freeze_panes = "A2"
        for i, width in enumerate(widths or [16] * len(headers), 1):
            ws.column_dimensions[get_column_letter(i)].width = width
        return ws

    summary = wb.active
    summary.title = "概况"
    c, t = data["campaign"], data["totals"]
    pairs: list[tuple[str, Any]] = [
        ("专项抽查", f"{c['title']}（{c['number']}）"),
        ("组织单位", c["org"]),
        ("法律依据", c["legal_basis"]),
        ("检查表", c["checklist"]),
        ("启动日期", c["start_on"]),
        ("现场检查", c["fieldwork"]),
        ("报告期限", c["report_due"]),
        ("状态", c["status"]),
        (
            "范围",
            f"{data['scope']['org']}；{data['scope']['sectors']}；{data['scope']['kinds']}；生效满{data['scope']['min_months']}个月",
        ),
        ("抽查企业（家）", t["cases"]),
        ("已完成现场检查（家）", t["inspected"]),
        ("履约（家）", t["compliant"]),
        ("履约率", t["rate_text"]),
        ("应补发金额（元）", t["owed"]),
        ("已补发金额（元）", t["recovered"]),
        ("补发率", t["recovery_rate"]),
        ("未结整改事项", t["open_rectifications"]),
        ("其中逾期", t["overdue_rectifications"]),
        ("生成时间", data["generated_at"]),
    ]
    for key, value in pairs:
        summary.append([key, value])
    for row in summary.iter_rows(min_col=1, max_col=1):
        row[0].font = bold
    summary.column_dimensions["A"].width = 22
    summary.column_dimensions["B"].width = 90
    for row in summary.iter_rows(min_row=14, max_row=15, min_col=2, max_col=2):
        row[0].number_format = money

    record = data["record"]
    if record:
        rec = wb.create_sheet("抽样记录")
        for key, value in [
            ("抽样框截止日", record["as_of"]),
            ("纳入条件", record["agreement_rule"]),
            ("抽样框企业数", record["frame_rows"]),
            ("抽样框哈希（SHA-256）", record["frame_sha256"]),
            ("分配方式", record["allocation"]),
            ("随机数来源", record["seed_source"]),
            ("随机数", record["seed_entropy"]),
            ("来源说明", record["seed_provenance"]),
            ("随机种子", record["seed"]),
            ("算法", record["algorithm"]),
            ("抽样结果哈希", record["selection_sha256"]),
            ("抽样记录哈希", record["record_sha256"]),
            ("审批", f"{record['approved_by']} {record['approved_at'] or ''}"),
            ("回避", record["recusals"]),
        ]:
            rec.append([key, value])
        for note in record["notes"]:
            rec.append(["说明", note])
        for r in record["replacements"]:
            rec.append(["替换", f"{r['replaced']} → {r['replacement']}：{r['reason']}"])
        rec.column_dimensions["A"].width = 22
        rec.column_dimensions["B"].width = 90

    strata = sheet(
        "分层结果",
        ["层", "抽样框企业数", "抽查企业数", "已检查", "履约", "履约率（%）", "应补发（元）", "已补发（元）"],
        [
            [
                r["label"],
                r["population"],
                r["cases"],
                r["inspected"],
                r["compliant"],
                r["rate"],
                r["owed"],
                r["recovered"],
            ]
            for r in data["strata"]
        ],
        [40, 14, 12, 10, 10, 12, 14, 14],
    )
    for row in strata.iter_rows(min_row=2, min_col=7, max_col=8):
        for cell in row:
            cell.number_format = money
    if data["strata"]:
        chart = BarChart()
        chart.type = "bar"
        chart.title = "各层履约率（%）"
        chart.y_axis.scaling.min = 0
        chart.y_axis.scaling.max = 100
        n = len(data["strata"])
        chart.add_data(Reference(strata, min_col=6, min_row=1, max_row=n + 1), titles_from_data=True)
        chart.set_categories(Reference(strata, min_col=1, min_row=2, max_row=n + 1))
        chart.height = max(7.5, 0.6 * n + 3)
        chart.width = 18
        strata.add_chart(chart, "J2")

    items = sheet(
        "检查项结果",
        [
            "检查项",
            "法律依据",
            "权重",
            "已检查",
            "符合",
            "不符合",
            "不适用",
            "不符合率（%）",
            "检查发现",
            "涉及人数",
            "应补发（元）",
        ],
        [
            [
                i["title"],
                i["legal_basis"],
                i["weight"],
                i["checked"],
                i["compliant"],
                i["noncompliant"],
                i["na"],
                i["noncompliance_rate"],
                i["findings"],
                i["workers"],
                i["owed"],
            ]
            for i in data["item_results"]
        ],
        [40, 50, 8, 10, 8, 8, 8, 12, 10, 10, 14],
    )
    for row in items.iter_rows(min_row=2, min_col=11, max_col=11):
        row[0].number_format = money
    if data["item_results"]:
        chart = BarChart()
        chart.type = "bar"
        chart.title = "各检查项不符合率（%）"
        n = len(data["item_results"])
        chart.add_data(Reference(items, min_col=8, min_row=1, max_row=n + 1), titles_from_data=True)
        chart.set_categories(Reference(items, min_col=1, min_row=2, max_row=n + 1))
        chart.height = max(7.5, 0.6 * n + 3)
        chart.width = 18
        items.add_chart(chart, "M2")

    sheet(
        "未结整改",
        ["检查编号", "企业", "整改要求", "责任人", "期限", "逾期天数", "状态", "监督程序"],
        [
            [
                r["case"],
                r["enterprise"],
                r["action"],
                r["owner"],
                r["due"],
                r["overdue_days"],
                r["status"],
                r["escalation"],
            ]
            for r in data["open_rectifications"]
        ],
        [16, 30, 40, 14, 12, 10, 14, 26],
    )
    cases = sheet(
        "检查明细",
        [
            "检查编号",
            "企业",
            "统一社会信用代码",
            "层",
            "阶段",
            "检查日期",
            "得分",
            "结论",
            "应补发（元）",
            "已补发（元）",
        ],
        [
            [
                r["number"],
                r["enterprise"],
                r["credit_code"],
                r["stratum"],
                r["state"],
                r["inspected_on"],
                r["score"],
                r["compliant"],
                r["owed"],
                r["recovered"],
            ]
            for r in data["cases"]
        ],
        [16, 30, 22, 36, 16, 12, 8, 12, 14, 14],
    )
    for row in cases.iter_rows(min_row=2, min_col=9, max_col=10):
        for cell in row:
            cell.number_format = money
    for ws in wb.worksheets:
        for row in ws.iter_rows(min_row=1, max_row=1):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
